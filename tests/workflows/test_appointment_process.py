"""The appointment process (bpmn/appointment.bpmn) driven through the services, step by step: the internal source
from policy to decision with seven members voting, the external source, a failed eligibility overridden with a
recorded reason, the re-appointment started by the worker; refusals that change nothing."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.appointment import (
    ALL_DOCUMENTS,
    NOMINEE,
    OUTSIDER,
    add_commune_pc_post,
    attend,
    close,
    deploy_appointment_version,
    deploy_shared_ballot_form_version,
    open_ballot,
    recent,
    run_ballot,
    setup_appointment,
    start,
    today_text,
    vote,
)
from tests.fixtures.ballots import ballot_tables, unit_id, user
from tests.fixtures.inspection import assert_every_export_verifies
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows import ballots, clock
from workflows.appointment import PROCESS_ID
from workflows.appointment import hooks as appointment_hooks
from workflows.appointment.service import (
    start_appointment,
    start_due_reappointments,
    start_due_reappointments_daily,
)
from workflows.appointment.steps import STEPS, Confidence, Next, after_ballot, confidence_level
from workflows.audit import verify_chains
from workflows.db import transaction
from workflows.deployment.operations import reinstate_process, retire_process
from workflows.errors import Conflict, Invalid, NotAllowed
from workflows.inbox import InboxFilters, inbox_page
from workflows.instances import load_instance_detail
from workflows.models import AuditEvent, BallotBox, Notification, ProcessInstance
from workflows.planning.facts import nomination_facts
from workflows.production.figures import read_figures
from workflows.registry.models import Cadre, CadrePosition, OrgUnit, PlanningEntry, PlanningStatus, Position
from workflows.registry.records import (
    VIETNAM_TZ,
    add_planning_entry,
    add_position,
    cadre_chain,
    local_today,
    remove_planning_entry,
)
from workflows.rules.appointment import DEFAULT_POLICY, REAPPOINTMENT_RULES, AppointmentPolicy
from workflows.rules.ballots import CandidateCount, tally
from workflows.rules.planning import RULE_TITLES_PER_CADRE, check_nomination
from workflows.rules.retirement import add_months, retirement_date
from workflows.rules.workdays import DEFAULT_CALENDAR
from workflows.states import InstanceStatus
from workflows.timers import run_due_timers

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


def _shown(driver: WorkflowDriver, instance_id: int) -> dict[str, Any]:
    """The procedure's data as the instance page shows it (every branch's, decision 0051)."""
    with driver.session_factory() as s:
        detail = load_instance_detail(s, driver.engine, user(s, "personnel1"), instance_id)
    return {item.key: item.value for item in detail.data}


def _verify(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as s:
        report = verify_chains(s)
        assert report.ok, report
        assert_every_export_verifies(s)


def _nominee_term_ends(session_factory: sessionmaker[Session], world: dict[str, Any], term_end: date) -> None:
    """The nominee holds the post since 2022 on a term that ends on `term_end`: a re-appointment comes due."""
    with session_factory() as s, transaction(s):
        cadre = s.scalars(select(Cadre).where(Cadre.code == NOMINEE)).one()
        add_position(s, None, cadre, position_id=world["post_id"], started_on="2022-01-01", term_ends_on=term_end)


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
    _complete(driver, instance_id, "eligibility_final", "personnel1", {"final_dossier_received_on": today_text()})


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


def _appoint(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any], effective: date
) -> int:
    """The nominee through the whole internal-source procedure, every ballot unanimous, to an approved decision."""
    instance_id = start(session_factory, driver.engine, world["post_id"])
    _to_decision(driver, session_factory, world, instance_id)
    _decide(driver, instance_id, effective)
    return instance_id


def _to_decision(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any], instance_id: int
) -> None:
    """An internal-source procedure from its start to its submission, every ballot unanimous."""
    members = world["members"]
    _to_policy(driver, instance_id)
    _complete(driver, instance_id, "step1_conference", "personnel1", {"held_on": today_text(), "minutes_summary": "x"})
    for step in ("ballot_step2", "ballot_step3", "ballot_step4", "ballot_step5"):
        if step == "ballot_step5":
            _clearances_and_final_check(driver, instance_id)
        run_ballot(session_factory, driver.engine, instance_id, members, _everyone_votes(members, YES))
        _complete(driver, instance_id, step, "personnel1")


def _commune_title(session_factory: sessionmaker[Session], title: str, code: str) -> int:
    with session_factory() as s, transaction(s):
        x001 = s.scalars(select(OrgUnit.id).where(OrgUnit.code == "X001")).one()
        post = Position(title=title, unit_id=x001, level="commune", is_leadership=True, title_code=code)
        s.add(post)
        s.flush()
        return post.id


def test_an_appointment_ends_the_plan_for_the_post_and_frees_its_place_among_the_3_titles(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """Decision 0113 (the reviewer's case): the nominee is planned for the vice-chair post and two more commune
    titles. Appointed, the entry for the post ends — removed, the decision its reason, this procedure its remover,
    an event on the cadre's chain — in the completion's transaction; the other two stay; nominating a third commune
    title is no longer refused by the 3 titles per cadre, and the registry writes it."""
    front, inspection = (
        _commune_title(session_factory, "Chủ tịch Ủy ban MTTQ xã", "commune_front_chair"),
        _commune_title(session_factory, "Chủ nhiệm UBKT Đảng ủy xã", "commune_inspection_chair"),
    )
    chair = _commune_title(session_factory, "Chủ tịch UBND xã", "commune_pc_chair")
    with session_factory() as s, transaction(s):
        nominee = s.scalars(select(Cadre).where(Cadre.code == NOMINEE)).one()
        for position_id in (front, inspection):
            add_planning_entry(s, None, nominee, position_id=position_id, term="2026-2031")
        nominee_id = nominee.id
    with session_factory() as s:
        refused = check_nomination(nomination_facts(s, nominee_id, chair, "2026-2031"), on=local_today())
        assert not next(r for r in refused if r.rule == RULE_TITLES_PER_CADRE).passed  # 3 of 3 before

    effective = local_today() + timedelta(days=3)
    instance_id = _appoint(driver, session_factory, world, effective)

    assert driver.instance(instance_id).status == InstanceStatus.COMPLETED
    with session_factory() as s:
        entries = {
            e.position_id: e for e in s.scalars(select(PlanningEntry).where(PlanningEntry.cadre_id == nominee_id))
        }
        ended = entries[world["post_id"]]
        assert (ended.status, ended.removal_instance_id) == (PlanningStatus.REMOVED, instance_id)
        assert ended.removed_on == local_today()  # the decision takes effect later: the plan holds no future day
        assert ended.reason is not None and ended.reason.startswith(
            f"Đã được bổ nhiệm vào chức danh quy hoạch (Quyết định số 123/QĐ-UBND, hiệu lực từ "
            f"{effective.strftime('%d/%m/%Y')})"
        )
        assert "QĐ 377-QĐ/TW" in ended.reason
        assert {entries[p].status for p in (front, inspection)} == {PlanningStatus.ACTIVE}
        events = s.execute(
            select(AuditEvent.event_type, AuditEvent.payload, AuditEvent.actor_id)
            .where(AuditEvent.chain_key == cadre_chain(nominee_id))
            .order_by(AuditEvent.seq)
        ).all()
        removals = [(json.loads(p), a) for t, p, a in events if t == "planning_entry_removed"]
        assert len(removals) == 1
        payload, actor_id = removals[0]
        assert payload["record_id"] == ended.id and actor_id == user(s, "leader1").id
        assert payload["changes"]["removal_instance_id"]["to"] == instance_id
        assert payload["changes"]["reason"]["to"] == ended.reason
        # The position is written before the plan leaves it, both by the decision's completion.
        kinds = [t for t, _, _ in events]
        assert kinds.index("cadre_position_added") < kinds.index("planning_entry_removed")

        results = check_nomination(nomination_facts(s, nominee_id, chair, "2026-2031"), on=local_today())
        titles = next(r for r in results if r.rule == RULE_TITLES_PER_CADRE)
        assert titles.passed and "thêm chức danh này là 3/3" in titles.message, titles.message
    with session_factory() as s, transaction(s):
        nominee = s.scalars(select(Cadre).where(Cadre.code == NOMINEE)).one()
        add_planning_entry(s, None, nominee, position_id=chair, term="2026-2031")
    _verify(session_factory)


def test_a_refused_appointment_leaves_the_plan_as_it_was(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    members = world["members"]
    instance_id = start(session_factory, driver.engine, world["post_id"])
    _to_policy(driver, instance_id)
    _complete(driver, instance_id, "step1_conference", "personnel1", {"held_on": today_text(), "minutes_summary": "x"})
    for step in ("ballot_step2", "ballot_step3", "ballot_step4", "ballot_step5"):
        if step == "ballot_step5":
            _clearances_and_final_check(driver, instance_id)
        run_ballot(session_factory, driver.engine, instance_id, members, _everyone_votes(members, YES))
        _complete(driver, instance_id, step, "personnel1")
    _complete(driver, instance_id, "submission", "personnel1", {"submission_summary": "Tờ trình bổ nhiệm"})
    refusal = {"final_decision": "reject", "decision_reason": "Chưa phù hợp"}
    _complete(driver, instance_id, "decision", "leader1", refusal)
    assert driver.instance(instance_id).status == InstanceStatus.COMPLETED
    with session_factory() as s:
        statuses = s.scalars(select(PlanningEntry.status).where(PlanningEntry.position_id == world["post_id"])).all()
        assert statuses == [PlanningStatus.ACTIVE, PlanningStatus.ACTIVE]  # the nominee's and the outsider's
        assert not s.scalars(select(AuditEvent.id).where(AuditEvent.event_type == "planning_entry_removed")).all()


def test_each_ballot_step_has_its_own_note(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """Decision 0053: the ballot steps shared one form and its `ballot_note`, so step 3's form opened with step 2's
    note and overwrote it. Each step's note is its own: a later step opens empty, a refusal points at the step's own
    field, and every note stays in the data."""
    members = world["members"]
    instance_id = start(session_factory, driver.engine, world["post_id"])
    _to_policy(driver, instance_id)
    _complete(driver, instance_id, "step1_conference", "personnel1", {"held_on": today_text(), "minutes_summary": "x"})
    notes = {
        "ballot_step2": "Hội nghị mở rộng: 7/7 có mặt",
        "ballot_step3": "Đã công bố kết quả bước 2",
        "ballot_step4": "Phiếu có ký tên: 2",
        "ballot_step5": "Biểu quyết lần 3",
    }
    for step, note in notes.items():
        if step == "ballot_step5":
            _clearances_and_final_check(driver, instance_id)
        task = driver.task(instance_id, step)
        assert driver.prefill("personnel1", task.id) == {}
        with pytest.raises(Invalid) as refused:  # the box has not been held yet
            driver.complete("personnel1", task.id, {f"{step}_note": note})
        assert [p.field for p in refused.value.problems] == [f"{step}_note"]
        run_ballot(session_factory, driver.engine, instance_id, members, _everyone_votes(members, YES))
        driver.complete("personnel1", task.id, {f"{step}_note": note})
    assert {t.task_key for t in driver.open_tasks(instance_id)} == {"submission"}
    data = _data(driver, instance_id)
    assert {f"{step}_note": note for step, note in notes.items()}.items() <= data.items()
    assert "ballot_note" not in data


def test_an_old_versions_ballot_form_is_refused_at_its_own_note_field(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """An instance on a version from before decision 0053 shows the shared ballot form, whose note is `ballot_note`:
    "hold the vote first" names that field, the one its form has, not the step's new key it lacks."""
    version = deploy_shared_ballot_form_version(session_factory)
    instance_id = start(session_factory, driver.engine, world["post_id"])
    assert driver.version_of(instance_id) == version
    _to_policy(driver, instance_id)
    _complete(driver, instance_id, "step1_conference", "personnel1", {"held_on": today_text(), "minutes_summary": "x"})
    task = driver.task(instance_id, "ballot_step2")
    with pytest.raises(Invalid) as refused:
        driver.complete("personnel1", task.id, {"ballot_note": "Hội nghị mở rộng"})
    assert [p.field for p in refused.value.problems] == ["ballot_note"]
    run_ballot(session_factory, driver.engine, instance_id, world["members"], _everyone_votes(world["members"], YES))
    driver.complete("personnel1", task.id, {"ballot_note": "Hội nghị mở rộng"})
    assert _data(driver, instance_id)["ballot_note"] == "Hội nghị mở rộng"


def test_a_refused_value_is_said_once_and_the_rules_that_need_it_are_skipped(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """A date that is no date is the schema's to say, not again by the hook; a decision missing leaves the reason
    of a refusal unasked (it is not known to be one); each with nothing written."""
    instance_id = start(session_factory, driver.engine, world["post_id"])
    with pytest.raises(Invalid) as refused:
        _complete(driver, instance_id, "eligibility_policy", "personnel1", {"dossier_received_on": "31/02/2026"})
    assert [(p.field, p.message) for p in refused.value.problems] == [
        ("dossier_received_on", "must be a date written yyyy-mm-dd")
    ]
    _complete(driver, instance_id, "eligibility_policy", "personnel1", {"dossier_received_on": today_text()})
    with pytest.raises(Invalid) as refused:
        _complete(driver, instance_id, "policy_decision", "leader1", {})
    assert [p.field for p in refused.value.problems] == ["policy_decision"]
    assert {t.task_key for t in driver.open_tasks(instance_id)} == {"policy_decision"}
    _verify(session_factory)


def test_external_source_votes_at_the_sending_unit(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    with pytest.raises(Invalid) as refused:  # officer3 works in X002: not the local source of X001
        start(session_factory, driver.engine, world["post_id"], OUTSIDER)
    assert refused.value.problems[0].field == "source"
    instance_id = start(session_factory, driver.engine, world["post_id"], OUTSIDER, source="external")
    _to_policy(driver, instance_id)
    assert {t.task_key for t in driver.open_tasks(instance_id)} == {"ext_consult_receiving"}
    _complete(
        driver, instance_id, "ext_consult_receiving", "personnel1", {"held_on": today_text(), "minutes_summary": "y"}
    )
    _clearances_and_final_check(driver, instance_id)
    senders = world["senders"]
    with pytest.raises(Invalid):  # the sending unit votes, not the receiving one
        open_ballot(session_factory, driver.engine, instance_id, world["members"].values())
    # 2 of 4 summoned: exactly 50% → the head decides (NĐ 170 Đ33 k3).
    marks = {"sender1": {OUTSIDER: "yes"}, "sender2": {OUTSIDER: "yes"}, "sender3": {OUTSIDER: "no"}}
    marks["sender4"] = {OUTSIDER: "no"}
    tally = run_ballot(session_factory, driver.engine, instance_id, senders, marks)
    assert tally["outcome"] == "head_decides"
    _complete(driver, instance_id, "ballot_sending_unit", "personnel1")
    head_task = driver.task(instance_id, "head_final")
    with pytest.raises(Invalid):
        driver.complete("head1", head_task.id, {"final_head_choice": "CB0001", "final_head_reason": "x"})
    driver.complete("head1", head_task.id, {"final_head_choice": OUTSIDER, "final_head_reason": "Đáp ứng yêu cầu"})
    _decide(driver, instance_id, local_today())
    with session_factory() as s:
        cadre = s.scalars(select(Cadre).where(Cadre.code == OUTSIDER)).one()
        assert s.scalars(select(CadrePosition.position_id).where(CadrePosition.cadre_id == cadre.id)).all() == [
            world["post_id"]
        ]
    _verify(session_factory)


def test_failed_eligibility_goes_on_only_with_a_recorded_exception(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    instance_id = start(session_factory, driver.engine, world["post_id"], "CB0001")  # not planned, no grade
    _complete(driver, instance_id, "eligibility_policy", "personnel1", {"dossier_received_on": today_text()})
    data = _data(driver, instance_id)
    assert data["eligible"] is False
    assert {"planning", "annual_grade"} <= set(data["eligibility_failed"])
    assert all(r["message"] and r["source"] for r in data["eligibility"])
    task = driver.task(instance_id, "exception_policy")
    with pytest.raises(Invalid):  # a blank reason
        driver.complete("leader1", task.id, {"exception_decision": "exception", "exception_reason": "   "})
    with pytest.raises(NotAllowed):  # only the competent authority
        driver.complete("head1", task.id, {"exception_decision": "exception", "exception_reason": "x"})
    reason = "Đơn vị mới thành lập, chưa có quy hoạch được duyệt"
    driver.complete("leader1", task.id, {"exception_decision": "exception", "exception_reason": reason})
    assert {t.task_key for t in driver.open_tasks(instance_id)} == {"policy_decision"}
    with session_factory() as s:
        changes = s.scalars(
            select(AuditEvent.payload).where(
                AuditEvent.instance_id == instance_id, AuditEvent.event_type == "data_changed"
            )
        ).all()
    assert any(reason in payload and "planning" in payload for payload in changes)
    _verify(session_factory)


def _to_final_exception(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any], reason: str
) -> int:
    """CB0001 (not planned, no grade): an exception granted at the policy stage with `reason`, the nomination
    ballots, the clearances, and the re-check fails again: the final review is open."""
    # officer1 is CB0001: the nominee does not vote on their own appointment.
    members, code = {name: i for name, i in world["members"].items() if name != "officer1"}, "CB0001"
    instance_id = start(session_factory, driver.engine, world["post_id"], code)
    _complete(driver, instance_id, "eligibility_policy", "personnel1", {"dossier_received_on": today_text()})
    granted = {"exception_decision": "exception", "exception_reason": reason}
    _complete(driver, instance_id, "exception_policy", "leader1", granted)
    _complete(driver, instance_id, "policy_decision", "leader1", {"policy_decision": "approve"})
    _complete(driver, instance_id, "step1_conference", "personnel1", {"held_on": today_text(), "minutes_summary": "x"})
    # Step 2's slip also names CB0002, planned for the post in the same commune (decision 0121); step 3 votes on the
    # one it chose.
    marks = {"ballot_step2": {code: "yes", NOMINEE: "no"}, "ballot_step3": {code: "yes"}, "ballot_step4": {code: "yes"}}
    for step in ("ballot_step2", "ballot_step3", "ballot_step4"):
        run_ballot(session_factory, driver.engine, instance_id, members, _everyone_votes(members, marks[step]))
        _complete(driver, instance_id, step, "personnel1")
    _clearances_and_final_check(driver, instance_id)
    assert {t.task_key for t in driver.open_tasks(instance_id)} == {"exception_final"}
    return instance_id


def test_the_final_exception_review_decides_afresh(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """Decision 0052: the final review has its own keys, so an exception granted at the policy stage neither
    prefills it ("go on" and the old reason ready to pass) nor is overwritten by it."""
    policy_reason = "Đơn vị mới thành lập, chưa có quy hoạch được duyệt"
    instance_id = _to_final_exception(driver, session_factory, world, policy_reason)
    task = driver.task(instance_id, "exception_final")
    opened = driver.prefill("leader1", task.id)
    assert not opened.get("final_exception_decision") and not opened.get("final_exception_reason")
    assert "exception_decision" not in opened and "exception_reason" not in opened
    with pytest.raises(Invalid):  # the policy stage's reason does not stand in for the final review's
        driver.complete("leader1", task.id, {"final_exception_decision": "exception"})
    with pytest.raises(Invalid):  # the old keys are not on the final review's form
        driver.complete("leader1", task.id, {"exception_decision": "exception", "exception_reason": "x"})
    final_reason = "Đã có quyết định phê duyệt quy hoạch bổ sung, chờ cập nhật"
    granted = {"final_exception_decision": "exception", "final_exception_reason": final_reason}
    driver.complete("leader1", task.id, granted)
    assert {t.task_key for t in driver.open_tasks(instance_id)} == {"ballot_step5"}
    data = _data(driver, instance_id)
    assert (data["exception_decision"], data["exception_reason"]) == ("exception", policy_reason)
    assert (data["final_exception_decision"], data["final_exception_reason"]) == ("exception", final_reason)
    recorded = data["eligibility_exceptions"]
    assert [(e["stage"], e["reason"]) for e in recorded] == [("policy", policy_reason), ("final", final_reason)]
    assert all("planning" in e["rules"] for e in recorded)
    _verify(session_factory)


def test_the_final_exception_review_can_stop(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    instance_id = _to_final_exception(driver, session_factory, world, "Trường hợp đặc biệt")
    stop = {"final_exception_decision": "stop", "final_exception_reason": "Quy hoạch bổ sung không được duyệt"}
    _complete(driver, instance_id, "exception_final", "leader1", stop)
    assert driver.instance(instance_id).status == InstanceStatus.COMPLETED
    data = _data(driver, instance_id)
    assert data["exception_decision"] == "exception" and data["final_exception_decision"] == "stop"
    with session_factory() as s:
        notes = s.scalars(select(Notification).where(Notification.kind == "appointment_result")).all()
        assert notes and all("Quy hoạch bổ sung không được duyệt" in (n.body or "") for n in notes)
        assert s.scalars(select(CadrePosition).where(CadrePosition.source_instance_id == instance_id)).all() == []
    _verify(session_factory)


def _exactly_half(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any], step: str
) -> None:
    """The step's ballot among six of the collective (all present): three for the nominee, exactly 50%."""
    six = dict(list(world["members"].items())[:6])
    box = open_ballot(session_factory, driver.engine, world["instance_id"], six.values())
    attend(session_factory, box, six.values())
    for n, name in enumerate(six):
        vote(session_factory, box, name, YES if n < 3 else {NOMINEE: "no"})
    assert close(session_factory, box)["outcome"] == "head_decides"
    _complete(driver, world["instance_id"], step, "personnel1")


def test_the_final_re_check_and_the_heads_final_choice_open_empty(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """The re-check is made on its own date and note, and the head decides the final vote's tie afresh: neither
    form opens with what was entered at the policy check or on the nomination ballot's tie (decision 0052)."""
    members = world["members"]
    instance_id = world["instance_id"] = start(session_factory, driver.engine, world["post_id"])
    policy_check = {"dossier_received_on": recent(20), "eligibility_note": "Hồ sơ đề nghị chủ trương"}
    _complete(driver, instance_id, "eligibility_policy", "personnel1", policy_check)
    _complete(driver, instance_id, "policy_decision", "leader1", {"policy_decision": "approve"})
    _complete(driver, instance_id, "step1_conference", "personnel1", {"held_on": today_text(), "minutes_summary": "x"})
    run_ballot(session_factory, driver.engine, instance_id, members, _everyone_votes(members, YES))
    _complete(driver, instance_id, "ballot_step2", "personnel1")
    _exactly_half(driver, session_factory, world, "ballot_step3")
    head_step3 = driver.task(instance_id, "head_step3")
    driver.complete("head1", head_step3.id, {"head_choice": NOMINEE, "head_reason": "Lý do ở bước 3"})
    run_ballot(session_factory, driver.engine, instance_id, members, _everyone_votes(members, YES))
    _complete(driver, instance_id, "ballot_step4", "personnel1")
    dossier = {"documents_received": ALL_DOCUMENTS, "photo_taken_on": recent(), "health_certificate_on": recent()}
    _complete(driver, instance_id, "dossier_checklist", "personnel1", dossier)
    _complete(driver, instance_id, "clearance_political", "personnel1", {"political_result": "cleared"})
    _complete(driver, instance_id, "clearance_residence", "personnel1", {"residence_result": "cleared"})
    _complete(driver, instance_id, "clearance_inspection", "auditor1", {"inspection_result": "cleared"})
    recheck = driver.task(instance_id, "eligibility_final")
    assert driver.prefill("personnel1", recheck.id) == {}
    driver.complete("personnel1", recheck.id, {"final_dossier_received_on": today_text()})
    data = _data(driver, instance_id)
    assert data["dossier_received_on"] == policy_check["dossier_received_on"]
    assert data["final_dossier_received_on"] == today_text()
    _exactly_half(driver, session_factory, world, "ballot_step5")
    head_final = driver.task(instance_id, "head_final")
    assert driver.prefill("head1", head_final.id) == {}
    driver.complete("head1", head_final.id, {"final_head_choice": NOMINEE, "final_head_reason": "Lý do ở bước 5"})
    assert {t.task_key for t in driver.open_tasks(instance_id)} == {"submission"}
    data = _data(driver, instance_id)
    assert (data["head_choice"], data["head_reason"]) == (NOMINEE, "Lý do ở bước 3")
    assert (data["final_head_choice"], data["final_head_reason"]) == (NOMINEE, "Lý do ở bước 5")
    _verify(session_factory)


def test_stopping_for_ineligibility_ends_and_tells_the_cadre(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    instance_id = start(session_factory, driver.engine, world["post_id"], "CB0001")
    _complete(driver, instance_id, "eligibility_policy", "personnel1", {"dossier_received_on": today_text()})
    stop = {"exception_decision": "stop", "exception_reason": "Không có trong quy hoạch"}
    _complete(driver, instance_id, "exception_policy", "leader1", stop)
    assert driver.instance(instance_id).status == InstanceStatus.COMPLETED
    with session_factory() as s:
        notes = s.scalars(select(Notification).where(Notification.user_id == user(s, "officer1").id)).all()
        assert any("Không có trong quy hoạch" in (n.body or "") for n in notes)
        assert s.scalars(select(CadrePosition)).all() == []


def test_policy_deadline_escalates_without_interrupting(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    instance_id = start(session_factory, driver.engine, world["post_id"])
    _complete(driver, instance_id, "eligibility_policy", "personnel1", {"dossier_received_on": today_text()})
    clock.set_now(clock.now() + timedelta(days=40))  # 15 working days are at most ~3 weeks plus holidays
    run_due_timers(session_factory, driver.engine)
    assert {t.task_key for t in driver.open_tasks(instance_id)} == {"policy_decision", "escalate_policy"}
    _complete(driver, instance_id, "policy_decision", "leader1", {"policy_decision": "approve"})
    assert "step1_conference" in {t.task_key for t in driver.open_tasks(instance_id)}
    clock.set_now(clock.now() + timedelta(days=60))
    run_due_timers(session_factory, driver.engine)
    assert "escalate_process" in {t.task_key for t in driver.open_tasks(instance_id)}
    # Decision 0053: each escalation writes its own field, so the procedure's data keeps both.
    _complete(driver, instance_id, "escalate_policy", "personnel1", {"policy_instruction": "Đã nhắc lãnh đạo"})
    process = driver.task(instance_id, "escalate_process")
    assert driver.prefill("leader1", process.id) == {}
    _complete(driver, instance_id, "escalate_process", "leader1", {"process_instruction": "Hoàn thành trong tuần"})
    shown = _shown(driver, instance_id)
    assert (shown["policy_instruction"], shown["process_instruction"]) == ("Đã nhắc lãnh đạo", "Hoàn thành trong tuần")
    _verify(session_factory)


def test_after_the_policy_deadline_the_instance_shows_the_procedures_data_not_the_escalations(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """The policy deadline's escalation runs in its own branch, with the data as it stood when the decision step
    opened. Once the decision is taken and the escalation then done, the instance page shows both — the branch
    that moved last held only the escalation's copy, without the decision."""
    instance_id = start(session_factory, driver.engine, world["post_id"])
    _complete(driver, instance_id, "eligibility_policy", "personnel1", {"dossier_received_on": today_text()})
    clock.set_now(clock.now() + timedelta(days=40))
    run_due_timers(session_factory, driver.engine)
    _complete(driver, instance_id, "policy_decision", "leader1", {"policy_decision": "approve"})
    _complete(driver, instance_id, "escalate_policy", "personnel1", {"policy_instruction": "Đã nhắc lãnh đạo"})
    shown = _shown(driver, instance_id)
    assert shown["policy_instruction"] == "Đã nhắc lãnh đạo"
    assert shown["policy_decision"] == "Đồng ý chủ trương"  # the form's label of "approve"
    assert shown["eligible"] is True


def test_quorum_failure_holds_the_step_again(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    members = world["members"]
    instance_id = start(session_factory, driver.engine, world["post_id"])
    _to_policy(driver, instance_id)
    _complete(driver, instance_id, "step1_conference", "personnel1", {"held_on": today_text(), "minutes_summary": "x"})
    box = open_ballot(session_factory, driver.engine, instance_id, members.values())
    attend(session_factory, box, list(members.values())[:4])  # 4 of 7 < 2/3
    assert close(session_factory, box)["outcome"] == "quorum_failed"
    _complete(driver, instance_id, "ballot_step2", "personnel1")
    assert _data(driver, instance_id)["ballot_next"] == Next.REPEAT
    assert {t.task_key for t in driver.open_tasks(instance_id)} == {"ballot_step2"}
    # The repeated step takes a new box; the old one is spent.
    run_ballot(session_factory, driver.engine, instance_id, members, _everyone_votes(members, YES))
    _complete(driver, instance_id, "ballot_step2", "personnel1")
    assert {t.task_key for t in driver.open_tasks(instance_id)} == {"ballot_step3"}


def test_a_nominee_voted_down_at_step_5_ends_not_nominated(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    members = world["members"]
    instance_id = start(session_factory, driver.engine, world["post_id"])
    _to_policy(driver, instance_id)
    _complete(driver, instance_id, "step1_conference", "personnel1", {"held_on": today_text(), "minutes_summary": "x"})
    for step in ("ballot_step2", "ballot_step3", "ballot_step4"):
        run_ballot(session_factory, driver.engine, instance_id, members, _everyone_votes(members, YES))
        _complete(driver, instance_id, step, "personnel1")
    _clearances_and_final_check(driver, instance_id)
    run_ballot(session_factory, driver.engine, instance_id, members, _everyone_votes(members, {NOMINEE: "no"}))
    _complete(driver, instance_id, "ballot_step5", "personnel1")
    assert driver.instance(instance_id).status == InstanceStatus.COMPLETED
    with session_factory() as s:
        assert s.scalars(select(CadrePosition)).all() == []


@pytest.mark.parametrize(
    ("step", "tally", "nominees", "expected"),
    [
        ("ballot_step2", {"outcome": "quorum_failed"}, ["A"], (Next.REPEAT, ("A",))),
        # Step 2 (decision 0121) hands on whom its slip chose or carried forward, and the nominee if not among them.
        ("ballot_step2", {"outcome": "runoff", "runoff": ["A", "B"]}, ["A"], (Next.PROCEED, ("A", "B"))),
        ("ballot_step2", {"outcome": "runoff", "runoff": ["C", "B"]}, ["A"], (Next.PROCEED, ("C", "B", "A"))),
        ("ballot_step2", {"outcome": "elected", "elected": ["B"]}, ["A"], (Next.PROCEED, ("B", "A"))),
        ("ballot_step2", {"outcome": "elected", "elected": ["A"]}, ["A"], (Next.PROCEED, ("A",))),
        (
            "ballot_step2",
            {"outcome": "head_decides", "head_decides": ["B", "C"]},
            ["A"],
            (Next.PROCEED, ("B", "C", "A")),
        ),
        ("ballot_step2", {"outcome": "not_elected"}, ["A"], (Next.PROCEED, ("A",))),
        ("ballot_step2", {"outcome": "quorum_failed", "runoff": []}, ["A", "B"], (Next.REPEAT, ("A", "B"))),
        ("ballot_step3", {"outcome": "elected", "elected": ["A"]}, ["A", "B"], (Next.PROCEED, ("A",))),
        ("ballot_step3", {"outcome": "elected", "elected": ["B"]}, ["A", "B"], (Next.STOP, ("A", "B"))),
        ("ballot_step3", {"outcome": "runoff", "runoff": ["B", "A"]}, ["A"], (Next.PROCEED, ("B", "A"))),
        ("ballot_step3", {"outcome": "runoff", "runoff": ["B", "C"]}, ["A"], (Next.STOP, ("A",))),
        ("ballot_step3", {"outcome": "head_decides", "head_decides": ["A", "B"]}, ["A"], (Next.HEAD, ("A",))),
        ("ballot_step4", {"outcome": "not_elected"}, ["A"], (Next.PROCEED, ("A",))),
        ("ballot_step5", {"outcome": "not_elected"}, ["A"], (Next.STOP, ("A",))),
        ("ballot_step5", {"outcome": "head_decides", "head_decides": ["A"]}, ["A"], (Next.HEAD, ("A",))),
        ("ballot_reappointment", {"outcome": "elected", "elected": ["A"]}, ["A"], (Next.PROCEED, ("A",))),
    ],
)
def test_where_the_procedure_goes_after_a_ballot(
    step: str, tally: dict, nominees: list[str], expected: tuple[Next, tuple[str, ...]]
) -> None:
    after = after_ballot(step, tally, "A", nominees)
    assert (after.next, after.nominees) == expected


@pytest.mark.parametrize(
    ("yes", "outcome", "handed"),
    [
        ({"B": 4, "A": 2, "C": 1}, "elected", ("B", "A")),  # B above half: chosen, the nominee goes on beside
        ({"A": 5, "B": 1, "C": 1}, "elected", ("A",)),
        ({"B": 3, "C": 3, "A": 1}, "runoff", ("B", "C", "A")),  # nobody above half: the top two, then the nominee
        ({"A": 3, "B": 2, "C": 2}, "runoff", ("A", "B", "C")),  # a tie at the cut carries both
    ],
)
def test_the_nomination_slips_tally_hands_on_the_chosen_or_the_top_two(
    yes: dict[str, int], outcome: str, handed: tuple[str, ...]
) -> None:
    """§3.4 step 2 (decision 0121): one name per slip among 7 summoned and present; what step 3 votes on."""
    rules = STEPS["ballot_step2"].rules
    assert (rules.seats, rules.announce) == (1, False)
    candidates = ["A", "B", "C"]
    counts = {key: CandidateCount(yes=yes[key], no=7 - yes[key]) for key in candidates}
    result = tally(rules, candidates, counts, members=7, summoned=7, present=7, issued=7, returned=7, valid=7)
    assert result.outcome == outcome
    after = after_ballot("ballot_step2", result.to_json(), "A", ["A"])
    assert (after.next, after.nominees) == (Next.PROCEED, handed)


def test_start_refusals_write_nothing(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    before = ballot_tables(session_factory)
    with session_factory() as s:
        for code, position, source, error in [
            ("NOPE", world["post_id"], "internal", Invalid),
            (NOMINEE, 999999, "internal", Invalid),
            (NOMINEE, world["post_id"], "sideways", Invalid),
        ]:
            with pytest.raises(error), transaction(s):
                start_appointment(
                    s, driver.engine, actor=user(s, "personnel1"), cadre_code=code, position_id=position, source=source
                )
        with pytest.raises(NotAllowed), transaction(s):  # an officer cannot start their own appointment
            start_appointment(
                s,
                driver.engine,
                actor=user(s, "officer2"),
                cadre_code=NOMINEE,
                position_id=world["post_id"],
                source="internal",
            )
    assert ballot_tables(session_factory) == before
    start(session_factory, driver.engine, world["post_id"])
    with pytest.raises(Conflict):  # one running appointment per cadre and post
        start(session_factory, driver.engine, world["post_id"])


def test_the_local_source_of_a_post_in_the_communes_peoples_committee_is_the_whole_commune(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """NĐ 170 Điều 33 k2: a cadre of commune X001 is the local source for a post of X001's people's committee (a unit
    under the commune), a cadre of X002 is not — and with the whole-commune pool switched off only the committee's
    own people are."""
    post_id = add_commune_pc_post(session_factory)
    before = ballot_tables(session_factory)
    with session_factory() as s:
        refusals = [
            (OUTSIDER, "internal", AppointmentPolicy()),  # another commune
            (NOMINEE, "external", AppointmentPolicy()),  # works in the commune: not from elsewhere
            (NOMINEE, "internal", AppointmentPolicy(local_source_whole_commune=False)),  # X001 is not X001-UB
        ]
        for code, source, policy in refusals:
            with pytest.raises(Invalid) as refused, transaction(s):
                start_appointment(
                    s,
                    driver.engine,
                    actor=user(s, "personnel1"),
                    cadre_code=code,
                    position_id=post_id,
                    source=source,
                    policy=policy,
                )
            assert [problem.field for problem in refused.value.problems] == ["source"]
    assert ballot_tables(session_factory) == before
    instance_id = start(session_factory, driver.engine, post_id, code=NOMINEE, source="internal")
    with session_factory() as s:
        instance = s.get(ProcessInstance, instance_id)
        assert instance is not None and instance.business_key == f"internal/{NOMINEE}/{post_id}/1"
    assert start(session_factory, driver.engine, post_id, code=OUTSIDER, source="external")


def test_reappointment_started_by_the_worker(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    today = local_today()
    term_end = today + timedelta(days=60)
    with session_factory() as s, transaction(s):
        cadre = s.scalars(select(Cadre).where(Cadre.code == NOMINEE)).one()
        add_position(
            s,
            None,
            cadre,
            position_id=world["post_id"],
            started_on=term_end - timedelta(days=5 * 365),
            term_ends_on=term_end,
        )
    started = start_due_reappointments(session_factory, driver.engine, today=today)
    assert [(r.cadre_code, r.term_ends_on) for r in started] == [(NOMINEE, term_end)]
    assert start_due_reappointments(session_factory, driver.engine, today=today) == []  # idempotent
    instance_id = started[0].instance_id
    members = world["members"]
    _complete(driver, instance_id, "self_report", "officer2", {"self_report": "Hoàn thành tốt nhiệm vụ"})
    run_ballot(session_factory, driver.engine, instance_id, members, _everyone_votes(members, YES))
    _complete(driver, instance_id, "ballot_confidence", "personnel1", {"ballot_confidence_note": "18/20 có mặt"})
    data = _data(driver, instance_id)
    assert "_tally_ballot_confidence" in data and "tally_ballot_confidence" not in data  # not announced
    assert data["_confidence_level"] == "normal"
    _complete(driver, instance_id, "head_proposal", "head1", {"proposal": "reappoint", "proposal_comment": "Tốt"})
    with session_factory() as s, transaction(s):  # §3.8: planning is not a condition of renewing the same post
        cadre = s.scalars(select(Cadre).where(Cadre.code == NOMINEE)).one()
        [entry] = s.scalars(select(PlanningEntry).where(PlanningEntry.cadre_id == cadre.id)).all()
        remove_planning_entry(s, None, cadre, entry.id, reason="Đã bổ nhiệm")
    _clearances_and_final_check(driver, instance_id)
    data = _data(driver, instance_id)
    assert data["eligible"] is True, data["eligibility"]  # no exception needed
    rules = {r["rule"]: r for r in data["eligibility"]}
    assert list(rules) == list(REAPPOINTMENT_RULES)
    assert rules["planning"]["passed"] and "không xét" in rules["planning"]["message"]
    assert {t.task_key for t in driver.open_tasks(instance_id)} == {"ballot_reappointment"}
    assert driver.prefill("personnel1", driver.task(instance_id, "ballot_reappointment").id) == {}  # decision 0053
    run_ballot(session_factory, driver.engine, instance_id, members, _everyone_votes(members, YES))
    _complete(driver, instance_id, "ballot_reappointment", "personnel1", {"ballot_reappointment_note": "7/7"})
    data = _data(driver, instance_id)
    assert (data["ballot_confidence_note"], data["ballot_reappointment_note"]) == ("18/20 có mặt", "7/7")
    _decide(driver, instance_id, term_end + timedelta(days=1))
    with session_factory() as s:
        cadre = s.scalars(select(Cadre).where(Cadre.code == NOMINEE)).one()
        rows = s.scalars(
            select(CadrePosition).where(CadrePosition.cadre_id == cadre.id).order_by(CadrePosition.id)
        ).all()
        assert len(rows) == 2 and rows[0].ended_on is not None and rows[1].ended_on is None
        assert rows[1].started_on == term_end + timedelta(days=1)
    _verify(session_factory)


def test_the_worker_scans_terms_once_a_day(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    today = local_today()
    assert start_due_reappointments_daily(session_factory, driver.engine, today=today) == []
    _nominee_term_ends(session_factory, world, today + timedelta(days=30))
    # Scanned already today: the new term waits for tomorrow's scan (or `canbo appointment reappointments`).
    assert start_due_reappointments_daily(session_factory, driver.engine, today=today) == []
    tomorrow = start_due_reappointments_daily(session_factory, driver.engine, today=today + timedelta(days=1))
    assert [r.cadre_code for r in tomorrow] == [NOMINEE]


def test_no_reappointment_starts_while_the_appointment_procedure_is_withdrawn(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any], caplog
) -> None:
    """Decision 0050: the worker skips the day's scan (said once, not at every poll); the term stays due and its
    re-appointment starts on the first day the procedure is in use again."""
    today = local_today()
    _nominee_term_ends(session_factory, world, today + timedelta(days=30))
    with session_factory() as s, transaction(s):
        retire_process(s, actor=user(s, "admin"), process_id=PROCESS_ID, reason="Chờ quy định mới")
    with caplog.at_level(logging.WARNING):
        assert start_due_reappointments_daily(session_factory, driver.engine, today=today) == []
        assert start_due_reappointments_daily(session_factory, driver.engine, today=today) == []
    assert sum("withdrawn from use" in r.getMessage() for r in caplog.records) == 1
    with session_factory() as s, transaction(s):
        reinstate_process(s, actor=user(s, "admin"), process_id=PROCESS_ID, reason="Đã có quy định mới")
    started = start_due_reappointments_daily(session_factory, driver.engine, today=today + timedelta(days=1))
    assert [r.cadre_code for r in started] == [NOMINEE]


def test_reappointment_escalates_when_the_last_day_for_the_decision_passes(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    today = local_today()
    _nominee_term_ends(session_factory, world, today + timedelta(days=20))
    [started] = start_due_reappointments(session_factory, driver.engine, today=today)
    assert _data(driver, started.instance_id)["deadline_reappointment"] < (today + timedelta(days=20)).isoformat()
    run_due_timers(session_factory, driver.engine)
    assert {t.task_key for t in driver.open_tasks(started.instance_id)} == {"self_report"}
    clock.set_now(clock.now() + timedelta(days=21))
    run_due_timers(session_factory, driver.engine)
    assert {t.task_key for t in driver.open_tasks(started.instance_id)} == {"self_report", "escalate_reappointment"}
    _verify(session_factory)


@pytest.mark.parametrize(
    ("no", "denominator", "quorum_met", "expected"),
    [
        (3, 7, True, Confidence.NORMAL),
        (4, 8, True, Confidence.NORMAL),  # exactly half is not "more than half"
        (4, 7, True, Confidence.LOW),
        (5, 8, True, Confidence.LOW),
        (4, 6, True, Confidence.DISMISSAL),  # exactly 2/3
        (7, 7, True, Confidence.DISMISSAL),
        (7, 7, False, Confidence.NORMAL),  # an invalid conference decides nothing
    ],
)
def test_confidence_levels_of_qd_96(no: int, denominator: int, quorum_met: bool, expected: Confidence) -> None:
    tally = {"quorum_met": quorum_met, "denominator": denominator, "candidates": [{"key": "A", "no": no}]}
    assert confidence_level(tally, "A") == expected


def test_a_reappointment_the_head_does_not_propose_needs_the_competent_authority(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    today = local_today()
    _nominee_term_ends(session_factory, world, today + timedelta(days=60))
    [started] = start_due_reappointments(session_factory, driver.engine, today=today)
    instance_id, members = started.instance_id, world["members"]
    _complete(driver, instance_id, "self_report", "officer2", {"self_report": "Báo cáo"})
    run_ballot(session_factory, driver.engine, instance_id, members, _everyone_votes(members, YES))
    _complete(driver, instance_id, "ballot_confidence", "personnel1")
    proposal = {"proposal": "not_reappoint", "proposal_comment": "Chưa đáp ứng yêu cầu"}
    _complete(driver, instance_id, "head_proposal", "head1", proposal)
    _clearances_and_final_check(driver, instance_id)
    data = _data(driver, instance_id)
    assert data["eligibility_failed"] == ["standards"]
    assert {t.task_key for t in driver.open_tasks(instance_id)} == {"exception_final"}


def test_a_step2_box_opened_before_the_pool_still_hands_on_its_nominee(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """Decision 0121: an instance already at step 2 whose box was opened with the nominee alone (as every step-2 box
    was) is counted and handed on as before, although the plan for the post now holds another local cadre."""
    members = world["members"]
    instance_id = start(session_factory, driver.engine, world["post_id"])
    _to_policy(driver, instance_id)
    _complete(driver, instance_id, "step1_conference", "personnel1", {"held_on": today_text(), "minutes_summary": "x"})
    with session_factory() as s, transaction(s):
        officer = s.scalars(select(Cadre).where(Cadre.code == "CB0001")).one()  # X001: the local source
        add_planning_entry(s, None, officer, position_id=world["post_id"], term="2021-2026")
        nominee = s.scalars(select(Cadre).where(Cadre.code == NOMINEE)).one()
        box = ballots.open_box(
            s,
            actor=user(s, "personnel1"),
            instance_id=instance_id,
            step_key="ballot_step2",
            question="Hội nghị tập thể lãnh đạo mở rộng",
            candidates=[ballots.Candidate(NOMINEE, nominee.full_name)],
            elector_ids=list(members.values()),
            members_count=len(members),
            rules=STEPS["ballot_step2"].rules,
            wider_conference=True,
        ).id
    attend(session_factory, box, members.values())
    for name in members:
        vote(session_factory, box, name, YES)
    close(session_factory, box)
    _complete(driver, instance_id, "ballot_step2", "personnel1")
    data = _data(driver, instance_id)
    assert [n["key"] for n in data["nominees"]] == [NOMINEE] and data["ballot_next"] == "proceed"
    # The next step's box opens with the nominee: the pool is step 2's alone.
    step3 = open_ballot(session_factory, driver.engine, instance_id, members.values())
    with session_factory() as s:
        stored = s.get(BallotBox, step3)
        assert stored is not None and [c["key"] for c in stored.candidates] == [NOMINEE]


# -- each step's deadline (decision 0120) -------------------------------------------------------------------------


def _end_of_working_day(start_day: date, working_days: int) -> datetime:
    """What the inbox stores: the end of that working day in Vietnam's time, as naive UTC."""
    day = DEFAULT_CALENDAR.add_working_days(start_day, working_days)
    return datetime.combine(day, time(23, 59, 59), VIETNAM_TZ).astimezone(UTC).replace(tzinfo=None)


def _naive_utc(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(UTC).replace(tzinfo=None)


def test_each_step_is_due_its_working_days_after_it_opens(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    instance_id = start(session_factory, driver.engine, world["post_id"])
    today = local_today()
    eligibility = driver.task(instance_id, "eligibility_policy")
    assert (eligibility.due_dt, eligibility.assignment_problem) == (_end_of_working_day(today, 5), None)
    _complete(driver, instance_id, "eligibility_policy", "personnel1", {"dossier_received_on": today_text()})
    # The policy keeps its own 15 working days (its boundary timer), the [V] rule.
    assert driver.task(instance_id, "policy_decision").due_dt == _naive_utc(
        _data(driver, instance_id)["deadline_policy"]
    )
    clock.set_now(clock.now() + timedelta(days=7))  # the step opens a week later: its days count from then
    opened_on = local_today()
    _complete(driver, instance_id, "policy_decision", "leader1", {"policy_decision": "approve"})
    conference = driver.task(instance_id, "step1_conference")
    assert (conference.due_dt, conference.assignment_problem) == (_end_of_working_day(opened_on, 5), None)


def test_no_step_after_the_policy_is_due_after_the_30_working_days(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    policy = AppointmentPolicy.from_mapping({"step_working_days": {"step1_conference": 45}})
    with session_factory() as s, transaction(s):
        instance_id = start_appointment(
            s, driver.engine, actor=user(s, "personnel1"), cadre_code=NOMINEE, position_id=world["post_id"],
            source="internal", policy=policy,
        ).id  # fmt: skip
    _to_policy(driver, instance_id)
    deadline_process = _naive_utc(_data(driver, instance_id)["deadline_process"])
    assert driver.task(instance_id, "step1_conference").due_dt == deadline_process
    assert deadline_process < _end_of_working_day(local_today(), 45)


def test_a_reappointments_steps_are_due_before_the_last_day_for_the_decision(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    today = local_today()
    _nominee_term_ends(session_factory, world, today + timedelta(days=8))
    [started] = start_due_reappointments(session_factory, driver.engine, today=today)
    last_day = _naive_utc(_data(driver, started.instance_id)["deadline_reappointment"])
    report = driver.task(started.instance_id, "self_report")
    assert report.due_dt == last_day < _end_of_working_day(today, 10)


def test_an_overdue_step_counts_as_overdue(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    instance_id = start(session_factory, driver.engine, world["post_id"])
    task = driver.task(instance_id, "eligibility_policy")

    def overdue() -> tuple[set[int], int]:
        with session_factory() as s:
            page = inbox_page(s, user(s, "personnel1"), InboxFilters(scope="group", due="overdue"))
            return {row.task_id for row in page.rows}, read_figures(s, clock.utcnow_naive()).overdue_tasks

    assert overdue() == (set(), 0)
    assert task.due_dt is not None
    clock.set_now(task.due_dt - timedelta(minutes=1))
    assert overdue() == (set(), 0)
    clock.set_now(task.due_dt + timedelta(minutes=1))
    assert overdue() == ({task.id}, 1)


def test_an_appointment_running_on_a_version_without_step_deadlines_goes_on_as_it_was(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """The deadlines come as a new version deployed beside the old one: an instance keeps the version it started on,
    whose steps open without a deadline and without a problem, while one started afterwards gets them."""
    old = deploy_appointment_version(session_factory, with_step_deadlines=False)
    running = start(session_factory, driver.engine, world["post_id"])
    new = deploy_appointment_version(session_factory, with_step_deadlines=True)
    assert (driver.version_of(running), new) == (old, old + 1)
    _to_policy(driver, running)
    conference = driver.task(running, "step1_conference")
    assert (conference.due_dt, conference.assignment_problem) == (None, None)
    _complete(driver, running, "step1_conference", "personnel1", {"held_on": today_text(), "minutes_summary": "x"})
    assert driver.task(running, "ballot_step2").due_dt is None
    # Another cadre (one appointment per cadre and post at a time) starts on the new version.
    started = start(session_factory, driver.engine, world["post_id"], code=OUTSIDER, source="external")
    assert driver.version_of(started) == new
    assert driver.task(started, "eligibility_policy").due_dt is not None


# -- the days recorded at the steps (decision 0136) ---------------------------------------------------------------

DAYS_AGO = 10


def _started_days_ago(
    session_factory: sessionmaker[Session],
    driver: WorkflowDriver,
    world: dict[str, Any],
    code: str = NOMINEE,
    source: str = "internal",
    policy: AppointmentPolicy = DEFAULT_POLICY,
) -> tuple[int, date]:
    """An appointment started `DAYS_AGO` days ago, and that day; the steps after it run today."""
    with clock.frozen(datetime.now(UTC) - timedelta(days=DAYS_AGO)), session_factory() as s, transaction(s):
        started = local_today()
        instance = start_appointment(
            s, driver.engine, actor=user(s, "personnel1"), cadre_code=code, position_id=world["post_id"],
            source=source, policy=policy,
        )  # fmt: skip
    return instance.id, started


@pytest.mark.parametrize(
    ("code", "source", "step"),
    [(NOMINEE, "internal", "step1_conference"), (OUTSIDER, "external", "ext_consult_receiving")],
)
def test_a_conference_is_held_on_a_day_of_the_procedure(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any], code: str, source: str,
    step: str,
) -> None:  # fmt: skip
    """ "2020-01-01" was accepted for a procedure started years later: the minutes' day is from its start to today."""
    instance_id, started = _started_days_ago(session_factory, driver, world, code, source)
    _to_policy(driver, instance_id)
    task = driver.task(instance_id, step)
    for day, words in (
        (date(2020, 1, 1), f"before the procedure started ({started:%d/%m/%Y})"),
        (started - timedelta(days=1), f"before the procedure started ({started:%d/%m/%Y})"),
        (local_today() + timedelta(days=1), "cannot be in the future"),
    ):
        with pytest.raises(Invalid) as refused:
            driver.complete("personnel1", task.id, {"held_on": day.isoformat(), "minutes_summary": "x"})
        (problem,) = refused.value.problems
        assert problem.field == "held_on" and words in problem.explained
    assert driver.task(instance_id, step).id == task.id
    driver.complete("personnel1", task.id, {"held_on": started.isoformat(), "minutes_summary": "x"})
    assert _data(driver, instance_id)["held_on"] == started.isoformat()


def test_a_decision_takes_effect_from_the_procedures_start_to_the_months_the_settings_allow(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """ "2019-01-01" was accepted and written to the record with a term already over; a year typed 2062 for 2026 would
    be too. The window ahead is a setting ([U]): 2 months here."""
    policy = AppointmentPolicy(decision_effective_within_months=2)
    instance_id, started = _started_days_ago(session_factory, driver, world, policy=policy)
    _to_decision(driver, session_factory, world, instance_id)
    _complete(driver, instance_id, "submission", "personnel1", {"submission_summary": "Tờ trình bổ nhiệm"})
    task = driver.task(instance_id, "decision")
    last = add_months(local_today(), 2)
    for day, words in (
        (date(2019, 1, 1), f"before the procedure started ({started:%d/%m/%Y})"),
        (started - timedelta(days=1), f"before the procedure started ({started:%d/%m/%Y})"),
        (last + timedelta(days=1), f"more than 2 months from today (after {last:%d/%m/%Y})"),
    ):
        approve = {"final_decision": "approve", "decision_number": "12/QĐ-UBND", "effective_on": day.isoformat()}
        with pytest.raises(Invalid) as refused:
            driver.complete("leader1", task.id, approve)
        (problem,) = refused.value.problems
        assert problem.field == "effective_on" and words in problem.explained
    with session_factory() as s:
        assert s.scalars(select(CadrePosition).where(CadrePosition.position_id == world["post_id"])).all() == []
    # Taking effect on the day it started: the term is written as it began.
    approve = {"final_decision": "approve", "decision_number": "12/QĐ-UBND", "effective_on": started.isoformat()}
    driver.complete("leader1", task.id, approve)
    with session_factory() as s:
        held = s.scalars(select(CadrePosition).where(CadrePosition.position_id == world["post_id"])).one()
        assert held.started_on == started


# -- the retirement date the decision's term stops at --------------------------------------------------------------


def test_a_cadre_stored_without_a_retirement_date_still_has_the_term_stop_at_retirement(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """A record stored before retirement dates were (or the demo's logins before they had one): the start computes it
    from the birth date and gender, as the re-appointment's age rule does, so the decision's term near retirement
    runs to it (NĐ 138 Điều 49) instead of silently running 5 years."""
    born = date(local_today().year - 60, 1, 15)  # retires in about two years
    with session_factory() as s, transaction(s):
        s.execute(update(Cadre).where(Cadre.code == NOMINEE).values(birth_date=born, retirement_date=None))
    instance_id = start(session_factory, driver.engine, world["post_id"])
    retires = retirement_date(born, "male")
    data = _data(driver, instance_id)
    assert data["retirement_date"] == retires.isoformat()
    today = local_today()
    approve = {"final_decision": "approve", "decision_number": "5/QĐ-UBND", "effective_on": today.isoformat()}
    with session_factory() as s:
        decided = appointment_hooks.decision(s, approve, data, frozenset())
    assert decided["term_ends_on"] == (retires - timedelta(days=1)).isoformat()


def test_without_a_birth_date_nor_a_stored_one_the_retirement_date_stays_unknown(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    with session_factory() as s, transaction(s):
        s.execute(update(Cadre).where(Cadre.code == NOMINEE).values(birth_date=None, retirement_date=None))
    assert _data(driver, start(session_factory, driver.engine, world["post_id"]))["retirement_date"] is None


def _held_before(session_factory: sessionmaker[Session], started_on: str) -> int:
    """The nominee's post in X001's office, held since `started_on`; its CadrePosition id."""
    with session_factory() as s, transaction(s):
        office = Position(title="Công chức Văn phòng - Thống kê", unit_id=unit_id(s, "X001"), level="commune")
        s.add(office)
        s.flush()
        cadre = s.scalars(select(Cadre).where(Cadre.code == NOMINEE)).one()
        return add_position(s, None, cadre, position_id=office.id, started_on=started_on).id


@pytest.mark.parametrize(("posts_held", "ends"), [("end", True), ("keep", False), (None, False)])
def test_the_decision_says_whether_the_posts_held_end(
    driver: WorkflowDriver,
    session_factory: sessionmaker[Session],
    world: dict[str, Any],
    posts_held: str | None,
    ends: bool,
) -> None:
    """Appointed to a new post, the cadre leaves the one held the day before (or keeps it, kiêm nhiệm); a decision of
    an earlier form, without the choice, keeps it as before (decision 0138)."""
    instance_id = start(session_factory, driver.engine, world["post_id"])
    _to_decision(driver, session_factory, world, instance_id)
    held_id = _held_before(session_factory, "2022-03-01")
    _complete(driver, instance_id, "submission", "personnel1", {"submission_summary": "Tờ trình bổ nhiệm"})
    today = local_today()
    decision = {"final_decision": "approve", "decision_number": "7/QĐ-UBND", "effective_on": today.isoformat()}
    _complete(driver, instance_id, "decision", "leader1", decision | ({"posts_held": posts_held} if posts_held else {}))
    with session_factory() as s:
        held = s.get(CadrePosition, held_id)
        assert held is not None
        assert held.ended_on == (today - timedelta(days=1) if ends else None)
        new = s.scalars(select(CadrePosition).where(CadrePosition.position_id == world["post_id"])).one()
        assert new.started_on == today and new.ended_on is None
    _verify(session_factory)
