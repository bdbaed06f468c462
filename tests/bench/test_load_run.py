"""bench/load.py end to end, at a tiny scale: its own database, `canbo serve` with two workers, two clients, the
report. On PostgreSQL only (the benchmark refuses anything else); skipped on SQLite like the other PostgreSQL costs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def load_url(worker_id: str) -> Iterator[str]:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        pytest.skip("the load benchmark runs on PostgreSQL only")
    parsed = make_url(url).set(database=f"canbo_load_test_{worker_id}")
    yield parsed.render_as_string(hide_password=False)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def test_a_short_run_reports_every_kind_and_measures_only_the_load_after_the_sign_ins(load_url: str) -> None:
    arguments = ["--postgres-url", load_url, "--workers", "2", "--clients", "2", "--duration", "3"]
    arguments += ["--instances", "60", "--evaluations", "20", "--appointments", "3", "--rotations", "3"]
    arguments += ["--plannings", "3", "--raw-instances", "3"]
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "load.py"), *arguments],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = run.stdout
    # Which interpreter ran it: its build moves every figure (docs/deploy.md, "The interpreter").
    version = ".".join(str(part) for part in sys.version_info[:3])
    assert f"python {version} at {Path(sys.executable).resolve()}" in report, report

    load_line = re.search(r"(\d+) answered requests \((\d+)/s\), errors: (.+)", report)
    assert load_line, report
    answered = int(load_line.group(1))
    assert answered > 0 and load_line.group(3) == "none", report
    assert re.search(r"^complete_sample\s+\d+", report, re.MULTILINE), report
    assert re.search(r"completions / raw single-core advance rate: \d+%", report), report
    # The gap to the targets in one unit: a completion's CPU by part, beside what each target allows it.
    budget = re.search(
        r"one completion's CPU in this mix \(([\d.]+) requests per completion\): (.+) — ([\d.]+) ms in all", report
    )
    assert budget, report
    parts = [float(ms) for ms in re.findall(r" (-?[\d.]+)(?:,|$)", budget.group(2))]
    # Six figures each rounded to 0.01 ms: the printed parts and total may differ by up to 6 × 0.005 ms.
    assert len(parts) == 5 and sum(parts) == pytest.approx(float(budget.group(3)), abs=0.031), budget.group(0)
    assert re.search(r"the targets allow [\d.]+ ms \(300 completions/s\) and [\d.]+ ms \(50% of the raw", report), (
        report
    )

    # The views' table is read from the server's log from the moment every client had signed in: the six sign-ins
    # (three per client, each hashing a password) are not in it, and it counts exactly the requests answered.
    table = report.split("the views' CPU (the server's request log)")[1]
    assert not re.search(r"^other\s", table, re.MULTILINE), table
    counted = sum(
        int(row.group(2))
        for row in re.finditer(r"^(\w+)\s+(\d+)\s+[\d.]+\s+[\d.]+\s+\d+%$", table, re.MULTILINE)
        if not row.group(1).startswith("complete_")
    )
    assert counted == answered, table
