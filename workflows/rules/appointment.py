"""Appointment (bổ nhiệm) and re-appointment (bổ nhiệm lại) eligibility (issue #6): one readable result per rule.

Pure functions of plain data: nothing reads the database or the clock (`workflows.appointment.facts` gathers the
facts from the registry). Sources: QĐ 377-QĐ/TW (2025) Điều 34, NĐ 170/2025/NĐ-CP Điều 28, 29, 33, 39, HD 06-HD/BTCTW
(age), NĐ 138/2024 Điều 49 (near retirement) — domain rules §3.1–§3.9 and §8. Everything the domain reference tags
[P] or [U] is a field of `AppointmentPolicy` with a documented default, so a province changes it by configuration.

`check_eligibility` returns one `RuleResult` per rule, in `RULES` order, passed or not, each with a Vietnamese
message a personnel officer can read and check by hand (the numbers and the dates it compared) and its legal
source. A failed rule stops the appointment unless the competent authority records an exception with a reason;
that decision belongs to the process, not here.

Months are completed months (`months_between`), with the same convention as the ages of
`workflows.rules.retirement`: a month completes on the same day-of-month, or on the last day of a shorter month.

Title ranks: "planned for that title or an equivalent or higher one" and "appointment to a higher post" compare
titles. The registry stores no seniority, so `AppointmentPolicy.title_ranks` maps a position's `title_code` to a
rank, a larger number being more senior; equal ranks are equivalent titles. The defaults cover the standard titles
of a province and its communes [U: the equivalence of commune and provincial titles after the 2025 reform is the
province's own decision]. A title without a rank is equivalent only to itself (the same position).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from fractions import Fraction
from functools import partial
from typing import Any, NamedTuple

from workflows.errors import N_, Problem
from workflows.rules.communes import UnitNode, commune_of
from workflows.rules.evaluation import GRADE_LABELS, GRADES
from workflows.rules.retirement import (
    DEFAULT_SCHEDULE,
    RetirementSchedule,
    add_months,
    age_in_months,
    months_until_retirement,
    retirement_date,
)
from workflows.rules.settings import check_settings, is_whole, merged_settings, whole_setting
from workflows.rules.step_deadlines import APPOINTMENT_STEP_WORKING_DAYS, merged_step_days, step_days_problems
from workflows.rules.workdays import WorkCalendar

__all__ = [
    "DEFAULT_POLICY",
    "DEFAULT_TITLE_RANKS",
    "DISCIPLINE_LABELS",
    "REAPPOINTMENT_RULES",
    "RULES",
    "RULE_AGE",
    "RULE_ANNUAL_GRADE",
    "RULE_CONCURRENT",
    "RULE_DISCIPLINE",
    "RULE_HEALTH",
    "RULE_NOT_BARRED",
    "RULE_PLANNING",
    "RULE_STANDARDS",
    "RULE_TERM_DUTIES",
    "RULE_TIME_IN_POST",
    "AppointmentPolicy",
    "CandidateFacts",
    "Confidence",
    "DisciplineFact",
    "PlannedCadre",
    "PlannedTitle",
    "ReappointmentFacts",
    "ReappointmentPlan",
    "RuleResult",
    "RunningCase",
    "age_rule_applies",
    "case_words",
    "check_eligibility",
    "check_reappointment_eligibility",
    "confidence_level",
    "extension_applies",
    "failed_rules",
    "format_date",
    "is_eligible",
    "is_local_source",
    "local_source_root",
    "months_between",
    "months_to_retirement",
    "nomination_pool",
    "reappointment_due",
    "reappointment_plan",
    "reappointment_start_date",
    "reappointment_term_end",
]

RULE_PLANNING = "planning"
RULE_TIME_IN_POST = "time_in_post"
RULE_AGE = "age"
RULE_DISCIPLINE = "discipline"
RULE_CONCURRENT = "no_concurrent_procedure"
RULE_ANNUAL_GRADE = "annual_grade"
RULES = (RULE_PLANNING, RULE_TIME_IN_POST, RULE_AGE, RULE_DISCIPLINE, RULE_CONCURRENT, RULE_ANNUAL_GRADE)
# Re-appointment (NĐ 170 Điều 39; NĐ 138 Điều 49 [V] S42, QĐ 377 [V] S6): its own conditions — duties completed
# in the term, the post's standards (the head's evaluation and proposal, step 4), health, not barred — and the
# age rule of §3.8. Planning and time in post are not conditions of renewing the same post: they are reported as
# not applicable, so a re-appointment never needs an exception for them.
RULE_TERM_DUTIES = "term_duties"
RULE_STANDARDS = "standards"
RULE_HEALTH = "health"
RULE_NOT_BARRED = "not_barred"
REAPPOINTMENT_RULES = (
    RULE_PLANNING,
    RULE_TIME_IN_POST,
    RULE_TERM_DUTIES,
    RULE_STANDARDS,
    RULE_HEALTH,
    RULE_AGE,
    RULE_NOT_BARRED,
    RULE_CONCURRENT,
)

# The strings of workflows.registry.models.DisciplineLevel, as the decisions write them.
DISCIPLINE_LABELS: dict[str, str] = {
    "khien_trach": "khiển trách",
    "canh_cao": "cảnh cáo",
    "ha_bac_luong": "hạ bậc lương",
    "giang_chuc": "giáng chức",
    "cach_chuc": "cách chức",
    "bai_nhiem": "bãi nhiệm",
    "buoc_thoi_viec": "buộc thôi việc",
    "khai_tru": "khai trừ",
}

# Larger = more senior; equal = equivalent. Commune titles 11–19, provincial 31–39 [U] (see the module docstring).
DEFAULT_TITLE_RANKS: dict[str, int] = {
    "commune_department_head": 14,
    "commune_office_chief": 14,
    "commune_pc_vice_chair": 15,
    "commune_front_chair": 15,
    "commune_inspection_chair": 15,
    "commune_pc_chair": 16,
    "commune_deputy_party_secretary": 16,
    "commune_party_secretary": 17,
    "province_office_deputy": 31,
    "province_organisation_deputy": 31,
    "province_inspection_deputy": 31,
    "department_deputy_director": 31,
    "province_office_chief": 32,
    "department_director": 32,
    "province_pc_vice_chair": 33,
    "province_organisation_head": 33,
    "province_inspection_chair": 33,
    "province_front_chair": 33,
    "province_pc_chair": 34,
    "province_deputy_party_secretary": 34,
    "province_party_secretary": 35,
}

MAX_MONTHS = 600  # 50 years: no waiting time or margin is longer


def format_date(day: date) -> str:
    """dd/mm/yyyy, as Vietnamese documents write dates."""
    return day.strftime("%d/%m/%Y")


# ---------------------------------------------------------------------------------------------
# Policy
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AppointmentPolicy:
    """The configurable values of the appointment rules; every default carries its source or tag.

    `AppointmentPolicy(...)` and `from_mapping` both refuse an inconsistent policy with `Invalid`, one `Problem`
    per bad setting (field = the setting's name, `discipline_wait_months.<level>` for nested ones)."""

    # ≥ 24 months in the current or an equivalent post, first appointments exempt: QĐ 80 Điều 18 [V] S44, QĐ 727
    # [V] S40; NĐ 170 Điều 29 leaves it to the competent authority [P].
    min_months_in_post: int = 24
    # HD 06-HD/BTCTW [V] S45: retirement age minus age at dossier receipt ≥ 60 months for a 5-year post.
    min_months_to_retirement: int = 60
    # No age condition for a post of the same level or lower: [V] viên chức (S40), [P] công chức. True applies it.
    age_rule_for_same_or_lower: bool = False
    # QĐ 377-QĐ/TW [V] S10: waiting time before a higher post, by discipline level. A level missing here bars the
    # appointment until configured [U]: the domain reference gives no waiting time for the state forms.
    discipline_wait_months: Mapping[str, int] = field(
        default_factory=lambda: {"khien_trach": 24, "canh_cao": 36, "cach_chuc": 60}
    )
    # The latest annual grade must be at least this (NĐ 335 Điều 23 k3 uses the results; the minimum is [U]).
    min_annual_grade: str = "HTNV"
    # A cadre with no annual grade at all passes the grade rule only when this is True [U].
    allow_missing_annual_grade: bool = False
    # Local source: planned for the title or an equivalent / higher one [V] S4, S5, S39, S40.
    planning_accepts_equivalent: bool = True
    # Who counts as the local source (nguồn nhân sự tại chỗ, NĐ 170 Điều 33 k2 [V] S34) of a post at commune level or
    # below: True, anyone working in the commune as a whole — its party committee, people's council, people's
    # committee, front and their offices, one political system under BTV Đảng ủy xã (§0 [V] S54; §9.8 [U]); False,
    # only the post's unit and the units below it. Which pool a province uses is its phân cấp rule [U].
    local_source_whole_commune: bool = True
    # The expanded leadership's nomination slip (NĐ 170 Điều 33 k2 step 2, one person per post [P]) offers, beside the
    # proposed nominee, the local-source cadres of the approved plan for the post — only planned people may be
    # appointed (QĐ 377 Điều 34 [V] S5). Which names the slip prints is [P]: False prints the nominee alone (the
    # secretary still adds others by code), as before decision 0121.
    nomination_pool_from_plan: bool = True
    # title_code → rank (larger = more senior) [U]; see DEFAULT_TITLE_RANKS.
    title_ranks: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_TITLE_RANKS))
    # Term of office: 5 years from the decision's effective date, NĐ 170 Điều 28 [V] S39.
    term_years: int = 5
    # The decision takes effect at most this many months after the day it is entered [U: no rule bounds it; the
    # window catches a mistyped year] — and never before the procedure started (rules/procedure_days.py).
    decision_effective_within_months: int = 12
    # Re-appointment starts ≥ 90 days before the term ends, NĐ 170 Điều 39 [V] S37; QĐ 377 says 90 working days
    # [V] S6 — set reappointment_lead_in_working_days for party-managed cadres.
    reappointment_lead_days: int = 90
    reappointment_lead_in_working_days: bool = False
    # Near retirement, NĐ 138 Điều 49 [V] S42, carried into NĐ 170 [U]: < 60 months left at term end → the new
    # term runs to retirement; < 24 months → extension (kéo dài thời gian giữ chức vụ) instead of re-appointment.
    to_retirement_below_months: int = 60
    extension_below_months: int = 24
    # QĐ 96-QĐ/TW (2023) [V] S47, unchanged in 2025 [U]: a share of "low confidence" marks above
    # `confidence_low_above` (1/2) is low confidence — the competent authority considers leaving the post,
    # reassignment or resignation; at least `confidence_dismissal_from` (2/3) leads to dismissal (miễn nhiệm).
    # Fractions as [numerator, denominator], so 2/3 is exact.
    confidence_low_above: tuple[int, int] = (1, 2)
    confidence_dismissal_from: tuple[int, int] = (2, 3)
    # Re-appointment "hoàn thành nhiệm vụ" in the term (NĐ 138 Điều 49 [V] S42, NĐ 170 [P]): every annual grade of
    # the term's years at least this [U: which years and which grade the text means].
    reappointment_min_grade: str = "HTNV"
    # The health certificate (giấy chứng nhận sức khỏe) is at most this old at dossier receipt [U] (§3.6, §8).
    health_certificate_valid_months: int = 6
    # Working days each step has from the day it opens [U] (rules/step_deadlines.py; decision 0120); the [V] caps
    # (30 working days after the policy, 1 working day before the term ends) are the model's.
    step_working_days: Mapping[str, int] = field(default_factory=lambda: dict(APPOINTMENT_STEP_WORKING_DAYS))

    def __post_init__(self) -> None:
        check_settings(self, _policy_problems, N_("the appointment settings are not valid"))

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> AppointmentPolicy:
        """Settings as JSON (admin configuration); every bad value is reported, not only the first."""
        merged = merged_settings(
            DEFAULT_POLICY, values, _policy_problems, N_("the appointment settings are not valid"), convert=_as_given
        )
        merged["discipline_wait_months"] = dict(merged["discipline_wait_months"])
        merged["title_ranks"] = dict(merged["title_ranks"])
        merged["step_working_days"] = dict(merged["step_working_days"])
        for name in _FRACTIONS:
            merged[name] = tuple(merged[name])
        return cls(**merged)

    def to_mapping(self) -> dict[str, Any]:
        """JSON-ready settings; `from_mapping(p.to_mapping()) == p`."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        data["discipline_wait_months"] = dict(self.discipline_wait_months)
        data["title_ranks"] = dict(self.title_ranks)
        data["step_working_days"] = dict(self.step_working_days)
        for name in _FRACTIONS:
            data[name] = list(getattr(self, name))
        return data

    def rank_of(self, title_code: str | None) -> int | None:
        return self.title_ranks.get(title_code) if title_code else None


def _as_given(name: str, value: Any, default: Any) -> tuple[Any, list[Problem]]:
    if name == "step_working_days":
        return merged_step_days(default, value), []
    return value, []


_FRACTIONS = ("confidence_low_above", "confidence_dismissal_from")


def _fraction_setting(values: Mapping[str, Any], problems: list[Problem], name: str) -> Fraction | None:
    """[numerator, denominator] strictly between 0 and 1."""
    value = values[name]
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(is_whole(part) for part in value)
        or not 0 < value[0] < value[1] <= 100
    ):
        problems.append(Problem("expected [numerator, denominator], a fraction between 0 and 1", field=name))
        return None
    return Fraction(value[0], value[1])


def _policy_problems(values: Mapping[str, Any]) -> list[Problem]:
    problems: list[Problem] = []

    whole_in = partial(whole_setting, values, problems)

    def flag(name: str) -> None:
        if not isinstance(values[name], bool):
            problems.append(Problem("expected true or false", field=name))

    whole_in("min_months_in_post", 0, MAX_MONTHS)
    whole_in("min_months_to_retirement", 0, MAX_MONTHS)
    flag("age_rule_for_same_or_lower")
    waits = values["discipline_wait_months"]
    if not isinstance(waits, Mapping):
        problems.append(Problem("expected an object of settings", field="discipline_wait_months"))
    else:
        for level, months in waits.items():
            where = f"discipline_wait_months.{level}"
            if level not in DISCIPLINE_LABELS:
                problems.append(Problem("unknown discipline level", field=where))
            elif not is_whole(months):
                problems.append(Problem("expected a whole number", field=where))
            elif not 0 <= months <= MAX_MONTHS:
                problems.append(Problem("the value is outside the allowed range", field=where))
    if values["min_annual_grade"] not in GRADES:
        problems.append(Problem("must be one of HTXSNV, HTTNV, HTNV, KHTNV", field="min_annual_grade"))
    flag("allow_missing_annual_grade")
    flag("planning_accepts_equivalent")
    flag("local_source_whole_commune")
    flag("nomination_pool_from_plan")
    if values["reappointment_min_grade"] not in GRADES:
        problems.append(Problem("must be one of HTXSNV, HTTNV, HTNV, KHTNV", field="reappointment_min_grade"))
    whole_in("health_certificate_valid_months", 1, 60)
    ranks = values["title_ranks"]
    if not isinstance(ranks, Mapping):
        problems.append(Problem("expected an object of settings", field="title_ranks"))
    else:
        for code, rank in ranks.items():
            where = f"title_ranks.{code}"
            if not isinstance(code, str) or not code:
                problems.append(Problem("expected a title code", field=where))
            elif not is_whole(rank):
                problems.append(Problem("expected a whole number", field=where))
            elif not 0 <= rank <= 1000:
                problems.append(Problem("the value is outside the allowed range", field=where))
    whole_in("term_years", 1, 10)
    whole_in("decision_effective_within_months", 1, 60)
    whole_in("reappointment_lead_days", 1, 365)
    flag("reappointment_lead_in_working_days")
    below_ok = [whole_in(name, 0, MAX_MONTHS) for name in ("extension_below_months", "to_retirement_below_months")]
    if all(below_ok) and values["extension_below_months"] > values["to_retirement_below_months"]:
        problems.append(
            Problem(
                "the extension threshold cannot exceed the term-to-retirement threshold",
                field="extension_below_months",
            )
        )
    problems.extend(step_days_problems(values["step_working_days"], APPOINTMENT_STEP_WORKING_DAYS))
    low, dismissal = (_fraction_setting(values, problems, name) for name in _FRACTIONS)
    if low is not None and dismissal is not None and dismissal <= low:
        problems.append(
            Problem("the dismissal share must be above the low-confidence share", field="confidence_dismissal_from")
        )
    return problems


DEFAULT_POLICY = AppointmentPolicy()


# ---------------------------------------------------------------------------------------------
# Facts and results
# ---------------------------------------------------------------------------------------------
class PlannedTitle(NamedTuple):
    """An active planning entry of the cadre: the position, its title and its rank (None when unranked)."""

    position_id: int
    title: str
    rank: int | None = None


class RunningCase(NamedTuple):
    """Another procedure under way for the cadre: its case number and the procedure's name as its version has it."""

    instance_id: int
    process_name: str  # "Bổ nhiệm, bổ nhiệm lại"


def case_words(cases: Iterable[RunningCase]) -> str:
    """Cases as a finding names them, as people do on every page — "hồ sơ số 12 (Bổ nhiệm, bổ nhiệm lại)" — never by
    the internal reference "appointment#12"."""
    return ", ".join(f"hồ sơ số {case.instance_id} ({case.process_name})" for case in cases)


class DisciplineFact(NamedTuple):
    level: str  # a DisciplineLevel string
    decided_on: date
    expires_on: date | None = None


@dataclass(frozen=True)
class CandidateFacts:
    """What the rules need to know about a candidate and the post, as of the check (see
    `workflows.appointment.facts.candidate_facts`)."""

    birth_date: date | None
    gender: str | None  # "male" / "female"
    retirement_date: date | None  # stored on the cadre (first day of retirement)
    current_post_started_on: date | None  # start of the current leadership post; None when none is held
    first_appointment: bool  # no leadership post held: time in post does not apply
    planned: tuple[PlannedTitle, ...]
    target_position_id: int
    target_title: str
    target_rank: int | None
    disciplines: tuple[DisciplineFact, ...] = ()
    appointment_in_progress: bool = False  # another appointment of this cadre is running
    planning_in_progress: bool = False  # a planning review naming this cadre is running
    latest_annual_grade: str | None = None
    latest_annual_period: str | None = None  # "2025"
    current_rank: int | None = None  # the most senior current leadership post's rank
    current_title: str | None = None
    # Months in earlier equivalent posts, added to the current post's (NĐ 170 / QĐ 80: time can be added up).
    earlier_equivalent_months: int = 0
    in_progress_cases: tuple[RunningCase, ...] = ()  # the running procedures behind the two flags above

    @property
    def planned_position_ids(self) -> tuple[int, ...]:
        return tuple(p.position_id for p in self.planned)

    def to_mapping(self) -> dict[str, Any]:
        """JSON-ready (dates as ISO text), for workflow data and the audit log."""

        def plain(value: Any) -> Any:
            if isinstance(value, date):
                return value.isoformat()
            if isinstance(value, tuple):
                return [plain(v) for v in value]
            return value

        data = {f.name: plain(getattr(self, f.name)) for f in dataclasses.fields(self)}
        data["planned"] = [p._asdict() for p in self.planned]
        data["disciplines"] = [{k: plain(v) for k, v in d._asdict().items()} for d in self.disciplines]
        data["in_progress_cases"] = [case._asdict() for case in self.in_progress_cases]
        return data


@dataclass(frozen=True)
class RuleResult:
    rule: str  # one of RULES
    passed: bool
    message: str  # Vietnamese, with the numbers compared
    source: str  # the legal source
    # The rule could not be checked: a fact it needs is blank in the registry (then `passed` is False, as a rule
    # that cannot be checked is not met). Read by the appointment start page's preview to say "unknown, fill in the
    # record" rather than "not met"; left out of `to_mapping`, so the process data keeps its shape.
    unknown: bool = False

    def to_mapping(self) -> dict[str, Any]:
        return {"rule": self.rule, "passed": self.passed, "message": self.message, "source": self.source}


def is_eligible(results: Iterable[RuleResult]) -> bool:
    return all(result.passed for result in results)


def failed_rules(results: Iterable[RuleResult]) -> list[str]:
    return [result.rule for result in results if not result.passed]


# ---------------------------------------------------------------------------------------------
# Months and age
# ---------------------------------------------------------------------------------------------
def months_between(start: date, end: date) -> int:
    """Completed months from `start` to `end` (negative when `end` is earlier): 15/01 → 15/03 is 2, → 14/03 is 1;
    31/01 → 28/02 is 1 (the month completes on the last day of a month too short for the 31st)."""
    return age_in_months(start, end)


# HD 06-HD/BTCTW: months to retirement = required retirement age − age on the day the dossier is received.
def months_to_retirement(
    facts: CandidateFacts, on: date, schedule: RetirementSchedule = DEFAULT_SCHEDULE
) -> int | None:
    """None when the birth date or the gender is missing (the age rule then fails: it cannot be checked)."""
    if facts.birth_date is None or facts.gender not in ("male", "female"):
        return None
    return months_until_retirement(facts.birth_date, facts.gender, on, schedule)


# QĐ 727 / QĐ 80 Điều 18 [V] S40, S44: the age condition is for a first appointment or a higher post only.
def age_rule_applies(facts: CandidateFacts, policy: AppointmentPolicy = DEFAULT_POLICY) -> bool:
    if policy.age_rule_for_same_or_lower or facts.first_appointment:
        return True
    if facts.current_rank is None or facts.target_rank is None:
        return True  # cannot tell whether the post is higher: the age condition is checked
    return facts.target_rank > facts.current_rank


# ---------------------------------------------------------------------------------------------
# Local source or from elsewhere (NĐ 170 Điều 33 k2, k3)
# ---------------------------------------------------------------------------------------------
def local_source_root(
    post_unit_id: int, units: Mapping[int, UnitNode], policy: AppointmentPolicy = DEFAULT_POLICY
) -> int:
    """The unit whose people are the post's local source: the commune the post is in (the commune-level unit that is
    its unit or lies above it) when `policy.local_source_whole_commune`, else — and for a post above commune level —
    the post's own unit. `units` holds at least the post's unit and its ancestors."""
    if policy.local_source_whole_commune:
        commune = commune_of(post_unit_id, units)
        if commune is not None:
            return commune
    return post_unit_id


# NĐ 170/2025/NĐ-CP Điều 33 k2 [V] S34 (nguồn tại chỗ); the commune as one pool, §0 [V] S54 and §9.8 [U]: configurable.
def is_local_source(
    cadre_unit_id: int | None,
    post_unit_id: int,
    units: Mapping[int, UnitNode],
    policy: AppointmentPolicy = DEFAULT_POLICY,
) -> bool:
    """Whether a cadre working in `cadre_unit_id` is the local source for a post of `post_unit_id`: their unit is
    `local_source_root` or below it. A cadre without a unit, or whose unit is not in `units`, is from elsewhere."""
    cadre = units.get(cadre_unit_id) if cadre_unit_id is not None else None
    if cadre is None:
        return False
    root = local_source_root(post_unit_id, units, policy)
    return cadre.id == root or root in cadre.ancestors


# ---------------------------------------------------------------------------------------------
# The nomination slip's pool (the expanded leadership, NĐ 170 Điều 33 k2 step 2)
# ---------------------------------------------------------------------------------------------
class PlannedCadre(NamedTuple):
    """A cadre with an active entry of the approved plan for the post, as the slip's pool reads them."""

    code: str
    name: str
    unit_id: int | None
    is_active: bool = True
    holds_post: bool = False  # already holds the post: planning stops there (decision 0113)


# QĐ 377 Điều 34 [V] S5 (only planned people, the local source planned for the title), NĐ 170 Điều 33 k2 step 2 [P]
def nomination_pool(
    nominee: tuple[str, str],
    planned: Iterable[PlannedCadre],
    post_unit_id: int,
    units: Mapping[int, UnitNode],
    policy: AppointmentPolicy = DEFAULT_POLICY,
) -> list[tuple[str, str]]:
    """The people the nomination slip names, as (code, name): the proposed nominee first, then — when
    `policy.nomination_pool_from_plan` — each active local-source cadre planned for the post who does not hold it
    yet, in the plan's order, each once. A cadre planned from elsewhere stays off: this slip is the local source's
    (§3.4); the secretary may still add anyone by code."""
    pool = [nominee]
    if not policy.nomination_pool_from_plan:
        return pool
    seen = {nominee[0]}
    for cadre in planned:
        if cadre.code in seen or not cadre.is_active or cadre.holds_post:
            continue
        if not is_local_source(cadre.unit_id, post_unit_id, units, policy):
            continue
        pool.append((cadre.code, cadre.name))
        seen.add(cadre.code)
    return pool


# ---------------------------------------------------------------------------------------------
# The rules
# ---------------------------------------------------------------------------------------------
_SOURCE_PLANNING = "QĐ 377-QĐ/TW Điều 34; NĐ 170/2025/NĐ-CP Điều 29"
_SOURCE_TIME = "QĐ 80-QĐ/TW Điều 18 (QĐ 377 giữ nguyên); NĐ 170/2025/NĐ-CP Điều 29"
_SOURCE_AGE = "HD 06-HD/BTCTW; Bộ luật Lao động 2019 Điều 169, NĐ 135/2020/NĐ-CP"
_SOURCE_DISCIPLINE = "QĐ 377-QĐ/TW (thời hạn sau kỷ luật khi bổ nhiệm chức vụ cao hơn)"
_SOURCE_CONCURRENT = "QĐ 377-QĐ/TW (không thực hiện quy hoạch đồng thời với đề xuất bổ nhiệm)"
_SOURCE_GRADE = "NĐ 335/2025/NĐ-CP Điều 23 k3; QĐ 366-QĐ/TW"


# QĐ 377 Điều 34, NĐ 170 Điều 29: planned for the title, or (both sources) an equivalent or higher title.
def _check_planning(facts: CandidateFacts, policy: AppointmentPolicy) -> RuleResult:
    target = facts.target_title
    for planned in facts.planned:
        if planned.position_id == facts.target_position_id:
            return RuleResult(RULE_PLANNING, True, f"Có trong quy hoạch chức danh {target}", _SOURCE_PLANNING)
    if policy.planning_accepts_equivalent and facts.target_rank is not None:
        matches = [p for p in facts.planned if p.rank is not None and p.rank >= facts.target_rank]
        if matches:
            best = max(matches, key=lambda p: p.rank or 0)
            kind = "tương đương" if best.rank == facts.target_rank else "cao hơn"
            return RuleResult(
                RULE_PLANNING,
                True,
                f"Có trong quy hoạch chức danh {best.title}, {kind} chức danh {target}",
                _SOURCE_PLANNING,
            )
    if facts.planned:
        listed = "; ".join(p.title for p in facts.planned)
        detail = f"đang trong quy hoạch: {listed}"
    else:
        detail = "chưa có trong quy hoạch chức danh nào"
    wanted = "hoặc chức danh tương đương, cao hơn" if policy.planning_accepts_equivalent else ""
    return RuleResult(
        RULE_PLANNING,
        False,
        " ".join(f"Không có trong quy hoạch chức danh {target} {wanted}".split()) + f" ({detail})",
        _SOURCE_PLANNING,
    )


# QĐ 80 Điều 18 / QĐ 727 [V]: ≥ 24 months in the current or an equivalent post; first appointments exempt.
def _check_time_in_post(facts: CandidateFacts, on: date, policy: AppointmentPolicy) -> RuleResult:
    need = policy.min_months_in_post
    if facts.first_appointment:
        return RuleResult(
            RULE_TIME_IN_POST, True, "Bổ nhiệm lần đầu: không yêu cầu thời gian giữ chức vụ", _SOURCE_TIME
        )
    if facts.current_post_started_on is None:
        return RuleResult(
            RULE_TIME_IN_POST,
            False,
            "Hồ sơ không ghi ngày bắt đầu giữ chức vụ hiện tại, không tính được thời gian giữ chức vụ",
            _SOURCE_TIME,
            unknown=True,
        )
    current = max(0, months_between(facts.current_post_started_on, on))
    held = current + facts.earlier_equivalent_months
    post = f"chức vụ {facts.current_title}" if facts.current_title else "chức vụ hiện tại"
    since = f"từ {format_date(facts.current_post_started_on)}"
    if facts.earlier_equivalent_months:
        since += f", cộng {facts.earlier_equivalent_months} tháng ở chức vụ tương đương trước đó"
    when = f"tính đến ngày nhận hồ sơ {format_date(on)}"
    if held >= need:
        message = f"Đã giữ {post} {held} tháng ({since}), đủ ít nhất {need} tháng {when}"
    else:
        message = f"Mới giữ {post} {held} tháng ({since}), cần ít nhất {need} tháng {when}"
    return RuleResult(RULE_TIME_IN_POST, held >= need, message, _SOURCE_TIME)


# HD 06-HD/BTCTW [V] S45: ≥ 60 months from the age at dossier receipt to the retirement age.
def _check_age(facts: CandidateFacts, on: date, policy: AppointmentPolicy, schedule: RetirementSchedule) -> RuleResult:
    need = policy.min_months_to_retirement
    if not age_rule_applies(facts, policy):
        return RuleResult(
            RULE_AGE,
            True,
            f"Bổ nhiệm vào chức vụ cùng cấp hoặc thấp hơn {facts.current_title or 'chức vụ hiện tại'}: "
            "không áp dụng điều kiện tuổi",
            _SOURCE_AGE,
        )
    left = months_to_retirement(facts, on, schedule)
    if left is None:
        return RuleResult(
            RULE_AGE,
            False,
            "Hồ sơ thiếu ngày sinh hoặc giới tính, không tính được thời gian còn lại đến tuổi nghỉ hưu",
            _SOURCE_AGE,
            unknown=True,
        )
    when = f"tính đến ngày nhận hồ sơ {format_date(on)}"
    retires = f" (nghỉ hưu từ {format_date(facts.retirement_date)})" if facts.retirement_date else ""
    if left <= 0:
        return RuleResult(RULE_AGE, False, f"Đã đến tuổi nghỉ hưu {when}{retires}", _SOURCE_AGE)
    if left >= need:
        message = f"Còn {left} tháng đến tuổi nghỉ hưu, đủ ít nhất {need} tháng {when}{retires}"
    else:
        message = f"Còn {left} tháng đến tuổi nghỉ hưu, cần ít nhất {need} tháng {when}{retires}"
    return RuleResult(RULE_AGE, left >= need, message, _SOURCE_AGE)


# QĐ 377-QĐ/TW [V] S10: khiển trách 24, cảnh cáo 36, cách chức 60 months before a higher post.
def _check_discipline(facts: CandidateFacts, on: date, policy: AppointmentPolicy) -> RuleResult:
    if not facts.disciplines:
        return RuleResult(RULE_DISCIPLINE, True, "Không bị kỷ luật", _SOURCE_DISCIPLINE)
    blocking: list[str] = []
    cleared: list[str] = []
    when = f"tính đến ngày nhận hồ sơ {format_date(on)}"
    for record in sorted(facts.disciplines, key=lambda d: d.decided_on):
        label = DISCIPLINE_LABELS.get(record.level, record.level)
        what = f"kỷ luật {label} ngày {format_date(record.decided_on)}"
        wait = policy.discipline_wait_months.get(record.level)
        if record.expires_on is not None and record.expires_on > on:
            blocking.append(f"{what} còn hiệu lực đến {format_date(record.expires_on)}")
            continue
        if wait is None:
            blocking.append(f"{what}: mức kỷ luật này chưa có thời hạn chờ, cấp có thẩm quyền xem xét")
            continue
        passed = max(0, months_between(record.decided_on, on))
        if passed >= wait:
            cleared.append(f"{what} đã qua {passed} tháng (thời hạn {wait} tháng)")
        else:
            until = format_date(add_months(record.decided_on, wait))
            blocking.append(f"{what} mới được {passed} tháng, cần {wait} tháng (đến {until})")
    if blocking:
        return RuleResult(RULE_DISCIPLINE, False, "Bị " + "; ".join(blocking) + f" {when}", _SOURCE_DISCIPLINE)
    return RuleResult(RULE_DISCIPLINE, True, "Có " + "; ".join(cleared) + f" {when}", _SOURCE_DISCIPLINE)


# QĐ 377-QĐ/TW [V] S7, S8: planning is never done together with proposing an appointment.
def _check_concurrent(facts: CandidateFacts) -> RuleResult:
    problems: list[str] = []
    if facts.planning_in_progress:
        problems.append("đang thực hiện quy trình quy hoạch đối với cán bộ")
    if facts.appointment_in_progress:
        problems.append("đang có quy trình bổ nhiệm khác đối với cán bộ")
    if not problems:
        return RuleResult(
            RULE_CONCURRENT, True, "Không có quy trình quy hoạch hoặc bổ nhiệm khác đang thực hiện", _SOURCE_CONCURRENT
        )
    cases = f" — {case_words(facts.in_progress_cases)}" if facts.in_progress_cases else ""
    message = "; ".join(problems) + cases + ": không thực hiện quy hoạch đồng thời với bổ nhiệm"
    return RuleResult(RULE_CONCURRENT, False, message[0].upper() + message[1:], _SOURCE_CONCURRENT)


# NĐ 335 Điều 23 k3: the evaluation results are used for appointment; the minimum grade is configured [U].
def _check_annual_grade(facts: CandidateFacts, policy: AppointmentPolicy) -> RuleResult:
    minimum = policy.min_annual_grade
    need = GRADE_LABELS[minimum]
    grade = facts.latest_annual_grade
    if grade is None:
        message = "Chưa có kết quả xếp loại chất lượng năm"
        if policy.allow_missing_annual_grade:
            return RuleResult(RULE_ANNUAL_GRADE, True, message + " (cho phép theo cấu hình)", _SOURCE_GRADE)
        return RuleResult(RULE_ANNUAL_GRADE, False, message + f", cần tối thiểu {need}", _SOURCE_GRADE, unknown=True)
    if grade not in GRADES:
        return RuleResult(RULE_ANNUAL_GRADE, False, f"Kết quả xếp loại không hợp lệ: {grade}", _SOURCE_GRADE)
    year = f" năm {facts.latest_annual_period}" if facts.latest_annual_period else " năm gần nhất"
    ok = GRADES.index(grade) <= GRADES.index(minimum)
    relation = "đạt mức tối thiểu" if ok else "thấp hơn mức tối thiểu"
    return RuleResult(RULE_ANNUAL_GRADE, ok, f"Xếp loại{year}: {GRADE_LABELS[grade]}, {relation} {need}", _SOURCE_GRADE)


def check_eligibility(
    facts: CandidateFacts,
    *,
    dossier_received_on: date,
    policy: AppointmentPolicy = DEFAULT_POLICY,
    schedule: RetirementSchedule = DEFAULT_SCHEDULE,
) -> list[RuleResult]:
    """One result per rule, in `RULES` order. `dossier_received_on` is the day the personnel body received the
    tờ trình and dossier (HD 06); the months of every rule are counted to that day."""
    return [
        _check_planning(facts, policy),
        _check_time_in_post(facts, dossier_received_on, policy),
        _check_age(facts, dossier_received_on, policy, schedule),
        _check_discipline(facts, dossier_received_on, policy),
        _check_concurrent(facts),
        _check_annual_grade(facts, policy),
    ]


# ---------------------------------------------------------------------------------------------
# Re-appointment (NĐ 170 Điều 39, NĐ 138 Điều 49; domain rules §3.8)
# ---------------------------------------------------------------------------------------------
# NĐ 170 Điều 39 [V] S37: the review starts at least 90 days before the term ends (QĐ 377: 90 working days [V] S6).
def reappointment_start_date(term_ends_on: date, lead_days: int = 90, calendar: WorkCalendar | None = None) -> date:
    """The last day on which the re-appointment review may start: `lead_days` before the term's last day, in
    calendar days, or in working days when a calendar is given."""
    if calendar is not None:
        return calendar.add_working_days(term_ends_on, -lead_days)
    return term_ends_on - timedelta(days=lead_days)


def reappointment_due(
    term_ends_on: date, today: date, lead_days: int = 90, calendar: WorkCalendar | None = None
) -> bool:
    """True from `reappointment_start_date` on, also after the term ended (a late review is still due)."""
    return today >= reappointment_start_date(term_ends_on, lead_days, calendar)


def _term_end(start: date, years: int) -> date:
    return add_months(start, 12 * years) - timedelta(days=1)


# NĐ 170 Điều 28 [V] S39 (5-year term); NĐ 138 Điều 49 [V] S42: < 5 years to retirement, the term runs to it.
def reappointment_term_end(start: date, retirement_date: date | None, term_years: int = 5) -> date:
    """The last day of a term starting on `start`: `term_years` later less a day, or the last day before
    retirement (`retirement_date` is the first day of retirement) when that comes first."""
    end = _term_end(start, term_years)
    if retirement_date is not None and retirement_date - timedelta(days=1) < end:
        return retirement_date - timedelta(days=1)
    return end


# NĐ 138 Điều 49 [V] S42: < 2 years left at the term's end → extension instead of re-appointment.
def extension_applies(term_ends_on: date, retirement_date: date | None, below_months: int = 24) -> bool:
    if retirement_date is None:
        return False
    return months_between(term_ends_on + timedelta(days=1), retirement_date) < below_months


class ReappointmentPlan(NamedTuple):
    kind: str  # "reappointment" (a full term), "to_retirement" (re-appointed until retirement), "extension"
    new_term_ends_on: date
    months_to_retirement: int | None  # counted from the day after the term ends
    message: str


def reappointment_plan(
    term_ends_on: date, retirement_date: date | None, policy: AppointmentPolicy = DEFAULT_POLICY
) -> ReappointmentPlan:
    """Which branch of §3.8 applies when the term ending on `term_ends_on` is renewed, and the new term's end."""
    start = term_ends_on + timedelta(days=1)
    left = months_between(start, retirement_date) if retirement_date is not None else None
    new_end = reappointment_term_end(start, retirement_date, policy.term_years)
    if left is not None and left < policy.extension_below_months:
        return ReappointmentPlan(
            "extension",
            new_end,
            left,
            f"Còn {max(left, 0)} tháng đến tuổi nghỉ hưu khi hết nhiệm kỳ ({format_date(term_ends_on)}), dưới "
            f"{policy.extension_below_months} tháng: kéo dài thời gian giữ chức vụ đến {format_date(new_end)}",
        )
    if left is not None and left < policy.to_retirement_below_months:
        return ReappointmentPlan(
            "to_retirement",
            new_end,
            left,
            f"Còn {left} tháng đến tuổi nghỉ hưu khi hết nhiệm kỳ ({format_date(term_ends_on)}), dưới "
            f"{policy.to_retirement_below_months} tháng: bổ nhiệm lại đến khi nghỉ hưu ({format_date(new_end)})",
        )
    return ReappointmentPlan(
        "reappointment",
        new_end,
        left,
        f"Bổ nhiệm lại {policy.term_years} năm, đến {format_date(new_end)}",
    )


# ---------------------------------------------------------------------------------------------
# Confidence votes (QĐ 96-QĐ/TW; domain rules §3.9)
# ---------------------------------------------------------------------------------------------
class Confidence(StrEnum):
    """The level a confidence ballot reads, from the share of "low confidence" (no) marks."""

    NORMAL = "normal"
    LOW = "low"  # > 1/2 and < 2/3: out of planning for higher posts, considered for leaving the post
    DISMISSAL = "dismissal"  # ≥ 2/3: considered for dismissal (miễn nhiệm)


# QĐ 96-QĐ/TW [V] S47: more than 1/2 low confidence → low; at least 2/3 → dismissal (thresholds configurable).
def confidence_level(
    no: int, denominator: int, *, quorum_met: bool = True, policy: AppointmentPolicy = DEFAULT_POLICY
) -> Confidence:
    """An invalid conference (quorum missed) or an empty denominator decides nothing: NORMAL."""
    if not quorum_met or denominator <= 0:
        return Confidence.NORMAL
    share = Fraction(no, denominator)
    if share >= Fraction(*policy.confidence_dismissal_from):
        return Confidence.DISMISSAL
    if share > Fraction(*policy.confidence_low_above):
        return Confidence.LOW
    return Confidence.NORMAL


# ---------------------------------------------------------------------------------------------
# Re-appointment eligibility (NĐ 170 Điều 39; NĐ 138 Điều 49; QĐ 377; domain rules §3.8)
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReappointmentFacts:
    """The candidate's facts plus the term being renewed and what the procedure has gathered so far."""

    candidate: CandidateFacts
    term_started_on: date
    term_ends_on: date
    term_grades: tuple[tuple[str, str], ...] = ()  # (year, grade) of the annual results in the term's years
    health_certificate_on: date | None = None  # from the dossier
    head_proposes: bool | None = None  # the head's proposal (step 4): True re-appoint, False not, None not yet


_SOURCE_REAPPOINTMENT = "NĐ 170/2025/NĐ-CP Điều 39; NĐ 138/2024/NĐ-CP Điều 49; QĐ 377-QĐ/TW"
_SOURCE_STANDARDS = "NĐ 170/2025/NĐ-CP Điều 39 (thủ trưởng nhận xét, đánh giá, đề xuất)"
_SOURCE_HEALTH = "NĐ 138/2024/NĐ-CP Điều 49 (đủ sức khỏe); NĐ 170/2025/NĐ-CP Điều 35"
_SOURCE_AGE_REAPPOINTMENT = "NĐ 138/2024/NĐ-CP Điều 49 (còn dưới 5 năm, dưới 2 năm công tác)"
_SOURCE_BARRED = "NĐ 170/2025/NĐ-CP Điều 29; QĐ 377-QĐ/TW (đang thi hành kỷ luật)"


def _not_applicable(facts: ReappointmentFacts) -> list[RuleResult]:
    post = facts.candidate.target_title
    return [
        RuleResult(
            RULE_PLANNING,
            True,
            f"Bổ nhiệm lại chức vụ {post}: không xét điều kiện quy hoạch",
            _SOURCE_REAPPOINTMENT,
        ),
        RuleResult(
            RULE_TIME_IN_POST,
            True,
            f"Bổ nhiệm lại chức vụ {post}: không xét thời gian giữ chức vụ",
            _SOURCE_REAPPOINTMENT,
        ),
    ]


# NĐ 138 Điều 49 [V] S42 (NĐ 170 Điều 39 [P]): duties completed in the term, read from its annual grades.
def _check_term_duties(facts: ReappointmentFacts, on: date, policy: AppointmentPolicy) -> RuleResult:
    minimum = policy.reappointment_min_grade
    first, last = facts.term_started_on.year, min(on.year, facts.term_ends_on.year)
    graded = sorted((period, grade) for period, grade in facts.term_grades if period.isdigit())
    in_term = [(period, grade) for period, grade in graded if first <= int(period) <= last]
    term = f"nhiệm kỳ {format_date(facts.term_started_on)} – {format_date(facts.term_ends_on)}"
    if not in_term:
        message = f"Chưa có kết quả xếp loại chất lượng năm nào trong {term}"
        if policy.allow_missing_annual_grade:
            return RuleResult(RULE_TERM_DUTIES, True, message + " (cho phép theo cấu hình)", _SOURCE_REAPPOINTMENT)
        return RuleResult(RULE_TERM_DUTIES, False, message, _SOURCE_REAPPOINTMENT)
    below = [(p, g) for p, g in in_term if g not in GRADES or GRADES.index(g) > GRADES.index(minimum)]
    listed = "; ".join(f"năm {p}: {GRADE_LABELS.get(g, g)}" for p, g in in_term)
    if below:
        years = ", ".join(p for p, _ in below)
        message = f"Năm {years} xếp loại thấp hơn {GRADE_LABELS[minimum]} trong {term} ({listed})"
        return RuleResult(RULE_TERM_DUTIES, False, message, _SOURCE_REAPPOINTMENT)
    message = f"Các năm trong {term} đều đạt tối thiểu {GRADE_LABELS[minimum]} ({listed})"
    return RuleResult(RULE_TERM_DUTIES, True, message, _SOURCE_REAPPOINTMENT)


# NĐ 170 Điều 39 step 4: the head evaluates the cadre against the post's standards and proposes.
def _check_standards(facts: ReappointmentFacts) -> RuleResult:
    if facts.head_proposes is None:
        return RuleResult(RULE_STANDARDS, False, "Chưa có nhận xét, đề xuất của thủ trưởng đơn vị", _SOURCE_STANDARDS)
    if facts.head_proposes:
        return RuleResult(
            RULE_STANDARDS,
            True,
            "Thủ trưởng đơn vị đánh giá đáp ứng tiêu chuẩn, đề nghị bổ nhiệm lại",
            _SOURCE_STANDARDS,
        )
    return RuleResult(RULE_STANDARDS, False, "Thủ trưởng đơn vị không đề nghị bổ nhiệm lại", _SOURCE_STANDARDS)


# NĐ 138 Điều 49 [V] S42: health to perform the duties, shown by a certificate at most 6 months old [U].
def _check_health(facts: ReappointmentFacts, on: date, policy: AppointmentPolicy) -> RuleResult:
    months = policy.health_certificate_valid_months
    issued = facts.health_certificate_on
    if issued is None:
        return RuleResult(RULE_HEALTH, False, "Hồ sơ chưa có giấy chứng nhận sức khỏe", _SOURCE_HEALTH)
    when = f"tính đến ngày nhận hồ sơ {format_date(on)}"
    if issued > on:
        message = f"Giấy chứng nhận sức khỏe ghi ngày {format_date(issued)}, sau ngày nhận hồ sơ {format_date(on)}"
        return RuleResult(RULE_HEALTH, False, message, _SOURCE_HEALTH)
    if add_months(issued, months) < on:
        message = f"Giấy chứng nhận sức khỏe ngày {format_date(issued)} đã quá {months} tháng {when}"
        return RuleResult(RULE_HEALTH, False, message, _SOURCE_HEALTH)
    message = f"Giấy chứng nhận sức khỏe ngày {format_date(issued)}, trong thời hạn {months} tháng {when}"
    return RuleResult(RULE_HEALTH, True, message, _SOURCE_HEALTH)


# NĐ 138 Điều 49 [V] S42: a term that reaches retirement runs to it (< 5 years) or is extended (< 2 years); the
# renewal is barred only when the cadre retires before the new term would start.
def _check_reappointment_age(
    facts: ReappointmentFacts, policy: AppointmentPolicy, schedule: RetirementSchedule
) -> RuleResult:
    candidate = facts.candidate
    retires = candidate.retirement_date
    if retires is None and candidate.birth_date is not None and candidate.gender in ("male", "female"):
        retires = retirement_date(candidate.birth_date, candidate.gender, schedule)
    if retires is None:
        return RuleResult(
            RULE_AGE,
            False,
            "Hồ sơ thiếu ngày sinh hoặc giới tính, không xác định được thời điểm nghỉ hưu",
            _SOURCE_AGE_REAPPOINTMENT,
            unknown=True,
        )
    new_start = facts.term_ends_on + timedelta(days=1)
    if retires <= new_start:
        message = f"Nghỉ hưu từ {format_date(retires)}, trước khi bắt đầu thời hạn mới ({format_date(new_start)})"
        return RuleResult(RULE_AGE, False, message, _SOURCE_AGE_REAPPOINTMENT)
    plan = reappointment_plan(facts.term_ends_on, retires, policy)
    return RuleResult(RULE_AGE, True, plan.message, _SOURCE_AGE_REAPPOINTMENT)


# NĐ 170 Điều 29, QĐ 377: not while a discipline is in effect (the waiting times of a higher post do not apply).
def _check_not_barred(facts: ReappointmentFacts, on: date) -> RuleResult:
    in_effect = [
        f"kỷ luật {DISCIPLINE_LABELS.get(d.level, d.level)} ngày {format_date(d.decided_on)} còn hiệu lực đến "
        f"{format_date(d.expires_on)}"
        for d in sorted(facts.candidate.disciplines, key=lambda d: d.decided_on)
        if d.expires_on is not None and d.expires_on > on
    ]
    when = f"tính đến ngày nhận hồ sơ {format_date(on)}"
    if in_effect:
        return RuleResult(RULE_NOT_BARRED, False, "Đang thi hành " + "; ".join(in_effect) + f" {when}", _SOURCE_BARRED)
    return RuleResult(RULE_NOT_BARRED, True, f"Không đang thi hành kỷ luật {when}", _SOURCE_BARRED)


def check_reappointment_eligibility(
    facts: ReappointmentFacts,
    *,
    dossier_received_on: date,
    policy: AppointmentPolicy = DEFAULT_POLICY,
    schedule: RetirementSchedule = DEFAULT_SCHEDULE,
) -> list[RuleResult]:
    """One result per rule, in `REAPPOINTMENT_RULES` order (planning and time in post reported as not applicable)."""
    return [
        *_not_applicable(facts),
        _check_term_duties(facts, dossier_received_on, policy),
        _check_standards(facts),
        _check_health(facts, dossier_received_on, policy),
        _check_reappointment_age(facts, policy, schedule),
        _check_not_barred(facts, dossier_received_on),
        _check_concurrent(facts.candidate),
    ]
