"""Which commune a unit is in, and which commune a unit recorded years ago is today.

The 2025 reform merged communes (two-level local government from 01/7/2025, domain rules §0 [V] S54), so a hometown
recorded before it may name a commune that no longer exists. Such a unit points to the unit it was merged into
(`OrgUnit.merged_into_id`, from `merged_on`); following those links leads to today's commune.

Pure functions of plain data: the caller passes the units (`UnitNode`) and the day.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

__all__ = ["COMMUNE_TYPES", "MAX_SUCCESSION_STEPS", "UnitNode", "commune_of", "current_commune", "successor_of"]

# The commune level of the two-level model: xã, phường, đặc khu (domain rules §0 [V] S54).
COMMUNE_TYPES = frozenset({"commune", "ward", "special_zone"})

# A merger chain longer than this is a data error (a province merged its communes once or twice, not sixteen times).
MAX_SUCCESSION_STEPS = 16


@dataclass(frozen=True)
class UnitNode:
    """One org unit as these rules see it. `ancestors` are the ids above it, the province first ('/1/7/' → (1, 7))."""

    id: int
    unit_type: str
    ancestors: tuple[int, ...] = ()
    merged_into_id: int | None = None
    merged_on: date | None = None  # None: the merger's date is not recorded; the link applies whatever the day


def commune_of(unit_id: int | None, units: Mapping[int, UnitNode]) -> int | None:
    """The commune-level unit that is `unit_id` or lies above it; None at province level or for an unknown unit."""
    node = units.get(unit_id) if unit_id is not None else None
    if node is None:
        return None
    for candidate in (node.id, *reversed(node.ancestors)):
        found = units.get(candidate)
        if found is not None and found.unit_type in COMMUNE_TYPES:
            return candidate
    return None


def successor_of(unit_id: int | None, units: Mapping[int, UnitNode], today: date) -> int | None:
    """The unit that `unit_id` has become by `today`, following merger links that have taken effect.

    A unit that was not merged is its own successor. A chain that loops back on itself, runs longer than
    MAX_SUCCESSION_STEPS or leads to a unit not in `units` gives None: the unit it ends in is unknown, and unknown
    facts are not guessed (the figures list such cadres apart)."""
    if unit_id is None or unit_id not in units:
        return None
    seen = {unit_id}
    current = units[unit_id]
    for _step in range(MAX_SUCCESSION_STEPS + 1):
        target = current.merged_into_id
        if target is None or (current.merged_on is not None and current.merged_on > today):
            return current.id
        if target in seen or target not in units:
            return None
        seen.add(target)
        current = units[target]
    return None


# Non-local rule: Bí thư, Chủ tịch UBND, Chủ nhiệm UBKT cấp xã "không là người địa phương" (seed 000 NQ 06-NQ/TU mục
# II.3; seed 001 NQ 05-NQ/TU Lai Châu mục II.2.1; seed 002 Hưng Yên mục III.5): a hometown counts as today's commune.
def current_commune(unit_id: int | None, units: Mapping[int, UnitNode], today: date) -> int | None:
    """Today's commune of a recorded place (a hometown): the unit's successor, then the commune it is in, then that
    commune's own successor if the commune itself was merged, until a commune that still stands. None when the
    place is above commune level, unknown, or its merger links are broken (a loop or an over-long chain)."""
    seen: set[int] = set()
    current = unit_id
    for _step in range(MAX_SUCCESSION_STEPS + 1):
        current = commune_of(successor_of(current, units, today), units)
        if current is None or current in seen:
            return None
        node = units[current]
        if node.merged_into_id is None or (node.merged_on is not None and node.merged_on > today):
            return current
        seen.add(current)
    return None
