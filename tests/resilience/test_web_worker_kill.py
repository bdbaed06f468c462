"""kill -9 of a gunicorn worker while completions are being posted: gunicorn replaces it, the clients' retries get
either their completion or a 409 (it had gone through), and nothing is lost or doubled."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from tests.resilience.harness import (
    Seeder,
    assert_consistent,
    assert_exactly_once,
    complete_all,
    fresh_database,
    open_jobs,
    serve,
    wait_until,
)

pytestmark = pytest.mark.resilience

INSTANCES = 150  # two completions each: 300 operations under the fault


def test_kill_9_of_a_web_worker_during_completions(run_dir: Path) -> None:
    url = fresh_database("res_web")
    seeder = Seeder(url)
    try:
        instance_ids = seeder.start("sample_approval", INSTANCES)
        tokens = {name: seeder.token(name) for name in ("officer1", "supervisor1")}
        killed: list[int] = []
        with serve(url, run_dir, workers=2) as server:

            def kill_at(count: int):  # type: ignore[no-untyped-def]
                def maybe_kill(progress: int) -> None:
                    if progress >= count and len(killed) < kills_wanted[0]:
                        pids = server.worker_pids()
                        if pids and pids[0] not in killed:
                            killed.append(pids[0])
                            os.kill(pids[0], signal.SIGKILL)

                return maybe_kill

            kills_wanted = [1]
            submitted = complete_all(
                server.http,
                tokens,
                open_jobs(seeder, instance_ids, "submit_request", "officer1", {"subject_line": "Đề nghị"}),
                on_progress=kill_at(INSTANCES // 3),
            )
            kills_wanted = [2]
            reviewed = complete_all(
                server.http,
                tokens,
                open_jobs(seeder, instance_ids, "review_request", "supervisor1", {"decision": "approve"}),
                on_progress=kill_at(INSTANCES // 2),
            )
            # The master replaced each killed worker; the app still answers with its full set of workers.
            wait_until(lambda: len(server.worker_pids()) == 2, timeout=30, what="gunicorn to replace the worker")
            assert not set(killed) & set(server.worker_pids())
            assert server.http.call("GET", "/healthz?check=app").status == 200
        assert len(killed) == 2
        for outcome in (submitted, reviewed):
            assert not outcome.other, outcome.other[:5]
            assert_exactly_once(seeder, outcome.acknowledged)
            # Each job ended acknowledged or, after a lost answer, as a 409 because the first try had committed.
            assert len(outcome.acknowledged) + len(outcome.conflicts) == INSTANCES
        completed = seeder.scalar(
            "SELECT count(*) FROM process_instances WHERE status = 'completed' AND id = ANY(:ids)", ids=instance_ids
        )
        assert completed == INSTANCES
        report = assert_consistent(seeder)
        assert report.completions == 2 * INSTANCES
        print(
            f"\nweb worker kill -9 x{len(killed)}: {2 * INSTANCES} completions, "
            f"{submitted.no_answer + reviewed.no_answer} answer(s) lost and retried, "
            f"{len(submitted.conflicts) + len(reviewed.conflicts)} retried into a 409 (had committed)"
        )
    finally:
        seeder.close()
