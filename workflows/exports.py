"""The lists people export besides cadre records — tasks, evaluation results, audit events — with Vietnamese headers,
and the scoped, filtered queries behind their pages (the page and its .xlsx/.csv buttons read the same query).

Records are generated, never listed whole: a province's audit log holds hundreds of thousands of events, and the
writers in `registry/tabular.py` send them on as they are read. A query given `roots=None` is unscoped (the CLI,
run by whoever administers the server); pages always pass the units the signed-in person may see.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from itertools import islice
from typing import Any

from sqlalchemy import ColumnElement, Select, String, cast, false, func, literal, or_, select, true
from sqlalchemy.orm import Session, aliased

from workflows.access import in_subtree, role_units
from workflows.ballots import BALLOT_EVENTS
from workflows.db import folded
from workflows.errors import Invalid, Problem
from workflows.inbox import SCOPES as INBOX_SCOPES
from workflows.inbox import SORTS as INBOX_SORTS
from workflows.inbox import InboxFilters, inbox_task_ids
from workflows.inspection.notes import NOTE_EVENT
from workflows.instances import SORTS as INSTANCE_SORTS
from workflows.instances import STATUSES as INSTANCE_STATUSES
from workflows.instances import InstanceFilters, day_start_utc, parse_day
from workflows.models import AuditEvent, HumanTask, ProcessInstance, ProcessVersion
from workflows.query_args import page_arg, page_within, parse_id
from workflows.registry.accounts import UserEvent
from workflows.registry.importing import cadre_rows
from workflows.registry.models import Cadre, EvaluationGrade, EvaluationResult, OrgUnit, PeriodKind, User
from workflows.registry.records import PERIOD_PATTERNS, CadreEvent, period_start
from workflows.registry.tabular import Column
from workflows.registry.units import UnitEvent
from workflows.states import EventType, InstanceStatus, Role
from workflows.text import as_typed, comparable, storable

# An .xlsx file is built whole before it is sent (the zip needs its directory at the end); past this many rows the
# page asks for narrower filters or the .csv, which is streamed without a limit. Excel itself stops at 1,048,576.
XLSX_ROW_LIMIT = 100_000
# Rows read from the database per round trip while a list is exported.
BATCH = 2000

TASK_COLUMNS = [
    Column("id", "Mã công việc", "int"),
    Column("reference", "Hồ sơ quy trình", "text"),
    Column("process_name", "Quy trình", "text"),
    Column("name", "Bước", "text"),
    Column("subject", "Cán bộ", "text"),
    Column("unit", "Đơn vị", "text"),
    Column("assignee", "Người xử lý", "text"),
    Column("status", "Trạng thái", "text"),
    Column("opened", "Ngày giao", "text"),
    Column("due", "Hạn xử lý", "text"),
    Column("closed", "Ngày hoàn thành", "text"),
]

EVALUATION_COLUMNS = [
    Column("code", "Mã cán bộ", "text"),
    Column("full_name", "Họ và tên", "text"),
    Column("unit", "Đơn vị", "text"),
    Column("period_kind", "Loại kỳ", "text"),
    Column("period", "Kỳ đánh giá", "text"),
    Column("score", "Điểm", "text"),
    Column("grade", "Xếp loại", "text"),
]

AUDIT_COLUMNS = [
    Column("id", "Mã sự kiện", "int"),
    Column("chain_key", "Chuỗi", "text"),
    Column("seq", "Thứ tự", "int"),
    Column("occurred", "Thời điểm (UTC)", "text"),
    Column("actor", "Người thực hiện", "text"),
    Column("event_type", "Loại sự kiện", "text"),
    Column("payload", "Nội dung", "text"),
    Column("hash", "Mã băm", "text"),
]


def _when(value: Any) -> str | None:
    return value.strftime("%d/%m/%Y %H:%M") if value is not None else None


def _scoped(unit: Any, roots: Sequence[int] | None) -> ColumnElement[bool]:
    if roots is None:
        return true()
    return or_(*(in_subtree(unit, root) for root in roots)) if roots else false()


def count_rows(session: Session, query: Select[Any]) -> int:
    return session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


@dataclass
class ListPage:
    """One page of a list: its records (the export's dicts, plus what the page links to) and the total in scope."""

    records: list[dict[str, Any]]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _page(session: Session, query: Select[Any], page: int, per_page: int, to_record: Any) -> ListPage:
    total = count_rows(session, query)
    result = ListPage([], total, 1, per_page)
    # Past the last page shows the last page: a huge page number must not reach the database as an offset.
    result.page = page_within(page, total, per_page)
    rows = session.execute(query.limit(per_page).offset((result.page - 1) * per_page))
    result.records = [to_record(row) for row in rows]
    return result


def _stream(session: Session, query: Select[Any], to_record: Any) -> Iterator[dict[str, Any]]:
    for row in session.execute(query.execution_options(yield_per=BATCH)):
        yield to_record(row)


class _Problems:
    """Every bad filter of one request, reported together."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, problem: Problem) -> None:
        self.problems.append(problem)

    def check(self) -> None:
        if self.problems:
            raise Invalid("the filters are not valid", self.problems)


def _text_arg(args: Mapping[str, Any], name: str) -> str | None:
    value = args.get(name)
    return value.strip() or None if isinstance(value, str) else None


def _name_arg(args: Mapping[str, Any], name: str) -> str | None:
    """A code or a name as typed: spaces collapsed, composed as names are stored (NFC), without the characters no
    name holds and PostgreSQL cannot take (NUL and the other control characters)."""
    value = _text_arg(args, name)
    return (as_typed(storable(value)) or None) if value is not None else None


def _unit_arg(args: Mapping[str, Any], problems: _Problems, unit_ids: Collection[int]) -> int | None:
    raw = _text_arg(args, "unit")
    if raw is None:
        return None
    unit_id = parse_id(raw)
    if unit_id is None or unit_id not in unit_ids:
        problems.add(Problem("the unit does not exist or is outside your scope", field="unit"))
        return None
    return unit_id


def _choice_arg(args: Mapping[str, Any], problems: _Problems, name: str, allowed: Collection[str]) -> str | None:
    raw = _text_arg(args, name)
    if raw is not None and raw not in allowed:
        problems.add(Problem("not one of the allowed values", field=name))
        return None
    return raw


def _day_args(args: Mapping[str, Any], problems: _Problems) -> dict[str, date]:
    """The `from` and `to` days typed (either may be missing); an unreadable day or an end before the start is a
    problem."""
    days = {}
    for name in ("from", "to"):
        raw = _text_arg(args, name)
        if raw is None:
            continue
        try:
            days[name] = parse_day(raw)
        except ValueError:
            problems.add(Problem("Enter a date as dd/mm/yyyy, for example 02/11/2026.", field=name))
    if "from" in days and "to" in days and days["to"] < days["from"]:
        problems.add(Problem("the end date cannot be before the start date", field="to"))
    return days


def _version_arg(
    args: Mapping[str, Any], problems: _Problems, process_id: str | None, latest: int | None
) -> int | None:
    """The version asked for (a number, or "v2"), of the procedure asked for, whose `latest` version it cannot pass."""
    raw = _text_arg(args, "version")
    if raw is None:
        return None
    number = parse_id(raw.removeprefix("v").removeprefix("V"))
    if number is None:
        problems.add(Problem("Enter a version number, for example 2.", field="version"))
    elif process_id is None or latest is None:
        problems.add(Problem("Choose a procedure to filter by its version.", field="version"))
    elif number > latest:
        problems.add(
            Problem("This procedure has no version %(version)d.", field="version", message_args={"version": number})
        )
    else:
        return number
    return None


def read_instance_filters(
    args: Mapping[str, Any], zone: tzinfo, *, latest_versions: Mapping[str, int], unit_ids: Collection[int]
) -> tuple[InstanceFilters, list[Problem]]:
    """The procedure list's filters from a query string, with a problem for each that cannot be applied (the page
    answers 400 naming them, as the audit log does). The filters keep every good value, so that the form shows
    what was typed. `latest_versions`: each procedure's latest version; `unit_ids`: the units the reader may pick."""
    problems = _Problems()
    process_id = _choice_arg(args, problems, "process", latest_versions)
    days = _day_args(args, problems)
    filters = InstanceFilters(
        status=_choice_arg(args, problems, "status", INSTANCE_STATUSES),
        process_id=process_id,
        version=_version_arg(args, problems, process_id, latest_versions.get(process_id or "")),
        unit_id=_unit_arg(args, problems, unit_ids),
        search=(_text_arg(args, "q") or "")[:100] or None,
        started_from=day_start_utc(days["from"], zone) if "from" in days else None,
        # The "to" day is included: the bound is the start of the day after it.
        started_before=day_start_utc(days["to"] + timedelta(days=1), zone) if "to" in days else None,
        sort=_choice_arg(args, problems, "sort", INSTANCE_SORTS) or "newest",
        page=page_arg(args),
    )
    return filters, problems.problems


def read_inbox_filters(
    args: Mapping[str, Any], *, process_ids: Collection[str], unit_ids: Collection[int]
) -> tuple[InboxFilters, list[Problem]]:
    """The inbox's filters from a query string, with a problem for each that cannot be applied (as
    `read_instance_filters`). `process_ids`: the deployed procedures; `unit_ids`: the units the reader may pick."""
    problems = _Problems()
    filters = InboxFilters(
        scope=_choice_arg(args, problems, "scope", INBOX_SCOPES) or "mine",
        process_id=_choice_arg(args, problems, "process", process_ids),
        task_key=_text_arg(args, "step"),
        unit_id=_unit_arg(args, problems, unit_ids),
        search=(_text_arg(args, "q") or "")[:100] or None,
        due=_choice_arg(args, problems, "due", ("overdue", "soon")),
        sort=_choice_arg(args, problems, "sort", INBOX_SORTS) or "due",
        page=page_arg(args),
    )
    return filters, problems.problems


# -- cadres ---------------------------------------------------------------------------------------------------------


def cadre_records(session: Session, cadres: Select[Any], today: date) -> Iterator[dict[str, Any]]:
    """The cadre export (CADRE_EXPORT_COLUMNS: the import template's and read-only ones) of a query of cadres, read
    BATCH at a time; ages are on `today`."""
    found = session.scalars(cadres.execution_options(yield_per=BATCH))
    while batch := list(islice(found, BATCH)):
        yield from cadre_rows(session, batch, today)


# -- tasks ---------------------------------------------------------------------------------------------------------


def _task_query(condition: ColumnElement[bool] | None = None) -> Select[Any]:
    subject, unit, assignee = aliased(Cadre), aliased(OrgUnit), aliased(User)
    query = (
        select(HumanTask, subject.full_name, unit.name, assignee.username)
        .outerjoin(subject, HumanTask.subject_cadre_id == subject.id)
        .outerjoin(unit, HumanTask.unit_id == unit.id)
        .outerjoin(assignee, HumanTask.assignee_id == assignee.id)
    )
    return query.where(condition) if condition is not None else query


def _task_record(row: Any) -> dict[str, Any]:
    task, subject_name, unit_name, assignee_name = row
    return {
        "id": task.id,
        "reference": f"{task.process_id}#{task.instance_id}",
        "process_name": task.process_name,
        "name": task.name,
        "subject": subject_name,
        "unit": unit_name,
        "assignee": assignee_name or (f"{task.candidate_role}" if task.candidate_role else None),
        "status": task.status,
        "opened": _when(task.opened_dt),
        "due": _when(task.due_dt),
        "closed": _when(task.closed_dt),
    }


def task_records(session: Session, status: str | None = None) -> Iterator[dict[str, Any]]:
    """Every task (the CLI), oldest first."""
    query = _task_query(HumanTask.status == status if status else None).order_by(HumanTask.id)
    yield from _stream(session, query, _task_record)


def inbox_task_records(session: Session, user: User, filters: InboxFilters) -> Iterator[dict[str, Any]]:
    """The tasks of one inbox tab with its filters, every page of them, in the order the inbox shows them."""
    ids = session.scalars(inbox_task_ids(user, filters).execution_options(yield_per=BATCH))
    while batch := list(islice(ids, BATCH)):
        found = {row[0].id: row for row in session.execute(_task_query(HumanTask.id.in_(batch)))}
        yield from (_task_record(found[task_id]) for task_id in batch if task_id in found)


def inbox_task_count(session: Session, user: User, filters: InboxFilters) -> int:
    return count_rows(session, inbox_task_ids(user, filters))


# -- evaluation results ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvaluationFilters:
    unit_id: int | None = None  # the unit where the cadre was evaluated, and the units below it
    period_kind: str | None = None
    period: str | None = None
    grade: str | None = None


def parse_evaluation_filters(args: Mapping[str, Any], unit_ids: Collection[int]) -> EvaluationFilters:
    """Filters from a query string; raises Invalid naming each bad one. `unit_ids`: the units the person may pick."""
    problems = _Problems()
    unit_id = _unit_arg(args, problems, unit_ids)
    kind = _choice_arg(args, problems, "period_kind", {k.value for k in PeriodKind})
    period = _text_arg(args, "period")
    if period is not None:
        if kind is not None and period_start(kind, period) is None:
            problems.add(Problem("the period does not match its kind (2026-11, 2026-Q4 or 2026)", field="period"))
        elif not any(pattern.fullmatch(period) for pattern in PERIOD_PATTERNS.values()):
            problems.add(Problem("a period is written 2026-11, 2026-Q4 or 2026", field="period"))
    grade = _choice_arg(args, problems, "grade", {g.value for g in EvaluationGrade})
    problems.check()
    return EvaluationFilters(unit_id=unit_id, period_kind=kind, period=period, grade=grade)


def _evaluation_query(filters: EvaluationFilters, roots: Sequence[int] | None) -> Select[Any]:
    unit = aliased(OrgUnit)
    query = (
        select(EvaluationResult, Cadre.id, Cadre.code, Cadre.full_name, unit.name)
        .join(Cadre, EvaluationResult.cadre_id == Cadre.id)
        .join(unit, EvaluationResult.unit_id == unit.id)
        .where(_scoped(unit, roots))
    )
    if filters.unit_id is not None:
        query = query.where(in_subtree(unit, filters.unit_id))
    if filters.period_kind:
        query = query.where(EvaluationResult.period_kind == filters.period_kind)
    if filters.period:
        query = query.where(EvaluationResult.period == filters.period)
    if filters.grade:
        query = query.where(EvaluationResult.grade == filters.grade)
    return query.order_by(EvaluationResult.period.desc(), Cadre.code, EvaluationResult.period_kind)


def _evaluation_record(row: Any) -> dict[str, Any]:
    result, cadre_id, code, full_name, unit_name = row
    return {
        "cadre_id": cadre_id,
        "code": code,
        "full_name": full_name,
        "unit": unit_name,
        "period_kind": result.period_kind,
        "period": result.period,
        # Written as the officers read it (and as the annual roll-up's file writes it): 87,06, not 87.06.
        "score": None if result.score is None else f"{result.score:.2f}".replace(".", ","),
        "grade": result.grade,
    }


def evaluation_page(
    session: Session, filters: EvaluationFilters, roots: Sequence[int], *, page: int, per_page: int
) -> ListPage:
    return _page(session, _evaluation_query(filters, roots), page, per_page, _evaluation_record)


def evaluation_count(session: Session, filters: EvaluationFilters, roots: Sequence[int] | None) -> int:
    return count_rows(session, _evaluation_query(filters, roots))


def evaluation_records(
    session: Session, filters: EvaluationFilters | None = None, roots: Sequence[int] | None = None
) -> Iterator[dict[str, Any]]:
    """Results where the cadre was evaluated in `roots` (None: everywhere), latest period first."""
    yield from _stream(session, _evaluation_query(filters or EvaluationFilters(), roots), _evaluation_record)


# -- audit events ----------------------------------------------------------------------------------------------

# Auditors inspect, administrators operate; nobody else reads the audit log itself (people read the history of
# the instances and records they may see, on those pages).
AUDIT_READERS = (Role.AUDITOR, Role.ADMIN)
# What the event-type filter offers: every type the code writes.
AUDIT_EVENT_TYPES = tuple(
    sorted({*EventType, *CadreEvent, *UnitEvent, *UserEvent, *BALLOT_EVENTS, NOTE_EVENT, "demo_loaded"})
)
MAX_STEP_LENGTH = 120
MAX_SUBJECT_LENGTH = 80
CHAIN_PATTERN = re.compile(r"system|(instance|cadre|unit|user):[1-9]\d{0,9}", re.ASCII)
MAX_ACTOR_LENGTH = 80


@dataclass(frozen=True)
class AuditFilters:
    chain_key: str | None = None
    event_type: str | None = None
    actor: str | None = None  # a part of a username or full name, or "system"
    occurred_from: datetime | None = None  # naive UTC, inclusive
    occurred_before: datetime | None = None  # naive UTC, exclusive
    # Of the procedure the event belongs to (a cadre record's events match `subject` and `unit` by the cadre):
    process_id: str | None = None
    unit_id: int | None = None  # the unit or below
    subject: str | None = None  # the cadre's code
    # The task the event is about: its BPMN element id ("review_request"), or a part of its name as the pages show
    # it ("thẩm định"), in any case.
    step: str | None = None
    outcome: str | None = None  # the procedure's status: running, completed, cancelled


def parse_audit_filters(
    args: Mapping[str, Any],
    zone: tzinfo,
    *,
    process_ids: Collection[str] = (),
    unit_ids: Collection[int] = (),
) -> AuditFilters:
    """Filters from a query string; `from`/`to` are days on the reader's calendar (`zone`), both included.
    `process_ids` and `unit_ids` are what the reader may choose from (the deployed processes, their units)."""
    problems = _Problems()
    process_id = _choice_arg(args, problems, "process", process_ids)
    unit_id = _unit_arg(args, problems, unit_ids)
    subject = _name_arg(args, "subject")
    if subject is not None and len(subject) > MAX_SUBJECT_LENGTH:
        problems.add(Problem("at most 80 characters", field="subject"))
    step = _name_arg(args, "step")
    if step is not None and len(step) > MAX_STEP_LENGTH:
        problems.add(Problem("at most 120 characters", field="step"))
    outcome = _choice_arg(args, problems, "outcome", tuple(InstanceStatus))
    chain = _text_arg(args, "chain")
    if chain is not None:
        chain = chain.lower().replace(" ", "")
        number = chain.lstrip("#")
        if number.isascii() and number.isdigit():
            chain = f"instance:{number}"  # "#12", as instances are referred to everywhere else
        if not CHAIN_PATTERN.fullmatch(chain):
            problems.add(
                Problem("a chain is written system, instance:12 (or #12), cadre:5, unit:3 or user:7", field="chain")
            )
    event_type = _choice_arg(args, problems, "event_type", AUDIT_EVENT_TYPES)
    actor = _name_arg(args, "actor")
    if actor is not None and len(actor) > MAX_ACTOR_LENGTH:
        problems.add(Problem("at most 80 characters", field="actor"))
    days = _day_args(args, problems)
    problems.check()
    return AuditFilters(
        chain_key=chain,
        event_type=event_type,
        actor=actor,
        occurred_from=day_start_utc(days["from"], zone) if "from" in days else None,
        # The "to" day is included: the bound is the start of the day after it.
        occurred_before=day_start_utc(days["to"] + timedelta(days=1), zone) if "to" in days else None,
        process_id=process_id,
        unit_id=unit_id,
        subject=subject,
        step=step,
        outcome=outcome,
    )


def can_view_audit(user: User) -> bool:
    return any(role in AUDIT_READERS for role, _unit in role_units(user))


def audit_roots(session: Session, user: User) -> list[int] | None:
    """The units whose subtrees this reader inspects; None for a reader at the top of the tree (everything)."""
    roots = sorted({unit for role, unit in role_units(user) if role in AUDIT_READERS})
    if not roots:
        return []
    top = session.scalar(select(OrgUnit.id).where(OrgUnit.id.in_(roots), OrgUnit.parent_id.is_(None)).limit(1))
    return None if top is not None else roots


def audit_scope(session: Session, user: User) -> ColumnElement[bool]:
    """SQL: the events this user may read. A reader at the top of the tree (the province) reads everything,
    the system chain included; one placed lower reads the chains of the instances and cadres of their subtree."""
    roots = audit_roots(session, user)
    if roots is None:
        return true()
    if not roots:
        return false()
    unit = aliased(OrgUnit)
    instances = select(ProcessInstance.id).join(unit, ProcessInstance.unit_id == unit.id).where(_scoped(unit, roots))
    cadre_unit = aliased(OrgUnit)
    cadre_chains = (
        select(literal("cadre:") + cast(Cadre.id, String))
        .join(cadre_unit, Cadre.unit_id == cadre_unit.id)
        .where(_scoped(cadre_unit, roots))
    )
    unit_chains = select(literal("unit:") + cast(OrgUnit.id, String)).where(_scoped(OrgUnit, roots))
    return or_(
        AuditEvent.instance_id.in_(instances),
        AuditEvent.chain_key.in_(cadre_chains),
        AuditEvent.chain_key.in_(unit_chains),
    )


def _audit_query(filters: AuditFilters, scope: ColumnElement[bool]) -> Select[Any]:
    query = select(AuditEvent).where(scope)
    if filters.chain_key:
        query = query.where(AuditEvent.chain_key == filters.chain_key)
    if filters.event_type:
        query = query.where(AuditEvent.event_type == filters.event_type)
    if filters.actor:
        query = query.where(_actor_condition(filters.actor))
    if filters.occurred_from is not None:
        query = query.where(AuditEvent.occurred_dt >= filters.occurred_from)
    if filters.occurred_before is not None:
        query = query.where(AuditEvent.occurred_dt < filters.occurred_before)
    return _procedure_filters(query, filters)


def _actor_condition(typed: str) -> ColumnElement[bool]:
    """Who acted, as an inspector types it: a part of the user name or of the full name, case and Vietnamese marks
    ignored ("hoa" finds Đỗ Thị Hoa), folded as the cadre search folds names (decision 0063). The users are matched
    first (a few hundred rows), the events then by `actor_id` through its index (ix_audit_events_actor): a renamed
    person's earlier events, which keep the name they recorded, are found by the new name (decision 0086). An
    event is also found by the user name it recorded, typed whole: the system's, one whose user row is gone, and a
    renamed person's events by the name they had then."""
    wanted = comparable(as_typed(typed))
    people = select(User.id).where(
        or_(
            folded(User.username).contains(wanted, autoescape=True),
            folded(User.full_name).contains(wanted, autoescape=True),
        )
    )
    recorded = func.lower(AuditEvent.actor_name) == as_typed(typed).lower()
    return or_(AuditEvent.actor_id.in_(people), recorded)


def _procedure_filters(query: Select[Any], filters: AuditFilters) -> Select[Any]:
    instances = select(ProcessInstance.id)
    cadres = select(literal("cadre:") + cast(Cadre.id, String))
    by_instance = by_cadre = False
    if filters.process_id:
        instances = instances.where(ProcessInstance.process_id == filters.process_id)
        by_instance = True
    if filters.outcome:
        instances = instances.where(ProcessInstance.status == filters.outcome)
        by_instance = True
    if filters.unit_id is not None:
        unit = aliased(OrgUnit)
        instances = instances.join(unit, ProcessInstance.unit_id == unit.id).where(in_subtree(unit, filters.unit_id))
        cadre_unit = aliased(OrgUnit)
        cadres = cadres.join(cadre_unit, Cadre.unit_id == cadre_unit.id).where(in_subtree(cadre_unit, filters.unit_id))
        by_cadre = True
    if filters.subject:
        subject = aliased(Cadre)
        wanted = filters.subject.lower()  # the cadre's code, or full name (every cadre of that name)
        instances = instances.join(subject, ProcessInstance.subject_cadre_id == subject.id).where(
            or_(func.lower(subject.code) == wanted, func.lower(subject.full_name) == wanted)
        )
        cadres = cadres.where(or_(func.lower(Cadre.code) == wanted, func.lower(Cadre.full_name) == wanted))
        by_cadre = True
    if by_instance or by_cadre:
        # A cadre record's chain belongs to no procedure: only the unit and subject filters can select it.
        condition = AuditEvent.instance_id.in_(instances)
        query = query.where(condition if by_instance else or_(condition, AuditEvent.chain_key.in_(cadres)))
    if filters.step:
        # The name each task was opened with is on its row (what the inbox, the task page and the history showed):
        # matched in SQL, the typed text lowered as the database lowers the name (SQLite's lower() is Python's there,
        # workflows/db.py), never by loading the tasks.
        named = func.lower(HumanTask.name).contains(filters.step.lower(), autoescape=True)
        steps = select(HumanTask.id).where(or_(HumanTask.task_key == filters.step, named))
        query = query.where(AuditEvent.human_task_id.in_(steps))
    return _audit_order(query, filters)


def _audit_order(query: Select[Any], filters: AuditFilters) -> Select[Any]:
    # One chain reads in its own order; the whole log newest first.
    if filters.chain_key:
        return query.order_by(AuditEvent.seq)
    return query.order_by(AuditEvent.id.desc())


def _audit_record(row: Any) -> dict[str, Any]:
    event = row[0]
    return {
        "id": event.id,
        "chain_key": event.chain_key,
        "seq": event.seq,
        "occurred": event.occurred_dt.isoformat(),
        "occurred_dt": event.occurred_dt,
        "actor": event.actor_name,
        "actor_id": event.actor_id,
        "event_type": event.event_type,
        "payload": event.payload,
        "hash": event.hash,
        "event": event,  # for a page wording it (not a column of the file)
    }


@dataclass(frozen=True)
class AuditNames:
    """What a page of events is about and who acted, as a person reads them: namesakes told apart by their codes."""

    chains: dict[str, str]  # "instance:12" → "Đánh giá hằng tháng #12 — Nguyễn Thị Lan (CB0001)"
    actors: dict[int, str]  # user id → full name (the row shows the user name it recorded beside)


def audit_names(session: Session, records: Sequence[Mapping[str, Any]]) -> AuditNames:
    ids: dict[str, set[int]] = {"instance": set(), "cadre": set(), "unit": set(), "user": set()}
    for record in records:
        kind, _sep, key = str(record["chain_key"]).partition(":")
        if kind in ids and key.isdigit():
            ids[kind].add(int(key))
    chains: dict[str, str] = {}
    if ids["instance"]:
        rows = session.execute(
            select(ProcessInstance.id, ProcessVersion.name, Cadre.full_name, Cadre.code)
            .join(ProcessVersion, ProcessInstance.process_version_id == ProcessVersion.id)
            .outerjoin(Cadre, ProcessInstance.subject_cadre_id == Cadre.id)
            .where(ProcessInstance.id.in_(ids["instance"]))
        )
        for instance_id, process_name, full_name, code in rows:
            person = f" — {full_name} ({code})" if full_name else ""
            chains[f"instance:{instance_id}"] = f"{process_name} #{instance_id}{person}"
    if ids["cadre"]:
        rows = session.execute(select(Cadre.id, Cadre.full_name, Cadre.code).where(Cadre.id.in_(ids["cadre"])))
        chains.update({f"cadre:{cadre_id}": f"{full_name} ({code})" for cadre_id, full_name, code in rows})
    if ids["unit"]:
        rows = session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(ids["unit"])))
        chains.update({f"unit:{unit_id}": name for unit_id, name in rows})
    if ids["user"]:
        rows = session.execute(select(User.id, User.full_name, User.username).where(User.id.in_(ids["user"])))
        chains.update({f"user:{user_id}": f"{full_name} ({username})" for user_id, full_name, username in rows})
    return AuditNames(chains, full_names(session, {record["actor_id"] for record in records}))


def full_names(session: Session, user_ids: Collection[int | None]) -> dict[int, str]:
    """User id → full name, for the people a page names. By id, not by the user name an event or a read recorded:
    a renamed account (decision 0086) is still the same person, and a name given up and taken by someone else is
    not them."""
    wanted = {user_id for user_id in user_ids if user_id is not None}
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.full_name).where(User.id.in_(wanted)))
    return {user_id: full_name for user_id, full_name in rows}


def audit_page(
    session: Session, filters: AuditFilters, scope: ColumnElement[bool], *, page: int, per_page: int
) -> ListPage:
    return _page(session, _audit_query(filters, scope), page, per_page, _audit_record)


def audit_count(session: Session, filters: AuditFilters, scope: ColumnElement[bool]) -> int:
    return count_rows(session, _audit_query(filters, scope))


def audit_records(
    session: Session, filters: AuditFilters | None = None, scope: ColumnElement[bool] | None = None
) -> Iterator[dict[str, Any]]:
    """Events in `scope` (None: all), in the page's order for these filters; without filters (the CLI) chain by
    chain in sequence, the order in which a copy of the log is re-verified."""
    query = _audit_query(filters or AuditFilters(), scope if scope is not None else true())
    if filters is None:
        query = query.order_by(None).order_by(AuditEvent.chain_key, AuditEvent.seq)
    yield from _stream(session, query, _audit_record)
