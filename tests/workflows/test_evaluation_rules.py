"""Scoring rules of the monthly evaluation (NĐ 335/2025/NĐ-CP Điều 12–21; domain rules §6), table by table."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from workflows.errors import Amount, Invalid, fill_in
from workflows.registry.models import EvaluationGrade
from workflows.rules import targets
from workflows.rules.evaluation import (
    DEFAULT_POLICY,
    GRADE_LABELS,
    GRADES,
    EvaluationPolicy,
    LeaderUnitCriterion,
    QuotaEntry,
    WorkProduct,
    annual_score,
    approve_quota_exception,
    changed_fields,
    changed_values,
    closed_unit_problems,
    criteria_problems,
    decision_problems,
    demote_for_quota,
    grade_for,
    leader_unit_factor,
    may_return,
    month_problems,
    month_text,
    monthly_score,
    period_deadlines,
    product_score,
    quarter_of,
    quarterly_score,
    quota_check,
    review_problems,
    validate_self_assessment,
)


def product(
    assigned: float = 10,
    completed: float = 10,
    quality: float = 10,
    on_time: float = 10,
    errors: int = 0,
    delays: int = 0,
    name: str = "Văn bản tham mưu",
) -> WorkProduct:
    return WorkProduct(name, assigned, completed, quality, on_time, errors, delays)


FULL = (10, 10, 10)


def test_grades_and_labels_match_the_registry() -> None:
    """NĐ 335 Điều 20: the four grades, spelled as the registry stores them, each with its Vietnamese name."""
    assert list(GRADES) == [g.value for g in EvaluationGrade]
    assert GRADE_LABELS == {
        "HTXSNV": "Hoàn thành xuất sắc nhiệm vụ",
        "HTTNV": "Hoàn thành tốt nhiệm vụ",
        "HTNV": "Hoàn thành nhiệm vụ",
        "KHTNV": "Không hoàn thành nhiệm vụ",
    }


# ---------------------------------------------------------------------------------------------
# Products → percentages (NĐ 335 Điều 13–16)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("products", "quantity", "quality", "progress", "task"),
    [
        pytest.param([product()], 100, 100, 100, 70, id="all-done-well-and-on-time"),
        pytest.param([product(10, 8, 8, 8)], 80, 80, 80, 56, id="quantity-is-completed-over-assigned"),
        pytest.param([product(10, 10, 7, 10)], 100, 70, 100, 63, id="quality-counts-units-meeting-quality"),
        pytest.param([product(10, 10, 10, 4)], 100, 100, 40, 56, id="progress-counts-units-on-time"),
        pytest.param([product(10, 0, 0, 0)], 0, 0, 0, 0, id="nothing-done"),
        # Percentages are over the converted units of all products together, not an average of rows.
        pytest.param([product(2, 2, 2, 2), product(8, 4, 4, 4)], 60, 60, 60, 42, id="units-pooled-across-products"),
        pytest.param([product(3, 1, 1, 1)], 33.33, 33.33, 33.33, 23.33, id="thirds-rounded-half-up"),
        pytest.param([product(0.5, 0.5, 0.5, 0.5), product(1.5, 1, 0.5, 1)], 75, 50, 75, 46.67, id="fractional-units"),
    ],
)
def test_nd335_dieu13_16_percentages_against_units_assigned(
    products: list[WorkProduct], quantity: float, quality: float, progress: float, task: float
) -> None:
    """NĐ 335 Điều 13–16: quantity/quality/progress % = completed / meeting quality / on time over units assigned;
    by default the 70 task points are 70 × their average."""
    score = product_score(products)
    assert (score.quantity_pct, score.quality_pct, score.progress_pct) == (quantity, quality, progress)
    assert score.task_points == task


@pytest.mark.parametrize(
    ("products", "quality_points", "progress_points"),
    [
        pytest.param([product(errors=1)], 7.5, 10, id="one-major-error-deducts-25pct-of-quality"),
        pytest.param([product(errors=2)], 5, 10, id="two-errors-deduct-50pct"),
        pytest.param([product(errors=4)], 0, 10, id="four-errors-deduct-everything"),
        pytest.param([product(errors=7)], 0, 10, id="never-below-zero"),
        pytest.param([product(delays=1)], 10, 7.5, id="one-delay-deducts-25pct-of-progress"),
        pytest.param([product(delays=3)], 10, 2.5, id="three-delays"),
        pytest.param([product(errors=1, delays=1)], 7.5, 7.5, id="both"),
        # Per product: the deduction applies to that product's points only, not to the other rows.
        pytest.param([product(4, 4, 4, 4, errors=1), product(6, 6, 6, 6)], 9, 10, id="only-that-products-points"),
        pytest.param([product(4, 4, 2, 4, errors=1), product(6, 6, 6, 6, delays=2)], 7.5, 7, id="on-its-own-points"),
    ],
)
def test_nd335_dieu13_16_each_error_or_delay_deducts_25pct_of_that_products_points(
    products: list[WorkProduct], quality_points: float, progress_points: float
) -> None:
    """NĐ 335 Điều 13–16: each failed quality review with a major error deducts 25% of that product's quality
    points; each delay deducts 25% of that product's progress points."""
    score = product_score(products)
    assert (score.quality_points, score.progress_points) == (quality_points, progress_points)
    assert score.quality_pct == 100 * quality_points / score.assigned
    assert score.progress_pct == 100 * progress_points / score.assigned


def test_nd335_dieu13_16_deduction_rate_is_configurable() -> None:
    """NĐ 335 Điều 13–16 [V] 25% per error/delay, kept as policy data like every rule a province may refine."""
    policy = EvaluationPolicy(deduction_per_error=0.5, deduction_per_delay=0.1)
    score = product_score([product(errors=1, delays=2)], policy)
    assert (score.quality_points, score.progress_points) == (5, 8)


@pytest.mark.parametrize(
    ("policy", "task"),
    [
        pytest.param(DEFAULT_POLICY, 56, id="average"),  # (100 + 60 + 80) / 3 = 80% → 56
        pytest.param(EvaluationPolicy(combine="weighted", weights=(0.5, 0.25, 0.25)), 59.5, id="weighted"),
        pytest.param(EvaluationPolicy(combine="weighted", weights=(0, 1, 0)), 42, id="quality-only"),
        # The weights are ignored unless combine is "weighted".
        pytest.param(EvaluationPolicy(combine="average", weights=(0, 1, 0)), 56, id="average-ignores-weights"),
    ],
)
def test_nd335_dieu13_16_combination_of_the_three_percentages(policy: EvaluationPolicy, task: float) -> None:
    """NĐ 335 Điều 13–16 [U]: how quantity, quality and progress combine into the 70 points is policy."""
    assert product_score([product(10, 10, 6, 8)], policy).task_points == task


# ---------------------------------------------------------------------------------------------
# 30 + 70 (NĐ 335 Điều 12)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("products", "criteria", "criteria_points", "task_points", "total"),
    [
        pytest.param([product()], FULL, 30, 70, 100, id="full-marks"),
        pytest.param([product()], (0, 0, 0), 0, 70, 70, id="criteria-zero"),
        pytest.param([product(10, 0, 0, 0)], FULL, 30, 0, 30, id="tasks-zero"),
        pytest.param([product(10, 10, 6, 8)], (9, 8.5, 7), 24.5, 56, 80.5, id="mixed"),
        pytest.param([product(3, 1, 1, 1)], (10, 10, 10), 30, 23.33, 53.33, id="rounded-total"),
        # 70 × (2/3) = 46.666…: the total is rounded once from exact parts, not summed from rounded ones.
        pytest.param([product(3, 2, 2, 2)], (9.5, 9.5, 9.5), 28.5, 46.67, 75.17, id="exact-until-the-end"),
    ],
)
def test_nd335_dieu12_total_is_30_criteria_plus_70_tasks(
    products: list[WorkProduct],
    criteria: tuple[float, ...],
    criteria_points: float,
    task_points: float,
    total: float,
) -> None:
    """NĐ 335 Điều 12 k1: 100 points = general criteria (max 30) + task results (max 70), to 2 decimals."""
    score = monthly_score(products, criteria, DEFAULT_POLICY)
    assert (score.criteria_points, score.task_points, score.total) == (criteria_points, task_points, total)
    assert score.leader_unit_factor is None
    assert score.to_data()["criteria"] == [float(c) for c in criteria]


def test_nd335_dieu12_rounding_is_half_up_on_exact_values() -> None:
    """NĐ 335 Điều 12: the total is rounded half-up to 2 decimals from exact values, and graded as rounded."""
    six_sevenths = [product(7, 6, 6, 6)]  # 70 × 6/7 = 60 task points exactly
    # 0.025 + 60 = 60.025 → 60.03; round() on the float sum gives 60.02.
    assert round(0.025 + 60.0, 2) == 60.02
    assert monthly_score(six_sevenths, (0, 0, 0.025)).total == 60.03
    # 29.995 + 60 = 89.995 → 90.00, graded HTXSNV: the grade uses the score the person sees.
    boundary = monthly_score(six_sevenths, (10, 10, 9.995))
    assert boundary.total == 90.0
    assert grade_for(boundary.total).grade == "HTXSNV"
    assert monthly_score(six_sevenths, (10, 10, 9.994)).total == 89.99


# ---------------------------------------------------------------------------------------------
# Leaders (NĐ 335 Điều 15, domain rules §6.2)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("grades", "factor"),
    [
        pytest.param(["HTXSNV", "HTTNV", "HTNV"], 1.0, id="all-at-least-htnv"),
        pytest.param(["HTTNV"] * 20, 1.0, id="all-good"),
        pytest.param(["HTXSNV", "HTTNV", "KHTNV"], 0.5, id="any-khtnv"),
        pytest.param(["KHTNV"], 0.5, id="only-khtnv"),
        pytest.param([], 1.0, id="no-subordinates-nobody-failed"),
    ],
)
def test_nd335_dieu15_leader_unit_results_100_or_50_percent(grades: list[str], factor: float) -> None:
    """NĐ 335 Điều 15 (domain rules §6.2): unit results 100% if all subordinates score HTNV or above, 50% if any
    is KHTNV."""
    assert leader_unit_factor(grades) == factor
    assert leader_unit_factor(iter(grades)) == factor


def test_nd335_dieu15_unknown_subordinate_grade_is_refused() -> None:
    """NĐ 335 Điều 15: an unknown grade must not count as passing."""
    with pytest.raises(ValueError, match="Xuất sắc"):
        leader_unit_factor(["HTTNV", "Xuất sắc"])


@pytest.mark.parametrize(
    ("products", "factor", "weight", "task", "total"),
    [
        pytest.param([product()], None, 0.3, 70, 100, id="not-a-leader"),
        pytest.param([product()], 1.0, 0.3, 70, 100, id="leader-unit-all-pass"),
        # 70 × (0.7 × 1 + 0.3 × 0.5) = 59.5
        pytest.param([product()], 0.5, 0.3, 59.5, 89.5, id="one-khtnv-subordinate-costs-10.5"),
        # 70 × (0.7 × 0.8 + 0.3 × 1) = 60.2
        pytest.param([product(10, 8, 8, 8)], 1.0, 0.3, 60.2, 90.2, id="own-products-80pct"),
        pytest.param([product()], 0.5, 0.0, 70, 100, id="weight-zero-ignores-the-unit"),
        pytest.param([product(10, 0, 0, 0)], 0.5, 1.0, 35, 65, id="weight-one-unit-only"),
    ],
)
def test_nd335_dieu15_leader_unit_factor_enters_the_70_task_points(
    products: list[WorkProduct], factor: float | None, weight: float, task: float, total: float
) -> None:
    """NĐ 335 Điều 15 [V] 100%/50%, weight [U]: task = 70 × ((1 − weight) × products % + weight × factor)."""
    policy = EvaluationPolicy(leader_unit_criterion=LeaderUnitCriterion(weight=weight))
    score = monthly_score(products, FULL, policy, leader_unit_factor=factor)
    assert (score.task_points, score.total, score.leader_unit_factor) == (task, total, factor)


def test_nd335_dieu15_leader_with_failing_subordinate_drops_below_excellent() -> None:
    """NĐ 335 Điều 15 with Điều 20: a perfect leader whose unit has a KHTNV is graded HTTNV, not HTXSNV."""
    factor = leader_unit_factor(["HTTNV", "KHTNV"])
    score = monthly_score([product()], FULL, leader_unit_factor=factor)
    assert grade_for(score.total).grade == "HTTNV"
    assert grade_for(monthly_score([product()], FULL, leader_unit_factor=1.0).total).grade == "HTXSNV"


# ---------------------------------------------------------------------------------------------
# Grades (NĐ 335 Điều 20, QĐ 366 Điều 11)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("score", "grade"),
    [
        (100, "HTXSNV"),
        (90, "HTXSNV"),
        (89.99, "HTTNV"),
        (70, "HTTNV"),
        (69.99, "HTNV"),
        (50, "HTNV"),
        (49.99, "KHTNV"),
        (0, "KHTNV"),
    ],
)
def test_nd335_dieu20_bands_at_their_boundaries(score: float, grade: str) -> None:
    """NĐ 335 Điều 20: ≥ 90 HTXSNV, 70 – < 90 HTTNV, 50 – < 70 HTNV, < 50 KHTNV (điểm a)."""
    result = grade_for(score)
    assert result.grade == grade
    assert not result.overridden
    assert result.label == GRADE_LABELS[grade]
    assert len(result.reasons) == 1
    assert GRADE_LABELS[grade] in result.reasons[0]


@pytest.mark.parametrize(
    ("flags", "article"),
    [
        pytest.param({"disciplined_reprimand_or_above": True}, "Điều 20 điểm c", id="c-discipline-reprimand-or-above"),
        pytest.param({"degradation_finding": True}, "Điều 20 điểm b", id="b-degradation"),
        pytest.param({"leader_unit_corruption": True}, "Điều 20 điểm d", id="d-leader-unit-corruption"),
    ],
)
@pytest.mark.parametrize("score", [100, 90, 75, 50])
def test_nd335_dieu20_khtnv_overrides_any_score(score: float, flags: dict[str, bool], article: str) -> None:
    """NĐ 335 Điều 20 (b)(c)(d): degradation, discipline at khiển trách or above, a leader's unit in a corruption
    case — KHTNV whatever the score, with the reason on record."""
    result = grade_for(score, **flags)
    assert result.grade == "KHTNV"
    assert result.overridden
    assert article in result.reasons[0]
    assert "không được xét" in result.reasons[-1]


def test_nd335_dieu20_every_override_that_applies_is_a_reason() -> None:
    """NĐ 335 Điều 20: all the KHTNV cases that hold are recorded, not only the first."""
    result = grade_for(95, disciplined_reprimand_or_above=True, degradation_finding=True, leader_unit_corruption=True)
    assert result.grade == "KHTNV"
    assert [r.split("(NĐ 335 ")[-1] for r in result.reasons[:3]] == [
        "Điều 20 điểm c)",
        "Điều 20 điểm b)",
        "Điều 20 điểm d)",
    ]
    assert len(result.reasons) == 4


def test_nd335_dieu20_reason_shows_the_score_as_graded() -> None:
    """NĐ 335 Điều 20: the reason quotes the score the grade used, in Vietnamese notation."""
    assert grade_for(89.99).reasons == ("Điểm 89,99 (từ 70 đến dưới 90): Hoàn thành tốt nhiệm vụ",)
    assert grade_for(90).reasons == ("Điểm 90 (từ 90 trở lên): Hoàn thành xuất sắc nhiệm vụ",)
    assert "dưới 50" in grade_for(12.5).reasons[0]


@pytest.mark.parametrize("score", [-0.01, 100.01, float("nan"), float("inf"), "90", None, True])
def test_nd335_dieu20_scores_outside_0_100_are_refused(score: Any) -> None:
    """NĐ 335 Điều 12: a score lies between 0 and 100."""
    with pytest.raises(ValueError, match="0 to 100"):
        grade_for(score)


# ---------------------------------------------------------------------------------------------
# Roll-up (NĐ 335 Điều 21, domain rules §6.3)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("monthly", "expected"),
    [
        pytest.param({"2026-01": 80, "2026-02": 90, "2026-03": 70}, 80, id="three-months"),
        pytest.param({"2026-04": 80, "2026-05": None, "2026-06": 91}, 85.5, id="month-not-worked-left-out"),
        pytest.param({"2026-07": 85.55}, 85.55, id="one-month"),
        pytest.param({"2026-10": 70, "2026-11": 70, "2026-12": 71}, 70.33, id="rounded"),
        pytest.param({"2026-01": None}, None, id="nothing-worked"),
        pytest.param({}, None, id="empty"),
    ],
)
def test_nd335_dieu21_quarter_is_its_months_average(monthly: dict[str, float | None], expected: float | None) -> None:
    """NĐ 335 Điều 21 (§6.3, quarter [U]): a unit tracking monthly scores a quarter as its months' average."""
    assert quarterly_score(monthly) == expected


def test_nd335_dieu21_quarter_refuses_months_of_two_quarters() -> None:
    """NĐ 335 Điều 21: a quarter's score uses that quarter's months only."""
    with pytest.raises(ValueError, match="2026-Q1, 2026-Q2"):
        quarterly_score({"2026-03": 80, "2026-04": 80})
    assert [quarter_of(m) for m in ("2026-01", "2026-03", "2026-04", "2026-12")] == [
        "2026-Q1",
        "2026-Q1",
        "2026-Q2",
        "2026-Q4",
    ]


@pytest.mark.parametrize(
    ("month", "shown"),
    [("2026-11", "11/2026"), ("2026-05", "5/2026"), ("2026-13", "2026-13"), ("11-2026", "11-2026"), ("", "")],
)
def test_a_month_is_shown_as_vietnamese_pages_write_it(month: str, shown: str) -> None:
    """ "tháng 11/2026", not "tháng 2026-11"; what is not a month stays as typed (the page says it is wrong)."""
    assert month_text(month) == shown


YEAR = {f"2026-{m:02d}": 80.0 for m in range(1, 13)}


@pytest.mark.parametrize(
    ("monthly", "absences", "expected"),
    [
        pytest.param(YEAR, (), 80, id="full-year"),
        pytest.param({**YEAR, "2026-12": 92.0}, (), 81, id="average-of-twelve"),
        # Maternity leave March–August: those months' recorded zeros are left out.
        pytest.param(
            {**YEAR, **{f"2026-{m:02d}": 0.0 for m in range(3, 9)}},
            [f"2026-{m:02d}" for m in range(3, 9)],
            80,
            id="maternity-leave-left-out",
        ),
        pytest.param({**YEAR, "2026-05": None, "2026-06": None}, ["2026-05", "2026-06"], 80, id="sick-leave-no-score"),
        # Joined in October: only the months worked count.
        pytest.param({"2026-10": 70.0, "2026-11": 80.0, "2026-12": 96.0}, (), 82, id="joined-in-october"),
        pytest.param({**YEAR, "2026-01": 50.0}, ["2026-01"], 80, id="absence-overrides-a-recorded-score"),
        pytest.param({"2026-01": 10.0}, ["2026-01"], None, id="absent-all-year"),
        pytest.param({"2026-01": 70.0, "2026-02": 70.0, "2026-03": 71.0}, (), 70.33, id="rounded-half-up"),
    ],
)
def test_nd335_dieu21_annual_score_averages_months_worked(
    monthly: dict[str, float | None], absences: list[str], expected: float | None
) -> None:
    """NĐ 335 Điều 21 [V] (§6.3): the year-end score is the average of the months actually worked; leave with good
    reason (sick, maternity) does not count."""
    assert annual_score(monthly, absences) == expected


@pytest.mark.parametrize(
    ("monthly", "absences", "message"),
    [
        ({"2026-12": 80, "2027-01": 80}, (), "several years"),
        ({"2026-12": 80}, ["2025-05"], "several years"),
        ({"2026-13": 80}, (), "YYYY-MM"),
        ({"12/2026": 80}, (), "YYYY-MM"),
        ({"2026-01": 101}, (), "0 to 100"),
        ({"2026-01": "80"}, (), "0 to 100"),
    ],
)
def test_nd335_dieu21_annual_score_refuses_bad_input(
    monthly: dict[str, Any], absences: list[str], message: str
) -> None:
    """NĐ 335 Điều 21: graded per working year, from scores between 0 and 100."""
    with pytest.raises(ValueError, match=message):
        annual_score(monthly, absences)


# ---------------------------------------------------------------------------------------------
# Quota (NĐ 335 Điều 20, domain rules §6.4)
# ---------------------------------------------------------------------------------------------
def entries(
    httnv: int, htxsnv: list[float], *, unit: int = 1, group: str | None = "chuyen_mon", first_id: int = 1
) -> list[QuotaEntry]:
    rows = [QuotaEntry(first_id + i, unit, group, "HTTNV", 80.0) for i in range(httnv)]
    rows += [QuotaEntry(first_id + httnv + i, unit, group, "HTXSNV", s) for i, s in enumerate(htxsnv)]
    return rows


def test_nd335_dieu20_quota_10_httnv_3_htxsnv_one_over_then_denominator_11() -> None:
    """NĐ 335 Điều 20 [V]: HTXSNV ≤ 20% of the number graded HTTNV. 10 HTTNV + 3 HTXSNV → 2 allowed, 1 over (the
    lowest score); demoting that one makes 11 HTTNV (2.2 → 2 allowed) and 2 HTXSNV: within the quota."""
    results = entries(10, [95.0, 91.0, 93.0])
    group = quota_check(results).group(1, "chuyen_mon")
    assert (group.httnv, group.htxsnv, group.allowed, group.over_by) == (10, 3, 2, 1)
    assert group.over == (12,)  # the 91.0
    assert group.ranking == (12, 13, 11)
    assert not quota_check(results).is_within

    demoted = demote_for_quota(results, group.over)
    after = quota_check(demoted).group(1, "chuyen_mon")
    assert (after.httnv, after.htxsnv, after.allowed, after.over) == (11, 2, 2, ())
    assert quota_check(demoted).is_within
    assert [e.grade for e in demoted if e.cadre_id == 12] == ["HTTNV"]


def test_nd335_dieu20_quota_denominator_is_httnv_not_headcount() -> None:
    """NĐ 335 Điều 20 (§6.4): HTNV and KHTNV do not enlarge the allowance."""
    results = entries(4, [95.0]) + [QuotaEntry(100 + i, 1, "chuyen_mon", "HTNV", 60.0) for i in range(20)]
    group = quota_check(results).group(1, "chuyen_mon")
    assert (group.httnv, group.allowed, group.over) == (4, 0, (5,))


def test_nd335_dieu20_quota_per_unit_and_task_group_separately() -> None:
    """NĐ 335 Điều 20 [V]: the quota applies within each unit and within each group with similar tasks."""
    results = (
        entries(10, [95.0, 96.0], unit=1, group="chuyen_mon", first_id=1)  # within: 2 allowed
        + entries(4, [92.0, 97.0], unit=1, group="van_thu", first_id=100)  # 0 allowed; demote the 92 → 5 HTTNV, 1
        + entries(5, [99.0], unit=2, group="chuyen_mon", first_id=200)  # another unit: 1 allowed
    )
    report = quota_check(results)
    assert [(g.unit_id, g.task_group, g.allowed, g.over) for g in report.groups] == [
        (1, "chuyen_mon", 2, ()),
        (1, "van_thu", 0, (104,)),
        (2, "chuyen_mon", 1, ()),
    ]
    assert report.over == (104,)
    assert report.group(1, "van_thu").over_by == 2


def test_nd335_dieu20_quota_demotions_can_be_fewer_than_the_excess() -> None:
    """NĐ 335 Điều 20 (§6.4): each demotion also raises the denominator. 29 HTTNV + 12 HTXSNV: 5 allowed, 7 above,
    but 6 demotions suffice (35 HTTNV → 7 allowed, 6 HTXSNV left)."""
    results = entries(29, [90.0 + i / 2 for i in range(12)])
    group = quota_check(results).group(1, "chuyen_mon")
    assert (group.allowed, group.over_by, group.demotions_needed, len(group.over)) == (5, 7, 6, 6)
    assert quota_check(demote_for_quota(results, group.over)).is_within
    assert not quota_check(demote_for_quota(results, group.over[:-1])).is_within


@pytest.mark.parametrize(
    ("rounding", "httnv", "allowed"),
    [
        ("floor", 12, 2),  # 2.4
        ("round", 12, 2),
        ("ceil", 12, 3),
        ("floor", 13, 2),  # 2.6
        ("round", 13, 3),
        ("ceil", 13, 3),
        ("floor", 10, 2),  # exactly 2: every mode agrees
        ("round", 10, 2),
        ("ceil", 10, 2),
        ("floor", 4, 0),  # 0.8
        ("ceil", 4, 1),
    ],
)
def test_nd335_dieu20_quota_rounding_is_configurable(rounding: str, httnv: int, allowed: int) -> None:
    """NĐ 335 Điều 20 [V] 20%; rounding of the allowance [U]: floor (default), round (half up) or ceil."""
    policy = EvaluationPolicy(quota_rounding=rounding)
    group = quota_check(entries(httnv, [99.0] * 4), policy).group(1, "chuyen_mon")
    assert group.allowed == allowed
    assert (
        group.allowed
        == targets.htxsnv_quota_check({"HTTNV": httnv}, rounding={"round": "half_up"}.get(rounding, rounding)).allowed
    )


def test_nd335_dieu20_quota_round_mode_is_half_up() -> None:
    """NĐ 335 Điều 20 [U] rounding "round": half up (25% of 2 = 0.5 → 1), not banker's rounding."""
    policy = EvaluationPolicy(quota_ratio=0.25, quota_rounding="round")
    assert quota_check(entries(2, [95.0]), policy).group(1, "chuyen_mon").allowed == 1


@pytest.mark.parametrize(
    ("httnv", "scores", "over"),
    [
        pytest.param(5, [95.0, 91.0, 91.5], (7, 8), id="two-lowest-of-three"),  # 1 allowed; 2 demotions → 7 HTTNV
        pytest.param(10, [90.0, 99.0, 90.5], (11,), id="the-90.00-goes-first"),
        pytest.param(15, [92.0, 91.0, 93.0], (), id="within-3-allowed"),
        pytest.param(0, [95.0], (1,), id="no-httnv-no-htxsnv"),
    ],
)
def test_nd335_dieu20_quota_ranks_lowest_score_first(httnv: int, scores: list[float], over: tuple[int, ...]) -> None:
    """NĐ 335 Điều 20 (§6.4, ranking [U]): the HTXSNV to resolve are the lowest scores of the group."""
    group = quota_check(entries(httnv, scores)).group(1, "chuyen_mon")
    assert group.over == over
    assert group.ranking[: len(over)] == over


@pytest.mark.parametrize(
    ("tie_break", "tie_keys", "over", "tied"),
    [
        # 10 HTTNV, HTXSNV 11: 93, 12: 93, 13: 97 → one to resolve among the two 93s.
        pytest.param("tie_key", (0, 0, 0), (11,), (11, 12), id="equal-keys-fall-to-cadre-id-and-are-flagged"),
        pytest.param("tie_key", (5, 2, 0), (12,), (), id="tie-key-decides"),
        pytest.param("cadre_id", (5, 2, 0), (11,), (11, 12), id="cadre-id-ignores-tie-key"),
    ],
)
def test_nd335_dieu20_quota_tie_break_is_configurable(
    tie_break: str, tie_keys: tuple[float, ...], over: tuple[int, ...], tied: tuple[int, ...]
) -> None:
    """NĐ 335 Điều 20 (§6.4, tie-break [U]): equal scores are ordered by the caller's tie key (e.g. months graded
    HTXSNV in the year, fewer resolved first), then cadre id; a cut through equals is flagged for the head."""
    rows = entries(10, [93.0, 93.0, 97.0])
    rows = [
        r if r.grade != "HTXSNV" else QuotaEntry(**{**r.__dict__, "tie_key": tie_keys[r.cadre_id - 11]}) for r in rows
    ]
    group = quota_check(rows, EvaluationPolicy(quota_tie_break=tie_break)).group(1, "chuyen_mon")
    assert (group.over, group.tied_at_cut) == (over, tied)


def test_nd335_dieu20_quota_approved_exception_does_not_count() -> None:
    """NĐ 335 Điều 20 k5 [P]: an HTXSNV beyond the quota approved by the competent superior stays HTXSNV and
    no longer counts against the quota; nor does it enlarge the denominator."""
    results = entries(10, [95.0, 91.0, 93.0])
    excepted = approve_quota_exception(results, [12])
    group = quota_check(excepted).group(1, "chuyen_mon")
    assert (group.httnv, group.htxsnv, group.excepted, group.over) == (10, 2, (12,), ())
    assert [e.grade for e in excepted if e.cadre_id == 12] == ["HTXSNV"]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([QuotaEntry(1, 1, None, "Xuất sắc", 95.0)], "unknown grade"),
        ([QuotaEntry(1, 1, None, "HTTNV", 80.0), QuotaEntry(1, 2, None, "HTTNV", 80.0)], "more than once"),
        ([QuotaEntry(1, 1, None, "HTXSNV", None)], "needs its score"),
    ],
)
def test_nd335_dieu20_quota_refuses_inconsistent_results(rows: list[QuotaEntry], message: str) -> None:
    """NĐ 335 Điều 20: one grade per cadre, known grades, HTXSNV ranked by score."""
    with pytest.raises(ValueError, match=message):
        quota_check(rows)


def test_nd335_dieu20_only_htxsnv_can_be_demoted_for_the_quota() -> None:
    """NĐ 335 Điều 20 (§6.4): resolving the quota demotes an HTXSNV to HTTNV, nothing else."""
    results = entries(10, [95.0])
    with pytest.raises(ValueError, match=r"\[3\]"):
        demote_for_quota(results, [3])
    with pytest.raises(ValueError, match=r"\[999\]"):
        approve_quota_exception(results, [999])


# ---------------------------------------------------------------------------------------------
# Self-assessment validation (NĐ 335 Điều 12–16)
# ---------------------------------------------------------------------------------------------
def row(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "Báo cáo tháng",
        "assigned": 10,
        "completed": 8,
        "completed_quality": 6,
        "completed_on_time": 7,
        "major_errors": 0,
        "delays": 0,
        "evidence": None,  # extra form keys are ignored
    }
    base.update(changes)
    return base


@pytest.mark.parametrize(
    ("products", "criteria", "fields"),
    [
        pytest.param([row()], FULL, [], id="valid"),
        pytest.param([WorkProduct("x", 1, 1, 1, 1)], (0, 5.5, 10), [], id="valid-dataclass"),
        pytest.param([row(completed=-1)], FULL, ["products.0.completed"], id="negative-completed"),
        pytest.param([row(major_errors=-1)], FULL, ["products.0.major_errors"], id="negative-error-count"),
        pytest.param([row(delays=-2)], FULL, ["products.0.delays"], id="negative-delay-count"),
        pytest.param([row(delays=1.5)], FULL, ["products.0.delays"], id="fractional-count"),
        pytest.param([row(delays=2.0)], FULL, [], id="whole-float-count-accepted"),
        pytest.param([row(), row(completed=11)], FULL, ["products.1.completed"], id="completed-over-assigned"),
        pytest.param(
            [row(completed=5, completed_quality=6, completed_on_time=7)],
            FULL,
            ["products.0.completed_quality", "products.0.completed_on_time"],
            id="quality-and-on-time-over-completed",
        ),
        pytest.param(
            [row(assigned=0, completed=0, completed_quality=0, completed_on_time=0)],
            FULL,
            ["products.0.assigned"],
            id="nothing-assigned",
        ),
        pytest.param([row(assigned="10")], FULL, ["products.0.assigned"], id="text-not-number"),
        pytest.param([row(assigned=True)], FULL, ["products.0.assigned"], id="boolean-not-number"),
        pytest.param([row(completed=float("nan"))], FULL, ["products.0.completed"], id="nan"),
        pytest.param([row(completed=None)], FULL, ["products.0.completed"], id="missing"),
        pytest.param([row(name="  ")], FULL, ["products.0.name"], id="blank-name"),
        pytest.param([row(assigned=10**6)], FULL, ["products.0.assigned"], id="absurd-amount"),
        pytest.param([], FULL, ["products"], id="no-products"),
        pytest.param("products", FULL, ["products"], id="not-a-list"),
        pytest.param([row()] * 201, FULL, ["products"], id="too-many-products"),
        pytest.param([7], FULL, ["products.0"], id="not-a-row"),
        pytest.param([row()], (10, 10, 10.5), ["criteria.2"], id="criterion-over-its-max"),
        pytest.param([row()], (-1, 10, 10), ["criteria.0"], id="negative-criterion"),
        pytest.param([row()], (10, "x", None), ["criteria.1", "criteria.2"], id="criteria-not-numbers"),
        pytest.param([row()], (10, 10), ["criteria"], id="two-criteria"),
        pytest.param(
            [row(completed=-1, major_errors="a"), row(completed=12)],
            (31, 0, 0),
            ["products.0.completed", "products.0.major_errors", "products.1.completed", "criteria.0"],
            id="every-problem-at-once",
        ),
    ],
)
def test_nd335_dieu12_16_self_assessment_validation(products: Any, criteria: Any, fields: list[str]) -> None:
    """NĐ 335 Điều 12–16: only a consistent table can be scored — no negative counts, completed ≤ assigned,
    meeting quality / on time ≤ completed, criteria within 0..their maximum; one problem per bad field."""
    problems = validate_self_assessment(products, criteria, DEFAULT_POLICY)
    assert [p.field for p in problems] == fields
    assert all(p.message for p in problems)
    if fields:
        with pytest.raises(Invalid) as caught:
            monthly_score(products, criteria, DEFAULT_POLICY)
        assert [p.field for p in caught.value.problems] == fields


def test_nd335_dieu12_criteria_bounds_follow_the_policy_split() -> None:
    """NĐ 335 Điều 12 k2: the 30 points split across (a)–(c) by policy [U]; each score within its own maximum."""
    policy = EvaluationPolicy(criteria_max=(15, 10, 5))
    assert criteria_problems((15, 10, 5), policy) == []
    assert [p.field for p in criteria_problems((10, 10, 6), policy)] == ["criteria.2"]
    # The problem names the range of that criterion under that policy.
    assert [p.explained for p in criteria_problems((16, 10, -1), policy)] == [
        "the score must be between 0 and 15",
        "the score must be between 0 and 5",
    ]
    split = EvaluationPolicy(criteria_max=(7.5, 12.5, 10))
    assert [p.explained for p in criteria_problems((8, 10, 10), split)] == ["the score must be between 0 and 7.5"]
    (problem,) = criteria_problems((8, 10, 10), split)
    assert problem.message_args == {"maximum": Amount(7.5)}  # an Amount: the page writes it "7,5" in Vietnamese
    assert monthly_score([row()], (15, 10, 5), policy).criteria_points == 30


def test_nd335_dieu12_16_leader_factor_outside_0_1_is_refused() -> None:
    """NĐ 335 Điều 15: the unit-results factor is a share between 0 and 1."""
    with pytest.raises(Invalid) as caught:
        monthly_score([row()], FULL, leader_unit_factor=1.5)
    assert [p.field for p in caught.value.problems] == ["leader_unit_factor"]


def test_product_score_refuses_invalid_rows() -> None:
    """NĐ 335 Điều 13: units completed cannot exceed units assigned."""
    with pytest.raises(Invalid) as caught:
        product_score([row(completed=11)])
    assert [p.field for p in caught.value.problems] == ["products.0.completed"]


# ---------------------------------------------------------------------------------------------
# Policy
# ---------------------------------------------------------------------------------------------
def test_default_policy_values_and_round_trip() -> None:
    """NĐ 335 Điều 12–20 defaults: 10/10/10 criteria, average, 25% deductions, 20% quota with floor."""
    policy = EvaluationPolicy.from_mapping({})
    assert policy == DEFAULT_POLICY
    assert (policy.criteria_max, policy.combine, policy.quota_ratio, policy.quota_rounding) == (
        (10, 10, 10),
        "average",
        0.2,
        "floor",
    )
    assert (policy.open_day, policy.self_assessment_day, policy.review_day, policy.decision_day) == (20, 25, 28, 3)
    custom = EvaluationPolicy.from_mapping(
        {
            "criteria_max": [12, 10, 8],
            "combine": "weighted",
            "weights": [0.4, 0.4, 0.2],
            "max_returns": 3,
            "quota_rounding": "ceil",
            "leader_unit_criterion": {"weight": 0.25},
        }
    )
    assert custom.criteria_max == (12, 10, 8)
    assert custom.leader_unit_criterion == LeaderUnitCriterion(weight=0.25)
    assert EvaluationPolicy.from_mapping(custom.to_mapping()) == custom


@pytest.mark.parametrize(
    ("values", "fields"),
    [
        ({"criteria_max": [10, 10, 5]}, ["criteria_max"]),  # adds up to 25
        ({"criteria_max": [10, 10]}, ["criteria_max"]),
        ({"criteria_max": [40, -5, -5]}, ["criteria_max"]),
        ({"combine": "geometric"}, ["combine"]),
        ({"weights": [0.5, 0.5, 0.5]}, ["weights"]),
        ({"weights": "equal"}, ["weights"]),
        ({"deduction_per_error": 1.5}, ["deduction_per_error"]),
        ({"deduction_per_delay": "25%"}, ["deduction_per_delay"]),
        ({"max_returns": -1}, ["max_returns"]),
        ({"max_returns": 2.5}, ["max_returns"]),
        ({"max_returns": True}, ["max_returns"]),
        ({"review_day": 31}, ["review_day"]),
        ({"self_assessment_day": 29}, ["self_assessment_day"]),
        ({"open_day": 26}, ["self_assessment_day"]),  # opens after the self-assessment deadline
        ({"decision_day": 0}, ["decision_day"]),
        ({"reminder_days_before": -1}, ["reminder_days_before"]),
        ({"quota_ratio": 1.2}, ["quota_ratio"]),
        ({"quota_ratio": float("nan")}, ["quota_ratio"]),
        ({"quota_rounding": "banker"}, ["quota_rounding"]),
        ({"quota_tie_break": "seniority"}, ["quota_tie_break"]),
        ({"leader_unit_criterion": {"weight": 2}}, ["leader_unit_criterion.weight"]),
        ({"leader_unit_criterion": {"any_khtnv": 1, "all_at_least_htnv": 0.5}}, ["leader_unit_criterion.any_khtnv"]),
        ({"leader_unit_criterion": {"bonus": 1}}, ["leader_unit_criterion.bonus"]),
        ({"leader_unit_criterion": 0.5}, ["leader_unit_criterion"]),
        ({"quota": 0.3}, ["quota"]),
        ({"results_published_in_unit": "yes"}, ["results_published_in_unit"]),
        ({"results_published_in_unit": 1}, ["results_published_in_unit"]),
        (
            {"quota_ratio": -1, "combine": "x", "unknown": 1},
            ["unknown", "combine", "quota_ratio"],
        ),
    ],
)
def test_policy_validation_reports_every_bad_setting(values: dict[str, Any], fields: list[str]) -> None:
    """Domain rules §0: [P]/[U] rules are configuration — and a bad configuration is refused with one problem per
    setting, never half applied."""
    with pytest.raises(Invalid) as caught:
        EvaluationPolicy.from_mapping(values)
    assert [p.field for p in caught.value.problems] == fields


def test_policy_constructor_validates_too() -> None:
    """Domain rules §0: a policy built in code is held to the same rules as one read from settings."""
    with pytest.raises(Invalid) as caught:
        EvaluationPolicy(combine="weighted", weights=(1, 1, 1))
    assert [p.field for p in caught.value.problems] == ["weights"]
    with pytest.raises(Invalid):
        EvaluationPolicy.from_mapping(["not", "a", "mapping"])  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Periods (NĐ 335 Điều 17–19; days [U])
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("month", "policy", "opens", "self_due", "review_due", "decision_due"),
    [
        ("2026-11", DEFAULT_POLICY, date(2026, 11, 20), date(2026, 11, 25), date(2026, 11, 28), date(2026, 12, 3)),
        ("2026-12", DEFAULT_POLICY, date(2026, 12, 20), date(2026, 12, 25), date(2026, 12, 28), date(2027, 1, 3)),
        (
            "2027-02",
            EvaluationPolicy(open_day=1, self_assessment_day=10, review_day=15, decision_day=5),
            date(2027, 2, 1),
            date(2027, 2, 10),
            date(2027, 2, 15),
            date(2027, 3, 5),
        ),
    ],
)
def test_nd335_dieu17_19_period_deadlines(
    month: str, policy: EvaluationPolicy, opens: date, self_due: date, review_due: date, decision_due: date
) -> None:
    """NĐ 335 Điều 17–19 (days [U], §6.3): opening, self-assessment and review in month M, decision in M+1."""
    deadlines = period_deadlines(month, policy)
    assert (deadlines.opens, deadlines.self_assessment_due, deadlines.review_due, deadlines.decision_due) == (
        opens,
        self_due,
        review_due,
        decision_due,
    )
    assert deadlines.reminder_for(deadlines.review_due) == date(review_due.year, review_due.month, review_due.day - 2)


@pytest.mark.parametrize(
    ("month", "today", "problems"),
    [
        ("2026-11", date(2026, 11, 20), []),
        ("2026-10", date(2026, 11, 20), []),
        (
            "2026-12",
            date(2026, 11, 30),
            ["month 12/2026 has not begun yet: a month is evaluated once it has begun (this is 11/2026)"],
        ),
        (
            "2027-01",
            date(2026, 11, 30),
            ["month 1/2027 has not begun yet: a month is evaluated once it has begun (this is 11/2026)"],
        ),
        ("2026-1", date(2026, 11, 30), ["write the month as YYYY-MM, for example 2026-11"]),
        ("1999-12", date(2026, 11, 30), ["month 12/1999 is before 1/2000, the first month this system evaluates"]),
        ("2000-01", date(2026, 11, 30), []),
        (None, date(2026, 11, 30), ["write the month as YYYY-MM, for example 2026-11"]),
    ],
)
def test_nd335_dieu17_a_month_in_the_future_cannot_be_opened(month: Any, today: date, problems: list[str]) -> None:
    """NĐ 335 Điều 17: a month is evaluated once it has begun; opening a future month is refused."""
    found = month_problems(month, today)
    assert [fill_in(p.message, p.message_args) for p in found] == problems  # each says which month, and why
    assert all(p.field == "month" for p in found)


# ---------------------------------------------------------------------------------------------
# Review and decision (NĐ 335 Điều 18–20; issue #5 steps 3–4)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("returns", "allowed"), [(0, True), (1, True), (2, False), (5, False)])
def test_nd335_dieu18_manager_returns_at_most_max_returns(returns: int, allowed: bool) -> None:
    """NĐ 335 Điều 18 (returns [U], default 2): the manager may send the self-assessment back a limited number
    of times."""
    assert may_return(returns) is allowed
    assert may_return(returns, EvaluationPolicy(max_returns=0)) is False


@pytest.mark.parametrize(
    ("after_products", "after_criteria", "reasons", "fields"),
    [
        pytest.param([row()], FULL, {}, [], id="unchanged-needs-no-reason"),
        pytest.param([row(completed=7)], FULL, {}, ["products.0.completed"], id="changed-count-needs-reason"),
        pytest.param([row(completed=7)], FULL, {"products.0.completed": "Một báo cáo chưa nộp"}, [], id="reasoned"),
        pytest.param([row(completed=7)], FULL, {"products.0.completed": "  "}, ["products.0.completed"], id="blank"),
        pytest.param(
            [row(delays=1)],
            (10, 9, 10),
            {"criteria.1": "Chậm phối hợp"},
            ["products.0.delays"],
            id="each-change-its-own-reason",
        ),
        pytest.param([row(), row(name="Thêm")], FULL, {}, ["products.1"], id="added-product"),
        pytest.param(
            [row(completed=11)],
            FULL,
            {"products.0.completed": "x"},
            ["products.0.completed"],
            id="adjusted-table-must-be-valid",
        ),
    ],
)
def test_nd335_dieu18_manager_adjustments_need_a_reason(
    after_products: list[dict[str, Any]], after_criteria: tuple[float, ...], reasons: dict[str, str], fields: list[str]
) -> None:
    """NĐ 335 Điều 18 (issue #5 step 3): the direct manager adjusts counts and criteria with a reason per change."""
    problems = review_problems([row()], FULL, after_products, after_criteria, reasons)
    assert [p.field for p in problems] == fields


def test_nd335_dieu18_changed_fields_lists_every_change() -> None:
    """NĐ 335 Điều 18: the audit of a review names each field the manager changed."""
    before = [WorkProduct("A", 10, 8, 6, 7), WorkProduct("B", 4, 4, 4, 4)]
    after = [
        row(name="A", completed=8, completed_quality=5, major_errors=1),
        row(name="B", assigned=4, completed=4, completed_quality=4, completed_on_time=4),
    ]
    assert changed_fields(before, FULL, after, (10, 10, 9)) == [
        "products.0.completed_quality",
        "products.0.major_errors",
        "criteria.2",
    ]
    assert changed_fields(before, FULL, before[:1], FULL) == ["products.1"]


def test_changed_values_give_the_cadres_value_and_the_managers() -> None:
    """What the returned form shows beside each changed value; a product removed whole has no one value."""
    before = [WorkProduct("A", 10, 8, 6, 7), WorkProduct("B", 4, 4, 4, 4)]
    after = [row(name="A", assigned=10, completed=8, completed_quality=5, completed_on_time=7)]
    assert changed_values(before, FULL, after, (10, 10, 9)) == [
        ("products.0.completed_quality", 6, 5),
        ("criteria.2", 10, 9),
    ]


@pytest.mark.parametrize(
    ("computed", "decided", "reason", "fields"),
    [
        pytest.param(grade_for(85), "HTTNV", None, [], id="confirm"),
        pytest.param(grade_for(85), "HTNV", "Chưa hoàn thành chỉ tiêu quý", [], id="change-with-reason"),
        pytest.param(grade_for(85), "HTXSNV", "", ["reason"], id="change-without-reason"),
        pytest.param(grade_for(85), "Tốt", "x", ["grade"], id="unknown-grade"),
        pytest.param(
            grade_for(95, degradation_finding=True), "HTXSNV", "Đã khắc phục", ["grade"], id="override-cannot-be-lifted"
        ),
        pytest.param(grade_for(95, degradation_finding=True), "KHTNV", None, [], id="override-confirmed"),
    ],
)
def test_nd335_dieu19_20_decision_confirms_or_changes_with_reason(
    computed: Any, decided: str, reason: str | None, fields: list[str]
) -> None:
    """NĐ 335 Điều 19–20: the competent person confirms the grade or changes it with a reason; the KHTNV cases of
    Điều 20 (b)–(d) stand."""
    assert [p.field for p in decision_problems(computed, decided, reason)] == fields


@pytest.mark.parametrize(
    ("is_active", "active_to", "merged", "successor", "message"),
    [
        (True, None, False, None, None),  # stands today
        (True, date(2026, 12, 31), False, None, None),  # closes later
        (
            False,
            date(2025, 6, 30),
            True,
            "Xã An Phú",
            "this unit was merged into %(successor)s: open the month for %(successor)s",
        ),
        (False, date(2025, 6, 30), True, None, "this unit was merged into another unit: open the month for that unit"),
        (False, None, False, None, "this unit has been dissolved: it has no cadres to evaluate"),
        (True, date(2025, 6, 30), False, None, "this unit has been dissolved: it has no cadres to evaluate"),
    ],
)
def test_s54_a_month_is_opened_only_for_a_unit_that_still_stands(
    is_active: bool, active_to: date | None, merged: bool, successor: str | None, message: str | None
) -> None:
    problems = closed_unit_problems(
        is_active=is_active, active_to=active_to, merged=merged, successor_name=successor, today=date(2026, 11, 5)
    )
    assert [p.message for p in problems] == ([message] if message else [])
    assert all(p.field == "unit" for p in problems)
    if successor and problems:
        assert problems[0].explained == f"this unit was merged into {successor}: open the month for {successor}"
