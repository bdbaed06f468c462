"""The appointment process (bpmn/appointment.bpmn) driven through the services, step by step: the internal source
from policy to decision with seven members voting, the external source, a failed eligibility overridden with a
recorded reason, the re-appointment started by the worker; refusals that change nothing."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.appointment import (
    ALL_DOCUMENTS,
    NOMINEE,
    attend,
    close,
    open_ballot,
    recent,
    run_ballot,
    setup_appointment,
    start,
    today_text,
    vote,
)
from tests.fixtures.ballots import user
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows.appointment.steps import Next
from workflows.audit import verify_chains
from workflows.errors import Conflict, Invalid
from workflows.models import AuditEvent, Notification, ProcessInstance
from workflows.registry.models import Cadre, CadrePosition
from workflows.registry.records import local_today
from workflows.states import InstanceStatus

YES = {NOMINEE: "yes"}


@pytest.fixture
def world(driver: WorkflowDriver, session_factory: sessionmaker[Session]) -> dict[str, Any]:
    return setup_appointment(session_factory)


def _complete(driver: WorkflowDriver, instance_id: int, key: str, username: str, data: dict | None = None) -> None:
    driver.complete(username, driver.task(instance_id, key).id, data or {})


def _data(driver: WorkflowDriver, instance_id: int) -> dict[str, Any]:
    with driver.session_factory() as s:
        row = s.get(ProcessInstance, instance_id)
        assert row is not None
        version = driver.engine.definition(s, row.process_version_id)
        workflow = driver.engine.load(version, row)
        return dict(workflow.last_task.data) if workflow.last_task else {}


def _verify(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as s:
        report = verify_chains(s)
        assert report.ok, report


def _everyone_votes(members: dict[str, int], marks: dict[str, str]) -> dict[str, dict[str, str]]:
    return {name: marks for name in members}


def _to_policy(driver: WorkflowDriver, instance_id: int) -> None:
    _complete(driver, instance_id, "eligibility_policy", "personnel1", {"dossier_received_on": today_text()})
    _complete(driver, instance_id, "policy_decision", "leader1", {"policy_decision": "approve"})


def _clearances_and_final_check(driver: WorkflowDriver, instance_id: int) -> None:
    dossier = {"documents_received": ALL_DOCUMENTS, "photo_taken_on": recent(), "health_certificate_on": recent()}
    _complete(driver, instance_id, "dossier_checklist", "personnel1", dossier)
    _complete(driver, instance_id, "clearance_political", "personnel1", {"political_result": "cleared"})
    _complete(driver, instance_id, "clearance_residence", "personnel1", {"residence_result": "cleared"})
    _complete(driver, instance_id, "clearance_inspection", "auditor1", {"inspection_result": "cleared"})
    _complete(driver, instance_id, "eligibility_final", "personnel1", {"dossier_received_on": today_text()})


def _decide(driver: WorkflowDriver, instance_id: int, effective: date) -> None:
    _complete(driver, instance_id, "submission", "personnel1", {"submission_summary": "Tờ trình bổ nhiệm"})
    decision = {"final_decision": "approve", "decision_number": "123/QĐ-UBND", "effective_on": effective.isoformat()}
    _complete(driver, instance_id, "decision", "leader1", decision)


def test_internal_source_from_policy_to_decision(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    members = world["members"]
    instance_id = start(session_factory, driver.engine, world["post_id"])
    _to_policy(driver, instance_id)
    data = _data(driver, instance_id)
    assert data["eligible"] is True
    assert [r["rule"] for r in data["eligibility"]][:2] == ["planning", "time_in_post"]
    assert data["deadline_process"] > data["deadline_policy"]
    _complete(driver, instance_id, "step1_conference", "personnel1", {"held_on": today_text(), "minutes_summary": "x"})

    # The step cannot be completed before its ballot is held and closed.
    with pytest.raises(Invalid):
        _complete(driver, instance_id, "ballot_step2", "personnel1")
    box = open_ballot(session_factory, driver.engine, instance_id, members.values())
    attend(session_factory, box, members.values())
    with pytest.raises(Conflict):  # one box per step
        open_ballot(session_factory, driver.engine, instance_id, members.values())
    for name in members:
        vote(session_factory, box, name, YES)
    with pytest.raises(Invalid):  # still open
        _complete(driver, instance_id, "ballot_step2", "personnel1")
    close(session_factory, box)
    _complete(driver, instance_id, "ballot_step2", "personnel1")
    data = _data(driver, instance_id)
    assert "_tally_ballot_step2" in data and "tally_ballot_step2" not in data  # step 2 is not announced
    assert data["ballot_next"] == Next.PROCEED

    run_ballot(session_factory, driver.engine, instance_id, members, _everyone_votes(members, YES))
    _complete(driver, instance_id, "ballot_step3", "personnel1")
    data = _data(driver, instance_id)
    assert data["tally_ballot_step3"]["elected"] == [NOMINEE]  # step 3 is announced

    run_ballot(session_factory, driver.engine, instance_id, members, _everyone_votes(members, YES))
    _complete(driver, instance_id, "ballot_step4", "personnel1")
    _clearances_and_final_check(driver, instance_id)
    run_ballot(session_factory, driver.engine, instance_id, members, _everyone_votes(members, YES))
    _complete(driver, instance_id, "ballot_step5", "personnel1")
    effective = local_today() + timedelta(days=3)
    _decide(driver, instance_id, effective)

    assert driver.instance(instance_id).status == InstanceStatus.COMPLETED
    with session_factory() as s:
        cadre = s.scalars(select(Cadre).where(Cadre.code == NOMINEE)).one()
        held = s.scalars(select(CadrePosition).where(CadrePosition.cadre_id == cadre.id)).one()
        assert held.position_id == world["post_id"]
        assert held.started_on == effective
        assert held.term_ends_on == date(effective.year + 5, effective.month, effective.day) - timedelta(days=1)
        assert held.source_instance_id == instance_id
        told = s.scalars(select(Notification.user_id).where(Notification.kind == "appointment_result")).all()
        assert user(s, "officer2").id in told and user(s, "head1").id in told
        # Ballot contents never entered the audit log: only "a member voted".
        casts = s.scalars(select(AuditEvent.payload).where(AuditEvent.event_type == "ballot_cast")).all()
        assert casts and all(set(json.loads(p)) == {"box_id"} for p in casts)
    _verify(session_factory)
