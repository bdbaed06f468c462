"""The quarterly and annual roll-up of the monthly evaluation for a unit (and the units below it), and the HTXSNV quota.

For each active cadre whose unit is in scope, every monthly result of the year (`EvaluationResult`, kind "month",
whichever unit recorded it: a transferred cadre is graded by the new unit with the old unit's months, §6.3) gives:
- the score of each quarter with a month in it (`quarterly_score`);
- the annual score: the average of the months with a score; a month with no result counts as not worked (leave,
  before joining), NĐ 335 Điều 21 (§6.3) — `annual_score`;
- the proposed annual grade: `grade_for` the annual score, KHTNV when disciplined at reprimand or above in the year
  (NĐ 335 Điều 20 điểm c).

The quota (NĐ 335 Điều 20, §6.4) is checked per (unit, task group). The task group of a cadre is the `title_code`
of the position they currently hold (the lowest id when several, leadership posts first), or "chung" when none;
a `TaskGrouping` maps title codes onto wider groups (configurable, e.g. from the app's config), so several titles
with similar tasks can share one quota.

`record_rollup` writes the quarter and year results through `records.record_evaluation`, the audited write path.
Queries and writes only: no Flask, no clock except the one `records.local_today` reads.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.access import ancestry, in_subtree, role_units
from workflows.assignment import holds_role_over
from workflows.errors import N_, Invalid, NotAllowed, NotFound, Problem
from workflows.query_args import parse_int
from workflows.registry.models import (
    Cadre,
    CadrePosition,
    DisciplineRecord,
    EvaluationResult,
    OrgUnit,
    Position,
    User,
)
from workflows.registry.records import local_today, record_evaluation
from workflows.registry.tabular import Column
from workflows.rules.evaluation import (
    DEFAULT_POLICY,
    GRADES,
    HTXSNV,
    EvaluationPolicy,
    Grade,
    QuotaEntry,
    QuotaReport,
    annual_score,
    grade_for,
    quarter_of,
    quarterly_score,
    quota_check,
)
from workflows.states import Role

DEFAULT_TASK_GROUP = "chung"
# The task groups' names for the pages and exports (translated there; NĐ 335 Điều 20, "nhóm có nhiệm vụ tương
# đồng"): the default group and the standard title codes a cadre's post has (workflows/registry/demo.py, the
# targets' and rotation's title codes). A group a province configures (EVALUATION_TASK_GROUPS) is shown by its
# own name as written there.
TASK_GROUP_NAMES: Mapping[str, str] = {
    DEFAULT_TASK_GROUP: N_("Common group (no titled post)"),
    "commune_party_secretary": N_("Commune party secretary"),
    "commune_deputy_party_secretary": N_("Commune deputy party secretary"),
    "commune_pc_chair": N_("Chair of the commune people's committee"),
    "commune_pc_vice_chair": N_("Vice-chair of the commune people's committee"),
    "commune_inspection_chair": N_("Chair of the commune inspection committee"),
    "commune_front_chair": N_("Chair of the commune Fatherland Front committee"),
    "commune_office_chief": N_("Chief of the commune office"),
    "commune_department_head": N_("Head of a commune department"),
    "commune_party_staff": N_("Staff of the commune party committee's office"),
    "commune_inspection_staff": N_("Staff of the commune inspection committee"),
    "commune_civil_servant": N_("Commune civil servants"),
    "commune_front_staff": N_("Staff of the commune Fatherland Front"),
    "party_committee_member": N_("Party committee member"),
    "province_party_secretary": N_("Provincial party secretary"),
    "province_deputy_party_secretary": N_("Provincial deputy party secretary"),
    "province_pc_chair": N_("Chair of the provincial people's committee"),
    "province_pc_vice_chair": N_("Vice-chair of the provincial people's committee"),
    "province_organisation_head": N_("Head of the provincial party organisation board"),
    "province_organisation_deputy": N_("Deputy head of the provincial party organisation board"),
    "province_inspection_chair": N_("Chair of the provincial party inspection committee"),
    "province_inspection_deputy": N_("Vice-chair of the provincial party inspection committee"),
    "province_inspection_member": N_("Member of the provincial party inspection committee"),
    "province_inspector": N_("Provincial inspectors"),
    "province_front_chair": N_("Chair of the provincial Fatherland Front committee"),
    "province_office_chief": N_("Chief of a provincial office"),
    "province_office_deputy": N_("Deputy chief of a provincial office"),
    "province_specialist": N_("Provincial specialists"),
    "department_director": N_("Director of a provincial department"),
    "department_deputy_director": N_("Deputy director of a provincial department"),
}
# Who may see a unit's roll-up, and who may write its quarter and year results.
VIEW_ROLES = (Role.PERSONNEL, Role.HEAD, Role.SUPERVISOR, Role.AUDITOR, Role.ADMIN)
WRITE_ROLES = (Role.PERSONNEL, Role.HEAD, Role.ADMIN)
FIRST_YEAR = 2000


@dataclass(frozen=True)
class TaskGrouping:
    """Which quota group a cadre belongs to (NĐ 335 Điều 20: "nhóm có nhiệm vụ tương đồng" [U]): the title code of
    their current position, renamed by `groups` when listed there; `default` when they hold no position (or one
    without a title code)."""

    groups: Mapping[str, str] = field(default_factory=dict)
    default: str = DEFAULT_TASK_GROUP

    def of(self, title_code: str | None) -> str:
        if not title_code:
            return self.default
        return self.groups.get(title_code, title_code)


@dataclass(frozen=True)
class CadreRollup:
    cadre_id: int
    code: str
    full_name: str
    unit_id: int
    unit_code: str
    task_group: str
    monthly: dict[str, float | None]  # every month of the year that has a result → its score
    monthly_htxsnv: int  # months graded HTXSNV: the quota's tie-break among equal annual scores
    quarterly: dict[str, float | None]  # "2026-Q1" → score, for the quarters with a result
    annual: float | None  # None: no month worked
    grade: Grade | None  # the proposed annual grade; None when no month was worked
    disciplined_on: tuple[date, ...]  # discipline decided in the year (reprimand or above)
    htxsnv_months: tuple[str, ...] = ()  # the months graded HTXSNV (a quarter's tie-break)
    unit_name: str = ""  # as people know the unit; its code where not read (a roll-up rebuilt from process data)

    @property
    def months_worked(self) -> int:
        return sum(1 for score in self.monthly.values() if score is not None)

    @property
    def proposed_grade(self) -> str | None:
        return self.grade.grade if self.grade else None

    def quota_entry(self, grade: str | None = None, exception_approved: bool = False) -> QuotaEntry:
        return QuotaEntry(
            cadre_id=self.cadre_id,
            unit_id=self.unit_id,
            task_group=self.task_group,
            grade=grade or self.proposed_grade or "",
            score=self.annual,
            tie_key=float(self.monthly_htxsnv),
            exception_approved=exception_approved,
        )


@dataclass(frozen=True)
class Rollup:
    unit: OrgUnit
    year: int
    include_subunits: bool
    cadres: tuple[CadreRollup, ...]  # by unit code, then cadre code
    policy: EvaluationPolicy = DEFAULT_POLICY

    def cadre(self, cadre_id: int) -> CadreRollup:
        for row in self.cadres:
            if row.cadre_id == cadre_id:
                return row
        raise KeyError(cadre_id)

    def quota_entries(
        self, grades: Mapping[int, str] | None = None, exceptions: Iterable[int] = ()
    ) -> list[QuotaEntry]:
        """The graded cadres (a month worked) as quota entries; `grades` replaces proposed grades (a demotion)."""
        chosen = dict(grades or {})
        excepted = set(exceptions)
        return [
            row.quota_entry(chosen.get(row.cadre_id), row.cadre_id in excepted)
            for row in self.cadres
            if row.grade is not None
        ]

    def quota(self, grades: Mapping[int, str] | None = None, exceptions: Iterable[int] = ()) -> QuotaReport:
        return quota_check(self.quota_entries(grades, exceptions), self.policy)


def year_problems(year: object, today: date) -> list[Problem]:
    if isinstance(year, str):
        # ASCII digits only ('²' passes str.isdigit() but not int()); a year past 9999 is a typing mistake too.
        year = parse_int(year, low=0, high=9999)
    if not isinstance(year, int) or isinstance(year, bool) or year < FIRST_YEAR:
        return [Problem("expected a year (YYYY)", field="year")]
    if year > today.year:
        return [Problem("the year has not begun yet", field="year")]
    return []


def may_view(session: Session, actor: User | None, unit_id: int, roles: Iterable[str] = VIEW_ROLES) -> bool:
    if actor is None:
        return True  # the system (CLI without --as)
    chain = ancestry(session, unit_id)
    return any(holds_role_over(role_units(actor), role, chain) for role in roles)


def find_unit(session: Session, actor: User | None, unit_code: str, roles: Iterable[str] = VIEW_ROLES) -> OrgUnit:
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == (unit_code or "").strip()))
    if unit is None:
        raise NotFound(f"there is no unit with the code {unit_code!r}")
    if not may_view(session, actor, unit.id, roles):
        raise NotAllowed("you may not see the evaluation results of this unit")
    return unit


def _task_groups(session: Session, cadre_ids: list[int], grouping: TaskGrouping) -> dict[int, str]:
    rows = session.execute(
        select(CadrePosition.cadre_id, Position.title_code)
        .join(Position, Position.id == CadrePosition.position_id)
        .where(CadrePosition.cadre_id.in_(cadre_ids), CadrePosition.ended_on.is_(None))
        .order_by(CadrePosition.cadre_id, Position.is_leadership.desc(), Position.id)
    )
    codes: dict[int, str | None] = {}
    for cadre_id, title_code in rows:
        codes.setdefault(cadre_id, title_code)
    return {cadre_id: grouping.of(codes.get(cadre_id)) for cadre_id in cadre_ids}


def build_rollup(
    session: Session,
    *,
    actor: User | None,
    unit_code: str,
    year: int | str,
    include_subunits: bool = True,
    grouping: TaskGrouping | None = None,
    policy: EvaluationPolicy = DEFAULT_POLICY,
    today: date | None = None,
    roles: Iterable[str] = VIEW_ROLES,
) -> Rollup:
    """The roll-up of `year` for a unit; `Invalid` for a bad or future year, `NotFound` for an unknown unit,
    `NotAllowed` when the actor holds none of `roles` over it."""
    problems = year_problems(year, today or local_today())
    if problems:
        raise Invalid("the year is not valid", problems)
    year = int(year)
    unit = find_unit(session, actor, unit_code, roles)
    grouping = grouping or TaskGrouping()

    scope = in_subtree(OrgUnit, unit.id) if include_subunits else OrgUnit.id == unit.id
    cadres = session.execute(
        select(Cadre.id, Cadre.code, Cadre.full_name, Cadre.unit_id, OrgUnit.code, OrgUnit.name)
        .join(OrgUnit, OrgUnit.id == Cadre.unit_id)
        .where(scope, Cadre.is_active)
        .order_by(OrgUnit.code, Cadre.code)
    ).all()
    ids = [row[0] for row in cadres]
    monthly: dict[int, dict[str, float | None]] = defaultdict(dict)
    excellent: dict[int, list[str]] = defaultdict(list)
    disciplined: dict[int, list[date]] = defaultdict(list)
    groups: dict[int, str] = {}
    if ids:
        results = session.execute(
            select(EvaluationResult.cadre_id, EvaluationResult.period, EvaluationResult.score, EvaluationResult.grade)
            .where(
                EvaluationResult.cadre_id.in_(ids),
                EvaluationResult.period_kind == "month",
                EvaluationResult.period.like(f"{year}-%"),
            )
            .order_by(EvaluationResult.period)
        )
        for cadre_id, period, score, grade in results:
            monthly[cadre_id][period] = None if score is None else float(score)
            if grade == HTXSNV:
                excellent[cadre_id].append(period)
        # NĐ 335 Điều 20 điểm c: disciplined at reprimand (the lowest level) or above in the year.
        for cadre_id, decided_on in session.execute(
            select(DisciplineRecord.cadre_id, DisciplineRecord.decided_on).where(
                DisciplineRecord.cadre_id.in_(ids),
                DisciplineRecord.decided_on >= date(year, 1, 1),
                DisciplineRecord.decided_on <= date(year, 12, 31),
            )
        ):
            disciplined[cadre_id].append(decided_on)
        groups = _task_groups(session, ids, grouping)

    rows = []
    for cadre_id, code, full_name, unit_id, unit_code_of, unit_name in cadres:
        months = monthly.get(cadre_id, {})
        by_quarter: dict[str, dict[str, float | None]] = defaultdict(dict)
        for month, score in months.items():
            by_quarter[quarter_of(month)][month] = score
        annual = annual_score(months)
        days = tuple(sorted(disciplined.get(cadre_id, [])))
        rows.append(
            CadreRollup(
                cadre_id=cadre_id,
                code=code,
                full_name=full_name,
                unit_id=unit_id,
                unit_code=unit_code_of,
                task_group=groups.get(cadre_id, grouping.default),
                monthly=dict(months),
                monthly_htxsnv=len(excellent.get(cadre_id, [])),
                quarterly={q: quarterly_score(m) for q, m in sorted(by_quarter.items())},
                annual=annual,
                grade=None if annual is None else grade_for(annual, disciplined_reprimand_or_above=bool(days)),
                disciplined_on=days,
                htxsnv_months=tuple(excellent.get(cadre_id, [])),
                unit_name=unit_name,
            )
        )
    return Rollup(unit=unit, year=year, include_subunits=include_subunits, cadres=tuple(rows), policy=policy)


def _quarter_grade(row: CadreRollup, quarter: str, score: float) -> str:
    number = int(quarter[-1])
    start, end = 3 * number - 2, 3 * number
    disciplined = any(start <= day.month <= end for day in row.disciplined_on)
    return grade_for(score, disciplined_reprimand_or_above=disciplined).grade


# -- one period of the roll-up, as the page and its export show it ---------------------------------------------------

YEAR_PERIOD = "year"
PERIODS = (YEAR_PERIOD, "Q1", "Q2", "Q3", "Q4")

ROLLUP_COLUMNS = [
    Column("code", "Mã cán bộ", "text"),
    Column("full_name", "Họ và tên", "text"),
    Column("unit", "Đơn vị", "text"),
    Column("unit_code", "Mã đơn vị", "text"),
    Column("task_group", "Nhóm nhiệm vụ", "text"),
    Column("period", "Kỳ", "text"),
    Column("months_worked", "Số tháng có kết quả", "int"),
    Column("score", "Điểm", "text"),
    Column("proposed_grade", "Xếp loại đề xuất", "text"),
    Column("recorded_grade", "Xếp loại đã ghi", "text"),
    Column("is_over_quota", "Vượt tỷ lệ HTXSNV", "bool"),
    Column("quota_exception", "Văn bản cho phép vượt tỷ lệ", "text"),
]


def period_problems(period: object) -> list[Problem]:
    if period not in PERIODS:
        return [Problem("choose the year or a quarter (Q1 to Q4)", field="period")]
    return []


@dataclass(frozen=True)
class PeriodRow:
    """One cadre in one period: the score and grade the months give, and what is recorded for the period."""

    cadre: CadreRollup
    months_worked: int
    score: float | None
    proposed_grade: str | None  # None: no month worked in the period
    recorded_grade: str | None  # the period's result on the record (after the annual run: the decided grade)
    quota_exception: str | None  # the approval under which an HTXSNV over the quota was kept
    is_over_quota: bool

    @property
    def grade(self) -> str | None:
        """The grade the quota counts: the recorded one when there is one, else the proposed one."""
        return self.recorded_grade or self.proposed_grade

    def to_record(self, period: str) -> dict[str, Any]:
        return {
            "code": self.cadre.code,
            "full_name": self.cadre.full_name,
            "unit": self.cadre.unit_name or self.cadre.unit_code,
            "unit_code": self.cadre.unit_code,
            "task_group": self.cadre.task_group,
            "period": period,
            "months_worked": self.months_worked,
            "score": None if self.score is None else f"{self.score:.2f}".replace(".", ","),
            "proposed_grade": self.proposed_grade,
            "recorded_grade": self.recorded_grade,
            "is_over_quota": self.is_over_quota,
            "quota_exception": self.quota_exception,
        }


@dataclass(frozen=True)
class PeriodRollup:
    rollup: Rollup
    period: str  # "2026" or "2026-Q3"
    rows: tuple[PeriodRow, ...]
    quota: QuotaReport

    def unit_code(self, unit_id: int) -> str:
        return next((row.cadre.unit_code for row in self.rows if row.cadre.unit_id == unit_id), str(unit_id))

    def unit_name(self, unit_id: int) -> str:
        """The unit's name as people know it; its code where the roll-up has no name for it."""
        return next(
            (row.cadre.unit_name or row.cadre.unit_code for row in self.rows if row.cadre.unit_id == unit_id),
            str(unit_id),
        )

    def names(self, cadre_ids: Iterable[int]) -> str:
        """Cadres by name with their codes ("Nguyễn Văn An (RX01), …"), in the given order."""
        by_id = {row.cadre.cadre_id: f"{row.cadre.full_name} ({row.cadre.code})" for row in self.rows}
        return ", ".join(by_id.get(cadre_id, str(cadre_id)) for cadre_id in cadre_ids)

    def codes(self, cadre_ids: Iterable[int]) -> str:
        """Cadre codes for a list of ids ("RX01, RA02"), in the given order."""
        by_id = {row.cadre.cadre_id: row.cadre.code for row in self.rows}
        return ", ".join(by_id.get(cadre_id, str(cadre_id)) for cadre_id in cadre_ids)


def period_rollup(session: Session, rollup: Rollup, which: str) -> PeriodRollup:
    """The year (`which` = "year") or one quarter ("Q1".."Q4") of a roll-up, with what is recorded for that period
    and the HTXSNV quota counted on the grades as they stand (recorded, else proposed; NĐ 335 Điều 20, §6.4): an
    approved exception recorded on the result does not count against the quota."""
    problems = period_problems(which)
    if problems:
        raise Invalid("the period is not valid", problems)
    kind, period = ("year", str(rollup.year)) if which == YEAR_PERIOD else ("quarter", f"{rollup.year}-{which}")
    ids = [row.cadre_id for row in rollup.cadres]
    recorded: dict[int, tuple[str, float | None, str | None]] = {}
    if ids:
        for cadre_id, grade, score, exception in session.execute(
            select(
                EvaluationResult.cadre_id,
                EvaluationResult.grade,
                EvaluationResult.score,
                EvaluationResult.quota_exception,
            ).where(
                EvaluationResult.cadre_id.in_(ids),
                EvaluationResult.period_kind == kind,
                EvaluationResult.period == period,
            )
        ):
            recorded[cadre_id] = (grade, None if score is None else float(score), exception)

    drafts = []
    entries = []
    for row in rollup.cadres:
        if kind == "year":
            months, score, proposed = row.months_worked, row.annual, row.proposed_grade
            tie_key = row.monthly_htxsnv
        else:
            in_quarter = {m: v for m, v in row.monthly.items() if quarter_of(m) == period}
            months = sum(1 for v in in_quarter.values() if v is not None)
            score = row.quarterly.get(period)
            proposed = None if score is None else _quarter_grade(row, period, score)
            tie_key = sum(1 for m in row.htxsnv_months if quarter_of(m) == period)
        grade, recorded_score, exception = recorded.get(row.cadre_id, (None, None, None))
        drafts.append((row, months, score, proposed, grade, exception))
        counted = grade or proposed
        if counted in GRADES:
            entries.append(
                QuotaEntry(
                    cadre_id=row.cadre_id,
                    unit_id=row.unit_id,
                    task_group=row.task_group,
                    grade=counted,
                    score=score if score is not None else (recorded_score or 0.0),
                    tie_key=float(tie_key),
                    exception_approved=exception is not None,
                )
            )
    report = quota_check(entries, rollup.policy)
    over = set(report.over)
    rows = tuple(
        PeriodRow(row, months, score, proposed, grade, exception, row.cadre_id in over)
        for row, months, score, proposed, grade, exception in drafts
    )
    return PeriodRollup(rollup=rollup, period=period, rows=rows, quota=report)


def period_records(view: PeriodRollup) -> Iterator[dict[str, Any]]:
    """The export's rows (ROLLUP_COLUMNS)."""
    for row in view.rows:
        yield row.to_record(view.period)


@dataclass(frozen=True)
class RollupWritten:
    quarters: int
    years: int


def record_rollup(
    session: Session,
    actor: User | None,
    rollup: Rollup,
    *,
    year_grades: Mapping[int, str] | None = None,
    with_year: bool = True,
    source_instance_id: int | None = None,
    quota_exceptions: Mapping[int, str] | None = None,
    reasons: Mapping[int, str] | None = None,
) -> RollupWritten:
    """Write each cadre's quarter results and (with `with_year`) the year result through `record_evaluation`.
    `year_grades` are the decided grades by cadre id (after the quota is resolved); the proposed grade otherwise.
    `quota_exceptions` are the approval references of the HTXSNV kept over the quota, by cadre id: recorded on the
    year result (and so in its audit event); `reasons` (why a grade differs from the proposed one) go into the year
    result's audit event. Re-running writes only what changed (record_evaluation keeps the
    earlier values in the audit chain)."""
    decided = dict(year_grades or {})
    excepted = dict(quota_exceptions or {})
    why = dict(reasons or {})
    bad = [cadre_id for cadre_id, grade in decided.items() if grade not in GRADES]
    if bad:
        raise Invalid("the grades are not valid", [Problem("not one of the allowed values", field=str(bad[0]))])
    today = local_today()
    quarters = years = 0
    for row in rollup.cadres:
        if row.grade is None:
            continue
        cadre = session.get(Cadre, row.cadre_id)
        assert cadre is not None
        for quarter, score in row.quarterly.items():
            start_month = 3 * int(quarter[-1]) - 2
            if score is None or date(rollup.year, start_month, 1) > today:
                continue
            record_evaluation(
                session,
                actor,
                cadre,
                period_kind="quarter",
                period=quarter,
                grade=_quarter_grade(row, quarter, score),
                score=score,
                unit_id=row.unit_id,
                source_instance_id=source_instance_id,
            )
            quarters += 1
        if with_year:
            record_evaluation(
                session,
                actor,
                cadre,
                period_kind="year",
                period=str(rollup.year),
                grade=decided.get(row.cadre_id, row.proposed_grade or ""),
                score=row.annual,
                unit_id=row.unit_id,
                source_instance_id=source_instance_id,
                quota_exception=excepted.get(row.cadre_id),
                reason=why.get(row.cadre_id),
            )
            years += 1
    return RollupWritten(quarters=quarters, years=years)
