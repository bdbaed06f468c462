"""Which kind of org unit may sit directly under which: the organisation tree of two-level local government.

Since 01/7/2025 there is no district level: a province holds its own bodies and its communes (xã, phường, đặc khu),
and a commune holds its own bodies (domain rules §0 [V] S54). How the bodies divide further (a Sở's divisions, the
party committees directly under the Tỉnh ủy, the mass organisations gathered under the Front) is [U], so the whole
table is configuration (`UnitPolicy`, UNIT_POLICY); its default is the tree of domain rules §0.

Pure functions of plain data: unit types are the `UnitType` values as strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from workflows.errors import N_, Problem
from workflows.registry.models import UnitType
from workflows.rules.settings import KEEP_DEFAULT, check_settings, merged_settings

__all__ = ["DEFAULT_ALLOWED_CHILDREN", "DEFAULT_POLICY", "UnitPolicy", "child_types", "may_hold"]

_T = UnitType
_COMMUNE_LEVEL = (_T.COMMUNE, _T.WARD, _T.SPECIAL_ZONE)
_BODIES = (_T.PARTY_COMMITTEE, _T.PEOPLES_COMMITTEE, _T.PARTY_BODY, _T.DEPARTMENT, _T.MASS_ORGANISATION)

# parent type → the types that may sit directly under it; a type not listed holds nothing.
DEFAULT_ALLOWED_CHILDREN: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        # domain rules §0 [V] S54: the province → its communes, wards and special zones, and its own bodies.
        _T.PROVINCE: (*_COMMUNE_LEVEL, *_BODIES),
        # domain rules §0 [V] S54 / [U] for the exact bodies: a commune-level unit → its own bodies only.
        **{kind: _BODIES for kind in _COMMUNE_LEVEL},
        # [U] domain rules §0: a party committee → committees under it (đảng ủy trực thuộc), its boards and office.
        _T.PARTY_COMMITTEE: (_T.PARTY_COMMITTEE, _T.PARTY_BODY, _T.DEPARTMENT),
        # [U]: a people's committee → its departments (sở; the commune's specialised offices).
        _T.PEOPLES_COMMITTEE: (_T.DEPARTMENT,),
        # [U]: a party board or a department → its divisions (phòng).
        _T.PARTY_BODY: (_T.DEPARTMENT,),
        _T.DEPARTMENT: (_T.DEPARTMENT,),
        # [U]: the Front → the mass organisations gathered under it in 2025, and its divisions.
        _T.MASS_ORGANISATION: (_T.MASS_ORGANISATION, _T.DEPARTMENT),
    }
)

_SETTINGS_INVALID = N_("the unit settings are not valid")


def _plain_children(children: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    return {str(parent): tuple(str(kind) for kind in kinds) for parent, kinds in children.items()}


@dataclass(frozen=True)
class UnitPolicy:
    """The configurable rules of the org tree. `allowed_children` maps a unit type to the types that may be created
    directly under it (or that a unit under it may be changed to); in configuration, each parent type given replaces
    that type's list and the others keep their defaults."""

    allowed_children: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: _plain_children(DEFAULT_ALLOWED_CHILDREN)
    )

    def __post_init__(self) -> None:
        check_settings(self, _policy_problems, _SETTINGS_INVALID)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> UnitPolicy:
        """Settings as JSON (admin configuration); every bad value is reported, not only the first."""
        merged = merged_settings(DEFAULT_POLICY, values, _policy_problems, _SETTINGS_INVALID, _convert)
        return cls(**merged)

    def to_mapping(self) -> dict[str, Any]:
        """JSON-ready settings; `from_mapping(p.to_mapping()) == p`."""
        return {"allowed_children": {parent: list(kinds) for parent, kinds in self.allowed_children.items()}}


def _convert(name: str, value: Any, default: Any) -> tuple[Any, list[Problem]]:
    """`allowed_children` given in configuration is merged over the default table, one parent type at a time."""
    if not isinstance(value, Mapping):
        return KEEP_DEFAULT, [Problem("expected an object of settings", field=name)]
    problems = []
    merged = dict(default)
    for parent, kinds in value.items():
        if not isinstance(kinds, list | tuple) or not all(isinstance(kind, str) for kind in kinds):
            problems.append(Problem("expected a list", field=f"{name}.{parent}"))
            continue
        merged[str(parent)] = tuple(kinds)
    return merged, problems


def _policy_problems(values: Mapping[str, Any]) -> list[Problem]:
    known = {kind.value for kind in UnitType}
    children = values["allowed_children"]
    if not isinstance(children, Mapping):
        return [Problem("expected an object of settings", field="allowed_children")]
    problems = []
    for parent, kinds in children.items():
        where = f"allowed_children.{parent}"
        if parent not in known:
            problems.append(Problem("unknown value", field=where))
        if not isinstance(kinds, list | tuple):
            problems.append(Problem("expected a list", field=where))
            continue
        problems.extend(Problem("unknown value", field=f"{where}.{kind}") for kind in kinds if kind not in known)
    return problems


DEFAULT_POLICY = UnitPolicy()


# domain rules §0 [V] S54 (two-level local government: province → its bodies and communes; commune → its bodies).
def may_hold(parent_type: str, child_type: str, policy: UnitPolicy = DEFAULT_POLICY) -> bool:
    """Whether a unit of `child_type` may sit directly under a unit of `parent_type`."""
    return child_type in child_types(parent_type, policy)


def child_types(parent_type: str, policy: UnitPolicy = DEFAULT_POLICY) -> tuple[str, ...]:
    """The unit types that may sit directly under a unit of `parent_type` (none: it holds no units)."""
    return tuple(policy.allowed_children.get(parent_type, ()))
