"""Reads the API needs that `workflows` does not offer (yet); each docstring says what is missing there.

Scope is never decided here: the task list is filtered with `workflows.access.group_task_condition`, the same
predicate as the inbox, the list of instances with `workflows.instances.instance_page_ids`, the web list's own, and
every other read is preceded by a `can_view*` check in the view.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session, aliased

from workflows.access import group_task_condition
from workflows.inbox import REOPENED
from workflows.instances import InstanceFilters, count_instances, instance_page_ids
from workflows.models import AuditEvent, HumanTask, ProcessInstance, ProcessVersion
from workflows.prepared import run_prepared
from workflows.registry.models import Cadre, OrgUnit, User
from workflows.states import Role, TaskStatus


@dataclass(frozen=True)
class TaskQuery:
    scope: str  # "mine" | "group"
    process_id: str | None
    overdue: bool | None  # None: both
    page: int
    per_page: int


_candidate_unit = aliased(OrgUnit, name="candidate_unit")
_subject = aliased(Cadre, name="subject")
_unit = aliased(OrgUnit, name="task_unit")
_starter = aliased(User, name="started_by")
# Built once (fresh aliases per request made SQLAlchemy adapt every column anew: most of an inbox read's CPU). The
# window count rides in the page's statement: one round trip instead of a COUNT and a SELECT.
_OPEN_TASKS = (
    select(HumanTask, _subject, _unit, REOPENED.label("reopened"), func.count().over().label("total"))
    .outerjoin(_candidate_unit, HumanTask.candidate_unit_id == _candidate_unit.id)
    .outerjoin(_subject, HumanTask.subject_cadre_id == _subject.id)
    .outerjoin(_unit, HumanTask.unit_id == _unit.id)
    .where(HumanTask.status == TaskStatus.OPEN)
)
# The inbox's default order: deadlines first, soonest first; then the rest, oldest first.
_INBOX_ORDER = (HumanTask.due_dt.is_(None), HumanTask.due_dt, HumanTask.opened_dt, HumanTask.id)


def _filtered(statement: Select[Any], query: TaskQuery, in_scope: ColumnElement[bool]) -> Select[Any]:
    statement = statement.where(in_scope)
    if query.process_id:
        statement = statement.where(HumanTask.process_id == bindparam("process_id"))
    if query.overdue is True:
        statement = statement.where(HumanTask.due_dt < bindparam("now"))
    elif query.overdue is False:
        statement = statement.where(or_(HumanTask.due_dt.is_(None), HumanTask.due_dt >= bindparam("now")))
    return statement


@cache
def _own_tasks_page(has_process: bool, overdue: bool | None) -> Select[Any]:
    """The page of a person's own tasks, one statement per combination of filters, each built once."""
    shape = TaskQuery("mine", "x" if has_process else None, overdue, 1, 1)
    return (
        _filtered(_OPEN_TASKS, shape, HumanTask.assignee_id == bindparam("user_id"))
        .order_by(*_INBOX_ORDER)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )


def task_page(
    session: Session, user: User, query: TaskQuery, now: datetime
) -> tuple[list[tuple[HumanTask, Cadre | None, OrgUnit | None, bool]], int]:
    """Open tasks in the caller's inbox. `workflows.inbox.inbox_page` cannot filter on "not overdue" and does not
    return cadre and unit codes, which API clients need to refer back to them."""
    params: dict[str, Any] = {
        "user_id": user.id,
        "process_id": query.process_id,
        "now": now,
        "limit": query.per_page,
        "offset": (query.page - 1) * query.per_page,
    }
    if query.scope == "group":
        # The condition depends on the caller's roles: built per request.
        in_scope = and_(HumanTask.assignee_id.is_(None), group_task_condition(user, _candidate_unit))
        statement = (
            _filtered(_OPEN_TASKS, query, in_scope)
            .order_by(*_INBOX_ORDER)
            .limit(bindparam("limit"))
            .offset(bindparam("offset"))
        )
    else:
        statement = _own_tasks_page(bool(query.process_id), query.overdue)
    rows = session.execute(statement, params).all()
    if rows:
        total = rows[0].total
    elif query.page == 1:
        total = 0
    else:  # past the last page: the window count came with no row
        counted = statement.with_only_columns(func.count()).order_by(None).limit(None).offset(None)
        total = session.scalar(counted, params) or 0
    return [(row[0], row[1], row[2], bool(row.reopened)) for row in rows], total


def open_tasks(session: Session, instance_id: int) -> list[HumanTask]:
    """The rows themselves: `workflows.instances.open_tasks` shapes them for the instance page."""
    return list(
        session.scalars(
            select(HumanTask)
            .where(HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.OPEN)
            .order_by(HumanTask.id)
        )
    )


# An instance as the API shows it — with its version, subject, unit, who started it and its open tasks: one row per
# open task, one row with no task when none is open. Nothing is loaded as ORM objects.
_INSTANCE_ANSWER_COLUMNS = (
    ProcessInstance.id,
    ProcessInstance.process_id,
    ProcessInstance.status,
    ProcessInstance.started_dt,
    ProcessInstance.ended_dt,
    ProcessInstance.cancel_reason,
    ProcessVersion.name.label("process_name"),
    ProcessVersion.version,
    _subject.code.label("subject_code"),
    _subject.full_name.label("subject_name"),
    _unit.code.label("unit_code"),
    _unit.name.label("unit_name"),
    _starter.username.label("started_by"),
    HumanTask.id.label("task_id"),
    HumanTask.name.label("task_name"),
    HumanTask.task_key,
    HumanTask.process_id.label("task_process_id"),
    HumanTask.process_name.label("task_process_name"),
    HumanTask.due_dt,
    HumanTask.status.label("task_status"),
    HumanTask.assignee_id,
)


def _with_labels_and_open_tasks(statement: Select[Any]) -> Select[Any]:
    """`statement` (whose FROM has process_instances) joined to what `_INSTANCE_ANSWER_COLUMNS` reads."""
    return (
        statement.join(ProcessVersion, ProcessVersion.id == ProcessInstance.process_version_id)
        .outerjoin(_subject, _subject.id == ProcessInstance.subject_cadre_id)
        .outerjoin(_unit, _unit.id == ProcessInstance.unit_id)
        .outerjoin(_starter, _starter.id == ProcessInstance.started_by_id)
        .outerjoin(HumanTask, and_(HumanTask.instance_id == ProcessInstance.id, HumanTask.status == TaskStatus.OPEN))
    )


# One instance, in one statement built once: a completion answers with it from inside its own transaction.
_INSTANCE_WITH_OPEN_TASKS = (
    _with_labels_and_open_tasks(select(*_INSTANCE_ANSWER_COLUMNS))
    .where(ProcessInstance.id == bindparam("instance_id"))
    .order_by(HumanTask.id)
)


def instance_with_open_tasks(session: Session, instance_id: int) -> list[Row[Any]]:
    """Rows for `payloads.instance_reply`; the caller has checked the instance is visible (or just wrote it).

    Every completion answers with it, so it goes past the Session (`run_prepared`): the Session's flush comes first,
    which is all the Session would have added."""
    session.flush()
    return list(run_prepared(session.connection(), _INSTANCE_WITH_OPEN_TASKS, {"instance_id": instance_id}).all())


def instance_list_page(session: Session, user: User, filters: InstanceFilters) -> tuple[list[list[Row[Any]]], int]:
    """One page of the list of procedures as the API answers it — the web list's scope, filters and order
    (`workflows.instances.instance_page_ids`) — each instance's rows for `payloads.instance_reply`, and the list's
    total. One statement for the page, whatever its length: the page's ids, its total and each instance's labels and
    open tasks come together (`workflows.instances.instance_page` reads ORM objects and its steps in two more)."""
    listed = instance_page_ids(user, filters)
    statement = _with_labels_and_open_tasks(
        select(*_INSTANCE_ANSWER_COLUMNS, listed.c.total)
        .select_from(listed)
        .join(ProcessInstance, ProcessInstance.id == listed.c.id)
    ).order_by(listed.c.position, HumanTask.id)
    by_instance: dict[int, list[Row[Any]]] = {}
    total = 0
    for row in session.execute(statement):
        by_instance.setdefault(row.id, []).append(row)
        total = row.total
    if not by_instance and filters.page > 1:  # past the last page: the window count came with no row
        total = count_instances(session, user, filters)
    return list(by_instance.values()), total


def instance_events(session: Session, chain_key: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.chain_key == chain_key).order_by(AuditEvent.seq)))


def latest_versions(session: Session) -> list[tuple[ProcessVersion, list[int]]]:
    """The newest version of each deployed process with all its version numbers, oldest first
    (`workflows.instances.startable_processes` gives the newest only)."""
    by_process: dict[str, tuple[ProcessVersion, list[int]]] = {}
    for version in session.scalars(select(ProcessVersion).order_by(ProcessVersion.process_id, ProcessVersion.version)):
        numbers = by_process[version.process_id][1] if version.process_id in by_process else []
        numbers.append(version.version)
        by_process[version.process_id] = (version, numbers)
    return list(by_process.values())


def is_deployed(session: Session, process_id: str) -> bool:
    return session.scalar(select(ProcessVersion.id).where(ProcessVersion.process_id == process_id).limit(1)) is not None


def can_verify_audit(user: User) -> bool:
    """Recomputing every chain shows the whole province's activity: auditors and administrators only."""
    return any(a.role in (Role.AUDITOR, Role.ADMIN) for a in user.role_assignments)
