"""Opening month M for a unit: one monthly-evaluation instance per active cadre in scope, idempotently.

Two steps so that callers can commit in chunks and show progress (50,000 cadres is one province's month):
`plan_month` checks everything and lists who still needs an instance; `open_for_cadres` starts them, one
transaction per chunk at the caller's choice. Re-running either is harmless: the business key `<month>/<cadre code>`
is unique per process, so a cadre already open for M is counted, never duplicated.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import String, bindparam, exists, func, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, aliased

from workflows.access import ancestry, in_subtree, role_units
from workflows.assignment import holds_role_over, path_ancestors
from workflows.deployment.operations import require_in_use
from workflows.engine import operations
from workflows.engine.bulk import BulkStartUnsupported, StartRequest, refusals, start_each, start_many
from workflows.engine.runtime import ProcessEngine
from workflows.errors import Invalid, NotAllowed, NotFound, ScriptFailure
from workflows.evaluation import PROCESS_ID
from workflows.models import ProcessInstance
from workflows.registry.models import Cadre, CadrePosition, OrgUnit, Position, RoleAssignment, User
from workflows.registry.records import VIETNAM_TZ, local_today
from workflows.rules.evaluation import EvaluationPolicy, closed_unit_problems, month_problems, period_deadlines
from workflows.states import Role

OPENING_ROLES = (Role.PERSONNEL, Role.ADMIN)


def business_key(month: str, cadre_code: str) -> str:
    return f"{month}/{cadre_code}"


@dataclass(frozen=True)
class CadreToOpen:
    cadre_id: int
    code: str
    full_name: str
    unit_id: int
    unit_name: str
    parent_unit_id: int | None
    is_leader: bool  # holds a leadership post: their score includes the unit-results criterion (§6.2)
    is_unit_head: bool  # heads the unit: their own evaluation is reviewed and decided at the level above
    user_id: int | None  # the cadre's active account: their self-assessment goes there
    # What a start reads of the instance's unit (`operations.start_refusal`), read with the plan: the ids of the
    # units above the cadre's (from the root down), and whether the cadre's unit and the one above it are active.
    ancestor_ids: tuple[int, ...] = field(kw_only=True)
    unit_is_active: bool = field(kw_only=True)
    parent_is_active: bool = field(kw_only=True)

    @property
    def _evaluated_above(self) -> bool:
        return self.is_unit_head and self.parent_unit_id is not None

    @property
    def instance_unit_id(self) -> int:
        """Where the evaluation is reviewed and decided: the cadre's unit, or the one above for its head."""
        return self.parent_unit_id if self._evaluated_above and self.parent_unit_id else self.unit_id

    @property
    def instance_unit_chain(self) -> tuple[int, ...]:
        """The instance's unit and the units above it (what `access.ancestry` reads for it)."""
        return self.ancestor_ids if self._evaluated_above else (*self.ancestor_ids, self.unit_id)

    @property
    def instance_unit_is_active(self) -> bool:
        return self.parent_is_active if self._evaluated_above else self.unit_is_active


@dataclass
class MonthPlan:
    month: str
    month_start: date
    unit: OrgUnit
    include_subunits: bool
    to_open: list[CadreToOpen] = field(default_factory=list)
    already_open: int = 0

    @property
    def without_account(self) -> int:
        """Cadres to open who have no active account: their self-assessment would reach nobody's inbox."""
        return sum(1 for cadre in self.to_open if cadre.user_id is None)

    def cadres_to_open(self, *, skip_without_account: bool) -> list[CadreToOpen]:
        """Who this opening starts: everyone planned, or only those with an account (the others are opened by a
        later run, once the administrator has given them one — opening is idempotent)."""
        if skip_without_account:
            return [cadre for cadre in self.to_open if cadre.user_id is not None]
        return list(self.to_open)


@dataclass
class OpenResult:
    opened: int = 0
    already_open: int = 0
    without_account: int = 0
    # Cadres whose start failed in a script of the model ({cadre code: the failure}): not opened, the failure noted
    # for the administrators (`record_start_failure`); opening the month again, once the model is fixed, opens them.
    failed: dict[str, ScriptFailure] = field(default_factory=dict)
    # Cadres an ordinary start would refuse ({cadre code: its message, `operations.start_refusal`}): not opened.
    refused: dict[str, str] = field(default_factory=dict)


def check_month(month: str, today: date | None = None) -> date:
    """A month the evaluation may be opened for: well-formed and not in the future; returns its first day."""
    month = (month or "").strip()
    problems = month_problems(month, today or local_today())
    if problems:
        raise Invalid("the month is not valid", problems)
    return date.fromisoformat(month + "-01")


def end_of_day(day: date) -> str:
    """A deadline is the end of its day in Vietnam's time; timers compare it in UTC."""
    return datetime.combine(day, time(23, 59, 59), VIETNAM_TZ).isoformat()


def can_open_for(session: Session, actor: User | None, unit_id: int) -> bool:
    """Personnel officers (and administrators) open months for the units they cover; the system may too."""
    if actor is None:
        return True
    chain = ancestry(session, unit_id)
    return any(holds_role_over(role_units(actor), role, chain) for role in OPENING_ROLES)


def current_successor(unit: OrgUnit) -> OrgUnit | None:
    """The unit a merged unit has become, following later mergers too; None for a unit that was not merged or whose
    links loop."""
    seen = {unit.id}
    current = unit.merged_into
    while current is not None and current.merged_into is not None and current.merged_into.id not in seen:
        seen.add(current.id)
        current = current.merged_into
    if current is not None and current.merged_into is not None:
        return None  # a loop: the unit it ends in is unknown
    return current


def plan_month(
    session: Session, *, actor: User | None, month: str, unit_code: str, include_subunits: bool = True
) -> MonthPlan:
    month_start = check_month(month)
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == (unit_code or "").strip()))
    if unit is None:
        raise NotFound(f"there is no unit with the code {unit_code!r}")
    if not can_open_for(session, actor, unit.id):
        raise NotAllowed("you may not open evaluations for this unit")
    successor = current_successor(unit)
    problems = closed_unit_problems(
        is_active=unit.is_active,
        active_to=unit.active_to,
        merged=unit.merged_into_id is not None,
        successor_name=successor.name if successor is not None else None,
        today=local_today(),
    )
    if problems:
        raise Invalid("a month cannot be opened for this unit", problems)
    plan = MonthPlan(month=month.strip(), month_start=month_start, unit=unit, include_subunits=include_subunits)

    cadre_unit = OrgUnit
    scope = in_subtree(cadre_unit, unit.id) if include_subunits else cadre_unit.id == unit.id
    already = (
        select(ProcessInstance.id)
        .where(
            ProcessInstance.process_id == PROCESS_ID,
            ProcessInstance.business_key == plan.month + "/" + Cadre.code,
        )
        .exists()
    )
    leadership = exists().where(
        CadrePosition.cadre_id == Cadre.id,
        CadrePosition.ended_on.is_(None),
        CadrePosition.position_id == Position.id,
        Position.is_leadership,
    )
    heads_unit = exists().where(
        User.cadre_id == Cadre.id,
        RoleAssignment.user_id == User.id,
        RoleAssignment.role == Role.HEAD,
        RoleAssignment.unit_id == Cadre.unit_id,
    )
    account = (
        select(User.id).where(User.cadre_id == Cadre.id, User.is_active).limit(1).correlate(Cadre).scalar_subquery()
    )
    parent_unit = aliased(OrgUnit)
    rows = session.execute(
        select(
            Cadre.id,
            Cadre.code,
            Cadre.full_name,
            Cadre.unit_id,
            OrgUnit.name,
            OrgUnit.path,
            OrgUnit.is_active,
            parent_unit.is_active,
            leadership,
            heads_unit,
            account,
        )
        .join(cadre_unit, Cadre.unit_id == cadre_unit.id)
        .outerjoin(parent_unit, parent_unit.id == cadre_unit.parent_id)
        .where(scope, Cadre.is_active, ~already)
        .order_by(OrgUnit.path, Cadre.code)
    ).all()
    for cadre_id, code, name, unit_id, unit_name, path, active, parent_active, is_leader, is_head, user_id in rows:
        ancestors = path_ancestors(path)
        plan.to_open.append(
            CadreToOpen(
                cadre_id=cadre_id,
                code=code,
                full_name=name,
                unit_id=unit_id,
                unit_name=unit_name,
                parent_unit_id=ancestors[-1] if ancestors else None,
                is_leader=bool(is_leader),
                is_unit_head=bool(is_head),
                user_id=user_id,
                ancestor_ids=tuple(ancestors),
                unit_is_active=bool(active),
                parent_is_active=bool(parent_active),
            )
        )
    plan.already_open = _count_open(session, plan)
    return plan


def _count_open(session: Session, plan: MonthPlan) -> int:
    scope = in_subtree(OrgUnit, plan.unit.id) if plan.include_subunits else OrgUnit.id == plan.unit.id
    query = (
        select(func.count(ProcessInstance.id))
        .join(Cadre, Cadre.id == ProcessInstance.subject_cadre_id)
        .join(OrgUnit, OrgUnit.id == Cadre.unit_id)
        .where(
            ProcessInstance.process_id == PROCESS_ID,
            ProcessInstance.business_key.like(f"{plan.month}/%"),
            scope,
        )
    )
    return session.scalar(query) or 0


def shared_data(month: str, policy: EvaluationPolicy) -> dict[str, Any]:
    """What every instance of the month starts with: the month, its deadlines, and the policy in force when it
    opened — kept in the instance so that an auditor sees which rules graded it."""
    due = period_deadlines(month, policy)
    return {
        "period": month,
        "return_count": 0,
        "deadline_self_assessment": end_of_day(due.self_assessment_due),
        "deadline_review": end_of_day(due.review_due),
        "deadline_decision": end_of_day(due.decision_due),
        "policy": policy.to_mapping(),
    }


def cadre_data(cadre: CadreToOpen, products: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What only this cadre's instance starts with: who, and the work products assigned for the month if known."""
    return {
        "cadre_code": cadre.code,
        "cadre_name": cadre.full_name,
        "cadre_unit_id": cadre.unit_id,
        "cadre_unit_name": cadre.unit_name,
        "is_leader": cadre.is_leader,
        "evaluated_above": cadre.is_unit_head,
        "products": [dict(p) for p in products],
    }


def start_request(month: str, cadre: CadreToOpen, products: Sequence[Mapping[str, Any]]) -> StartRequest:
    """One cadre's evaluation as a bulk start asks for it, with what the start's checks read of its unit."""
    return StartRequest(
        data=cadre_data(cadre, products),
        subject_cadre_id=cadre.cadre_id,
        unit_id=cadre.instance_unit_id,
        business_key=business_key(month, cadre.code),
        subject_user_id=cadre.user_id,
        unit_chain=cadre.instance_unit_chain,
        unit_is_active=cadre.instance_unit_is_active,
    )


def plan_refusals(plan: MonthPlan, actor: User | None) -> dict[str, str]:
    """{cadre code: the reason} for the cadres of the plan an ordinary start would refuse, which the opening will
    leave out (decision 0104): the bulk starts' own rule (`bulk.refusals`) on the requests the opening builds, decided
    in memory on what the plan read — nothing is asked of the database per cadre. For the preview (decision 0119)."""
    requests = [start_request(plan.month, cadre, ()) for cadre in plan.to_open]
    return {plan.to_open[index].code: reason for index, reason in refusals(actor, requests).items()}


def _existing_keys(session: Session, keys: list[str]) -> set[str]:
    if session.get_bind().dialect.name == "postgresql":
        # One array parameter: psycopg prepares a statement it sees often, and PostgreSQL's generic plan for a
        # thousand separate IN parameters turned this index lookup into a scan of the table (2.5 s per chunk).
        condition = ProcessInstance.business_key == func.any(bindparam("keys", keys, type_=ARRAY(String)))
    else:
        condition = ProcessInstance.business_key.in_(keys)
    query = select(ProcessInstance.business_key).where(ProcessInstance.process_id == PROCESS_ID, condition)
    return {key for key in session.scalars(query) if key is not None}


def open_for_cadres(
    session: Session,
    engine: ProcessEngine,
    *,
    actor: User | None,
    plan: MonthPlan,
    cadres: Iterable[CadreToOpen],
    policy: EvaluationPolicy,
    products: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> OpenResult:
    """Start one instance per cadre not yet open for the month, in the caller's transaction (leaders' at the level
    above, §6.2). All of them from one engine run when the process allows it (`bulk.start_many`), else from one run
    per cadre (`bulk.start_each`); either way the rows are written in a few statements per chunk and are the rows an
    ordinary start writes. A cadre whose ordinary start would be refused (the unit closed, the actor not covering
    it: `operations.start_refusal`) is left out and listed in `refused` with the reason. Run per cadre, a cadre whose
    start fails in a model script is left out and listed in `failed`, the failure noted for the administrators; the
    others are opened."""
    wanted = list(cadres)
    keys = {business_key(plan.month, c.code): c for c in wanted}
    existing = _existing_keys(session, list(keys))
    to_start = [c for key, c in keys.items() if key not in existing]
    result = OpenResult(opened=len(to_start), already_open=len(wanted) - len(to_start))
    result.without_account = sum(1 for c in to_start if c.user_id is None)
    shared = shared_data(plan.month, policy)
    requests = [start_request(plan.month, c, (products or {}).get(c.code, [])) for c in to_start]
    version = operations.latest_version(session, PROCESS_ID)
    if requests:
        require_in_use(version)
    try:
        started = start_many(
            session,
            engine,
            actor=actor,
            definition=engine.definition(session, version.id),
            version=version.version,
            shared=shared,
            requests=requests,
        )
    except BulkStartUnsupported:
        # The model reads a cadre's data before the first step (or the template was refused): the engine runs for
        # each cadre on its own data, and the rows are still written for the whole chunk at once (decision 0087).
        # A start whose script fails writes nothing, so the others of the chunk go on; the failure is noted once
        # per version, element and day (decision 0080).
        started = start_each(
            session,
            engine,
            actor=actor,
            definition=engine.definition(session, version.id),
            version=version.version,
            shared=shared,
            requests=requests,
        )
        result.failed = {to_start[index].code: failure for index, failure in started.failed.items()}
        noted: set[tuple[int | None, str | None]] = set()
        for error in result.failed.values():
            if (error.process_version_id, error.element_id) not in noted:
                noted.add((error.process_version_id, error.element_id))
                operations.record_start_failure(session, actor=None, error=error)
    # Left out as an ordinary start of each would refuse them (decision 0104): the others are opened.
    result.refused = {to_start[index].code: reason for index, reason in started.refused.items()}
    not_opened = result.failed.keys() | result.refused.keys()
    result.opened -= len(not_opened)
    result.without_account -= sum(1 for c in to_start if c.code in not_opened and c.user_id is None)
    return result


__all__ = [
    "CadreToOpen",
    "MonthPlan",
    "OpenResult",
    "business_key",
    "cadre_data",
    "can_open_for",
    "check_month",
    "current_successor",
    "open_for_cadres",
    "plan_month",
    "plan_refusals",
    "shared_data",
    "start_request",
]
