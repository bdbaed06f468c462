"""Operators' commands: `canbo check` finds each broken invariant, `canbo worker` beats, SQLite backup/restore."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from flask.testing import FlaskCliRunner
from sqlalchemy import func, make_url, select, text, update

from tests.fixtures.databases import empty_postgresql_database
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows import clock
from workflows.audit import PendingEvent, insert_audit_rows, instance_audit_rows
from workflows.db import make_engine
from workflows.engine.store import lock_instance
from workflows.migrate import alembic_config
from workflows.models import HumanTask, ProcessInstance
from workflows.production.health import migration_heads
from workflows.production.heartbeat import WorkerIdentity, beat, worker_forget_after
from workflows.production.models import WorkerHeartbeat
from workflows.states import EventType, TaskStatus


def _some_work(driver: WorkflowDriver) -> tuple[int, int]:
    """One instance waiting at review (one task completed), one just started."""
    reviewed = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    driver.complete("officer1", driver.task(reviewed, "submit_request").id, {"subject_line": "Đề nghị"})
    fresh = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    return reviewed, fresh


def _check(runner: FlaskCliRunner):  # type: ignore[no-untyped-def]
    return runner.invoke(args=["check"])


def test_check_passes_on_consistent_data(runner: FlaskCliRunner, driver: WorkflowDriver) -> None:
    _some_work(driver)
    result = _check(runner)
    assert result.exit_code == 0, result.output
    assert "consistent: 2 running instance(s), 2 open task(s), 1 completion(s)" in result.output


def test_check_reports_an_inbox_task_the_engine_does_not_hold(runner: FlaskCliRunner, driver: WorkflowDriver) -> None:
    reviewed, _ = _some_work(driver)
    with driver.session_factory() as s:
        task = s.scalars(select(HumanTask).where(HumanTask.instance_id == reviewed)).first()
        assert task is not None and task.status == TaskStatus.COMPLETED
        s.execute(update(HumanTask).where(HumanTask.id == task.id).values(status=TaskStatus.OPEN))
        s.commit()
    result = _check(runner)
    assert result.exit_code == 1
    assert f"[inbox] instance {reviewed}: open inbox task {task.spiff_task_id} is not READY" in result.output
    # Reopened yet recorded as completed once: the advances invariant sees it too.
    assert f"[advances] instance {reviewed}: task {task.id} is open but was recorded as completed 1 time(s)" in (
        result.output
    )


def test_check_reports_a_ready_engine_task_without_inbox_row(runner: FlaskCliRunner, driver: WorkflowDriver) -> None:
    _, fresh = _some_work(driver)
    (task,) = driver.open_tasks(fresh)
    with driver.session_factory() as s:
        s.execute(update(HumanTask).where(HumanTask.id == task.id).values(status=TaskStatus.CANCELLED))
        s.commit()
    result = _check(runner)
    assert result.exit_code == 1
    assert f"[inbox] instance {fresh}: READY engine task {task.spiff_task_id} has no open inbox task" in result.output
    assert "NOT consistent: 1 finding(s)" in result.output


def test_check_reports_open_tasks_of_an_ended_instance(runner: FlaskCliRunner, driver: WorkflowDriver) -> None:
    _, fresh = _some_work(driver)
    with driver.session_factory() as s:
        s.execute(update(ProcessInstance).where(ProcessInstance.id == fresh).values(status="completed"))
        s.commit()
    result = _check(runner)
    assert result.exit_code == 1
    assert f"[inbox] instance {fresh}: the instance has ended but 1 inbox task(s) are open" in result.output


def test_check_reports_a_broken_audit_chain(runner: FlaskCliRunner, driver: WorkflowDriver) -> None:
    reviewed, _ = _some_work(driver)
    with driver.session_factory() as s:
        # The head on the instance claims one more event than the chain holds (an event lost).
        s.execute(
            update(ProcessInstance)
            .where(ProcessInstance.id == reviewed)
            .values(audit_seq=ProcessInstance.audit_seq + 1)
            .execution_options(synchronize_session=False)
        )
        s.execute(text("UPDATE process_instances SET lock_version = lock_version WHERE id = :i"), {"i": reviewed})
        s.commit()
    result = _check(runner)
    assert result.exit_code == 1
    assert f"[audit] instance {reviewed}: chain instance:{reviewed}" in result.output


def test_check_reports_a_task_completed_twice(runner: FlaskCliRunner, driver: WorkflowDriver) -> None:
    reviewed, _ = _some_work(driver)
    with driver.session_factory() as s:
        completed = s.scalar(
            select(HumanTask.id).where(HumanTask.instance_id == reviewed, HumanTask.status == TaskStatus.COMPLETED)
        )
    # A second completion of the same task, chained properly so that only the duplicate is wrong.
    with driver.session_factory() as s:
        snapshot = lock_instance(s, reviewed)
        rows, seq, head = instance_audit_rows(
            snapshot, [PendingEvent(EventType.TASK_COMPLETED, {"task_key": "submit_request"}, completed)], actor=None
        )
        insert_audit_rows(s, rows)
        s.execute(
            update(ProcessInstance)
            .where(ProcessInstance.id == reviewed)
            .values(audit_seq=seq, audit_head=head)
            .execution_options(synchronize_session=False)
        )
        s.commit()
    result = _check(runner)
    assert result.exit_code == 1
    assert f"[advances] instance {reviewed}: task {completed} was completed 2 times" in result.output
    assert "[audit]" not in result.output


def test_worker_writes_its_heartbeat_and_removes_it_when_it_stops(
    runner: FlaskCliRunner, driver: WorkflowDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A running worker's row is there at every poll; a worker that stops cleanly (SIGTERM, the end of --once) takes
    it away, so /healthz and /metrics count the workers that run, not every one that ever ran (decision 0108)."""
    seen: list[list[str]] = []

    def sleep(_seconds: float) -> None:
        with driver.session_factory() as s:
            seen.append([beat.worker_id for beat in s.scalars(select(WorkerHeartbeat))])
        if len(seen) == 2:
            os.kill(os.getpid(), signal.SIGTERM)  # what systemd sends to stop the unit

    monkeypatch.setattr(time, "sleep", sleep)
    result = runner.invoke(args=["worker", "--poll", "1"])
    assert result.exit_code == 0, result.output
    assert len(seen) == 2 and len(seen[0]) == 1 and seen[0] == seen[1]
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert lines[0]["event"] == "worker_start" and lines[-1]["event"] == "worker_stop", lines
    assert lines[0]["worker_id"] == seen[0][0] and "polling every 1 s" in lines[0]["msg"]
    with driver.session_factory() as s:
        assert s.scalars(select(WorkerHeartbeat)).all() == []
    once = runner.invoke(args=["worker", "--once"])
    assert once.exit_code == 0, once.output
    with driver.session_factory() as s:
        assert s.scalars(select(WorkerHeartbeat)).all() == []


def test_a_live_worker_forgets_the_workers_silent_past_the_horizon(app, driver: WorkflowDriver) -> None:
    """A worker killed (no clean stop) or restarted under a new pid: its row goes once it is older than
    CANBO_WORKER_FORGET_AFTER, and until then /healthz and /metrics leave it out past that horizon too."""
    app.config.update(WORKER_FORGET_AFTER=300, METRICS_TOKEN="t")
    gone = WorkerIdentity(hostname="old-host", pid=1)
    recent = WorkerIdentity(hostname="old-host", pid=2)
    clock.set_now(clock.now() - timedelta(seconds=301))
    beat(driver.session_factory, gone, 0)
    clock.set_now(clock.now() + timedelta(seconds=200))
    beat(driver.session_factory, recent, 0)
    clock.set_now(None)
    client = app.test_client()
    worker = client.get("/healthz").get_json()["checks"]["worker"]
    assert worker["workers_seen"] == 1 and worker["ok"] is False  # the one left is late, not forgotten
    metrics = client.get("/metrics", headers={"Authorization": "Bearer t"}).get_data(as_text=True)
    assert 'worker="old-host:2"' in metrics and 'worker="old-host:1"' not in metrics
    beat(driver.session_factory, WorkerIdentity(hostname="live", pid=3), 0, worker_forget_after(app.config))
    with driver.session_factory() as s:
        assert sorted(s.scalars(select(WorkerHeartbeat.worker_id))) == ["live:3", "old-host:2"]


def test_the_horizon_is_never_shorter_than_the_heartbeats_max_age() -> None:
    config = {"WORKER_FORGET_AFTER": 10, "WORKER_HEARTBEAT_MAX_AGE": 60}
    assert worker_forget_after(config) == timedelta(seconds=60)


def test_backup_and_restore_sqlite(app, runner: FlaskCliRunner, driver: WorkflowDriver, tmp_path: Path) -> None:
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        refused = runner.invoke(args=["backup", str(tmp_path / "b.db")])
        assert refused.exit_code == 1 and "pg_dump" in refused.output
        return
    reviewed, _ = _some_work(driver)
    backup = tmp_path / "backups" / "canbo-1.db"
    made = runner.invoke(args=["backup", str(backup)])
    assert made.exit_code == 0, made.output
    assert "integrity ok" in made.output and backup.is_file()
    assert runner.invoke(args=["backup", str(backup)]).exit_code == 1  # never overwrites

    # Work after the backup, then restore: the database is as it was at the backup.
    driver.start("sample_approval", as_user="officer1", subject="CB0001")
    assert runner.invoke(args=["restore", str(backup)]).exit_code == 1  # needs --yes
    restored = runner.invoke(args=["restore", str(backup), "--yes"])
    assert restored.exit_code == 0, restored.output
    with driver.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(ProcessInstance)) == 2
    assert driver.task(reviewed, "review_request")
    check = runner.invoke(args=["check"])
    assert check.exit_code == 0, check.output


def test_restore_refuses_a_damaged_backup(app, runner: FlaskCliRunner, driver: WorkflowDriver, tmp_path: Path) -> None:
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        (tmp_path / "x.db").write_bytes(b"")
        refused = runner.invoke(args=["restore", str(tmp_path / "x.db"), "--yes"])
        assert refused.exit_code == 1 and "pg_dump" in refused.output
        return
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    result = runner.invoke(args=["restore", str(damaged), "--yes"])
    assert result.exit_code == 1
    assert runner.invoke(args=["check"]).exit_code == 0


@pytest.fixture
def sqlite_only(app) -> None:  # type: ignore[no-untyped-def]
    """canbo backup and restore are SQLite's; on PostgreSQL they refuse (test_backup_and_restore_sqlite and
    test_restore_refuses_a_damaged_backup check that)."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("canbo backup and restore are SQLite's; PostgreSQL uses pg_dump and pg_restore")


def _instance_count(driver: WorkflowDriver) -> int:
    with driver.session_factory() as s:
        return int(s.scalar(select(func.count()).select_from(ProcessInstance)) or 0)


def _backup_with_revision(runner: FlaskCliRunner, path: Path, revision: str) -> Path:
    """A real backup whose schema revision reads `revision` (another version of the app wrote it)."""
    made = runner.invoke(args=["backup", str(path)])
    assert made.exit_code == 0, made.output
    with closing(sqlite3.connect(path)) as copy, copy:
        copy.execute("UPDATE alembic_version SET version_num = ?", (revision,))
    return path


def _refused(runner: FlaskCliRunner, driver: WorkflowDriver, backup: Path, message: str) -> None:
    before = _instance_count(driver)
    result = runner.invoke(args=["restore", str(backup), "--yes"])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)  # an answer, not a traceback
    assert message in result.output and "nothing was restored" in result.output
    assert _instance_count(driver) == before
    assert _check(runner).exit_code == 0


def test_restore_refuses_files_that_are_not_this_apps_backups(
    sqlite_only: None, runner: FlaskCliRunner, driver: WorkflowDriver, tmp_path: Path
) -> None:
    _some_work(driver)
    text_file = tmp_path / "notes.db"
    text_file.write_text("không phải cơ sở dữ liệu\n" * 100)
    _refused(runner, driver, text_file, "is not a readable SQLite database")

    other = tmp_path / "other.db"
    with closing(sqlite3.connect(other)) as foreign, foreign:
        foreign.execute("CREATE TABLE contacts (name TEXT)")
    _refused(runner, driver, other, "is not a backup of this application's database")

    newer = _backup_with_revision(runner, tmp_path / "newer.db", "f00dfeedbeef")
    _refused(runner, driver, newer, "schema revision f00dfeedbeef, unknown to this one")


def test_restore_of_an_older_backup_says_to_upgrade(
    sqlite_only: None, runner: FlaskCliRunner, driver: WorkflowDriver, tmp_path: Path
) -> None:
    (head,) = migration_heads()
    older = ScriptDirectory.from_config(alembic_config()).get_revision(head).down_revision
    assert isinstance(older, str)
    current = runner.invoke(args=["restore", str(_backup_with_revision(runner, tmp_path / "a.db", head)), "--yes"])
    assert current.exit_code == 0, current.output
    assert "run `canbo check`" in current.output and "db upgrade" not in current.output
    restored = runner.invoke(args=["restore", str(_backup_with_revision(runner, tmp_path / "b.db", older)), "--yes"])
    assert restored.exit_code == 0, restored.output
    assert "run `canbo db upgrade`, then `canbo check`" in restored.output


def test_a_backup_that_cannot_be_written_says_so(sqlite_only: None, runner: FlaskCliRunner, tmp_path: Path) -> None:
    backups = tmp_path / "backups"
    backups.mkdir()
    (backups / "a-file").write_text("")
    result = runner.invoke(args=["backup", str(backups / "a-file" / "b.db")])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "the backup cannot be written" in result.output and "nothing was written" in result.output
    assert [p.name for p in backups.iterdir()] == ["a-file"]


def test_restore_refuses_a_backup_missing_a_table(
    sqlite_only: None, runner: FlaskCliRunner, driver: WorkflowDriver, tmp_path: Path
) -> None:
    _some_work(driver)
    backup = tmp_path / "b.db"
    assert runner.invoke(args=["backup", str(backup)]).exit_code == 0
    with closing(sqlite3.connect(backup)) as copy, copy:
        copy.execute("DROP TABLE cadre_positions")
    _refused(runner, driver, backup, "lacks the table(s) cadre_positions of its schema")


def _database_file(app) -> Path:  # type: ignore[no-untyped-def]
    return Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))


def test_a_backup_is_readable_by_its_owner_alone(sqlite_only: None, runner: FlaskCliRunner, tmp_path: Path) -> None:
    """It holds every person's record and every password hash: 0600 whatever the umask, from its first byte."""
    backups = tmp_path / "backups"
    previous = os.umask(0o002)
    try:
        made = runner.invoke(args=["backup", str(backups / "b.db")])
    finally:
        os.umask(previous)
    assert made.exit_code == 0, made.output
    assert (backups / "b.db").stat().st_mode & 0o777 == 0o600
    assert [p.name for p in backups.iterdir()] == ["b.db"]  # no partial file or journal left beside it


def test_restore_refuses_the_database_itself(
    app, sqlite_only: None, runner: FlaskCliRunner, driver: WorkflowDriver, tmp_path: Path
) -> None:
    _some_work(driver)
    database = _database_file(app)
    _refused(runner, driver, database, "is the database itself")
    alias = tmp_path / "alias.db"
    alias.symlink_to(database)
    _refused(runner, driver, alias, "is the database itself")
    forced = runner.invoke(args=["restore", str(database), "--yes", "--force"])  # --force is for a worker, not this
    assert forced.exit_code == 1 and "is the database itself" in forced.output


def test_restore_refuses_while_a_worker_beats_in_the_database(
    app, sqlite_only: None, runner: FlaskCliRunner, driver: WorkflowDriver, tmp_path: Path
) -> None:
    """A worker running on the database would go on writing into the restored data: stop it first, or --force."""
    _some_work(driver)
    backup = tmp_path / "b.db"
    assert runner.invoke(args=["backup", str(backup)]).exit_code == 0
    driver.start("sample_approval", as_user="officer1", subject="CB0001")  # after the backup: the restore undoes it
    app.config["WORKER_HEARTBEAT_MAX_AGE"] = 60
    beat(driver.session_factory, WorkerIdentity(hostname="app-host", pid=7), 0)
    _refused(runner, driver, backup, "is in use: a worker beat in it 0 s ago (under the 60 s")
    refused = runner.invoke(args=["restore", str(backup), "--yes"])
    assert "Stop `canbo run`/`canbo serve` and `canbo worker` first" in refused.output and "--force" in refused.output

    clock.set_now(clock.now() + timedelta(seconds=59))
    try:
        _refused(runner, driver, backup, "a worker beat in it 59 s ago")
        clock.set_now(clock.now() + timedelta(seconds=1))  # as old as /healthz calls a worker gone
        restored = runner.invoke(args=["restore", str(backup), "--yes"])
    finally:
        clock.set_now(None)
    assert restored.exit_code == 0, restored.output
    assert _instance_count(driver) == 2


def test_restore_with_force_goes_past_a_worker_heartbeat(
    sqlite_only: None, runner: FlaskCliRunner, driver: WorkflowDriver, tmp_path: Path
) -> None:
    _some_work(driver)
    backup = tmp_path / "b.db"
    assert runner.invoke(args=["backup", str(backup)]).exit_code == 0
    driver.start("sample_approval", as_user="officer1", subject="CB0001")
    beat(driver.session_factory, WorkerIdentity(hostname="killed", pid=8), 0)  # killed: its row has not aged yet
    forced = runner.invoke(args=["restore", str(backup), "--yes", "--force"])
    assert forced.exit_code == 0, forced.output
    assert _instance_count(driver) == 2


# -- `canbo worker` started while the database is away -----------------------------------------------------------

NOTHING_LISTENS = "127.0.0.1"


def _free_port() -> int:
    with closing(socket.socket()) as probe:
        probe.bind((NOTHING_LISTENS, 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def _forwarding(port: int, target: tuple[str, int]) -> Iterator[None]:
    """A TCP forwarder on `port` to `target`, from now on: the database "comes back" at the address the worker was
    given. Bounded: it stops with the block."""
    listener = socket.create_server((NOTHING_LISTENS, port))
    listener.settimeout(0.2)
    stop = threading.Event()
    open_sockets: list[socket.socket] = [listener]

    def pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def serve() -> None:
        while not stop.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = socket.create_connection(target)
            open_sockets.extend((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=pipe, args=(a, b), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)
        for sock in open_sockets:
            with contextlib.suppress(OSError):
                sock.close()


def _read_json_lines(stream: Any, lines: list[dict[str, Any]], until: Callable[[dict[str, Any]], bool]) -> None:
    """Every line the worker writes is one JSON object (the test fails on any other); read until `until` holds."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        raw = stream.readline()
        if not raw:
            raise AssertionError(f"the worker ended early: {lines}")
        lines.append(json.loads(raw))
        if until(lines[-1]):
            return
    raise AssertionError(f"not seen in time: {lines}")


def test_a_worker_started_while_the_database_is_away_waits_for_it(database_url: str, demo_users: dict) -> None:
    """At start, as while running (decision 0108): a database away is logged and waited for, not an exit; it carries
    on when the database answers (PostgreSQL: a forwarder opens on the port it was given), and SIGTERM stops it at
    once, with a JSON line for its start, each failed try and its stop on stderr and nothing on stdout."""
    port = _free_port()
    if database_url.startswith("postgresql"):
        real = make_url(database_url)
        url = real.set(host=NOTHING_LISTENS, port=port).render_as_string(hide_password=False)
    else:
        url = f"postgresql+psycopg://nobody@{NOTHING_LISTENS}:{port}/nothing"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CANBO_", "PYTEST_"))}
    # Both keys: a worker on PostgreSQL refuses to start without them (decision 0107).
    env.update(
        DATABASE_URL=url, SECRET_KEY="worker-test", AUDIT_ANCHOR_KEY="worker-test-anchor", CANBO_DEPLOY_ON_STARTUP="0"
    )
    canbo = Path(sys.executable).with_name("canbo")
    worker = subprocess.Popen(
        [str(canbo), "worker", "--poll", "0.1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[dict[str, Any]] = []
    try:
        _read_json_lines(worker.stderr, lines, lambda line: "try 2 failed" in line["msg"])
        assert lines[0]["event"] == "worker_start"
        assert "database unavailable (" in lines[1]["msg"] and "the next in 0.2 s" in lines[1]["msg"]
        assert all(line["level"] == "warning" for line in lines[1:])
        if database_url.startswith("postgresql"):
            real = make_url(database_url)
            with _forwarding(port, (real.host or NOTHING_LISTENS, real.port or 5432)):
                _read_json_lines(worker.stderr, lines, lambda line: "available again" in line["msg"])
                deadline = time.monotonic() + 60
                engine = make_engine(database_url)
                try:
                    while time.monotonic() < deadline:
                        with engine.connect() as connection:
                            if connection.execute(select(func.count()).select_from(WorkerHeartbeat)).scalar():
                                break
                        time.sleep(0.2)
                    else:
                        raise AssertionError("the worker never beat once the database answered")
                finally:
                    engine.dispose()
                stopping_at = time.monotonic()
                worker.send_signal(signal.SIGTERM)
                assert worker.wait(timeout=20) == 0
        else:
            stopping_at = time.monotonic()
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=20) == 0
        assert time.monotonic() - stopping_at < 10
        rest, printed = worker.stderr.read(), worker.stdout.read()  # type: ignore[union-attr]
        lines += [json.loads(line) for line in rest.splitlines()]
        assert lines[-1]["event"] == "worker_stop" and printed == ""
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        for stream in (worker.stdout, worker.stderr):
            stream.close()  # type: ignore[union-attr]
    if database_url.startswith("postgresql"):
        engine = make_engine(database_url)
        with engine.connect() as connection:
            assert connection.execute(select(func.count()).select_from(WorkerHeartbeat)).scalar() == 0
        engine.dispose()


def test_every_line_canbo_serve_writes_is_json(database_url: str, demo_users: dict, tmp_path: Path) -> None:
    """gunicorn's own lines (starting, listening, a worker booted, shutting down) are the app's JSON lines too, so the
    log store parses each one (decision 0108); the request line is among them."""
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CANBO_", "PYTEST_"))}
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY="serve-test",
        AUDIT_ANCHOR_KEY="serve-test-anchor",  # serve refuses PostgreSQL without it (decision 0107)
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"),
        CANBO_EXPORT_SIGNING_KEY_FILE="",
    )
    canbo = Path(sys.executable).with_name("canbo")
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [str(canbo), "serve", "--workers", "1", "--bind", f"{NOTHING_LISTENS}:{port}"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            cwd=tmp_path,
        )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://{NOTHING_LISTENS}:{port}/healthz?check=app", timeout=5):
                    break
            except urllib.error.HTTPError:
                break  # an answer (503 when another test left the schema behind on PostgreSQL): gunicorn serves
            except OSError:
                time.sleep(0.3)
        else:
            raise AssertionError(log_path.read_text())
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        printed = server.stdout.read()  # type: ignore[union-attr]
        server.stdout.close()  # type: ignore[union-attr]
    lines = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert printed == b""
    assert any(line["logger"] == "gunicorn.error" and "Listening at" in line["msg"] for line in lines), lines
    assert any(line.get("event") == "request" and line.get("path") == "/healthz" for line in lines)
    assert any(line["logger"] == "gunicorn.error" and "Shutting down" in line["msg"] for line in lines)


def _canbo(args: list[str], **settings: str) -> subprocess.CompletedProcess[str]:
    """`canbo ARGS` as an operator starts it: a process of its own, with these settings in its environment."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CANBO_", "PYTEST_"))}
    env.update(settings)
    canbo = Path(sys.executable).with_name("canbo")
    return subprocess.run([str(canbo), *args], env=env, capture_output=True, text=True, timeout=120)


def test_a_command_runs_on_the_url_postgresql_tools_print(database_url: str, demo_users: dict) -> None:
    """`postgresql://…`, as psql, pg_dump and every hosting provider write it, reaches PostgreSQL through psycopg 3
    (SQLAlchemy alone would look for psycopg2, which is not installed)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: run with DATABASE_URL=postgresql+psycopg://…")
    as_printed = "postgresql://" + database_url.partition("://")[2]
    result = _canbo(["check"], DATABASE_URL=as_printed, SECRET_KEY="check-test", AUDIT_ANCHOR_KEY="check-test-anchor")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("consistent: ")


def test_check_runs_on_a_read_only_connection_as_on_a_replica(
    database_url: str, demo_users: dict, driver: WorkflowDriver
) -> None:
    """docs/deploy.md sends `canbo check` to the reports replica: a hot standby refuses every write, as a connection
    whose transactions are read-only does. The check reads only."""
    if not database_url.startswith("postgresql"):
        pytest.skip("PostgreSQL only: run with DATABASE_URL=postgresql+psycopg://…")
    driver.start("sample_approval", as_user="officer1", subject="CB0001")
    read_only = database_url + "?options=-c%20default_transaction_read_only%3Don"
    result = _canbo(["check"], DATABASE_URL=read_only, SECRET_KEY="check-test", AUDIT_ANCHOR_KEY="check-test-anchor")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("consistent: 1 running instance(s)")


def test_a_postgresql_backup_restores_as_docs_deploy_says(
    database_url: str, demo_users: dict, driver: WorkflowDriver, tmp_path: Path
) -> None:
    """docs/deploy.md's PostgreSQL backup, word for word: `pg_dump --format=custom`, `pg_restore --no-owner` into an
    empty database, `canbo check` there. The restored database holds the same work, its audit chains verify and
    its audit rows still refuse to change (the triggers are part of the schema)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite's backup is canbo backup / canbo restore (test_backup_and_restore_sqlite)")
    tools = {name: shutil.which(name) for name in ("pg_dump", "pg_restore")}
    if not all(tools.values()):
        missing = f"PostgreSQL's client tools are not installed: {tools}"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set and {missing}", pytrace=False)
        pytest.skip(missing)
    _some_work(driver)
    settings = {"SECRET_KEY": "backup-test", "AUDIT_ANCHOR_KEY": "backup-test-anchor"}
    source = make_url(database_url)
    as_tools_write = source.set(drivername="postgresql").render_as_string(hide_password=False)
    before = _canbo(["check"], DATABASE_URL=as_tools_write, **settings)
    assert before.returncode == 0 and before.stdout.startswith("consistent: 2 running instance(s)"), before

    dump = tmp_path / "canbo.dump"
    subprocess.run(
        [tools["pg_dump"], "--format=custom", "--compress=6", f"--file={dump}", as_tools_write],
        check=True,
        capture_output=True,
        timeout=120,
    )
    with empty_postgresql_database(source, f"{source.database}_restored_{os.getpid()}") as restored:
        restored_url = restored.set(drivername="postgresql").render_as_string(hide_password=False)
        subprocess.run(
            [tools["pg_restore"], "--jobs=2", "--no-owner", f"--dbname={restored_url}", str(dump)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        after = _canbo(["check"], DATABASE_URL=restored_url, **settings)
        assert after.returncode == 0, after.stderr
        assert after.stdout == before.stdout  # the same instances, tasks, completions, chains and events
        engine = make_engine(restored.render_as_string(hide_password=False))
        try:
            with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
                conn.execute(text("UPDATE audit_events SET actor_name = 'someone else'"))
        finally:
            engine.dispose()


def test_a_command_on_a_database_the_app_cannot_use_says_which_it_can(tmp_path: Path) -> None:
    result = _canbo(["check"], DATABASE_URL="mysql://canbo:secret@127.0.0.1/canbo", SECRET_KEY="check-test")
    assert result.returncode == 1
    assert (
        "DATABASE_URL is not a database URL this app can use (the scheme 'mysql')" in result.stderr
        and "postgresql://" in result.stderr
    )
    assert "secret" not in result.stderr and "Traceback" not in result.stderr
