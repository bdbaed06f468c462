"""Org unit changes at the service: the refusals that keep the tree and the people in it consistent."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows.db import transaction
from workflows.errors import Invalid, NotAllowed
from workflows.models import AuditEvent
from workflows.registry.models import OrgUnit
from workflows.registry.units import (
    create_top_unit,
    create_unit,
    in_tree_order,
    merge_unit,
    same_named_sibling,
    update_unit,
)
from workflows.rules.units import UnitPolicy


def _id(session: Session, code: str) -> int:
    unit_id = session.scalar(select(OrgUnit.id).where(OrgUnit.code == code))
    assert unit_id is not None
    return unit_id


def _fields(error: Invalid) -> set[str | None]:
    return {problem.field for problem in error.problems}


def test_a_unit_cannot_merge_into_a_unit_below_it_nor_while_units_below_are_active(driver: WorkflowDriver) -> None:
    with driver.session_factory() as s, transaction(s):
        admin = driver.user(s, "admin")
        parent = create_unit(s, admin, parent_id=_id(s, "T01"), code="H01", name="Huyện cũ", unit_type="commune")
        child = create_unit(s, admin, parent_id=parent.id, code="H01-A", name="Đảng ủy", unit_type="party_committee")
        ids = parent.id, child.id
    with driver.session_factory() as s, pytest.raises(Invalid) as refused:
        merge_unit(s, driver.user(s, "admin"), ids[0], into_id=ids[1], merged_on=date(2025, 7, 1))
    assert "into_id" in _fields(refused.value)
    assert any("below this one are still active" in p.message for p in refused.value.problems)


def test_nothing_is_created_under_a_merged_unit(driver: WorkflowDriver) -> None:
    with driver.session_factory() as s, transaction(s):
        admin = driver.user(s, "admin")
        gone = create_unit(s, admin, parent_id=_id(s, "T01"), code="X008", name="Xã cũ", unit_type="commune")
        merge_unit(s, admin, gone.id, into_id=_id(s, "X001"), merged_on=date(2025, 7, 1))
        gone_id = gone.id
    with driver.session_factory() as s, pytest.raises(Invalid) as refused:
        create_unit(s, driver.user(s, "admin"), parent_id=gone_id, code="X008-A", name="Thôn", unit_type="commune")
    assert "parent_id" in _fields(refused.value)
    with driver.session_factory() as s, pytest.raises(Invalid):
        merge_unit(s, driver.user(s, "admin"), gone_id, into_id=_id(s, "X002"), merged_on=date(2025, 8, 1))


def test_only_an_administrator_over_the_unit_changes_it(driver: WorkflowDriver) -> None:
    with driver.session_factory() as s, pytest.raises(NotAllowed):
        create_unit(s, driver.user(s, "head1"), parent_id=_id(s, "X001"), code="X001-Z", name="Tổ", unit_type="commune")


@pytest.mark.parametrize("code", ["²", "٣", "１", "-1", "ß", "X.1", "X/1"])
def test_a_code_is_ascii_letters_digits_and_separators(driver: WorkflowDriver, code: str) -> None:
    with driver.session_factory() as s, pytest.raises(Invalid) as refused:
        create_unit(
            s, driver.user(s, "admin"), parent_id=_id(s, "X001"), code=code, name="Thôn", unit_type="department"
        )
    assert _fields(refused.value) == {"code"}


def test_control_characters_are_no_name(driver: WorkflowDriver) -> None:
    with driver.session_factory() as s, pytest.raises(Invalid) as refused:
        create_unit(
            s,
            driver.user(s, "admin"),
            parent_id=_id(s, "X001"),
            code="X001-T1",
            name="\x00\x07",
            unit_type="department",
        )
    assert _fields(refused.value) == {"name"}
    with driver.session_factory() as s, transaction(s):
        unit = create_unit(
            s,
            driver.user(s, "admin"),
            parent_id=_id(s, "X001"),
            code="x001-t_1",
            name="Thôn\x00 1",
            unit_type="department",
        )
        assert (unit.code, unit.name) == ("X001-T_1", "Thôn 1")


def _unit(unit_id: int, parent_id: int | None, name: str, path: str) -> OrgUnit:
    return OrgUnit(id=unit_id, code=f"U{unit_id}", name=name, unit_type="xa", parent_id=parent_id, path=path)


def test_units_in_tree_order_put_each_unit_directly_under_its_parent() -> None:
    """A picker lists a commune's party committee under the commune, not after every unit of the commune's depth
    (ordering by the ancestors' path does that); siblings by name; a unit without its parent in the list starts a
    tree of its own."""
    province = _unit(1, None, "Tỉnh", "/")
    commune_b = _unit(2, 1, "Xã Bình Hải", "/1/")
    commune_a = _unit(3, 1, "Xã An Phú", "/1/")
    committee_a = _unit(4, 3, "Ủy ban nhân dân xã An Phú", "/1/3/")
    party_a = _unit(5, 3, "Đảng ủy xã An Phú", "/1/3/")
    inspection_a = _unit(6, 5, "Ủy ban Kiểm tra Đảng ủy xã An Phú", "/1/3/5/")
    party_b = _unit(7, 2, "Đảng ủy xã Bình Hải", "/1/2/")
    orphan = _unit(8, 99, "Phòng ngoài phạm vi", "/99/")
    by_path = [province, commune_b, commune_a, committee_a, party_a, party_b, inspection_a, orphan]
    ordered = in_tree_order(by_path)
    assert [(unit.id, depth) for unit, depth in ordered] == [
        (8, 0),
        (1, 0),
        (3, 1),
        (5, 2),
        (6, 3),
        (4, 2),
        (2, 1),
        (7, 2),
    ]


def test_a_sibling_of_the_same_name_is_found_as_a_person_reads_names() -> None:
    """Case, marks and spacing do not make another name; a merged sibling no longer holds its name."""
    active = _unit(2, 1, "Xã An Phú", "/1/")
    merged = _unit(3, 1, "Xã Bình Hải", "/1/")
    merged.is_active = False
    other = _unit(4, 1, "Phường An Phú", "/1/")
    active.is_active = other.is_active = True
    siblings = [active, merged, other]
    assert same_named_sibling("  xã  an PHU ", siblings) is active
    assert same_named_sibling("Xã Bình Hải", siblings) is None
    assert same_named_sibling("Xã An Phước", siblings) is None


def _names_under(session: Session, parent_id: int) -> list[str]:
    return sorted(session.scalars(select(OrgUnit.name).where(OrgUnit.parent_id == parent_id)))


def test_a_second_unit_of_one_name_under_one_parent_is_refused_naming_the_first(driver: WorkflowDriver) -> None:
    with driver.session_factory() as s:
        province = _id(s, "T01")
        before = _names_under(s, province)
    with driver.session_factory() as s, pytest.raises(Invalid) as refused:
        create_unit(s, driver.user(s, "admin"), parent_id=province, code="X050", name="xã  an phu", unit_type="commune")
    taken = [p for p in refused.value.problems if p.field == "name"]
    assert len(taken) == 1 and taken[0].message_args == {"name": "Xã An Phú", "code": "X001"}
    assert '"Xã An Phú" (code X001)' in taken[0].explained
    with driver.session_factory() as s:
        assert _names_under(s, province) == before
    # The same name under another parent is another unit.
    with driver.session_factory() as s, transaction(s):
        create_unit(
            s,
            driver.user(s, "admin"),
            parent_id=_id(s, "X002"),
            code="X002-AP",
            name="Xã An Phú",
            unit_type="department",
        )


def test_a_merged_units_name_may_be_taken_again(driver: WorkflowDriver) -> None:
    with driver.session_factory() as s, transaction(s):
        admin = driver.user(s, "admin")
        gone = create_unit(s, admin, parent_id=_id(s, "T01"), code="X008", name="Xã Kim Bình", unit_type="commune")
        merge_unit(s, admin, gone.id, into_id=_id(s, "X001"), merged_on=date(2025, 7, 1))
    with driver.session_factory() as s, transaction(s):
        again = create_unit(
            s, driver.user(s, "admin"), parent_id=_id(s, "T01"), code="X009", name="Xã Kim Bình", unit_type="commune"
        )
        assert again.is_active


def test_a_rename_onto_a_siblings_name_is_refused_and_a_type_change_alone_is_not(driver: WorkflowDriver) -> None:
    with driver.session_factory() as s, pytest.raises(Invalid) as refused:
        update_unit(s, driver.user(s, "admin"), _id(s, "X002"), name="XÃ AN PHÚ", unit_type="ward")
    assert _fields(refused.value) == {"name"}
    with driver.session_factory() as s:
        assert s.scalar(select(OrgUnit.name).where(OrgUnit.code == "X002")) == "Phường Bình Minh"
    with driver.session_factory() as s, transaction(s):
        unit = update_unit(s, driver.user(s, "admin"), _id(s, "X001"), name="Xã  An Phú", unit_type="ward")
        assert (unit.name, unit.unit_type) == ("Xã An Phú", "ward")


def test_every_problem_of_a_new_unit_is_reported_at_once(driver: WorkflowDriver) -> None:
    with driver.session_factory() as s, pytest.raises(Invalid) as refused:
        create_unit(s, driver.user(s, "admin"), parent_id=None, code="X.1", name=" ", unit_type="kingdom")
    assert _fields(refused.value) == {"parent_id", "code", "name", "unit_type"}


def _count_units_and_events(session: Session) -> tuple[int, int]:
    units = session.scalar(select(func.count()).select_from(OrgUnit)) or 0
    events = session.scalar(select(func.count()).where(AuditEvent.chain_key.like("unit:%"))) or 0
    return units, events


@pytest.mark.parametrize(
    ("parent", "unit_type"),
    [("T01", "province"), ("X001", "province"), ("X001", "commune"), ("X002", "ward"), ("T01-BTC", "commune")],
)
def test_a_unit_type_the_tree_does_not_allow_under_its_parent_is_refused_naming_both(
    driver: WorkflowDriver, parent: str, unit_type: str
) -> None:
    with driver.session_factory() as s:
        before = _count_units_and_events(s)
        parent_type = s.scalar(select(OrgUnit.unit_type).where(OrgUnit.code == parent))
    with driver.session_factory() as s, pytest.raises(Invalid) as refused:
        create_unit(s, driver.user(s, "admin"), parent_id=_id(s, parent), code="N01", name="Mới", unit_type=unit_type)
    assert _fields(refused.value) == {"unit_type"}
    (problem,) = refused.value.problems
    assert problem.message_args == {"unit_type": unit_type, "parent_type": parent_type}
    assert f"type {unit_type} cannot sit directly under a unit of type {parent_type}" in problem.explained
    with driver.session_factory() as s:
        assert _count_units_and_events(s) == before


def test_the_tree_is_the_policys(driver: WorkflowDriver) -> None:
    policy = UnitPolicy.from_mapping({"allowed_children": {"province": ["province"]}})
    with driver.session_factory() as s, transaction(s):
        unit = create_unit(
            s, driver.user(s, "admin"), parent_id=_id(s, "T01"), code="T02", name="Tỉnh mới", unit_type="province",
            policy=policy,
        )  # fmt: skip
        assert unit.unit_type == "province"
    with driver.session_factory() as s, pytest.raises(Invalid) as refused:
        create_unit(
            s, driver.user(s, "admin"), parent_id=_id(s, "T01"), code="X090", name="Xã mới", unit_type="commune",
            policy=policy,
        )  # fmt: skip
    assert _fields(refused.value) == {"unit_type"}


def test_a_type_change_is_held_to_the_tree_above_and_below_the_unit(driver: WorkflowDriver) -> None:
    with driver.session_factory() as s, transaction(s):
        admin = driver.user(s, "admin")
        create_unit(s, admin, parent_id=_id(s, "X001"), code="X001-DU", name="Đảng ủy xã", unit_type="party_committee")
        create_unit(s, admin, parent_id=_id(s, "X001"), code="X001-UB", name="UBND xã", unit_type="peoples_committee")
    with driver.session_factory() as s:
        before = _count_units_and_events(s)
    # A commune made a province: no province under the province.
    with driver.session_factory() as s, pytest.raises(Invalid) as refused:
        update_unit(s, driver.user(s, "admin"), _id(s, "X002"), name="Phường Bình Minh", unit_type="province")
    (problem,) = refused.value.problems
    assert problem.field == "unit_type"
    assert problem.message_args == {"unit_type": "province", "parent_type": "province"}
    # A commune made a department: its party committee and people's committee cannot stay below a department.
    with driver.session_factory() as s, pytest.raises(Invalid) as refused:
        update_unit(s, driver.user(s, "admin"), _id(s, "X001"), name="Xã An Phú", unit_type="department")
    below = {problem.message_args["unit_type"]: problem.message_args for problem in refused.value.problems}
    assert _fields(refused.value) == {"unit_type"}
    assert set(below) == {"party_committee", "peoples_committee"}
    assert below["party_committee"] == {
        "parent_type": "department",
        "unit_type": "party_committee",
        "units": "Đảng ủy xã",
    }
    with driver.session_factory() as s:
        assert _count_units_and_events(s) == before
        assert s.scalar(select(OrgUnit.unit_type).where(OrgUnit.code == "X001")) == "commune"
    # A commune made a ward keeps its bodies.
    with driver.session_factory() as s, transaction(s):
        assert update_unit(s, driver.user(s, "admin"), _id(s, "X001"), name="Phường An Phú", unit_type="ward")


def test_a_unit_placed_before_the_rule_is_renamed_without_its_type_checked_again(driver: WorkflowDriver) -> None:
    with driver.session_factory() as s, transaction(s):
        x001 = s.scalar(select(OrgUnit).where(OrgUnit.code == "X001"))
        assert x001 is not None
        s.add(
            OrgUnit(
                code="X001-C", name="Thôn cũ", unit_type="commune", parent_id=x001.id, path=f"{x001.path}{x001.id}/"
            )
        )
    with driver.session_factory() as s, transaction(s):
        renamed = update_unit(s, driver.user(s, "admin"), _id(s, "X001-C"), name="Thôn Mới", unit_type="commune")
        assert renamed.name == "Thôn Mới"


def test_a_fresh_install_gets_one_top_unit_checked_as_any_unit(session: Session) -> None:
    """`canbo units create-root` (decision 0107): the code, name and type checked as for any unit, all at once."""
    with pytest.raises(Invalid) as refused:
        create_top_unit(session, code="T 01", name="  ", unit_type="kingdom")
    assert _fields(refused.value) == {"code", "name", "unit_type"}
    assert session.scalar(select(func.count()).select_from(OrgUnit)) == 0
    with transaction(session):
        top = create_top_unit(session, code="t01", name="  Tỉnh   Sơn Hà ", unit_type="province")
    assert (top.code, top.name, top.parent_id, top.path) == ("T01", "Tỉnh Sơn Hà", None, "/")
    (event,) = session.scalars(select(AuditEvent).where(AuditEvent.chain_key == f"unit:{top.id}"))
    assert event.event_type == "unit_created" and event.actor_id is None
    # Units are then added under it as always; a second top is refused, naming the first.
    with pytest.raises(Invalid) as second:
        create_top_unit(session, code="T02", name="Tỉnh khác")
    assert [p.message_args for p in second.value.problems] == [{"code": "T01", "name": "Tỉnh Sơn Hà"}]
    with pytest.raises(Invalid) as taken:
        create_top_unit(session, code="T01", name="Tỉnh khác")
    assert _fields(taken.value) == {None, "code"}
    assert session.scalar(select(func.count()).select_from(OrgUnit)) == 1
