"""kill -9 of a gunicorn worker while completions are being posted: gunicorn replaces it, the clients' retries get
either their completion or a 409 (it had gone through), and nothing is lost or doubled."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.resilience.harness import (
    SCALE,
    Seeder,
    answered,
    assert_every_round_done,
    complete_all,
    fresh_database,
    open_jobs,
    serve,
    wait_until,
)

pytestmark = pytest.mark.resilience

INSTANCES = 150 * SCALE  # two completions each: 300 operations under the fault (short form)
KILLS_PER_ROUND = SCALE  # submit round and review round: 2 kills in the short form


def test_kill_9_of_a_web_worker_during_completions(run_dir: Path, figures: Any) -> None:
    url = fresh_database("res_web")
    seeder = Seeder(url)
    try:
        instance_ids = seeder.start("sample_approval", INSTANCES)
        tokens = {name: seeder.token(name) for name in ("officer1", "supervisor1")}
        killed: list[int] = []
        with serve(url, run_dir, workers=2) as server:

            def kills_at(jobs: int):  # type: ignore[no-untyped-def]
                """kill -9 a worker each time another 1/(k+1) of the round's answers is in."""
                thresholds = [jobs * (i + 1) // (KILLS_PER_ROUND + 1) for i in range(KILLS_PER_ROUND)]
                killed_here: list[int] = []
                lock = threading.Lock()  # the clients' threads call this

                def maybe_kill(progress: int) -> None:
                    with lock:
                        if len(killed_here) < len(thresholds) and progress >= thresholds[len(killed_here)]:
                            pids = server.worker_pids()
                            if pids and pids[0] not in killed:
                                killed.append(pids[0])
                                killed_here.append(pids[0])
                                os.kill(pids[0], signal.SIGKILL)

                return maybe_kill

            submitted = complete_all(
                server.http,
                tokens,
                open_jobs(seeder, instance_ids, "submit_request", "officer1", {"subject_line": "Đề nghị"}),
                on_progress=kills_at(INSTANCES),
            )
            reviewed = complete_all(
                server.http,
                tokens,
                open_jobs(seeder, instance_ids, "review_request", "supervisor1", {"decision": "approve"}),
                on_progress=kills_at(INSTANCES),
            )
            # The master replaced each killed worker; the app still answers with its full set of workers.
            wait_until(lambda: len(server.worker_pids()) == 2, timeout=30, what="gunicorn to replace the worker")
            assert not set(killed) & set(server.worker_pids())
            assert server.http.call("GET", "/healthz?check=app").status == 200
        assert len(killed) == 2 * KILLS_PER_ROUND
        assert_every_round_done(seeder, instance_ids, submitted, reviewed)
        figures(
            operations=f"{2 * INSTANCES} completions",
            answers=answered(submitted, reviewed),
            seconds=submitted.seconds + reviewed.seconds,
            outages=(
                f"{len(killed)} web workers killed; {submitted.no_answer + reviewed.no_answer} answer(s) lost and "
                f"retried, {len(submitted.conflicts) + len(reviewed.conflicts)} retried into a 409 (had committed)"
            ),
        )
    finally:
        seeder.close()
