"""workflows/engine/bulk.py: a month's instances from one engine run, only where one run can stand for every cadre.

A version an administrator deploys may read a cadre's data before the first wait — a gateway on it, a script
computing from it. One template would then give every cadre the path of the placeholders (and of the first cadre,
which it is checked against), or hide a script that fails for some cadres only. Those versions give each cadre an
engine run of its own, the rows still written per chunk as the template's are (decision 0087) and stored exactly as
an ordinary start stores them; a cadre whose start fails is noted for the administrators and the others are opened."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.evaluation import MONTH, deploy_evaluation_version, open_steps
from tests.fixtures.planning import add_personnel_officer
from tests.fixtures.statements import statements_sent
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows.audit import instance_chain
from workflows.db import transaction
from workflows.deployment.validation import BundleFile, build_parser
from workflows.engine import operations
from workflows.engine.bulk import BulkStartUnsupported, StartRequest, start_each, start_many, template_obstacles
from workflows.engine.operations import START_NOT_ALLOWED, UNIT_CLOSED
from workflows.engine.runtime import ProcessEngine
from workflows.errors import Invalid, NotAllowed, ScriptFailure
from workflows.evaluation import PROCESS_ID
from workflows.evaluation.opening import (
    OpenResult,
    business_key,
    open_for_cadres,
    plan_month,
    plan_refusals,
    shared_data,
    start_request,
)
from workflows.evaluation.schedule import open_scheduled_months
from workflows.models import AuditEvent, HumanTask, ProcessInstance
from workflows.production.consistency import check_consistency
from workflows.registry.models import OrgUnit, User
from workflows.rules.evaluation import DEFAULT_POLICY

pytestmark = pytest.mark.usefixtures("in_november")

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "bpmn"
# What `evaluation.opening.cadre_data` gives each cadre (the per-instance values of a month's bulk start).
PER_CADRE = frozenset(
    {"cadre_code", "cadre_name", "cadre_unit_id", "cadre_unit_name", "is_leader", "evaluated_above", "products"}
)


def leadership(session_factory: sessionmaker[Session]) -> dict[str, tuple[bool, bool]]:
    """{cadre code: (is a leader, heads the unit)} of X001's cadres with a login, as the opening plans them."""
    with session_factory() as session:
        plan = plan_month(session, actor=None, month=MONTH, unit_code="X001")
        return {c.code: (c.is_leader, c.is_unit_head) for c in plan.cadres_to_open(skip_without_account=True)}


def start_failures(session_factory: sessionmaker[Session]) -> list[Any]:
    with session_factory() as session:
        return operations.start_failures(session)


def _obstacles(bpmn: bytes, process_id: str = "p") -> tuple[str, ...]:
    rules = BundleFile("grade.dmn", (FIXTURES / "grade.dmn").read_bytes())
    parser = build_parser([BundleFile("model.bpmn", bpmn), rules])
    return template_obstacles(parser.get_spec(process_id), PER_CADRE)


def _model(body: str, *, extra_ns: str = "") -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" {extra_ns}
  id="d" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="p" isExecutable="true">
{body}
  </bpmn:process>
</bpmn:definitions>
""".encode()


# start → (something) → task → end, the something varying per case.
def _before_task(element: str, task_extra: str = "") -> bytes:
    return _model(
        f"""
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    {element}
    <bpmn:userTask id="task" name="Task">{task_extra}<bpmn:incoming>f2</bpmn:incoming>
      <bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="step" />
    <bpmn:sequenceFlow id="f2" sourceRef="step" targetRef="task" />
    <bpmn:sequenceFlow id="f3" sourceRef="task" targetRef="end" />"""
    )


def _script(code: str) -> str:
    return f"""<bpmn:scriptTask id="step" name="Step" scriptFormat="python"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing><bpmn:script>{code}</bpmn:script></bpmn:scriptTask>"""


def test_the_shipped_evaluation_reads_nothing_of_the_cadre_before_its_first_step():
    parser = build_parser(
        [BundleFile(p.name, p.read_bytes()) for p in sorted((ROOT / "bpmn").iterdir()) if p.suffix == ".bpmn"]
        + [BundleFile("evaluation_grade.dmn", (ROOT / "bpmn" / "evaluation_grade.dmn").read_bytes())]
    )
    assert template_obstacles(parser.get_spec(PROCESS_ID), PER_CADRE) == ()


@pytest.mark.parametrize(
    ("filename", "element"),
    [("evaluation_heads_apart.bpmn", "is_head_gateway"), ("evaluation_share_above.bpmn", "share_unit_criterion")],
)
def test_a_version_reading_the_cadre_before_its_first_step_is_found(filename, element):
    parser = build_parser([BundleFile(filename, (FIXTURES / filename).read_bytes())])
    [obstacle] = template_obstacles(parser.get_spec(PROCESS_ID), PER_CADRE)
    assert element in obstacle


@pytest.mark.parametrize(
    ("model", "found"),
    [
        # Code that reads only what every cadre shares (the month, the policy), or nothing: one run stands for all.
        (_before_task(_script('stage = "open" if period &gt; "2026-01" else "old"')), None),
        (_before_task(_script("pass")), None),
        (_before_task(_script("total = 0\nfor p in policy:\n    total += 1")), None),
        # Per-cadre data named by a script (read, looped over, deleted), or by the first task's pre-script.
        (_before_task(_script("label = cadre_name.upper()")), "step"),
        (_before_task(_script("for p in products:\n    n = 1")), "step"),
        (_before_task(_script("x = 1\ndel cadre_code")), "step"),
        # A deadline of the first step computed from a cadre's value (its boundary timer is set as the step opens).
        (
            _before_task(
                _script("x = 1")
                + """<bpmn:boundaryEvent id="late" cancelActivity="false" attachedToRef="task">
      <bpmn:timerEventDefinition id="t"><bpmn:timeDate xsi:type="bpmn:tFormalExpression">deadline_of[cadre_code]
      </bpmn:timeDate></bpmn:timerEventDefinition></bpmn:boundaryEvent>"""
            ),
            "late",
        ),
        (
            _before_task(
                _script("x = 1"),
                "<bpmn:extensionElements><spiffworkflow:preScript>n = len(products)</spiffworkflow:preScript>"
                "</bpmn:extensionElements>",
            ),
            "task",
        ),
        # A timer over a cadre's value, on the first step's boundary or waited for before it.
        (
            _before_task(
                """<bpmn:intermediateCatchEvent id="step"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing><bpmn:timerEventDefinition id="t">
      <bpmn:timeDate xsi:type="bpmn:tFormalExpression">cadre_unit_name</bpmn:timeDate>
      </bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"""
            ),
            "step",
        ),
        (
            _before_task(
                """<bpmn:intermediateCatchEvent id="step"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing><bpmn:timerEventDefinition id="t">
      <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"PT1H"</bpmn:timeDuration>
      </bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>"""
            ),
            None,
        ),
        # What the check does not read through is never assumed safe: a rule table, a multi-instance, a subprocess.
        (
            _before_task(
                """<bpmn:businessRuleTask id="step"><bpmn:extensionElements>
      <spiffworkflow:calledDecisionId>grade_decision</spiffworkflow:calledDecisionId></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:businessRuleTask>"""
            ),
            "step",
        ),
        (
            _before_task(
                """<bpmn:userTask id="step" name="Vote"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>2</bpmn:loopCardinality>
      </bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>"""
            ),
            "step",
        ),
        (
            _before_task(
                """<bpmn:subProcess id="step"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:startEvent id="s2"><bpmn:outgoing>g1</bpmn:outgoing></bpmn:startEvent>
      <bpmn:endEvent id="e2"><bpmn:incoming>g1</bpmn:incoming></bpmn:endEvent>
      <bpmn:sequenceFlow id="g1" sourceRef="s2" targetRef="e2" /></bpmn:subProcess>"""
            ),
            "step",
        ),
    ],
)
def test_what_is_read_before_the_first_wait_decides(model, found):
    obstacles = _obstacles(model)
    if found is None:
        assert obstacles == ()
    else:
        assert obstacles and all(found in obstacle for obstacle in obstacles), obstacles


def test_a_gateway_on_shared_data_keeps_the_template_and_one_on_a_cadre_does_not():
    def gateway(condition: str) -> bytes:
        return _model(
            f"""
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:exclusiveGateway id="gw" default="f3"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing><bpmn:outgoing>f3</bpmn:outgoing></bpmn:exclusiveGateway>
    <bpmn:userTask id="big" name="Big"><bpmn:incoming>f2</bpmn:incoming></bpmn:userTask>
    <bpmn:userTask id="small" name="Small"><bpmn:incoming>f3</bpmn:incoming></bpmn:userTask>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="gw" />
    <bpmn:sequenceFlow id="f2" sourceRef="gw" targetRef="big">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">{condition}</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f3" sourceRef="gw" targetRef="small" />"""
        )

    assert _obstacles(gateway('policy["open_day"] &gt; 10')) == ()
    [obstacle] = _obstacles(gateway("is_leader == True"))
    assert "gw" in obstacle


# -- the worker's scheduled opening (workflows/evaluation/schedule.py) ------------------------------------------------


def _open_scheduled(driver: WorkflowDriver, day: date = date(2026, 11, 20)) -> list[Any]:
    return open_scheduled_months(
        driver.session_factory, driver.engine, unit_codes=["X001"], policy=DEFAULT_POLICY, today=day
    )


def test_the_worker_gives_each_cadre_the_path_of_their_own_data(driver, session_factory):
    deploy_evaluation_version(session_factory, "evaluation_heads_apart.bpmn")
    cadres = leadership(session_factory)
    expected = {code: "head_self_assessment" if head else "self_assessment" for code, (_, head) in cadres.items()}
    assert set(expected.values()) == {"head_self_assessment", "self_assessment"}  # both paths are taken
    assert not next(iter(cadres.values()))[1]  # the first cadre (whom the template is checked against) is no head
    [opening] = _open_scheduled(driver)
    assert opening.opened == len(cadres)
    assert open_steps(session_factory) == expected


def test_the_worker_opens_the_others_when_a_script_fails_for_one_cadre(driver, session_factory, caplog):
    deploy_evaluation_version(session_factory, "evaluation_share_above.bpmn")
    cadres = leadership(session_factory)
    [failing] = [code for code, (_, head) in cadres.items() if head]  # the unit head, opened without products
    with caplog.at_level("ERROR"):
        [opening] = _open_scheduled(driver)
    assert opening.opened == len(cadres) - 1
    assert set(open_steps(session_factory)) == set(cadres) - {failing}
    [noted] = start_failures(session_factory)
    assert (noted.process_id, noted.element_id) == (PROCESS_ID, "share_unit_criterion")
    assert any(failing in record.getMessage() for record in caplog.records)
    # The month stays due for the worker: the next loop tries the failed cadre again, noted once a day.
    caplog.clear()
    with caplog.at_level("ERROR"):
        assert [o.opened for o in _open_scheduled(driver, date(2026, 11, 21))] in ([], [0])
    assert any(failing in record.getMessage() for record in caplog.records)
    assert len(start_failures(session_factory)) == 1 and failing not in open_steps(session_factory)


# -- the middle path: the engine per cadre, the rows per chunk (decision 0087) ------------------------------------------

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_STATE_CHANGE = re.compile(r'"last_state_change": [0-9.e+-]+')
# What differs between two starts of the same cadre whatever writes them: row ids (and what names them — a task's
# Spiff id, an instance's chain key, the hashes over both) and the clock.
_ASIDE = {"id", "instance_id", "spiff_task_id", "started_dt", "opened_dt", "occurred_dt", "prev_hash", "hash"}


def _renumbered(state: str) -> str:
    """A state with its task ids numbered by first appearance and its timestamps zeroed."""
    ids: dict[str, str] = {}
    state = json.dumps(json.loads(state))  # the stored JSON is compact; one spacing for the pattern below
    state = _UUID.sub(lambda m: ids.setdefault(m.group(), f"id{len(ids)}"), state)
    return _STATE_CHANGE.sub('"last_state_change": 0', state)


def _columns(row: Any, aside: set[str]) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key not in aside}


def stored(session: Session) -> dict[str, Any]:
    """{business key: every column of the instance, its inbox rows and its audit events}, ids and timestamps aside;
    a task an event names is named by its place among the instance's tasks."""
    described: dict[str, Any] = {}
    for instance in session.scalars(select(ProcessInstance).where(ProcessInstance.process_id == PROCESS_ID)):
        tasks = session.scalars(
            select(HumanTask).where(HumanTask.instance_id == instance.id).order_by(HumanTask.id)
        ).all()
        task_places = {task.id: place for place, task in enumerate(tasks)}
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.instance_id == instance.id).order_by(AuditEvent.seq)
        ).all()
        assert {event.chain_key for event in events} == {instance_chain(instance.id)}
        described[instance.business_key] = (
            {**_columns(instance, _ASIDE | {"state", "audit_head"}), "state": _renumbered(instance.state)},
            [_columns(task, _ASIDE) for task in tasks],
            [
                {
                    **_columns(event, _ASIDE | {"chain_key", "human_task_id"}),
                    "task": task_places.get(event.human_task_id),
                }
                for event in events
            ],
        )
    return described


def _requests(session: Session) -> list[StartRequest]:
    """Every cadre of X001 opened for the month, as `open_for_cadres` asks for them (heads among them, all without
    assigned products)."""
    plan = plan_month(session, actor=None, month=MONTH, unit_code="X001")
    return [start_request(MONTH, c, []) for c in plan.to_open]


def started_ordinarily(
    session_factory: sessionmaker[Session], engine: ProcessEngine
) -> tuple[dict[str, Any], dict[str, tuple[str | None, str]]]:
    """What `operations.start_instance` stores for each cadre (rolled back afterwards), and whose start failed:
    {business key: (the element, the message)}."""
    failed: dict[str, tuple[str | None, str]] = {}
    with session_factory() as session:
        shared = shared_data(MONTH, DEFAULT_POLICY)
        for request in _requests(session):
            try:
                operations.start_instance(
                    session,
                    engine,
                    actor=None,
                    process_id=PROCESS_ID,
                    data={**shared, **request.data},
                    subject_cadre_id=request.subject_cadre_id,
                    unit_id=request.unit_id,
                    business_key=request.business_key,
                )
            except ScriptFailure as failure:
                failed[str(request.business_key)] = (failure.element_id, failure.message)
        described = stored(session)
        session.rollback()
    return described, failed


@pytest.mark.parametrize(
    ("filename", "heads_fail"),
    [
        ("evaluation_heads_apart.bpmn", False),
        # A unit head's start divides by the number of their products, of which they have none: left out.
        ("evaluation_share_above.bpmn", True),
    ],
)
def test_the_engine_per_cadre_stores_what_an_ordinary_start_of_each_cadre_stores(
    driver, session_factory, filename, heads_fail
):
    deploy_evaluation_version(session_factory, filename)
    with session_factory() as session:
        plan = plan_month(session, actor=None, month=MONTH, unit_code="X001")
        heads = {business_key(MONTH, c.code) for c in plan.to_open if c.is_unit_head}
    assert heads
    failing = heads if heads_fail else set()
    ordinary, ordinary_failed = started_ordinarily(session_factory, driver.engine)
    with session_factory() as session, transaction(session):
        requests = _requests(session)
        version = operations.latest_version(session, PROCESS_ID)
        definition = driver.engine.definition(session, version.id)
        shared = shared_data(MONTH, DEFAULT_POLICY)
        with pytest.raises(BulkStartUnsupported):  # one run cannot stand for every cadre of these models
            start_many(
                session, driver.engine, actor=None, definition=definition, version=1, shared=shared, requests=requests
            )
        each = start_each(
            session,
            driver.engine,
            actor=None,
            definition=definition,
            version=version.version,
            shared=shared,
            requests=requests,
        )
    failed = {
        str(requests[index].business_key): (failure.element_id, failure.message)
        for index, failure in each.failed.items()
    }
    assert failed == ordinary_failed
    assert set(failed) == failing
    assert all(element == "share_unit_criterion" for element, _message in failed.values())
    with session_factory() as session:
        bulk = stored(session)
        assert check_consistency(session, driver.engine).ok  # the inbox matches the states, every chain verifies
    assert len(bulk) == len(requests) - len(failing) == len(each.instance_ids)
    assert bulk == ordinary
    # Both paths are taken: the unit head's step is their own where the model says so.
    steps = {key: [task["task_key"] for task in tasks] for key, (_, tasks, _) in bulk.items()}
    assert {step for keys in steps.values() for step in keys} == (
        {"self_assessment", "head_self_assessment"}
        if filename == "evaluation_heads_apart.bpmn"
        else {"self_assessment"}
    )


# -- what an ordinary start refuses, refused per member in memory (decision 0104) -------------------------------------


def _close_x002(session_factory: sessionmaker[Session]) -> None:
    """X002 dissolved while its cadre is still on its roll: an ordinary start about them is refused."""
    with session_factory() as session, transaction(session):
        session.scalars(select(OrgUnit).where(OrgUnit.code == "X002")).one().is_active = False


# (who opens, which unit, what makes some ordinary starts refused, the reason): a personnel officer of the commune
# does not cover the level above, where its head's evaluation is decided; nobody starts in a closed unit.
REFUSALS = {
    "the head's unit above": ("personnelx1", "X001", None, START_NOT_ALLOWED),
    "a closed unit": (None, "T01", _close_x002, UNIT_CLOSED),
}


def _actor(session: Session, username: str | None) -> User | None:
    return session.scalars(select(User).where(User.username == username)).one() if username else None


def refused_ordinarily(
    session_factory: sessionmaker[Session], engine: ProcessEngine, username: str | None, unit_code: str
) -> dict[str, str]:
    """{business key: the message `operations.start_instance` refuses with} over the month's plan (rolled back)."""
    refused: dict[str, str] = {}
    with session_factory() as session:
        actor = _actor(session, username)
        plan = plan_month(session, actor=actor, month=MONTH, unit_code=unit_code)
        shared = shared_data(MONTH, DEFAULT_POLICY)
        for cadre in plan.to_open:
            request = start_request(MONTH, cadre, [])
            try:
                operations.start_instance(
                    session,
                    engine,
                    actor=actor,
                    process_id=PROCESS_ID,
                    data={**shared, **request.data},
                    subject_cadre_id=request.subject_cadre_id,
                    unit_id=request.unit_id,
                    business_key=request.business_key,
                )
            except (NotAllowed, Invalid) as refusal:
                refused[str(request.business_key)] = refusal.message
        session.rollback()
    return refused


@pytest.mark.parametrize("refusal", list(REFUSALS))
@pytest.mark.parametrize("model", [None, "evaluation_heads_apart.bpmn"], ids=["template", "engine per cadre"])
def test_both_bulk_paths_leave_out_whom_an_ordinary_start_refuses_with_its_reason(
    driver, session_factory, refusal, model
):
    username, unit_code, arrange, reason = REFUSALS[refusal]
    add_personnel_officer(session_factory, "personnelx1", "X001")
    if arrange is not None:
        arrange(session_factory)
    if model is not None:
        deploy_evaluation_version(session_factory, model)
    ordinary = refused_ordinarily(session_factory, driver.engine, username, unit_code)
    assert ordinary and set(ordinary.values()) == {reason}
    with session_factory() as session, transaction(session):
        actor = _actor(session, username)
        plan = plan_month(session, actor=actor, month=MONTH, unit_code=unit_code)
        # The refused first: the template must be proved on a member that starts.
        requests = sorted(
            (start_request(MONTH, c, []) for c in plan.to_open), key=lambda r: r.business_key not in ordinary
        )
        version = operations.latest_version(session, PROCESS_ID)
        arguments: dict[str, Any] = {
            "actor": actor,
            "definition": driver.engine.definition(session, version.id),
            "version": version.version,
            "shared": shared_data(MONTH, DEFAULT_POLICY),
            "requests": requests,
        }
        if model is None:
            started = start_many(session, driver.engine, **arguments)
        else:
            with pytest.raises(BulkStartUnsupported):
                start_many(session, driver.engine, **arguments)
            started = start_each(session, driver.engine, **arguments)
    assert {str(requests[index].business_key): why for index, why in started.refused.items()} == ordinary
    assert not started.failed
    with session_factory() as session:
        opened = set(session.scalars(select(ProcessInstance.business_key)))
        assert check_consistency(session, driver.engine).ok
    assert opened == {r.business_key for r in requests} - set(ordinary)
    assert len(started.instance_ids) == len(opened)


@pytest.mark.parametrize("refusal", list(REFUSALS))
def test_the_preview_names_whom_the_opening_will_refuse_without_asking_the_database(
    driver, session_factory, db_engine, refusal
):
    """Decision 0119: before opening, `plan_refusals` names exactly whom a single start refuses, with its message,
    decided in memory on the plan — not one statement sent, however many cadres."""
    username, unit_code, arrange, reason = REFUSALS[refusal]
    add_personnel_officer(session_factory, "personnelx1", "X001")
    if arrange is not None:
        arrange(session_factory)
    ordinary = refused_ordinarily(session_factory, driver.engine, username, unit_code)
    assert ordinary and set(ordinary.values()) == {reason}
    with session_factory() as session:
        actor = _actor(session, username)
        plan = plan_month(session, actor=actor, month=MONTH, unit_code=unit_code)
        with statements_sent(db_engine) as sent:
            ahead = plan_refusals(plan, actor)
    assert {business_key(MONTH, code): why for code, why in ahead.items()} == ordinary
    assert sent.statements == [], str(sent)
    assert len(plan.to_open) > len(ahead)  # the others are not named


@pytest.mark.parametrize("model", [None, "evaluation_heads_apart.bpmn"], ids=["template", "engine per cadre"])
def test_the_opening_reads_nothing_more_per_cadre_to_refuse_them(driver, session_factory, db_engine, model):
    """Opening X001 as its own personnel officer: the head is refused, counted apart, and the statements sent for a
    chunk are those of a chunk of one cadre — the checks read nothing per cadre."""
    add_personnel_officer(session_factory, "personnelx1", "X001")
    if model is not None:
        deploy_evaluation_version(session_factory, model)
    planned = leadership(session_factory)
    heads = {code for code, (_, head) in planned.items() if head}

    def opening(codes: set[str] | None) -> tuple[OpenResult, Any]:
        with session_factory() as session, transaction(session):
            actor = _actor(session, "personnelx1")
            plan = plan_month(session, actor=actor, month=MONTH, unit_code="X001")
            cadres = [c for c in plan.to_open if codes is None or c.code in codes]
            with statements_sent(db_engine) as sent:
                result = open_for_cadres(
                    session, driver.engine, actor=actor, plan=plan, cadres=cadres, policy=DEFAULT_POLICY
                )
        return result, sent

    opening(set())  # the version's model is read once per process engine, not per chunk
    first, one_cadre = opening({"CB0001"})
    assert (first.opened, first.refused) == (1, {})
    rest, whole_chunk = opening(None)
    assert rest.refused == dict.fromkeys(heads, START_NOT_ALLOWED)
    assert rest.opened == len(planned) - 1 - len(heads) > 1
    assert len(whole_chunk.statements) == len(one_cadre.statements), f"{one_cadre}\n--\n{whole_chunk}"
    assert set(open_steps(session_factory)) == set(planned) - heads


def test_the_worker_says_whom_an_ordinary_start_refuses_and_marks_the_month_done(driver, session_factory, caplog):
    """The province (where X001's head is evaluated) closed: the head's start would be refused, so the worker leaves
    them out and says so; nothing it could retry, so the month is done for X001."""
    planned = leadership(session_factory)
    heads = {code for code, (_, head) in planned.items() if head}
    with session_factory() as session, transaction(session):
        session.scalars(select(OrgUnit).where(OrgUnit.code == "T01")).one().is_active = False
    with caplog.at_level("WARNING"):
        [opening] = _open_scheduled(driver)
    assert opening.opened == len(planned) - len(heads) and set(open_steps(session_factory)) == set(planned) - heads
    [said] = [r.getMessage() for r in caplog.records if "refuses" in r.getMessage()]
    assert all(head in said for head in heads) and UNIT_CLOSED in said
    assert _open_scheduled(driver, date(2026, 11, 21)) == []
