"""Dashboard benchmark (issue #4): `canbo demo load --cadres 50000` time and peak memory, then the targets page.

Loads the demo province with N cadres into a fresh PostgreSQL database (or SQLite), then times
GET /reports/targets for personnel1 (the whole province) and supervisor1 (one commune) through the real app,
server side, and two drill-down pages (first page of the list). Target: ≤ 300 ms on PostgreSQL at 50,000 cadres.

Usage: python bench/dashboard.py [--cadres 50000] [--runs 20] [--postgres-url URL | --sqlite] [--reuse]

--reuse keeps a PostgreSQL database a previous run loaded (same --cadres) and only times the pages. After the load
the database is vacuumed and analysed, as autovacuum would do to a database in service.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stats import summary  # noqa: E402
from webapp import create_app  # noqa: E402
from workflows.db import make_engine, transaction  # noqa: E402
from workflows.migrate import upgrade  # noqa: E402
from workflows.registry.demo import load_demo, load_demo_province  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cadres", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--postgres-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/canbo_bench_dashboard")
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--reuse", action="store_true", help="PostgreSQL: keep the database of an earlier run")
    args = parser.parse_args()

    if args.sqlite:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='canbo-dash-')}/bench.db"
        fresh = True
    else:
        parsed = make_url(args.postgres_url)
        admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database})
            fresh = not (args.reuse and exists)
            if fresh:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}"'))
                conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
        admin.dispose()
        url = parsed.render_as_string(hide_password=False)

    engine = make_engine(url)
    upgrade(engine)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    started = time.perf_counter()
    with factory() as s, transaction(s):
        load_demo(s)
        load_demo_province(s, cadres=args.cadres, today=date.today())
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    what = "load" if fresh else "check (database reused)"
    print(f"demo {what} --cadres {args.cadres:,}: {elapsed:.1f} s, peak RSS of this process {peak_mb:.0f} MB")
    if engine.dialect.name == "postgresql":
        # What autovacuum does to a database in service (statistics, visibility map for index-only scans); a server
        # running with autovacuum off, or timed seconds after a bulk load, would otherwise plan on empty tables.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "DEPLOY_ON_STARTUP": False, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False}
    )
    pages = [
        ("personnel1", "/reports/targets", "≤ 300 ms"),
        ("supervisor1", "/reports/targets", "≤ 300 ms"),
        # Drill-downs: a small population (commune chairs) and everyone in scope (the S&T figure).
        ("personnel1", "/reports/targets/non_local_commune_pc_chair", ""),
        ("personnel1", "/reports/targets/university_science_technology", ""),
    ]
    for username, path, target in pages:
        client = app.test_client()
        assert client.post("/auth/login", data={"username": username, "password": "demo"}).status_code == 302
        client.get(path)  # warm-up: the first request of a client compiles templates and fills the pools
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            response = client.get(path)
            times.append(time.perf_counter() - t0)
            assert response.status_code == 200
        note = f"  (target {target})" if target else ""
        print(f"GET {path:<48} as {username:<12} {summary(times, 1)}{note}")


if __name__ == "__main__":
    main()
