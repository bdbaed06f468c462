"""kill -9 of a timer worker while it holds due timers: PostgreSQL rolls its transaction back when the connection
drops, another worker (SKIP LOCKED) fires those timers, and no timer fires twice."""

from __future__ import annotations

import os
import signal
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from tests.resilience.harness import SCALE, Seeder, assert_consistent, fresh_database, wait_until, worker
from workflows import clock

pytestmark = pytest.mark.resilience

INSTANCES = 200 * SCALE  # 200 due deadlines (and 200 completions to set them up) in the short form


def _named(url: str, name: str) -> str:
    return make_url(url).update_query_dict({"application_name": name}).render_as_string(hide_password=False)


def test_kill_9_of_a_timer_worker_holding_due_timers(run_dir: Path, figures: Any) -> None:
    url = fresh_database("res_timers")
    seeder = Seeder(url)
    try:
        clock.set_now(clock.now() - timedelta(days=4))  # the review deadline (3 days) is due by now
        instance_ids = seeder.start("sample_approval", INSTANCES)
        for row in seeder.rows("SELECT id FROM human_tasks WHERE task_key = 'submit_request' AND status = 'open'"):
            seeder.complete("officer1", row.id, {"subject_line": "Đề nghị"})
        clock.set_now(None)
        due = "SELECT count(*) FROM process_instances WHERE status = 'running' AND next_timer_at <= now() AT TIME ZONE 'UTC'"
        assert seeder.scalar(due) == INSTANCES
        fired = "SELECT count(*) FROM audit_events WHERE event_type = 'timer_fired'"

        started = time.monotonic()
        with worker(_named(url, "worker-a"), run_dir, "a") as worker_a, worker(_named(url, "worker-b"), run_dir, "b"):
            wait_until(lambda: seeder.scalar(fired) >= INSTANCES // 10, timeout=120, what="the workers to start firing")
            # Kill A at a moment it is inside a transaction, i.e. holds a due instance's row lock.
            holding = None
            deadline = time.monotonic() + 30
            while holding is None and time.monotonic() < deadline:
                holding = seeder.scalar(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = 'worker-a' AND xact_start IS NOT NULL "
                    "AND pid IN (SELECT pid FROM pg_locks WHERE relation = 'process_instances'::regclass)"
                )
            assert holding is not None, "worker A was never seen holding a due instance"
            os.kill(worker_a.pid, signal.SIGKILL)
            worker_a.wait(timeout=10)
            fired_at_kill = seeder.scalar(fired)
            assert fired_at_kill < INSTANCES, "the kill came too late to matter"
            wait_until(lambda: seeder.scalar(due) == 0, timeout=180 * SCALE, what="worker B to fire every due timer")
            seconds = time.monotonic() - started
            assert seeder.scalar("SELECT count(*) FROM worker_heartbeats") == 2, "both workers beat while running"

        per_instance = seeder.rows(
            "SELECT instance_id, count(*) AS times FROM audit_events WHERE event_type = 'timer_fired' "
            "AND instance_id = ANY(:ids) GROUP BY instance_id",
            ids=instance_ids,
        )
        assert len(per_instance) == INSTANCES
        assert {row.times for row in per_instance} == {1}, "a timer fired twice"
        escalated = seeder.scalar(
            "SELECT count(*) FROM human_tasks WHERE task_key = 'escalated_review' AND status = 'open'"
        )
        assert escalated == INSTANCES
        # B stopped cleanly and took its heartbeat with it (0108); A, killed, left its own to go stale.
        assert seeder.scalar("SELECT count(*) FROM worker_heartbeats") == 1
        assert_consistent(seeder)
        figures(
            operations=f"{INSTANCES} due timers fired, each once",
            seconds=seconds,
            outages=f"timer worker A killed -9 holding a due instance, at {fired_at_kill}/{INSTANCES} fired",
        )
    finally:
        clock.set_now(None)
        seeder.close()
