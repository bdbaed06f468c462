"""The write path of one advance (workflows/engine/store.py, docs/decisions/0017): what reaches the database and how."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine

from tests.fixtures.statements import Sent, statements_sent
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows import prepared
from workflows.audit import PendingEvent, instance_audit_rows, verify_chains
from workflows.db import transaction
from workflows.engine.store import AdvanceWrites, _json_value, lock_instance, save_instance
from workflows.errors import Conflict
from workflows.models import AuditEvent, HumanTask
from workflows.states import EventType, TaskStatus

REQUEST = {"subject_line": "Đề nghị cử đi học lớp trung cấp lý luận chính trị", "amount": 1}
HOT_TABLES = ("human_tasks", "process_instances", "audit_events")


def _hot(sent: Sent) -> list[str]:
    """The statements that touched the tables of an advance, a prepared one as the statement it runs."""
    return [" ".join(s.split()) for s in sent.statements if any(table in s for table in HOT_TABLES)]


def test_on_postgres_a_completion_is_one_locking_read_and_one_write(driver: WorkflowDriver, db_engine: Engine) -> None:
    if db_engine.dialect.name != "postgresql":
        pytest.skip("the single-statement write is PostgreSQL's; SQLite has no round trips to save")
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    task = driver.task(instance_id, "submit_request")
    data = {**REQUEST, "subject_line": 'Đề nghị 50% — O\'Brien \\ "trích dẫn"'}  # quotes, a backslash, a percent

    with statements_sent(db_engine) as recorded:
        driver.complete("officer1", task.id, data)
    sent = _hot(recorded)

    assert len(sent) == 2, sent
    lock, write = sent
    assert lock.startswith("SELECT") and lock.endswith("FOR UPDATE OF human_tasks, process_instances")
    assert write.startswith("WITH") and "UPDATE process_instances" in write
    assert "UPDATE human_tasks" in write and "INSERT INTO human_tasks" in write and "INSERT INTO audit_events" in write

    # … and it wrote what a completion writes: the task closed, the next one open, events naming the new row,
    # the submitted text exactly as sent.
    (review,) = driver.open_tasks(instance_id)
    assert review.task_key == "review_request"
    with driver.session_factory() as s:
        assert s.scalar(select(HumanTask.status).where(HumanTask.id == task.id)) == TaskStatus.COMPLETED
        opened = s.scalars(
            select(AuditEvent.human_task_id).where(
                AuditEvent.instance_id == instance_id, AuditEvent.event_type == EventType.TASK_OPENED
            )
        ).all()
        assert opened[-1] == review.id
        assert verify_chains(s).ok
        changed = s.scalars(
            select(AuditEvent.payload).where(
                AuditEvent.instance_id == instance_id, AuditEvent.event_type == EventType.DATA_CHANGED
            )
        ).first()
    assert changed is not None and json.loads(changed)["changes"]["subject_line"]["to"] == data["subject_line"]
    assert json.loads(driver.instance(instance_id).state)["typename"] == "BpmnWorkflow"


def test_prepared_statements_outlive_a_rollback(driver: WorkflowDriver, db_engine: Engine) -> None:
    """A read-only request ends with ROLLBACK; the next completion on the same connection still finds its prepared
    statements (psycopg's automatic preparation, which would drop them, is off on our connections)."""
    if db_engine.dialect.name != "postgresql":
        pytest.skip("prepared statements are PostgreSQL's")
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    driver.complete("officer1", driver.task(instance_id, "submit_request").id, REQUEST)
    with driver.session_factory() as s:  # a read-only request: it ends with ROLLBACK
        for _ in range(7):  # enough for psycopg to prepare this one itself (and drop all at the ROLLBACK), if allowed
            s.execute(select(HumanTask.id).where(HumanTask.instance_id == instance_id)).all()
    with driver.session_factory() as s:
        server_side = set(s.scalars(text("SELECT name FROM pg_prepared_statements")))
    assert set(prepared.forms_by_name) & server_side
    driver.complete("supervisor1", driver.task(instance_id, "review_request").id, {"decision": "approve"})
    assert driver.open_tasks(instance_id) == []


def test_on_postgres_the_stored_state_is_compressed_with_lz4(driver: WorkflowDriver, db_engine: Engine) -> None:
    """The cheaper codec for the column every advance decompresses and compresses again (its migration)."""
    if db_engine.dialect.name != "postgresql":
        pytest.skip("column compression is PostgreSQL's")
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    driver.complete("officer1", driver.task(instance_id, "submit_request").id, REQUEST)
    with db_engine.connect() as conn:
        methods = conn.execute(
            text("SELECT enumvals FROM pg_settings WHERE name = 'default_toast_compression'")
        ).scalar()
        stored = conn.execute(
            text("SELECT pg_column_compression(state), octet_length(state) FROM process_instances WHERE id = :id"),
            {"id": instance_id},
        ).one()
    # A server built without lz4 keeps its default; the state is large enough to be compressed either way.
    assert stored[1] > 2000
    assert stored[0] == ("lz4" if "lz4" in (methods or []) else "pglz")


def test_a_stale_version_writes_nothing(driver: WorkflowDriver) -> None:
    """The version check fails → Conflict, and none of the rows that travel with the UPDATE survive (on PostgreSQL
    the CTEs run whether or not the UPDATE matched; the caller's rollback takes them back)."""
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    task = driver.task(instance_id, "submit_request")
    before = driver.instance(instance_id)
    with driver.session_factory() as s, pytest.raises(Conflict), transaction(s):
        snapshot = lock_instance(s, instance_id)
        snapshot.lock_version -= 1  # someone else advanced it meanwhile
        writes = AdvanceWrites()
        writes.close_task(task.id, status=TaskStatus.COMPLETED, closed_dt=datetime(2026, 12, 1), closed_by_id=None)
        rows, seq, head = instance_audit_rows(snapshot, [PendingEvent(EventType.ERROR, {"x": 1})], actor=None)
        save_instance(s, snapshot, writes=writes, audit_rows=rows, audit_seq=seq, audit_head=head, state="{}")
    after = driver.instance(instance_id)
    assert (after.state, after.lock_version, after.audit_seq) == (before.state, before.lock_version, before.audit_seq)
    assert [t.id for t in driver.open_tasks(instance_id)] == [task.id]
    with driver.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.instance_id == instance_id)) == 2
        assert verify_chains(s).ok


def test_row_timestamps_are_sent_as_naive_utc() -> None:
    naive = datetime(2026, 12, 1, 3, 0, 0, 123456)
    assert _json_value(naive) == "2026-12-01T03:00:00.123456"
    hanoi = timezone(timedelta(hours=7))
    assert _json_value(datetime(2026, 12, 1, 10, 0, tzinfo=hanoi)) == "2026-12-01T03:00:00"
    assert _json_value(datetime(2026, 12, 1, 3, 0, tzinfo=UTC)) == "2026-12-01T03:00:00"
    with pytest.raises(TypeError):
        _json_value(object())
