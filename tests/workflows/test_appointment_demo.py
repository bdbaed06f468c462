"""The demo's past appointment (workflows/appointment/demo.py): a whole appointment taken by the demo logins through
the services, weeks before the load, that an inspector can read — and that a second load does not repeat."""

from __future__ import annotations

import json
from datetime import UTC, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows.appointment import PROCESS_ID
from workflows.appointment.demo import PastAppointment, run_past_appointment
from workflows.audit import verify_chains
from workflows.db import transaction
from workflows.diagram import element_states_from_workflow
from workflows.models import AuditEvent, BallotBox, Notification, ProcessInstance
from workflows.registry.demo import load_demo_province
from workflows.registry.models import Cadre, CadrePosition, OrgUnit, PlanningEntry, PlanningStatus, Position, User
from workflows.registry.records import VIETNAM_TZ, local_today
from workflows.states import InstanceStatus

SMALL = 300  # every seat of the roster, the logins among them (tests/workflows/test_demo.py)


@pytest.fixture
def province(driver: WorkflowDriver, session_factory: sessionmaker[Session]) -> None:
    with session_factory() as s, transaction(s):
        load_demo_province(s, cadres=SMALL, today=local_today())


def _run(driver: WorkflowDriver) -> PastAppointment | None:
    with driver.session_factory() as s, transaction(s):
        return run_past_appointment(s, driver.engine, today=local_today())


def test_the_past_appointment_runs_to_its_decision_with_the_committees_votes(
    driver: WorkflowDriver, province: None
) -> None:
    past = _run(driver)
    assert past is not None and past.created
    today = local_today()
    with driver.session_factory() as s:
        instance = s.get(ProcessInstance, past.instance_id)
        assert instance is not None and instance.process_id == PROCESS_ID
        assert instance.status == InstanceStatus.COMPLETED
        head4 = s.scalars(select(User).where(User.username == "head4")).one()
        assert instance.subject_cadre_id == head4.cadre_id and past.nominee == head4.full_name
        # Weeks ago, not at the moment of the load: it started about two months back and was decided in the past.
        assert today - timedelta(days=75) < instance.started_dt.date() < today - timedelta(days=50)
        assert instance.ended_dt is not None and instance.ended_dt.date() < today
        assert past.decided_on == instance.ended_dt.replace(tzinfo=None).date()

        events = s.scalars(
            select(AuditEvent).where(AuditEvent.instance_id == instance.id).order_by(AuditEvent.seq)
        ).all()
        times = [event.occurred_dt for event in events]
        assert times == sorted(times) and len(set(times)) > 20  # taken over weeks, each action at its own minute
        # Who voted, at each of the four conferences: the committee's leaders other than the nominee, never how.
        voters = [event.actor_name for event in events if event.event_type == "ballot_cast"]
        assert voters == ["supervisor4", "head5", "head6"] * 4
        assert all(set(json.loads(e.payload)) == {"box_id"} for e in events if e.event_type == "ballot_cast")
        taken_by = {event.actor_name for event in events if event.event_type == "task_completed"}
        assert taken_by == {"personnel1", "auditor1", "head1"}

        boxes = s.scalars(select(BallotBox).where(BallotBox.instance_id == instance.id).order_by(BallotBox.id)).all()
        assert [box.step_key for box in boxes] == ["ballot_step2", "ballot_step3", "ballot_step4", "ballot_step5"]
        assert all(box.closed_dt is not None and box.tally["quorum_met"] for box in boxes)
        code = s.scalars(select(Cadre.code).where(Cadre.id == head4.cadre_id)).one()
        nominee_yes = [next(c["yes"] for c in box.tally["candidates"] if c["key"] == code) for box in boxes]
        assert nominee_yes == [3, 3, 2, 3]  # one member left the key cadres' opinion blank

        # The decision is on the cadre's record, dated in the past, and the plan for the post has ended.
        post = s.scalars(
            select(Position).join(OrgUnit).where(OrgUnit.code == "X001-UB", Position.title == "Phó Chủ tịch UBND")
        ).one()
        held = s.scalars(
            select(CadrePosition).where(
                CadrePosition.cadre_id == head4.cadre_id, CadrePosition.source_instance_id == instance.id
            )
        ).one()
        assert held.position_id == post.id and held.started_on < today
        # The posts she held until then ended before it (decision 0138: the day before, or the decision's day when it
        # takes effect later, the record holding no future dates): one post open, the new one.
        still_held = s.scalars(
            select(CadrePosition).where(CadrePosition.cadre_id == head4.cadre_id, CadrePosition.ended_on.is_(None))
        ).all()
        assert [p.id for p in still_held] == [held.id]
        left = s.scalars(
            select(CadrePosition).where(CadrePosition.cadre_id == head4.cadre_id, CadrePosition.id != held.id)
        ).all()
        assert left and all(p.ended_on is not None and p.ended_on < held.started_on for p in left)
        plan = s.scalars(
            select(PlanningEntry).where(PlanningEntry.cadre_id == head4.cadre_id, PlanningEntry.position_id == post.id)
        ).one()
        assert plan.status == PlanningStatus.REMOVED and plan.removal_instance_id == instance.id
        told = s.scalars(select(Notification).where(Notification.kind == "appointment_result")).all()
        assert told and all(n.created_dt == instance.ended_dt for n in told)  # on the day of the decision

        assert verify_chains(s).ok


def test_the_diagram_shows_the_path_the_appointment_took_and_no_repeated_conference(
    driver: WorkflowDriver, province: None
) -> None:
    past = _run(driver)
    assert past is not None
    with driver.session_factory() as s:
        instance = s.get(ProcessInstance, past.instance_id)
        assert instance is not None
        workflow = driver.engine.load(driver.engine.definition(s, instance.process_version_id), instance)
    _, steps = element_states_from_workflow(workflow)
    # Each conference had its quorum: none of the "vote again" flows back to a step was travelled, although both of
    # their ends were reached.
    for step in ("ballot_step2", "ballot_step3", "ballot_step4", "ballot_step5"):
        assert (f"gw_{step[len('ballot_') :]}", step) not in steps
        assert (step, f"gw_{step[len('ballot_') :]}") in steps
    # All four parallel clearances reached their join.
    for branch in ("dossier_checklist", "clearance_political", "clearance_residence", "clearance_inspection"):
        assert ("clearance_split", branch) in steps and (branch, "clearance_join") in steps


def test_a_second_load_finds_it_and_adds_nothing(driver: WorkflowDriver, province: None) -> None:
    first = _run(driver)
    second = _run(driver)
    assert first is not None and second is not None
    assert not second.created and second.instance_id == first.instance_id
    assert second.decided_on == first.decided_on
    with driver.session_factory() as s:
        count = s.scalar(
            select(func.count()).select_from(ProcessInstance).where(ProcessInstance.process_id == PROCESS_ID)
        )
        assert count == 1


def test_without_the_demo_province_there_is_nothing_to_appoint(driver: WorkflowDriver) -> None:
    assert _run(driver) is None
    with driver.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(ProcessInstance)) == 0


def test_the_steps_are_taken_on_working_days_in_office_hours(driver: WorkflowDriver, province: None) -> None:
    past = _run(driver)
    assert past is not None
    with driver.session_factory() as s:
        moments = s.scalars(select(AuditEvent.occurred_dt).where(AuditEvent.instance_id == past.instance_id)).all()
    local = [moment.replace(tzinfo=UTC).astimezone(VIETNAM_TZ) for moment in moments]
    assert local and all(moment.weekday() < 5 and 8 <= moment.hour < 17 for moment in local)
