"""Reading, locking and writing instance and task rows on the hot path, in SQL rather than through the ORM unit
of work (docs/decisions/0003).

Every statement here is built once, at import or on first use of its shape, with named bind parameters: SQLAlchemy
then neither rebuilds nor re-keys it per call. On PostgreSQL a whole advance is three round trips after BEGIN — the
locking SELECT, one UPDATE carrying every other write as data-modifying CTEs, COMMIT — and those two statements are
prepared on the server once per connection and sent without SQLAlchemy's per-call work (docs/decisions/0017,
`workflows.prepared.run_prepared`).

Services hand out `InstanceSnapshot`s — plain values, safe to use after the transaction — never live ORM rows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Connection,
    Table,
    Text,
    bindparam,
    column,
    func,
    insert,
    select,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Update

from workflows.assignment import chain_of
from workflows.errors import Conflict, NotFound
from workflows.models import AuditEvent, HumanTask, ProcessInstance
from workflows.prepared import run_prepared
from workflows.registry.models import OrgUnit, User

_instances = cast(Table, ProcessInstance.__table__)
_tasks = cast(Table, HumanTask.__table__)
_units = cast(Table, OrgUnit.__table__)
_users = cast(Table, User.__table__)
_audit_events = cast(Table, AuditEvent.__table__)


@dataclass
class InstanceSnapshot:
    id: int
    process_id: str
    process_version_id: int
    business_key: str | None
    status: str
    subject_cadre_id: int | None
    unit_id: int | None
    started_by_id: int | None
    started_dt: datetime
    ended_dt: datetime | None
    state: str
    serializer_version: str
    next_timer_at: datetime | None
    lock_version: int
    cancel_reason: str | None
    last_error: str | None
    audit_seq: int
    audit_head: str

    @property
    def reference(self) -> str:
        return f"{self.process_id}#{self.id}"


@dataclass
class TaskSnapshot:
    id: int
    instance_id: int
    spiff_task_id: str
    task_key: str
    name: str
    lane: str | None
    form_filename: str | None
    status: str
    assignee_id: int | None
    candidate_role: str | None
    candidate_unit_id: int | None
    closed_by_id: int | None
    unit_id: int | None


_INSTANCE_COLUMNS = [_instances.c[f.name] for f in fields(InstanceSnapshot)]
_TASK_COLUMNS = [_tasks.c[f.name] for f in fields(TaskSnapshot)]
_N_TASK = len(_TASK_COLUMNS)
_N_INSTANCE = len(_INSTANCE_COLUMNS)

# A fresh human_tasks id drawn from the table's sequence (PostgreSQL): rows of new tasks get their ids before they
# are written, so their audit events can be hashed and everything sent in one statement.
_NEXT_TASK_ID = func.nextval(func.pg_get_serial_sequence(_tasks.name, _tasks.c.id.name))

_task_units = _units.alias("task_unit")
# Both rows are locked: on PostgreSQL a waiter then re-reads both once the holder commits
# (a row read through a join but not locked would come back as it was before the wait). The two units' paths are
# what deciding who may see and act on the task needs.
_LOCK_TASK = (
    select(*_TASK_COLUMNS, *_INSTANCE_COLUMNS, _units.c.path, _task_units.c.path, _users.c.id)
    .join_from(_tasks, _instances, _tasks.c.instance_id == _instances.c.id)
    .outerjoin(_units, _tasks.c.candidate_unit_id == _units.c.id)
    .outerjoin(_task_units, _tasks.c.unit_id == _task_units.c.id)
    .outerjoin(_users, (_users.c.cadre_id == _instances.c.subject_cadre_id) & _users.c.is_active)
    .where(_tasks.c.id == bindparam("task_id"))
    .with_for_update(of=[_tasks, _instances])
)
# The same, also reserving one id for the task the advance will most likely open.
_LOCK_TASK_RESERVING = _LOCK_TASK.add_columns(_NEXT_TASK_ID)
_LOCK_INSTANCE = select(*_INSTANCE_COLUMNS).where(_instances.c.id == bindparam("instance_id")).with_for_update()
_INSERT_INSTANCE = insert(_instances).returning(*_INSTANCE_COLUMNS)
_INSERT_INSTANCE_RESERVING = insert(_instances).returning(*_INSTANCE_COLUMNS, _NEXT_TASK_ID)
_DRAW_TASK_IDS = select(_NEXT_TASK_ID).select_from(func.generate_series(1, bindparam("count")))
_INSERT_TASKS = insert(_tasks).returning(_tasks.c.id, sort_by_parameter_order=True)
_INSERT_AUDIT_ROWS = insert(_audit_events)
# Bind parameters of the write statements are named v_…: SQLAlchemy would take an execute() parameter named like a
# column of an UPDATE's table (or of a CTE's) as one more value to SET.
_CLOSE_TASK = (
    update(_tasks)
    .where(_tasks.c.id == bindparam("v_close_task_id"))
    .values(
        status=bindparam("v_close_status", type_=_tasks.c.status.type),
        closed_dt=bindparam("v_close_dt", type_=_tasks.c.closed_dt.type),
        closed_by_id=bindparam("v_close_by_id", type_=_tasks.c.closed_by_id.type),
    )
)


def _insert_from_json(table: Table, prefix: str, names: tuple[str, ...]) -> Any:
    """INSERT … SELECT FROM json_to_recordset(one JSON array of rows) (PostgreSQL): the same SQL text whatever the
    number of rows, unlike a multi-row VALUES, and one parameter — encoding it costs a fraction of array parameters."""
    rows = func.json_to_recordset(sql_cast(bindparam(f"v_{prefix}", type_=Text), JSON))
    source = rows.table_valued(*(column(name, table.c[name].type) for name in names)).render_derived(with_types=True)
    return insert(table).from_select(names, select(*source.c), include_defaults=False)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):  # timestamps are stored as naive UTC
        return (value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot send {type(value).__name__} as a row value")


def _as_json(rows: Sequence[dict[str, Any]]) -> tuple[tuple[str, ...], str]:
    encoded = json.dumps(rows, ensure_ascii=False, separators=(",", ":"), default=_json_value)
    return tuple(rows[0]), encoded


@dataclass
class LockedTask:
    task: TaskSnapshot
    instance: InstanceSnapshot
    candidate_unit_chain: list[int]
    unit_chain: list[int]  # the task's unit and those above it: where overseers of the task hold their roles
    subject_user_id: int | None  # read in the same statement: the next task often belongs to the subject
    reserved_task_ids: list[int] = field(default_factory=list)


@dataclass
class AdvanceWrites:
    """The rows an advance writes besides the instance row, collected while it runs and sent by `save_instance`.

    PostgreSQL: they ride in the instance UPDATE as data-modifying CTEs, and ids of new task rows are drawn from
    the sequence beforehand (`open_task_rows`). Elsewhere new task rows are inserted at once and the rest is written
    just before the UPDATE. Either way all of it shares the caller's transaction.
    """

    closed_task: dict[str, Any] | None = None  # v_close_task_id, v_close_status, v_close_dt, v_close_by_id
    opened_tasks: list[dict[str, Any]] = field(default_factory=list)
    reserved_task_ids: list[int] = field(default_factory=list)

    def close_task(self, task_id: int, *, status: str, closed_dt: datetime, closed_by_id: int | None) -> None:
        self.closed_task = {
            "v_close_task_id": task_id,
            "v_close_status": status,
            "v_close_dt": closed_dt,
            "v_close_by_id": closed_by_id,
        }


def _is_postgres(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql"


def lock_task(session: Session, task_id: int, *, reserve_task_id: bool = False) -> LockedTask:
    """One statement: the task, its instance (both locked) and the ancestry of the task's candidate unit and unit.

    `reserve_task_id`: on PostgreSQL also draw one human_tasks id for `AdvanceWrites.reserved_task_ids`."""
    connection = session.connection()
    reserving = reserve_task_id and _is_postgres(connection)
    statement = _LOCK_TASK_RESERVING if reserving else _LOCK_TASK
    row = run_prepared(connection, statement, {"task_id": task_id}).one_or_none()
    if row is None:
        raise NotFound(f"task {task_id} does not exist")
    task = TaskSnapshot(*row[:_N_TASK])
    end = _N_TASK + _N_INSTANCE
    instance = InstanceSnapshot(*row[_N_TASK:end])
    path, unit_path, subject_user_id = row[end], row[end + 1], row[end + 2]
    candidate_chain, chain = chain_of(task.candidate_unit_id, path), chain_of(task.unit_id, unit_path)
    return LockedTask(task, instance, candidate_chain, chain, subject_user_id, [row[-1]] if reserving else [])


def lock_instance(session: Session, instance_id: int) -> InstanceSnapshot:
    """Row lock on PostgreSQL (SELECT … FOR UPDATE); on SQLite the transaction already holds the write lock."""
    row = run_prepared(session.connection(), _LOCK_INSTANCE, {"instance_id": instance_id}).one_or_none()
    if row is None:
        raise NotFound(f"instance {instance_id} does not exist")
    return InstanceSnapshot(*row)


def insert_instance(session: Session, values: dict[str, Any], writes: AdvanceWrites | None = None) -> InstanceSnapshot:
    """Insert an instance row; with `writes`, on PostgreSQL also reserve an id for its first task."""
    connection = session.connection()
    if writes is not None and _is_postgres(connection):
        row = connection.execute(_INSERT_INSTANCE_RESERVING, values).one()
        writes.reserved_task_ids.append(row[-1])
        return InstanceSnapshot(*row[:-1])
    return InstanceSnapshot(*connection.execute(_INSERT_INSTANCE, values).one())


def open_task_rows(session: Session, rows: list[dict[str, Any]], writes: AdvanceWrites | None = None) -> list[int]:
    """New human_tasks rows; returns their ids in order.

    With `writes` on PostgreSQL the ids come from the sequence (reserved ones first) and the rows are sent with the
    instance UPDATE; otherwise they are inserted now."""
    connection = session.connection()
    if writes is None or not _is_postgres(connection):
        return list(connection.execute(_INSERT_TASKS, rows).scalars())
    missing = len(rows) - len(writes.reserved_task_ids)
    if missing > 0:
        writes.reserved_task_ids.extend(run_prepared(connection, _DRAW_TASK_IDS, {"count": missing}).scalars())
    ids = writes.reserved_task_ids[: len(rows)]
    del writes.reserved_task_ids[: len(rows)]
    writes.opened_tasks.extend({**row, "id": row_id} for row_id, row in zip(ids, rows, strict=True))
    return ids


# The instance UPDATE, one statement per shape: which columns change, and on PostgreSQL which CTEs ride along
# (and with which columns). A handful of shapes exist; each is built and compiled once.
_saves: dict[tuple[Any, ...], Update] = {}


def _save_statement(columns: tuple[str, ...], ctes: tuple[tuple[str, tuple[str, ...]], ...]) -> Update:
    key = (columns, ctes)
    statement = _saves.get(key)
    if statement is None:
        statement = (
            update(_instances)
            .where(_instances.c.id == bindparam("v_instance_id"))
            .where(_instances.c.lock_version == bindparam("v_old_version"))
            .values({name: bindparam(f"v_new_{name}", type_=_instances.c[name].type) for name in columns})
        )
        for name, names in ctes:
            if name == "closed":
                part = _CLOSE_TASK
            else:
                part = _insert_from_json(_tasks if name == "opened" else _audit_events, name, names)
            statement = statement.add_cte(part.cte(f"advance_{name}"))
        _saves[key] = statement
    return statement


def save_instance(
    session: Session,
    instance: InstanceSnapshot,
    *,
    writes: AdvanceWrites | None = None,
    audit_rows: Sequence[dict[str, Any]] = (),
    **changes: Any,
) -> None:
    """Write changes with an optimistic version check, together with the advance's other rows (`writes`, audit
    rows); the snapshot is updated to match. On PostgreSQL that is one statement (one round trip)."""
    writes = writes or AdvanceWrites()
    new_version = instance.lock_version + 1
    values = {**changes, "lock_version": new_version}
    params: dict[str, Any] = {f"v_new_{name}": value for name, value in values.items()}
    params.update(v_instance_id=instance.id, v_old_version=instance.lock_version)
    connection = session.connection()
    ctes: list[tuple[str, tuple[str, ...]]] = []
    if _is_postgres(connection):
        if writes.closed_task is not None:
            ctes.append(("closed", ()))
            params.update(writes.closed_task)
        for name, rows in (("opened", writes.opened_tasks), ("events", audit_rows)):
            if rows:
                names, params[f"v_{name}"] = _as_json(rows)
                ctes.append((name, names))
    else:
        if writes.closed_task is not None:
            connection.execute(_CLOSE_TASK, writes.closed_task)
        if audit_rows:
            connection.execute(_INSERT_AUDIT_ROWS, list(audit_rows))
    result = run_prepared(connection, _save_statement(tuple(sorted(values)), tuple(ctes)), params)
    if result.rowcount != 1:
        raise Conflict("the procedure was changed by someone else meanwhile; reload and try again")
    for name, value in changes.items():
        setattr(instance, name, value)
    instance.lock_version = new_version
    _expire_orm_copy(session, instance.id)


def update_task(session: Session, task_id: int, **values: Any) -> None:
    session.connection().execute(update(_tasks).where(_tasks.c.id == task_id).values(**values))


def _expire_orm_copy(session: Session, instance_id: int) -> None:
    """If the caller's session also holds the instance as an ORM object, make it re-read what we just wrote."""
    key = session.identity_key(ProcessInstance, instance_id)
    if key in session.identity_map:
        session.expire(session.identity_map[key])
