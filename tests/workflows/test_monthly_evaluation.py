"""The monthly evaluation process (bpmn/monthly_evaluation.bpmn) run by the real engine on the demo organisation:
opening a month, the server-side checks and score, returns, the decision, the grade on the record, deadlines."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.evaluation import MONTH, PRODUCTS
from tests.fixtures.evaluation import SELF_WITH_TWO_ROWS as SELF
from tests.fixtures.inspection import assert_every_export_verifies
from tests.fixtures.mail import smtp_inbox
from tests.fixtures.statements import statements_sent
from workflows import clock
from workflows.audit import verify_chains
from workflows.db import transaction
from workflows.engine.runtime import ProcessEngine, instance_data
from workflows.errors import Conflict, Invalid, NotAllowed, NotFound
from workflows.evaluation import PROCESS_ID
from workflows.evaluation.hooks import CRITERIA_FIELDS
from workflows.evaluation.opening import open_for_cadres, plan_month
from workflows.models import HumanTask, Notification, ProcessInstance
from workflows.notifications import SmtpSettings, create_notifications, send_pending_emails
from workflows.registry.models import Cadre, DisciplineRecord, EvaluationResult, OrgUnit, User
from workflows.rules.evaluation import DEFAULT_POLICY, EvaluationPolicy
from workflows.states import TaskStatus
from workflows.timers import run_due_timers

pytestmark = pytest.mark.usefixtures("in_november")

FORMS = Path(__file__).resolve().parents[2] / "forms"


def _open(
    session_factory: sessionmaker[Session],
    engine: ProcessEngine,
    username: str | None,
    unit: str = "X001",
    month: str = MONTH,
) -> tuple[int, int]:
    with session_factory() as session, transaction(session):
        actor = session.scalar(select(User).where(User.username == username)) if username else None
        plan = plan_month(session, actor=actor, month=month, unit_code=unit)
        result = open_for_cadres(session, engine, actor=actor, plan=plan, cadres=plan.to_open, policy=DEFAULT_POLICY)
        return result.opened, plan.already_open


def _instance_of(session_factory: sessionmaker[Session], cadre_code: str) -> int:
    with session_factory() as session:
        instance_id = session.scalar(
            select(ProcessInstance.id).where(ProcessInstance.business_key == f"{MONTH}/{cadre_code}")
        )
        assert instance_id is not None
        return instance_id


def _workflow(session: Session, engine: ProcessEngine, instance_id: int) -> BpmnWorkflow:
    instance = session.get(ProcessInstance, instance_id)
    assert instance is not None
    return engine.load(engine.definition(session, instance.process_version_id), instance)


def _data(session_factory: sessionmaker[Session], engine: ProcessEngine, instance_id: int) -> dict[str, Any]:
    with session_factory() as session:
        return dict(_workflow(session, engine, instance_id).last_task.data)


def test_opening_a_month_starts_one_instance_per_active_cadre_and_is_idempotent(driver, session_factory):
    opened, already = _open(session_factory, driver.engine, "personnel1")
    with session_factory() as session:
        cadres = session.scalar(select(func.count(Cadre.id)).where(Cadre.unit_id == _unit_id(session, "X001")))
    assert opened == cadres and already == 0
    again, already = _open(session_factory, driver.engine, "personnel1")
    assert again == 0 and already == cadres
    with session_factory() as session:
        assert (
            session.scalar(select(func.count(ProcessInstance.id)).where(ProcessInstance.process_id == PROCESS_ID))
            == cadres
        )


def _unit_id(session: Session, code: str) -> int:
    from workflows.registry.models import OrgUnit

    unit_id = session.scalar(select(OrgUnit.id).where(OrgUnit.code == code))
    assert unit_id is not None
    return unit_id


def test_the_self_assessment_lands_in_the_cadres_own_inbox(driver, session_factory):
    _open(session_factory, driver.engine, "personnel1")
    task = driver.task(_instance_of(session_factory, "CB0001"), "self_assessment")
    with session_factory() as session:
        officer1 = session.scalar(select(User.id).where(User.username == "officer1"))
    assert task.assignee_id == officer1
    assert task.due_dt == datetime(2026, 11, 25, 16, 59, 59)  # the 25th, end of day in UTC+7


@pytest.mark.parametrize(
    ("username", "unit", "month", "error"),
    [
        ("officer1", "X001", MONTH, NotAllowed),  # not a personnel officer
        ("personnel1", "X001", "2026-12", Invalid),  # a month in the future
        ("personnel1", "X001", "2026-13", Invalid),  # not a month
        ("personnel1", "NOPE", MONTH, NotFound),
    ],
)
def test_opening_refuses_bad_requests_and_writes_nothing(driver, session_factory, username, unit, month, error):
    with pytest.raises(error):
        _open(session_factory, driver.engine, username, unit=unit, month=month)
    with session_factory() as session:
        assert session.scalar(select(func.count(ProcessInstance.id))) == 0


def test_a_merged_unit_is_refused_naming_the_unit_it_finally_became(driver, session_factory):
    """X002 merged into X001: the refusal names X001, on the unit field, and nothing is opened."""
    with session_factory() as session, transaction(session):
        units = {u.code: u for u in session.scalars(select(OrgUnit).where(OrgUnit.code.in_(("X001", "X002"))))}
        units["X002"].is_active = False
        units["X002"].merged_into_id = units["X001"].id
        successor = units["X001"].name
    with pytest.raises(Invalid) as refused:
        _open(session_factory, driver.engine, "personnel1", unit="X002")
    [problem] = refused.value.problems
    assert problem.field == "unit" and problem.message_args == {"successor": successor}
    with session_factory() as session:
        assert session.scalar(select(func.count(ProcessInstance.id))) == 0


def test_cadres_without_an_account_are_left_out_on_request(driver, session_factory):
    with session_factory() as session, transaction(session):
        x001 = session.scalars(select(OrgUnit).where(OrgUnit.code == "X001")).one()
        session.add(Cadre(code="CB0100", full_name="Ngô Văn Tư", unit=x001))
    with session_factory() as session:
        plan = plan_month(session, actor=None, month=MONTH, unit_code="X001")
    skipped = plan.cadres_to_open(skip_without_account=True)
    assert plan.without_account >= 1
    assert len(skipped) == len(plan.to_open) - plan.without_account
    assert all(c.user_id is not None for c in skipped) and "CB0100" not in {c.code for c in skipped}
    assert plan.cadres_to_open(skip_without_account=False) == plan.to_open


def test_the_heads_comment_box_is_his_own_and_both_comments_are_kept(driver, session_factory):
    """The direct leader's comment (`comment`) and the head's (`decision_comment`) are two fields: the head's form
    does not open with the leader's comment, and writing his own does not overwrite it."""
    _open(session_factory, driver.engine, "personnel1")
    instance_id = _instance_of(session_factory, "CB0001")
    driver.complete("officer1", driver.task(instance_id, "self_assessment").id, SELF)
    review = driver.task(instance_id, "manager_review")
    driver.complete("supervisor1", review.id, {**SELF, "decision": "submit", "comment": "Đồng ý trình"})

    decision = driver.task(instance_id, "head_decision")
    opened = driver.prefill("head1", decision.id)
    assert "Đồng ý trình" not in opened.values() and not opened.get("decision_comment")
    driver.complete("head1", decision.id, {"grade": "HTXSNV", "decision_comment": "Nhất trí"})

    data = _data(session_factory, driver.engine, instance_id)
    assert (data["comment"], data["decision_comment"]) == ("Đồng ý trình", "Nhất trí")


def test_full_month_with_one_return_ends_with_the_grade_on_the_record(driver, session_factory):
    _open(session_factory, driver.engine, "personnel1")
    instance_id = _instance_of(session_factory, "CB0001")

    driver.complete("officer1", driver.task(instance_id, "self_assessment").id, SELF)
    data = _data(session_factory, driver.engine, instance_id)
    assert data["self_score"] == 98.0  # 28 criteria points + 70 task points: the server's number

    review = driver.task(instance_id, "manager_review")
    with pytest.raises(Invalid) as refused:
        driver.complete("supervisor1", review.id, {**SELF, "decision": "return"})
    assert [p.field for p in refused.value.problems] == ["comment"]
    driver.complete("supervisor1", review.id, {**SELF, "decision": "return", "comment": "Bổ sung minh chứng"})

    driver.complete("officer1", driver.task(instance_id, "self_assessment").id, SELF)
    changed = [dict(PRODUCTS[0]), dict(PRODUCTS[1], completed_on_time=15)]
    with pytest.raises(Invalid) as refused:
        driver.complete(
            "supervisor1",
            driver.task(instance_id, "manager_review").id,
            {**SELF, "products": changed, "decision": "submit"},
        )
    assert [p.field for p in refused.value.problems] == ["products.1.reason"]
    changed[1]["reason"] = "5 hồ sơ trễ hạn theo sổ theo dõi"
    driver.complete(
        "supervisor1",
        driver.task(instance_id, "manager_review").id,
        {**SELF, "products": changed, "decision": "submit"},
    )
    data = _data(session_factory, driver.engine, instance_id)
    assert data["grade"] == "HTXSNV"  # the DMN's proposal from the reviewed score
    assert 90 <= data["score"] < 98

    decision = driver.task(instance_id, "head_decision")
    with pytest.raises(Invalid) as refused:
        driver.complete("head1", decision.id, {"grade": "HTTNV"})
    assert [p.field for p in refused.value.problems] == ["grade_reason"]
    driver.complete("head1", decision.id, {"grade": "HTXSNV"})

    with session_factory() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None and instance.status == "completed"
        result = session.scalars(select(EvaluationResult).join(Cadre).where(Cadre.code == "CB0001")).one()
        assert (result.period, result.grade, result.source_instance_id) == (MONTH, "HTXSNV", instance_id)
        assert result.score == data["score"]
        officer1 = session.scalar(select(User.id).where(User.username == "officer1"))
        assert (
            session.scalar(
                select(func.count(Notification.id)).where(
                    Notification.user_id == officer1, Notification.kind == "evaluation_result"
                )
            )
            == 1
        )
        body = session.scalars(select(Notification.body).where(Notification.kind == "evaluation_result")).one()
        shown = body.split("Điểm: ", 1)[1].split(". Xếp loại", 1)[0]  # 87,06 in Vietnamese, never 87.06
        assert "." not in shown and float(shown.replace(",", ".")) == round(data["score"], 2)
        assert verify_chains(session).ok
        assert_every_export_verifies(session)


def test_the_review_and_the_decision_read_and_record_through_prepared_statements(driver, session_factory, db_engine):
    """The month's national volume goes through the review's reads and the decision's record (the cadre locked, the
    result, its audit chain, the cadre's notice): on PostgreSQL each runs prepared, only the result's insert (an
    ORM flush) as plain SQL; on SQLite the same work the ordinary way."""
    _open(session_factory, driver.engine, "personnel1")
    instance_id = _instance_of(session_factory, "CB0001")
    driver.complete("officer1", driver.task(instance_id, "self_assessment").id, SELF)
    review = driver.task(instance_id, "manager_review")
    with statements_sent(db_engine) as reviewing:
        driver.complete("supervisor1", review.id, {**SELF, "decision": "submit"})
    with statements_sent(db_engine) as deciding:
        driver.complete("head1", driver.task(instance_id, "head_decision").id, {"grade": "HTXSNV"})

    postgres = db_engine.dialect.name == "postgresql"
    disciplined = [s for s in reviewing.statements if "discipline_records" in s]
    assert len(disciplined) == 1
    # The statements of the record (the test's own look-ups of the task and the person are not the app's path).
    touched = (
        "FROM cadres",
        "evaluation_results",
        "audit_chains",
        "INSERT INTO audit_events",
        "INSERT INTO notifications",
    )
    plain = [s for s in deciding.executed if not s.startswith("EXECUTE canbo_") and any(t in s for t in touched)]
    behind = " ".join(deciding.statements)
    for table in touched:
        assert table in behind, table
    if postgres:
        assert [s for s in reviewing.executed if "discipline_records" in s] == []  # sent as its EXECUTE
        assert [" ".join(s.split()[:3]) for s in plain] == ["INSERT INTO evaluation_results"], plain
    else:
        assert len(plain) >= 5  # the lock, the result's read and insert, the chain's head and event, the notice
    with session_factory() as session:
        result = session.scalars(select(EvaluationResult).join(Cadre).where(Cadre.code == "CB0001")).one()
        assert (result.period, result.grade, result.source_instance_id) == (MONTH, "HTXSNV", instance_id)
        assert verify_chains(session).ok
        assert_every_export_verifies(session)


def test_returns_are_limited_by_the_policy(driver, session_factory):
    _open(session_factory, driver.engine, "personnel1")
    instance_id = _instance_of(session_factory, "CB0002")
    for _ in range(DEFAULT_POLICY.max_returns):
        driver.complete("officer2", driver.task(instance_id, "self_assessment").id, SELF)
        driver.complete(
            "supervisor1",
            driver.task(instance_id, "manager_review").id,
            {**SELF, "decision": "return", "comment": "Sửa lại"},
        )
    driver.complete("officer2", driver.task(instance_id, "self_assessment").id, SELF)
    with pytest.raises(Invalid) as refused:
        driver.complete(
            "supervisor1",
            driver.task(instance_id, "manager_review").id,
            {**SELF, "decision": "return", "comment": "Sửa lại"},
        )
    assert [p.field for p in refused.value.problems] == ["decision"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"products": [dict(PRODUCTS[0], completed=-1)]}, "products.0.completed"),
        ({"products": [dict(PRODUCTS[0], completed=11)]}, "products.0.completed"),
        ({"products": [dict(PRODUCTS[0], completed_on_time=11)]}, "products.0.completed_on_time"),
        ({"criteria_politics": 11}, "criteria_politics"),  # above the policy's 10 for criterion (a)
        ({"criteria_innovation": 31}, "criteria_innovation"),  # above every policy's (the form states none)
    ],
)
def test_bad_self_assessments_are_refused_and_change_nothing(driver, session_factory, change, field):
    _open(session_factory, driver.engine, "personnel1")
    instance_id = _instance_of(session_factory, "CB0001")
    task = driver.task(instance_id, "self_assessment")
    with pytest.raises(Invalid) as refused:
        driver.complete("officer1", task.id, {**SELF, **change})
    assert field in [p.field for p in refused.value.problems]
    assert driver.task(instance_id, "self_assessment").id == task.id  # still open, nothing advanced


def test_a_criterions_maximum_is_the_policys_alone(driver, session_factory):
    """The maximum of a criterion is the policy's (configurable, kept in each instance's data), so the forms state
    none that could disagree with it: the hook refuses by the instance's policy and names that maximum."""
    for name in ("evaluation_self_assessment.json", "evaluation_review.json"):
        properties = json.loads((FORMS / name).read_text(encoding="utf-8"))["properties"]
        for field in CRITERIA_FIELDS:
            assert properties[field]["minimum"] == 0, (name, field)  # the rule's minimum, which no policy changes
            assert not {"maximum", "exclusiveMaximum"} & set(properties[field]), (name, field)
    policy = EvaluationPolicy(criteria_max=(12, 9, 9))
    with session_factory() as session, transaction(session):
        actor = session.scalar(select(User).where(User.username == "personnel1"))
        plan = plan_month(session, actor=actor, month=MONTH, unit_code="X001")
        open_for_cadres(session, driver.engine, actor=actor, plan=plan, cadres=plan.to_open, policy=policy)
    instance_id = _instance_of(session_factory, "CB0001")
    task = driver.task(instance_id, "self_assessment")
    with pytest.raises(Invalid) as refused:
        driver.complete("officer1", task.id, {**SELF, "criteria_politics": 12, "criteria_competence": 9.5})
    assert [(p.field, p.explained) for p in refused.value.problems] == [
        ("criteria_competence", "the score must be between 0 and 9")
    ]
    driver.complete("officer1", task.id, {**SELF, "criteria_politics": 12})  # above the default 10, within this 12


def test_discipline_in_the_month_makes_the_grade_khtnv(driver, session_factory):
    _open(session_factory, driver.engine, "personnel1")
    with session_factory() as session, transaction(session):
        cadre_id = session.scalar(select(Cadre.id).where(Cadre.code == "CB0001"))
        session.add(DisciplineRecord(cadre_id=cadre_id, level="khien_trach", decided_on=datetime(2026, 11, 10).date()))
    instance_id = _instance_of(session_factory, "CB0001")
    driver.complete("officer1", driver.task(instance_id, "self_assessment").id, SELF)
    driver.complete("supervisor1", driver.task(instance_id, "manager_review").id, {**SELF, "decision": "submit"})
    assert _data(session_factory, driver.engine, instance_id)["grade"] == "KHTNV"
    with pytest.raises(Invalid) as refused:
        driver.complete("head1", driver.task(instance_id, "head_decision").id, {"grade": "HTTNV", "grade_reason": "x"})
    assert [p.field for p in refused.value.problems] == ["grade"]


def test_a_missed_deadline_escalates_and_never_grades(driver, session_factory):
    _open(session_factory, driver.engine, "personnel1")
    instance_id = _instance_of(session_factory, "CB0001")
    clock.set_now(datetime(2026, 11, 26, 1, 0, tzinfo=UTC))  # past the 25th in Vietnam
    run_due_timers(session_factory, driver.engine)
    open_keys = sorted(t.task_key for t in driver.open_tasks(instance_id))
    assert open_keys == ["escalate_self_assessment", "self_assessment"]  # the cadre can still submit
    escalation = driver.task(instance_id, "escalate_self_assessment")
    assert escalation.candidate_role == "supervisor"
    with session_factory() as session:
        assert session.scalar(select(func.count(EvaluationResult.id))) == 0
    reminder = {"self_assessment_instruction": "Đã nhắc đồng chí hoàn thành trong ngày 27"}
    driver.complete("supervisor1", escalation.id, reminder)
    driver.complete("officer1", driver.task(instance_id, "self_assessment").id, SELF)
    assert [t.task_key for t in driver.open_tasks(instance_id)] == ["manager_review"]


def test_each_escalation_keeps_its_own_instruction(driver, session_factory):
    """Decision 0053: the three escalations of the month had one form and one key (`instruction`); the procedure's
    data — every branch's, as the instance page shows it — kept only the last one. Each now has its own field: the
    review's escalation opens empty and both instructions stay."""
    _open(session_factory, driver.engine, "personnel1")
    instance_id = _instance_of(session_factory, "CB0001")
    clock.set_now(datetime(2026, 11, 26, 1, 0, tzinfo=UTC))  # past the self-assessment's deadline (25th)
    run_due_timers(session_factory, driver.engine)
    late_self = {"self_assessment_instruction": "Đã nhắc đồng chí hoàn thành trong ngày 27"}
    driver.complete("supervisor1", driver.task(instance_id, "escalate_self_assessment").id, late_self)
    driver.complete("officer1", driver.task(instance_id, "self_assessment").id, SELF)
    clock.set_now(datetime(2026, 11, 29, 1, 0, tzinfo=UTC))  # past the review's deadline (28th)
    run_due_timers(session_factory, driver.engine)
    escalation = driver.task(instance_id, "escalate_review")
    assert driver.prefill("head1", escalation.id) == {}
    with pytest.raises(Invalid):  # the old shared key does not stand in for the step's own field
        driver.complete("head1", escalation.id, {"instruction": "x"})
    late_review = {"review_instruction": "Đề nghị đồng chí nhận xét trước ngày 30"}
    driver.complete("head1", escalation.id, late_review)
    with session_factory() as session:
        workflow = _workflow(session, driver.engine, instance_id)
        data = instance_data(workflow)
    assert {**late_self, **late_review}.items() <= data.items()


def test_the_decision_deadline_escalates_to_the_level_above(driver, session_factory):
    _open(session_factory, driver.engine, "personnel1")
    instance_id = _instance_of(session_factory, "CB0001")
    driver.complete("officer1", driver.task(instance_id, "self_assessment").id, SELF)
    driver.complete("supervisor1", driver.task(instance_id, "manager_review").id, {**SELF, "decision": "submit"})
    clock.set_now(datetime(2026, 12, 4, 1, 0, tzinfo=UTC))
    run_due_timers(session_factory, driver.engine)
    escalation = driver.task(instance_id, "escalate_decision")
    with session_factory() as session:
        from workflows.registry.models import OrgUnit

        unit = session.get(OrgUnit, escalation.candidate_unit_id)
        assert unit is not None and unit.code == "T01"  # the province above the commune
    # Deciding closes the process; the open escalation is cancelled with it.
    driver.complete("head1", driver.task(instance_id, "head_decision").id, {"grade": "HTXSNV"})
    with session_factory() as session:
        statuses = dict(
            session.execute(
                select(HumanTask.task_key, HumanTask.status).where(HumanTask.instance_id == instance_id)
            ).all()
        )
    assert statuses["escalate_decision"] == TaskStatus.CANCELLED


def test_submitting_after_the_instance_moved_on_is_a_conflict(driver, session_factory):
    _open(session_factory, driver.engine, "personnel1")
    instance_id = _instance_of(session_factory, "CB0001")
    task = driver.task(instance_id, "self_assessment")
    driver.complete("officer1", task.id, SELF)
    with pytest.raises(Conflict):
        driver.complete("officer1", task.id, SELF)


def test_bulk_start_writes_what_an_ordinary_start_writes(driver, session_factory):
    """workflows.engine.bulk: the templated start of CB0001 and the ordinary start of CB0002 give the same rows."""
    from workflows.audit import AuditEvent
    from workflows.engine import operations
    from workflows.engine.bulk import start_many
    from workflows.evaluation.opening import business_key, cadre_data, shared_data, start_request

    with session_factory() as session, transaction(session):
        plan = plan_month(session, actor=None, month=MONTH, unit_code="X001")
        first, second = (c for c in plan.to_open if c.code in ("CB0001", "CB0002"))
        version = operations.latest_version(session, PROCESS_ID)
        shared = shared_data(MONTH, DEFAULT_POLICY)
        request = start_request(MONTH, first, PRODUCTS)
        [bulk_id] = start_many(
            session,
            driver.engine,
            actor=None,
            definition=driver.engine.definition(session, version.id),
            version=version.version,
            shared=shared,
            requests=[request],
        ).instance_ids
        ordinary_id = operations.start_instance(
            session,
            driver.engine,
            actor=None,
            process_id=PROCESS_ID,
            data={**shared, **cadre_data(second, PRODUCTS)},
            subject_cadre_id=second.cadre_id,
            unit_id=second.instance_unit_id,
            business_key=business_key(MONTH, "CB0002"),
        ).id

    def described(instance_id: int) -> tuple[Any, ...]:
        with session_factory() as session:
            task = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id)).one()
            events = session.scalars(
                select(AuditEvent).where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.seq)
            ).all()
            instance = session.get(ProcessInstance, instance_id)
            assert instance is not None
            return (
                (task.task_key, task.name, task.lane, task.form_filename, task.due_dt, task.status, task.unit_id),
                [e.event_type for e in events],
                (instance.status, instance.next_timer_at, instance.audit_seq, instance.lock_version),
            )

    assert described(bulk_id) == described(ordinary_id)
    with session_factory() as session:
        assert verify_chains(session).ok
        assert_every_export_verifies(session)
    data = _data(session_factory, driver.engine, bulk_id)
    assert (data["cadre_code"], data["products"], data["period"]) == ("CB0001", PRODUCTS, MONTH)
    # The templated instance runs like any other.
    driver.complete("officer1", driver.task(bulk_id, "self_assessment").id, SELF)
    assert [t.task_key for t in driver.open_tasks(bulk_id)] == ["manager_review"]


GATEWAY_FIRST = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="gateway_first" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:exclusiveGateway id="gw" default="f3"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing><bpmn:outgoing>f3</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:userTask id="big" name="Big"><bpmn:incoming>f2</bpmn:incoming></bpmn:userTask>
    <bpmn:userTask id="small" name="Small"><bpmn:incoming>f3</bpmn:incoming></bpmn:userTask>
    <bpmn:endEvent id="end" />
    <bpmn:sequenceFlow id="f4" sourceRef="big" targetRef="end" />
    <bpmn:sequenceFlow id="f5" sourceRef="small" targetRef="end" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="gw" />
    <bpmn:sequenceFlow id="f2" sourceRef="gw" targetRef="big">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">amount &gt; 10</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f3" sourceRef="gw" targetRef="small" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_bulk_start_refuses_a_process_that_reads_the_data_before_waiting(session_factory, process_engine, demo_users):
    """A gateway on per-instance data before the first wait: one template cannot serve, so it is refused."""
    from workflows.deployment.operations import deploy_bundle
    from workflows.deployment.validation import BundleFile
    from workflows.engine import operations
    from workflows.engine.bulk import BulkStartUnsupported, StartRequest, start_many

    with session_factory() as session, transaction(session):
        deploy_bundle(session, [BundleFile("gateway_first.bpmn", GATEWAY_FIRST)], actor=None, forms_dir=None)
        version = operations.latest_version(session, "gateway_first")
        definition = process_engine.definition(session, version.id)
        request = StartRequest({"amount": 50}, None, None, "x", None, unit_chain=(), unit_is_active=True)
        with pytest.raises(BulkStartUnsupported):
            start_many(
                session, process_engine, actor=None, definition=definition, version=1, shared={}, requests=[request]
            )


def test_a_degradation_finding_in_the_review_makes_the_grade_khtnv(driver, session_factory):
    """NĐ 335 Điều 20 (b): ticked by the direct manager, it fixes the grade whatever the score."""
    _open(session_factory, driver.engine, "personnel1")
    instance_id = _instance_of(session_factory, "CB0001")
    driver.complete("officer1", driver.task(instance_id, "self_assessment").id, SELF)
    driver.complete(
        "supervisor1",
        driver.task(instance_id, "manager_review").id,
        {**SELF, "decision": "submit", "degradation": True},
    )
    assert _data(session_factory, driver.engine, instance_id)["grade"] == "KHTNV"


def test_the_worker_opens_the_month_on_the_opening_day_once(driver, session_factory):
    """Issue #5 step 1: the scheduled start on the policy's day (default the 20th), idempotent across loops."""
    from datetime import date

    from workflows.evaluation.schedule import open_scheduled_months

    def run(day: date) -> list[Any]:
        return open_scheduled_months(
            session_factory, driver.engine, unit_codes=["X001"], policy=DEFAULT_POLICY, today=day
        )

    assert run(date(2026, 11, 19)) == []  # before the opening day
    [opening] = run(date(2026, 11, 20))
    with session_factory() as session:
        cadres = session.scalar(select(func.count(Cadre.id)).where(Cadre.unit_id == _unit_id(session, "X001")))
        opened = session.scalar(select(func.count(ProcessInstance.id)).where(ProcessInstance.process_id == PROCESS_ID))
    assert (opening.month, opening.opened, opened) == (MONTH, cadres, cadres)
    assert run(date(2026, 11, 21)) == []  # the cursor remembers the month: nothing planned again


@pytest.mark.parametrize("skip", [True, False])
def test_the_worker_skips_cadres_without_a_login_unless_set_to_include_them(driver, session_factory, skip):
    """Decision 0068: as the page and the CLI, by default; the month is then done for the worker, and the skipped
    cadres are opened by hand once they have a login."""
    from datetime import date

    from workflows.evaluation.schedule import open_scheduled_months

    with session_factory() as session, transaction(session):
        session.add(Cadre(code="CB0100", full_name="Ngô Văn Tư", unit_id=_unit_id(session, "X001")))

    def run(day: date) -> list[Any]:
        return open_scheduled_months(
            session_factory,
            driver.engine,
            unit_codes=["X001"],
            policy=DEFAULT_POLICY,
            today=day,
            skip_without_account=skip,
        )

    [opening] = run(date(2026, 11, 20))
    with session_factory() as session:
        cadres = session.scalar(select(func.count(Cadre.id)).where(Cadre.unit_id == _unit_id(session, "X001")))
        keys = set(
            session.scalars(select(ProcessInstance.business_key).where(ProcessInstance.process_id == PROCESS_ID))
        )
    assert (opening.opened, opening.skipped_without_account, opening.opened_without_account) == (
        (cadres - 1, 1, 0) if skip else (cadres, 0, 1)
    )
    assert (f"{MONTH}/CB0100" in keys) is not skip and len(keys) == opening.opened
    assert run(date(2026, 11, 21)) == []  # the month is done for the worker either way


def test_the_worker_opens_no_month_while_the_evaluation_is_withdrawn(driver, session_factory, caplog):
    """Decision 0050: nothing opened, nothing remembered — the month opens once the procedure is in use again."""
    from datetime import date

    from workflows.deployment.operations import reinstate_process, retire_process
    from workflows.evaluation.schedule import open_scheduled_months

    def run() -> list[Any]:
        return open_scheduled_months(
            session_factory, driver.engine, unit_codes=["X001"], policy=DEFAULT_POLICY, today=date(2026, 11, 20)
        )

    with session_factory() as session, transaction(session):
        admin = session.scalars(select(User).where(User.username == "admin")).one()
        retire_process(session, actor=admin, process_id=PROCESS_ID, reason="Tạm dừng")
    with caplog.at_level("WARNING"):
        assert run() == [] and run() == []
    assert sum("withdrawn from use" in r.getMessage() for r in caplog.records) <= 1  # once per worker and month
    with session_factory() as session:
        assert not session.scalar(
            select(func.count(ProcessInstance.id)).where(ProcessInstance.process_id == PROCESS_ID)
        )
    with session_factory() as session, transaction(session):
        admin = session.scalars(select(User).where(User.username == "admin")).one()
        reinstate_process(session, actor=admin, process_id=PROCESS_ID, reason="Đã có quy định")
    [opening] = run()
    assert opening.opened > 0


def _reminders(session_factory: sessionmaker[Session], username: str, task_key: str) -> int:
    with session_factory() as session:
        return (
            session.scalar(
                select(func.count(Notification.id))
                .join(HumanTask, HumanTask.id == Notification.human_task_id)
                .join(User, User.id == Notification.user_id)
                .where(Notification.kind == "due_soon", User.username == username, HumanTask.task_key == task_key)
            )
            or 0
        )


def test_the_reminder_comes_the_policys_days_before_each_deadline(driver, session_factory):
    """§8 (policy reminder_days_before, default 2): the self-assessment is due at the end of the 25th; on the 24th
    in the morning (less than 2 days before) the cadre is reminded, where the worker's general lead (1 day) would
    still be silent; a process without a lead of its own keeps the general one."""
    _open(session_factory, driver.engine, "personnel1")
    lead = {PROCESS_ID: timedelta(days=DEFAULT_POLICY.reminder_days_before)}
    clock.set_now(datetime(2026, 11, 22, 3, 0, tzinfo=UTC))  # 10:00 on the 22nd in Vietnam: 3.5 days ahead
    create_notifications(session_factory, reminders=lead)
    assert _reminders(session_factory, "officer1", "self_assessment") == 0
    clock.set_now(datetime(2026, 11, 24, 3, 0, tzinfo=UTC))  # 10:00 on the 24th: 1.6 days ahead
    create_notifications(session_factory)  # the general one-day lead: not yet
    assert _reminders(session_factory, "officer1", "self_assessment") == 0
    create_notifications(session_factory, reminders=lead)
    assert _reminders(session_factory, "officer1", "self_assessment") == 1
    create_notifications(session_factory, reminders=lead)  # once only
    assert _reminders(session_factory, "officer1", "self_assessment") == 1


def test_the_head_reads_the_latest_reviews_comment_not_an_earlier_returns(driver, session_factory):
    """Round 1 returns with a comment and a criteria reason; round 2 agrees with neither: the process data the head
    reads carries round 2's (none), not round 1's. Round 1's words stay in the history, on its own completed task."""
    _open(session_factory, driver.engine, "personnel1")
    instance_id = _instance_of(session_factory, "CB0001")
    driver.complete("officer1", driver.task(instance_id, "self_assessment").id, SELF)
    first = driver.task(instance_id, "manager_review")
    lowered = {**SELF, "criteria_politics": 8, "criteria_reason": "Chưa tham gia sinh hoạt chi bộ"}
    driver.complete("supervisor1", first.id, {**lowered, "decision": "return", "comment": "Bổ sung minh chứng"})
    assert _data(session_factory, driver.engine, instance_id)["comment"] == "Bổ sung minh chứng"

    driver.complete("officer1", driver.task(instance_id, "self_assessment").id, SELF)
    driver.complete("supervisor1", driver.task(instance_id, "manager_review").id, {**SELF, "decision": "submit"})

    data = _data(session_factory, driver.engine, instance_id)
    assert (data["comment"], data["criteria_reason"]) == (None, None)


def _result_notice(session_factory: sessionmaker[Session]) -> str:
    with session_factory() as session:
        return session.scalars(select(Notification.body).where(Notification.kind == "evaluation_result")).one()


def test_the_cadres_notice_carries_the_heads_reason_and_comment_in_the_app_and_the_email(driver, session_factory):
    """Lan is told her grade with what the head wrote — the reason for a grade other than the proposed one, his
    comment — in the app and in the e-mail, which sends the same text."""
    _open(session_factory, driver.engine, "personnel1")
    instance_id = _instance_of(session_factory, "CB0001")
    driver.complete("officer1", driver.task(instance_id, "self_assessment").id, SELF)
    driver.complete("supervisor1", driver.task(instance_id, "manager_review").id, {**SELF, "decision": "submit"})
    driver.complete(
        "head1",
        driver.task(instance_id, "head_decision").id,
        {
            "grade": "HTTNV",  # the score proposes HTXSNV
            "grade_reason": "Chậm nộp báo cáo quý",
            "decision_comment": "Cần chú ý tiến độ\ngiải quyết hồ sơ.",
        },
    )
    lines = _result_notice(session_factory).split("\n")
    assert lines[0].startswith("Điểm: ") and lines[0].endswith(". Xếp loại: Hoàn thành tốt nhiệm vụ (HTTNV).")
    assert lines[1:] == [
        "Lý do xếp loại: Chậm nộp báo cáo quý",
        "Ý kiến của thủ trưởng: Cần chú ý tiến độ",
        "giải quyết hồ sơ.",
    ]

    with session_factory() as session, transaction(session):
        session.execute(update(User).where(User.username == "officer1").values(email="officer1@sonha.example"))
    with smtp_inbox() as (inbox, port):
        settings = SmtpSettings(host="127.0.0.1", port=port, timeout=5.0, sender="canbo@sonha.example")
        assert send_pending_emails(session_factory, settings).emailed >= 1
    [body] = [m.get_content() for to, m in inbox.messages() if to == ["officer1@sonha.example"]]
    assert "Lý do xếp loại: Chậm nộp báo cáo quý\n" in body
    assert "Ý kiến của thủ trưởng: Cần chú ý tiến độ\ngiải quyết hồ sơ.\n" in body


def test_without_a_comment_the_notice_is_the_score_and_grade(driver, session_factory):
    """A blank comment adds no empty "Ý kiến" line."""
    _open(session_factory, driver.engine, "personnel1")
    instance_id = _instance_of(session_factory, "CB0001")
    driver.complete("officer1", driver.task(instance_id, "self_assessment").id, SELF)
    driver.complete("supervisor1", driver.task(instance_id, "manager_review").id, {**SELF, "decision": "submit"})
    driver.complete("head1", driver.task(instance_id, "head_decision").id, {"grade": "HTXSNV", "decision_comment": " "})
    notice = _result_notice(session_factory)
    assert (
        "\n" not in notice
        and notice.startswith("Điểm: ")
        and notice.endswith(". Xếp loại: Hoàn thành xuất sắc nhiệm vụ (HTXSNV).")
    )


def test_the_latest_reviews_own_comment_is_the_one_kept(driver, session_factory):
    _open(session_factory, driver.engine, "personnel1")
    instance_id = _instance_of(session_factory, "CB0001")
    driver.complete("officer1", driver.task(instance_id, "self_assessment").id, SELF)
    review = driver.task(instance_id, "manager_review")
    driver.complete("supervisor1", review.id, {**SELF, "decision": "return", "comment": "Bổ sung minh chứng"})
    driver.complete("officer1", driver.task(instance_id, "self_assessment").id, SELF)
    review = driver.task(instance_id, "manager_review")
    driver.complete("supervisor1", review.id, {**SELF, "decision": "submit", "comment": "Đã bổ sung đủ"})
    assert _data(session_factory, driver.engine, instance_id)["comment"] == "Đã bổ sung đủ"


def test_a_review_records_what_it_changed_with_the_cadres_value_and_the_reason(driver, session_factory):
    """`review_changes`: what the returned form shows beside each value; the next review writes it afresh."""
    _open(session_factory, driver.engine, "personnel1")
    instance_id = _instance_of(session_factory, "CB0001")
    driver.complete("officer1", driver.task(instance_id, "self_assessment").id, SELF)
    changed = [dict(PRODUCTS[0]), dict(PRODUCTS[1], completed_on_time=15, reason="5 hồ sơ trễ hạn")]
    returned = {**SELF, "products": changed, "criteria_competence": 8, "criteria_reason": "Chưa học xong"}
    review = driver.task(instance_id, "manager_review")
    driver.complete("supervisor1", review.id, {**returned, "decision": "return", "comment": "Xem lại"})
    data = _data(session_factory, driver.engine, instance_id)
    assert data["review_changes"] == {
        "products.1.completed_on_time": {"before": 20, "after": 15, "reason": "5 hồ sơ trễ hạn"},
        "criteria_competence": {"before": 9, "after": 8, "reason": "Chưa học xong"},
    }
    # A return proposes; her numbers stay hers (decision 0105).
    assert data["products"] == PRODUCTS and data["criteria_competence"] == SELF["criteria_competence"]

    driver.complete("officer1", driver.task(instance_id, "self_assessment").id, SELF)
    driver.complete("supervisor1", driver.task(instance_id, "manager_review").id, {**SELF, "decision": "submit"})
    assert _data(session_factory, driver.engine, instance_id)["review_changes"] == {}


@pytest.mark.parametrize(
    ("row", "criteria", "fields"),
    [
        ({"completed_on_time": 15}, {}, ["products.1.reason"]),  # a change without its reason
        ({}, {"criteria_politics": 2}, ["criteria_reason"]),
        (
            {"completed": 5, "reason": "Sổ theo dõi"},
            {},
            ["products.1.completed_quality", "products.1.completed_on_time"],
        ),
    ],
)
def test_a_return_is_held_to_the_reviews_rules_and_writes_nothing_when_refused(
    driver, session_factory, row, criteria, fields
):
    """Decision 0105: what a return changes needs its reason and consistent numbers, as an agreement's does."""
    _open(session_factory, driver.engine, "personnel1")
    instance_id = _instance_of(session_factory, "CB0001")
    driver.complete("officer1", driver.task(instance_id, "self_assessment").id, SELF)
    before = _data(session_factory, driver.engine, instance_id)
    review = driver.task(instance_id, "manager_review")
    returned = {**SELF, **criteria, "products": [PRODUCTS[0], {**PRODUCTS[1], **row}], "comment": "Xem lại"}
    with pytest.raises(Invalid) as refused:
        driver.complete("supervisor1", review.id, {**returned, "decision": "return"})
    assert sorted(p.field or "" for p in refused.value.problems) == sorted(fields)
    assert driver.task(instance_id, "manager_review").id == review.id
    assert _data(session_factory, driver.engine, instance_id) == before
