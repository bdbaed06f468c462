"""Starting a planning review of a unit for a term: building the plan of the next term, or the annual review.

The data a review starts with is everything its hooks and gateways read: the key that finds the instance again
(`planning_key`, also its business key), the variant, the unit and the term, the policy in force and the titles the
party committee votes on. One review of a unit and term runs at a time.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.access import ancestry, role_units, units_under_roles
from workflows.assignment import holds_role_over
from workflows.engine.operations import start_instance
from workflows.engine.runtime import ProcessEngine
from workflows.engine.store import InstanceSnapshot
from workflows.errors import Conflict, Invalid, NotAllowed, Problem
from workflows.models import ProcessInstance
from workflows.planning import PROCESS_ID
from workflows.planning.steps import committee_titles_at
from workflows.registry.models import OrgUnit, User
from workflows.registry.records import local_today
from workflows.registry.units import in_tree_order
from workflows.rules.communes import COMMUNE_TYPES
from workflows.rules.planning import DEFAULT_POLICY, PlanningPolicy, term_problems
from workflows.rules.retirement import add_months
from workflows.rules.step_deadlines import CALENDAR_KEY, CALENDAR_YEARS
from workflows.rules.workdays import DEFAULT_CALENDAR, WorkCalendar
from workflows.states import InstanceStatus, Role

__all__ = ["STARTING_ROLES", "Variant", "can_start_planning", "start_planning", "startable_units"]

STARTING_ROLES = (Role.PERSONNEL, Role.ADMIN)


class Variant(StrEnum):
    TERM = "term"  # building the plan of the next term (domain rules §2.3)
    ANNUAL = "annual"  # the annual review: screening, removals, additions (§2.4)


def can_start_planning(session: Session, actor: User | None, unit_id: int) -> bool:
    """The personnel body (or an administrator) over the unit; the system (operators) too."""
    if actor is None:
        return True
    chain = ancestry(session, unit_id)
    return any(holds_role_over(role_units(actor), role, chain) for role in STARTING_ROLES)


def startable_units(session: Session, actor: User) -> list[tuple[OrgUnit, int]]:
    """The units `actor` may start a planning review for, each with its depth, in tree order: the active units in
    the subtrees where they hold a starting role. Planning is done at each level — the province, its departments,
    the communes and their bodies (domain rules §2, §0) — so every one of them, not only the top of the scope."""
    return in_tree_order(units_under_roles(session, actor, STARTING_ROLES))


def start_planning(
    session: Session,
    engine: ProcessEngine,
    *,
    actor: User | None,
    unit_code: str,
    term: str,
    variant: str,
    policy: PlanningPolicy = DEFAULT_POLICY,
    calendar: WorkCalendar = DEFAULT_CALENDAR,
) -> InstanceSnapshot:
    """Start a planning review. Refused, with nothing written, when the unit does not exist, the term (written like
    2026-2031, as long as a term in the policy, near the present: `term_problems`) or the variant is not valid
    (`Invalid`), the actor does not oversee the unit (`NotAllowed`), or a review of the unit and term is
    already running (`Conflict`)."""
    problems: list[Problem] = []
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == (unit_code or "").strip(), OrgUnit.is_active))
    if unit is None:
        problems.append(Problem("No active unit has this code.", field="unit"))
    term = re.sub(r"\s*[-–—]\s*", "-", (term or "").strip())  # "2026 - 2031", "2026–2031": as people type it
    problems.extend(term_problems(term, today=local_today(), policy=policy))
    if variant not in set(Variant):
        problems.append(Problem("Choose the annual review or the plan of a new term.", field="variant"))
    if problems:
        raise Invalid("The planning review cannot be started.", problems)
    assert unit is not None
    if not can_start_planning(session, actor, unit.id):
        raise NotAllowed("Only the personnel body over this unit may start a planning review.")
    prefix = f"/{unit.code}/{term}/"
    reviews = select(ProcessInstance.status).where(
        ProcessInstance.process_id == PROCESS_ID, ProcessInstance.business_key.contains(prefix)
    )
    found = session.execute(reviews.add_columns(ProcessInstance.id)).all()
    if running := [instance_id for status, instance_id in found if status == InstanceStatus.RUNNING]:
        raise Conflict(
            "A planning review of this unit and term is already running: case %(instance_id)s.",
            {"instance_id": running[0]},
        )
    key = f"{variant}{prefix}{len(found) + 1}"
    commune_level = session.scalar(
        select(OrgUnit.id)
        .where(OrgUnit.id.in_(ancestry(session, unit.id)), OrgUnit.unit_type.in_(COMMUNE_TYPES))
        .limit(1)
    )
    data = start_data(
        key, variant, term, unit, local_today(), policy, commune_level=commune_level is not None, calendar=calendar
    )
    return start_instance(
        session, engine, actor=actor, process_id=PROCESS_ID, data=data, unit_id=unit.id, business_key=key
    )


def start_data(
    key: str,
    variant: str,
    term: str,
    unit: OrgUnit,
    requested_on: date,
    policy: PlanningPolicy,
    *,
    commune_level: bool = True,
    calendar: WorkCalendar = DEFAULT_CALENDAR,
) -> dict[str, Any]:
    """What a planning review starts with: the model's gateways read every one of these keys. `commune_level`: the
    unit is a commune, ward or special zone or lies in one (its committee titles are the commune's). The calendar
    in force at the start (WORK_CALENDAR), around the review's year, counts its steps' deadlines (decision 0120)."""
    window = calendar.between(requested_on - timedelta(days=366), add_months(requested_on, 12 * CALENDAR_YEARS))
    return {
        "planning_key": key,
        "variant": str(variant),
        "term": term,
        "unit_id": unit.id,
        "unit_code": unit.code,
        "unit_name": unit.name,
        "requested_on": requested_on.isoformat(),
        "policy": policy.to_mapping(),
        "committee_title_codes": committee_titles_at(commune_level),
        "removals": [],
        "nominees": [],
        "has_nominees": False,
        "has_committee_nominees": False,
        "ballot_boxes_used": [],
        CALENDAR_KEY: window.to_mapping(),
    }
