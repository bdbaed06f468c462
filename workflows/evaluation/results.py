"""Reading the monthly evaluation's results: a unit's month (grades, who decided, whether it ran late) and a cadre's
own history of monthly scores. Queries only; the pages and exports in `webapp/evaluation` show them.

Who sees what: the roles that oversee a unit (personnel, heads, supervisors, auditors, administrators) see its whole
month, the evaluations still under way included; everyone else of the unit sees the decided results, which are
published inside the unit (NĐ 335/2025 Điều 19: the result is made known in the agency).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    literal,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from workflows import clock
from workflows.access import in_subtree, instance_scope_condition, oversees_unit, role_units
from workflows.errors import Problem
from workflows.evaluation import PROCESS_ID
from workflows.models import HumanTask, ProcessInstance
from workflows.registry.models import Cadre, EvaluationResult, OrgUnit, User
from workflows.registry.tabular import Column
from workflows.rules.evaluation import GRADES
from workflows.states import InstanceStatus, Role, TaskStatus

RESULT_ROLES = (Role.PERSONNEL, Role.HEAD, Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN)
DECISION_TASK = "head_decision"
MONTH_KIND = "month"

FULL = "full"  # every evaluation of the month, under way or decided
PUBLISHED = "published"  # the decided results only

_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")

RESULT_COLUMNS = [
    Column("code", "Mã cán bộ", "text"),
    Column("full_name", "Họ và tên", "text"),
    Column("unit", "Đơn vị", "text"),
    Column("period", "Tháng", "text"),
    Column("score", "Điểm", "text"),
    Column("grade", "Xếp loại", "text"),
    Column("decided_by", "Người quyết định", "text"),
    Column("is_late", "Trễ hạn", "bool"),
    Column("state", "Tình trạng", "text"),
]
# The steps an evaluation under way waits at (bpmn/monthly_evaluation.bpmn): its state on the results page.
WAITING_STEPS = ("self_assessment", "manager_review", "head_decision")
STATE_LABELS = {
    "decided": "Đã xếp loại",
    "running": "Đang đánh giá",
    "cancelled": "Đã hủy",
    "self_assessment": "Chờ cán bộ tự đánh giá",
    "manager_review": "Chờ lãnh đạo trực tiếp nhận xét",
    "head_decision": "Chờ thủ trưởng quyết định xếp loại",
}


@dataclass(frozen=True)
class ResultRow:
    cadre_id: int
    code: str
    full_name: str
    unit_name: str
    period: str
    score: float | None
    grade: str | None  # None while the evaluation is under way
    decided_by: str | None
    decided_dt: datetime | None
    is_late: bool | None  # None: no process behind the result (an imported grade)
    instance_id: int | None
    state: str  # decided / cancelled / the step it waits at (WAITING_STEPS) / running (at none of them)

    @property
    def score_text(self) -> str | None:
        return _score_text(self.score)

    def to_record(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "full_name": self.full_name,
            "unit": self.unit_name,
            "period": self.period,
            "score": self.score_text,
            "grade": self.grade,
            "decided_by": self.decided_by,
            "is_late": self.is_late,
            "state": STATE_LABELS.get(self.state, self.state),
        }


@dataclass(frozen=True)
class HistoryRow:
    period: str
    score: float | None
    grade: str
    unit_name: str
    quota_exception: str | None = None  # a year kept HTXSNV over the quota: the approval's reference
    instance_id: int | None = None  # the evaluation that decided the month, where the viewer may open it

    @property
    def score_text(self) -> str | None:
        return _score_text(self.score)


def _score_text(score: float | None) -> str | None:
    if score is None:
        return None
    text = f"{score:.2f}".rstrip("0").rstrip(".")
    return text.replace(".", ",")


# A month as people type it into the results filter: "11/2026", "tháng 11/2026" (any case), or "2026-11".
_TYPED_MONTH = re.compile(
    r"(?:th[aá]ng\s+)?(?:(0?[1-9]|1[0-2])\s*/\s*([0-9]{4})|([0-9]{4})-(0[1-9]|1[0-2]))", re.IGNORECASE
)


def read_month(text: str | None) -> str | None:
    """The month typed (`_TYPED_MONTH`) as YYYY-MM, or None when it is not a month."""
    match = _TYPED_MONTH.fullmatch(" ".join(unicodedata.normalize("NFC", text or "").split()))
    if match is None:
        return None
    if match.group(3):
        return f"{match.group(3)}-{match.group(4)}"
    return f"{match.group(2)}-{int(match.group(1)):02d}"


def month_problems(month: str | None) -> list[Problem]:
    """A results month is any well-formed month (a future one simply has no results yet); the message gives an
    example in the form Vietnamese pages write a month."""
    if month is None or not _MONTH.fullmatch(month):
        return [Problem("Write the month as month/year, for example 11/2026.", field="month")]
    return []


# -- who may see -----------------------------------------------------------------------------------------------------


def result_access(session: Session, user: User, unit_id: int, *, published_in_unit: bool = True) -> str | None:
    """FULL for the roles that oversee the unit, PUBLISHED for the people of the unit (when the policy publishes
    results inside the unit: `EvaluationPolicy.results_published_in_unit`), else None."""
    if oversees_unit(session, user, unit_id, RESULT_ROLES):
        return FULL
    if not published_in_unit:
        return None
    if unit_id == user.unit_id:
        return PUBLISHED
    if user.cadre_id is not None and session.scalar(select(Cadre.unit_id).where(Cadre.id == user.cadre_id)) == unit_id:
        return PUBLISHED
    return None


def result_units(session: Session, user: User, *, published_in_unit: bool = True) -> list[OrgUnit]:
    """The units whose results this user may open: the subtrees they oversee, and their own unit (when results are
    published inside the unit)."""
    roots = {unit_id for role, unit_id in role_units(user) if role in RESULT_ROLES}
    conditions: list[ColumnElement[bool]] = [in_subtree(OrgUnit, root) for root in roots]
    if published_in_unit:
        conditions.append(OrgUnit.id == user.unit_id)
        if user.cadre_id is not None:
            conditions.append(OrgUnit.id == select(Cadre.unit_id).where(Cadre.id == user.cadre_id).scalar_subquery())
    if not conditions:
        return []
    return list(session.scalars(select(OrgUnit).where(or_(*conditions)).order_by(OrgUnit.path, OrgUnit.name)))


def latest_month(session: Session, unit_id: int) -> str | None:
    """The latest month with a result or an evaluation under way in the unit."""
    decided = session.scalar(
        select(func.max(EvaluationResult.period)).where(
            EvaluationResult.period_kind == MONTH_KIND, EvaluationResult.unit_id == unit_id
        )
    )
    running = session.scalar(
        select(func.max(func.substr(ProcessInstance.business_key, 1, 7)))
        .join(Cadre, Cadre.id == ProcessInstance.subject_cadre_id)
        .where(ProcessInstance.process_id == PROCESS_ID, Cadre.unit_id == unit_id)
    )
    months = [m for m in (decided, running) if m and _MONTH.fullmatch(m)]
    return max(months) if months else None


# -- a unit's month --------------------------------------------------------------------------------------------------


def _late(instance: Any, now: datetime) -> ColumnElement[bool]:
    """A task of the instance finished after its deadline, or still open past it."""
    return exists().where(
        HumanTask.instance_id == instance.id,
        HumanTask.due_dt.is_not(None),
        or_(
            and_(HumanTask.status == TaskStatus.COMPLETED, HumanTask.closed_dt > HumanTask.due_dt),
            and_(HumanTask.status == TaskStatus.OPEN, HumanTask.due_dt < now),
        ),
    )


# Each step's deadline timer (bpmn/monthly_evaluation.bpmn) opens a reminder to the level above when it fires.
ESCALATIONS = {
    "self_assessment": "escalate_self_assessment",
    "manager_review": "escalate_review",
    "head_decision": "escalate_decision",
}


def _overdue(instance: Any, now: datetime) -> ColumnElement[bool]:
    """The step the instance waits at is past its deadline: its due date has passed, or its deadline timer has
    already fired (a month opened after its deadlines has no due date left on the step, only the reminder)."""
    step = aliased(HumanTask)
    reminder = aliased(HumanTask)
    fired = or_(
        *(
            and_(
                step.task_key == waiting,
                exists().where(
                    reminder.instance_id == instance.id,
                    reminder.task_key == escalation,
                    reminder.opened_dt >= step.opened_dt,
                ),
            )
            for waiting, escalation in ESCALATIONS.items()
        )
    )
    return exists().where(
        step.instance_id == instance.id,
        step.status == TaskStatus.OPEN,
        step.task_key.in_(WAITING_STEPS),
        or_(and_(step.due_dt.is_not(None), step.due_dt < now), fired),
    )


def _decider(instance: Any) -> Any:
    """Who completed the decision step (the latest, should it have run twice)."""
    return (
        select(User.full_name)
        .join(HumanTask, HumanTask.closed_by_id == User.id)
        .where(
            HumanTask.instance_id == instance.id,
            HumanTask.task_key == DECISION_TASK,
            HumanTask.status == TaskStatus.COMPLETED,
        )
        .order_by(HumanTask.closed_dt.desc(), HumanTask.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _waiting_at(instance: Any) -> Any:
    """The step the evaluation waits at: its open self-assessment, review or decision (a reminder to the level
    above runs beside it and is not the step)."""
    return (
        select(HumanTask.task_key)
        .where(
            HumanTask.instance_id == instance.id,
            HumanTask.status == TaskStatus.OPEN,
            HumanTask.task_key.in_(WAITING_STEPS),
        )
        .order_by(HumanTask.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _in_scope(unit: Any, unit_id: int, include_subunits: bool) -> ColumnElement[bool]:
    return in_subtree(unit, unit_id) if include_subunits else unit.id == unit_id


def _decided(unit_id: int, month: str, now: datetime, include_subunits: bool) -> Select[Any]:
    """The month's results recorded for the unit (and, asked, the units below it)."""
    instance = aliased(ProcessInstance)
    unit = aliased(OrgUnit)
    return (
        select(
            EvaluationResult.cadre_id.label("cadre_id"),
            Cadre.code.label("code"),
            Cadre.full_name.label("full_name"),
            unit.name.label("unit_name"),
            EvaluationResult.score.label("score"),
            EvaluationResult.grade.label("grade"),
            _decider(instance).label("decided_by"),
            func.coalesce(instance.ended_dt, EvaluationResult.updated_dt).label("decided_dt"),
            _late(instance, now).label("is_late"),
            instance.id.label("instance_id"),
            literal("decided").label("state"),
            false().label("is_overdue"),
        )
        .join(Cadre, Cadre.id == EvaluationResult.cadre_id)
        .join(unit, unit.id == EvaluationResult.unit_id)
        .outerjoin(instance, instance.id == EvaluationResult.source_instance_id)
        .where(
            EvaluationResult.period_kind == MONTH_KIND,
            EvaluationResult.period == month,
            _in_scope(unit, unit_id, include_subunits),
        )
    )


def _under_way(unit_id: int, month: str, now: datetime, include_subunits: bool) -> Select[Any]:
    """Evaluations of the month for cadres of the unit (and, asked, the units below) that have no result yet."""
    instance = aliased(ProcessInstance)
    result_exists = exists().where(
        EvaluationResult.cadre_id == Cadre.id,
        EvaluationResult.period_kind == MONTH_KIND,
        EvaluationResult.period == month,
    )
    return (
        select(
            Cadre.id.label("cadre_id"),
            Cadre.code.label("code"),
            Cadre.full_name.label("full_name"),
            OrgUnit.name.label("unit_name"),
            cast(null(), EvaluationResult.score.type).label("score"),
            cast(null(), EvaluationResult.grade.type).label("grade"),
            cast(null(), User.full_name.type).label("decided_by"),
            cast(null(), EvaluationResult.updated_dt.type).label("decided_dt"),
            _late(instance, now).label("is_late"),
            instance.id.label("instance_id"),
            case(
                (instance.status == InstanceStatus.CANCELLED, literal("cancelled")),
                else_=func.coalesce(_waiting_at(instance), literal("running")),
            ).label("state"),
            _overdue(instance, now).label("is_overdue"),
        )
        .join(Cadre, Cadre.id == instance.subject_cadre_id)
        .join(OrgUnit, OrgUnit.id == Cadre.unit_id)
        .where(
            instance.process_id == PROCESS_ID,
            instance.business_key == month + "/" + Cadre.code,
            _in_scope(OrgUnit, unit_id, include_subunits),
            ~result_exists,
        )
    )


@dataclass(frozen=True)
class MonthQuery:
    """Which evaluations of a month a results page lists: the unit, the units below it or not, and whether the
    evaluations under way are shown (FULL access) or only the decided results (PUBLISHED)."""

    unit_id: int
    month: str
    access: str
    include_subunits: bool = False
    now: datetime | None = None

    def rows(self) -> Any:
        """The rows as one query, by cadre code (a subquery: the page, the count, the summary read from it)."""
        moment = self.now or clock.utcnow_naive()
        decided = _decided(self.unit_id, self.month, moment, self.include_subunits)
        if self.access != FULL:
            return decided.subquery()
        return union_all(decided, _under_way(self.unit_id, self.month, moment, self.include_subunits)).subquery()


def _row(record: Any, month: str) -> ResultRow:
    return ResultRow(
        cadre_id=record.cadre_id,
        code=record.code,
        full_name=record.full_name,
        unit_name=record.unit_name,
        period=month,
        score=None if record.score is None else float(record.score),
        grade=record.grade,
        decided_by=record.decided_by,
        decided_dt=record.decided_dt,
        is_late=bool(record.is_late) if record.instance_id is not None else None,
        instance_id=record.instance_id,
        state=record.state,
    )


def _ordered(rows: Any) -> Select[Any]:
    return select(rows).order_by(rows.c.code, rows.c.cadre_id)


def iter_month_results(session: Session, query: MonthQuery, *, batch: int = 2000) -> Iterator[ResultRow]:
    """Every row of the month, read a batch at a time (the export)."""
    for record in session.execute(_ordered(query.rows()).execution_options(yield_per=batch)):
        yield _row(record, query.month)


# What the month's list can be narrowed to (the progress summary's links): the step waited at, decided, or overdue.
OVERDUE = "overdue"
STAGES = (*WAITING_STEPS, "decided", OVERDUE)


def _at_stage(rows: Any, stage: str) -> ColumnElement[bool]:
    if stage == OVERDUE:
        return rows.c.is_overdue == true()
    return rows.c.state == stage


@dataclass(frozen=True)
class MonthPage:
    rows: list[ResultRow]  # this page's rows
    total: int  # every row of the month in scope
    page: int
    per_page: int
    counts: dict[str, int]  # grade → how many, over every row (the chart), every grade present
    pending: int  # under way or cancelled: no grade yet
    # Of those without a grade: how many wait at each step (WAITING_STEPS), are cancelled, or neither ("running").
    waiting: dict[str, int] = field(default_factory=dict)
    late: int = 0  # rows with a step done after its deadline or still open past it
    overdue: int = 0  # rows with a step still open past its deadline
    stage: str | None = None  # the list narrowed to this stage (STAGES), else every row
    listed: int | None = None  # rows at `stage`; None: every row (`total`)

    @property
    def pages(self) -> int:
        shown = self.total if self.listed is None else self.listed
        return max(1, -(-shown // self.per_page))

    @property
    def decided(self) -> int:
        return self.total - self.pending

    def at_stage(self, stage: str) -> int:
        """How many rows of the month are at `stage` (STAGES)."""
        return _count_at(stage, decided=self.decided, waiting=self.waiting, overdue=self.overdue)


def _count_at(stage: str, *, decided: int, waiting: Mapping[str, int], overdue: int) -> int:
    if stage == OVERDUE:
        return overdue
    if stage == "decided":
        return decided
    return waiting.get(stage, 0)


def month_page(
    session: Session, query: MonthQuery, *, page: int = 1, per_page: int = 100, stage: str | None = None
) -> MonthPage:
    """One page of the month, with the grade counts and the progress of the whole month (one aggregate, not the
    rows); `stage` (STAGES) narrows the list, never the counts."""
    stage = stage if stage in STAGES else None
    rows = query.rows()
    counted: Counter[str | None] = Counter()
    waiting: Counter[str] = Counter()
    late = overdue = 0
    summary = select(rows.c.grade, rows.c.state, rows.c.is_late, rows.c.is_overdue, func.count()).group_by(
        rows.c.grade, rows.c.state, rows.c.is_late, rows.c.is_overdue
    )
    for grade, state, is_late, is_overdue, count in session.execute(summary).tuples():
        counted[grade] += count
        if grade is None:
            waiting[state] += count
        if is_late:
            late += count
        if is_overdue:
            overdue += count
    total = sum(counted.values())
    listed = None
    ordered = _ordered(rows)
    if stage is not None:
        ordered = ordered.where(_at_stage(rows, stage))
        listed = _count_at(stage, decided=total - counted.get(None, 0), waiting=waiting, overdue=overdue)
    pages = max(1, -(-(total if listed is None else listed) // per_page))
    number = min(max(1, page), pages)  # past the last page shows the last page; no huge offset reaches the database
    records = session.execute(ordered.limit(per_page).offset((number - 1) * per_page))
    return MonthPage(
        rows=[_row(record, query.month) for record in records],
        total=total,
        page=number,
        per_page=per_page,
        counts={grade: counted.get(grade, 0) for grade in GRADES},
        pending=counted.get(None, 0),
        waiting=dict(waiting),
        late=late,
        overdue=overdue,
        stage=stage,
        listed=listed,
    )


def result_records(rows: Iterable[ResultRow]) -> Iterator[dict[str, Any]]:
    """The export's rows (RESULT_COLUMNS)."""
    for row in rows:
        yield row.to_record()


# -- a cadre's own history -------------------------------------------------------------------------------------------


def monthly_history(
    session: Session, cadre_id: int, *, viewer: User | None = None, limit: int = 36
) -> list[HistoryRow]:
    """The cadre's monthly results, oldest first (the last `limit` months). Each row names the evaluation that
    decided it when `viewer` may open that instance (`access.instance_scope_condition`, the instance page's rule:
    the cadre's own, or one their role oversees); an imported grade has none."""
    instance_unit = aliased(OrgUnit)
    openable = instance_scope_condition(viewer, instance_unit) if viewer is not None else false()
    rows = session.execute(
        select(
            EvaluationResult.period,
            EvaluationResult.score,
            EvaluationResult.grade,
            OrgUnit.name,
            case((openable, ProcessInstance.id), else_=null()).label("instance_id"),
        )
        .join(OrgUnit, OrgUnit.id == EvaluationResult.unit_id)
        .outerjoin(ProcessInstance, ProcessInstance.id == EvaluationResult.source_instance_id)
        .outerjoin(instance_unit, instance_unit.id == ProcessInstance.unit_id)
        .where(EvaluationResult.cadre_id == cadre_id, EvaluationResult.period_kind == MONTH_KIND)
        .order_by(EvaluationResult.period.desc())
        .limit(limit)
    ).all()
    return [
        HistoryRow(period, score, grade, unit_name, instance_id=instance_id)
        for period, score, grade, unit_name, instance_id in reversed(rows)
    ]


def period_history(session: Session, cadre_id: int) -> list[HistoryRow]:
    """The cadre's quarter and year results (from the roll-up and the annual grading run), newest year first, each
    year before its quarters."""
    rows = session.execute(
        select(
            EvaluationResult.period,
            EvaluationResult.score,
            EvaluationResult.grade,
            OrgUnit.name,
            EvaluationResult.quota_exception,
        )
        .join(OrgUnit, OrgUnit.id == EvaluationResult.unit_id)
        .where(EvaluationResult.cadre_id == cadre_id, EvaluationResult.period_kind.in_(("quarter", "year")))
    ).all()
    ordered = sorted(rows, key=lambda row: (row.period[:4], row.period == row.period[:4], row.period), reverse=True)
    return [HistoryRow(*row) for row in ordered]


__all__ = [
    "FULL",
    "OVERDUE",
    "PUBLISHED",
    "RESULT_COLUMNS",
    "RESULT_ROLES",
    "STAGES",
    "HistoryRow",
    "MonthPage",
    "MonthQuery",
    "ResultRow",
    "iter_month_results",
    "latest_month",
    "month_page",
    "month_problems",
    "monthly_history",
    "period_history",
    "read_month",
    "result_access",
    "result_records",
    "result_units",
]
