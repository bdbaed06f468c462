"""The inbox: what a person has to do. One indexed query on human_tasks per page, never a workflow load."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, false, func, select
from sqlalchemy.orm import Session, aliased

from workflows.access import group_task_condition, group_task_condition_bound, in_subtree, instance_scope_condition
from workflows.clock import utcnow_naive
from workflows.evaluation import PROCESS_ID as EVALUATION_PROCESS_ID
from workflows.evaluation import month_of_key
from workflows.models import HumanTask, ProcessInstance
from workflows.prepared import server_prepared
from workflows.query_args import MAX_ID, parse_id, reference_condition
from workflows.registry.models import Cadre, OrgUnit, User
from workflows.states import InstanceStatus, TaskStatus

SCOPES = ("mine", "group", "watching")
SORTS = {"due": "due", "opened": "opened", "process": "process", "subject": "subject"}
DUE_SOON = timedelta(days=2)
PER_PAGE = 25


@dataclass
class InboxFilters:
    scope: str = "mine"
    process_id: str | None = None
    task_key: str | None = None
    unit_id: int | None = None
    search: str | None = None  # subject name, or an instance reference such as "sample_approval#12" or "#12"
    due: str | None = None  # "overdue" | "soon"
    sort: str = "due"
    page: int = 1
    per_page: int = PER_PAGE


@dataclass
class InboxRow:
    task_id: int
    name: str
    task_key: str
    process_id: str
    process_name: str
    instance_id: int
    subject_name: str | None
    unit_name: str | None
    assignee_id: int | None
    due_dt: datetime | None
    opened_dt: datetime
    is_overdue: bool
    is_due_soon: bool
    # The task's form in its instance's version: whether the bulk approval would agree to it, without a query.
    form_filename: str | None
    version_id: int
    business_key: str | None = None
    reopened: bool = False  # done before in the same case, open again (returned for changes)
    summary: list[list[Any]] | None = None  # what the case is about: its instance's summary (decision 0144)

    @property
    def reference(self) -> str:
        return f"{self.process_id}#{self.instance_id}"

    @property
    def period(self) -> str | None:
        """The month a monthly evaluation's task is about ("2026-11"), so that the row can say which; else None."""
        return month_of_key(self.business_key) if self.process_id == EVALUATION_PROCESS_ID else None


@dataclass
class InboxPage:
    rows: list[InboxRow]
    total: int
    page: int
    per_page: int
    facets: dict[str, list[tuple[str, str, int]]] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


# Built once: a fresh alias per request made SQLAlchemy adapt every column of the query anew (~40 column objects and
# half the CPU of an inbox read, issue #9). Each statement of this module uses each alias at most once.
_CANDIDATE_UNIT = aliased(OrgUnit, name="candidate_unit")
_SUBJECT = aliased(Cadre, name="subject")
_UNIT = aliased(OrgUnit, name="task_unit")
_EARLIER = aliased(HumanTask, name="earlier")


# The group tab: tasks nobody holds yet that the person's roles let them claim.
_UNCLAIMED = HumanTask.assignee_id.is_(None)


def _scope_condition(user: User, scope: str, candidate_unit: Any) -> ColumnElement[bool]:
    if scope == "group":
        return and_(_UNCLAIMED, group_task_condition(user, candidate_unit))
    return HumanTask.assignee_id == user.id


# Whether the step was done before in the same case and is open again: a self-assessment returned for changes. The
# person sees at a glance that it is not new (found by a new user's walk); one indexed probe per row of the page.
REOPENED = (
    select(_EARLIER.id)
    .where(
        _EARLIER.instance_id == HumanTask.instance_id,
        _EARLIER.status == TaskStatus.COMPLETED,
        _EARLIER.task_key == HumanTask.task_key,
    )
    .exists()
)

_TASK_ROWS = (
    select(
        HumanTask.id,
        HumanTask.name,
        HumanTask.task_key,
        HumanTask.process_id,
        HumanTask.process_name,
        HumanTask.instance_id,
        _SUBJECT.full_name,
        _UNIT.name,
        HumanTask.assignee_id,
        HumanTask.due_dt,
        HumanTask.opened_dt,
        HumanTask.form_filename,
        ProcessInstance.process_version_id,
        ProcessInstance.business_key,
        REOPENED,
        ProcessInstance.summary,
    )
    .outerjoin(_CANDIDATE_UNIT, HumanTask.candidate_unit_id == _CANDIDATE_UNIT.id)
    .outerjoin(_SUBJECT, HumanTask.subject_cadre_id == _SUBJECT.id)
    .outerjoin(_UNIT, HumanTask.unit_id == _UNIT.id)
    # Outer, although every task has its instance: a count that reads none of its columns leaves the join out.
    .outerjoin(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
    .where(HumanTask.status == TaskStatus.OPEN)
)
_OWN = HumanTask.assignee_id == bindparam("user_id")


def _task_query(user: User, filters: InboxFilters, now: datetime) -> tuple[Select[Any], Any]:
    query = _TASK_ROWS.where(_scope_condition(user, filters.scope, _CANDIDATE_UNIT))
    if filters.process_id:
        query = query.where(HumanTask.process_id == filters.process_id)
    if filters.task_key:
        query = query.where(HumanTask.task_key == filters.task_key)
    if filters.unit_id:
        if parse_id(filters.unit_id) is None:
            return query.where(false()), _SUBJECT  # no unit has this id; the database is not asked about it
        query = query.where(HumanTask.unit_id.in_(select(OrgUnit.id).where(in_subtree(OrgUnit, filters.unit_id))))
    if filters.due == "overdue":
        query = query.where(HumanTask.due_dt < now)
    elif filters.due == "soon":
        query = query.where(HumanTask.due_dt >= now, HumanTask.due_dt < now + DUE_SOON)
    if filters.search:
        query = query.where(_search_condition(filters.search, _SUBJECT))
    return query, _SUBJECT


@cache
def _own_tasks_page(sort: str) -> Select[Any]:
    """A page of a person's own tasks without filters (the inbox as it opens), one statement per order, built once."""
    # Not prepared on the server: its best plan depends on whose inbox it is (an index walk for thousands of tasks).
    return _order(_TASK_ROWS.where(_OWN), sort, _SUBJECT).limit(bindparam("limit")).offset(bindparam("offset"))


def _search_condition(text: str, subject: Any) -> ColumnElement[bool]:
    text = text.strip()
    reference = reference_condition(text, HumanTask.instance_id, HumanTask.process_id)
    if reference is not None:
        return reference
    return func.lower(subject.full_name).contains(text.lower(), autoescape=True)


def _order(query: Select[Any], sort: str, subject: Any) -> Select[Any]:
    if sort == "opened":
        return query.order_by(HumanTask.opened_dt.desc(), HumanTask.id.desc())
    if sort == "process":
        return query.order_by(HumanTask.process_name, HumanTask.name, HumanTask.id)
    if sort == "subject":
        return query.order_by(subject.full_name, HumanTask.id)
    # Due first: tasks with a deadline, soonest first; then the rest, oldest first.
    return query.order_by(HumanTask.due_dt.is_(None), HumanTask.due_dt, HumanTask.opened_dt, HumanTask.id)


def _is_unfiltered(filters: InboxFilters) -> bool:
    return not (filters.process_id or filters.task_key or filters.unit_id or filters.search or filters.due)


def inbox_page(session: Session, user: User, filters: InboxFilters, known_total: int | None = None) -> InboxPage:
    """One page of tasks. `known_total`: the caller already counted this scope (e.g. from the facets), which
    saves the COUNT over every task in scope — the most expensive part for a supervisor with thousands."""
    now = utcnow_naive()
    page = min(max(1, filters.page), MAX_ID)
    window = {"limit": filters.per_page, "offset": (page - 1) * filters.per_page}
    if known_total is not None and _is_unfiltered(filters) and filters.scope == "mine":
        total = known_total
        rows = session.execute(_own_tasks_page(filters.sort), {"user_id": user.id, **window}).all()
    else:
        query, subject = _task_query(user, filters, now)
        if known_total is not None and _is_unfiltered(filters):
            total = known_total
        else:
            total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
        rows = session.execute(
            _order(query, filters.sort, subject).limit(bindparam("limit")).offset(bindparam("offset")), window
        ).all()
    return InboxPage(
        rows=[
            InboxRow(
                task_id=row[0],
                name=row[1],
                task_key=row[2],
                process_id=row[3],
                process_name=row[4],
                instance_id=row[5],
                subject_name=row[6],
                unit_name=row[7],
                assignee_id=row[8],
                due_dt=row[9],
                opened_dt=row[10],
                is_overdue=row[9] is not None and row[9] < now,
                is_due_soon=row[9] is not None and now <= row[9] < now + DUE_SOON,
                form_filename=row[11],
                version_id=row[12],
                business_key=row[13],
                reopened=bool(row[14]),
                summary=row[15],
            )
            for row in rows
        ],
        total=total,
        page=page,
        per_page=filters.per_page,
    )


def inbox_task_ids(user: User, filters: InboxFilters) -> Select[Any]:
    """The ids of every task the inbox lists for these filters, in its order, unpaged (exports read them all)."""
    query, subject = _task_query(user, filters, utcnow_naive())
    return _order(query.with_only_columns(HumanTask.id), filters.sort, subject)


_FACET_COLUMNS = (HumanTask.process_id, HumanTask.process_name, HumanTask.task_key, HumanTask.name)
_FACETS = (
    select(*_FACET_COLUMNS, func.count())
    .outerjoin(_CANDIDATE_UNIT, HumanTask.candidate_unit_id == _CANDIDATE_UNIT.id)
    .where(HumanTask.status == TaskStatus.OPEN)
    .group_by(*_FACET_COLUMNS)
    .order_by(HumanTask.process_name, HumanTask.name)
)
# The statements every inbox view repeats with only the person changing: prepared on the server (workflows/prepared.py).
_OWN_FACETS = server_prepared(_FACETS.where(_OWN))
# The number of open tasks assigned to the person bound as `user_id`: the menu embeds it (decision 0030).
OWN_COUNT = select(func.count()).where(HumanTask.status == TaskStatus.OPEN, _OWN)


def inbox_facets(session: Session, user: User, scope: str) -> list[tuple[str, str, str, str, int]]:
    """(process_id, process_name, task_key, step name, count) of the open tasks in this scope, for filters."""
    query = _OWN_FACETS if scope == "mine" else _FACETS.where(_scope_condition(user, scope, _CANDIDATE_UNIT))
    return [(row[0], row[1], row[2], row[3], row[4]) for row in session.execute(query, {"user_id": user.id})]


@dataclass
class StepCount:
    task_key: str
    name: str
    count: int


@dataclass
class ProcedureCount:
    """One procedure of the inbox's summary: its open tasks in the scope, in all and per step."""

    process_id: str
    name: str
    count: int = 0
    steps: list[StepCount] = field(default_factory=list)


def facet_summary(facets: list[tuple[str, str, str, str, int]]) -> list[ProcedureCount]:
    """The step counts of `inbox_facets` grouped by procedure, in their order (no statement of its own). A procedure
    renamed between versions is one entry, under the first name listed."""
    procedures: dict[str, ProcedureCount] = {}
    for process_id, process_name, task_key, step_name, count in facets:
        procedure = procedures.setdefault(process_id, ProcedureCount(process_id, process_name))
        procedure.count += count
        for step in procedure.steps:
            if step.task_key == task_key:  # the same step under another name in another version
                step.count += count
                break
        else:
            procedure.steps.append(StepCount(task_key, step_name, count))
    return list(procedures.values())


def group_task_labels(session: Session, user: User, task_ids: list[int]) -> dict[int, tuple[int, str]]:
    """(instance id, step name) of those tasks whose role and unit make this person a candidate for them, claimed or
    not, open or not: how a refused claim is named to them. Any other task stays unnamed (nothing about it is told)."""
    if not task_ids:
        return {}
    rows = session.execute(
        select(HumanTask.id, HumanTask.instance_id, HumanTask.name)
        .outerjoin(_CANDIDATE_UNIT, HumanTask.candidate_unit_id == _CANDIDATE_UNIT.id)
        .where(HumanTask.id.in_(task_ids), group_task_condition(user, _CANDIDATE_UNIT, including_own_cases=True))
    )
    return {row[0]: (row[1], row[2]) for row in rows}


def group_count_query_bound(roles: int) -> Select[Any]:
    """The number of open, unclaimed tasks the roles of someone holding `roles` assignments make them a candidate
    for; the roles and units are bound parameters (`workflows.access.group_task_parameters`)."""
    return (
        select(func.count())
        .select_from(HumanTask)
        .outerjoin(_CANDIDATE_UNIT, HumanTask.candidate_unit_id == _CANDIDATE_UNIT.id)
        .where(
            HumanTask.status == TaskStatus.OPEN,
            _UNCLAIMED,
            group_task_condition_bound(roles, _CANDIDATE_UNIT),
        )
    )


def watched_instances(session: Session, user: User, page: int = 1, per_page: int = PER_PAGE) -> tuple[list[Any], int]:
    """Running procedures this user started (e.g. a personnel officer following an appointment)."""
    query = select(ProcessInstance).where(
        ProcessInstance.started_by_id == user.id, ProcessInstance.status == InstanceStatus.RUNNING
    )
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = min(max(1, page), MAX_ID)
    rows = list(
        session.scalars(query.order_by(ProcessInstance.started_dt.desc()).limit(per_page).offset((page - 1) * per_page))
    )
    return rows, total


def visible_instances_query(user: User) -> Select[Any]:
    unit = aliased(OrgUnit)
    return (
        select(ProcessInstance)
        .outerjoin(unit, ProcessInstance.unit_id == unit.id)
        .where(instance_scope_condition(user, unit))
    )
