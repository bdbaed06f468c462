"""Dashboard figures against the resolutions' targets, grade distributions, the HTXSNV quota and step timings.

Every figure is computed on one hand-made population whose answers were worked out on paper (see `CADRES`).
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

import pytest

from workflows.rules.retirement import age_in_months
from workflows.rules.targets import (
    DEFAULT_DEFINITIONS,
    FIGURE_KEYS,
    CadreFacts,
    DrilldownRow,
    FigureCounts,
    TargetDefinition,
    TargetKind,
    average_step_durations,
    compute_all,
    compute_figure,
    counting_basis,
    drilldown,
    earliest_birth_date_under,
    figure_from_counts,
    format_number,
    grade_distribution,
    grade_distribution_from_counts,
    htxsnv_quota_check,
    overdue_by_unit,
    people_short,
    population_titles,
    position_titles,
    resolve_definitions,
)

TODAY = date(2026, 6, 15)

TAN_TRAO, MINH_XUAN, PHAN_THIET = 101, 102, 103
UNIT_NAMES = {TAN_TRAO: "Xã Tân Trào", MINH_XUAN: "Xã Minh Xuân", PHAN_THIET: "Phường Phan Thiết", 1: "Sở Nội vụ"}

PC_CHAIR = "commune_pc_chair"
SECRETARY = "commune_party_secretary"
INSPECTION = "commune_inspection_chair"
COMMITTEE = "party_committee_member"
KEY = "key"
LEADER = "leader"
PROVINCE_MANAGED = "leader_province_managed"


def cadre(
    cadre_id: int,
    *,
    commune: int | None,
    hometown: int | None,
    born: date | None,
    gender: str | None = "male",
    education: str | None = "dai_hoc",
    science: bool = False,
    theory: str | None = None,
    titles: tuple[str, ...] = (),
) -> CadreFacts:
    unit_id = commune if commune is not None else 1
    return CadreFacts(
        cadre_id=cadre_id,
        code=f"CB{cadre_id:04d}",
        full_name=f"Cán bộ {cadre_id}",
        unit_id=unit_id,
        unit_name=UNIT_NAMES[unit_id],
        commune_id=commune,
        hometown_commune_id=hometown,
        birth_date=born,
        gender=gender,
        ethnicity="Kinh",
        education_level=education,
        is_science_technology=science,
        political_theory=theory,
        titles=frozenset(titles),
    )


# Three communes with their chair, secretary and inspection chair, one more committee member, and three
# province-level leaders. On TODAY (15/6/2026): cadre 2 turns 42 that very day, cadre 4 turns 42 tomorrow.
CADRES = [
    # Tân Trào (101)
    cadre(1, commune=TAN_TRAO, hometown=MINH_XUAN, born=date(1985, 3, 1), education="thac_si", theory="cao_cap",
          titles=(PC_CHAIR, KEY, COMMITTEE, LEADER)),
    cadre(2, commune=TAN_TRAO, hometown=TAN_TRAO, born=date(1984, 6, 15), gender="female", theory="cao_cap",
          titles=(SECRETARY, KEY, COMMITTEE, LEADER)),
    cadre(3, commune=TAN_TRAO, hometown=None, born=date(1990, 1, 1), gender="female", theory="trung_cap",
          titles=(INSPECTION, KEY, COMMITTEE)),
    # Minh Xuân (102)
    cadre(4, commune=MINH_XUAN, hometown=TAN_TRAO, born=date(1984, 6, 16), education="thac_si", theory="cu_nhan",
          titles=(PC_CHAIR, KEY, COMMITTEE, LEADER)),
    cadre(5, commune=MINH_XUAN, hometown=PHAN_THIET, born=date(1970, 5, 5), theory="cao_cap",
          titles=(SECRETARY, KEY, COMMITTEE, LEADER)),
    cadre(6, commune=MINH_XUAN, hometown=TAN_TRAO, born=date(1975, 9, 9), theory="trung_cap",
          titles=(INSPECTION, KEY, COMMITTEE)),
    # Phan Thiết (103)
    cadre(7, commune=PHAN_THIET, hometown=PHAN_THIET, born=date(1972, 2, 2), theory="trung_cap",
          titles=(PC_CHAIR, KEY, COMMITTEE, LEADER)),
    cadre(8, commune=PHAN_THIET, hometown=None, born=date(1968, 8, 8), education="thac_si", theory="cao_cap",
          titles=(SECRETARY, KEY, COMMITTEE, LEADER)),
    cadre(9, commune=PHAN_THIET, hometown=PHAN_THIET, born=date(1995, 4, 4), gender="female", education="cao_dang",
          science=True, titles=(COMMITTEE,)),
    # Province level
    cadre(10, commune=None, hometown=TAN_TRAO, born=date(1975, 1, 1), education="tien_si", science=True,
          theory="cao_cap", titles=(PROVINCE_MANAGED,)),
    cadre(11, commune=None, hometown=MINH_XUAN, born=date(1980, 1, 1), gender="female", theory="cao_cap",
          titles=(PROVINCE_MANAGED,)),
    cadre(12, commune=None, hometown=TAN_TRAO, born=date(1988, 1, 1), titles=(LEADER,)),
]  # fmt: skip

# key: (numerator ids, denominator ids, unknown ids, percent, meets_target)
EXPECTED = {
    # Chairs 1, 4, 7: 1 and 4 come from another commune, 7 is local. Target 100%.
    "non_local_commune_pc_chair": ((1, 4), (1, 4, 7), (), 200 / 3, False),
    # Secretaries 2 (local), 5 (non-local), 8 (hometown unknown): even if 8 is non-local, 2 of 3 is not 100%.
    "non_local_commune_party_secretary": ((5,), (2, 5), (8,), 50.0, False),
    # Inspection chairs 3 (unknown) and 6 (non-local): 100% of the known, but 3 could be local.
    "non_local_commune_inspection_chair": ((6,), (6,), (3,), 100.0, None),
    # Key cadres 1–8: under 42 are 1 (41), 3 (36) and 4 (42 tomorrow); 2 is 42 today.
    "key_cadres_under_42": ((1, 3, 4), (1, 2, 3, 4, 5, 6, 7, 8), (), 37.5, True),
    # Committee members 1–9, women 2, 3, 9: 33.3% reaches the 20% floor ("đạt từ 20 - 25%": more is no failure).
    "women_party_committee": ((2, 3, 9), (1, 2, 3, 4, 5, 6, 7, 8, 9), (), 100 / 3, True),
    # Everyone counts; S&T are 9 (college only) and 10 (doctorate): 1 of 12 = 8.3%, above the 5% floor.
    "university_science_technology": ((10,), tuple(range(1, 13)), (), 100 / 12, True),
    # Leaders 1, 2, 4, 5, 7, 8, 12; master's 1, 4, 8.
    "leaders_masters": ((1, 4, 8), (1, 2, 4, 5, 7, 8, 12), (), 300 / 7, True),
    # Province-managed 10 (doctorate) and 11 (bachelor): 50% < 68%.
    "province_managed_leaders_masters": ((10,), (10, 11), (), 50.0, False),
    # Leaders with intermediate theory or more: all but 12 (none recorded) — 6 of 7 is not 100%.
    "leaders_political_theory_intermediate": ((1, 2, 4, 5, 7, 8), (1, 2, 4, 5, 7, 8, 12), (), 600 / 7, False),
    # Advanced (cao cấp, cử nhân): 1, 2, 4, 5, 8.
    "leaders_political_theory_advanced": ((1, 2, 4, 5, 8), (1, 2, 4, 5, 7, 8, 12), (), 500 / 7, True),
}


def test_the_expected_table_covers_every_figure() -> None:
    assert set(EXPECTED) == set(FIGURE_KEYS)


@pytest.mark.parametrize("key", FIGURE_KEYS)
def test_each_figure_on_the_hand_made_population(key: str) -> None:
    numerator, denominator, unknown, percent, meets = EXPECTED[key]

    figure = compute_figure(key, CADRES, TODAY)

    assert figure.key == key
    assert figure.cadre_ids_in_numerator == numerator
    assert figure.cadre_ids_in_denominator == denominator
    assert figure.cadre_ids_unknown == unknown
    assert (figure.numerator, figure.denominator, figure.unknown) == (len(numerator), len(denominator), len(unknown))
    assert figure.percent == pytest.approx(percent)
    assert figure.meets_target is meets
    assert figure.target == DEFAULT_DEFINITIONS[key]


def test_compute_all_gives_every_figure_in_order_and_accepts_a_generator() -> None:
    figures = compute_all((c for c in CADRES), TODAY)

    assert [f.key for f in figures] == list(FIGURE_KEYS)
    for figure in figures:
        assert figure == compute_figure(figure.key, CADRES, TODAY)


@pytest.mark.parametrize("key", FIGURE_KEYS)
def test_a_figure_from_head_counts_is_the_figure_from_the_cadres(key: str) -> None:
    numerator, denominator, unknown, percent, meets = EXPECTED[key]
    counts = FigureCounts(len(numerator), len(denominator), len(unknown))

    figure = figure_from_counts(DEFAULT_DEFINITIONS[key], counts)

    assert (figure.key, figure.numerator, figure.denominator, figure.unknown) == (key, *map(len, EXPECTED[key][:3]))
    assert figure.percent == pytest.approx(percent)
    assert figure.meets_target is meets
    assert figure.cadre_ids_in_numerator == figure.cadre_ids_unknown == ()
    reference = compute_figure(key, CADRES, TODAY)
    assert (figure.percent, figure.meets_target, figure.unknown) == (
        reference.percent,
        reference.meets_target,
        reference.unknown,
    )


def test_counts_add_up_per_commune() -> None:
    total = sum((FigureCounts(1, 2, 0), FigureCounts(0, 3, 1), FigureCounts()), FigureCounts())

    assert total == FigureCounts(1, 5, 1)


@pytest.mark.parametrize(("numerator", "denominator", "unknown"), [(-1, 0, 0), (0, -1, 0), (0, 0, -1), (3, 2, 0)])
def test_impossible_counts_are_refused(numerator: int, denominator: int, unknown: int) -> None:
    with pytest.raises(ValueError, match="inconsistent"):
        FigureCounts(numerator, denominator, unknown)


def test_the_birth_date_cut_off_for_under_42_agrees_with_the_age_rule_every_day() -> None:
    # Eleven years of "today", leap days included: born on or after the cut-off ⟺ under 42 by completed months.
    today = date(2024, 1, 1)
    while today < date(2035, 1, 1):
        cut_off = earliest_birth_date_under(42, today)
        assert age_in_months(cut_off, today) < 42 * 12, today
        assert age_in_months(cut_off - timedelta(days=1), today) >= 42 * 12, today
        today += timedelta(days=1)
    assert earliest_birth_date_under(42, date(2026, 6, 15)) == date(1984, 6, 16)  # cadres 2 and 4 of CADRES


@pytest.mark.parametrize(
    ("row", "titles"),
    [
        (("commune_pc_chair", True, True, False), {PC_CHAIR, KEY, LEADER}),
        (("party_committee_member", False, False, False), {COMMITTEE}),
        ((None, False, True, True), {LEADER, PROVINCE_MANAGED}),
        (("", None, None, None), set()),  # an empty code is no title
    ],
)
def test_the_titles_a_position_gives(row: tuple, titles: set[str]) -> None:
    assert position_titles(*row) == titles


def test_population_titles_are_listed_once_in_order() -> None:
    assert population_titles(DEFAULT_DEFINITIONS.values()) == [
        PC_CHAIR,
        SECRETARY,
        INSPECTION,
        KEY,
        COMMITTEE,
        LEADER,
        PROVINCE_MANAGED,
    ]


def test_an_unknown_figure_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown figure"):
        compute_figure("women_everywhere", CADRES, TODAY)


# ---------------------------------------------------------------------------------------------
# Boundaries
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("born", "today", "under_42"),
    [
        (date(1984, 6, 16), date(2026, 6, 15), True),  # 42 tomorrow
        (date(1984, 6, 15), date(2026, 6, 15), False),  # 42 today
        (date(1984, 6, 14), date(2026, 6, 15), False),  # 42 since yesterday
        (date(2000, 1, 1), date(2026, 6, 15), True),
        # Born on 29 February: the retirement rules complete the year on 28 February, and so does this figure.
        (date(1984, 2, 29), date(2026, 2, 27), True),
        (date(1984, 2, 29), date(2026, 2, 28), False),
    ],
)
def test_under_42_at_the_day_of_computation(born: date, today: date, under_42: bool) -> None:
    person = cadre(1, commune=TAN_TRAO, hometown=TAN_TRAO, born=born, titles=(KEY,))

    figure = compute_figure("key_cadres_under_42", [person], today)

    assert figure.numerator == int(under_42)
    assert figure.denominator == 1


def test_a_missing_birth_date_is_unknown_not_old() -> None:
    people = [
        cadre(1, commune=TAN_TRAO, hometown=TAN_TRAO, born=date(1990, 1, 1), titles=(KEY,)),
        cadre(2, commune=TAN_TRAO, hometown=TAN_TRAO, born=None, titles=(KEY,)),
    ]

    figure = compute_figure("key_cadres_under_42", people, TODAY)

    assert (figure.numerator, figure.denominator, figure.cadre_ids_unknown) == (1, 1, (2,))
    assert figure.percent == 100.0
    # 1 of 2 or 2 of 2 are both at least 10%: the unknown cannot change the verdict.
    assert figure.meets_target is True


def test_an_unknown_hometown_is_reported_apart_not_counted_as_local() -> None:
    people = [
        cadre(1, commune=TAN_TRAO, hometown=None, born=date(1980, 1, 1), titles=(PC_CHAIR,)),
        cadre(2, commune=MINH_XUAN, hometown=TAN_TRAO, born=date(1980, 1, 1), titles=(PC_CHAIR,)),
    ]

    figure = compute_figure("non_local_commune_pc_chair", people, TODAY)

    assert figure.cadre_ids_in_numerator == (2,)
    assert figure.cadre_ids_in_denominator == (2,)
    assert figure.cadre_ids_unknown == (1,)
    assert figure.percent == 100.0
    assert figure.meets_target is None


def test_a_chair_without_a_commune_cannot_be_judged_local_or_not() -> None:
    person = cadre(1, commune=None, hometown=TAN_TRAO, born=date(1980, 1, 1), titles=(PC_CHAIR,))

    figure = compute_figure("non_local_commune_pc_chair", [person], TODAY)

    assert figure.cadre_ids_unknown == (1,)
    assert figure.denominator == 0


def test_an_empty_denominator_has_no_percent_and_no_verdict() -> None:
    communes_only = [c for c in CADRES if c.commune_id is not None]

    figure = compute_figure("province_managed_leaders_masters", communes_only, TODAY)

    assert (figure.numerator, figure.denominator, figure.unknown) == (0, 0, 0)
    assert figure.percent is None
    assert figure.meets_target is None


def test_only_unknowns_give_no_percent_and_no_verdict() -> None:
    people = [cadre(i, commune=TAN_TRAO, hometown=None, born=date(1980, 1, 1), titles=(SECRETARY,)) for i in (1, 2)]

    figure = compute_figure("non_local_commune_party_secretary", people, TODAY)

    assert (figure.denominator, figure.unknown, figure.percent, figure.meets_target) == (0, 2, None, None)


def test_a_missing_gender_is_unknown() -> None:
    people = [
        cadre(1, commune=TAN_TRAO, hometown=TAN_TRAO, born=None, gender=None, titles=(COMMITTEE,)),
        cadre(2, commune=TAN_TRAO, hometown=TAN_TRAO, born=None, gender="female", titles=(COMMITTEE,)),
    ]

    figure = compute_figure("women_party_committee", people, TODAY)

    assert (figure.numerator, figure.denominator, figure.cadre_ids_unknown) == (1, 1, (1,))


def test_missing_qualifications_count_as_not_held() -> None:
    person = cadre(1, commune=None, hometown=None, born=None, education=None, theory=None, titles=(LEADER,))

    for key in ("leaders_masters", "leaders_political_theory_intermediate", "leaders_political_theory_advanced"):
        figure = compute_figure(key, [person], TODAY)
        assert (figure.numerator, figure.denominator, figure.unknown) == (0, 1, 0), key


@pytest.mark.parametrize(
    ("numerator", "denominator", "low", "met"),
    [
        (1, 10, 10, True),  # exactly 10%: floating point must not make it 9.999…%
        (1, 10, 10.1, False),
        (3, 10, 30, True),  # 0.3 is not exact in binary either
        (0, 10, 0, True),
    ],
)
def test_at_least_is_exact_at_the_boundary(numerator: int, denominator: int, low: float, met: bool) -> None:
    people = [
        cadre(i, commune=TAN_TRAO, hometown=TAN_TRAO, born=date(1990 if i <= numerator else 1960, 1, 1), titles=(KEY,))
        for i in range(1, denominator + 1)
    ]

    figure = compute_figure("key_cadres_under_42", people, TODAY, {"key_cadres_under_42": {"low": low}})

    assert figure.meets_target is met


# The province's other reading of "đạt từ 20 - 25%": a band, both ends included.
BAND = {"women_party_committee": {"kind": "between", "high": 25}}


@pytest.mark.parametrize(
    ("women", "total", "met"),
    [(1, 5, True), (1, 4, True), (2, 10, True), (1, 6, False), (2, 6, False)],  # 20%, 25%, 20%, 16.7%, 33.3%
)
def test_a_band_configured_by_the_province_includes_both_ends(women: int, total: int, met: bool) -> None:
    people = [
        cadre(i, commune=TAN_TRAO, hometown=TAN_TRAO, born=None, gender="female" if i <= women else "male",
              titles=(COMMITTEE,))
        for i in range(1, total + 1)
    ]  # fmt: skip

    assert compute_figure("women_party_committee", people, TODAY, BAND).meets_target is met


@pytest.mark.parametrize(
    ("women", "total", "met"),
    [(1, 5, True), (1, 4, True), (2, 6, True), (6, 6, True), (1, 6, False)],  # 20%, 25%, 33.3%, 100%, 16.7%
)
def test_the_womens_share_is_a_floor_by_default(women: int, total: int, met: bool) -> None:
    """NQ 06-NQ/TU mục II.3 "cấp ủy viên nữ đạt từ 20 - 25%": 32.4% of women is not a failure."""
    people = [
        cadre(i, commune=TAN_TRAO, hometown=TAN_TRAO, born=None, gender="female" if i <= women else "male",
              titles=(COMMITTEE,))
        for i in range(1, total + 1)
    ]  # fmt: skip

    assert compute_figure("women_party_committee", people, TODAY).meets_target is met


def test_unknowns_that_can_only_land_outside_a_band_still_give_a_verdict() -> None:
    # 1 woman of 2 known, 1 unknown: 1/3 or 2/3, both above 25% → not met whatever the unknown turns out to be.
    people = [
        cadre(1, commune=TAN_TRAO, hometown=None, born=None, gender="female", titles=(COMMITTEE,)),
        cadre(2, commune=TAN_TRAO, hometown=None, born=None, gender="male", titles=(COMMITTEE,)),
        cadre(3, commune=TAN_TRAO, hometown=None, born=None, gender=None, titles=(COMMITTEE,)),
    ]

    assert compute_figure("women_party_committee", people, TODAY, BAND).meets_target is False


# ---------------------------------------------------------------------------------------------
# Definitions and configuration
# ---------------------------------------------------------------------------------------------
def test_every_default_definition_is_documented_for_the_page() -> None:
    for key, definition in DEFAULT_DEFINITIONS.items():
        assert definition.key == key
        assert definition.label_vi and definition.definition_vi and definition.source
        assert definition.confidence in ("V", "P", "U")
    # Figures whose text only states a policy, or whose reading is ours, say so.
    assert DEFAULT_DEFINITIONS["non_local_commune_party_secretary"].confidence == "P"
    assert DEFAULT_DEFINITIONS["non_local_commune_party_secretary"].note_vi


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("non_local_commune_pc_chair", "100%"),
        ("key_cadres_under_42", "≥ 10%"),
        ("women_party_committee", "≥ 20%"),
        ("university_science_technology", "≥ 5% (đến năm 2030)"),
        ("province_managed_leaders_masters", "≥ 68% (đến năm 2029)"),
    ],
)
def test_target_text(key: str, text: str) -> None:
    assert DEFAULT_DEFINITIONS[key].target_text == text


def test_a_province_overrides_a_target_value() -> None:
    config = {"key_cadres_under_42": {"low": 40}}

    figure = compute_figure("key_cadres_under_42", CADRES, TODAY, config)

    assert figure.percent == 37.5
    assert figure.meets_target is False
    assert figure.target.low == 40
    assert figure.target.target_text == "≥ 40%"
    # The defaults are untouched.
    assert compute_figure("key_cadres_under_42", CADRES, TODAY).target.low == 10


def test_a_province_turns_the_floor_into_a_band() -> None:
    figure = compute_figure("women_party_committee", CADRES, TODAY, BAND)

    assert figure.target.kind is TargetKind.BETWEEN
    assert figure.target.target_text == "20–25%"
    assert figure.meets_target is False  # 33.3% is above the band


def test_the_page_shows_no_drafting_notes_or_settings() -> None:
    """What a personnel officer reads: the source and a plain reading, not how to configure it or how we read a
    misprinted number."""
    for definition in DEFAULT_DEFINITIONS.values():
        for text in (definition.note_vi, definition.source, definition.definition_vi):
            assert "kind =" not in text and "at_least" not in text and "cấu hình" not in text
            assert "06-NQ/TW" not in text


def test_a_province_overrides_the_population_and_the_year() -> None:
    config = {"leaders_masters": {"population_title": PROVINCE_MANAGED, "by_year": 2030}}

    figure = compute_figure("leaders_masters", CADRES, TODAY, config)

    assert figure.cadre_ids_in_denominator == (10, 11)
    assert figure.target.by_year == 2030


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"no_such_figure": {"low": 1}}, "unknown figure"),
        ({"key_cadres_under_42": {"lowest": 1}}, "unknown target fields"),
        ({"key_cadres_under_42": {"key": "other"}}, "cannot be changed"),
        ({"key_cadres_under_42": {"high": 20}}, "takes low only"),
        ({"women_party_committee": {"kind": "between", "low": 30, "high": 25}}, "above high"),
        ({"women_party_committee": {"low": 120}}, "between 0 and 100"),
        ({"women_party_committee": {"kind": "more_or_less"}}, "more_or_less"),
        ({"women_party_committee": {"confidence": "sure"}}, "confidence"),
    ],
)
def test_bad_configuration_is_refused(config: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve_definitions(config)


def test_a_definition_needs_the_bounds_of_its_kind() -> None:
    with pytest.raises(ValueError, match="both low and high"):
        TargetDefinition(key="x", label_vi="x", definition_vi="x", source="x", kind=TargetKind.BETWEEN, low=1)


# ---------------------------------------------------------------------------------------------
# Facts and drill-down
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("field", "value"),
    [("gender", "nam"), ("education_level", "bachelor"), ("political_theory", "cao cấp")],
)
def test_facts_with_values_outside_the_vocabulary_are_refused(field: str, value: str) -> None:
    facts: dict[str, Any] = {"gender": "male", "education_level": None, "political_theory": None, field: value}
    with pytest.raises(ValueError, match="CB0001"):
        CadreFacts(1, "CB0001", "A", 1, "U", None, None, None, ethnicity=None, is_science_technology=False, **facts)


def test_titles_from_a_query_become_a_frozenset() -> None:
    person = CadreFacts(1, "CB0001", "A", 1, "U", None, None, None, "male", None, None, False, None, {"key"})  # type: ignore[arg-type]

    assert person.titles == frozenset({"key"})
    assert hash(person)


def test_drilldown_lists_the_cadres_behind_a_figure_in_the_given_order() -> None:
    figure = compute_figure("non_local_commune_party_secretary", CADRES, TODAY)

    rows = drilldown(figure, CADRES)

    assert rows == [
        DrilldownRow(2, "CB0002", "Cán bộ 2", "Xã Tân Trào", counted=False),
        DrilldownRow(5, "CB0005", "Cán bộ 5", "Xã Minh Xuân", counted=True),
        DrilldownRow(8, "CB0008", "Cán bộ 8", "Phường Phan Thiết", counted=None),
    ]


# ---------------------------------------------------------------------------------------------
# Grades and the HTXSNV quota
# ---------------------------------------------------------------------------------------------
class Grade(StrEnum):
    HTXSNV = "HTXSNV"
    HTTNV = "HTTNV"


def test_grade_distribution_counts_every_grade_per_unit_and_month() -> None:
    results = [
        ((TAN_TRAO, "2026-05"), "HTTNV"),
        ((TAN_TRAO, "2026-05"), "HTXSNV"),
        ((MINH_XUAN, "2026-05"), "KHTNV"),
        ((TAN_TRAO, "2026-05"), Grade.HTTNV),
        ((TAN_TRAO, "2026-06"), Grade.HTXSNV),
    ]

    distribution = grade_distribution(results)

    assert list(distribution) == [(TAN_TRAO, "2026-05"), (MINH_XUAN, "2026-05"), (TAN_TRAO, "2026-06")]
    assert distribution[(TAN_TRAO, "2026-05")] == {"HTXSNV": 1, "HTTNV": 2, "HTNV": 0, "KHTNV": 0}
    assert distribution[(MINH_XUAN, "2026-05")] == {"HTXSNV": 0, "HTTNV": 0, "HTNV": 0, "KHTNV": 1}
    assert distribution[(TAN_TRAO, "2026-06")] == {"HTXSNV": 1, "HTTNV": 0, "HTNV": 0, "KHTNV": 0}
    assert list(distribution[(TAN_TRAO, "2026-06")]) == ["HTXSNV", "HTTNV", "HTNV", "KHTNV"]


def test_grade_distribution_from_counts_adds_the_rows_of_one_group() -> None:
    rows = [(TAN_TRAO, "HTTNV", 3), (MINH_XUAN, "KHTNV", 1), (TAN_TRAO, "HTTNV", 2), (TAN_TRAO, "HTXSNV", 1)]

    distribution = grade_distribution_from_counts(rows)

    assert distribution == {
        TAN_TRAO: {"HTXSNV": 1, "HTTNV": 5, "HTNV": 0, "KHTNV": 0},
        MINH_XUAN: {"HTXSNV": 0, "HTTNV": 0, "HTNV": 0, "KHTNV": 1},
    }
    expanded = itertools.chain.from_iterable([(unit, grade)] * n for unit, grade, n in rows)
    assert grade_distribution(expanded) == distribution
    with pytest.raises(ValueError, match="unknown grade"):
        grade_distribution_from_counts([(TAN_TRAO, "A", 2)])


def test_grade_distribution_refuses_an_unknown_grade() -> None:
    with pytest.raises(ValueError, match="xuất sắc"):
        grade_distribution([(TAN_TRAO, "xuất sắc")])


def test_grade_distribution_of_nothing_is_empty() -> None:
    assert grade_distribution([]) == {}


@pytest.mark.parametrize(
    ("httnv", "htxsnv", "ratio", "rounding", "allowed", "over_by", "demotions"),
    [
        (10, 3, 0.2, "floor", 2, 1, 1),  # the example
        (10, 2, 0.2, "floor", 2, 0, 0),
        (0, 0, 0.2, "floor", 0, 0, 0),  # nobody graded HTTNV: nothing allowed, nothing used
        (0, 1, 0.2, "floor", 0, 1, 1),
        (12, 3, 0.2, "floor", 2, 1, 1),  # 2.4
        (12, 3, 0.2, "ceil", 3, 0, 0),
        (12, 3, 0.2, "half_up", 2, 1, 1),
        (13, 3, 0.2, "half_up", 3, 0, 0),  # 2.6
        (15, 3, 0.2, "ceil", 3, 0, 0),  # 0.2 × 15 is 3.0000000000000004 in floats; must not become 4
        (10, 5, 0.2, "ceil", 2, 3, 2),  # demoting 2 makes 3 HTXSNV of 12 HTTNV, and ceil(2.4) = 3
        (10, 5, 0.2, "floor", 2, 3, 3),
        (8, 3, 0.25, "floor", 2, 1, 1),  # a province's own ratio
    ],
)
def test_htxsnv_quota_table(
    httnv: int, htxsnv: int, ratio: float, rounding: str, allowed: int, over_by: int, demotions: int
) -> None:
    counts = {"HTXSNV": htxsnv, "HTTNV": httnv, "HTNV": 4, "KHTNV": 1}

    check = htxsnv_quota_check(counts, ratio=ratio, rounding=rounding)

    assert (check.allowed, check.actual, check.over_by, check.demotions_needed) == (
        allowed,
        htxsnv,
        over_by,
        demotions,
    )
    assert check.is_within is (over_by == 0)


def test_quota_defaults_are_twenty_percent_rounded_down() -> None:
    check = htxsnv_quota_check({"HTTNV": 10, "HTXSNV": 3})

    assert (check.allowed, check.actual, check.over_by) == (2, 3, 1)


def test_quota_reads_a_grade_distribution_group() -> None:
    distribution = grade_distribution([(TAN_TRAO, "HTTNV")] * 10 + [(TAN_TRAO, "HTXSNV")] * 3)

    assert htxsnv_quota_check(distribution[TAN_TRAO]).over_by == 1


def test_quota_with_missing_grades_counts_them_as_zero() -> None:
    assert htxsnv_quota_check({}).is_within


@pytest.mark.parametrize(("kwargs", "message"), [({"rounding": "bankers"}, "rounding"), ({"ratio": -0.1}, "ratio")])
def test_quota_refuses_bad_settings(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        htxsnv_quota_check({"HTTNV": 10}, **kwargs)


# ---------------------------------------------------------------------------------------------
# Procedure timings
# ---------------------------------------------------------------------------------------------
T0 = datetime(2026, 5, 4, 8, 0)


def test_average_and_p90_per_process_step() -> None:
    rows: list[tuple[str, str, datetime, datetime | None]] = [
        ("bo_nhiem", "Hội nghị lần 1", T0, T0 + timedelta(days=d)) for d in (3, 1, 10, 2, 9, 4, 8, 5, 7, 6)
    ]
    rows += [
        ("luan_chuyen", "Lập kế hoạch", T0, T0 + timedelta(hours=5)),
        ("bo_nhiem", "Hội nghị lần 1", T0, None),  # still open: not a duration yet
        ("bo_nhiem", "Tờ trình", T0, None),  # only open rows: no line at all
    ]

    durations = average_step_durations(rows)

    assert [(d.process_id, d.step) for d in durations] == [
        ("bo_nhiem", "Hội nghị lần 1"),
        ("luan_chuyen", "Lập kế hoạch"),
    ]
    first, second = durations
    assert first.count == 10
    assert first.average == timedelta(days=5, hours=12)
    assert first.p90 == timedelta(days=9)  # nearest rank: the 9th of 10
    assert (second.count, second.average, second.p90) == (1, timedelta(hours=5), timedelta(hours=5))


def test_p90_nearest_rank_on_small_groups() -> None:
    rows = [("p", "s", T0, T0 + timedelta(minutes=m)) for m in (10, 20, 30)]

    (duration,) = average_step_durations(rows)

    assert duration.p90 == timedelta(minutes=30)
    assert duration.average == timedelta(minutes=20)


def test_a_step_closed_before_it_opened_is_a_data_error() -> None:
    with pytest.raises(ValueError, match="before it opened"):
        average_step_durations([("p", "s", T0, T0 - timedelta(seconds=1))])


def test_no_rows_no_durations() -> None:
    assert average_step_durations([]) == []


def test_overdue_tasks_per_unit_and_process() -> None:
    now = T0 + timedelta(days=10)
    rows = [
        (1, TAN_TRAO, "bo_nhiem", now - timedelta(days=1), None),  # open, overdue
        (2, TAN_TRAO, "bo_nhiem", now + timedelta(days=1), None),  # open, not yet due
        (3, TAN_TRAO, "bo_nhiem", now, None),  # due this very moment: not overdue yet
        (4, TAN_TRAO, "bo_nhiem", None, None),  # no deadline
        (5, TAN_TRAO, "bo_nhiem", T0, T0 + timedelta(days=2)),  # closed late
        (6, TAN_TRAO, "bo_nhiem", T0 + timedelta(days=2), T0),  # closed on time
        (7, MINH_XUAN, "bo_nhiem", now - timedelta(hours=1), None),
        (8, TAN_TRAO, "danh_gia", now - timedelta(days=3), None),
        (9, None, "danh_gia", None, now),
    ]

    counts = overdue_by_unit(rows, now)

    summary = [(c.unit_id, c.process_id, c.open_count, c.overdue_count, c.closed_late_count) for c in counts]
    assert summary == [
        (TAN_TRAO, "bo_nhiem", 4, 1, 1),
        (MINH_XUAN, "bo_nhiem", 1, 1, 0),
        (TAN_TRAO, "danh_gia", 1, 1, 0),
        (None, "danh_gia", 0, 0, 0),
    ]
    assert counts[0].overdue_task_ids == (1,)
    assert counts[2].overdue_task_ids == (8,)


# ---------------------------------------------------------------------------------------------
# How far from the target, and why each person counts
# ---------------------------------------------------------------------------------------------
def _definition(key: str, **fields: Any) -> TargetDefinition:
    return resolve_definitions({key: fields} if fields else None)[key]


@pytest.mark.parametrize(
    ("key", "counts", "fewest", "most", "text"),
    [
        # 19 of 25 non-local chairs, one chair's hometown unknown: 6 more if the unknown one is non-local, 7 if not.
        ("non_local_commune_pc_chair", FigureCounts(19, 25, 1), 6, 7, "6–7"),
        ("non_local_commune_pc_chair", FigureCounts(19, 25, 0), 6, 6, "6"),
        ("non_local_commune_pc_chair", FigureCounts(25, 25, 0), 0, 0, "0"),
        # Women 20–25% read as a floor: 20% of 37 seats is 7.4, so 8 women; 5 now, 3 more.
        ("women_party_committee", FigureCounts(5, 37, 0), 3, 3, "3"),
        # Exactly on the floor: 2 of 10 is 20%, nothing short (exact fractions, no float rounding).
        ("women_party_committee", FigureCounts(2, 10, 0), 0, 0, "0"),
        # Above the floor is never "short", even above the band's top.
        ("women_party_committee", FigureCounts(4, 10, 0), 0, 0, "0"),
        # Two unknown genders among 10: 2 women known; 20% of 12 is 2.4, so 3 — 1 more, or none if the two are women.
        ("women_party_committee", FigureCounts(2, 10, 2), 0, 1, "0–1"),
    ],
)
def test_people_short_of_the_targets_lower_bound(
    key: str, counts: FigureCounts, fewest: int, most: int, text: str
) -> None:
    short = people_short(_definition(key), counts)
    assert (short.fewest, short.most, short.unknown, short.text) == (fewest, most, counts.unknown, text)


def test_a_band_configured_by_the_province_is_short_to_its_lower_end() -> None:
    band = _definition("women_party_committee", kind="between", high=25)
    assert people_short(band, FigureCounts(1, 10, 0)).text == "1"
    assert people_short(band, FigureCounts(3, 10, 0)).text == "0"  # over the band's top: not short of it


def test_nobody_in_the_population_or_no_lower_bound_has_no_shortfall() -> None:
    assert people_short(_definition("non_local_commune_pc_chair"), FigureCounts()).text == "—"
    only_unknown = people_short(_definition("non_local_commune_pc_chair"), FigureCounts(0, 0, 3))
    assert (only_unknown.fewest, only_unknown.most) == (0, 3)
    ceiling = _definition("key_cadres_under_42", kind="at_most", low=None, high=30)
    assert people_short(ceiling, FigureCounts(5, 10, 0)).text == "—"


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (
            {"commune": TAN_TRAO, "hometown": MINH_XUAN},
            "Quê quán: Xã Minh Xuân; nơi công tác: Xã Tân Trào — khác đơn vị cấp xã",
        ),
        (
            {"commune": TAN_TRAO, "hometown": TAN_TRAO},
            "Quê quán: Xã Tân Trào; nơi công tác: Xã Tân Trào — cùng đơn vị cấp xã",
        ),
        (
            {"commune": TAN_TRAO, "hometown": None},
            "Quê quán: chưa ghi nhận hoặc không thuộc xã, phường, đặc khu của tỉnh; nơi công tác: Xã Tân Trào",
        ),
        (
            {"commune": None, "hometown": TAN_TRAO},
            "Quê quán: Xã Tân Trào; nơi công tác: không thuộc đơn vị cấp xã",
        ),
    ],
)
def test_the_non_local_basis_names_both_communes(facts: dict[str, Any], expected: str) -> None:
    chair = cadre(1, born=None, titles=(PC_CHAIR,), **facts)
    assert counting_basis("non_local_commune_pc_chair", chair, TODAY, UNIT_NAMES) == expected


def test_a_merged_hometown_is_named_as_recorded_and_as_today() -> None:
    former = 99
    chair = cadre(1, commune=TAN_TRAO, hometown=TAN_TRAO, born=None)
    text = counting_basis("non_local_commune_pc_chair", chair, TODAY, {**UNIT_NAMES, former: "Xã Cũ"}, former)
    assert text.startswith("Quê quán: Xã Cũ (nay thuộc Xã Tân Trào);") and text.endswith("cùng đơn vị cấp xã")


@pytest.mark.parametrize(
    ("key", "facts", "expected"),
    [
        ("women_party_committee", {"gender": "female"}, "Giới tính: Nữ"),
        ("women_party_committee", {"gender": "male"}, "Giới tính: Nam"),
        ("women_party_committee", {"gender": None}, "Giới tính: chưa ghi nhận"),
        (
            "key_cadres_under_42",
            {"born": date(1984, 6, 16)},
            "Ngày sinh 16/06/1984: 41 tuổi tại ngày 15/06/2026 (dưới 42 tuổi)",
        ),
        (
            "key_cadres_under_42",
            {"born": date(1984, 6, 15)},
            "Ngày sinh 15/06/1984: 42 tuổi tại ngày 15/06/2026 (không dưới 42 tuổi)",
        ),
        ("key_cadres_under_42", {"born": None}, "Ngày sinh: chưa ghi nhận"),
        ("leaders_masters", {"education": "thac_si"}, "Trình độ chuyên môn: Thạc sĩ"),
        ("leaders_masters", {"education": None}, "Trình độ chuyên môn: chưa ghi nhận"),
        (
            "university_science_technology",
            {"education": "dai_hoc", "science": True},
            "Trình độ chuyên môn: Đại học; thuộc lĩnh vực khoa học, công nghệ: có",
        ),
        ("leaders_political_theory_advanced", {"theory": "cao_cap"}, "Lý luận chính trị: Cao cấp"),
        ("leaders_political_theory_intermediate", {"theory": None}, "Lý luận chính trị: chưa ghi nhận"),
    ],
)
def test_the_basis_says_the_fact_each_figure_read(key: str, facts: dict[str, Any], expected: str) -> None:
    person = cadre(1, commune=TAN_TRAO, hometown=TAN_TRAO, **{"born": date(1980, 1, 1), **facts})
    assert counting_basis(key, person, TODAY, UNIT_NAMES) == expected


def test_every_figure_has_a_basis_and_an_unknown_figure_is_refused() -> None:
    person = cadre(1, commune=TAN_TRAO, hometown=MINH_XUAN, born=date(1990, 1, 1))
    assert all(counting_basis(key, person, TODAY, UNIT_NAMES) for key in FIGURE_KEYS)
    with pytest.raises(ValueError, match="unknown figure"):
        counting_basis("no_such_figure", person, TODAY, UNIT_NAMES)


@pytest.mark.parametrize(
    ("value", "decimals", "written"),
    [
        (72.35, 1, "72,4"),  # the chart beside a table reading 72,35 (a float just below the half)
        (98.25, 1, "98,3"),
        (12.5, 1, "12,5"),
        (100.0, 1, "100"),
        (-0.04, 1, "0"),
        (66.666, 2, "66,67"),
        (6.5, 0, "7"),
        (float("nan"), 1, "—"),
        (None, 1, "—"),
    ],
)
def test_numbers_are_rounded_as_written(value: float | None, decimals: int, written: str) -> None:
    assert format_number(value, decimals) == written
