"""`workflows.rules.units`: which unit type may sit directly under which (two-level local government), and its
settings as configuration."""

from __future__ import annotations

import pytest

from workflows.errors import Invalid
from workflows.registry.demo import FORMER_COMMUNES, PROVINCE_CODE, _unit_specs
from workflows.registry.models import UnitType
from workflows.rules.units import DEFAULT_POLICY, UnitPolicy, child_types, may_hold


@pytest.mark.parametrize(
    ("parent", "child", "allowed"),
    [
        # The province holds its communes and its own bodies (domain rules §0).
        ("province", "commune", True),
        ("province", "ward", True),
        ("province", "special_zone", True),
        ("province", "party_committee", True),
        ("province", "peoples_committee", True),
        ("province", "department", True),
        # No province under a province, nor under anything else.
        ("province", "province", False),
        ("commune", "province", False),
        ("department", "province", False),
        # A commune holds its own bodies, not another commune: there is no district level.
        ("commune", "party_committee", True),
        ("ward", "peoples_committee", True),
        ("special_zone", "mass_organisation", True),
        ("commune", "commune", False),
        ("ward", "commune", False),
        ("commune", "special_zone", False),
        # Bodies hold bodies below them, never a level of administration.
        ("peoples_committee", "department", True),
        ("party_committee", "party_body", True),
        ("peoples_committee", "commune", False),
        ("department", "ward", False),
        ("party_body", "province", False),
        # A type the tree does not know holds nothing and sits nowhere.
        ("kingdom", "department", False),
        ("province", "kingdom", False),
    ],
)
def test_the_default_tree(parent: str, child: str, allowed: bool) -> None:
    assert may_hold(parent, child) is allowed


def test_every_unit_type_is_in_the_default_tree_somewhere() -> None:
    held = {kind for kinds in DEFAULT_POLICY.allowed_children.values() for kind in kinds}
    assert held | {UnitType.PROVINCE} == {kind.value for kind in UnitType}
    assert set(DEFAULT_POLICY.allowed_children) == {kind.value for kind in UnitType}


def test_the_demo_province_fits_the_default_tree() -> None:
    """`canbo demo load` writes its units directly; they follow the same tree the administrators' pages enforce."""
    types = {spec.code: str(spec.unit_type) for spec in _unit_specs()}
    for spec in _unit_specs():
        if spec.code == PROVINCE_CODE:
            assert not spec.parent
            continue
        assert may_hold(types[spec.parent], str(spec.unit_type)), spec.code
    for code, _name, unit_type, _into in FORMER_COMMUNES:
        assert may_hold(types[PROVINCE_CODE], str(unit_type)), code


def test_a_parent_type_given_replaces_its_list_and_the_others_keep_theirs() -> None:
    policy = UnitPolicy.from_mapping({"allowed_children": {"province": ["province", "commune"]}})
    assert may_hold("province", "province", policy)
    assert not may_hold("province", "department", policy)
    assert may_hold("commune", "department", policy)
    assert UnitPolicy.from_mapping(policy.to_mapping()) == policy
    assert UnitPolicy.from_mapping({}) == DEFAULT_POLICY


@pytest.mark.parametrize(
    ("settings", "fields"),
    [
        ({"allowed_children": {"province": ["kingdom"]}}, {"allowed_children.province.kingdom"}),
        ({"allowed_children": {"district": ["commune"]}}, {"allowed_children.district"}),
        ({"allowed_children": {"province": "commune"}}, {"allowed_children.province"}),
        ({"allowed_children": ["province"]}, {"allowed_children"}),
        ({"children": {}}, {"children"}),
    ],
)
def test_a_bad_setting_is_refused_naming_it(settings: dict, fields: set[str]) -> None:
    with pytest.raises(Invalid) as refused:
        UnitPolicy.from_mapping(settings)
    assert {problem.field for problem in refused.value.problems} == fields


def test_the_types_a_unit_may_hold_are_those_may_hold_allows() -> None:
    """What the add-unit page offers under a unit (`child_types`) is what the service then accepts (`may_hold`)."""
    kinds = [kind.value for kind in UnitType]
    policy = UnitPolicy.from_mapping({"allowed_children": {"department": []}})
    for tree in (DEFAULT_POLICY, policy):
        for parent in [*kinds, "kingdom"]:
            assert set(child_types(parent, tree)) == {child for child in kinds if may_hold(parent, child, tree)}
    assert child_types("province") == (
        "commune",
        "ward",
        "special_zone",
        "party_committee",
        "peoples_committee",
        "party_body",
        "department",
        "mass_organisation",
    )
    assert child_types("department", policy) == () and child_types("kingdom") == ()
