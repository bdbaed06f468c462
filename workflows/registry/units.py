"""Org units: creating, renaming and merging them, each change chained in the unit's audit log (`unit:<id>`).

The 2025 two-level reform merged communes and dissolved districts. A merged unit is never deleted: its history,
procedures and the hometowns recorded against it stay readable, and `merged_into` says what it became
(workflows/rules/communes.py follows that link).

No two active units under one parent share a name, as a person reads it (`same_named_sibling`), and a unit's type
must be one its parent's type may hold (`workflows.rules.units`: the two-level tree, configurable as UNIT_POLICY).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows.access import in_subtree, oversees_unit
from workflows.audit import PendingEvent, append_events
from workflows.errors import N_, Invalid, NotAllowed, NotFound, Problem, too_long
from workflows.registry.models import Cadre, OrgUnit, UnitType, User
from workflows.registry.records import local_today
from workflows.rules.units import DEFAULT_POLICY, UnitPolicy, may_hold
from workflows.states import Role
from workflows.text import comparable, storable

NAME_LIMIT = 255
# No unit of today's organisation merged before the country's independence: a date before it is a typing slip.
EARLIEST_MERGER = date(1945, 9, 2)
CODE_LIMIT = 40
# ASCII only, as every existing code (T01, X001, T01-BTC): str.isalnum() would also take "²", "٣" or "１".
# A code starts with a letter or digit; "-" and "_" separate its parts.
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


class UnitEvent(StrEnum):
    CREATED = "unit_created"
    UPDATED = "unit_updated"
    MERGED = "unit_merged"


def org_unit_chain(unit_id: int) -> str:
    return f"unit:{unit_id}"


def in_tree_order(units: list[OrgUnit]) -> list[tuple[OrgUnit, int]]:
    """Each unit with its depth, every one directly under its parent, siblings by name: a picker's order. Sorting by
    the path alone does not give it: a unit's path lists its ancestors only, so it lists all units of one depth
    together. A unit whose parent is not in the list starts a tree of its own."""
    present = {unit.id for unit in units}
    children: dict[int | None, list[OrgUnit]] = {}
    for unit in units:
        parent = unit.parent_id if unit.parent_id in present else None
        children.setdefault(parent, []).append(unit)
    ordered: list[tuple[OrgUnit, int]] = []

    def visit(parent: int | None, depth: int) -> None:
        for unit in sorted(children.get(parent, []), key=lambda u: (u.name.casefold(), u.code)):
            ordered.append((unit, depth))
            visit(unit.id, depth + 1)

    visit(None, 0)
    return ordered


def can_manage_unit(session: Session, user: User, unit_id: int | None) -> bool:
    """Administrators manage the units in their subtree (creating one needs that right over its parent)."""
    return oversees_unit(session, user, unit_id, (Role.ADMIN,))


def _unit(session: Session, unit_id: int) -> OrgUnit:
    unit = session.get(OrgUnit, unit_id)
    if unit is None:
        raise NotFound("the org unit does not exist")
    return unit


def _checked_name(raw: Any, problems: list[Problem]) -> str:
    name = " ".join(storable(str(raw or "")).split())
    if not name:
        problems.append(Problem("a name is required", field="name"))
    elif len(name) > NAME_LIMIT:
        problems.append(too_long("name", NAME_LIMIT))
    return name


NAME_TAKEN = N_('the unit above already has a unit named "%(name)s" (code %(code)s); choose another name')


def same_named_sibling(name: str, siblings: Iterable[OrgUnit]) -> OrgUnit | None:
    """The active sibling already called `name`, or None. Why: two active units of one name under one parent cannot
    be told apart in pickers, lists and documents; names are compared as read (case, marks, spaces ignored)."""
    wanted = comparable(name)
    return next((unit for unit in siblings if unit.is_active and comparable(unit.name) == wanted), None)


def _name_taken(session: Session, name: str, parent_id: int | None, *, unit_id: int | None = None) -> Problem | None:
    """The problem when an active unit under `parent_id` (other than `unit_id`) already has this name."""
    if not name:
        return None
    query = select(OrgUnit).where(
        OrgUnit.parent_id.is_(None) if parent_id is None else OrgUnit.parent_id == parent_id, OrgUnit.is_active
    )
    if unit_id is not None:
        query = query.where(OrgUnit.id != unit_id)
    taken = same_named_sibling(name, session.scalars(query))
    if taken is None:
        return None
    return Problem(NAME_TAKEN, field="name", message_args={"name": taken.name, "code": taken.code})


def _lock(session: Session, unit_id: int | None) -> None:
    """The parent row locked until the end of the transaction (PostgreSQL): two administrators adding or renaming
    units under one parent at once are checked for a clashing name one after the other."""
    if unit_id is not None:
        session.execute(select(OrgUnit.id).where(OrgUnit.id == unit_id).with_for_update())


def _checked_code(session: Session, raw: Any, problems: list[Problem]) -> str:
    """The code as it is stored (upper-case), checked: required, its characters and length, no other unit's."""
    typed_code = storable(str(raw or "")).strip()
    code_text = typed_code.upper()
    if not typed_code:
        problems.append(Problem("a code is required", field="code"))
    elif len(typed_code) > CODE_LIMIT or not _CODE.fullmatch(typed_code):  # "ß".upper() is "SS"
        problems.append(
            Problem(
                "the code may hold only Latin letters A-Z, digits 0-9, - and _, starting with a letter or digit "
                "(at most 40)",
                field="code",
            )
        )
    elif session.scalar(select(OrgUnit.id).where(OrgUnit.code == code_text)) is not None:
        problems.append(Problem("another unit already has this code", field="code"))
    return code_text


def _checked_type(raw: Any, problems: list[Problem]) -> str:
    value = str(raw or "")
    if value not in {t.value for t in UnitType}:
        problems.append(Problem("choose a unit type from the list", field="unit_type"))
    return value


NOT_UNDER = N_("a unit of type %(unit_type)s cannot sit directly under a unit of type %(parent_type)s")
NOT_ABOVE = N_("a unit of type %(parent_type)s cannot hold the units of type %(unit_type)s below it: %(units)s")


def _placement_problems(
    session: Session, unit_type: str, parent: OrgUnit | None, unit: OrgUnit | None, policy: UnitPolicy
) -> list[Problem]:
    """A unit of `unit_type` under `parent` (none: a top unit) and, for an existing `unit`, over its active units:
    each pair the policy's tree does not allow, its types named (the web layer shows their names)."""
    if unit_type not in {t.value for t in UnitType}:
        return []  # said already: not a type from the list
    problems = []
    if parent is not None and not may_hold(parent.unit_type, unit_type, policy):
        args = {"unit_type": unit_type, "parent_type": parent.unit_type}
        problems.append(Problem(NOT_UNDER, field="unit_type", message_args=args))
    if unit is not None:
        below: dict[str, list[str]] = {}
        children = select(OrgUnit).where(OrgUnit.parent_id == unit.id, OrgUnit.is_active).order_by(OrgUnit.name)
        for child in session.scalars(children):
            if not may_hold(unit_type, child.unit_type, policy):
                below.setdefault(child.unit_type, []).append(child.name)
        for child_type, names in below.items():
            shown = ", ".join(names[:3]) + (", …" if len(names) > 3 else "")
            args = {"parent_type": unit_type, "unit_type": child_type, "units": shown}
            problems.append(Problem(NOT_ABOVE, field="unit_type", message_args=args))
    return problems


def _audit(session: Session, actor: User, unit_id: int, event: UnitEvent, payload: dict[str, Any]) -> None:
    append_events(session, org_unit_chain(unit_id), [PendingEvent(event, payload)], actor=actor)


def create_unit(
    session: Session,
    actor: User,
    *,
    parent_id: int | None,
    code: Any,
    name: Any,
    unit_type: Any,
    policy: UnitPolicy = DEFAULT_POLICY,
) -> OrgUnit:
    """Every problem of the request is reported at once; no parent (None) is one of them, not a reason to stop.
    The type must be one the policy's tree allows under the parent's type (`workflows.rules.units`)."""
    parent = _unit(session, parent_id) if parent_id is not None else None
    if parent is not None and not can_manage_unit(session, actor, parent.id):
        raise NotAllowed("you may not add units here")
    problems: list[Problem] = []
    if parent is None:
        problems.append(Problem("Choose the unit above the new one.", field="parent_id"))
    else:
        _lock(session, parent.id)
    code_text = _checked_code(session, code, problems)
    name_text = _checked_name(name, problems)
    type_value = _checked_type(unit_type, problems)
    if parent is not None and not parent.is_active:
        problems.append(Problem("the unit above was merged or dissolved", field="parent_id"))
    elif parent is not None and (taken := _name_taken(session, name_text, parent.id)) is not None:
        problems.append(taken)
    if parent is not None:
        problems.extend(_placement_problems(session, type_value, parent, None, policy))
    if problems:
        raise Invalid("the unit was not created", problems)
    assert parent is not None
    unit = OrgUnit(
        code=code_text,
        name=name_text,
        unit_type=type_value,
        parent_id=parent.id,
        path=f"{parent.path}{parent.id}/",
        is_active=True,
    )
    session.add(unit)
    session.flush()
    _audit(
        session,
        actor,
        unit.id,
        UnitEvent.CREATED,
        {"code": code_text, "name": name_text, "unit_type": type_value, "parent_id": parent.id},
    )
    return unit


TOP_UNIT_EXISTS = N_("the organisation already has its top unit %(code)s (%(name)s): add new units under it")


def top_unit(session: Session) -> OrgUnit | None:
    """The unit at the top of the tree (no unit above it), merged or not; None on a fresh install."""
    return session.scalar(select(OrgUnit).where(OrgUnit.parent_id.is_(None)).order_by(OrgUnit.id).limit(1))


def create_top_unit(session: Session, *, code: Any, name: Any, unit_type: Any = UnitType.PROVINCE) -> OrgUnit:
    """The top of the tree, made once by the server's operator on a fresh install (`canbo units create-root`,
    decision 0107): every other unit, and the first administrator's role, is created under it. Checked as
    `create_unit` checks a unit. There is only one: a role held in a unit with nothing above it reads the whole
    install (`exports.audit_roots`), so a second top would hand its holders the first one's tree as well."""
    problems: list[Problem] = []
    existing = top_unit(session)
    if existing is not None:
        problems.append(Problem(TOP_UNIT_EXISTS, message_args={"code": existing.code, "name": existing.name}))
    code_text = _checked_code(session, code, problems)
    name_text = _checked_name(name, problems)
    type_value = _checked_type(unit_type, problems)
    if problems:
        raise Invalid("the unit was not created", problems)
    unit = OrgUnit(code=code_text, name=name_text, unit_type=type_value, parent_id=None, path="/", is_active=True)
    session.add(unit)
    session.flush()
    payload = {"code": code_text, "name": name_text, "unit_type": type_value, "parent_id": None}
    append_events(session, org_unit_chain(unit.id), [PendingEvent(UnitEvent.CREATED, payload)], actor=None)
    return unit


def update_unit(
    session: Session, actor: User, unit_id: int, *, name: Any, unit_type: Any, policy: UnitPolicy = DEFAULT_POLICY
) -> OrgUnit:
    """A new type must fit the policy's tree, under the unit's parent and over its active units; an unchanged type is
    not checked again (a unit placed before the rule existed can still be renamed)."""
    unit = _unit(session, unit_id)
    if not can_manage_unit(session, actor, unit.id):
        raise NotAllowed("you may not change this unit")
    problems: list[Problem] = []
    values = {"name": _checked_name(name, problems), "unit_type": _checked_type(unit_type, problems)}
    # Only a new name is checked: a type changed on a unit whose name already clashed creates no new clash.
    if values["name"] and comparable(values["name"]) != comparable(unit.name):
        _lock(session, unit.parent_id)
        taken = _name_taken(session, values["name"], unit.parent_id, unit_id=unit.id)
        if taken is not None:
            problems.append(taken)
    if values["unit_type"] != unit.unit_type:
        problems.extend(_placement_problems(session, values["unit_type"], unit.parent, unit, policy))
    if problems:
        raise Invalid("the unit was not changed", problems)
    changes = {
        field: {"from": getattr(unit, field), "to": value}
        for field, value in values.items()
        if getattr(unit, field) != value
    }
    if changes:
        for field, change in changes.items():
            setattr(unit, field, change["to"])
        session.flush()
        _audit(session, actor, unit.id, UnitEvent.UPDATED, {"changes": changes})
    return unit


def merge_unit(session: Session, actor: User, unit_id: int, *, into_id: int | None, merged_on: date | None) -> OrgUnit:
    """The unit stops on the day before `merged_on`; what it was becomes part of `into_id` from that day.

    Refused while people or active units remain in it: they move first, through their own records, so that no
    cadre is left in a unit that no longer exists."""
    unit = _unit(session, unit_id)
    if not can_manage_unit(session, actor, unit.id):
        raise NotAllowed("you may not change this unit")
    problems: list[Problem] = []
    into = session.get(OrgUnit, into_id) if into_id is not None else None
    if not unit.is_active:
        problems.append(Problem("this unit was already merged or dissolved"))
    if into is None:
        problems.append(Problem("choose the unit it becomes part of", field="into_id"))
    elif into.id == unit.id or f"/{unit.id}/" in into.path:
        problems.append(Problem("a unit cannot be merged into itself or a unit below it", field="into_id"))
    elif not into.is_active:
        problems.append(Problem("that unit was itself merged or dissolved", field="into_id"))
    elif not can_manage_unit(session, actor, into.id):
        problems.append(Problem("that unit is outside your scope", field="into_id"))
    if merged_on is None:
        problems.append(Problem("the date of the merger is required", field="merged_on"))
    elif merged_on > local_today():
        # The unit stops now, whatever the date: a merger is recorded once it has taken effect.
        problems.append(
            Problem("record the merger once it has taken effect: the date is in the future", field="merged_on")
        )
    elif merged_on <= (unit.active_from or EARLIEST_MERGER):
        problems.append(Problem("the date of the merger is before the unit existed", field="merged_on"))
    people = session.scalar(select(func.count()).where(Cadre.unit_id == unit.id, Cadre.is_active)) or 0
    if people:
        problems.append(Problem("cadres still belong to this unit; move them to their new unit first"))
    below = session.scalar(
        select(func.count()).where(in_subtree(OrgUnit, unit.id), OrgUnit.id != unit.id, OrgUnit.is_active)
    )
    if below:
        problems.append(Problem("units below this one are still active; merge or move them first"))
    if problems:
        raise Invalid("the unit was not merged", problems)
    assert into is not None and merged_on is not None
    before = {"is_active": unit.is_active, "active_to": unit.active_to, "merged_into_id": unit.merged_into_id}
    unit.is_active = False
    unit.active_to = merged_on - timedelta(days=1)
    unit.merged_into_id = into.id
    unit.merged_on = merged_on
    session.flush()
    after = {"is_active": False, "active_to": unit.active_to, "merged_into_id": into.id}
    _audit(
        session,
        actor,
        unit.id,
        UnitEvent.MERGED,
        {
            "into": {"id": into.id, "code": into.code, "name": into.name},
            "merged_on": merged_on.isoformat(),
            "changes": {
                field: {"from": _plain(before[field]), "to": _plain(after[field])}
                for field in after
                if before[field] != after[field]
            },
        },
    )
    return unit


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value
