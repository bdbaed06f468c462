"""Starting an appointment, and the re-appointments the worker starts before a term ends.

The data an appointment starts with is everything its hooks and gateways read: the key that finds the instance
again (`appointment_key`, also its business key), the source, the nominee and the post, the policy in force, and
the first deadline (the policy decision within 15 working days, NĐ 170 Điều 33 k1).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from workflows.access import ancestry, role_units
from workflows.appointment import PROCESS_ID, Source
from workflows.appointment.facts import candidate_facts
from workflows.appointment.hooks import CALENDAR_KEY, POLICY_WORKING_DAYS, working_deadline
from workflows.assignment import holds_role_over, path_ancestors
from workflows.db import transaction
from workflows.deployment.operations import in_use
from workflows.engine.operations import record_start_failure, start_instance
from workflows.engine.runtime import ProcessEngine
from workflows.engine.store import InstanceSnapshot
from workflows.errors import N_, Conflict, Invalid, NotAllowed, NotFound, Problem, ScriptFailure, WorkflowError
from workflows.models import ProcessInstance, WorkerCursor
from workflows.query_args import parse_id
from workflows.registry.models import Cadre, CadrePosition, OrgUnit, Position, User
from workflows.registry.records import local_today
from workflows.rules.appointment import (
    DEFAULT_POLICY,
    AppointmentPolicy,
    RuleResult,
    check_eligibility,
    is_local_source,
    reappointment_due,
    reappointment_plan,
)
from workflows.rules.communes import UnitNode
from workflows.rules.retirement import FEMALE, MALE, add_months, retirement_date
from workflows.rules.step_deadlines import CALENDAR_YEARS
from workflows.rules.workdays import DEFAULT_CALENDAR, WorkCalendar
from workflows.states import InstanceStatus, Role

log = logging.getLogger(__name__)

STARTING_ROLES = (Role.PERSONNEL, Role.ADMIN)


def can_start_appointment(session: Session, actor: User | None, unit_id: int) -> bool:
    """The personnel body (or an administrator) over the post's unit; the system (worker, operators) too."""
    if actor is None:
        return True
    chain = ancestry(session, unit_id)
    return any(holds_role_over(role_units(actor), role, chain) for role in STARTING_ROLES)


def _unit_nodes(session: Session, cadre: Cadre, position: Position) -> dict[int, UnitNode]:
    """The cadre's unit, the post's unit and every unit above them, as `is_local_source` reads them."""
    ids = {*ancestry(session, cadre.unit_id), *ancestry(session, position.unit_id)}
    rows = session.execute(select(OrgUnit.id, OrgUnit.unit_type, OrgUnit.path).where(OrgUnit.id.in_(ids))).all()
    return {row.id: UnitNode(row.id, row.unit_type, tuple(path_ancestors(row.path))) for row in rows}


def _key_prefix(cadre: Cadre, position: Position) -> str:
    return f"/{cadre.code}/{position.id}/"


def _running_for(session: Session, cadre: Cadre, position: Position) -> int | None:
    return session.scalar(
        select(ProcessInstance.id).where(
            ProcessInstance.process_id == PROCESS_ID,
            ProcessInstance.status == InstanceStatus.RUNNING,
            ProcessInstance.business_key.contains(_key_prefix(cadre, position)),
        )
    )


def retirement_of(cadre: Cadre) -> date | None:
    """The cadre's retirement date as stored, else computed from the birth date and gender (a record stored before
    retirement dates were, or imported without one), as the re-appointment's age rule counts it; None when neither
    is known. The decision's term stops at it (NĐ 138 Điều 49): missing, it would be silently left uncapped."""
    if cadre.retirement_date is not None:
        return cadre.retirement_date
    if cadre.birth_date is not None and cadre.gender in (MALE, FEMALE):
        return retirement_date(cadre.birth_date, cadre.gender)
    return None


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _base_data(
    cadre: Cadre, position: Position, source: Source, key: str, policy: AppointmentPolicy, calendar: WorkCalendar
) -> dict:
    today = local_today()
    window = calendar.between(today - timedelta(days=366), add_months(today, 12 * CALENDAR_YEARS))
    return {
        "appointment_key": key,
        "source": str(source),
        "cadre_code": cadre.code,
        "cadre_name": cadre.full_name,
        "cadre_unit_id": cadre.unit_id,
        "target_position_id": position.id,
        "target_position_title": f"{position.title} ({position.unit.name})",
        "target_unit_id": position.unit_id,
        "retirement_date": _iso(retirement_of(cadre)),
        "nominees": [{"key": cadre.code, "name": cadre.full_name}],
        "candidate_names": [{"key": cadre.code, "name": cadre.full_name}],
        "ballot_boxes_used": [],
        "policy": policy.to_mapping(),
        # The calendar in force at the start (the app's WORK_CALENDAR setting): the hooks count the later
        # deadlines with it, so one procedure never mixes two calendars.
        CALENDAR_KEY: window.to_mapping(),
    }


NOT_FOUND_CADRE = N_("No active cadre has this code: type the name or code and pick from the suggestions.")


def _checked_request(
    session: Session,
    actor: User | None,
    *,
    cadre_code: str,
    position_id: int,
    source: str,
    policy: AppointmentPolicy,
    refusal: str,
) -> tuple[Cadre, Position]:
    """The cadre and the post an appointment request names, once every choice is valid; else `Invalid` (`refusal`,
    one problem per field) or `NotAllowed` (the post's unit outside the actor's scope) — the same answer for the
    start and for its preview, so the preview never runs the rules on a choice the start would refuse."""
    problems: list[Problem] = []
    cadre = session.scalar(select(Cadre).where(Cadre.code == (cadre_code or "").strip()))
    named = isinstance(position_id, int) and parse_id(position_id) is not None  # not True, not past MAX_ID
    position = session.get(Position, position_id) if named else None
    if cadre is None or not cadre.is_active:
        # Typed as a name, not picked from the page's suggestions, it reads as an unknown code: say how to pick.
        problems.append(Problem(NOT_FOUND_CADRE, field="cadre"))
    if position is None:
        problems.append(Problem("No such position.", field="position"))
    if source not in (Source.INTERNAL, Source.EXTERNAL):
        problems.append(Problem("Choose the local source or a source from elsewhere.", field="source"))
    if problems:
        raise Invalid(refusal, problems)
    assert cadre is not None and position is not None
    if not can_start_appointment(session, actor, position.unit_id):
        raise NotAllowed("Only the personnel body over this unit may start an appointment.")
    is_local = is_local_source(cadre.unit_id, position.unit_id, _unit_nodes(session, cadre, position), policy)
    if source == Source.INTERNAL and not is_local:
        problems.append(
            Problem("The cadre does not work in this unit: choose a source from elsewhere.", field="source")
        )
    if source == Source.EXTERNAL and is_local:
        problems.append(Problem("The cadre works in this unit: choose the local source.", field="source"))
    held = select(CadrePosition.id).where(
        CadrePosition.cadre_id == cadre.id, CadrePosition.position_id == position.id, CadrePosition.ended_on.is_(None)
    )
    if session.scalar(held) is not None:
        problems.append(Problem("The cadre already holds this position.", field="position"))
    if problems:
        raise Invalid(refusal, problems)
    return cadre, position


def preview_eligibility(
    session: Session,
    *,
    actor: User | None,
    cadre_code: str,
    position_id: int,
    source: str,
    policy: AppointmentPolicy = DEFAULT_POLICY,
) -> list[RuleResult]:
    """The rules of rules/appointment.py (QĐ 377-QĐ/TW Điều 34, NĐ 170/2025 Điều 29, HD 06) on the chosen cadre and
    post before anything is started, one result each with its legal source (`unknown` where the registry lacks a
    fact the rule needs), counted to today as if the dossier were received today. Advice only: the eligibility
    step of the procedure checks them again, to the day the dossier is received, on the registry as it then
    stands, and the competent authority may set a failed rule aside there. Nothing is written. Refused as
    `start_appointment` refuses a choice that is not valid yet (`Invalid`) or a post outside the actor's scope
    (`NotAllowed`); an appointment of the cadre already running is not refused here: it is the finding of the rule
    "no other procedure under way"."""
    cadre, position = _checked_request(
        session,
        actor,
        cadre_code=cadre_code,
        position_id=position_id,
        source=source,
        policy=policy,
        refusal=N_("The conditions cannot be checked until the choices below are put right."),
    )
    today = local_today()
    facts = candidate_facts(session, cadre.id, position.id, on=today, policy=policy)
    return check_eligibility(facts, dossier_received_on=today, policy=policy)


def start_appointment(
    session: Session,
    engine: ProcessEngine,
    *,
    actor: User | None,
    cadre_code: str,
    position_id: int,
    source: str,
    policy: AppointmentPolicy = DEFAULT_POLICY,
    calendar: WorkCalendar = DEFAULT_CALENDAR,
) -> InstanceSnapshot:
    """Start the appointment of a cadre to a post. Refused, with nothing written, when the cadre or post does not
    exist, the source does not match where the cadre works (local source: inside the post's unit, or its whole
    commune for a commune post — `is_local_source`; from elsewhere: outside it), the cadre already holds the post,
    or an appointment of this cadre to this post is running."""
    cadre, position = _checked_request(
        session,
        actor,
        cadre_code=cadre_code,
        position_id=position_id,
        source=source,
        policy=policy,
        refusal=N_("The appointment cannot be started."),
    )
    if (running := _running_for(session, cadre, position)) is not None:
        raise Conflict(
            "An appointment of this cadre to this position is already running: case %(instance_id)s.",
            {"instance_id": running},
        )

    started = session.scalar(
        select(func.count())
        .select_from(ProcessInstance)
        .where(
            ProcessInstance.process_id == PROCESS_ID,
            ProcessInstance.business_key.contains(_key_prefix(cadre, position)),
        )
    )
    key = f"{source}{_key_prefix(cadre, position)}{int(started or 0) + 1}"
    today = local_today()
    data = {
        **_base_data(cadre, position, Source(source), key, policy, calendar),
        "requested_on": today.isoformat(),
        # NĐ 170 Đ33 k1b: the competent authority decides on the policy within 15 working days.
        "deadline_policy": working_deadline(today, POLICY_WORKING_DAYS, calendar),
    }
    return start_instance(
        session,
        engine,
        actor=actor,
        process_id=PROCESS_ID,
        data=data,
        subject_cadre_id=cadre.id,
        unit_id=position.unit_id,
        business_key=key,
    )


# -- re-appointment ---------------------------------------------------------------------------------------------


def reappointment_key(held: CadrePosition, cadre: Cadre) -> str:
    return f"{Source.REAPPOINTMENT}/{cadre.code}/{held.position_id}/{held.id}"


def start_reappointment(
    session: Session,
    engine: ProcessEngine,
    *,
    actor: User | None,
    held: CadrePosition,
    policy: AppointmentPolicy = DEFAULT_POLICY,
    calendar: WorkCalendar = DEFAULT_CALENDAR,
) -> InstanceSnapshot:
    """The re-appointment of the term `held` (idempotent: the business key is the term's)."""
    cadre = held.cadre
    position = held.position
    if held.term_ends_on is None or held.ended_on is not None:
        raise Conflict("This position has no running term to renew.")
    if not can_start_appointment(session, actor, position.unit_id):
        raise NotAllowed("Only the personnel body over this unit may start a re-appointment.")
    plan = reappointment_plan(held.term_ends_on, retirement_of(cadre), policy)
    key = reappointment_key(held, cadre)
    data = {
        **_base_data(cadre, position, Source.REAPPOINTMENT, key, policy, calendar),
        "current_cadre_position_id": held.id,
        "current_term_ends_on": held.term_ends_on.isoformat(),
        "reappointment_kind": plan.kind,
        "reappointment_plan": plan.message,
        "proposed_term_ends_on": plan.new_term_ends_on.isoformat(),
        # NĐ 138 Điều 49: the decision is issued at least 1 working day before the term ends; escalate after that.
        "deadline_reappointment": working_deadline(held.term_ends_on, -1, calendar),
    }
    return start_instance(
        session,
        engine,
        actor=actor,
        process_id=PROCESS_ID,
        data=data,
        subject_cadre_id=cadre.id,
        unit_id=position.unit_id,
        business_key=key,
    )


@dataclass(frozen=True)
class StartedReappointment:
    instance_id: int
    cadre_code: str
    term_ends_on: date


def due_terms(
    session: Session,
    today: date,
    policy: AppointmentPolicy = DEFAULT_POLICY,
    calendar: WorkCalendar = DEFAULT_CALENDAR,
) -> list[CadrePosition]:
    """Terms that end within the lead time (NĐ 170 Đ39: ≥ 90 days before), still held, with no re-appointment."""
    lead = policy.reappointment_lead_days
    horizon = today + timedelta(days=lead * 2 if policy.reappointment_lead_in_working_days else lead)
    rows = session.scalars(
        select(CadrePosition)
        .join(Cadre, Cadre.id == CadrePosition.cadre_id)
        .where(
            CadrePosition.ended_on.is_(None),
            CadrePosition.term_ends_on.is_not(None),
            CadrePosition.term_ends_on <= horizon,
            CadrePosition.term_ends_on >= today,
            Cadre.is_active,
        )
        .order_by(CadrePosition.term_ends_on, CadrePosition.id)
    ).all()
    counted_in = calendar if policy.reappointment_lead_in_working_days else None
    due = [row for row in rows if row.term_ends_on and reappointment_due(row.term_ends_on, today, lead, counted_in)]
    if not due:
        return []
    keys = {reappointment_key(row, row.cadre): row for row in due}
    started = set(
        session.scalars(
            select(ProcessInstance.business_key).where(
                ProcessInstance.process_id == PROCESS_ID, ProcessInstance.business_key.in_(list(keys))
            )
        )
    )
    return [row for key, row in keys.items() if key not in started]


def start_due_reappointments(
    session_factory: sessionmaker[Session],
    engine: ProcessEngine,
    *,
    today: date | None = None,
    policy: AppointmentPolicy = DEFAULT_POLICY,
    calendar: WorkCalendar = DEFAULT_CALENDAR,
    limit: int = 200,
) -> list[StartedReappointment]:
    """The worker's step: one transaction per re-appointment, so one failure does not stop the others; a second
    worker racing on the same term loses on the business key and the next loop finds nothing to do."""
    today = today or local_today()
    with session_factory() as session:
        due = [
            (row.id, row.cadre.code, row.term_ends_on)
            for row in due_terms(session, today, policy, calendar)[:limit]
            if row.term_ends_on is not None
        ]
    done: list[StartedReappointment] = []
    for held_id, code, term_end in due:
        with session_factory() as session:
            try:
                with transaction(session):
                    held = session.get(CadrePosition, held_id)
                    if held is None:
                        continue
                    instance = start_reappointment(
                        session, engine, actor=None, held=held, policy=policy, calendar=calendar
                    )
                done.append(StartedReappointment(instance.id, code, term_end))
            except ScriptFailure as failure:
                # Rolled back; noted for /admin's "Needs attention" as a start from a page is (decision 0073).
                with transaction(session):
                    record_start_failure(session, actor=None, error=failure)
                log.error("re-appointment of %s (term ending %s) not started: %s", code, term_end, failure)
            except (IntegrityError, WorkflowError, NotFound) as error:
                log.error("re-appointment of %s (term ending %s) not started: %s", code, term_end, error)
    return done


__all__ = [
    "StartedReappointment",
    "can_start_appointment",
    "due_terms",
    "preview_eligibility",
    "start_appointment",
    "start_due_reappointments",
    "start_due_reappointments_daily",
    "start_reappointment",
]


REAPPOINTMENT_CURSOR = "reappointment_scan"


def start_due_reappointments_daily(
    session_factory: sessionmaker[Session],
    engine: ProcessEngine,
    *,
    today: date | None = None,
    policy: AppointmentPolicy = DEFAULT_POLICY,
    calendar: WorkCalendar = DEFAULT_CALENDAR,
) -> list[StartedReappointment]:
    """The worker loop's call: scans the terms once per day (a worker cursor holds the last day scanned), so the
    poll stays cheap; a day whose scan left a term unstarted (an error was logged) is scanned again next loop."""
    today = today or local_today()
    with session_factory() as session:
        cursor = session.get(WorkerCursor, REAPPOINTMENT_CURSOR)
        if cursor is not None and cursor.position >= today.toordinal():
            return []
        withdrawn = not in_use(session, PROCESS_ID)
    if withdrawn:
        # Said once a day, not at every poll; the terms stay due and start on the first day it is in use again.
        log.warning("the appointment procedure is withdrawn from use: no re-appointment started on %s", today)
        _scanned(session_factory, today)
        return []
    started = start_due_reappointments(session_factory, engine, today=today, policy=policy, calendar=calendar)
    with session_factory() as session:
        if due_terms(session, today, policy, calendar):
            return started  # something failed to start: try again on the next loop
    _scanned(session_factory, today)
    return started


def _scanned(session_factory: sessionmaker[Session], today: date) -> None:
    with session_factory() as session, transaction(session):
        row = session.get(WorkerCursor, REAPPOINTMENT_CURSOR)
        if row is None:
            session.add(WorkerCursor(name=REAPPOINTMENT_CURSOR, position=today.toordinal()))
        else:
            row.position = today.toordinal()
