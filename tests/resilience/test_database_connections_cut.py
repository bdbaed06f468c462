"""The app's connections are cut under load while the server stays up: pg_terminate_backend on this test's database
only (the shared server is not ours to restart), as a failover proxy, a network cut or an operator's kill would.
Requests in the way answer 503 (never 500), the pool reconnects, and the app recovers without being restarted.
A real restart of PostgreSQL — the server itself going away and coming back — is test_database_restart.py, on a
private cluster."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from tests.resilience.harness import (
    SCALE,
    Seeder,
    answered,
    assert_consistent,
    assert_exactly_once,
    complete_all,
    fresh_database,
    open_jobs,
    serve,
    terminate_connections,
)

pytestmark = pytest.mark.resilience

INSTANCES = 150 * SCALE  # 300 completions while the connections are cut (short form)
CUTS = 4 * SCALE  # at most: the completions may all be through before the last one
CUT_EVERY = 0.3  # seconds
WORKERS = 2


def test_connections_cut_under_load_answer_503_and_recover(run_dir: Path, figures: Any) -> None:
    url = fresh_database("res_pgcut")
    seeder = Seeder(url)
    try:
        instance_ids = seeder.start("sample_approval", INSTANCES)
        tokens = {name: seeder.token(name) for name in ("officer1", "supervisor1")}
        seeder.engine.dispose()
        with serve(url, run_dir, workers=WORKERS) as server:
            pids_before = server.worker_pids()
            cuts: list[int] = []
            stop = threading.Event()

            def cut_now_and_then() -> None:
                while len(cuts) < CUTS and not stop.wait(CUT_EVERY):
                    cuts.append(terminate_connections(url))

            cutter = threading.Thread(target=cut_now_and_then)
            cutter.start()
            try:
                submitted = complete_all(
                    server.http,
                    tokens,
                    open_jobs(seeder, instance_ids, "submit_request", "officer1", {"subject_line": "Đề nghị"}),
                )
                reviewed = complete_all(
                    server.http,
                    tokens,
                    open_jobs(seeder, instance_ids, "review_request", "supervisor1", {"decision": "approve"}),
                )
            finally:
                stop.set()
                cutter.join(timeout=30)
            unavailable = [line for line in server.log_lines() if line.get("status") == 503]
            # Recovered without a restart: the same worker processes answer, the database check passes. A worker
            # whose idle pooled connection was cut by the last cut meets it once (503), then its pool reconnects.
            assert server.worker_pids() == pids_before
            health = [server.http.call("GET", "/healthz?check=app").status for _ in range(2 * WORKERS + 1)]
            assert set(health) <= {200, 503} and health[-1] == 200, health
            assert health.count(503) <= WORKERS, health
        assert len(cuts) >= 2 and all(cuts), cuts  # each cut ended at least one of the app's connections
        assert submitted.unavailable + reviewed.unavailable >= 1, "no request met a cut connection"
        assert len(unavailable) == submitted.unavailable + reviewed.unavailable
        for outcome in (submitted, reviewed):
            assert not outcome.other, outcome.other[:5]  # no 500s, no unexpected answers
            assert_exactly_once(seeder, outcome.acknowledged)
            assert len(outcome.acknowledged) + len(outcome.conflicts) == INSTANCES
        assert_consistent(seeder)
        figures(
            operations=f"{2 * INSTANCES} completions",
            answers=answered(submitted, reviewed),
            seconds=submitted.seconds + reviewed.seconds,
            outages=f"{len(cuts)} cuts ({sum(cuts)} connections)",
        )
    finally:
        seeder.close()
