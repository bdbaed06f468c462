"""Which commune a unit is in, and which commune a place recorded before the 2025 mergers is today."""

from __future__ import annotations

from datetime import date

import pytest

from workflows.rules.communes import MAX_SUCCESSION_STEPS, UnitNode, commune_of, current_commune, successor_of

TODAY = date(2026, 6, 15)
MERGER = date(2025, 7, 1)

# Province 1. Today's communes: Tân Trào (10, with its people's committee 11 and a department 12 below that) and
# Phan Thiết ward (20). Former communes: Kim Bình (30) and Kim Quan (31) merged into Tân Trào on 1/7/2025; Hòa An
# (40) merged into Kim Quan back in 2020, so it reaches Tân Trào in two steps; Hòa An's people's committee (41)
# stayed under it. Minh Khai (50) will merge into Phan Thiết only next year. A provincial department (2).
UNITS = {
    u.id: u
    for u in (
        UnitNode(1, "province"),
        UnitNode(2, "department", (1,)),
        UnitNode(10, "commune", (1,)),
        UnitNode(11, "peoples_committee", (1, 10)),
        UnitNode(12, "department", (1, 10, 11)),
        UnitNode(20, "ward", (1,)),
        UnitNode(30, "commune", (1,), merged_into_id=10, merged_on=MERGER),
        UnitNode(31, "commune", (1,), merged_into_id=10, merged_on=MERGER),
        UnitNode(40, "commune", (1,), merged_into_id=31, merged_on=date(2020, 1, 1)),
        UnitNode(41, "peoples_committee", (1, 40)),
        UnitNode(50, "commune", (1,), merged_into_id=20, merged_on=date(2027, 1, 1)),
    )
}


@pytest.mark.parametrize(
    ("unit", "commune"),
    [(10, 10), (11, 10), (12, 10), (20, 20), (41, 40), (30, 30), (1, None), (2, None), (None, None), (999, None)],
)
def test_the_commune_a_unit_is_in(unit: int | None, commune: int | None) -> None:
    assert commune_of(unit, UNITS) == commune


@pytest.mark.parametrize(
    ("unit", "successor"),
    [(10, 10), (30, 10), (40, 10), (41, 41), (50, 50), (None, None), (999, None)],
)
def test_successors_follow_mergers_that_have_taken_effect(unit: int | None, successor: int | None) -> None:
    assert successor_of(unit, UNITS, TODAY) == successor


@pytest.mark.parametrize(
    ("hometown", "today_commune"),
    [
        (10, 10),  # today's commune
        (12, 10),  # a body of today's commune
        (30, 10),  # merged in 2025
        (31, 10),
        (40, 10),  # merged twice
        (41, 10),  # a body of a commune merged twice: its commune, then that commune's successors
        (50, 50),  # its merger has not happened yet
        (20, 20),
        (2, None),  # province level: no commune
        (None, None),
        (999, None),
    ],
)
def test_a_hometown_counts_as_the_commune_it_is_today(hometown: int | None, today_commune: int | None) -> None:
    assert current_commune(hometown, UNITS, TODAY) == today_commune


def test_a_merger_counts_from_its_day() -> None:
    assert current_commune(30, UNITS, MERGER - date.resolution) == 30
    assert current_commune(30, UNITS, MERGER) == 10
    assert current_commune(50, UNITS, date(2027, 1, 1)) == 20


def test_a_merger_without_a_date_always_applies() -> None:
    units = {**UNITS, 60: UnitNode(60, "commune", (1,), merged_into_id=20)}
    assert current_commune(60, units, date(1990, 1, 1)) == 20


def test_a_loop_of_mergers_is_unknown_not_an_endless_loop() -> None:
    units = {
        **UNITS,
        70: UnitNode(70, "commune", (1,), merged_into_id=71),
        71: UnitNode(71, "commune", (1,), merged_into_id=72),
        72: UnitNode(72, "commune", (1,), merged_into_id=70),
        73: UnitNode(73, "commune", (1,), merged_into_id=73),
        74: UnitNode(74, "peoples_committee", (1, 73)),
    }
    for unit in (70, 71, 72, 73, 74):
        assert successor_of(unit, units, TODAY) in (None, 74)
        assert current_commune(unit, units, TODAY) is None


def test_a_commune_merged_into_a_body_of_itself_is_unknown() -> None:
    units = {
        **UNITS,
        80: UnitNode(80, "commune", (1,), merged_into_id=81),
        81: UnitNode(81, "peoples_committee", (1, 80)),
    }
    assert successor_of(80, units, TODAY) == 81
    assert current_commune(80, units, TODAY) is None


def test_a_merger_into_a_unit_not_known_is_unknown() -> None:
    units = {**UNITS, 90: UnitNode(90, "commune", (1,), merged_into_id=12345)}
    assert successor_of(90, units, TODAY) is None
    assert current_commune(90, units, TODAY) is None


def test_chains_up_to_the_limit_resolve_and_longer_ones_do_not() -> None:
    def chain(length: int) -> dict[int, UnitNode]:
        # 100 → 101 → … → 100 + length, the last one standing.
        links = {100 + i: UnitNode(100 + i, "commune", (1,), merged_into_id=101 + i) for i in range(length)}
        return {**UNITS, **links, 100 + length: UnitNode(100 + length, "commune", (1,))}

    assert current_commune(100, chain(MAX_SUCCESSION_STEPS), TODAY) == 100 + MAX_SUCCESSION_STEPS
    assert successor_of(100, chain(MAX_SUCCESSION_STEPS + 1), TODAY) is None
    assert current_commune(100, chain(MAX_SUCCESSION_STEPS + 1), TODAY) is None
