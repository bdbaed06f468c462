"""workflows/engine/bulk.py: a month's instances from one engine run, only where one run can stand for every cadre.

A version an administrator deploys may read a cadre's data before the first wait — a gateway on it, a script
computing from it. One template would then give every cadre the path of the placeholders (and of the first cadre,
which it is checked against), or hide a script that fails for some cadres only. Those versions start each cadre
the ordinary way; a cadre whose start fails is noted for the administrators and the others are opened."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.evaluation import MONTH, deploy_evaluation_version, open_steps
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows.deployment.validation import BundleFile, build_parser
from workflows.engine import operations
from workflows.engine.bulk import template_obstacles
from workflows.evaluation import PROCESS_ID
from workflows.evaluation.opening import plan_month
from workflows.evaluation.schedule import open_scheduled_months
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
