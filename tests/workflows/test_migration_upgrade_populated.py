"""Upgrade from the previous release's schema on a database full of real work (issue #9): the newest migration is
taken back, then applied again, and every instance, task and audit event is still there, the invariants of
`canbo check` hold and the procedures go on. Runs on its own SQLite file, and on a database of its own when
DATABASE_URL names PostgreSQL."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from tests.fixtures.databases import empty_postgresql_database
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows.db import make_engine
from workflows.deployment.operations import deploy_directory
from workflows.engine.runtime import ProcessEngine
from workflows.migrate import alembic_config, current_revision, upgrade
from workflows.production.consistency import check_consistency
from workflows.registry.demo import load_demo

ROOT = Path(__file__).resolve().parents[2]
COUNTED = ("process_instances", "human_tasks", "audit_events", "users", "cadres", "process_versions")


@pytest.fixture
def own_engine(tmp_path: Path, worker_id: str) -> Iterator[Engine]:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgresql"):
        # One database per xdist worker: two of these tests at once on one name dropped each other's.
        with empty_postgresql_database(url, f"{make_url(url).database}_upgrade_{worker_id}") as database:
            engine = make_engine(database.render_as_string(hide_password=False))
            yield engine
            engine.dispose()
        return
    engine = make_engine(f"sqlite:///{tmp_path / 'populated.db'}")
    yield engine
    engine.dispose()


def _run(engine: Engine, action, revision: str) -> None:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        action(config, revision)
        connection.commit()


def _head() -> str:
    (head,) = ScriptDirectory.from_config(alembic_config()).get_heads()
    return str(head)


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {table: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() for table in COUNTED}


def test_upgrade_from_the_previous_revision_keeps_a_populated_database_working(own_engine: Engine) -> None:
    script = ScriptDirectory.from_config(alembic_config())
    (head,) = script.get_heads()
    previous = script.get_revision(head).down_revision
    assert isinstance(previous, str), "the newest migration has one predecessor"

    upgrade(own_engine)
    factory = sessionmaker(bind=own_engine, expire_on_commit=False)
    with factory() as session:
        load_demo(session)
        deploy_directory(session, ROOT / "bpmn", ROOT / "forms", actor=None)
        session.commit()
    driver = WorkflowDriver(factory, ProcessEngine(script_time_limit=1.0))
    finished = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    driver.complete("officer1", driver.task(finished, "submit_request").id, {"subject_line": "Đề nghị 1"})
    driver.complete("supervisor1", driver.task(finished, "review_request").id, {"decision": "approve"})
    waiting = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    driver.complete("officer1", driver.task(waiting, "submit_request").id, {"subject_line": "Đề nghị 2"})
    fresh = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    before = _counts(own_engine)
    assert before["process_instances"] == 3 and before["audit_events"] > 6

    _run(own_engine, command.downgrade, previous)
    assert current_revision(own_engine) == previous
    assert _counts(own_engine) == before

    upgrade(own_engine)
    assert current_revision(own_engine) == head
    assert _counts(own_engine) == before
    with factory() as session:
        report = check_consistency(session, driver.engine)
    assert report.ok, [str(finding) for finding in report.findings]
    assert (report.instances, report.open_tasks, report.completions) == (2, 2, 3)

    # The work goes on where it stopped.
    done = driver.complete("supervisor1", driver.task(waiting, "review_request").id, {"decision": "approve"})
    assert done.status == "completed"
    driver.complete("officer1", driver.task(fresh, "submit_request").id, {"subject_line": "Đề nghị 3"})
    assert [t.task_key for t in driver.open_tasks(fresh)] == ["review_request"]
    with factory() as session:  # and the case summary (decision 0144) is kept again from the next advance
        stored = session.execute(text("SELECT summary FROM process_instances WHERE id = :id"), {"id": fresh}).scalar()
    summary = json.loads(stored) if isinstance(stored, str) else stored  # SQLite hands JSON back as its text
    assert summary == [["subject_line", "Đề nghị 3", "Nội dung đề nghị"]]


BEFORE_DRAFTS_GO = "7c3e5a1f9d26"  # before a draft went with its task's closing (e2b9c4d7a810, decision 0085)


def test_drafts_left_behind_by_closed_tasks_are_removed_and_new_ones_go_with_their_task(own_engine: Engine) -> None:
    upgrade(own_engine)
    factory = sessionmaker(bind=own_engine, expire_on_commit=False)
    with factory() as session:
        load_demo(session)
        deploy_directory(session, ROOT / "bpmn", ROOT / "forms", actor=None)
        session.commit()
    driver = WorkflowDriver(factory, ProcessEngine(script_time_limit=1.0))
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    request = driver.task(instance_id, "submit_request").id
    driver.complete("officer1", request, {"subject_line": "Đề nghị"})
    review = driver.task(instance_id, "review_request").id
    _run(own_engine, command.downgrade, BEFORE_DRAFTS_GO)
    # Before the trigger the API completion left its task's draft behind: written as that code wrote drafts (today's
    # code reads columns that schema does not have yet).
    with own_engine.begin() as conn:
        for task_id, username, data in (
            (request, "officer1", '{"subject_line": "Nháp"}'),
            (review, "supervisor1", "{}"),
        ):
            conn.execute(
                text(
                    "INSERT INTO task_drafts (human_task_id, user_id, data, saved_dt) "
                    "SELECT :task_id, id, :data, '2026-12-06' FROM users WHERE username = :username"
                ),
                {"task_id": task_id, "username": username, "data": data},
            )
    assert driver.drafts() == {request: "completed", review: "open"}

    upgrade(own_engine)
    assert driver.drafts() == {review: "open"}
    driver.complete("supervisor1", review, {"decision": "approve"})
    assert driver.drafts() == {}


def _province_and_one_account(conn: Connection, username: str, full_name: str) -> None:
    """Unit 1 (the province) and account 1 in it, written as the schema of a revision since 2026-12-06 holds them."""
    conn.execute(
        text(
            "INSERT INTO org_units (id, code, name, unit_type, path, is_active, created_dt) "
            "VALUES (1, 'T01', 'Tỉnh', 'province', '/', true, '2026-01-01')"
        )
    )
    conn.execute(
        text(
            "INSERT INTO users (id, username, full_name, password_hash, unit_id, is_active, locale, "
            "notify_by_email, must_change_password, created_dt) "
            "VALUES (1, :username, :full_name, 'x', 1, true, 'vi', true, false, '2026-01-01')"
        ),
        {"username": username, "full_name": full_name},
    )


BEFORE_VOTING_BODIES = "e2b9c4d7a810"  # before a unit kept its voting bodies (a6c2e8f4b913, decision 0122)


def test_voting_bodies_are_added_empty_and_taken_away_on_the_way_back(own_engine: Engine) -> None:
    _run(own_engine, command.upgrade, BEFORE_VOTING_BODIES)
    factory = sessionmaker(bind=own_engine, expire_on_commit=False)
    with own_engine.begin() as conn:
        _province_and_one_account(conn, "head1", "Phạm Quốc Dũng")
    upgrade(own_engine)
    assert current_revision(own_engine) == _head()
    member = (
        "INSERT INTO voting_body_members (unit_id, body_kind, user_id, added_dt) "
        "VALUES (1, 'leadership', 1, '2026-12-06')"
    )
    with own_engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM voting_body_members")).scalar_one() == 0
        conn.execute(text(member))
    with pytest.raises(IntegrityError), own_engine.begin() as conn:  # one row per member of a body
        conn.execute(text(member))
    _run(own_engine, command.downgrade, BEFORE_VOTING_BODIES)
    with factory() as session:
        assert "voting_body_members" not in sa_inspect(session.connection()).get_table_names()
        assert session.execute(text("SELECT username FROM users")).scalar_one() == "head1"
    upgrade(own_engine)
    with own_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM voting_body_members")).scalar_one() == 0


BEFORE_READ_DETAIL = "a6c2e8f4b913"  # before a list exported as a file was logged with its filters (decision 0137)


def test_the_read_log_keeps_its_rows_when_it_gains_and_loses_the_detail(own_engine: Engine) -> None:
    _run(own_engine, command.upgrade, BEFORE_READ_DETAIL)
    with own_engine.begin() as conn:
        _province_and_one_account(conn, "auditor1", "Vũ Đức Tuấn")
        conn.execute(
            text(
                "INSERT INTO record_views (viewer_id, viewer_name, object_kind, object_id, unit_id, viewed_dt) "
                "VALUES (1, 'auditor1', 'instance_history', 9, 1, '2026-12-01')"
            )
        )
    upgrade(own_engine)
    assert current_revision(own_engine) == _head()
    with own_engine.begin() as conn:
        assert conn.execute(text("SELECT object_id, detail FROM record_views")).one() == (9, None)
        conn.execute(
            text(
                "INSERT INTO record_views (viewer_id, viewer_name, object_kind, object_id, unit_id, viewed_dt, "
                "detail) VALUES (1, 'auditor1', 'event_list', 0, 1, '2026-12-07', 'format=csv')"
            )
        )
    _run(own_engine, command.downgrade, BEFORE_READ_DETAIL)
    with own_engine.connect() as conn:
        assert "detail" not in {column["name"] for column in sa_inspect(conn).get_columns("record_views")}
        rows = conn.execute(text("SELECT object_kind, object_id FROM record_views ORDER BY id")).all()
        assert [tuple(row) for row in rows] == [("instance_history", 9), ("event_list", 0)]
