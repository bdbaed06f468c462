"""Monthly evaluation of công chức (issue #5): the score of a month, its grade, the roll-ups and the HTXSNV quota.

Pure functions of plain data: nothing reads the database or the clock. Sources: NĐ 335/2025/NĐ-CP Điều 12–21 for
công chức, QĐ 366-QĐ/TW for the party side (domain rules §5–§6). Everything the domain reference tags [P] or [U] is a
field of `EvaluationPolicy` with a documented default, so a province changes it by configuration; the choices behind
the defaults are in docs/decisions/0012-evaluation-scoring-policy.md.

The score of a month (NĐ 335 Điều 12–16):
- general criteria: three scores (a) (b) (c) whose maxima split the 30 points (`criteria_max`);
- task results, 70 points, from the work products (converted units): quantity % = completed / assigned,
  quality % = quality points / assigned, progress % = progress points / assigned, where a product's quality points
  are its units completed meeting quality less 25% per major error, and its progress points its units completed on
  time less 25% per delay (never below zero). The three percentages are combined (`combine`, `weights`) and scaled
  to 70. A leader's 70 points blend that with the unit-results criterion (`leader_unit_criterion`).
- total = criteria + task points, rounded half-up to 2 decimals; the grade is taken from that rounded total.

Arithmetic is exact (fractions) until the final rounding, so 89.995 is 90.00 and not 89.99 by binary accident.

Problem messages are English msgids, translated at display time (decision 0008); grade reasons are Vietnamese text
because they are stored in the record and the audit chain as written.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction
from functools import partial
from typing import Any

from workflows.errors import N_, Amount, Invalid, Problem, too_long
from workflows.rules.settings import KEEP_DEFAULT, check_settings, merged_settings, plain, whole_setting
from workflows.rules.targets import htxsnv_quota_check

__all__ = [
    "DEFAULT_POLICY",
    "GRADES",
    "GRADE_LABELS",
    "HTNV",
    "HTTNV",
    "HTXSNV",
    "KHTNV",
    "EvaluationPolicy",
    "Grade",
    "LeaderUnitCriterion",
    "PeriodDeadlines",
    "ProductScore",
    "QuotaEntry",
    "QuotaGroup",
    "QuotaReport",
    "ScoreBreakdown",
    "WorkProduct",
    "annual_due",
    "annual_score",
    "approve_quota_exception",
    "changed_fields",
    "closed_unit_problems",
    "criteria_problems",
    "decision_problems",
    "demote_for_quota",
    "grade_for",
    "leader_unit_factor",
    "may_return",
    "missing_reasons",
    "month_problems",
    "month_text",
    "monthly_score",
    "period_deadlines",
    "product_problems",
    "product_score",
    "quarter_of",
    "quarterly_score",
    "quota_check",
    "review_problems",
    "validate_self_assessment",
    "vi_number",
]

# The strings of workflows.registry.models.EvaluationGrade, best first.
HTXSNV = "HTXSNV"
HTTNV = "HTTNV"
HTNV = "HTNV"
KHTNV = "KHTNV"
GRADES = (HTXSNV, HTTNV, HTNV, KHTNV)

# NĐ 335/2025 Điều 20 k1 and QĐ 366-QĐ/TW Điều 11: the four grades' names as the texts write them.
GRADE_LABELS: dict[str, str] = {
    HTXSNV: "Hoàn thành xuất sắc nhiệm vụ",
    HTTNV: "Hoàn thành tốt nhiệm vụ",
    HTNV: "Hoàn thành nhiệm vụ",
    KHTNV: "Không hoàn thành nhiệm vụ",
}

# NĐ 335 Điều 12 k1: 100 points = general criteria (30) + task results (70).
# The process data key under which a monthly review records what it changed, by the form's field path
# (`products.1.completed`, `criteria_politics`) → {before, after, reason} (NĐ 335 Điều 18: each adjustment with its
# reason; decision 0062). The pages word it from the form's own titles (workflows.instances.ReviewedValue).
REVIEW_CHANGES = "review_changes"

CRITERIA_POINTS = 30
TASK_POINTS = 70
CRITERIA_COUNT = 3  # NĐ 335 Điều 12 k2 (a), (b), (c)

COMBINES = ("average", "weighted")
ROUNDINGS = ("floor", "round", "ceil")
TIE_BREAKS = ("tie_key", "cadre_id")
MAX_PRODUCTS = 200
# A work product's name (the forms' own maxLength, 300, lets the browser send longer: this check decides).
PRODUCT_NAME_LIMIT = 255
MAX_UNITS = 100_000
_MONTH_RE = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _exact(value: float) -> Fraction:
    """The decimal a person typed (0.1 is one tenth), not the binary float nearest to it."""
    return Fraction(value) if isinstance(value, int) else Fraction(repr(float(value)))


def _round2(value: Fraction) -> float:
    """Half-up to 2 decimals: 89.995 → 90.0 (Python's round() would give 89.99 for the float 89.995)."""
    return float(Fraction(math.floor(value * 100 + Fraction(1, 2)), 100))


# ---------------------------------------------------------------------------------------------
# Policy
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LeaderUnitCriterion:
    """How a leader's unit results enter the score (NĐ 335 Điều 15, domain rules §6.2).

    The text gives the criterion's value — 100% when every subordinate công chức is graded HTNV or above, 50% when
    any is KHTNV [V] — but not its weight [U]. We blend it into the 70 task points:
    task = 70 × ((1 − weight) × products % + weight × unit factor). With the default weight 0.3, one subordinate at
    KHTNV costs a leader 10.5 points."""

    weight: float = 0.3  # share of the 70 task points carried by the unit results [U]
    all_at_least_htnv: float = 1.0  # every subordinate HTNV or above [V] S25
    any_khtnv: float = 0.5  # any subordinate KHTNV [V] S25


@dataclass(frozen=True)
class EvaluationPolicy:
    """The configurable rules of the monthly evaluation; every default carries its source or tag.

    `EvaluationPolicy(...)` and `from_mapping` both refuse an inconsistent policy with `Invalid`, one `Problem`
    per bad setting (field = the setting's name, `leader_unit_criterion.weight` for nested ones)."""

    # NĐ 335 Điều 12 k2: 30 points for criteria (a), (b), (c); their split is [U] — equal by default.
    criteria_max: tuple[float, float, float] = (10, 10, 10)
    # NĐ 335 Điều 13–16: how quantity / quality / progress % make the 70 points is [U]: "average" or "weighted".
    combine: str = "average"
    # Used when combine == "weighted": quantity, quality, progress; non-negative, summing to 1 [U].
    weights: tuple[float, float, float] = (1 / 3, 1 / 3, 1 / 3)
    # NĐ 335 Điều 13–16 [V] S24: each major error deducts 25% of that product's quality points.
    deduction_per_error: float = 0.25
    # NĐ 335 Điều 13–16 [V] S24: each delay deducts 25% of that product's progress points.
    deduction_per_delay: float = 0.25
    # How often the direct manager may return a self-assessment to the cadre [U].
    max_returns: int = 2
    # Days of month M (open, self-assessment, review) and of M+1 (decision); NĐ 335 Điều 17–19, days [U] §6.3.
    open_day: int = 20
    self_assessment_day: int = 25
    review_day: int = 28
    decision_day: int = 3
    # Reminder this many days before each deadline [U] §8.
    reminder_days_before: int = 2
    # The annual grading run is due by the end of this day (NĐ 335 Điều 21 [V] §6.3: before 15/12; bodies whose
    # year ends later finish by 15/01 of the following year): month 12 of the year, or month 1 of the next.
    annual_due_month: int = 12
    annual_due_day: int = 14
    # NĐ 335 Điều 20 [V] S22: HTXSNV ≤ 20% of the number graded HTTNV, per unit and task group.
    quota_ratio: float = 0.20
    # Rounding of the allowance (20% of 11 = 2.2) [U]: "floor", "round" (half up) or "ceil".
    quota_rounding: str = "floor"
    # Order among equal scores when ranking over-quota HTXSNV [U]: "tie_key" (then cadre id) or "cadre_id".
    quota_tie_break: str = "tie_key"
    # Leaders: unit results 100% / 50% (NĐ 335 Điều 15 [V] S25); the weight is [U].
    leader_unit_criterion: LeaderUnitCriterion = LeaderUnitCriterion()
    # The decided results are announced inside the agency: its own people see their unit's grades (draft law [V] S55,
    # final rule [U], domain rules §7). False: each cadre sees only their own; those overseeing the unit see all.
    results_published_in_unit: bool = True

    def __post_init__(self) -> None:
        check_settings(self, _policy_problems, N_("the evaluation settings are not valid"))

    # Settings arrive as JSON (admin configuration); every bad value is reported, not only the first.
    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> EvaluationPolicy:
        merged = merged_settings(
            DEFAULT_POLICY, values, _policy_problems, N_("the evaluation settings are not valid"), convert=_setting
        )
        return cls(**merged)

    def to_mapping(self) -> dict[str, Any]:
        """JSON-ready settings; `from_mapping(p.to_mapping()) == p`."""
        data = dataclasses.asdict(self)
        data["criteria_max"] = list(self.criteria_max)
        data["weights"] = list(self.weights)
        return data


def _setting(name: str, value: Any, default: Any) -> tuple[Any, list[Problem]]:
    if name == "leader_unit_criterion":
        criterion, problems = _leader_criterion_from(value)
        return (criterion if criterion is not None else KEEP_DEFAULT), problems
    return plain(name, value, default)


def _leader_criterion_from(value: Any) -> tuple[LeaderUnitCriterion | None, list[Problem]]:
    if isinstance(value, LeaderUnitCriterion):
        return value, []
    if not isinstance(value, Mapping):
        return None, [Problem("expected an object of settings", field="leader_unit_criterion")]
    names = {f.name for f in dataclasses.fields(LeaderUnitCriterion)}
    unknown = [Problem("unknown setting", field=f"leader_unit_criterion.{key}") for key in value if key not in names]
    if unknown:
        return None, unknown
    return LeaderUnitCriterion(**value), []


def _policy_problems(values: Mapping[str, Any]) -> list[Problem]:
    problems: list[Problem] = []

    def number_in(name: str, low: float, high: float) -> bool:
        value = values[name]
        if not _is_number(value):
            problems.append(Problem("expected a number", field=name))
            return False
        if not low <= value <= high:
            problems.append(Problem("the value is outside the allowed range", field=name))
            return False
        return True

    whole_in = partial(whole_setting, values, problems)

    def triple(name: str) -> tuple[float, ...] | None:
        value = values[name]
        if not isinstance(value, tuple) or len(value) != CRITERIA_COUNT or not all(_is_number(v) for v in value):
            problems.append(Problem("expected three numbers", field=name))
            return None
        if any(v < 0 for v in value):
            problems.append(Problem("the values must not be negative", field=name))
            return None
        return value

    maxima = triple("criteria_max")
    if maxima is not None and abs(sum(maxima) - CRITERIA_POINTS) > 1e-6:
        problems.append(Problem("the criteria maxima must add up to 30 points", field="criteria_max"))
    if values["combine"] not in COMBINES:
        problems.append(Problem("must be 'average' or 'weighted'", field="combine"))
    weights = triple("weights")
    if weights is not None and abs(sum(weights) - 1) > 1e-6:
        problems.append(Problem("the weights must add up to 1", field="weights"))
    if not isinstance(values["results_published_in_unit"], bool):
        problems.append(Problem("expected true or false", field="results_published_in_unit"))
    number_in("deduction_per_error", 0, 1)
    number_in("deduction_per_delay", 0, 1)
    whole_in("max_returns", 0, 20)
    days_ok = [whole_in(name, 1, 28) for name in ("open_day", "self_assessment_day", "review_day")]
    if all(days_ok) and not values["open_day"] < values["self_assessment_day"] < values["review_day"]:
        problems.append(
            Problem(
                "the month opens before the self-assessment deadline, which is before the review deadline",
                field="self_assessment_day",
            )
        )
    whole_in("decision_day", 1, 28)
    whole_in("reminder_days_before", 0, 27)
    if whole_in("annual_due_month", 1, 12) and values["annual_due_month"] not in (1, 12):
        problems.append(Problem("must be 12 (December) or 1 (January of the following year)", field="annual_due_month"))
    whole_in("annual_due_day", 1, 31)
    number_in("quota_ratio", 0, 1)
    if values["quota_rounding"] not in ROUNDINGS:
        problems.append(Problem("must be 'floor', 'round' or 'ceil'", field="quota_rounding"))
    if values["quota_tie_break"] not in TIE_BREAKS:
        problems.append(Problem("must be 'tie_key' or 'cadre_id'", field="quota_tie_break"))
    criterion = values["leader_unit_criterion"]
    if not isinstance(criterion, LeaderUnitCriterion):
        problems.append(Problem("expected an object of settings", field="leader_unit_criterion"))
    else:
        fractions = {f.name: getattr(criterion, f.name) for f in dataclasses.fields(criterion)}
        for name, value in fractions.items():
            field = f"leader_unit_criterion.{name}"
            if not _is_number(value):
                problems.append(Problem("expected a number", field=field))
            elif not 0 <= value <= 1:
                problems.append(Problem("the value is outside the allowed range", field=field))
        if all(_is_number(v) for v in fractions.values()) and criterion.any_khtnv > criterion.all_at_least_htnv:
            problems.append(
                Problem(
                    "a unit with a KHTNV subordinate cannot score more than one without",
                    field="leader_unit_criterion.any_khtnv",
                )
            )
    return problems


DEFAULT_POLICY = EvaluationPolicy()


# ---------------------------------------------------------------------------------------------
# Self-assessment input
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WorkProduct:
    """One line of the monthly product table, in converted units (quy đổi, NĐ 335 Điều 13)."""

    name: str
    assigned: float
    completed: float
    completed_quality: float
    completed_on_time: float
    major_errors: int = 0
    delays: int = 0

    @classmethod
    def from_mapping(cls, row: Mapping[str, Any]) -> WorkProduct:
        """A form row (extra keys such as the evidence attachment are ignored). Check it with `product_problems`
        first: this only copies."""
        return cls(
            name=row["name"],
            assigned=row["assigned"],
            completed=row["completed"],
            completed_quality=row["completed_quality"],
            completed_on_time=row["completed_on_time"],
            major_errors=row.get("major_errors", 0),
            delays=row.get("delays", 0),
        )


_AMOUNTS = ("assigned", "completed", "completed_quality", "completed_on_time")
_COUNTS = ("major_errors", "delays")


def _row_value(row: Any, name: str, default: Any = None) -> Any:
    if isinstance(row, WorkProduct):
        return getattr(row, name)
    return row.get(name, default)


# NĐ 335 Điều 13–16: assigned / completed / quality / on-time units must be consistent to be scored.
def product_problems(products: Any) -> list[Problem]:
    """Every problem of the product table, one per bad field (`products.<index from 0>.<field>`), like the
    JSON Schema errors of a task form. Rows are `WorkProduct`s or mappings with the same keys."""
    if isinstance(products, str | bytes) or not isinstance(products, Sequence):
        return [Problem("expected a list of work products", field="products")]
    if not products:
        return [Problem("at least one work product is required", field="products")]
    if len(products) > MAX_PRODUCTS:
        return [Problem("too many work products (at most 200)", field="products")]
    problems: list[Problem] = []
    for index, row in enumerate(products):
        where = f"products.{index}"
        if not isinstance(row, WorkProduct | Mapping):
            problems.append(Problem("expected a work product", field=where))
            continue
        name = _row_value(row, "name")
        if not isinstance(name, str) or not name.strip():
            problems.append(Problem("a name is required", field=f"{where}.name"))
        elif len(name) > 255:
            problems.append(too_long(f"{where}.name", PRODUCT_NAME_LIMIT))
        amounts: dict[str, float] = {}
        for field in _AMOUNTS:
            value = _row_value(row, field)
            if value is None:
                problems.append(Problem("this field is required", field=f"{where}.{field}"))
            elif not _is_number(value):
                problems.append(Problem("expected a number", field=f"{where}.{field}"))
            elif value < 0:
                problems.append(Problem("must not be negative", field=f"{where}.{field}"))
            elif value > MAX_UNITS:
                problems.append(Problem("the number is too large", field=f"{where}.{field}"))
            else:
                amounts[field] = value
        for field in _COUNTS:
            value = _row_value(row, field, 0)
            if not isinstance(value, int) or isinstance(value, bool):
                if _is_number(value) and float(value).is_integer():
                    value = int(value)  # 2.0 from a JSON number field
                else:
                    problems.append(Problem("expected a whole number", field=f"{where}.{field}"))
                    continue
            if value < 0:
                problems.append(Problem("must not be negative", field=f"{where}.{field}"))
            elif value > 1000:
                problems.append(Problem("the number is too large", field=f"{where}.{field}"))
        if amounts.get("assigned") == 0:
            problems.append(Problem("the amount assigned must be greater than zero", field=f"{where}.assigned"))
        if "assigned" in amounts and "completed" in amounts and amounts["completed"] > amounts["assigned"]:
            problems.append(Problem("cannot exceed the amount assigned", field=f"{where}.completed"))
        for field in ("completed_quality", "completed_on_time"):
            if "completed" in amounts and field in amounts and amounts[field] > amounts["completed"]:
                problems.append(Problem("cannot exceed the amount completed", field=f"{where}.{field}"))
    return problems


# NĐ 335 Điều 12 k2: each general criterion (a)–(c) is scored within its share of the 30 points.
def criteria_problems(criteria: Any, policy: EvaluationPolicy = DEFAULT_POLICY) -> list[Problem]:
    """The one check of a criterion's range, by the policy in force (the forms state no maximum of their own, as the
    policy is configurable: forms/evaluation_self_assessment.json, evaluation_review.json); a problem names it."""
    if isinstance(criteria, str | bytes) or not isinstance(criteria, Sequence) or len(criteria) != CRITERIA_COUNT:
        return [Problem("expected three criteria scores", field="criteria")]
    problems: list[Problem] = []
    for index, (value, most) in enumerate(zip(criteria, policy.criteria_max, strict=True)):
        if not _is_number(value):
            problems.append(Problem("expected a number", field=f"criteria.{index}"))
        elif not 0 <= value <= most:
            problems.append(
                Problem(
                    "the score must be between 0 and %(maximum)s",
                    field=f"criteria.{index}",
                    message_args={"maximum": Amount(most)},
                )
            )
    return problems


# NĐ 335 Điều 12–16: what a self-assessment (or a manager's adjustment of it) must satisfy to be scored.
def validate_self_assessment(products: Any, criteria: Any, policy: EvaluationPolicy = DEFAULT_POLICY) -> list[Problem]:
    """All problems at once (empty when the input can be scored); see `product_problems` for the field names,
    `criteria.<index>` for the criteria."""
    return product_problems(products) + criteria_problems(criteria, policy)


def _as_products(products: Sequence[WorkProduct | Mapping[str, Any]]) -> list[WorkProduct]:
    problems = product_problems(products)
    if problems:
        raise Invalid("the work products are not valid", problems)
    return [row if isinstance(row, WorkProduct) else WorkProduct.from_mapping(row) for row in products]


# ---------------------------------------------------------------------------------------------
# Scores
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProductScore:
    """Totals and percentages of the product table (percentages 0–100, shown to 2 decimals); `task_points` is
    the 70-point task score without any leader criterion."""

    assigned: float
    completed: float
    quality_points: float  # units completed meeting quality, less the major-error deductions
    progress_points: float  # units completed on time, less the delay deductions
    quantity_pct: float
    quality_pct: float
    progress_pct: float
    combined_pct: float
    task_points: float


@dataclass(frozen=True)
class _Exact:
    assigned: Fraction
    completed: Fraction
    quality: Fraction
    progress: Fraction
    combined: Fraction  # 0..1

    def share(self, points: Fraction) -> Fraction:
        return points / self.assigned


# NĐ 335 Điều 13–16: quantity, quality and progress against the converted units assigned, 25% deductions per product.
def _exact_products(products: Sequence[WorkProduct], policy: EvaluationPolicy) -> _Exact:
    per_error = _exact(policy.deduction_per_error)
    per_delay = _exact(policy.deduction_per_delay)
    assigned = completed = quality = progress = Fraction(0)
    for product in products:
        assigned += _exact(product.assigned)
        completed += _exact(product.completed)
        quality += _exact(product.completed_quality) * max(Fraction(0), 1 - per_error * int(product.major_errors))
        progress += _exact(product.completed_on_time) * max(Fraction(0), 1 - per_delay * int(product.delays))
    shares = (completed / assigned, quality / assigned, progress / assigned)
    if policy.combine == "average":
        combined = sum(shares, Fraction(0)) / len(shares)
    else:
        weights = [_exact(w) for w in policy.weights]
        combined = sum((w * s for w, s in zip(weights, shares, strict=True)), Fraction(0)) / sum(weights)
    return _Exact(assigned, completed, quality, progress, combined)


# NĐ 335 Điều 13–16: products → quantity %, quality %, progress % and the 70-point task score.
def product_score(
    products: Sequence[WorkProduct | Mapping[str, Any]], policy: EvaluationPolicy = DEFAULT_POLICY
) -> ProductScore:
    """Raises `Invalid` (with the problems of `product_problems`) when the table cannot be scored."""
    exact = _exact_products(_as_products(products), policy)
    return ProductScore(
        assigned=float(exact.assigned),
        completed=float(exact.completed),
        quality_points=_round2(exact.quality),
        progress_points=_round2(exact.progress),
        quantity_pct=_round2(100 * exact.share(exact.completed)),
        quality_pct=_round2(100 * exact.share(exact.quality)),
        progress_pct=_round2(100 * exact.share(exact.progress)),
        combined_pct=_round2(100 * exact.combined),
        task_points=_round2(TASK_POINTS * exact.combined),
    )


@dataclass(frozen=True)
class ScoreBreakdown:
    """A month's score as shown on the form and stored with the result. `leader_unit_factor` is None for a
    non-leader; for a leader `task_points` already blends it in (see `LeaderUnitCriterion`)."""

    criteria: tuple[float, ...]
    criteria_points: float  # ≤ 30
    quantity_pct: float
    quality_pct: float
    progress_pct: float
    products_pct: float  # the three percentages combined
    leader_unit_factor: float | None
    task_points: float  # ≤ 70
    total: float  # ≤ 100, half-up to 2 decimals

    def to_data(self) -> dict[str, Any]:
        """JSON-ready, for task data and the evaluation record."""
        data = dataclasses.asdict(self)
        data["criteria"] = list(self.criteria)
        return data


# NĐ 335 Điều 12 k1: total = general criteria (max 30) + task results (max 70); leaders per Điều 15.
def monthly_score(
    products: Sequence[WorkProduct | Mapping[str, Any]],
    criteria: Sequence[float],
    policy: EvaluationPolicy = DEFAULT_POLICY,
    *,
    leader_unit_factor: float | None = None,
) -> ScoreBreakdown:
    """Raises `Invalid` with every problem of the input (`validate_self_assessment`, plus `leader_unit_factor`
    outside 0..1)."""
    problems = validate_self_assessment(products, criteria, policy)
    if leader_unit_factor is not None and (not _is_number(leader_unit_factor) or not 0 <= leader_unit_factor <= 1):
        problems.append(Problem("the value is outside the allowed range", field="leader_unit_factor"))
    if problems:
        raise Invalid("the self-assessment is not valid", problems)
    exact = _exact_products(_as_products(products), policy)
    criteria_points = sum((_exact(c) for c in criteria), Fraction(0))
    share = exact.combined
    if leader_unit_factor is not None:
        weight = _exact(policy.leader_unit_criterion.weight)
        share = (1 - weight) * share + weight * _exact(leader_unit_factor)
    task_points = TASK_POINTS * share
    return ScoreBreakdown(
        criteria=tuple(float(c) for c in criteria),
        criteria_points=_round2(criteria_points),
        quantity_pct=_round2(100 * exact.share(exact.completed)),
        quality_pct=_round2(100 * exact.share(exact.quality)),
        progress_pct=_round2(100 * exact.share(exact.progress)),
        products_pct=_round2(100 * exact.combined),
        leader_unit_factor=None if leader_unit_factor is None else float(leader_unit_factor),
        task_points=_round2(task_points),
        total=_round2(criteria_points + task_points),
    )


# NĐ 335 Điều 15 [V] S25: unit results 100% if all subordinates are HTNV or above, 50% if any is KHTNV.
def leader_unit_factor(subordinate_grades: Iterable[str], policy: EvaluationPolicy = DEFAULT_POLICY) -> float:
    """A leader with no graded subordinate gets the full factor: nobody below failed. Unknown grades raise
    ValueError rather than count as passing."""
    grades = list(subordinate_grades)
    unknown = sorted({str(g) for g in grades if g not in GRADES})
    if unknown:
        raise ValueError(f"unknown grade(s) {', '.join(unknown)}; expected one of {', '.join(GRADES)}")
    criterion = policy.leader_unit_criterion
    return float(criterion.any_khtnv if KHTNV in grades else criterion.all_at_least_htnv)


# ---------------------------------------------------------------------------------------------
# Grades
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Grade:
    """The grade of a score with the reasons, in Vietnamese, for the record and the audit chain: the override
    cases first (each that applies), then the band of the score."""

    grade: str
    score: float
    reasons: tuple[str, ...]
    overridden: bool  # KHTNV by an override case whatever the score

    @property
    def label(self) -> str:
        return GRADE_LABELS[self.grade]


def vi_number(score: float) -> str:
    """As given (89.995 stays 89,995: rounding it here would show a boundary the grade did not use)."""
    text = repr(float(score))
    return (text[:-2] if text.endswith(".0") else text).replace(".", ",")


# NĐ 335/2025 Điều 20 (QĐ 366 Điều 11): ≥ 90 HTXSNV, 70–<90 HTTNV, 50–<70 HTNV, < 50 KHTNV, and the KHTNV cases.
def grade_for(
    score: float,
    *,
    disciplined_reprimand_or_above: bool = False,
    degradation_finding: bool = False,
    leader_unit_corruption: bool = False,
) -> Grade:
    if not _is_number(score) or not 0 <= score <= 100:
        raise ValueError(f"a score is a number from 0 to 100, not {score!r}")
    reasons: list[str] = []
    if disciplined_reprimand_or_above:
        reasons.append(
            "Bị kỷ luật từ khiển trách trở lên trong kỳ do vi phạm trong thi hành công vụ (NĐ 335 Điều 20 điểm c)"
        )
    if degradation_finding:
        reasons.append(
            "Có kết luận suy thoái về tư tưởng chính trị, đạo đức, lối sống, tự diễn biến, tự chuyển hóa "
            "(NĐ 335 Điều 20 điểm b)"
        )
    if leader_unit_corruption:
        reasons.append(
            "Đơn vị do mình trực tiếp phụ trách để xảy ra tham nhũng, lãng phí bị xử lý theo quy định "
            "(NĐ 335 Điều 20 điểm d)"
        )
    shown = vi_number(score)
    if score >= 90:
        band, text = HTXSNV, "từ 90 trở lên"
    elif score >= 70:
        band, text = HTTNV, "từ 70 đến dưới 90"
    elif score >= 50:
        band, text = HTNV, "từ 50 đến dưới 70"
    else:
        band, text = KHTNV, "dưới 50, NĐ 335 Điều 20 điểm a"
    overridden = bool(reasons)
    if overridden:
        reasons.append(f"Điểm {shown} ({text}) không được xét vì thuộc trường hợp không hoàn thành nhiệm vụ")
    else:
        reasons.append(f"Điểm {shown} ({text}): {GRADE_LABELS[band]}")
    return Grade(grade=KHTNV if overridden else band, score=float(score), reasons=tuple(reasons), overridden=overridden)


# ---------------------------------------------------------------------------------------------
# Review and decision
# ---------------------------------------------------------------------------------------------
# NĐ 335 Điều 18 (domain rules §6.3, returns [U]): the direct manager may return the self-assessment at most N times.
def may_return(returns_so_far: int, policy: EvaluationPolicy = DEFAULT_POLICY) -> bool:
    return returns_so_far < policy.max_returns


def _cell(products: Sequence[Any], index: int, field: str) -> Any:
    if index >= len(products):
        return None
    return _row_value(products[index], field, 0 if field in _COUNTS else None)


# NĐ 335 Điều 18 (domain rules §6.3): what the direct manager changed in the cadre's self-assessment.
def changed_fields(
    before_products: Sequence[WorkProduct | Mapping[str, Any]],
    before_criteria: Sequence[float | None],
    after_products: Sequence[WorkProduct | Mapping[str, Any]],
    after_criteria: Sequence[float | None],
) -> list[str]:
    """Field names as in `validate_self_assessment` (`products.1.completed`, `criteria.0`); a product added or
    removed by the manager is `products.<index>`."""
    changed: list[str] = []
    for index in range(max(len(before_products), len(after_products))):
        if index >= len(before_products) or index >= len(after_products):
            changed.append(f"products.{index}")
            continue
        for field in ("name", *_AMOUNTS, *_COUNTS):
            if _cell(before_products, index, field) != _cell(after_products, index, field):
                changed.append(f"products.{index}.{field}")
    for index in range(max(len(before_criteria), len(after_criteria))):
        old = before_criteria[index] if index < len(before_criteria) else None
        new = after_criteria[index] if index < len(after_criteria) else None
        if old != new:
            changed.append(f"criteria.{index}")
    return changed


def changed_values(
    before_products: Sequence[WorkProduct | Mapping[str, Any]],
    before_criteria: Sequence[float | None],
    after_products: Sequence[WorkProduct | Mapping[str, Any]],
    after_criteria: Sequence[float | None],
) -> list[tuple[str, Any, Any]]:
    """Each value `changed_fields` names in a cell or a criterion, with the value before and after: what the cadre
    wrote and what the manager put instead. A product added or removed whole is left out (it has no one value)."""
    values: list[tuple[str, Any, Any]] = []
    for field in changed_fields(before_products, before_criteria, after_products, after_criteria):
        parts = field.split(".")
        if parts[0] == "criteria":
            index = int(parts[1])
            old = before_criteria[index] if index < len(before_criteria) else None
            new = after_criteria[index] if index < len(after_criteria) else None
            values.append((field, old, new))
        elif len(parts) == 3:
            index, column = int(parts[1]), parts[2]
            values.append((field, _cell(before_products, index, column), _cell(after_products, index, column)))
    return values


# NĐ 335 Điều 18 (issue #5 step 3): every adjustment by the direct manager carries a reason.
def missing_reasons(
    before_products: Sequence[WorkProduct | Mapping[str, Any]],
    before_criteria: Sequence[float | None],
    after_products: Sequence[WorkProduct | Mapping[str, Any]],
    after_criteria: Sequence[float | None],
    reasons: Mapping[str, str],
    unreadable: Collection[str] = (),
) -> list[Problem]:
    """Each changed field (as `changed_fields` names it) without a non-blank reason in `reasons`, keyed by that
    name. A field in `unreadable` or within one (a refused value, `products` refused whole) is skipped: whether it
    changed cannot be told from a value that is not there."""

    def skipped(field: str) -> bool:
        return any(field == where or field.startswith(f"{where}.") for where in unreadable)

    problems = []
    for field in changed_fields(before_products, before_criteria, after_products, after_criteria):
        reason = reasons.get(field)
        if not skipped(field) and (not isinstance(reason, str) or not reason.strip()):
            problems.append(Problem("give the reason for this change", field=field))
    return problems


# NĐ 335 Điều 18 (issue #5 step 3): the adjusted table is valid and every adjustment carries a reason.
def review_problems(
    before_products: Sequence[WorkProduct | Mapping[str, Any]],
    before_criteria: Sequence[float],
    after_products: Sequence[WorkProduct | Mapping[str, Any]],
    after_criteria: Sequence[float],
    reasons: Mapping[str, str],
    policy: EvaluationPolicy = DEFAULT_POLICY,
) -> list[Problem]:
    """The adjusted table must be valid itself, and each changed field needs a non-blank reason in `reasons`
    keyed by its field name (the problem is reported on that field): both at once, a field whose new value is
    itself invalid asking for its correction only."""
    problems = validate_self_assessment(after_products, after_criteria, policy)
    invalid = {problem.field for problem in problems if problem.field}
    return problems + missing_reasons(
        before_products, before_criteria, after_products, after_criteria, reasons, invalid
    )


# NĐ 335 Điều 19–20 (issue #5 step 4): the competent person confirms the computed grade or changes it with a reason;
# a KHTNV case of Điều 20 (b)–(d) is a finding, not a judgement of the score, so it cannot be changed here.
def decision_problems(computed: Grade, decided: str, reason: str | None) -> list[Problem]:
    if decided not in GRADES:
        return [Problem("not one of the allowed values", field="grade")]
    if decided == computed.grade:
        return []
    if computed.overridden:
        return [Problem("the grade is fixed by a case of not completing the tasks", field="grade")]
    if not isinstance(reason, str) or not reason.strip():
        return [Problem("give the reason for changing the grade", field="reason")]
    return []


# ---------------------------------------------------------------------------------------------
# Periods and roll-up
# ---------------------------------------------------------------------------------------------
def _parse_month(month: Any) -> tuple[int, int]:
    match = _MONTH_RE.fullmatch(month) if isinstance(month, str) else None
    if match is None:
        raise ValueError(f"a month is written YYYY-MM, not {month!r}")
    return int(match.group(1)), int(match.group(2))


def month_text(month: str) -> str:
    """'2026-11' → '11/2026', '2026-05' → '5/2026': a month as Vietnamese pages write it ("tháng 11/2026"); anything
    that is not a month (a value a person typed wrong) as it was written."""
    try:
        year, number = _parse_month(month)
    except ValueError:
        return month
    return f"{number}/{year}"


def quarter_of(month: str) -> str:
    """'2026-05' → '2026-Q2'."""
    year, number = _parse_month(month)
    return f"{year}-Q{(number - 1) // 3 + 1}"


# NĐ 335 Điều 17 (domain rules §6.3): a month can be opened once it has begun, never ahead of time.
# Why a month cannot be opened, each naming the months it compared (decision 0118): "not valid" alone left the person
# to guess whether the form, the date or the system was at fault.
MONTH_FORMAT = N_("write the month as YYYY-MM, for example 2026-11")
MONTH_NOT_BEGUN = N_("month %(month)s has not begun yet: a month is evaluated once it has begun (this is %(current)s)")
MONTH_TOO_EARLY = N_("month %(month)s is before %(first)s, the first month this system evaluates")
FIRST_MONTH = "2000-01"


def month_problems(month: Any, today: date) -> list[Problem]:
    try:
        year, number = _parse_month(month)
    except ValueError:
        return [Problem(MONTH_FORMAT, field="month")]
    shown = {"month": month_text(month)}
    if (year, number) > (today.year, today.month):
        current = month_text(f"{today:%Y-%m}")
        return [Problem(MONTH_NOT_BEGUN, field="month", message_args={**shown, "current": current})]
    if month < FIRST_MONTH:
        return [Problem(MONTH_TOO_EARLY, field="month", message_args={**shown, "first": month_text(FIRST_MONTH)})]
    return []


# Two-level local government from 01/7/2025 (domain rules §0 [V] S54): a merged or dissolved unit has no cadres of its
# own any more, so a month is opened for the unit it became, never for it (opening it would "open" nothing).
def closed_unit_problems(
    *, is_active: bool, active_to: date | None, merged: bool, successor_name: str | None, today: date
) -> list[Problem]:
    """Why a month cannot be opened for this unit: it was merged (naming the unit it became when known) or
    dissolved; nothing when it still stands today."""
    if merged:
        if successor_name:
            return [
                Problem(
                    N_("this unit was merged into %(successor)s: open the month for %(successor)s"),
                    field="unit",
                    message_args={"successor": successor_name},
                )
            ]
        return [Problem(N_("this unit was merged into another unit: open the month for that unit"), field="unit")]
    if not is_active or (active_to is not None and active_to < today):
        return [Problem(N_("this unit has been dissolved: it has no cadres to evaluate"), field="unit")]
    return []


@dataclass(frozen=True)
class PeriodDeadlines:
    month: str
    opens: date
    self_assessment_due: date
    review_due: date
    decision_due: date  # in the following month
    reminder_days_before: int

    def reminder_for(self, due: date) -> date:
        return due - timedelta(days=self.reminder_days_before)


# NĐ 335 Điều 21 (domain rules §6.3) [V]: the year is graded before 15/12, or by 15/01 where the year ends later.
def annual_due(year: int, policy: EvaluationPolicy = DEFAULT_POLICY) -> date:
    """The last day of the annual grading run of `year`."""
    return date(year + (policy.annual_due_month == 1), policy.annual_due_month, policy.annual_due_day)


# NĐ 335 Điều 17–19: open → self-assessment → review → decision; the days are [U] (policy, domain rules §6.3, §8).
def period_deadlines(month: str, policy: EvaluationPolicy = DEFAULT_POLICY) -> PeriodDeadlines:
    year, number = _parse_month(month)
    next_year, next_month = (year + 1, 1) if number == 12 else (year, number + 1)
    return PeriodDeadlines(
        month=month,
        opens=date(year, number, policy.open_day),
        self_assessment_due=date(year, number, policy.self_assessment_day),
        review_due=date(year, number, policy.review_day),
        decision_due=date(next_year, next_month, policy.decision_day),
        reminder_days_before=policy.reminder_days_before,
    )


def _scores_worked(monthly: Mapping[str, float | None], absences: Collection[str]) -> list[Fraction]:
    scores = []
    for month, score in monthly.items():
        _parse_month(month)
        if score is None or month in absences:
            continue
        if not _is_number(score) or not 0 <= score <= 100:
            raise ValueError(f"{month}: a score is a number from 0 to 100, not {score!r}")
        scores.append(_exact(score))
    return scores


# NĐ 335 Điều 21 (domain rules §6.3, [U] for the quarter): a quarter is the average of its months' scores.
def quarterly_score(monthly: Mapping[str, float | None]) -> float | None:
    """Months without a score (None: not worked, not yet graded) are left out; None when no month has one.
    All months must belong to one quarter."""
    quarters = {quarter_of(month) for month in monthly}
    if len(quarters) > 1:
        raise ValueError(f"the months span several quarters: {', '.join(sorted(quarters))}")
    scores = _scores_worked(monthly, ())
    return _round2(sum(scores, Fraction(0)) / len(scores)) if scores else None


# NĐ 335 Điều 21 (Điều 19 in one copy) [V] S27: the year's score averages the months actually worked; leave is left out.
def annual_score(monthly: Mapping[str, float | None], absences: Collection[str] = ()) -> float | None:
    """`monthly` maps 'YYYY-MM' of one year to the month's score, or None for a month not worked (before joining,
    after leaving); `absences` lists the months of leave with good reason, left out even when a score was
    recorded for them. None when no month remains."""
    years = {_parse_month(month)[0] for month in [*monthly, *absences]}
    if len(years) > 1:
        raise ValueError(f"the months span several years: {', '.join(str(y) for y in sorted(years))}")
    scores = _scores_worked(monthly, set(absences))
    return _round2(sum(scores, Fraction(0)) / len(scores)) if scores else None


# ---------------------------------------------------------------------------------------------
# Quota
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class QuotaEntry:
    """One cadre's grade in the quota run. `tie_key` orders equal scores when policy.quota_tie_break is
    "tie_key" (lower is resolved first: e.g. the number of months graded HTXSNV in the year); an
    `exception_approved` HTXSNV (approved by the competent superior, NĐ 335 Điều 20 k5 [P]) does not count against
    the quota."""

    cadre_id: int
    unit_id: int
    task_group: str | None
    grade: str
    score: float | None = None
    tie_key: float = 0.0
    exception_approved: bool = False


@dataclass(frozen=True)
class QuotaGroup:
    """One (unit, task group). `over` are the cadres to resolve (demote with a reason, or approve an exception),
    lowest ranked first: as many as the fewest demotions that bring the group within the quota, which can be
    fewer than `over_by` because each demotion raises the HTTNV count. `tied_at_cut` lists the cadres equal
    (score and tie key) to the last one in `over` when some of them are not in it: the cut between them is
    arbitrary and the head should decide."""

    unit_id: int
    task_group: str | None
    httnv: int
    htxsnv: int  # counted against the quota (approved exceptions left out)
    excepted: tuple[int, ...]
    allowed: int
    over_by: int
    demotions_needed: int
    ranking: tuple[int, ...]  # counted HTXSNV, lowest ranked first
    over: tuple[int, ...]
    tied_at_cut: tuple[int, ...]

    @property
    def is_within(self) -> bool:
        return not self.over


@dataclass(frozen=True)
class QuotaReport:
    groups: tuple[QuotaGroup, ...]  # ordered by unit id, then task group

    @property
    def is_within(self) -> bool:
        return all(group.is_within for group in self.groups)

    @property
    def over(self) -> tuple[int, ...]:
        return tuple(cadre for group in self.groups for cadre in group.over)

    def group(self, unit_id: int, task_group: str | None) -> QuotaGroup:
        for group in self.groups:
            if group.unit_id == unit_id and group.task_group == task_group:
                return group
        raise KeyError((unit_id, task_group))


_QUOTA_ROUNDING = {"floor": "floor", "round": "half_up", "ceil": "ceil"}


# NĐ 335 Điều 20 [V] S22: HTXSNV ≤ 20% of those graded HTTNV, per agency/unit and per group with similar tasks.
def quota_check(results: Iterable[QuotaEntry], policy: EvaluationPolicy = DEFAULT_POLICY) -> QuotaReport:
    entries = list(results)
    seen: set[int] = set()
    groups: dict[tuple[int, str | None], list[QuotaEntry]] = {}
    for entry in entries:
        if entry.grade not in GRADES:
            raise ValueError(f"cadre {entry.cadre_id}: unknown grade {entry.grade!r}")
        if entry.cadre_id in seen:
            raise ValueError(f"cadre {entry.cadre_id} appears more than once")
        seen.add(entry.cadre_id)
        if entry.grade == HTXSNV and not _is_number(entry.score):
            raise ValueError(f"cadre {entry.cadre_id}: an HTXSNV grade needs its score for the ranking")
        groups.setdefault((entry.unit_id, entry.task_group), []).append(entry)

    def rank_key(entry: QuotaEntry) -> tuple[float, ...]:
        score = float(entry.score or 0)
        if policy.quota_tie_break == "tie_key":
            return (score, float(entry.tie_key), entry.cadre_id)
        return (score, entry.cadre_id)

    report = []
    for (unit_id, task_group), members in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        counted = sorted((e for e in members if e.grade == HTXSNV and not e.exception_approved), key=rank_key)
        httnv = sum(1 for e in members if e.grade == HTTNV)
        check = htxsnv_quota_check(
            {HTXSNV: len(counted), HTTNV: httnv},
            ratio=policy.quota_ratio,
            rounding=_QUOTA_ROUNDING[policy.quota_rounding],
        )
        over = counted[: check.demotions_needed]
        tied: tuple[int, ...] = ()
        if over and len(over) < len(counted):
            cut = rank_key(over[-1])[:-1]
            same = [e.cadre_id for e in counted if rank_key(e)[:-1] == cut]
            if any(e.cadre_id in same for e in counted[len(over) :]):
                tied = tuple(same)
        report.append(
            QuotaGroup(
                unit_id=unit_id,
                task_group=task_group,
                httnv=httnv,
                htxsnv=len(counted),
                excepted=tuple(e.cadre_id for e in members if e.grade == HTXSNV and e.exception_approved),
                allowed=check.allowed,
                over_by=check.over_by,
                demotions_needed=check.demotions_needed,
                ranking=tuple(e.cadre_id for e in counted),
                over=tuple(e.cadre_id for e in over),
                tied_at_cut=tied,
            )
        )
    return QuotaReport(tuple(report))


def _change(results: Iterable[QuotaEntry], cadre_ids: Iterable[int], **changes: Any) -> list[QuotaEntry]:
    wanted = set(cadre_ids)
    entries = list(results)
    found = {e.cadre_id for e in entries if e.cadre_id in wanted and e.grade == HTXSNV}
    if found != wanted:
        raise ValueError(f"not graded HTXSNV in these results: {sorted(wanted - found)}")
    return [dataclasses.replace(e, **changes) if e.cadre_id in wanted else e for e in entries]


# NĐ 335 Điều 20 (domain rules §6.4): resolving the quota by demotion turns HTXSNV into HTTNV, raising the denominator.
def demote_for_quota(results: Iterable[QuotaEntry], cadre_ids: Iterable[int]) -> list[QuotaEntry]:
    """The results with these HTXSNV cadres graded HTTNV; check again with `quota_check`."""
    return _change(results, cadre_ids, grade=HTTNV)


# NĐ 335 Điều 20 k5 [P]: the competent superior may approve HTXSNV beyond the quota for outstanding achievement.
def approve_quota_exception(results: Iterable[QuotaEntry], cadre_ids: Iterable[int]) -> list[QuotaEntry]:
    return _change(results, cadre_ids, exception_approved=True)
