"""Who a user task belongs to: BPMN lanes name roles, resolved relative to the instance.

The lane → rule table is configuration (LANE_RULES in the app config overrides the defaults here).
A lane nobody can resolve still opens the task, with `assignment_problem` set for an administrator to fix —
a task is never silently dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import ColumnElement, Integer, ScalarSelect, Select, any_, bindparam, case, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute, Session

from workflows.errors import N_
from workflows.prepared import server_prepared
from workflows.registry.models import Cadre, OrgUnit, RoleAssignment, User
from workflows.states import Role

SUBJECT = "subject"  # the subject cadre themself


class InstanceLike(Protocol):
    subject_cadre_id: int | None
    unit_id: int | None


class TaskLike(Protocol):
    assignee_id: int | None
    candidate_role: str | None
    candidate_unit_id: int | None


@dataclass(frozen=True)
class LaneRule:
    """`who` is SUBJECT or a role; `where` is 'instance' (the instance's unit, found by walking up), 'parent' (the
    unit above the instance's: where a missed deadline escalates to), 'root', or 'subject' (the subject cadre's
    unit when the task opens: the unit a rotated cadre leaves)."""

    who: str
    where: str = "instance"


DEFAULT_LANE_RULES: dict[str, LaneRule] = {
    "Cán bộ": LaneRule(SUBJECT),
    "Lãnh đạo trực tiếp": LaneRule(Role.SUPERVISOR),
    "Thủ trưởng đơn vị": LaneRule(Role.HEAD),
    "Cấp trên": LaneRule(Role.HEAD, "parent"),
    "Ban Tổ chức": LaneRule(Role.PERSONNEL, "root"),
    "Ủy ban Kiểm tra": LaneRule(Role.AUDITOR, "root"),
    # The competent authority of an appointment (cấp có thẩm quyền bổ nhiệm): the head of the unit above the post's.
    "Cấp có thẩm quyền": LaneRule(Role.HEAD, "parent"),
    # Rotation (issue #7): the instance's unit is the receiving unit; the sending unit is where the cadre works.
    "Đơn vị tiếp nhận": LaneRule(Role.HEAD),
    "Đơn vị cử đi": LaneRule(Role.HEAD, "subject"),
}


def parse_lane_rules(config: Mapping[str, str] | None) -> dict[str, LaneRule]:
    """Config form: {"Lane name": "supervisor"} or {"Lane name": "personnel@root"} or {"Lane name": "subject"}."""
    rules = dict(DEFAULT_LANE_RULES)
    for lane, text in (config or {}).items():
        who, _, where = text.partition("@")
        rules[lane] = LaneRule(who.strip(), (where or "instance").strip())
    return rules


@dataclass(frozen=True)
class Assignment:
    assignee_id: int | None = None
    candidate_role: str | None = None
    candidate_unit_id: int | None = None
    problem: str | None = None


def _role_holders(in_chain: ColumnElement[bool]) -> Select[tuple[int | None, int | None]]:
    """Whether the subject (`subject`: their cadre id) holds `role` in a unit of the chain, and whether anyone else
    active does: 1 or 0 each, None when nobody holds it there."""
    is_subject = User.cadre_id == bindparam("subject", type_=Integer)
    return (
        select(func.max(case((is_subject, 1), else_=0)), func.max(case((is_subject, 0), else_=1)))
        .select_from(RoleAssignment)
        .join(User, User.id == RoleAssignment.user_id)
        .where(RoleAssignment.role == bindparam("role"), in_chain, User.is_active)
    )


# Built once (a step opening for a role asks it, decision 0133): on PostgreSQL with the chain as an array, one text
# for every chain, prepared; SQLite has no arrays and takes the chain as an IN list.
_ROLE_HOLDERS = _role_holders(RoleAssignment.unit_id.in_(bindparam("chain", expanding=True)))
_ROLE_HOLDERS_BY_ARRAY = server_prepared(
    _role_holders(RoleAssignment.unit_id == any_(bindparam("chain", type_=ARRAY(Integer))))
)


# The subject's active account, and the roles it holds (comma-separated): most cadres hold only the officer's, and then
# no step for another role can be theirs to keep away from (decision 0133), which spares asking who holds it.
def roles_held_by(user_id: ColumnElement[int] | InstrumentedAttribute[int]) -> ScalarSelect[str]:
    """The roles the account `user_id` (a column of the enclosing statement) holds, comma-separated, read by
    `roles_named`: one scalar subquery, so the statement that reads the account reads its roles too."""
    return (
        select(func.aggregate_strings(RoleAssignment.role, ","))
        .where(RoleAssignment.user_id == user_id)
        .scalar_subquery()
    )


_SUBJECT_ACCOUNT = select(User.id, roles_held_by(User.id)).where(
    User.cadre_id == bindparam("cadre", type_=Integer), User.is_active
)


def roles_named(aggregated: str | None) -> frozenset[str]:
    """The roles of a comma-separated aggregate of `RoleAssignment.role`."""
    return frozenset(aggregated.split(",")) if aggregated else frozenset()


class AssignmentContext:
    """What lanes resolve against, for one instance; looks each fact up at most once per advance."""

    _UNKNOWN: object = object()

    def __init__(
        self,
        session: Session,
        instance: InstanceLike,
        subject_user_id: object = _UNKNOWN,
        unit_ancestors: list[int] | None = None,
        subject_unit_id: object = _UNKNOWN,
        *,
        subject_roles: frozenset[str] | None = None,
        reads_holders: bool = True,
    ) -> None:
        """`subject_user_id`, `unit_ancestors` (the instance unit's ancestors, root first) and `subject_unit_id`
        when the caller has already read them; otherwise each is looked up when a lane first needs it.
        `subject_roles`: the roles the subject's account holds, where the caller has read them."""
        self.session = session
        self.subject_cadre_id = instance.subject_cadre_id
        self.unit_id = instance.unit_id
        self._subject_user_id = subject_user_id
        self._unit_ancestors = unit_ancestors
        self._subject_unit_id = subject_unit_id
        self._subject_roles = subject_roles
        # False where the connection is busy streaming rows (a bulk start's COPY): no statement may run on it then, so
        # a step for a role stays with the role; the subject still may not act on it (`can_act_on_task`).
        self._reads_holders = reads_holders

    def subject_user_id(self) -> int | None:
        if self._subject_user_id is AssignmentContext._UNKNOWN:
            row = self.session.execute(_SUBJECT_ACCOUNT, {"cadre": self.subject_cadre_id}).first()
            self._subject_user_id, self._subject_roles = (row[0], roles_named(row[1])) if row else (None, frozenset())
        return self._subject_user_id  # type: ignore[return-value]

    def user_id_for(self, hint: str | int) -> int | None:
        """An assignee expression may give a username, a user id or a cadre code."""
        if isinstance(hint, int):
            condition = User.id == hint
        else:
            cadre_user = select(User.id).join(Cadre, User.cadre_id == Cadre.id).where(Cadre.code == hint)
            condition = (User.username == hint) | User.id.in_(cadre_user.scalar_subquery())
        return self.session.scalar(select(User.id).where(condition, User.is_active).limit(1))

    def _ancestors(self) -> list[int]:
        if self._unit_ancestors is None:
            path = self.session.scalar(select(OrgUnit.path).where(OrgUnit.id == self.unit_id))
            self._unit_ancestors = path_ancestors(path)
        return self._unit_ancestors

    def root_unit_id(self) -> int | None:
        if self.unit_id is None:
            return None
        ancestors = self._ancestors()
        return ancestors[0] if ancestors else self.unit_id

    def subject_unit_id(self) -> int | None:
        if self.subject_cadre_id is None:
            return None
        if self._subject_unit_id is AssignmentContext._UNKNOWN:
            self._subject_unit_id = self.session.scalar(select(Cadre.unit_id).where(Cadre.id == self.subject_cadre_id))
        return self._subject_unit_id  # type: ignore[return-value]

    def unit_chain_of(self, unit_id: int) -> list[int]:
        """The unit and the units above it, root first, from what this context already read where it can."""
        ancestors = self._ancestors() if self.unit_id is not None else []
        if unit_id == self.unit_id:
            return [*ancestors, unit_id]
        if unit_id in ancestors:
            return ancestors[: ancestors.index(unit_id) + 1]
        path = self.session.scalar(select(OrgUnit.path).where(OrgUnit.id == unit_id))
        return unit_chain(path or "/", unit_id)

    def only_the_subject_holds(self, role: str, unit_id: int) -> bool:
        """Whether the subject holds `role` over the unit and nobody else active does. False without asking when
        the subject has no active account or does not hold the role anywhere: then the step cannot be theirs."""
        if not self._reads_holders or self.subject_cadre_id is None or self.subject_user_id() is None:
            return False
        if self._subject_roles is not None and role not in self._subject_roles:
            return False
        on_postgresql = self.session.get_bind().dialect.name == "postgresql"
        subject_holds, others_hold = self.session.execute(
            _ROLE_HOLDERS_BY_ARRAY if on_postgresql else _ROLE_HOLDERS,
            {"subject": self.subject_cadre_id, "role": role, "chain": self.unit_chain_of(unit_id)},
        ).one()
        return bool(subject_holds) and not others_hold

    def parent_unit_id(self) -> int | None:
        """The unit above the instance's; the province itself has none above it, so it answers for itself."""
        if self.unit_id is None:
            return None
        ancestors = self._ancestors()
        return ancestors[-1] if ancestors else self.unit_id


# Why nobody could be assigned, stored with the task (`HumanTask.assignment_problem`) and read by administrators:
# a fixed message the pages translate, then ": " and the detail (a lane, a name) as the model wrote it.
NOT_AN_ACTIVE_USER = N_("the assignee named by the model is not an active user")
NO_LANE_RULE = N_("no assignment rule for the task's lane")
NO_SUBJECT = N_("the task belongs to the subject cadre, but the instance has no subject")
NO_SUBJECT_ACCOUNT = N_("the subject cadre has no active user account")
UNKNOWN_ROLE = N_("the task's lane names an unknown role")
NO_UNIT = N_("the instance has no org unit to resolve the role in")
ONLY_THE_SUBJECT = N_("the only holder of the role is the person the procedure is about")


def resolve_assignment(
    context: AssignmentContext,
    lane: str | None,
    properties: Mapping[str, str],
    rules: Mapping[str, LaneRule],
    assignee_hint: str | int | None = None,
) -> Assignment:
    if assignee_hint is not None:
        user_id = context.user_id_for(assignee_hint)
        if user_id is None:
            return Assignment(problem=f"{NOT_AN_ACTIVE_USER}: {assignee_hint}")
        return Assignment(assignee_id=user_id)
    role_property = properties.get("candidateRole") or properties.get("candidateGroups")
    if role_property:
        rule = LaneRule(role_property.split(",")[0].strip())
    elif lane and lane in rules:
        rule = rules[lane]
    else:
        return Assignment(problem=f"{NO_LANE_RULE}: {lane or '—'}")

    if rule.who == SUBJECT:
        if context.subject_cadre_id is None:
            return Assignment(problem=NO_SUBJECT)
        user_id = context.subject_user_id()
        if user_id is None:
            return Assignment(problem=NO_SUBJECT_ACCOUNT)
        return Assignment(assignee_id=user_id)

    if rule.who not in {r.value for r in Role}:
        return Assignment(problem=f"{UNKNOWN_ROLE}: {lane} → {rule.who}")
    if rule.where == "root":
        unit_id = context.root_unit_id()
    elif rule.where == "parent":
        unit_id = context.parent_unit_id()
    elif rule.where == "subject":
        unit_id = context.subject_unit_id()
    else:
        unit_id = context.unit_id
    if unit_id is None:
        return Assignment(candidate_role=rule.who, problem=NO_UNIT)
    return _away_from_the_subject(context, rule.who, unit_id)


# How far a step may climb when the person it is about is the only one who could take it (decision 0133).
_MAX_CLIMB = 3


def _away_from_the_subject(context: AssignmentContext, role: str, unit_id: int) -> Assignment:
    """The role's step, where someone besides the subject holds the role; where only the subject does, the step goes
    to the one who leads them: a direct manager's step to the unit's head, a head's to the head of the unit above.
    Nobody reviews, approves or decides their own case (decision 0133)."""
    for _ in range(_MAX_CLIMB):
        if not context.only_the_subject_holds(role, unit_id):
            break
        above = leader_above(role, context.unit_chain_of(unit_id))
        if above is None:
            return Assignment(candidate_role=role, candidate_unit_id=unit_id, problem=ONLY_THE_SUBJECT)
        role, unit_id = above
    return Assignment(candidate_role=role, candidate_unit_id=unit_id)


def leader_above(role: str, chain: list[int]) -> tuple[str, int] | None:
    """Who leads the holder of `role` in the last unit of `chain` (root first): the head of the same unit for a direct
    manager, the head of the unit above for a head; None for any other role, or a head with no unit above."""
    if role == Role.SUPERVISOR:
        return Role.HEAD, chain[-1]
    if role == Role.HEAD and len(chain) > 1:
        return Role.HEAD, chain[-2]
    return None


# -- permission predicates (pure) ------------------------------------------------------------------


def path_ancestors(path: str | None) -> list[int]:
    """The ancestors' ids, from the root down, of an OrgUnit.path such as '/1/7/'."""
    return [int(part) for part in (path or "/").strip("/").split("/") if part]


def unit_chain(path: str, unit_id: int) -> list[int]:
    """The unit and all its ancestors, from an OrgUnit.path such as '/1/7/'."""
    return [*path_ancestors(path), unit_id]


def chain_of(unit_id: int | None, path: str | None) -> list[int]:
    """`unit_chain` of a unit read with its path through an outer join: empty when there is no unit."""
    return unit_chain(path or "/", unit_id) if unit_id is not None else []


def holds_role_over(role_units: Iterable[tuple[str, int]], role: str, unit_chain_ids: list[int]) -> bool:
    """True when the user holds `role` in the unit or any unit above it (a role covers its subtree)."""
    chain = set(unit_chain_ids)
    return any(r == role and unit in chain for r, unit in role_units)


# Why the person a procedure is about may not take or complete one of its steps given to a role.
OWN_CASE = N_("this step is in a procedure about you: someone else must take it")


def is_own_case(user_cadre_id: int | None, subject_cadre_id: int | None) -> bool:
    """Whether the procedure is about this person (their cadre record is its subject)."""
    return user_cadre_id is not None and user_cadre_id == subject_cadre_id


def can_act_on_task(
    user_id: int,
    role_units: Iterable[tuple[str, int]],
    task: TaskLike,
    candidate_unit_chain: list[int],
    *,
    user_cadre_id: int | None,
    subject_cadre_id: int | None,
) -> bool:
    """May this user claim or complete this task? A step given to a role is never the person the procedure is about
    (nobody reviews, approves or decides their own case, decision 0133), even once they took it. Otherwise assigned
    tasks: only the assignee; group tasks: the role in scope."""
    if task.candidate_role is not None and is_own_case(user_cadre_id, subject_cadre_id):
        return False
    if task.assignee_id is not None:
        return task.assignee_id == user_id
    if task.candidate_role is None or task.candidate_unit_id is None:
        return False
    return holds_role_over(role_units, task.candidate_role, candidate_unit_chain)
