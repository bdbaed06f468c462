"""Reading, locking and writing instance and task rows on the hot path, in SQL rather than through the ORM unit
of work (docs/decisions/0003).

Every statement here is built once, at import or on first use of its shape, with named bind parameters: SQLAlchemy
then neither rebuilds nor re-keys it per call. On PostgreSQL a whole advance is three round trips after BEGIN — the
locking SELECT, one UPDATE carrying every other write as data-modifying CTEs, COMMIT — and those two statements are
prepared on the server once per connection and sent without SQLAlchemy's per-call work (docs/decisions/0017,
`workflows.prepared.fetch_rows`).

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
    Integer,
    String,
    Table,
    Text,
    and_,
    any_,
    bindparam,
    column,
    exists,
    func,
    insert,
    select,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.sql import Executable
from sqlalchemy.sql.selectable import CTE

from workflows.assignment import chain_of, roles_held_by, roles_named
from workflows.errors import Conflict, NotFound
from workflows.models import AuditEvent, HumanTask, ProcessInstance, ProcessVersion
from workflows.prepared import fetch_rows
from workflows.registry.models import Cadre, OrgUnit, RoleAssignment, User
from workflows.states import TaskStatus

_instances = cast(Table, ProcessInstance.__table__)
_tasks = cast(Table, HumanTask.__table__)
_units = cast(Table, OrgUnit.__table__)
_users = cast(Table, User.__table__)
_audit_events = cast(Table, AuditEvent.__table__)
_versions = cast(Table, ProcessVersion.__table__)
_cadres = cast(Table, Cadre.__table__)
_roles = cast(Table, RoleAssignment.__table__)

# Fields of the snapshots below that are not columns of their table.
NOT_A_COLUMN = {"column": False}


@dataclass
class InstanceLabels:
    """What people know an instance by: its procedure and version, its cadre, its unit, who started it."""

    process_name: str
    version: int
    subject_code: str | None
    subject_name: str | None
    unit_code: str | None
    unit_name: str | None
    started_by: str | None


@dataclass
class OpenTask:
    """An open human_tasks row, as an inbox or an answer lists it."""

    id: int
    name: str
    task_key: str
    process_id: str
    process_name: str
    due_dt: datetime | None
    status: str
    assignee_id: int | None


_OPEN_TASK_FIELDS = tuple(f.name for f in fields(OpenTask))


@dataclass(frozen=True)
class UntakeableTask:
    """A step an advance just opened for a role nobody active holds where it waits (decision 0106's warning)."""

    name: str
    candidate_role: str
    unit_name: str


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
    summary: list[list[Any]] | None = None  # what the advance compares its new summary with (decision 0144)
    # Filled by a completion (`lock_task`, then `save_instance` with `AdvanceWrites.read_open_tasks`): its answer
    # then needs no read of its own after the write.
    labels: InstanceLabels | None = field(default=None, metadata=NOT_A_COLUMN)
    open_tasks: list[OpenTask] | None = field(default=None, metadata=NOT_A_COLUMN)
    # Filled by a save with `AdvanceWrites.find_untakeable`: the steps it opened that nobody can take.
    untakeable: list[UntakeableTask] | None = field(default=None, metadata=NOT_A_COLUMN)

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


_INSTANCE_COLUMNS = [_instances.c[f.name] for f in fields(InstanceSnapshot) if f.metadata.get("column", True)]
_TASK_COLUMNS = [_tasks.c[f.name] for f in fields(TaskSnapshot)]
_OPEN_TASK_COLUMNS = [_tasks.c[f.name] for f in fields(OpenTask)]
_N_TASK = len(_TASK_COLUMNS)
_N_INSTANCE = len(_INSTANCE_COLUMNS)

# A fresh human_tasks id drawn from the table's sequence (PostgreSQL): rows of new tasks get their ids before they
# are written, so their audit events can be hashed and everything sent in one statement.
_NEXT_TASK_ID = func.nextval(func.pg_get_serial_sequence(_tasks.name, _tasks.c.id.name))

_task_units = _units.alias("task_unit")
_instance_units = _units.alias("instance_unit")
_starters = _users.alias("starter")
_LABEL_COLUMNS = [
    _versions.c.name,
    _versions.c.version,
    _cadres.c.code,
    _cadres.c.full_name,
    _instance_units.c.code,
    _instance_units.c.name,
    _starters.c.username,
]
# The roles the subject's account holds, comma-separated: most cadres hold only the officer's, and then a step opening
# for another role cannot be theirs to keep away from (decision 0133); the advance asks nothing more of its holders.
_SUBJECT_ROLES = roles_held_by(_users.c.id)
# Both rows are locked: on PostgreSQL a waiter then re-reads both once the holder commits
# (a row read through a join but not locked would come back as it was before the wait). The two units' paths are
# what deciding who may see and act on the task needs; the labels are what the completion's answer shows.
_LOCK_TASK = (
    select(
        *_TASK_COLUMNS,
        *_INSTANCE_COLUMNS,
        _units.c.path,
        _task_units.c.path,
        _users.c.id,
        _cadres.c.unit_id,
        _SUBJECT_ROLES,
        *_LABEL_COLUMNS,
    )
    .join_from(_tasks, _instances, _tasks.c.instance_id == _instances.c.id)
    .join(_versions, _versions.c.id == _instances.c.process_version_id)
    .outerjoin(_units, _tasks.c.candidate_unit_id == _units.c.id)
    .outerjoin(_task_units, _tasks.c.unit_id == _task_units.c.id)
    .outerjoin(_users, (_users.c.cadre_id == _instances.c.subject_cadre_id) & _users.c.is_active)
    .outerjoin(_cadres, _cadres.c.id == _instances.c.subject_cadre_id)
    .outerjoin(_instance_units, _instance_units.c.id == _instances.c.unit_id)
    .outerjoin(_starters, _starters.c.id == _instances.c.started_by_id)
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
    subject_unit_id: int | None = None  # the subject cadre's unit: where lanes "@subject" look for the role
    subject_roles: frozenset[str] | None = None  # the roles the subject's account holds anywhere (None: not read)
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
    # Read the instance's open tasks back with the write (into the snapshot's `open_tasks`): on PostgreSQL the
    # same statement returns them, so a completion's answer costs no further round trip.
    read_open_tasks: bool = False
    # Find which of the steps opened wait for a role nobody active holds (into the snapshot's `untakeable`): on
    # PostgreSQL the write answers it, so the web form's warning costs no round trip of its own (decision 0106).
    find_untakeable: bool = False

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
    rows = fetch_rows(connection, statement, {"task_id": task_id}).rows
    if not rows:
        raise NotFound(f"task {task_id} does not exist")
    row = rows[0]
    task = TaskSnapshot(*row[:_N_TASK])
    end = _N_TASK + _N_INSTANCE
    instance = InstanceSnapshot(*row[_N_TASK:end])
    path, unit_path, subject_user_id, subject_unit_id, subject_roles = row[end : end + 5]
    instance.labels = InstanceLabels(*row[end + 5 : end + 5 + len(_LABEL_COLUMNS)])
    candidate_chain, chain = chain_of(task.candidate_unit_id, path), chain_of(task.unit_id, unit_path)
    reserved = [row[-1]] if reserving else []
    return LockedTask(
        task, instance, candidate_chain, chain, subject_user_id, subject_unit_id, roles_named(subject_roles), reserved
    )


def lock_instance(session: Session, instance_id: int) -> InstanceSnapshot:
    """Row lock on PostgreSQL (SELECT … FOR UPDATE); on SQLite the transaction already holds the write lock."""
    rows = fetch_rows(session.connection(), _LOCK_INSTANCE, {"instance_id": instance_id}).rows
    if not rows:
        raise NotFound(f"instance {instance_id} does not exist")
    return InstanceSnapshot(*rows[0])


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
        ids = list(connection.execute(_INSERT_TASKS, rows).scalars())
        if writes is not None and writes.find_untakeable:  # inserted already: kept only for that check
            writes.opened_tasks.extend({**row, "id": row_id} for row_id, row in zip(ids, rows, strict=True))
        return ids
    missing = len(rows) - len(writes.reserved_task_ids)
    if missing > 0:
        drawn = fetch_rows(connection, _DRAW_TASK_IDS, {"count": missing}).rows
        writes.reserved_task_ids.extend(row[0] for row in drawn)
    ids = writes.reserved_task_ids[: len(rows)]
    del writes.reserved_task_ids[: len(rows)]
    writes.opened_tasks.extend({**row, "id": row_id} for row_id, row in zip(ids, rows, strict=True))
    return ids


# The instance UPDATE, one statement per shape: which columns change, on PostgreSQL which CTEs ride along (and with
# which columns), and whether the open tasks come back. A handful of shapes exist; each is built and compiled once.
_saves: dict[tuple[Any, ...], Executable] = {}

_OPEN_TASKS = (
    select(*_OPEN_TASK_COLUMNS)
    .where(_tasks.c.instance_id == bindparam("instance_id"), _tasks.c.status == TaskStatus.OPEN)
    .order_by(_tasks.c.id)
)


def _untakeable_opened() -> Any:
    """PostgreSQL: [[id, unit name], …] of the rows in `v_opened` that wait for a role no active user holds in
    their unit or a unit above it (`nobody_can_take`), read from the parameter, not the table:
    every part of one statement sees the table as it was before the statement's own inserts."""
    rows = func.json_to_recordset(sql_cast(bindparam("v_opened", type_=Text), JSON))
    opened = rows.table_valued(
        column("id", Integer),
        column("candidate_role", _tasks.c.candidate_role.type),
        column("candidate_unit_id", Integer),
        column("assignee_id", Integer),
        column("assignment_problem", Text),
    ).render_derived(name="untakeable_opened", with_types=True)
    unit = _units.alias("untakeable_unit")
    # The unit and those above it (OrgUnit.path holds the ancestors): looked up by the index on unit_id.
    chain = func.array_append(
        sql_cast(func.string_to_array(func.btrim(unit.c.path, "/"), "/"), ARRAY(Integer)), unit.c.id
    )
    holder = (
        select(_roles.c.id)
        .join(_users, _users.c.id == _roles.c.user_id)
        .where(_users.c.is_active, _roles.c.role == opened.c.candidate_role, _roles.c.unit_id == any_(chain))
    )
    return (
        select(func.json_agg(func.json_build_array(opened.c.id, unit.c.name)))
        .select_from(opened.join(unit, unit.c.id == opened.c.candidate_unit_id))
        .where(
            opened.c.assignee_id.is_(None),
            opened.c.assignment_problem.is_(None),
            opened.c.candidate_role.is_not(None),
            ~exists(holder),
        )
        .scalar_subquery()
    )


def _role_holder(unit_id: Any, unit_path: Any) -> Any:
    """An active user holding the task's candidate role in `unit` or a unit above it (a role covers the units below)."""
    return (
        select(_roles.c.id)
        .join(_users, _users.c.id == _roles.c.user_id)
        .where(
            _users.c.is_active,
            _roles.c.role == _tasks.c.candidate_role,
            (_roles.c.unit_id == unit_id) | unit_path.like("%/" + sql_cast(_roles.c.unit_id, String) + "/%"),
        )
    )


def nobody_can_take(unit_id: Any, unit_path: Any) -> Any:
    """An open group task whose role no active user holds where it waits (`unit_id`, `unit_path`: the columns of the
    org_units row joined as the task's candidate unit): no inbox offers it, though the assignment itself raised no
    problem."""
    return and_(
        _tasks.c.assignee_id.is_(None),
        _tasks.c.assignment_problem.is_(None),
        _tasks.c.candidate_role.is_not(None),
        _tasks.c.candidate_unit_id.is_not(None),
        ~_role_holder(unit_id, unit_path).exists(),
    )


def _untakeable_elsewhere(connection: Connection, rows: Sequence[dict[str, Any]]) -> dict[int, str]:
    """SQLite (rows already inserted): the same answer as `_untakeable_opened`, read from the table."""
    unit = _units.alias("untakeable_unit")
    found = connection.execute(
        select(_tasks.c.id, unit.c.name)
        .join(unit, unit.c.id == _tasks.c.candidate_unit_id)
        .where(_tasks.c.id.in_([row["id"] for row in rows]), nobody_can_take(unit.c.id, unit.c.path))
    )
    return dict(found.tuples().all())


# Columns holding JSON (the summary, decision 0144): their value is sent as its JSON text, since a prepared call
# quotes the arguments itself and runs no SQLAlchemy bind processing (workflows.prepared).
_JSON_COLUMNS = frozenset(column.name for column in _instances.columns if isinstance(column.type, JSON))


def _new_value(name: str, postgres: bool) -> Any:
    if name not in _JSON_COLUMNS:
        return bindparam(f"v_new_{name}", type_=_instances.c[name].type)
    text = bindparam(f"v_new_{name}", type_=Text)
    # SQLite keeps JSON as its text (a CAST to JSON there would be a cast to a number).
    return sql_cast(text, JSON) if postgres else text


def _save_statement(
    columns: tuple[str, ...],
    ctes: tuple[tuple[str, tuple[str, ...]], ...],
    read_open_tasks: bool = False,
    find_untakeable: bool = False,
    postgres: bool = True,
) -> Executable:
    key = (columns, ctes, read_open_tasks, find_untakeable, postgres)
    cached = _saves.get(key)
    if cached is not None:
        return cached
    saved = (
        update(_instances)
        .where(_instances.c.id == bindparam("v_instance_id"))
        .where(_instances.c.lock_version == bindparam("v_old_version"))
        .values({name: _new_value(name, postgres) for name in columns})
    )
    parts: list[CTE] = []
    for name, names in ctes:
        writing = (
            _CLOSE_TASK
            if name == "closed"
            else _insert_from_json(_tasks if name == "opened" else _audit_events, name, names)
        )
        parts.append(writing.cte(f"advance_{name}"))
    if read_open_tasks:
        # The UPDATE becomes a CTE too, and the statement answers with the tasks that were open before it and are
        # still open: every part of one statement reads the table as it was when the statement began, so the task
        # being closed is left out by its id and the rows being opened are added by the caller, who has them.
        updated = saved.returning(_instances.c.id).cte("advance_saved")
        still_open = [_tasks.c.instance_id == updated.c.id, _tasks.c.status == TaskStatus.OPEN]
        if any(name == "closed" for name, _names in ctes):
            still_open.append(_tasks.c.id != bindparam("v_close_task_id"))
        answered = [updated.c.id, *_OPEN_TASK_COLUMNS]
        if find_untakeable:
            answered.append(_untakeable_opened())
        answer = select(*answered).select_from(updated.outerjoin(_tasks, and_(*still_open)))
        statement: Executable = answer.add_cte(*parts, updated)
    else:
        if find_untakeable:
            saved = saved.returning(_instances.c.id, _untakeable_opened())
        statement = saved.add_cte(*parts) if parts else saved
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
    params: dict[str, Any] = {
        f"v_new_{name}": (
            json.dumps(value, ensure_ascii=False) if name in _JSON_COLUMNS and value is not None else value
        )
        for name, value in values.items()
    }
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
    reading_back = writes.read_open_tasks and _is_postgres(connection)
    # Only when steps were opened; on PostgreSQL answered by the write itself.
    asking = writes.find_untakeable and bool(writes.opened_tasks) and _is_postgres(connection)
    statement = _save_statement(tuple(sorted(values)), tuple(ctes), reading_back, asking, _is_postgres(connection))
    result = fetch_rows(connection, statement, params)
    untakeable_units: dict[int, str] = {}
    if asking and result.rows:
        untakeable_units = {task_id: name for task_id, name in result.rows[0][-1] or ()}
    if reading_back:
        answered = result.rows
        saved = bool(answered)
        width = len(_OPEN_TASK_FIELDS) + 1
        still_open = [OpenTask(*row[1:width]) for row in answered if row[1] is not None]
    elif asking:
        saved = bool(result.rows)
    else:
        saved = result.rowcount == 1
    if not saved:
        raise Conflict("the procedure was changed by someone else meanwhile; reload and try again")
    for name, value in changes.items():
        setattr(instance, name, value)
    instance.lock_version = new_version
    if reading_back:
        opened = [OpenTask(*(row[name] for name in _OPEN_TASK_FIELDS)) for row in writes.opened_tasks]
        instance.open_tasks = sorted(still_open + opened, key=lambda task: task.id)
    elif writes.read_open_tasks:
        instance.open_tasks = [OpenTask(*row) for row in connection.execute(_OPEN_TASKS, {"instance_id": instance.id})]
    if writes.find_untakeable:
        if writes.opened_tasks and not asking:
            untakeable_units = _untakeable_elsewhere(connection, writes.opened_tasks)
        instance.untakeable = [
            UntakeableTask(row["name"], row["candidate_role"], untakeable_units[row["id"]])
            for row in writes.opened_tasks
            if row["id"] in untakeable_units
        ]
    _expire_orm_copy(session, instance.id)


def update_task(session: Session, task_id: int, **values: Any) -> None:
    session.connection().execute(update(_tasks).where(_tasks.c.id == task_id).values(**values))


def _expire_orm_copy(session: Session, instance_id: int) -> None:
    """If the caller's session also holds the instance as an ORM object, make it re-read what we just wrote."""
    # The identity key spelled out: Session.identity_key looks up the mapper on each call, on every advance.
    key = (ProcessInstance, (instance_id,), None)
    if key in session.identity_map:
        session.expire(session.identity_map[key])
