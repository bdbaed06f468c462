"""The rotation procedure run by SpiffWorkflow on the real database, through the task service: the competent
authority's exception for a higher post, its refusal, a collective vote that does not pass, a decision whose
effective day would shorten the rotation below 36 months (NĐ 170 Điều 48) — refused with nothing written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.ballots import user
from tests.fixtures.deadlines import end_of_working_day
from tests.fixtures.inspection import assert_every_export_verifies
from tests.fixtures.rotation import BOARD, LOCAL, OFFICER, WEAK, setup_rotation
from tests.fixtures.statements import statements_sent
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows import ballots, clock
from workflows.audit import verify_chains
from workflows.ballot_steps import open_step_ballot
from workflows.db import transaction
from workflows.errors import Invalid
from workflows.models import AuditEvent, ProcessInstance
from workflows.registry.models import Cadre, CadrePosition, RotationRecord
from workflows.registry.records import end_position, local_today
from workflows.rotation import hooks as rotation_hooks
from workflows.rotation.ballots import ROTATION_BALLOTS
from workflows.rotation.service import CERTAIN_TO_STOP, RotationRequest, start_rotation
from workflows.rules.retirement import add_months
from workflows.rules.rotation import RotationPolicy
from workflows.rules.workdays import DEFAULT_CALENDAR, WorkCalendar
from workflows.states import InstanceStatus
from workflows.timers import run_due_timers


@pytest.fixture
def world(driver: WorkflowDriver, session_factory: sessionmaker[Session]) -> dict[str, Any]:
    return setup_rotation(session_factory)


def _start(driver: WorkflowDriver, world: dict[str, Any], code: str = OFFICER, months: int = 36) -> int:
    starts = local_today()
    with driver.session_factory() as s, transaction(s):
        request = RotationRequest(
            code, world["x001"], world["post"], starts, add_months(starts, months) - timedelta(1), "training"
        )
        return start_rotation(s, driver.engine, actor=user(s, "personnel1"), request=request).id


def _do(driver: WorkflowDriver, instance_id: int, key: str, username: str, data: dict | None = None) -> None:
    driver.complete(username, driver.task(instance_id, key).id, data or {})


def _proposed(driver: WorkflowDriver, world: dict[str, Any], code: str = OFFICER) -> int:
    """A rotation planned, approved and proposed: its eligibility check is next."""
    return _planned(driver, _start(driver, world, code))


def _planned(driver: WorkflowDriver, instance_id: int) -> int:
    _do(driver, instance_id, "plan", "personnel1", {
        "plan_reference": "KH-02", "plan_count": 1, "plan_needs": "Đào tạo", "plan_posts_places": "Xã An Phú",
        "expected_placement": "Trở về",
    })  # fmt: skip
    _do(driver, instance_id, "plan_approval", "leader1", {"plan_decision": "approve"})
    _do(driver, instance_id, "propose", "personnel1", {"proposal_summary": "Đề xuất"})
    return instance_id


def _to_eligibility(driver: WorkflowDriver, world: dict[str, Any], code: str = OFFICER) -> int:
    instance_id = _proposed(driver, world, code)
    _do(driver, instance_id, "eligibility", "personnel1")
    return instance_id


def _data(driver: WorkflowDriver, instance_id: int) -> dict[str, Any]:
    with driver.session_factory() as s:
        row = s.get(ProcessInstance, instance_id)
        assert row is not None
        workflow = driver.engine.load(driver.engine.definition(s, row.process_version_id), row)
        return dict(workflow.last_task.data) if workflow.last_task else {}


def _without_a_leadership_post(session_factory: sessionmaker[Session], code: str = OFFICER) -> None:
    """Ends the cadre's deputy director post: the commune chair becomes a higher post for them."""
    with session_factory() as s, transaction(s):
        cadre = s.scalars(select(Cadre).where(Cadre.code == code)).one()
        held = s.scalars(select(CadrePosition).where(CadrePosition.cadre_id == cadre.id)).one()
        end_position(s, None, cadre, held.id, ended_on=local_today() - timedelta(days=1))


def _consulted(driver: WorkflowDriver, instance_id: int) -> None:
    _do(driver, instance_id, "consult_sending", "headsnv", {"sending_opinion": "agree"})
    _do(driver, instance_id, "consult_receiving", "head1", {"receiving_opinion": "agree"})
    _do(driver, instance_id, "meet_cadre", "personnel1", {
        "met_on": local_today().isoformat(), "cadre_agrees": "agree", "cadre_opinion": "Đồng ý",
    })  # fmt: skip
    _do(driver, instance_id, "submission", "personnel1", {"submission_summary": "Tờ trình"})


# QĐ 65 [V] S50: a higher post only with the competent authority's recorded decision.
def test_a_higher_post_goes_on_with_the_competent_authoritys_recorded_reason(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    _without_a_leadership_post(session_factory)
    instance_id = _to_eligibility(driver, world)
    assert _data(driver, instance_id)["eligibility_failed"] == ["equivalent_post"]
    task = driver.task(instance_id, "exception")
    with pytest.raises(Invalid):  # a decision without a reason
        driver.complete("leader1", task.id, {"exception_decision": "exception", "exception_reason": " "})
    _do(driver, instance_id, "exception", "leader1",
        {"exception_decision": "exception", "exception_reason": "Cán bộ trẻ, triển vọng, đã qua thử thách"})  # fmt: skip
    data = _data(driver, instance_id)
    assert data["higher_post_exception"] == "Cán bộ trẻ, triển vọng, đã qua thử thách"
    assert data["eligibility_exceptions"][0]["rules"] == ["equivalent_post"]
    assert {t.task_key for t in driver.open_tasks(instance_id)} == {
        "consult_sending",
        "consult_receiving",
        "meet_cadre",
    }


def test_the_competent_authority_may_stop_instead(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    _without_a_leadership_post(session_factory)
    instance_id = _to_eligibility(driver, world)
    _do(driver, instance_id, "exception", "leader1", {"exception_decision": "stop", "exception_reason": "Chưa đủ"})
    assert driver.instance(instance_id).status == InstanceStatus.COMPLETED
    assert driver.open_tasks(instance_id) == []


def _vote(driver: WorkflowDriver, instance_id: int, marks: dict[str, str]) -> None:
    with driver.session_factory() as s, transaction(s):
        electors = [user(s, name).id for name in BOARD]
        box = open_step_ballot(
            s, driver.engine, ROTATION_BALLOTS, actor=user(s, "personnel1"), instance_id=instance_id,
            elector_ids=electors, members_count=len(electors),
        ).id  # fmt: skip
    with driver.session_factory() as s, transaction(s):
        ballots.mark_attendance(s, actor=user(s, "personnel1"), box_id=box, present_ids=electors)
    for name, mark in marks.items():
        with driver.session_factory() as s, transaction(s):
            ballots.cast_ballot(s, voter=user(s, name), box_id=box, contents={OFFICER: mark})
    with driver.session_factory() as s, transaction(s):
        ballots.close_box(s, actor=user(s, "personnel1"), box_id=box)


# QĐ 65 §4.4 step 4: more than half of all the members; 2 of 5 is not.
def test_a_vote_that_does_not_pass_ends_the_rotation_without_a_record(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    instance_id = _to_eligibility(driver, world)
    _consulted(driver, instance_id)
    _vote(driver, instance_id, {"leader1": "yes", "btv1": "yes", "btv2": "no", "btv3": "no", "btv4": "no"})
    _do(driver, instance_id, "ballot_collective", "personnel1")
    data = _data(driver, instance_id)
    assert data["ballot_next"] == "stop" and "tally_ballot_collective" not in data  # not announced
    assert driver.instance(instance_id).status == InstanceStatus.COMPLETED
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(RotationRecord)) == 0
        assert verify_chains(s).ok
        assert_every_export_verifies(s)


# NĐ 170 Điều 48: the decision's effective day cannot shorten the rotation below 36 months.
def test_a_late_effective_day_is_refused_and_nothing_is_written(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    instance_id = _to_eligibility(driver, world)
    _consulted(driver, instance_id)
    _vote(driver, instance_id, dict.fromkeys(BOARD, "yes"))
    _do(driver, instance_id, "ballot_collective", "personnel1")
    with session_factory() as s:
        events = s.scalar(select(func.count()).select_from(AuditEvent))
    late = (local_today() + timedelta(days=1)).isoformat()
    task = driver.task(instance_id, "decision")
    with pytest.raises(Invalid) as refused:
        driver.complete("leader1", task.id, {"final_decision": "approve", "decision_number": "1", "effective_on": late})
    assert [p.field for p in refused.value.problems] == ["effective_on"]
    # A year nobody means (0001) would make the rotation 2000 years long: refused the same way.
    with pytest.raises(Invalid) as refused:
        driver.complete(
            "leader1", task.id, {"final_decision": "approve", "decision_number": "1", "effective_on": "0001-01-01"}
        )
    assert [p.field for p in refused.value.problems] == ["effective_on"]
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent)) == events
        assert s.scalar(select(func.count()).select_from(RotationRecord)) == 0
    assert driver.task(instance_id, "decision").id == task.id


# NĐ 170 Điều 50: after the rotation the cadre may return; the post rotated to ends and the cadre's unit goes back.
def test_a_return_after_the_review_ends_the_post_and_moves_the_cadre_back(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    instance_id = _to_eligibility(driver, world)
    _consulted(driver, instance_id)
    _vote(driver, instance_id, dict.fromkeys(BOARD, "yes"))
    _do(driver, instance_id, "ballot_collective", "personnel1")
    today = local_today()
    ends = add_months(today, 36) - timedelta(days=1)
    _do(driver, instance_id, "decision", "leader1",
        {"final_decision": "approve", "decision_number": "7", "effective_on": today.isoformat()})  # fmt: skip
    _do(driver, instance_id, "handover", "headsnv", {"handover_on": today.isoformat(), "handover_note": "Xong"})
    _do(driver, instance_id, "arrival", "head1", {"arrived_on": today.isoformat(), "assigned_work": "Phụ trách chung"})
    assert _data(driver, instance_id)["review_opens_at"].startswith((ends - timedelta(days=60)).isoformat())
    clock.set_now(datetime.combine(ends, datetime.min.time(), UTC))
    assert run_due_timers(session_factory, driver.engine).timers_fired == 1
    with pytest.raises(Invalid):  # another post needs to be named
        driver.complete("head1", driver.task(instance_id, "review").id,
                        {"review_results": "Tốt", "placement_proposal": "other_post"})  # fmt: skip
    _do(driver, instance_id, "review", "head1", {"review_results": "Tốt", "placement_proposal": "return"})
    _do(driver, instance_id, "placement", "leader1", {"placement": "return", "placement_on": ends.isoformat()})
    with session_factory() as s:
        cadre = s.scalars(select(Cadre).where(Cadre.code == OFFICER)).one()
        assert cadre.unit_id == world["snv"]
        record = s.scalars(select(RotationRecord)).one()
        assert record.ended_on == ends
        post = s.scalars(
            select(CadrePosition).where(CadrePosition.cadre_id == cadre.id, CadrePosition.position_id == world["post"])
        ).one()
        assert post.ended_on == ends
        assert verify_chains(s).ok
        assert_every_export_verifies(s)
    assert driver.instance(instance_id).status == InstanceStatus.COMPLETED


def test_the_sending_units_consultation_goes_to_the_cadres_unit_read_with_the_lock(
    driver: WorkflowDriver, world: dict[str, Any], db_engine: Engine
) -> None:
    """The lane "Đơn vị cử đi" resolves in the subject cadre's unit; the engine's locking read brings that unit
    along, so opening the task reads nothing more."""
    instance_id = _proposed(driver, world)

    with statements_sent(db_engine) as sent:
        _do(driver, instance_id, "eligibility", "personnel1")

    consultation = driver.task(instance_id, "consult_sending")
    with driver.session_factory() as s:
        cadre_unit = s.scalar(select(Cadre.unit_id).where(Cadre.code == OFFICER))
    assert (consultation.candidate_role, consultation.candidate_unit_id) == ("head", cadre_unit)
    flat = [" ".join(statement.split()) for statement in sent.statements]
    assert not any(statement.startswith("SELECT cadres.unit_id FROM cadres") for statement in flat), str(sent)


# -- the start refused when certain to stop (decision 0136) --------------------------------------------------------


def _written(session_factory: sessionmaker[Session]) -> tuple[int, int]:
    with session_factory() as s:
        return (
            s.scalar(select(func.count()).select_from(ProcessInstance)) or 0,
            s.scalar(select(func.count()).select_from(AuditEvent)) or 0,
        )


@pytest.mark.parametrize(("code", "rule"), [(LOCAL, "non_local"), (WEAK, "commune_key_post_capability")])
def test_a_start_certain_to_stop_at_the_eligibility_check_is_refused_and_nothing_written(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any], code: str, rule: str
) -> None:
    """Neither provincial rule is the competent authority's to set aside: the rotation would end "Dừng: không đủ
    điều kiện" at the step "Thẩm định", so it is not started — from the page, the shell or here alike."""
    before = _written(session_factory)
    with pytest.raises(Invalid) as refused:
        _start(driver, world, code)
    assert refused.value.message == CERTAIN_TO_STOP
    (problem,) = refused.value.problems
    assert problem.message_args["rule"] == rule and problem.message_args["finding"] and problem.field is None
    assert _written(session_factory) == before


def test_a_rule_the_competent_authority_may_set_aside_does_not_refuse_the_start(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    _without_a_leadership_post(session_factory)  # a higher post: "equivalent_post" fails, the authority may allow it
    assert driver.instance(_start(driver, world)).status == InstanceStatus.RUNNING


# -- the days recorded at the steps (decision 0136) ---------------------------------------------------------------


def _started_days_ago(driver: WorkflowDriver, world: dict[str, Any], days: int) -> int:
    """A rotation started `days` ago (its first day then, 48 months long: a decision taking effect later still leaves
    the 36 months), to its eligibility check: the steps after it run today."""
    with clock.frozen(datetime.now(UTC) - timedelta(days=days)):
        instance_id = _start(driver, world, months=48)
    _do(driver, _planned(driver, instance_id), "eligibility", "personnel1")
    return instance_id


def test_the_meeting_with_the_cadre_is_on_a_day_of_the_procedure(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    instance_id = _started_days_ago(driver, world, 10)
    started = local_today() - timedelta(days=10)
    task = driver.task(instance_id, "meet_cadre")
    meeting = {"cadre_agrees": "agree", "cadre_opinion": "Đồng ý"}
    for day, words in (
        (started - timedelta(days=1), f"before the procedure started ({started:%d/%m/%Y})"),
        (local_today() + timedelta(days=1), "cannot be in the future"),
    ):
        with pytest.raises(Invalid) as refused:
            driver.complete("personnel1", task.id, {**meeting, "met_on": day.isoformat()})
        (problem,) = refused.value.problems
        assert problem.field == "met_on" and words in problem.explained
    driver.complete("personnel1", task.id, {**meeting, "met_on": started.isoformat()})
    assert _data(driver, instance_id)["met_on"] == started.isoformat()


def test_the_arrival_is_not_before_the_procedure_started_nor_before_the_decision_took_effect(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    instance_id = _started_days_ago(driver, world, 10)
    started = local_today() - timedelta(days=10)
    _consulted(driver, instance_id)
    _vote(driver, instance_id, dict.fromkeys(BOARD, "yes"))
    _do(driver, instance_id, "ballot_collective", "personnel1")
    effective = local_today() - timedelta(days=3)
    _do(driver, instance_id, "decision", "leader1",
        {"final_decision": "approve", "decision_number": "9", "effective_on": effective.isoformat()})  # fmt: skip
    _do(driver, instance_id, "handover", "headsnv", {"handover_on": effective.isoformat(), "handover_note": "Xong"})
    task = driver.task(instance_id, "arrival")
    for day, words in (
        (started - timedelta(days=1), f"before the decision took effect ({effective:%d/%m/%Y})"),
        (effective - timedelta(days=1), f"before the decision took effect ({effective:%d/%m/%Y})"),
        (local_today() + timedelta(days=1), "cannot be in the future"),
    ):
        with pytest.raises(Invalid) as refused:
            driver.complete("head1", task.id, {"arrived_on": day.isoformat(), "assigned_work": "Phụ trách chung"})
        (problem,) = refused.value.problems
        assert problem.field == "arrived_on" and words in problem.explained
    with session_factory() as s:  # refused: the cadre has not moved
        assert s.scalars(select(Cadre.unit_id).where(Cadre.code == OFFICER)).one() == world["snv"]
    _do(driver, instance_id, "arrival", "head1", {"arrived_on": effective.isoformat(), "assigned_work": "Phụ trách"})
    with session_factory() as s:
        assert s.scalars(select(Cadre.unit_id).where(Cadre.code == OFFICER)).one() == world["x001"]


def test_without_a_decision_day_the_arrival_is_not_before_the_procedure_started(
    session: Session, driver: WorkflowDriver, world: dict[str, Any]
) -> None:
    """A rotation recorded before the decision's day was kept (or data without it): the procedure's start bounds it."""
    instance_id = _started_days_ago(driver, world, 10)
    started = local_today() - timedelta(days=10)
    data = {**_data(driver, instance_id)}
    data.pop("effective_on", None)
    with pytest.raises(Invalid) as refused:
        rotation_hooks.arrival(session, {"arrived_on": (started - timedelta(days=1)).isoformat()}, data, frozenset())
    (problem,) = refused.value.problems
    assert f"before the procedure started ({started:%d/%m/%Y})" in problem.explained


# -- each step's deadline (decision 0139) -------------------------------------------------------------------------


def test_each_step_is_due_its_configured_working_days_on_the_calendar_the_rotation_started_with(
    driver: WorkflowDriver, world: dict[str, Any]
) -> None:
    """Rotation steps showed "Hạn xử lý —": now each is due as the appointment's and the planning review's are."""
    today = local_today()
    holidays = [(today + timedelta(days=n)).isoformat() for n in range(1, 11)]  # ten days off ahead
    after_the_end = add_months(today, 40).isoformat()  # past the 3 years an appointment keeps: the review's time
    calendar = WorkCalendar.from_mapping({"holidays": [*holidays, after_the_end]})
    policy = RotationPolicy.from_mapping({"step_working_days": {"plan": 3}})
    with driver.session_factory() as s, transaction(s):
        request = RotationRequest(
            OFFICER, world["x001"], world["post"], today, add_months(today, 36) - timedelta(1), "training"
        )
        started = start_rotation(
            s, driver.engine, actor=user(s, "personnel1"), request=request, policy=policy, calendar=calendar
        )
    plan = driver.task(started.id, "plan")
    assert (plan.due_dt, plan.assignment_problem) == (end_of_working_day(calendar, today, 3), None)
    assert plan.due_dt is not None and plan.due_dt > end_of_working_day(DEFAULT_CALENDAR, today, 3)
    clock.set_now(clock.now() + timedelta(days=2))
    opened_on = local_today()
    _planned(driver, started.id)
    # The next steps count from the day they opened, with the default durations.
    eligibility = driver.task(started.id, "eligibility")
    assert eligibility.due_dt == end_of_working_day(calendar, opened_on, 10)
    # The calendar kept reaches past the rotation's last day, where the end-of-rotation review opens.
    assert _data(driver, started.id)["work_calendar"]["holidays"] == [*holidays, after_the_end]


def test_a_rotation_policy_names_only_its_own_steps_and_keeps_the_others_defaults() -> None:
    policy = RotationPolicy.from_mapping({"step_working_days": {"decision": 15}})
    assert policy.step_working_days["decision"] == 15 and policy.step_working_days["plan"] == 10
    with pytest.raises(Invalid) as refused:
        RotationPolicy.from_mapping({"step_working_days": {"arrival": 5, "plan": 0}})
    assert {p.field for p in refused.value.problems} == {"step_working_days.arrival", "step_working_days.plan"}
