"""Rotation eligibility (QĐ 65-QĐ/TW Điều 4–8, NĐ 170/2025 Điều 48, seeds 000–002; domain rules §4.2) rule by rule
at the boundaries."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest

from workflows.errors import Invalid
from workflows.rules.appointment import PlannedTitle, RuleResult
from workflows.rules.retirement import months_until_retirement
from workflows.rules.rotation import (
    DEFAULT_POLICY,
    ROTATION_RULES,
    RULE_CAPABILITY,
    RULE_DURATION,
    RULE_EQUIVALENT_POST,
    RULE_NO_NEW_POST,
    RULE_NON_LOCAL,
    RULE_PLANNING,
    RULE_PURPOSE,
    RULE_SERVICE_LEFT,
    RULE_UNITS,
    RotationFacts,
    RotationPolicy,
    check_rotation,
    exceptable,
    near_today,
    period_problems,
    rotation_months,
    start_blockers,
    stopping_rules,
)

START = date(2026, 7, 1)
TODAY = date(2026, 5, 10)


def candidate(**overrides: Any) -> RotationFacts:
    """A provincial deputy director in planning, rotated to chair a commune's People's Committee for 3 years."""
    values: dict[str, Any] = {
        "cadre_name": "Nguyễn Văn An",
        "birth_date": date(1984, 2, 10),
        "gender": "male",
        "planned": (PlannedTitle(40, "Giám đốc Sở (Sở Nội vụ)", 32),),
        "from_unit_id": 2,
        "from_unit_name": "Sở Nội vụ",
        "to_unit_id": 9,
        "to_unit_name": "Ủy ban nhân dân xã An Phú",
        "starts_on": START,
        "planned_end_on": date(2029, 6, 30),
        "purpose": "training",
        "current_title": "Phó Giám đốc Sở (Sở Nội vụ)",
        "current_title_code": "department_deputy_director",
        "target_position_id": 50,
        "target_title": "Chủ tịch UBND (Ủy ban nhân dân xã An Phú)",
        "target_title_code": "commune_pc_chair",
        "target_level": "commune",
        "target_is_key_title": True,
        "target_requires_non_local": True,
        "latest_annual_grade": "HTTNV",
        "latest_annual_period": "2025",
        "hometown": "Xã Bình Minh",
        "hometown_commune_id": 11,
        "receiving_commune_id": 8,
        "receiving_commune_name": "Xã An Phú",
    }
    values.update(overrides)
    return RotationFacts(**values)


def rule(name: str, facts: RotationFacts, **policy: Any) -> RuleResult:
    results = check_rotation(facts, policy=dataclasses.replace(DEFAULT_POLICY, **policy))
    return next(r for r in results if r.rule == name)


def test_a_provincial_officer_to_a_commune_chair_passes_every_rule_in_order() -> None:
    results = check_rotation(candidate())
    assert [r.rule for r in results] == list(ROTATION_RULES)
    assert all(r.passed for r in results), [r.message for r in results if not r.passed]
    assert all(r.message and r.source for r in results)


def test_qd65_a_rotated_cadre_must_be_in_planning() -> None:
    result = rule(RULE_PLANNING, candidate(planned=()))
    assert not result.passed and result.message == "Nguyễn Văn An chưa có trong quy hoạch chức danh nào"
    assert rule(
        RULE_PLANNING, candidate(planned=(), purpose="non_local"), planning_exempt_purposes=("non_local",)
    ).passed


@pytest.mark.parametrize(("shift", "passed"), [(0, True), (1, False), (-1, True)])
def test_qd65_at_least_10_years_of_service_left_at_the_start(shift: int, passed: bool) -> None:
    facts = candidate()
    assert facts.birth_date is not None
    left = months_until_retirement(facts.birth_date, "male", START)
    result = rule(RULE_SERVICE_LEFT, facts, min_months_of_service_left=left + shift)
    assert result.passed is passed
    assert f"Còn {left} tháng công tác tính từ ngày luân chuyển 01/07/2026" in result.message
    default = rule(RULE_SERVICE_LEFT, facts)
    assert default.passed is (left >= 120)


def test_qd65_service_left_fails_readably_without_a_birth_date() -> None:
    assert "thiếu ngày sinh" in rule(RULE_SERVICE_LEFT, candidate(birth_date=None)).message


@pytest.mark.parametrize(
    ("end", "months", "passed"),
    [
        (date(2029, 6, 30), 36, True),  # the last day inclusive: exactly 3 years
        (date(2029, 6, 29), 35, False),
        (date(2030, 6, 30), 48, True),
        (date(2029, 1, 1), 30, False),
    ],
)
def test_nd170_art48_rotation_lasts_at_least_36_months(end: date, months: int, passed: bool) -> None:
    assert rotation_months(START, end) == months
    result = rule(RULE_DURATION, candidate(planned_end_on=end))
    assert result.passed is passed
    assert f"{months} tháng" in result.message and "36 tháng" in result.message


@pytest.mark.parametrize(
    ("end", "words"), [(None, "Chưa ghi ngày kết thúc"), (date(2026, 6, 30), "trước ngày bắt đầu")]
)
def test_nd170_art48_duration_needs_a_sane_end(end: date | None, words: str) -> None:
    result = rule(RULE_DURATION, candidate(planned_end_on=end))
    assert not result.passed and words in result.message


@pytest.mark.parametrize(
    ("starts", "ends", "fields"),
    [
        (START, date(2029, 6, 30), []),  # exactly 36 months
        (START, date(2029, 6, 29), ["planned_end_on"]),  # NĐ 170 Điều 48: shorter than 36 months
        (START, date(2026, 6, 30), ["planned_end_on"]),  # ends before it starts
        (None, None, ["starts_on", "planned_end_on"]),
        # Years nobody means (QA: an OverflowError, or accepted): a problem on the field, nothing counted.
        (date(9000, 1, 1), date(9999, 12, 31), ["starts_on"]),
        (date(1, 1, 1), date(5, 1, 1), ["starts_on"]),
        (date(1900, 1, 1), date(1905, 1, 1), ["starts_on"]),
        (date(9000, 1, 1), date(2029, 6, 30), ["starts_on", "planned_end_on"]),
        (START, date(9999, 12, 30), ["planned_end_on"]),
        (START, date.max, ["planned_end_on"]),
        # The window: 24 months back and 60 months ahead of today; 600 months at most.
        (date(2024, 5, 10), date(2027, 5, 9), []),
        (date(2024, 5, 9), date(2027, 5, 8), ["starts_on"]),
        (date(2031, 5, 10), date(2034, 5, 9), []),
        (date(2031, 5, 11), date(2034, 5, 10), ["starts_on"]),
        (START, date(2076, 6, 30), []),
        (START, date(2076, 7, 1), ["planned_end_on"]),
    ],
)
def test_the_period_of_a_rotation_lies_near_today_and_lasts_36_to_600_months(
    starts: date | None, ends: date | None, fields: list[str]
) -> None:
    problems = period_problems(starts, ends, today=TODAY)
    assert [p.field for p in problems] == fields
    assert all(p.message for p in problems)


def test_the_window_and_the_longest_rotation_are_settings() -> None:
    policy = dataclasses.replace(
        DEFAULT_POLICY, max_months_started_before_today=0, max_months_starting_after_today=1, max_duration_months=48
    )
    assert [p.field for p in period_problems(date(2026, 5, 9), date(2029, 5, 8), today=TODAY, policy=policy)] == [
        "starts_on"
    ]
    assert not near_today(date(2026, 6, 11), today=TODAY, policy=policy)
    assert period_problems(date(2026, 6, 10), date(2030, 6, 9), today=TODAY, policy=policy) == []
    longer = period_problems(date(2026, 6, 10), date(2030, 6, 10), today=TODAY, policy=policy)
    assert [p.field for p in longer] == ["planned_end_on"]
    with pytest.raises(Invalid) as caught:
        RotationPolicy.from_mapping(
            {"max_duration_months": 35, "max_months_started_before_today": -1, "max_months_starting_after_today": 601}
        )
    assert {p.field for p in caught.value.problems} == {
        "max_duration_months",
        "max_months_started_before_today",
        "max_months_starting_after_today",
    }


@pytest.mark.parametrize(
    ("current_code", "target_code", "exception", "passed", "words"),
    [
        ("department_deputy_director", "commune_pc_chair", None, True, "tương đương"),  # 31 ≡ 31
        ("department_deputy_director", "commune_party_secretary", None, False, "cần quyết định"),  # 31 → 32
        ("department_deputy_director", "commune_party_secretary", "Cán bộ có triển vọng", True, "Cán bộ có triển vọng"),
        ("department_director", "commune_pc_chair", None, False, "thấp hơn"),  # 32 → 31
        ("department_deputy_director", "unranked_title", None, False, "Không so sánh được"),
    ],
)
def test_qd65_equivalent_post_higher_only_with_a_recorded_exception(
    current_code: str, target_code: str, exception: str | None, passed: bool, words: str
) -> None:
    facts = candidate(current_title_code=current_code, target_title_code=target_code, higher_post_exception=exception)
    result = rule(RULE_EQUIVALENT_POST, facts)
    assert result.passed is passed
    assert words in result.message


def test_qd65_no_leadership_post_is_a_higher_post_and_lower_posts_are_configurable() -> None:
    assert not rule(RULE_EQUIVALENT_POST, candidate(current_title=None, current_title_code=None)).passed
    lower = candidate(current_title_code="department_director")
    assert rule(RULE_EQUIVALENT_POST, lower, allow_lower_post=True).passed
    assert not rule(RULE_EQUIVALENT_POST, candidate(target_position_id=None)).passed


@pytest.mark.parametrize(
    ("created", "holders", "exception", "passed", "words"),
    [
        (date(2025, 7, 1), (), None, True, "chức vụ sẵn có"),
        (date(2026, 5, 1), (), None, True, "chức vụ sẵn có"),  # created on the approval day: not added for it
        (date(2026, 5, 2), (), None, False, "sau khi phê duyệt"),
        ((date(2025, 7, 1)), ("Trần Văn Cũ",), None, False, "đang có người giữ (Trần Văn Cũ)"),
        (date(2026, 5, 2), (), "Kết luận của Bộ Chính trị số 1", True, "Bộ Chính trị cho phép"),
    ],
)
def test_qd65_no_post_is_added_for_the_rotation(
    created: date, holders: tuple[str, ...], exception: str | None, passed: bool, words: str
) -> None:
    facts = candidate(target_created_on=created, plan_approved_on=date(2026, 5, 1), target_holders=holders,
                      new_post_exception=exception)  # fmt: skip
    result = rule(RULE_NO_NEW_POST, facts)
    assert result.passed is passed
    assert words in result.message


def test_qd65_a_vice_chair_post_may_have_other_holders() -> None:
    facts = candidate(target_title_code="commune_pc_vice_chair", target_holders=("Người khác",))
    assert rule(RULE_NO_NEW_POST, facts).passed


@pytest.mark.parametrize(
    ("purpose", "note", "passed"),
    [("training", None, True), ("term_limit", None, True), ("other", None, False), ("other", "Theo KL số 5", True),
     (None, None, False), ("holiday", None, False)],
)  # fmt: skip
def test_qd65_art4_the_purpose_is_one_of_the_listed_ones(purpose: str | None, note: str | None, passed: bool) -> None:
    assert rule(RULE_PURPOSE, candidate(purpose=purpose, purpose_note=note)).passed is passed


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"to_unit_id": 2}, "trùng đơn vị cử đi"),
        ({"to_unit_active": False}, "không còn hoạt động"),
        ({"target_in_receiving_unit": False}, "không thuộc Ủy ban nhân dân xã An Phú"),
    ],
)
def test_qd65_art4_a_rotation_goes_to_another_active_unit(overrides: dict[str, Any], words: str) -> None:
    result = rule(RULE_UNITS, candidate(**overrides))
    assert not result.passed and words in result.message


@pytest.mark.parametrize(
    ("overrides", "passed", "words"),
    [
        ({"latest_annual_grade": "KHTNV"}, False, "Không hoàn thành nhiệm vụ"),
        ({"latest_annual_grade": "HTNV"}, True, "Hoàn thành nhiệm vụ"),
        ({"low_capability_reason": "Uy tín thấp qua lấy phiếu 2025"}, False, "năng lực hạn chế, uy tín thấp"),
        # Not a commune key post: the seed's bar does not apply.
        ({"latest_annual_grade": "KHTNV", "target_title_code": "department_director", "target_level": "province",
          "target_is_key_title": False}, True, "không áp dụng"),
    ],
)  # fmt: skip
def test_seed001_no_commune_key_post_for_a_khtnv_or_weak_cadre(
    overrides: dict[str, Any], passed: bool, words: str
) -> None:
    result = rule(RULE_CAPABILITY, candidate(**overrides))
    assert result.passed is passed
    assert words in result.message


@pytest.mark.parametrize(
    ("overrides", "passed", "words"),
    [
        ({"hometown_commune_id": 8}, False, "là người địa phương"),
        ({"hometown_commune_id": None, "hometown": "Thôn Đông"}, False, "quê quán ghi: Thôn Đông"),
        ({"receiving_commune_id": None}, False, "Không xác định được xã, phường của"),
        ({"hometown_commune_id": 8, "target_title_code": "commune_pc_vice_chair", "target_requires_non_local": False},
         True, "không yêu cầu"),
        # Flagged on the position even without a listed title code.
        ({"hometown_commune_id": 8, "target_title_code": None}, False, "là người địa phương"),
    ],
)  # fmt: skip
def test_seeds_000_002_non_local_commune_key_posts(overrides: dict[str, Any], passed: bool, words: str) -> None:
    result = rule(RULE_NON_LOCAL, candidate(**overrides))
    assert result.passed is passed
    assert words in result.message


def test_policy_round_trips_and_reports_every_bad_setting() -> None:
    assert RotationPolicy.from_mapping(DEFAULT_POLICY.to_mapping()) == DEFAULT_POLICY
    with pytest.raises(Invalid) as caught:
        RotationPolicy.from_mapping(
            {"min_duration_months": 0, "barred_grades": ["ZZ"], "purposes_needing_note": ["nope"], "x": 1}
        )
    assert {p.field for p in caught.value.problems} == {
        "min_duration_months",
        "barred_grades.ZZ",
        "purposes_needing_note.nope",
        "x",
    }


# QĐ 65 [V] S49, S50: only the remaining service and a higher post are the competent authority's to set aside.
def test_only_the_configured_rules_may_be_set_aside_by_the_competent_authority() -> None:
    assert exceptable([RULE_SERVICE_LEFT], DEFAULT_POLICY)
    assert exceptable([RULE_SERVICE_LEFT, RULE_EQUIVALENT_POST], DEFAULT_POLICY)
    assert not exceptable([RULE_SERVICE_LEFT, RULE_NON_LOCAL], DEFAULT_POLICY)
    assert not exceptable([RULE_CAPABILITY], DEFAULT_POLICY)
    assert not exceptable([], DEFAULT_POLICY)
    assert exceptable([RULE_NON_LOCAL], dataclasses.replace(DEFAULT_POLICY, exceptable_rules=(RULE_NON_LOCAL,)))
    with pytest.raises(Invalid) as caught:
        RotationPolicy.from_mapping({"exceptable_rules": ["nope"], "review_lead_days": -1})
    assert {p.field for p in caught.value.problems} == {"exceptable_rules.nope", "review_lead_days"}


# Decision 0136: a start certain to stop at the eligibility check is refused.
def test_the_rules_that_stop_the_rotation_whatever_the_check_decides() -> None:
    """Not the competent authority's to set aside; the Politburo's decision on an added title is recorded at the
    check itself, so that rule is not one of them."""
    assert stopping_rules(DEFAULT_POLICY) == (
        RULE_PLANNING, RULE_PURPOSE, RULE_UNITS, RULE_DURATION, RULE_CAPABILITY, RULE_NON_LOCAL,
    )  # fmt: skip
    wider = dataclasses.replace(
        DEFAULT_POLICY, exceptable_rules=(RULE_SERVICE_LEFT, RULE_EQUIVALENT_POST, RULE_PLANNING)
    )
    assert RULE_PLANNING not in stopping_rules(wider)


@pytest.mark.parametrize(
    ("result", "blocks"),
    [
        (RuleResult(RULE_NON_LOCAL, False, "là người địa phương", "Seeds"), True),
        (RuleResult(RULE_PLANNING, False, "chưa có trong quy hoạch", "QĐ 65"), True),
        (RuleResult(RULE_NON_LOCAL, True, "không là người địa phương", "Seeds"), False),
        (RuleResult(RULE_SERVICE_LEFT, False, "còn 100 tháng", "QĐ 65"), False),  # the authority may set it aside
        (RuleResult(RULE_EQUIVALENT_POST, False, "cao hơn", "QĐ 65"), False),
        (RuleResult(RULE_NO_NEW_POST, False, "đang có người giữ", "QĐ 65"), False),  # the Politburo, at the check
        (RuleResult(RULE_PLANNING, False, "thiếu dữ liệu", "QĐ 65", unknown=True), False),  # data to record first
    ],
)
def test_a_start_is_blocked_by_a_stopping_rule_not_met(result: RuleResult, blocks: bool) -> None:
    passing = RuleResult(RULE_DURATION, True, "36 tháng", "NĐ 170")
    assert start_blockers([passing, result], DEFAULT_POLICY) == ([result] if blocks else [])
