"""Who may see what: org scope as SQL conditions and as predicates. A role held in a unit covers its subtree.

Views and the API ask these; a lookup outside scope is answered as if the object did not exist (404).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Integer, Select, String, and_, bindparam, false, func, inspect, or_, select
from sqlalchemy.orm import Session, aliased

from workflows.assignment import can_act_on_task, holds_role_over, unit_chain
from workflows.models import HumanTask, ProcessInstance
from workflows.prepared import server_prepared
from workflows.registry.models import OrgUnit, User
from workflows.states import Role, TaskStatus

# Roles that see every instance of the units they cover (supervisors and heads: their unit's procedures;
# personnel: to run them; auditors: to inspect them; admins: to operate).
OVERSEEING_ROLES = (Role.SUPERVISOR, Role.HEAD, Role.PERSONNEL, Role.AUDITOR, Role.ADMIN)


def role_units(user: User) -> list[tuple[str, int]]:
    return [(a.role, a.unit_id) for a in user.role_assignments]


class TaskFacts(Protocol):
    status: str
    assignee_id: int | None
    closed_by_id: int | None
    candidate_role: str | None
    candidate_unit_id: int | None


def sees_task(
    user_id: int,
    held: Iterable[tuple[str, int]],
    task: TaskFacts,
    candidate_unit_chain: list[int],
    unit_chain_ids: list[int],
) -> bool:
    """May this person see the task (`workflows.tasks.can_view`) — on facts already read: its assignee, whoever
    closed it, whoever may act on it while it is open, and the roles that oversee its unit (the chains are the
    candidate unit's and the task's unit's ancestry, empty when there is none)."""
    if task.assignee_id == user_id or task.closed_by_id == user_id:
        return True
    held = list(held)
    # Whoever may act on an open task sees it; the person it is about, who may not act on a step of their own case,
    # still sees it here when their role oversees its unit (every role a step goes to is an overseeing role).
    if task.status == TaskStatus.OPEN and can_act_on_task(
        user_id, held, task, candidate_unit_chain, user_cadre_id=None, subject_cadre_id=None
    ):
        return True
    return any(holds_role_over(held, role, unit_chain_ids) for role in OVERSEEING_ROLES)


def in_subtree(unit: Any, root_id: int) -> ColumnElement[bool]:
    """SQL: the unit (OrgUnit or an alias of it) is `root_id` or below it (path lists the ancestors: '/1/7/')."""
    return _subtree(unit, root_id, _below(root_id))


def _below(root_id: int) -> str:
    return f"%/{root_id}/%"


def _subtree(unit: Any, root: Any, below: Any) -> ColumnElement[bool]:
    # `root` and `below` are values, or bound parameters standing for them
    return or_(unit.id == root, unit.path.like(below))


def _claimable(candidate_unit: Any, held: Iterable[tuple[Any, Any, Any]]) -> ColumnElement[bool]:
    """The task's role held in its candidate unit or above; `held`: (role, unit id, `_below` of it) per role."""
    clauses = [
        and_(HumanTask.candidate_role == role, _subtree(candidate_unit, unit, below)) for role, unit, below in held
    ]
    return or_(*clauses) if clauses else false()


def group_task_condition(user: User, candidate_unit: Any, *, including_own_cases: bool = False) -> ColumnElement[bool]:
    """Open group tasks this user may claim: the task's role held in the candidate unit or above, in a procedure not
    about them (`assignment.can_act_on_task`); `including_own_cases` keeps those too (to name a refused claim)."""
    claimable = _claimable(candidate_unit, [(role, unit_id, _below(unit_id)) for role, unit_id in role_units(user)])
    if including_own_cases or user.cadre_id is None:
        return claimable
    return and_(claimable, or_(HumanTask.subject_cadre_id.is_(None), HumanTask.subject_cadre_id != user.cadre_id))


# The cadre id no record has (ids start at 1): what a person without a cadre record is compared with.
_NO_CADRE = 0


def group_task_condition_bound(roles: int, candidate_unit: Any) -> ColumnElement[bool]:
    """`group_task_condition` for anyone holding `roles` role assignments, every value a bound parameter (the ones
    `group_task_parameters` gives): a statement using it can be built once and prepared (the menu's)."""
    held: list[tuple[Any, Any, Any]] = [
        (bindparam(f"group_role_{n}"), bindparam(f"group_unit_{n}"), bindparam(f"group_below_{n}"))
        for n in range(roles)
    ]
    not_own_case = func.coalesce(HumanTask.subject_cadre_id, _NO_CADRE) != bindparam("group_cadre", type_=Integer)
    return and_(_claimable(candidate_unit, held), not_own_case)


def group_task_parameters(user: User) -> dict[str, Any]:
    parameters: dict[str, Any] = {"group_cadre": user.cadre_id or _NO_CADRE}
    for n, (role, unit_id) in enumerate(role_units(user)):
        parameters.update({f"group_role_{n}": role, f"group_unit_{n}": unit_id, f"group_below_{n}": _below(unit_id)})
    return parameters


def instance_scope_condition(
    user: User, unit: type[OrgUnit], roles: Iterable[str] = OVERSEEING_ROLES
) -> ColumnElement[bool]:
    """Instances this user oversees by role, or that are about them, or that they started."""
    wanted = set(roles)
    clauses: list[ColumnElement[bool]] = [ProcessInstance.started_by_id == user.id]
    if user.cadre_id is not None:
        clauses.append(ProcessInstance.subject_cadre_id == user.cadre_id)
    clauses.extend(in_subtree(unit, unit_id) for role, unit_id in role_units(user) if role in wanted)
    participated = select(HumanTask.id).where(
        HumanTask.instance_id == ProcessInstance.id,
        or_(HumanTask.assignee_id == user.id, HumanTask.closed_by_id == user.id),
    )
    clauses.append(participated.exists())
    return or_(*clauses)


def can_view_instance(session: Session, user: User, instance: ProcessInstance) -> bool:
    """`instance_scope_condition` for one loaded instance, deciding on its row what the row tells (who started it,
    whom it is about) and reading only what it does not: the unit's ancestry, then whether they took part."""
    if instance.started_by_id == user.id or (user.cadre_id is not None and instance.subject_cadre_id == user.cadre_id):
        return True
    held = role_units(user)
    if instance.unit_id is not None and any(role in OVERSEEING_ROLES for role, _unit in held):
        chain = instance_unit_chain(session, instance)
        if any(holds_role_over(held, role, chain) for role in OVERSEEING_ROLES):
            return True
    return session.scalar(_TOOK_PART, {"instance_id": instance.id, "user_id": user.id}) is not None


def visible_instance_ids(session: Session, user: User, instance_ids: Iterable[int | None]) -> set[int]:
    """Which of these instances this user may open (`can_view_instance`, the instance page's rule), in one query:
    a list links only the rows whose page would not answer 404."""
    wanted = {instance_id for instance_id in instance_ids if instance_id is not None}
    if not wanted:
        return set()
    unit = aliased(OrgUnit)
    query = (
        select(ProcessInstance.id)
        .outerjoin(unit, ProcessInstance.unit_id == unit.id)
        .where(ProcessInstance.id.in_(sorted(wanted)), instance_scope_condition(user, unit))
    )
    return set(session.scalars(query))


_UNIT_PATH = server_prepared(select(OrgUnit.path).where(OrgUnit.id == bindparam("unit_id")))
_TOOK_PART = server_prepared(
    select(HumanTask.id)
    .where(
        HumanTask.instance_id == bindparam("instance_id"),
        or_(HumanTask.assignee_id == bindparam("user_id"), HumanTask.closed_by_id == bindparam("user_id")),
    )
    .limit(1)
)


def ancestry(session: Session, unit_id: int | None) -> list[int]:
    """The unit and every unit above it (empty for no unit): what a role must be held in to cover it."""
    if unit_id is None:
        return []
    path = session.scalar(_UNIT_PATH, {"unit_id": unit_id})
    return unit_chain(path or "/", unit_id)


def instance_unit_chain(session: Session, instance: ProcessInstance) -> list[int]:
    """`ancestry` of the instance's unit, from the unit loaded with the instance when it was (the instance pages
    load it: whether the reader may see the instance and whether they may cancel it both need it)."""
    if "unit" in inspect(instance).unloaded:
        return ancestry(session, instance.unit_id)
    unit = instance.unit
    return unit_chain(unit.path, unit.id) if unit is not None else []


def holds_role_over_instance(session: Session, user: User, role: str, instance: ProcessInstance) -> bool:
    """`role` held in the instance's unit or above, decided on the unit loaded with the instance when it was."""
    if instance.unit_id is None:
        return False
    return holds_role_over(role_units(user), role, instance_unit_chain(session, instance))


def oversees_unit(session: Session, user: User, unit_id: int | None, roles: Iterable[str]) -> bool:
    if unit_id is None:
        return False
    chain = ancestry(session, unit_id)
    return any(holds_role_over(role_units(user), role, chain) for role in roles)


def visible_units(session: Session, user: User, *, active_only: bool = False) -> list[OrgUnit]:
    """Units a user may filter by or start procedures in: the subtrees of the units where they hold a role.

    `active_only` leaves out units merged or dissolved (the 2025 reform): nothing new starts there, while filters
    over history still need them."""
    roots = {unit_id for _role, unit_id in role_units(user)} | {user.unit_id}
    return _subtrees(session, roots, active_only=active_only)


def units_under_roles(session: Session, user: User, roles: Iterable[str], *, active_only: bool = True) -> list[OrgUnit]:
    """Units in the subtrees where the user holds one of `roles`: where a procedure started by those roles may be
    started (active units only by default: nothing new starts in a merged or dissolved unit)."""
    wanted = set(roles)
    return _subtrees(
        session, {unit_id for role, unit_id in role_units(user) if role in wanted}, active_only=active_only
    )


# One statement per shape (how many roots, active units only or not), the roots bound: built once and prepared on
# the server. Built afresh, its cache key cost the inbox page more than the query (issue #9 load).
_SUBTREES: dict[tuple[int, bool], Select[tuple[OrgUnit]]] = {}


def _subtrees_statement(roots: int, active_only: bool) -> Select[tuple[OrgUnit]]:
    statement = _SUBTREES.get((roots, active_only))
    if statement is None:
        subtrees = [
            _subtree(OrgUnit, bindparam(f"root_{n}", type_=Integer), bindparam(f"below_{n}", type_=String))
            for n in range(roots)
        ]
        query = select(OrgUnit).where(or_(*subtrees))
        if active_only:
            query = query.where(OrgUnit.is_active)
        statement = _SUBTREES[roots, active_only] = server_prepared(query.order_by(OrgUnit.path, OrgUnit.name))
    return statement


def _subtrees(session: Session, roots: set[int], *, active_only: bool) -> list[OrgUnit]:
    if not roots:
        return []
    parameters: dict[str, Any] = {}
    for n, root in enumerate(sorted(roots)):
        parameters[f"root_{n}"] = root
        parameters[f"below_{n}"] = _below(root)
    return list(session.scalars(_subtrees_statement(len(roots), active_only), parameters))
