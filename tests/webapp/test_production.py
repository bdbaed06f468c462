"""Production mode over HTTP: /healthz, /metrics, request ids and JSON log lines, 503 while the database is away."""

from __future__ import annotations

import json
import logging
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from tests.fixtures.app import AuthActions, configured_app
from tests.fixtures.workflow_helpers import WorkflowDriver
from webapp.extensions import db
from workflows import clock
from workflows.models import HumanTask, Notification
from workflows.production.health import migration_heads
from workflows.production.heartbeat import WorkerIdentity, beat
from workflows.production.logs import JsonLineFormatter
from workflows.registry.models import User
from workflows.registry.tokens import create_token
from workflows.states import TaskStatus

TOKEN = "metrics-token-for-tests"


def _samples(body: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _api_token(driver: WorkflowDriver, username: str) -> str:
    with driver.session_factory() as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        token = create_token(session, user, "test")
        session.commit()
    return token


def test_healthz_reports_each_check_and_fails_without_a_fresh_worker(app: Flask, client, driver) -> None:
    missing = client.get("/healthz")
    assert missing.status_code == 503
    body = missing.get_json()
    assert body["status"] == "fail"
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["migrations"]["ok"] is True
    assert body["checks"]["migrations"]["current"] == body["checks"]["migrations"]["head"]
    assert body["checks"]["worker"]["ok"] is False and body["checks"]["worker"]["workers_seen"] == 0
    # A load balancer asks only whether this app host can serve.
    assert client.get("/healthz?check=app").status_code == 200

    beat(driver.session_factory, WorkerIdentity(), jobs_done=3)
    fresh = client.get("/healthz")
    assert fresh.status_code == 200 and fresh.get_json()["status"] == "ok"
    assert fresh.get_json()["checks"]["worker"]["workers_seen"] == 1

    clock.set_now(clock.now() + timedelta(seconds=app.config["WORKER_HEARTBEAT_MAX_AGE"] + 5))
    stale = client.get("/healthz")
    assert stale.status_code == 503 and stale.get_json()["checks"]["worker"]["ok"] is False


def test_healthz_fails_when_the_schema_is_behind_the_code(app: Flask, client, driver) -> None:
    beat(driver.session_factory, WorkerIdentity(), jobs_done=0)
    with app.app_context():
        db.session.execute(text("UPDATE alembic_version SET version_num = '6b26d966265e'"))
        db.session.commit()
    try:
        response = client.get("/healthz")
    finally:  # PostgreSQL's test database outlives the test: the next ones must find the schema current
        with app.app_context():
            db.session.execute(text("UPDATE alembic_version SET version_num = :head"), {"head": migration_heads()[0]})
            db.session.commit()
    assert response.status_code == 503
    assert response.get_json()["checks"]["migrations"] == {
        "ok": False,
        "current": ["6b26d966265e"],
        "head": response.get_json()["checks"]["migrations"]["head"],
    }


def test_metrics_need_the_configured_token(app: Flask, client) -> None:
    assert client.get("/metrics").status_code == 404  # off unless METRICS_TOKEN is set
    app.config["METRICS_TOKEN"] = TOKEN
    refused = client.get("/metrics", headers={"Authorization": "Bearer wrong"})
    assert refused.status_code == 401
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


def test_a_completions_log_line_names_its_instance_and_procedure(app: Flask, client, driver, caplog) -> None:
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    (task,) = driver.open_tasks(instance_id)
    token = _api_token(driver, "officer1")
    with caplog.at_level(logging.INFO, logger="canbo.request"):
        done = client.post(
            f"/api/v1/tasks/{task.id}/complete",
            json={"subject_line": "Đề nghị"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert done.status_code == 200, done.get_data(as_text=True)
    (record,) = [r for r in caplog.records if r.name == "canbo.request"]
    line = json.loads(JsonLineFormatter().format(record))
    assert (line["endpoint"], line["instance_id"], line["process_id"]) == (
        "api.complete_task",
        instance_id,
        "sample_approval",
    )
    assert 0 < line["cpu_ms"] <= line["duration_ms"] + 1


def test_metrics_count_completions_latency_open_tasks_timers_and_workers(app: Flask, client, driver) -> None:
    app.config["METRICS_TOKEN"] = TOKEN
    now = clock.now()
    clock.set_now(now - timedelta(days=4))
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    clock.set_now(None)
    second = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    beat(driver.session_factory, WorkerIdentity(hostname="worker-a", pid=11), jobs_done=5)

    token = _api_token(driver, "officer1")
    (task,) = driver.open_tasks(second)
    done = client.post(
        f"/api/v1/tasks/{task.id}/complete",
        json={"subject_line": "Đề nghị"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert done.status_code == 200, done.get_data(as_text=True)

    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    samples = _samples(response.get_data(as_text=True))
    assert samples[("canbo_task_completions_total", (("process", "sample_approval"),))] == 1
    latency_count = samples[
        ("canbo_http_request_duration_seconds_count", (("endpoint", "api.complete_task"), ("method", "POST")))
    ]
    assert latency_count == 1
    # The completion's CPU is counted under its view, and the counter serves no other view's.
    assert samples[("canbo_http_request_cpu_seconds_total", (("endpoint", "api.complete_task"),))] > 0
    assert ("canbo_http_request_cpu_seconds_total", (("endpoint", "api.list_tasks"),)) not in samples
    with driver.session_factory() as session:
        open_count = session.scalar(
            select(func.count()).select_from(HumanTask).where(HumanTask.status == TaskStatus.OPEN)
        )
    assert samples[("canbo_open_tasks", (("process", "sample_approval"),))] == open_count == 2
    # The first instance's submit task has waited 4 days; its due date is what makes a task overdue.
    with driver.session_factory() as session:
        overdue = session.scalar(
            select(func.count())
            .select_from(HumanTask)
            .where(HumanTask.status == TaskStatus.OPEN, HumanTask.due_dt < clock.utcnow_naive())
        )
    assert samples[("canbo_overdue_tasks", ())] == overdue
    assert samples[("canbo_worker_jobs_total", (("worker", "worker-a:11"),))] == 5
    assert 0 <= samples[("canbo_worker_heartbeat_age_seconds", (("worker", "worker-a:11"),))] < 60
    assert ("canbo_timer_lag_seconds", ()) in samples and ("canbo_due_timers", ()) in samples
    assert instance_id


def test_metrics_show_e_mail_waiting_retried_and_given_up(app: Flask, client, driver) -> None:
    """SMTP unreachable: the worker keeps each notification pending and retries it; monitoring sees that in /metrics
    (decision 0108) rather than only in the worker's log."""
    app.config["METRICS_TOKEN"] = TOKEN
    now = clock.utcnow_naive()
    with driver.session_factory() as session:
        officer_id = session.scalars(select(User.id).where(User.username == "officer1")).one()
        rows = [
            ("pending", None, timedelta(minutes=30)),  # tried and failed: retried later
            ("pending", None, timedelta(minutes=1)),  # not tried yet
            ("failed", "connection refused", timedelta(hours=2)),
            ("sent", None, timedelta(hours=3)),
        ]
        for number, (status, error, age) in enumerate(rows):
            session.add(
                Notification(
                    user_id=officer_id,
                    kind="new_task",
                    title=f"n{number}",
                    created_dt=now - age,
                    email_status=status,
                    email_error=error if status == "failed" else ("connection refused" if number == 0 else None),
                    email_attempts=1 if number in (0, 2) else 0,
                )
            )
        session.commit()
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    samples = _samples(response.get_data(as_text=True))
    assert samples[("canbo_emails_pending", ())] == 2
    assert samples[("canbo_emails_retrying", ())] == 1
    assert samples[("canbo_emails_failed_total", ())] == 1
    assert 30 * 60 <= samples[("canbo_email_oldest_pending_age_seconds", ())] < 31 * 60
    assert samples[("canbo_email_configured", ())] == 0  # the test app sets no SMTP_HOST: the backlog is by design


def test_the_metrics_say_whether_e_mail_is_set_up(database_url: str, tmp_path: Path, demo_users: dict) -> None:
    """An alert on the e-mail backlog is conditioned on it: an install notifying in the app only pages nobody."""
    mailing = configured_app(database_url, tmp_path, SMTP_HOST="127.0.0.1", METRICS_TOKEN=TOKEN)
    response = mailing.test_client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert _samples(response.get_data(as_text=True))[("canbo_email_configured", ())] == 1


def test_timer_lag_is_the_wait_of_the_oldest_due_timer(app: Flask, client, driver) -> None:
    app.config["METRICS_TOKEN"] = TOKEN
    clock.set_now(clock.now() - timedelta(days=5))
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    driver.complete("officer1", driver.task(instance_id, "submit_request").id, {"subject_line": "x"})
    clock.set_now(None)
    samples = _samples(client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).get_data(as_text=True))
    # The review's deadline (3 days) passed 2 days ago and no worker ran.
    assert samples[("canbo_due_timers", ())] == 1
    assert (
        timedelta(days=1, hours=23)
        < timedelta(seconds=samples[("canbo_timer_lag_seconds", ())])
        < timedelta(days=2, hours=1)
    )


def test_one_json_line_per_request_with_ids_and_duration(app: Flask, client, auth, driver, caplog) -> None:
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    auth.login("officer1")
    with caplog.at_level(logging.INFO, logger="canbo.request"):
        response = client.get(f"/instances/{instance_id}", headers={"X-Request-Id": "trace-0123456789"})
    assert response.status_code == 200
    assert response.headers["X-Request-Id"] == "trace-0123456789"
    (record,) = [r for r in caplog.records if r.name == "canbo.request"]
    line = json.loads(JsonLineFormatter().format(record))
    with driver.session_factory() as session:
        officer_id = session.scalar(select(User.id).where(User.username == "officer1"))
    assert line["event"] == "request" and line["request_id"] == "trace-0123456789"
    assert line["user_id"] == officer_id and line["instance_id"] == instance_id
    assert line["status"] == 200 and line["endpoint"] == "instances.show" and line["duration_ms"] > 0
    # The page took CPU (a restore, a template), no more than its wall time; only a completion names a procedure.
    assert 0 < line["cpu_ms"] <= line["duration_ms"] + 1 and "process_id" not in line

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="canbo.request"):
        anonymous = client.get("/healthz", headers={"X-Request-Id": "bad id with spaces"})
    generated = anonymous.headers["X-Request-Id"]
    assert generated != "bad id with spaces" and len(generated) == 32
    assert caplog.records[-1].request_id == generated


def test_a_lost_database_answers_503_and_the_app_recovers(app: Flask, client, driver, database_url: str) -> None:
    """Nothing mocked: the SQLite file disappears, or PostgreSQL cuts the app's connections."""
    token = _api_token(driver, "officer1")
    assert client.get("/api/v1/processes", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    if database_url.startswith("postgresql"):
        name = make_url(database_url).database
        admin = create_engine(make_url(database_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            cut = conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            ).scalar()
        admin.dispose()
        assert cut >= 1
        # The first use of a cut connection fails cleanly; the pool is then invalidated and reconnects.
        failed = client.get("/api/v1/processes", headers={"Authorization": f"Bearer {token}"})
        assert failed.status_code == 503 and failed.headers["Retry-After"] == "5"
        assert client.get("/api/v1/processes", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        return
    path = Path(make_url(database_url).database or "")
    browser = app.test_client()
    AuthActions(browser).login("officer1")
    assert browser.get("/inbox").status_code == 200
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    moved = path.with_name("away.db")
    shutil.move(path, moved)
    path.mkdir()  # a directory where the file was: SQLite cannot open it
    try:
        down = client.get("/api/v1/processes", headers={"Authorization": f"Bearer {token}"})
        assert down.status_code == 503 and down.headers["Retry-After"] == "5"
        assert down.get_json()["status"] == 503
        assert client.get("/healthz?check=app").status_code == 503
        # A signed-in person's page: neither their language nor the menu's counts may be read from the database
        # that is away, or the 503 would become a 500.
        page = browser.get("/inbox")
        assert page.status_code == 503 and page.headers["Retry-After"] == "5"
        assert b'data-status="503"' in page.data
    finally:
        path.rmdir()
        shutil.move(moved, path)
    assert client.get("/api/v1/processes", headers={"Authorization": f"Bearer {token}"}).status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/metrics"])
def test_operational_routes_take_no_post(client, path: str) -> None:
    assert client.post(path).status_code == 405


def test_token_use_is_written_at_most_once_a_minute(app: Flask, client, driver) -> None:
    """A read through the API stays a read: the last-use time moves only when a minute has passed."""
    from workflows.registry.models import ApiToken

    token = _api_token(driver, "officer1")
    start = clock.now()

    def last_used():  # type: ignore[no-untyped-def]
        with driver.session_factory() as session:
            return session.scalars(select(ApiToken.last_used_dt)).one()

    for offset, expected in ((0, 0), (30, 0), (59, 0), (61, 61)):
        clock.set_now(start + timedelta(seconds=offset))
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert last_used() == (start + timedelta(seconds=expected)).replace(tzinfo=None)
