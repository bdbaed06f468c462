"""`workflows.access.visible_units` / `units_under_roles`: the subtrees below the units where a person holds roles."""

from __future__ import annotations

from sqlalchemy.orm import Session

from workflows import access
from workflows.access import units_under_roles, visible_units
from workflows.registry.models import OrgUnit, RoleAssignment, User
from workflows.states import Role


def _unit(session: Session, code: str, parent: OrgUnit | None = None, *, active: bool = True) -> OrgUnit:
    unit = OrgUnit(code=code, name=f"Đơn vị {code}", unit_type="test", parent_id=parent.id if parent else None)
    unit.is_active = active
    session.add(unit)
    session.flush()
    unit.path = f"{parent.path}{parent.id}/" if parent else "/"
    session.flush()
    return unit


def _person(session: Session, home: OrgUnit, roles: list[tuple[str, OrgUnit]]) -> User:
    user = User(username=f"u{home.code.lower()}{len(roles)}", full_name="Người thử", unit_id=home.id)
    for role, unit in roles:
        user.role_assignments.append(RoleAssignment(role=role, unit_id=unit.id))
    session.add(user)
    session.flush()
    return user


def test_the_subtrees_of_every_unit_held_and_of_the_home_unit_once_each_in_path_order(session: Session) -> None:
    top = _unit(session, "T")
    east, west = _unit(session, "E", top), _unit(session, "W", top)
    east_a, east_b, west_a = _unit(session, "EA", east), _unit(session, "EB", east), _unit(session, "WA", west)
    gone = _unit(session, "EC", east, active=False)
    lonely = _unit(session, "L")

    # A supervisor of the east (and of one of its communes: no unit twice) who works in the lonely unit.
    user = _person(session, lonely, [(Role.SUPERVISOR, east), (Role.SUPERVISOR, east_a), (Role.PERSONNEL, west_a)])
    seen = visible_units(session, user)
    assert {unit.code for unit in seen} == {"E", "EA", "EB", "EC", "WA", "L"}
    assert len(seen) == len({unit.id for unit in seen})
    assert [unit.path for unit in seen] == sorted(unit.path for unit in seen)
    assert gone not in visible_units(session, user, active_only=True)
    assert {u.code for u in units_under_roles(session, user, [Role.PERSONNEL])} == {"WA"}
    assert {u.code for u in units_under_roles(session, user, [Role.SUPERVISOR])} == {"E", "EA", "EB"}
    assert units_under_roles(session, user, [Role.ADMIN]) == []

    # The same shape with other roots: the statement built for the first person answers for the second.
    other = _person(session, east_b, [(Role.OFFICER, west), (Role.OFFICER, gone), (Role.AUDITOR, lonely)])
    shapes = set(access._SUBTREES)
    assert {unit.code for unit in visible_units(session, other)} == {"EB", "W", "WA", "EC", "L"}
    assert set(access._SUBTREES) == shapes


def test_a_statement_is_built_once_per_shape(session: Session) -> None:
    top = _unit(session, "T")
    user = _person(session, top, [(Role.OFFICER, top)])
    visible_units(session, user)
    built = dict(access._SUBTREES)
    elsewhere = _unit(session, "X", top)
    assert [unit.code for unit in visible_units(session, _person(session, elsewhere, [(Role.OFFICER, elsewhere)]))] == [
        "X"
    ]
    assert built == access._SUBTREES
    assert all(statement is built[shape] for shape, statement in access._SUBTREES.items())
