"""Starting a rotation (luân chuyển): the checks a proposal must pass before anything is written.

The instance's unit is the receiving unit (its head confirms the arrival, the unit above it is the competent
authority: lanes "Đơn vị tiếp nhận" and "Cấp có thẩm quyền"); the subject is the cadre. The data a rotation starts
with is everything its hooks and gateways read: the key that finds the instance again (`rotation_key`, also its
business key), the cadre, the units, the post, the dates, the purpose and the policy in force.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows.access import ancestry, role_units
from workflows.appointment.facts import position_label
from workflows.assignment import holds_role_over
from workflows.engine.operations import start_instance
from workflows.engine.runtime import ProcessEngine
from workflows.engine.store import InstanceSnapshot
from workflows.errors import N_, Conflict, Invalid, NotAllowed, Problem
from workflows.models import ProcessInstance
from workflows.query_args import parse_id
from workflows.registry.models import Cadre, OrgUnit, Position, RotationRecord, User
from workflows.registry.records import local_today
from workflows.rotation import PROCESS_ID
from workflows.rotation.facts import rotation_facts
from workflows.rules.appointment import RuleResult
from workflows.rules.retirement import add_months
from workflows.rules.rotation import (
    DEFAULT_POLICY,
    RotationPolicy,
    check_rotation,
    period_problems,
    start_blockers,
)
from workflows.rules.step_deadlines import CALENDAR_KEY, CALENDAR_YEARS
from workflows.rules.workdays import DEFAULT_CALENDAR, WorkCalendar
from workflows.states import InstanceStatus, Role

__all__ = [
    "CERTAIN_TO_STOP",
    "NOT_MET",
    "STARTING_ROLES",
    "RotationRequest",
    "can_start_rotation",
    "preview_eligibility",
    "start_rotation",
]

STARTING_ROLES = (Role.PERSONNEL, Role.ADMIN)


def can_start_rotation(session: Session, actor: User | None, unit_id: int) -> bool:
    """The personnel body (or an administrator) over the unit; the system (operators) too."""
    if actor is None:
        return True
    chain = ancestry(session, unit_id)
    return any(holds_role_over(role_units(actor), role, chain) for role in STARTING_ROLES)


@dataclass(frozen=True)
class RotationRequest:
    cadre_code: str
    to_unit_id: int | None
    position_id: int | None
    starts_on: date | None
    planned_end_on: date | None  # the last day
    purpose: str
    purpose_note: str = ""


def _valid_id(value: int | None) -> bool:
    return isinstance(value, int) and parse_id(value) is not None


def _running_for(session: Session, cadre: Cadre) -> int | None:
    return session.scalar(
        select(ProcessInstance.id).where(
            ProcessInstance.process_id == PROCESS_ID,
            ProcessInstance.status == InstanceStatus.RUNNING,
            ProcessInstance.subject_cadre_id == cadre.id,
        )
    )


@dataclass(frozen=True)
class _CheckedRequest:
    """A rotation request read against the registry: what it names, and every problem found with it."""

    problems: list[Problem]
    cadre: Cadre | None
    to_unit: OrgUnit | None
    position: Position | None


def _checked_request(
    session: Session, actor: User | None, request: RotationRequest, policy: RotationPolicy
) -> _CheckedRequest:
    problems: list[Problem] = []
    cadre = session.scalar(select(Cadre).where(Cadre.code == (request.cadre_code or "").strip()))
    if cadre is None or not cadre.is_active or not can_start_rotation(session, actor, cadre.unit_id):
        problems.append(Problem("No active cadre in your scope has this code.", field="cadre"))
        cadre = None
    to_unit = session.get(OrgUnit, request.to_unit_id) if _valid_id(request.to_unit_id) else None
    if to_unit is None:
        problems.append(Problem("No such unit.", field="to_unit"))
    elif not can_start_rotation(session, actor, to_unit.id):
        problems.append(Problem("The receiving unit is outside your scope.", field="to_unit"))
        to_unit = None
    position = session.get(Position, request.position_id) if _valid_id(request.position_id) else None
    if position is None:
        problems.append(Problem("No such position.", field="position"))
    elif to_unit is not None and to_unit.id not in ancestry(session, position.unit_id):
        problems.append(Problem("The position does not belong to the receiving unit.", field="position"))
    if to_unit is not None and cadre is not None and to_unit.id in ancestry(session, cadre.unit_id):
        problems.append(Problem("The cadre already works in the receiving unit.", field="to_unit"))
    problems.extend(period_problems(request.starts_on, request.planned_end_on, today=local_today(), policy=policy))
    if request.purpose not in policy.purposes:
        problems.append(Problem("Choose the purpose of the rotation.", field="purpose"))
    elif request.purpose in policy.purposes_needing_note and not (request.purpose_note or "").strip():
        problems.append(Problem("Write the competent authority's grounds for this purpose.", field="purpose_note"))
    return _CheckedRequest(problems, cadre, to_unit, position)


def preview_eligibility(
    session: Session, *, actor: User | None, request: RotationRequest, policy: RotationPolicy = DEFAULT_POLICY
) -> list[RuleResult]:
    """The rules of rules/rotation.py (QĐ 65-QĐ/TW, NĐ 170/2025) on the chosen cadre and post before anything is
    started, one result each with its legal source, so the personnel officer sees a failing rule up front rather
    than at the step "Thẩm định" (which checks them again on the registry as it then stands, with the plan's
    approval and the exceptions given). Nothing is written. `Invalid`, naming every problem as `start_rotation`
    would, while the cadre (active, in the actor's scope), the receiving unit (in scope), its post or the period is
    not yet a valid choice: the rules cannot be run on it."""
    checked = _checked_request(session, actor, request, policy)
    if checked.problems:
        raise Invalid("The conditions cannot be checked until the choices below are put right.", checked.problems)
    return _results(session, checked, request, policy)


def _results(
    session: Session, checked: _CheckedRequest, request: RotationRequest, policy: RotationPolicy
) -> list[RuleResult]:
    """The rules on a request with no problems: as they stand before the plan is approved and before the
    eligibility check records its decisions."""
    assert checked.cadre is not None and checked.position is not None and request.to_unit_id is not None
    assert request.starts_on is not None
    facts = rotation_facts(
        session,
        checked.cadre.id,
        to_unit_id=request.to_unit_id,
        starts_on=request.starts_on,
        planned_end_on=request.planned_end_on,
        purpose=request.purpose or None,
        position_id=checked.position.id,
        purpose_note=(request.purpose_note or "").strip() or None,
        policy=policy,
    )
    return check_rotation(facts, policy=policy)


CERTAIN_TO_STOP = N_(
    "The rotation cannot be started: it would stop at the eligibility check, where the competent authority "
    "cannot set aside the conditions below. Nothing was saved."
)
NOT_MET = N_("%(rule)s not met: %(finding)s (%(source)s).")


def start_rotation(
    session: Session,
    engine: ProcessEngine,
    *,
    actor: User | None,
    request: RotationRequest,
    policy: RotationPolicy = DEFAULT_POLICY,
    calendar: WorkCalendar = DEFAULT_CALENDAR,
) -> InstanceSnapshot:
    """Start the rotation of a cadre to a post of another unit. The calendar in force at the start (WORK_CALENDAR)
    counts its steps' deadlines (decision 0139). Refused, with nothing written (`Invalid`, one
    problem per field), when: the cadre, unit or post does not exist; the receiving unit or the cadre is outside
    the actor's scope; the post is not in the receiving unit; the cadre already works there; the dates are missing,
    the first day lies outside the policy's window around today, or the rotation is shorter than the policy's
    minimum (NĐ 170 Điều 48: 36 months) or longer than its maximum (`period_problems`); the purpose is unknown or an
    "other" purpose has no note; a rule the competent authority cannot set aside is not met, so the rotation would
    stop at the eligibility check (`start_blockers`, one problem per rule, naming no field; decision 0136).
    `Conflict` while the cadre has a rotation running or not ended."""
    checked = _checked_request(session, actor, request, policy)
    cadre, to_unit, position = checked.cadre, checked.to_unit, checked.position
    starts, ends = request.starts_on, request.planned_end_on
    if checked.problems:
        raise Invalid("The rotation cannot be started.", checked.problems)
    assert cadre is not None and to_unit is not None and position is not None
    assert starts is not None and ends is not None
    if actor is not None and not can_start_rotation(session, actor, to_unit.id):
        raise NotAllowed("Only the personnel body over the receiving unit may start a rotation.")
    open_record = select(RotationRecord.id).where(
        RotationRecord.cadre_id == cadre.id, RotationRecord.ended_on.is_(None)
    )
    if (running := _running_for(session, cadre)) is not None:
        raise Conflict(
            "This cadre already has a rotation that has not ended: case %(instance_id)s.", {"instance_id": running}
        )
    if session.scalar(open_record) is not None:
        raise Conflict("This cadre already has a rotation that has not ended.")
    if blockers := start_blockers(_results(session, checked, request, policy), policy):
        # Decision 0136: a case certain to stop at the eligibility check is not started; the registry is put right
        # first (the plan, the hometown, the grade), or another cadre or post chosen.
        raise Invalid(
            CERTAIN_TO_STOP,
            [
                Problem(NOT_MET, message_args={"rule": r.rule, "finding": r.message, "source": r.source})
                for r in blockers
            ],
        )

    started = session.scalar(
        select(func.count())
        .select_from(ProcessInstance)
        .where(ProcessInstance.process_id == PROCESS_ID, ProcessInstance.subject_cadre_id == cadre.id)
    )
    key = f"{cadre.code}/{int(started or 0) + 1}"
    today = local_today()
    authority = to_unit.parent_id if to_unit.parent_id is not None else to_unit.id
    data = {
        "rotation_key": key,
        "cadre_code": cadre.code,
        "cadre_name": cadre.full_name,
        "cadre_unit_id": cadre.unit_id,
        "sending_unit_name": cadre.unit.name,
        "to_unit_id": to_unit.id,
        "to_unit_name": to_unit.name,
        "authority_unit_id": authority,
        "target_position_id": position.id,
        "target_position_title": position_label(position, position.unit),
        # QĐ 65 §4.4 step 4: a rotation onto a leadership post is also an appointment, voted by the collective.
        "is_appointment": bool(position.is_leadership),
        "starts_on": starts.isoformat(),
        "planned_end_on": ends.isoformat(),
        "purpose": request.purpose,
        "purpose_label": policy.purposes[request.purpose],
        "purpose_note": (request.purpose_note or "").strip(),
        "nominees": [{"key": cadre.code, "name": cadre.full_name}],
        "candidate_names": [{"key": cadre.code, "name": cadre.full_name}],
        "ballot_boxes_used": [],
        "policy": policy.to_mapping(),
        # The end-of-rotation review opens years later, near the rotation's last day: the calendar reaches past it.
        CALENDAR_KEY: calendar.between(
            today - timedelta(days=366), max(add_months(today, 12 * CALENDAR_YEARS), add_months(ends, 12))
        ).to_mapping(),
    }
    return start_instance(
        session,
        engine,
        actor=actor,
        process_id=PROCESS_ID,
        data=data,
        subject_cadre_id=cadre.id,
        unit_id=to_unit.id,
        business_key=key,
    )
