"""Appointment eligibility (QĐ 377, NĐ 170 Điều 28–39, HD 06; domain rules §3.2, §3.8, §8), rule by rule at the
boundaries, and the re-appointment helpers."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest

from workflows.errors import Invalid
from workflows.rules.appointment import (
    DEFAULT_POLICY,
    REAPPOINTMENT_RULES,
    RULE_AGE,
    RULE_ANNUAL_GRADE,
    RULE_CONCURRENT,
    RULE_DISCIPLINE,
    RULE_PLANNING,
    RULE_TIME_IN_POST,
    RULES,
    AppointmentPolicy,
    CandidateFacts,
    Confidence,
    DisciplineFact,
    PlannedCadre,
    PlannedTitle,
    ReappointmentFacts,
    RuleResult,
    RunningCase,
    age_rule_applies,
    check_eligibility,
    check_reappointment_eligibility,
    confidence_level,
    extension_applies,
    failed_rules,
    is_eligible,
    is_local_source,
    local_source_root,
    months_between,
    months_to_retirement,
    nomination_pool,
    reappointment_due,
    reappointment_plan,
    reappointment_start_date,
    reappointment_term_end,
)
from workflows.rules.communes import UnitNode
from workflows.rules.retirement import retirement_date
from workflows.rules.workdays import DEFAULT_CALENDAR

RECEIVED = date(2027, 3, 12)  # the day the personnel body receives the dossier
TARGET_ID = 7
VICE_CHAIR = 15  # DEFAULT_TITLE_RANKS["commune_pc_vice_chair"]
DEPARTMENT_HEAD = 14


def facts(**overrides: Any) -> CandidateFacts:
    """A candidate who passes every rule: a commune department head for 3 years, planned for the vice-chair post."""
    values: dict[str, Any] = {
        "birth_date": date(1980, 6, 1),
        "gender": "female",
        "retirement_date": None,
        "current_post_started_on": date(2024, 3, 1),
        "first_appointment": False,
        "planned": (PlannedTitle(TARGET_ID, "Phó Chủ tịch UBND (Xã An Phú)", VICE_CHAIR),),
        "target_position_id": TARGET_ID,
        "target_title": "Phó Chủ tịch UBND (Xã An Phú)",
        "target_rank": VICE_CHAIR,
        "latest_annual_grade": "HTTNV",
        "latest_annual_period": "2026",
        "current_rank": DEPARTMENT_HEAD,
        "current_title": "Trưởng phòng (Phòng Kinh tế)",
    }
    values.update(overrides)
    return CandidateFacts(**values)


def result(rule: str, candidate: CandidateFacts, on: date = RECEIVED, **policy: Any) -> RuleResult:
    checked = check_eligibility(candidate, dossier_received_on=on, policy=dataclasses.replace(DEFAULT_POLICY, **policy))
    return next(r for r in checked if r.rule == rule)


def test_one_result_per_rule_in_order_and_a_clean_candidate_is_eligible() -> None:
    results = check_eligibility(facts(), dossier_received_on=RECEIVED, policy=DEFAULT_POLICY)
    assert [r.rule for r in results] == list(RULES)
    assert all(r.passed for r in results), [r.message for r in results if not r.passed]
    assert is_eligible(results)
    assert failed_rules(results) == []
    assert all(r.source and r.message for r in results)
    assert results[0].to_mapping() == {
        "rule": RULE_PLANNING,
        "passed": True,
        "message": "Có trong quy hoạch chức danh Phó Chủ tịch UBND (Xã An Phú)",
        "source": results[0].source,
    }


def test_one_failed_rule_makes_the_candidate_ineligible() -> None:
    results = check_eligibility(facts(latest_annual_grade="KHTNV"), dossier_received_on=RECEIVED, policy=DEFAULT_POLICY)
    assert not is_eligible(results)
    assert failed_rules(results) == [RULE_ANNUAL_GRADE]


# --- months ---


@pytest.mark.parametrize(
    ("start", "end", "months"),
    [
        (date(2025, 3, 12), date(2027, 3, 12), 24),
        (date(2025, 3, 12), date(2027, 3, 11), 23),
        (date(2025, 3, 13), date(2027, 3, 12), 23),
        (date(2027, 1, 31), date(2027, 2, 28), 1),  # a month too short for the 31st completes on its last day
        (date(2027, 1, 31), date(2027, 2, 27), 0),
        (date(2028, 1, 31), date(2028, 2, 29), 1),
        (date(2027, 3, 12), date(2027, 3, 12), 0),
        (date(2027, 3, 12), date(2025, 3, 12), -24),
    ],
)
def test_months_between(start: date, end: date, months: int) -> None:
    assert months_between(start, end) == months


# --- age: ≥ 60 months to retirement at dossier receipt (HD 06) ---


@pytest.mark.parametrize(
    ("birth", "gender", "received", "left", "passed"),
    [
        # Men at the final age 62 (born from April 1966): 60 months left until the 57th birthday's month-day.
        (date(1970, 5, 20), "male", date(2027, 5, 19), 61, True),
        (date(1970, 5, 20), "male", date(2027, 5, 20), 60, True),  # exactly one 5-year term
        (date(1970, 5, 20), "male", date(2027, 6, 19), 60, True),
        (date(1970, 5, 20), "male", date(2027, 6, 20), 59, False),
        (date(1966, 4, 1), "male", date(2023, 4, 1), 60, True),
        (date(1966, 4, 1), "male", date(2023, 5, 1), 59, False),
        # Men during the rise: born 3/9/1964, retirement age 61y3m.
        (date(1964, 9, 3), "male", date(2021, 1, 2), 60, True),
        (date(1964, 9, 3), "male", date(2021, 1, 3), 59, False),
        # Women at the final age 60 (born from May 1975).
        (date(1975, 5, 1), "female", date(2030, 5, 1), 60, True),
        (date(1975, 5, 1), "female", date(2030, 5, 31), 60, True),
        (date(1975, 5, 1), "female", date(2030, 6, 1), 59, False),
        # Born on the 31st: the month of age completes on the last day of February.
        (date(1980, 1, 31), "female", date(2035, 2, 27), 60, True),
        (date(1980, 1, 31), "female", date(2035, 2, 28), 59, False),
        # Women during the rise: born 20/5/1970, retirement age 57y4m.
        (date(1970, 5, 20), "female", date(2022, 9, 19), 61, True),
        (date(1970, 5, 20), "female", date(2022, 9, 20), 60, True),
        (date(1970, 5, 20), "female", date(2022, 10, 20), 59, False),
        # Same birth date, other gender: 62y against 57y4m, 56 months apart.
        (date(1970, 5, 20), "male", date(2022, 9, 20), 116, True),
    ],
)
def test_age_rule_table(birth: date, gender: str, received: date, left: int, passed: bool) -> None:
    candidate = facts(birth_date=birth, gender=gender, first_appointment=True, current_post_started_on=None)
    assert months_to_retirement(candidate, received) == left
    checked = result(RULE_AGE, candidate, on=received)
    assert checked.passed is passed
    assert f"Còn {left} tháng đến tuổi nghỉ hưu" in checked.message
    assert received.strftime("%d/%m/%Y") in checked.message


def test_age_message_reads_as_a_personnel_officer_writes_it() -> None:
    candidate = facts(birth_date=date(1970, 1, 12), gender="male")
    assert result(RULE_AGE, candidate).message == (
        "Còn 58 tháng đến tuổi nghỉ hưu, cần ít nhất 60 tháng tính đến ngày nhận hồ sơ 12/03/2027"
    )
    with_date = facts(
        birth_date=date(1970, 1, 12), gender="male", retirement_date=retirement_date(date(1970, 1, 12), "male")
    )
    assert result(RULE_AGE, with_date).message.endswith("(nghỉ hưu từ 01/02/2032)")


@pytest.mark.parametrize(
    ("overrides", "applies"),
    [
        ({}, True),  # department head (14) → vice-chair (15): a higher post
        ({"first_appointment": True, "current_rank": None}, True),
        ({"current_rank": VICE_CHAIR}, False),  # the same level
        ({"current_rank": 16}, False),  # a lower post
        ({"current_rank": None}, True),  # unknown: checked
        ({"target_rank": None}, True),
    ],
)
def test_the_age_rule_applies_to_first_and_higher_appointments_only(overrides: dict[str, Any], applies: bool) -> None:
    old = facts(birth_date=date(1966, 6, 1), gender="male", **overrides)  # retires in 2028
    assert age_rule_applies(old) is applies
    checked = result(RULE_AGE, old)
    assert checked.passed is not applies
    if not applies:
        assert "không áp dụng điều kiện tuổi" in checked.message
        assert result(RULE_AGE, old, age_rule_for_same_or_lower=True).passed is False


def test_age_cannot_be_checked_without_birth_date_or_gender() -> None:
    for missing in ({"birth_date": None}, {"gender": None}):
        checked = result(RULE_AGE, facts(**missing))
        assert not checked.passed and checked.unknown  # not met, and said to be for want of data
        assert "thiếu ngày sinh hoặc giới tính" in checked.message
        # The process data keeps its shape: the flag is for the start page's preview only.
        assert set(checked.to_mapping()) == {"rule", "passed", "message", "source"}


def test_a_retired_candidate_fails_the_age_rule() -> None:
    checked = result(RULE_AGE, facts(birth_date=date(1962, 1, 1), gender="male"))
    assert not checked.passed and not checked.unknown
    assert checked.message.startswith("Đã đến tuổi nghỉ hưu")


def test_the_age_margin_is_configurable() -> None:
    candidate = facts(birth_date=date(1970, 1, 12), gender="male")  # 58 months left
    assert result(RULE_AGE, candidate, min_months_to_retirement=58).passed
    assert not result(RULE_AGE, candidate, min_months_to_retirement=59).passed


# --- time in the current post: ≥ 24 months, first appointments exempt ---


@pytest.mark.parametrize(
    ("started", "earlier", "months", "passed"),
    [
        (date(2025, 3, 12), 0, 24, True),
        (date(2025, 3, 13), 0, 23, False),
        (date(2025, 3, 11), 0, 24, True),
        (date(2020, 1, 1), 0, 86, True),
        (date(2026, 3, 12), 12, 24, True),  # time in an equivalent post is added
        (date(2026, 3, 13), 12, 23, False),
        (date(2027, 4, 1), 0, 0, False),  # a post starting after the dossier counts nothing
    ],
)
def test_time_in_post(started: date, earlier: int, months: int, passed: bool) -> None:
    checked = result(RULE_TIME_IN_POST, facts(current_post_started_on=started, earlier_equivalent_months=earlier))
    assert checked.passed is passed
    assert f" {months} tháng" in checked.message
    assert "ít nhất 24 tháng tính đến ngày nhận hồ sơ 12/03/2027" in checked.message
    assert started.strftime("%d/%m/%Y") in checked.message


def test_time_in_post_message() -> None:
    checked = result(RULE_TIME_IN_POST, facts(current_post_started_on=date(2025, 5, 1)))
    assert checked.message == (
        "Mới giữ chức vụ Trưởng phòng (Phòng Kinh tế) 22 tháng (từ 01/05/2025), "
        "cần ít nhất 24 tháng tính đến ngày nhận hồ sơ 12/03/2027"
    )


def test_first_appointment_is_exempt_and_a_missing_start_fails() -> None:
    first = result(RULE_TIME_IN_POST, facts(first_appointment=True, current_post_started_on=None))
    assert first.passed
    assert "Bổ nhiệm lần đầu" in first.message
    missing = result(RULE_TIME_IN_POST, facts(current_post_started_on=None))
    assert not missing.passed and missing.unknown
    assert not result(RULE_TIME_IN_POST, facts(current_post_started_on=date(2026, 3, 12))).unknown  # too short


def test_time_in_post_is_configurable() -> None:
    candidate = facts(current_post_started_on=date(2026, 3, 12))  # 12 months
    assert not result(RULE_TIME_IN_POST, candidate).passed
    assert result(RULE_TIME_IN_POST, candidate, min_months_in_post=12).passed


# --- planning: the title, or an equivalent or higher one ---


@pytest.mark.parametrize(
    ("planned", "target_rank", "passed", "fragment"),
    [
        (
            (PlannedTitle(TARGET_ID, "Phó Chủ tịch UBND (Xã An Phú)", VICE_CHAIR),),
            VICE_CHAIR,
            True,
            "Có trong quy hoạch",
        ),
        ((PlannedTitle(99, "Phó Chủ tịch UBND (Phường Bình Minh)", VICE_CHAIR),), VICE_CHAIR, True, "tương đương"),
        ((PlannedTitle(98, "Chủ tịch UBND (Phường Bình Minh)", 16),), VICE_CHAIR, True, "cao hơn"),
        (
            (PlannedTitle(97, "Trưởng phòng (Phòng Văn hóa)", DEPARTMENT_HEAD),),
            VICE_CHAIR,
            False,
            "đang trong quy hoạch",
        ),
        ((PlannedTitle(96, "Chức danh chưa xếp hạng", None),), VICE_CHAIR, False, "Chức danh chưa xếp hạng"),
        ((PlannedTitle(98, "Chủ tịch UBND (Phường Bình Minh)", 16),), None, False, "Không có trong quy hoạch"),
        ((PlannedTitle(TARGET_ID, "Phó Chủ tịch UBND (Xã An Phú)", None),), None, True, "Có trong quy hoạch"),
        ((), VICE_CHAIR, False, "chưa có trong quy hoạch chức danh nào"),
    ],
)
def test_planning(planned: tuple[PlannedTitle, ...], target_rank: int | None, passed: bool, fragment: str) -> None:
    checked = result(RULE_PLANNING, facts(planned=planned, target_rank=target_rank))
    assert checked.passed is passed
    assert fragment in checked.message


def test_planning_for_an_equivalent_title_can_be_switched_off() -> None:
    equivalent = facts(planned=(PlannedTitle(99, "Phó Chủ tịch UBND (Phường Bình Minh)", VICE_CHAIR),))
    assert result(RULE_PLANNING, equivalent).passed
    assert not result(RULE_PLANNING, equivalent, planning_accepts_equivalent=False).passed
    assert facts().planned_position_ids == (TARGET_ID,)


# --- discipline: khiển trách 24, cảnh cáo 36, cách chức 60 months (QĐ 377) ---


@pytest.mark.parametrize(
    ("level", "decided", "passed"),
    [
        ("khien_trach", date(2025, 3, 12), True),
        ("khien_trach", date(2025, 3, 13), False),
        ("canh_cao", date(2024, 3, 12), True),
        ("canh_cao", date(2024, 3, 13), False),
        ("cach_chuc", date(2022, 3, 12), True),
        ("cach_chuc", date(2022, 3, 13), False),
        ("giang_chuc", date(2010, 1, 1), False),  # no waiting time configured: the competent authority decides
    ],
)
def test_discipline_waiting_times(level: str, decided: date, passed: bool) -> None:
    checked = result(RULE_DISCIPLINE, facts(disciplines=(DisciplineFact(level, decided),)))
    assert checked.passed is passed
    assert decided.strftime("%d/%m/%Y") in checked.message


def test_discipline_messages_give_the_months_and_the_date_it_clears() -> None:
    checked = result(RULE_DISCIPLINE, facts(disciplines=(DisciplineFact("canh_cao", date(2025, 1, 15)),)))
    assert checked.message == (
        "Bị kỷ luật cảnh cáo ngày 15/01/2025 mới được 25 tháng, cần 36 tháng (đến 15/01/2028) "
        "tính đến ngày nhận hồ sơ 12/03/2027"
    )
    assert result(RULE_DISCIPLINE, facts()).message == "Không bị kỷ luật"


def test_discipline_still_in_effect_or_one_of_several_blocks() -> None:
    in_effect = DisciplineFact("khien_trach", date(2020, 1, 1), expires_on=date(2027, 6, 1))
    checked = result(RULE_DISCIPLINE, facts(disciplines=(in_effect,)))
    assert not checked.passed
    assert "còn hiệu lực đến 01/06/2027" in checked.message
    old = DisciplineFact("khien_trach", date(2015, 1, 1), expires_on=date(2016, 1, 1))
    recent = DisciplineFact("khien_trach", date(2026, 1, 1))
    assert result(RULE_DISCIPLINE, facts(disciplines=(old,))).passed
    assert not result(RULE_DISCIPLINE, facts(disciplines=(old, recent))).passed


def test_discipline_waiting_times_are_configurable() -> None:
    recent = facts(disciplines=(DisciplineFact("khien_trach", date(2026, 3, 12)),))  # 12 months
    assert not result(RULE_DISCIPLINE, recent).passed
    assert result(RULE_DISCIPLINE, recent, discipline_wait_months={"khien_trach": 12}).passed
    demoted = facts(disciplines=(DisciplineFact("giang_chuc", date(2024, 3, 12)),))
    assert result(RULE_DISCIPLINE, demoted, discipline_wait_months={"giang_chuc": 36}).passed


# --- no planning and appointment at the same time ---


@pytest.mark.parametrize(
    ("planning", "appointment", "passed", "fragment"),
    [
        (False, False, True, "Không có quy trình"),
        (True, False, False, "quy trình quy hoạch"),
        (False, True, False, "quy trình bổ nhiệm khác"),
        (True, True, False, "quy trình bổ nhiệm khác"),
    ],
)
def test_no_concurrent_procedure(planning: bool, appointment: bool, passed: bool, fragment: str) -> None:
    cases = (RunningCase(3, "Quy hoạch cán bộ: xây dựng và rà soát"),) if planning else ()
    candidate = facts(planning_in_progress=planning, appointment_in_progress=appointment, in_progress_cases=cases)
    checked = result(RULE_CONCURRENT, candidate)
    assert checked.passed is passed
    assert fragment in checked.message
    if planning:  # the case as people name it, not its internal reference
        assert "hồ sơ số 3 (Quy hoạch cán bộ: xây dựng và rà soát)" in checked.message
        assert "#" not in checked.message


def test_every_running_case_is_named_in_the_finding() -> None:
    cases = (RunningCase(12, "Bổ nhiệm, bổ nhiệm lại"), RunningCase(3, "Quy hoạch cán bộ"))
    candidate = facts(planning_in_progress=True, appointment_in_progress=True, in_progress_cases=cases)
    assert result(RULE_CONCURRENT, candidate).message == (
        "Đang thực hiện quy trình quy hoạch đối với cán bộ; đang có quy trình bổ nhiệm khác đối với cán bộ — "
        "hồ sơ số 12 (Bổ nhiệm, bổ nhiệm lại), hồ sơ số 3 (Quy hoạch cán bộ): "
        "không thực hiện quy hoạch đồng thời với bổ nhiệm"
    )


# --- latest annual grade ≥ the configured minimum ---


@pytest.mark.parametrize(
    ("grade", "minimum", "passed"),
    [
        ("HTXSNV", "HTNV", True),
        ("HTTNV", "HTNV", True),
        ("HTNV", "HTNV", True),
        ("KHTNV", "HTNV", False),
        ("HTNV", "HTTNV", False),
        ("HTTNV", "HTTNV", True),
        ("KHTNV", "KHTNV", True),
    ],
)
def test_annual_grade(grade: str, minimum: str, passed: bool) -> None:
    checked = result(RULE_ANNUAL_GRADE, facts(latest_annual_grade=grade), min_annual_grade=minimum)
    assert checked.passed is passed
    assert "năm 2026" in checked.message


def test_missing_annual_grade() -> None:
    candidate = facts(latest_annual_grade=None, latest_annual_period=None)
    assert not result(RULE_ANNUAL_GRADE, candidate).passed and result(RULE_ANNUAL_GRADE, candidate).unknown
    assert not result(RULE_ANNUAL_GRADE, facts(latest_annual_grade="KHTNV")).unknown  # a grade too low is known
    assert not result(RULE_PLANNING, facts(planned=())).unknown  # not on the plan is a fact, not a gap
    assert result(RULE_ANNUAL_GRADE, candidate, allow_missing_annual_grade=True).passed
    assert result(RULE_ANNUAL_GRADE, facts(latest_annual_grade="HTNV")).message == (
        "Xếp loại năm 2026: Hoàn thành nhiệm vụ, đạt mức tối thiểu Hoàn thành nhiệm vụ"
    )


# --- policy ---


def test_policy_defaults_round_trip_and_overrides() -> None:
    assert AppointmentPolicy.from_mapping({}) == DEFAULT_POLICY
    assert DEFAULT_POLICY.discipline_wait_months == {"khien_trach": 24, "canh_cao": 36, "cach_chuc": 60}
    assert DEFAULT_POLICY.min_months_in_post == 24
    assert DEFAULT_POLICY.min_months_to_retirement == 60
    assert DEFAULT_POLICY.decision_effective_within_months == 12  # [U], decision 0136
    assert (
        AppointmentPolicy.from_mapping({"decision_effective_within_months": 60}).decision_effective_within_months == 60
    )
    custom = AppointmentPolicy.from_mapping(
        {"min_annual_grade": "HTTNV", "title_ranks": {"x": 3}, "discipline_wait_months": {"canh_cao": 30}}
    )
    assert custom.min_annual_grade == "HTTNV"
    assert custom.rank_of("x") == 3
    assert custom.rank_of("commune_pc_chair") is None  # the mapping replaces the defaults
    assert AppointmentPolicy.from_mapping(custom.to_mapping()) == custom


@pytest.mark.parametrize(
    ("values", "fields"),
    [
        ({"min_months_in_post": -1}, ["min_months_in_post"]),
        ({"min_months_in_post": 24.5}, ["min_months_in_post"]),
        ({"min_months_to_retirement": True}, ["min_months_to_retirement"]),
        ({"discipline_wait_months": {"nhac_nho": 6}}, ["discipline_wait_months.nhac_nho"]),
        ({"discipline_wait_months": {"canh_cao": "36"}}, ["discipline_wait_months.canh_cao"]),
        ({"discipline_wait_months": [24]}, ["discipline_wait_months"]),
        ({"min_annual_grade": "TOT"}, ["min_annual_grade"]),
        ({"allow_missing_annual_grade": "yes"}, ["allow_missing_annual_grade"]),
        ({"title_ranks": {"x": -2}}, ["title_ranks.x"]),
        ({"term_years": 0}, ["term_years"]),
        ({"extension_below_months": 70}, ["extension_below_months"]),
        ({"colour": "red"}, ["colour"]),
        ({"confidence_low_above": [1, 0]}, ["confidence_low_above"]),
        ({"confidence_low_above": 0.5}, ["confidence_low_above"]),
        ({"confidence_dismissal_from": [3, 2]}, ["confidence_dismissal_from"]),
        ({"confidence_low_above": [2, 3], "confidence_dismissal_from": [1, 2]}, ["confidence_dismissal_from"]),
        ({"min_months_in_post": "x", "term_years": 11}, ["min_months_in_post", "term_years"]),
        ({"decision_effective_within_months": 0}, ["decision_effective_within_months"]),
        ({"decision_effective_within_months": 61}, ["decision_effective_within_months"]),
        ({"decision_effective_within_months": "12"}, ["decision_effective_within_months"]),
    ],
)
def test_bad_policy_is_refused_with_every_problem(values: dict[str, Any], fields: list[str]) -> None:
    with pytest.raises(Invalid) as caught:
        AppointmentPolicy.from_mapping(values)
    assert [p.field for p in caught.value.problems] == fields


def test_bad_policy_is_refused_by_the_constructor_too() -> None:
    with pytest.raises(Invalid):
        AppointmentPolicy(min_annual_grade="A")
    with pytest.raises(Invalid):
        AppointmentPolicy.from_mapping(["not", "a", "mapping"])  # type: ignore[arg-type]


def test_facts_serialise_to_json_ready_data() -> None:
    data = facts(disciplines=(DisciplineFact("canh_cao", date(2024, 1, 2)),)).to_mapping()
    assert data["birth_date"] == "1980-06-01"
    assert data["disciplines"] == [{"level": "canh_cao", "decided_on": "2024-01-02", "expires_on": None}]
    assert data["planned"] == [{"position_id": TARGET_ID, "title": "Phó Chủ tịch UBND (Xã An Phú)", "rank": VICE_CHAIR}]


# --- re-appointment (§3.8) ---


@pytest.mark.parametrize(
    ("today", "due"),
    [
        (date(2027, 3, 31), False),
        (date(2027, 4, 1), True),  # 90 days before 30/6/2027
        (date(2027, 6, 30), True),
        (date(2027, 7, 15), True),  # late, still due
    ],
)
def test_reappointment_due_90_days_before_the_term_ends(today: date, due: bool) -> None:
    assert reappointment_start_date(date(2027, 6, 30)) == date(2027, 4, 1)
    assert reappointment_due(date(2027, 6, 30), today) is due


def test_reappointment_due_in_working_days() -> None:
    """QĐ 377: 90 working days. Before 30/6/2027: 21 in June, 20 in May (less 3/5), 20 in April (less 16/4 and
    30/4), 23 in March, then 22–26/2 and 19/2."""
    start = reappointment_start_date(date(2027, 6, 30), 90, DEFAULT_CALENDAR)
    assert start == date(2027, 2, 19)
    assert DEFAULT_CALENDAR.working_days_between(start, date(2027, 6, 30)) == 90
    assert reappointment_due(date(2027, 6, 30), date(2027, 2, 19), 90, DEFAULT_CALENDAR)
    assert not reappointment_due(date(2027, 6, 30), date(2027, 2, 18), 90, DEFAULT_CALENDAR)
    assert not reappointment_due(date(2027, 6, 30), date(2027, 3, 31))  # in calendar days it starts on 1/4


@pytest.mark.parametrize(
    ("start", "retires", "end"),
    [
        (date(2027, 7, 1), None, date(2032, 6, 30)),
        (date(2027, 7, 1), date(2040, 1, 1), date(2032, 6, 30)),
        (date(2027, 7, 1), date(2032, 7, 1), date(2032, 6, 30)),  # retires the day after a full term
        (date(2027, 7, 1), date(2032, 6, 1), date(2032, 5, 31)),  # < 5 years: the term runs to retirement
        (date(2027, 7, 1), date(2029, 1, 1), date(2028, 12, 31)),
        (date(2028, 2, 29), None, date(2033, 2, 27)),  # 29/2 + 5 years is 28/2, less a day
    ],
)
def test_reappointment_term_end(start: date, retires: date | None, end: date) -> None:
    assert reappointment_term_end(start, retires) == end


@pytest.mark.parametrize(
    ("retires", "extension", "kind"),
    [
        (None, False, "reappointment"),
        (date(2032, 7, 1), False, "reappointment"),  # 60 months left at the term's end
        (date(2032, 6, 1), False, "to_retirement"),  # 59
        (date(2029, 7, 1), False, "to_retirement"),  # 24
        (date(2029, 6, 1), True, "extension"),  # 23
        (date(2027, 8, 1), True, "extension"),
    ],
)
def test_near_retirement_branches(retires: date | None, extension: bool, kind: str) -> None:
    term_ends = date(2027, 6, 30)
    assert extension_applies(term_ends, retires) is extension
    plan = reappointment_plan(term_ends, retires)
    assert plan.kind == kind
    assert plan.new_term_ends_on == reappointment_term_end(date(2027, 7, 1), retires)
    assert "30/06/2027" in plan.message or kind == "reappointment"


# QĐ 96-QĐ/TW [V] S47 (domain rules §3.9): > 1/2 low confidence → low; ≥ 2/3 → dismissal considered.
@pytest.mark.parametrize(
    ("no", "denominator", "level"),
    [
        (0, 7, Confidence.NORMAL),
        (3, 6, Confidence.NORMAL),  # exactly 1/2 is not "more than half"
        (4, 7, Confidence.LOW),  # 57 %
        (5, 9, Confidence.LOW),  # 55.6 %: above 1/2, below 2/3
        (19, 30, Confidence.LOW),  # 63.3 %: just below 2/3
        (4, 6, Confidence.DISMISSAL),  # exactly 2/3
        (20, 30, Confidence.DISMISSAL),
        (7, 7, Confidence.DISMISSAL),
    ],
)
def test_confidence_levels_at_the_qd_96_boundaries(no: int, denominator: int, level: Confidence) -> None:
    assert confidence_level(no, denominator) == level


def test_an_invalid_conference_reads_no_confidence_level() -> None:
    assert confidence_level(7, 7, quorum_met=False) == Confidence.NORMAL
    assert confidence_level(0, 0) == Confidence.NORMAL


def test_confidence_thresholds_are_configuration() -> None:
    # A province reading QĐ 96 as amended (whether it was in 2025 is [U]) changes the shares, not the code.
    policy = AppointmentPolicy.from_mapping({"confidence_low_above": [1, 3], "confidence_dismissal_from": [1, 2]})
    assert confidence_level(2, 6, policy=policy) == Confidence.NORMAL  # exactly 1/3
    assert confidence_level(3, 7, policy=policy) == Confidence.LOW
    assert confidence_level(3, 6, policy=policy) == Confidence.DISMISSAL
    assert AppointmentPolicy.from_mapping(policy.to_mapping()) == policy
    assert DEFAULT_POLICY.to_mapping()["confidence_dismissal_from"] == [2, 3]


# -- re-appointment (NĐ 170 Điều 39, NĐ 138 Điều 49 [V] S42; domain rules §3.8) ------------------------------------
TERM_START, TERM_END = date(2022, 6, 1), date(2027, 5, 31)


def renewal(**overrides: Any) -> ReappointmentFacts:
    """The vice-chair renewing her term: graded every year, the head proposes, a fresh health certificate; not
    planned for anything (planning is not a condition of renewing the same post)."""
    candidate = facts(
        planned=(),
        current_rank=VICE_CHAIR,
        current_post_started_on=TERM_START,
        current_title="Phó Chủ tịch UBND (Xã An Phú)",
    )
    values: dict[str, Any] = {
        "candidate": candidate,
        "term_started_on": TERM_START,
        "term_ends_on": TERM_END,
        "term_grades": (("2022", "HTNV"), ("2023", "HTTNV"), ("2024", "HTXSNV"), ("2025", "HTTNV"), ("2026", "HTNV")),
        "health_certificate_on": date(2026, 12, 1),
        "head_proposes": True,
    }
    values.update(overrides)
    return ReappointmentFacts(**values)


def renewal_result(rule: str, renewal_facts: ReappointmentFacts, on: date = RECEIVED, **policy: Any) -> RuleResult:
    checked = check_reappointment_eligibility(
        renewal_facts, dossier_received_on=on, policy=dataclasses.replace(DEFAULT_POLICY, **policy)
    )
    return next(r for r in checked if r.rule == rule)


def test_a_reappointment_is_eligible_without_planning_or_time_in_post() -> None:
    results = check_reappointment_eligibility(renewal(), dossier_received_on=RECEIVED)
    assert [r.rule for r in results] == list(REAPPOINTMENT_RULES)
    assert is_eligible(results), [r.message for r in results if not r.passed]
    planning = next(r for r in results if r.rule == RULE_PLANNING)
    assert "không xét điều kiện quy hoạch" in planning.message and "Điều 39" in planning.source


@pytest.mark.parametrize(
    ("grades", "minimum", "passed"),
    [
        ((("2025", "HTNV"),), "HTNV", True),  # exactly the minimum
        ((("2024", "HTTNV"), ("2025", "KHTNV")), "HTNV", False),  # one year below fails the term
        ((("2021", "KHTNV"), ("2025", "HTTNV")), "HTNV", True),  # 2021 is before the term
        ((("2025", "HTNV"),), "HTTNV", False),  # a stricter configured minimum
        ((), "HTNV", False),  # no grade in the term
    ],
)
def test_reappointment_term_duties(grades: tuple, minimum: str, passed: bool) -> None:
    checked = renewal_result("term_duties", renewal(term_grades=grades), reappointment_min_grade=minimum)
    assert checked.passed is passed, checked.message


def test_reappointment_standards_follow_the_heads_proposal() -> None:
    assert renewal_result("standards", renewal(head_proposes=True)).passed
    assert not renewal_result("standards", renewal(head_proposes=False)).passed
    assert "Chưa có" in renewal_result("standards", renewal(head_proposes=None)).message


@pytest.mark.parametrize(
    ("issued", "passed"),
    [
        (date(2026, 9, 12), True),  # exactly 6 months before the dossier (12/03/2027)
        (date(2026, 9, 11), False),  # a day older
        (date(2027, 3, 13), False),  # after the dossier was received
        (None, False),
    ],
)
def test_reappointment_health_certificate(issued: date | None, passed: bool) -> None:
    assert renewal_result("health", renewal(health_certificate_on=issued)).passed is passed


def test_the_health_certificate_validity_is_configuration() -> None:
    old = renewal(health_certificate_on=date(2026, 6, 12))
    assert not renewal_result("health", old).passed
    assert renewal_result("health", old, health_certificate_valid_months=9).passed


@pytest.mark.parametrize(
    ("retires", "passed", "fragment"),
    [
        (date(2040, 1, 1), True, "Bổ nhiệm lại 5 năm"),
        (date(2030, 1, 1), True, "đến khi nghỉ hưu"),  # < 5 years: the term runs to retirement
        (date(2028, 1, 1), True, "kéo dài"),  # < 2 years: extension
        (date(2027, 6, 2), True, "kéo dài"),  # retires the day after the new term starts
        (date(2027, 6, 1), False, "trước khi bắt đầu"),  # retires on the first day of the new term
    ],
)
def test_reappointment_age_follows_the_near_retirement_branches(retires: date, passed: bool, fragment: str) -> None:
    candidate = dataclasses.replace(renewal().candidate, retirement_date=retires)
    checked = renewal_result("age", renewal(candidate=candidate))
    assert checked.passed is passed and fragment in checked.message, checked.message


def test_reappointment_is_barred_only_while_a_discipline_is_in_effect() -> None:
    # The waiting times before a higher post do not apply; a discipline still in effect does.
    served = DisciplineFact("khien_trach", date(2025, 1, 1), date(2026, 1, 1))
    in_effect = DisciplineFact("canh_cao", date(2026, 6, 1), date(2027, 6, 1))
    ends_today = DisciplineFact("canh_cao", date(2026, 3, 12), RECEIVED)
    for record, passed in ((served, True), (in_effect, False), (ends_today, True)):
        candidate = dataclasses.replace(renewal().candidate, disciplines=(record,))
        assert renewal_result("not_barred", renewal(candidate=candidate)).passed is passed, record


# ---------------------------------------------------------------------------------------------
# Local source (nguồn nhân sự tại chỗ, NĐ 170 Điều 33 k2): who counts as "inside"
# ---------------------------------------------------------------------------------------------
# A province (1) with its people's committee (2) and a department under it (3, 4: two departments, 5 below 3), and
# two communes (10, 20), each with its party committee (11, 21), people's committee (12, 22), an office under the
# people's committee (13) and the front (14).
UNITS = {
    node.id: node
    for node in (
        UnitNode(1, "province"),
        UnitNode(2, "peoples_committee", (1,)),
        UnitNode(3, "department", (1, 2)),
        UnitNode(4, "department", (1, 2)),
        UnitNode(5, "department", (1, 2, 3)),
        UnitNode(10, "commune", (1,)),
        UnitNode(11, "party_committee", (1, 10)),
        UnitNode(12, "peoples_committee", (1, 10)),
        UnitNode(13, "department", (1, 10, 12)),
        UnitNode(14, "mass_organisation", (1, 10)),
        UnitNode(20, "ward", (1,)),
        UnitNode(21, "party_committee", (1, 20)),
        UnitNode(22, "peoples_committee", (1, 20)),
    )
}
POST_IN_COMMUNE_PC = 12  # a post of the commune's people's committee (UBND xã)


@pytest.mark.parametrize(
    ("cadre_unit", "local"),
    [
        (10, True),  # works in the commune itself (the demo's X001 cadres)
        (11, True),  # its party committee
        (12, True),  # the people's committee of the post
        (13, True),  # an office under it
        (14, True),  # the commune's front
        (20, False),  # another commune
        (22, False),  # another commune's people's committee
        (1, False),  # the province
        (3, False),  # a provincial department
        (None, False),  # no unit recorded
        (99, False),  # a unit the caller did not pass
    ],
)
def test_the_local_source_of_a_commune_post_is_the_whole_commune(cadre_unit: int | None, local: bool) -> None:
    assert local_source_root(POST_IN_COMMUNE_PC, UNITS) == 10
    assert is_local_source(cadre_unit, POST_IN_COMMUNE_PC, UNITS) is local


def test_a_post_of_the_commune_unit_itself_or_a_ward_has_the_same_pool() -> None:
    assert is_local_source(12, 10, UNITS) and not is_local_source(12, 20, UNITS)
    assert local_source_root(22, UNITS) == 20 and is_local_source(21, 22, UNITS) and not is_local_source(11, 22, UNITS)


@pytest.mark.parametrize(("cadre_unit", "local"), [(3, True), (5, True), (4, False), (2, False), (1, False)])
def test_above_commune_level_the_local_source_is_the_posts_unit_and_below(cadre_unit: int, local: bool) -> None:
    assert local_source_root(3, UNITS) == 3
    assert is_local_source(cadre_unit, 3, UNITS) is local


@pytest.mark.parametrize(("cadre_unit", "local"), [(12, True), (13, True), (10, False), (11, False), (14, False)])
def test_the_whole_commune_pool_can_be_switched_off(cadre_unit: int, local: bool) -> None:
    policy = AppointmentPolicy.from_mapping({"local_source_whole_commune": False})
    assert local_source_root(POST_IN_COMMUNE_PC, UNITS, policy) == POST_IN_COMMUNE_PC
    assert is_local_source(cadre_unit, POST_IN_COMMUNE_PC, UNITS, policy) is local
    assert AppointmentPolicy.from_mapping(policy.to_mapping()) == policy
    with pytest.raises(Invalid) as refused:
        AppointmentPolicy.from_mapping({"local_source_whole_commune": "yes"})
    assert [problem.field for problem in refused.value.problems] == ["local_source_whole_commune"]


# -- the nomination slip's pool (§3.4 step 2, decision 0121) ------------------------------------------------------------
NOMINEE_OF_POOL = ("N", "Người được đề xuất")


@pytest.mark.parametrize(
    ("planned", "expected"),
    [
        ([], ["N"]),  # nobody else planned: the slip names the nominee alone
        ([PlannedCadre("B", "B", 12), PlannedCadre("C", "C", 13)], ["N", "B", "C"]),  # the plan's order
        ([PlannedCadre("N", "N", 12), PlannedCadre("B", "B", 10)], ["N", "B"]),  # the nominee once, first
        ([PlannedCadre("B", "B", 22)], ["N"]),  # planned from another commune: not this slip's local source
        ([PlannedCadre("B", "B", 3)], ["N"]),  # a provincial department: from elsewhere
        ([PlannedCadre("B", "B", None)], ["N"]),  # no unit recorded
        ([PlannedCadre("B", "B", 12, is_active=False)], ["N"]),  # no longer active
        ([PlannedCadre("B", "B", 12, holds_post=True)], ["N"]),  # already holds the post
        ([PlannedCadre("B", "B", 12), PlannedCadre("B", "B", 12)], ["N", "B"]),  # planned in two terms: once
    ],
)
def test_the_nomination_slip_names_the_nominee_and_the_local_plan_for_the_post(
    planned: list[PlannedCadre], expected: list[str]
) -> None:
    pool = nomination_pool(NOMINEE_OF_POOL, planned, POST_IN_COMMUNE_PC, UNITS)
    assert [code for code, _name in pool] == expected
    assert pool[0] == NOMINEE_OF_POOL


def test_the_nomination_pool_follows_the_local_source_setting_and_can_be_switched_off() -> None:
    planned = [PlannedCadre("B", "B", 12), PlannedCadre("C", "C", 14)]
    narrow = AppointmentPolicy.from_mapping({"local_source_whole_commune": False})
    assert [c for c, _ in nomination_pool(NOMINEE_OF_POOL, planned, POST_IN_COMMUNE_PC, UNITS, narrow)] == ["N", "B"]
    off = AppointmentPolicy.from_mapping({"nomination_pool_from_plan": False})
    assert nomination_pool(NOMINEE_OF_POOL, planned, POST_IN_COMMUNE_PC, UNITS, off) == [NOMINEE_OF_POOL]
    with pytest.raises(Invalid):
        AppointmentPolicy.from_mapping({"nomination_pool_from_plan": "yes"})
