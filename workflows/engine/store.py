"""Reading, locking and writing instance and task rows on the hot path, in SQL rather than through the ORM unit
of work: a task completion is ~7 statements and most of its cost was ORM bookkeeping (docs/decisions/0003).

Services hand out `InstanceSnapshot`s — plain values, safe to use after the transaction — never live ORM rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from workflows.assignment import unit_chain
from workflows.errors import Conflict, NotFound
from workflows.models import HumanTask, ProcessInstance
from workflows.registry.models import OrgUnit, User

_instances = cast(Table, ProcessInstance.__table__)
_tasks = cast(Table, HumanTask.__table__)
_units = cast(Table, OrgUnit.__table__)
_users = cast(Table, User.__table__)


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


_INSTANCE_COLUMNS = [_instances.c[f.name] for f in fields(InstanceSnapshot)]
_TASK_COLUMNS = [_tasks.c[f.name] for f in fields(TaskSnapshot)]
_N_TASK = len(_TASK_COLUMNS)
_N_INSTANCE = len(_INSTANCE_COLUMNS)

# Both rows are locked: on PostgreSQL a waiter then re-reads both once the holder commits
# (a row read through a join but not locked would come back as it was before the wait).
_LOCK_TASK = (
    select(*_TASK_COLUMNS, *_INSTANCE_COLUMNS, _units.c.path, _users.c.id)
    .join_from(_tasks, _instances, _tasks.c.instance_id == _instances.c.id)
    .outerjoin(_units, _tasks.c.candidate_unit_id == _units.c.id)
    .outerjoin(_users, (_users.c.cadre_id == _instances.c.subject_cadre_id) & _users.c.is_active)
    .with_for_update(of=[_tasks, _instances])
)
_LOCK_INSTANCE = select(*_INSTANCE_COLUMNS).with_for_update()


@dataclass
class LockedTask:
    task: TaskSnapshot
    instance: InstanceSnapshot
    candidate_unit_chain: list[int]
    subject_user_id: int | None  # read in the same statement: the next task often belongs to the subject


def lock_task(session: Session, task_id: int) -> LockedTask:
    """One statement: the task, its instance (both locked) and the ancestry of the task's candidate unit."""
    row = session.connection().execute(_LOCK_TASK.where(_tasks.c.id == task_id)).one_or_none()
    if row is None:
        raise NotFound(f"task {task_id} does not exist")
    task = TaskSnapshot(*row[:_N_TASK])
    instance = InstanceSnapshot(*row[_N_TASK : _N_TASK + _N_INSTANCE])
    path, subject_user_id = row[-2], row[-1]
    chain = unit_chain(path, task.candidate_unit_id) if task.candidate_unit_id is not None and path else []
    return LockedTask(task, instance, chain, subject_user_id)


def lock_instance(session: Session, instance_id: int) -> InstanceSnapshot:
    """Row lock on PostgreSQL (SELECT … FOR UPDATE); on SQLite the transaction already holds the write lock."""
    row = session.connection().execute(_LOCK_INSTANCE.where(_instances.c.id == instance_id)).one_or_none()
    if row is None:
        raise NotFound(f"instance {instance_id} does not exist")
    return InstanceSnapshot(*row)


def insert_instance(session: Session, values: dict[str, Any]) -> InstanceSnapshot:
    row = session.connection().execute(insert(_instances).values(**values).returning(*_INSTANCE_COLUMNS)).one()
    return InstanceSnapshot(*row)


def save_instance(session: Session, instance: InstanceSnapshot, *, also: Sequence[Any] = (), **changes: Any) -> None:
    """Write changes with an optimistic version check; the snapshot is updated to match.

    `also`: other INSERT/UPDATE statements of the same advance (audit rows, the completed task). On PostgreSQL
    they ride along as data-modifying CTEs of this UPDATE — one round trip instead of three; elsewhere they run
    just before it. Either way they share the transaction.
    """
    new_version = instance.lock_version + 1
    statement = (
        update(_instances)
        .where(_instances.c.id == instance.id, _instances.c.lock_version == instance.lock_version)
        .values(lock_version=new_version, **changes)
    )
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        for number, other in enumerate(also):
            statement = statement.add_cte(other.cte(f"advance_{number}"))
    else:
        for other in also:
            connection.execute(other)
    result = connection.execute(statement)
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
