"""Planning rules (QĐ 377-QĐ/TW planning chapter, QĐ 50-QĐ/TW, QĐ 96-QĐ/TW; domain rules §2.2, §2.4, §3.9) at their
boundaries: nomination constraints, the annual review's screening and the structure figures of a list."""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

import pytest

from workflows.errors import Invalid
from workflows.registry.records import MAX_CADRES_PER_TITLE, MAX_TITLES_PER_CADRE_AND_LEVEL
from workflows.rules.appointment import PlannedTitle, RuleResult, RunningCase
from workflows.rules.planning import (
    DEFAULT_POLICY,
    NOMINATION_RULES,
    RULE_AGE,
    RULE_APPOINTMENT_IN_PROGRESS,
    RULE_CADRES_PER_TITLE,
    RULE_HIGHER_TITLE,
    RULE_NOT_TWICE,
    RULE_TITLES_PER_CADRE,
    SCREEN_CONFIDENCE,
    SCREEN_DISCIPLINE,
    SCREEN_GRADE,
    SCREEN_OVER_AGE,
    SCREEN_POLITICAL_STANDARD,
    SCREENING_RULES,
    STRUCTURE_ETHNIC_MINORITY,
    STRUCTURE_KEYS,
    STRUCTURE_SCIENCE_TECHNOLOGY,
    STRUCTURE_WOMEN,
    STRUCTURE_YOUNG,
    ConfidenceVote,
    HeldPost,
    NominationFacts,
    PlanEntryRef,
    PlanningDiscipline,
    PlanningPolicy,
    ReviewFacts,
    StructureMember,
    age_reference_date,
    appointed_leaves_plan_reason,
    check_nomination,
    entries_ended_by_appointment,
    screen_for_review,
    structure_figures,
    term_problems,
    titles_counted_toward_limit,
)
from workflows.rules.retirement import add_months, retirement_date

ON = date(2026, 3, 10)
TERM = "2026-2031"
TARGET = 7
CHAIR, VICE_CHAIR, DEPARTMENT_HEAD = 16, 15, 14  # DEFAULT_TITLE_RANKS of the commune titles


def nominee(**overrides: Any) -> NominationFacts:
    """A nominee who passes every rule: a department head born 1985, nominated for the commune PC chair."""
    values: dict[str, Any] = {
        "cadre_name": "Lê Thị Hoa",
        "birth_date": date(1985, 5, 20),
        "gender": "female",
        "term": TERM,
        "target_position_id": TARGET,
        "target_title": "Chủ tịch UBND (Xã An Phú)",
        "target_level": "commune",
        "target_rank": CHAIR,
        "held_posts": (HeldPost(3, "Trưởng phòng (Phòng Kinh tế)", "commune", DEPARTMENT_HEAD),),
    }
    values.update(overrides)
    return NominationFacts(**values)


def rule(name: str, facts: NominationFacts, on: date = ON, **policy: Any) -> RuleResult:
    results = check_nomination(facts, on=on, policy=dataclasses.replace(DEFAULT_POLICY, **policy))
    return next(r for r in results if r.rule == name)


def test_a_clean_nominee_passes_every_rule_in_order_with_a_source() -> None:
    results = check_nomination(nominee(), on=ON)
    assert [r.rule for r in results] == list(NOMINATION_RULES)
    assert all(r.passed for r in results), [r.message for r in results if not r.passed]
    assert all(r.source.startswith("QĐ") and r.message for r in results)


def test_qd377_a_cadre_is_planned_once_per_title_and_term() -> None:
    result = rule(RULE_NOT_TWICE, nominee(already_planned=True))
    assert not result.passed
    assert result.message == "Lê Thị Hoa đã có trong quy hoạch chức danh Chủ tịch UBND (Xã An Phú), nhiệm kỳ 2026-2031"


@pytest.mark.parametrize(("others", "passed"), [(0, True), (2, True), (3, False), (4, False)])
def test_qd377_at_most_3_cadres_per_title(others: int, passed: bool) -> None:
    assert MAX_CADRES_PER_TITLE == 3
    names = tuple(f"Người {i + 1}" for i in range(others))
    result = rule(RULE_CADRES_PER_TITLE, nominee(others_for_title=names))
    assert result.passed is passed
    if passed:
        assert f"là {others + 1}/3" in result.message
    else:
        assert f"đã có {others} người trong quy hoạch" in result.message
        assert "tối đa 3 người" in result.message and "Người 1" in result.message


@pytest.mark.parametrize(("titles", "passed"), [(0, True), (2, True), (3, False)])
def test_qd377_at_most_3_titles_per_cadre_at_the_same_level(titles: int, passed: bool) -> None:
    assert MAX_TITLES_PER_CADRE_AND_LEVEL == 3
    planned = tuple(PlannedTitle(100 + i, f"Chức danh {i}", CHAIR) for i in range(titles))
    result = rule(RULE_TITLES_PER_CADRE, nominee(titles_at_level=planned))
    assert result.passed is passed
    assert f"{titles} chức danh cấp xã" in result.message
    if not passed:
        assert "tối đa 3 chức danh cùng cấp" in result.message


def test_qd377_a_title_the_cadre_holds_takes_none_of_the_3_titles() -> None:
    # The reviewer's case: appointed vice-chair while planned for it and two more commune titles, the stale entry
    # for the post she holds is not a plan for a higher title (decision 0113).
    vice_chair = HeldPost(15, "Phó Chủ tịch UBND (Xã An Phú)", "commune", VICE_CHAIR)
    planned = (
        PlannedTitle(15, "Phó Chủ tịch UBND (Xã An Phú)", VICE_CHAIR),
        PlannedTitle(16, "Phó Bí thư (Xã An Phú)", CHAIR),
        PlannedTitle(17, "Chủ tịch HĐND (Xã An Phú)", CHAIR),
    )
    result = rule(RULE_TITLES_PER_CADRE, nominee(titles_at_level=planned, held_posts=(vice_chair,)))
    assert result.passed
    assert result.message == (
        "Lê Thị Hoa có 2 chức danh cấp xã trong quy hoạch nhiệm kỳ 2026-2031 (Phó Bí thư (Xã An Phú); "
        "Chủ tịch HĐND (Xã An Phú)); không tính chức danh đang giữ (Phó Chủ tịch UBND (Xã An Phú)); "
        "thêm chức danh này là 3/3"
    )
    # Without the post held, the same three titles fill the limit.
    assert not rule(RULE_TITLES_PER_CADRE, nominee(titles_at_level=planned)).passed


def test_titles_counted_toward_limit_splits_the_held_ones_off() -> None:
    planned = (PlannedTitle(1, "A"), PlannedTitle(2, "B"), PlannedTitle(3, "C"))
    held = (HeldPost(2, "B", "commune"), HeldPost(9, "Z", "commune"))
    assert titles_counted_toward_limit(planned, held) == ((planned[0], planned[2]), (planned[1],))
    assert titles_counted_toward_limit(planned, ()) == (planned, ())


def test_qd377_an_appointment_ends_the_entries_for_the_post_and_no_other() -> None:
    entries = [PlanEntryRef(1, 15), PlanEntryRef(2, 16), PlanEntryRef(3, 15), PlanEntryRef(4, 7)]
    assert entries_ended_by_appointment(entries, 15) == [1, 3]  # every term's entry for the post
    assert entries_ended_by_appointment(entries, 99) == []
    assert entries_ended_by_appointment([], 15) == []


def test_the_reason_names_the_decision_and_the_rule() -> None:
    reason = appointed_leaves_plan_reason("125/QĐ-UBND", date(2026, 11, 2))
    assert reason.startswith("Đã được bổ nhiệm vào chức danh quy hoạch (Quyết định số 125/QĐ-UBND, hiệu lực từ 02/11")
    assert "QĐ 377-QĐ/TW" in reason and "chức danh cao hơn" in reason


@pytest.mark.parametrize(
    ("held", "target_rank", "target_level", "passed", "words"),
    [
        ((), CHAIR, "commune", True, "Chưa giữ chức vụ lãnh đạo"),
        ((HeldPost(3, "Trưởng phòng", "commune", DEPARTMENT_HEAD),), CHAIR, "commune", True, "cao hơn"),
        ((HeldPost(3, "Phó Chủ tịch UBND", "commune", VICE_CHAIR),), VICE_CHAIR, "commune", False, "tương đương"),
        ((HeldPost(3, "Chủ tịch UBND", "commune", CHAIR),), VICE_CHAIR, "commune", False, "thấp hơn"),
        ((HeldPost(TARGET, "Chủ tịch UBND", "commune", CHAIR),), CHAIR, "commune", False, "giữ chính chức danh"),
        # Unranked: a provincial title is above a commune post; on the same level it cannot be compared.
        ((HeldPost(3, "Tổ trưởng", "commune", None),), None, "province", True, "cao hơn"),
        ((HeldPost(3, "Tổ trưởng", "province", None),), None, "commune", False, "thấp hơn"),
        ((HeldPost(3, "Tổ trưởng", "commune", None),), CHAIR, "commune", False, "so sánh được"),
    ],
)
def test_qd377_only_higher_titles(
    held: tuple[HeldPost, ...], target_rank: int | None, target_level: str, passed: bool, words: str
) -> None:
    result = rule(RULE_HIGHER_TITLE, nominee(held_posts=held, target_rank=target_rank, target_level=target_level))
    assert result.passed is passed
    assert words in result.message


def test_qd377_no_planning_while_an_appointment_is_in_progress() -> None:
    case = RunningCase(12, "Bổ nhiệm, bổ nhiệm lại")
    result = rule(RULE_APPOINTMENT_IN_PROGRESS, nominee(appointment_in_progress=True, in_progress_cases=(case,)))
    assert not result.passed
    assert "hồ sơ số 12 (Bổ nhiệm, bổ nhiệm lại)" in result.message and "không quy hoạch đồng thời" in result.message
    assert "#" not in result.message


@pytest.mark.parametrize(
    ("need", "passed"),
    [(230, True), (231, True), (232, False)],
)
def test_qd377_age_two_terms_counted_from_the_terms_start(need: int, passed: bool) -> None:
    facts = nominee()
    assert facts.birth_date is not None
    assert age_reference_date(TERM, ON) == ON  # the term has begun: counted from the check
    left = 231  # retirement age 62 for a woman born 1985 (BLLĐ 2019 schedule) less her age on 10/03/2026
    result = rule(RULE_AGE, facts, min_months_to_retirement=need)
    assert result.passed is passed
    assert f"Còn {left} tháng" in result.message and f"{need} tháng" in result.message


def test_qd377_age_for_the_next_term_is_counted_from_its_first_day() -> None:
    assert age_reference_date("2031-2036", ON) == date(2031, 1, 1)
    assert age_reference_date("2031-2036", ON, PlanningPolicy(age_counted_from="check_date")) == ON
    # Born so that exactly 120 months remain on 01/01/2031 (a man retiring at 62): passes; a month older fails.
    retire_first_day = date(2041, 1, 1)
    birth = add_months(retire_first_day, -62 * 12 - 1).replace(day=1)
    assert retirement_date(birth, "male") >= retire_first_day
    facts = nominee(term="2031-2036", birth_date=birth, gender="male")
    result = rule(RULE_AGE, facts)
    assert "tính từ ngày 01/01/2031" in result.message
    months = int(result.message.split()[1])
    assert result.passed is (months >= 120)
    older = nominee(term="2031-2036", birth_date=add_months(birth, -(months - 119)), gender="male")
    assert not rule(RULE_AGE, older).passed
    assert rule(RULE_AGE, nominee(term="2031-2036", birth_date=add_months(birth, -(months - 120)),
                                  gender="male")).passed  # fmt: skip


def test_qd377_age_rule_fails_readably_without_a_birth_date() -> None:
    result = rule(RULE_AGE, nominee(birth_date=None))
    assert not result.passed and "thiếu ngày sinh" in result.message


# ---------------------------------------------------------------------------------------------
# Screening
# ---------------------------------------------------------------------------------------------
def reviewed(**overrides: Any) -> ReviewFacts:
    values: dict[str, Any] = {
        "cadre_id": 1,
        "cadre_name": "Phạm Văn Nam",
        "birth_date": date(1980, 1, 15),
        "gender": "male",
        "latest_annual_grade": "HTTNV",
        "latest_annual_period": "2025",
    }
    values.update(overrides)
    return ReviewFacts(**values)


def screened(name: str, facts: ReviewFacts, on: date = ON, **policy: Any) -> RuleResult:
    outcome = screen_for_review(facts, on=on, policy=dataclasses.replace(DEFAULT_POLICY, **policy))
    return next(r for r in outcome.results if r.rule == name)


def test_screening_a_clean_cadre_is_kept() -> None:
    outcome = screen_for_review(reviewed(entry_ids=(4, 5)), on=ON)
    assert [r.rule for r in outcome.results] == list(SCREENING_RULES)
    assert not outcome.proposed_for_removal and outcome.reason == "" and outcome.entry_ids == (4, 5)


def test_qd50_over_the_planning_age_at_the_boundary() -> None:
    # Man born 15/01/1966 retires at 61y6m? Use the schedule: compute the months left and set the threshold there.
    facts = reviewed(birth_date=date(1966, 1, 15))
    left = int(screened(SCREEN_OVER_AGE, facts, review_min_months_to_retirement=0).message.split()[1])
    assert screened(SCREEN_OVER_AGE, facts, review_min_months_to_retirement=left).passed
    over = screened(SCREEN_OVER_AGE, facts, review_min_months_to_retirement=left + 1)
    assert not over.passed
    assert over.message.startswith(f"Quá tuổi quy hoạch: còn {left} tháng") and f"dưới {left + 1} tháng" in over.message


@pytest.mark.parametrize(
    ("record", "removed", "words"),
    [
        # QĐ 50: khiển trách or above removes.
        (PlanningDiscipline("khien_trach", date(2025, 6, 1)), True, "kỷ luật khiển trách ngày 01/06/2025"),
        (PlanningDiscipline("cach_chuc", date(2020, 6, 1)), True, "cách chức"),
        # QĐ 377 case 3: the effect of a khiển trách / cảnh cáo has expired — on the day itself too.
        (PlanningDiscipline("canh_cao", date(2024, 3, 10), date(2026, 3, 10)), False, "đã hết thời hạn hiệu lực"),
        (PlanningDiscipline("canh_cao", date(2024, 3, 10), date(2026, 3, 11)), True, "còn hiệu lực đến 11/03/2026"),
        # QĐ 377 case 2: waived or time-barred after review and remedy.
        (PlanningDiscipline("khien_trach", date(2025, 6, 1), waived=True), False, "đã được miễn"),
        # The exceptions are for khiển trách and cảnh cáo only.
        (PlanningDiscipline("cach_chuc", date(2019, 1, 1), date(2020, 1, 1), waived=True), True, "cách chức"),
        # A decision after the review date is not yet known to it.
        (PlanningDiscipline("khien_trach", date(2026, 3, 11)), False, "Không bị kỷ luật"),
    ],
)
def test_qd377_discipline_screening_and_its_three_cases(record: PlanningDiscipline, removed: bool, words: str) -> None:
    result = screened(SCREEN_DISCIPLINE, reviewed(disciplines=(record,)))
    assert result.passed is not removed
    assert words in result.message


def test_qd377_review_only_shortcomings_leave_no_record_and_keep_the_cadre() -> None:
    # Case 1 (review, no discipline) writes no discipline record at all.
    assert screened(SCREEN_DISCIPLINE, reviewed(disciplines=())).passed


@pytest.mark.parametrize(("grade", "removed"), [("HTXSNV", False), ("HTTNV", False), ("HTNV", False), ("KHTNV", True)])
def test_qd377_annual_review_removes_khtnv(grade: str, removed: bool) -> None:
    result = screened(SCREEN_GRADE, reviewed(latest_annual_grade=grade))
    assert result.passed is not removed
    assert "năm 2025" in result.message


def test_removal_grades_are_configurable() -> None:
    assert not screened(SCREEN_GRADE, reviewed(latest_annual_grade="HTNV"), removal_grades=("HTNV", "KHTNV")).passed


@pytest.mark.parametrize(
    ("low", "summoned", "removed"),
    [(10, 20, False), (11, 20, True), (7, 15, False), (8, 15, True), (0, 0, False)],
)
def test_qd96_more_than_half_low_confidence_votes_removes(low: int, summoned: int, removed: bool) -> None:
    result = screened(SCREEN_CONFIDENCE, reviewed(confidence=ConfidenceVote(low, summoned, date(2026, 1, 5))))
    assert result.passed is not removed
    if summoned:
        assert f"{low}/{summoned} phiếu tín nhiệm thấp" in result.message


def test_qd50_political_standard_conclusion_removes() -> None:
    assert not screened(SCREEN_POLITICAL_STANDARD, reviewed(political_standard_failed=True)).passed


def test_the_removal_reason_lists_every_failed_rule() -> None:
    outcome = screen_for_review(
        reviewed(latest_annual_grade="KHTNV", disciplines=(PlanningDiscipline("khien_trach", date(2025, 9, 1)),)),
        on=ON,
    )
    assert outcome.proposed_for_removal
    assert outcome.reasons == [
        "Bị kỷ luật khiển trách ngày 01/09/2025",
        "Xếp loại chất lượng năm 2025: Không hoàn thành nhiệm vụ",
    ]
    assert outcome.reason == "; ".join(outcome.reasons)
    # What the collective reads and the removal records: each reason with its rule's legal source.
    assert outcome.grounded_reason == (
        "Bị kỷ luật khiển trách ngày 01/09/2025 (căn cứ: QĐ 50-QĐ/TW (kỷ luật từ khiển trách trở lên); QĐ 377-QĐ/TW "
        "(3 trường hợp vẫn được quy hoạch)); Xếp loại chất lượng năm 2025: Không hoàn thành nhiệm vụ (căn cứ: "
        "QĐ 377-QĐ/TW (rà soát hằng năm: đưa ra cán bộ không hoàn thành nhiệm vụ); NĐ 335/2025 Điều 23 k3)"
    )


# ---------------------------------------------------------------------------------------------
# Structure
# ---------------------------------------------------------------------------------------------
def member(cadre_id: int, **overrides: Any) -> StructureMember:
    values: dict[str, Any] = {
        "cadre_id": cadre_id,
        "birth_date": date(1975, 1, 1),
        "gender": "male",
        "ethnicity": "Kinh",
        "education_level": "dai_hoc",
        "is_science_technology": False,
    }
    values.update(overrides)
    return StructureMember(**values)


def figures(members: list[StructureMember], **policy: Any) -> dict[str, Any]:
    found = structure_figures(members, on=ON, policy=PlanningPolicy.from_mapping(policy))
    assert [f.key for f in found] == list(STRUCTURE_KEYS)
    return {f.key: f for f in found}


@pytest.mark.parametrize(("women", "meets"), [(0, False), (1, True), (2, True)])
def test_qd50_women_at_least_25_percent_of_the_list(women: int, meets: bool) -> None:
    people = [member(i, gender="female" if i < women else "male") for i in range(4)]
    figure = figures(people)[STRUCTURE_WOMEN]
    assert (figure.numerator, figure.denominator, figure.meets_target) == (women, 4, meets)
    assert figure.message.startswith(f"Nữ: {women}/4 người") and "chỉ tiêu ≥ 25%" in figure.message


def test_qd50_young_is_under_the_configured_age_on_the_day() -> None:
    birthday_40 = date(1986, 3, 10)  # 40 on ON exactly: no longer young
    people = [member(1, birth_date=birthday_40), member(2, birth_date=date(1986, 3, 11))] + [
        member(i) for i in range(3, 8)
    ]
    figure = figures(people)[STRUCTURE_YOUNG]
    assert (figure.numerator, figure.denominator) == (1, 7)
    assert figure.meets_target is False and "dưới 40 tuổi" in figure.label  # 14.3% < 15%
    assert figures(people, young_age_years=41)[STRUCTURE_YOUNG].numerator == 2


def test_structure_unknowns_are_listed_apart_and_can_leave_the_verdict_open() -> None:
    people = [member(1, gender="female"), member(2, gender=None), member(3), member(4)]
    figure = figures(people)[STRUCTURE_WOMEN]
    assert (figure.numerator, figure.denominator, figure.unknown) == (1, 3, 1)
    assert figure.meets_target is True  # 1/4 = 25% even if the unknown is a man
    people[0] = member(1, gender="male")
    assert figures(people)[STRUCTURE_WOMEN].meets_target is None  # 0/4 or 1/4: open
    assert "1 người chưa rõ" in figures(people)[STRUCTURE_WOMEN].message


def test_structure_ethnic_minority_and_science_technology_against_configured_targets() -> None:
    people = [
        member(1, ethnicity="Tày", education_level="thac_si", is_science_technology=True),
        member(2, ethnicity="kinh", is_science_technology=True, education_level="cao_dang"),
        member(3, ethnicity=None),
        member(1, ethnicity="Tày"),  # listed twice (two titles): counted once
    ]
    default = figures(people)
    assert default[STRUCTURE_ETHNIC_MINORITY].meets_target is None
    assert "không có chỉ tiêu" in default[STRUCTURE_ETHNIC_MINORITY].message
    configured = figures(
        people,
        structure_targets={
            STRUCTURE_ETHNIC_MINORITY: {"kind": "at_least", "low": 30},
            STRUCTURE_SCIENCE_TECHNOLOGY: {"kind": "at_least", "low": 34},
        },
    )
    ethnic = configured[STRUCTURE_ETHNIC_MINORITY]
    # 1 of 2 known, 1 unknown: 1/3 or 2/3 once recorded — at least 30% either way.
    assert (ethnic.numerator, ethnic.denominator, ethnic.unknown, ethnic.meets_target) == (1, 2, 1, True)
    at_half = figures(people, structure_targets={STRUCTURE_ETHNIC_MINORITY: {"kind": "at_least", "low": 50}})
    assert at_half[STRUCTURE_ETHNIC_MINORITY].meets_target is None  # 1/3 fails, 2/3 meets: open
    science = configured[STRUCTURE_SCIENCE_TECHNOLOGY]  # college is below university: 1 of 3
    assert (science.numerator, science.denominator, science.meets_target) == (1, 3, False)


# ---------------------------------------------------------------------------------------------
# The term
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("term", "words"),
    [
        ("2026-2031", None),
        ("2016-2021", None),  # 10 years back: the term that has just ended
        ("2046-2051", None),  # 20 years ahead
        ("2015-2020", "too far"),
        ("2047-2052", "too far"),
        ("0000-0005", "too far"),
        ("1000-1005", "too far"),
        ("2026-2099", "as many years"),  # a term lasts 5 years
        ("2026-2027", "as many years"),
        ("2026-2032", "as many years"),
        ("2031-2026", "written like 2026-2031"),
        ("2026", "written like 2026-2031"),
    ],
)
def test_a_term_lasts_five_years_and_lies_near_the_present(term: str, words: str | None) -> None:
    problems = term_problems(term, today=ON)
    if words is None:
        assert problems == []
    else:
        assert [p.field for p in problems] == ["term"] and words in problems[0].message


def test_the_terms_length_and_window_are_settings() -> None:
    policy = dataclasses.replace(DEFAULT_POLICY, term_years=4, term_start_years_back=0, term_start_years_ahead=5)
    assert term_problems("2027-2031", today=ON, policy=policy) == []
    assert term_problems("2026-2031", today=ON, policy=policy)[0].field == "term"
    assert term_problems("2025-2029", today=ON, policy=policy)[0].field == "term"
    assert term_problems("2032-2036", today=ON, policy=policy)[0].field == "term"
    with pytest.raises(Invalid) as caught:
        PlanningPolicy.from_mapping({"term_years": 0, "term_start_years_back": -1, "term_start_years_ahead": "20"})
    assert {p.field for p in caught.value.problems} == {"term_years", "term_start_years_back", "term_start_years_ahead"}


# ---------------------------------------------------------------------------------------------
# Policy
# ---------------------------------------------------------------------------------------------
def test_policy_round_trips_and_reports_every_bad_setting() -> None:
    assert PlanningPolicy.from_mapping(DEFAULT_POLICY.to_mapping()) == DEFAULT_POLICY
    with pytest.raises(Invalid) as caught:
        PlanningPolicy.from_mapping(
            {
                "min_months_to_retirement": -1,
                "age_counted_from": "birthday",
                "removal_grades": ["XX"],
                "low_confidence_removal_percent": 100,
                "structure_targets": {"women": {"kind": "at_least"}, "height": None},
                "colour": "red",
            }
        )
    fields = {p.field for p in caught.value.problems}
    assert fields == {
        "min_months_to_retirement",
        "age_counted_from",
        "removal_grades.XX",
        "low_confidence_removal_percent",
        "structure_targets.women",
        "structure_targets.height",
        "colour",
    }
    with pytest.raises(Invalid):
        PlanningPolicy(young_age_years=True)  # type: ignore[arg-type]
