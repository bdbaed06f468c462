"""A mail server that accepts connections and never answers, while deadlines are due: the worker's e-mail attempts
each cost one SMTP timeout and are retried later; the timers still all fire, once, and the worker keeps beating.
(The notification rules themselves — backoff, giving up, one timeout per run — are tested in
tests/workflows/test_notifications.py.)"""

from __future__ import annotations

import socket
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.resilience.harness import SCALE, Seeder, assert_consistent, fresh_database, wait_until, worker
from workflows import clock

pytestmark = pytest.mark.resilience

INSTANCES = 200 * SCALE  # due deadlines, each notifying by e-mail


class SilentSmtp:
    """Accepts TCP connections and never says a word (a hung mail server)."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.accepted.append(connection)

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        for connection in self.accepted:
            connection.close()
        self.listener.close()


def test_a_hung_mail_server_does_not_hold_up_the_timers(run_dir: Path, figures: Any) -> None:
    url = fresh_database("res_smtp")
    seeder = Seeder(url)
    smtp = SilentSmtp()
    try:
        with seeder.engine.begin() as conn:
            conn.execute(text("UPDATE users SET email = username || '@sonha.example'"))
        clock.set_now(clock.now() - timedelta(days=4))
        seeder.start("sample_approval", INSTANCES)
        for row in seeder.rows("SELECT id FROM human_tasks WHERE task_key = 'submit_request' AND status = 'open'"):
            seeder.complete("officer1", row.id, {"subject_line": "Đề nghị"})
        clock.set_now(None)
        due = (
            "SELECT count(*) FROM process_instances WHERE status = 'running' "
            "AND next_timer_at <= now() AT TIME ZONE 'UTC'"
        )
        assert seeder.scalar(due) == INSTANCES
        smtp_env = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp.port), "SMTP_TIMEOUT": "1"}
        started = time.monotonic()
        with worker(url, run_dir, "smtp", **smtp_env):
            wait_until(lambda: seeder.scalar(due) == 0, timeout=120 * SCALE, what="every due timer to fire")
            seconds = time.monotonic() - started
            wait_until(
                lambda: seeder.scalar("SELECT count(*) FROM notifications WHERE email_attempts > 0") > 0,
                timeout=60,
                what="an e-mail attempt",
            )
            beats = seeder.scalar("SELECT max(beat_dt) FROM worker_heartbeats")
            wait_until(
                lambda: seeder.scalar("SELECT max(beat_dt) FROM worker_heartbeats") > beats,
                timeout=30,
                what="the worker to go on beating",
            )
        assert smtp.accepted, "the worker never reached the mail server"
        assert seeder.scalar("SELECT count(*) FROM notifications WHERE email_status = 'sent'") == 0
        # Waiting notifications keep their retry time: nothing is dropped, nothing is sent twice later.
        assert seeder.scalar("SELECT count(*) FROM notifications WHERE email_status = 'pending'") > 0
        fired = seeder.rows(
            "SELECT instance_id, count(*) AS times FROM audit_events WHERE event_type = 'timer_fired' "
            "GROUP BY instance_id"
        )
        assert len(fired) == INSTANCES and {row.times for row in fired} == {1}
        assert_consistent(seeder)
        attempts = seeder.scalar("SELECT coalesce(sum(email_attempts), 0) FROM notifications")
        figures(
            operations=f"{INSTANCES} due timers fired, each once",
            seconds=seconds,
            outages=f"SMTP silent: {len(smtp.accepted)} connection(s) hung, {attempts} e-mail attempt(s) timed out",
        )
    finally:
        clock.set_now(None)
        smtp.close()
        seeder.close()
