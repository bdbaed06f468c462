"""bpmn/evaluation_grade.dmn (NĐ 335/2025 Điều 20) run by SpiffWorkflow's DMN engine agrees with `grade_for`."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from workflows.deployment.validation import BundleFile, validate_bundle
from workflows.rules.evaluation import grade_for
from workflows.scripting import create_script_engine

ROOT = Path(__file__).resolve().parents[2]
DMN = ROOT / "bpmn" / "evaluation_grade.dmn"

# A one-task process calling the decision, as the lead's process will (the variables are the DMN's inputs).
CALLER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="defs" targetNamespace="http://canbo.example/bpmn">
  <bpmn:process id="grade_caller" name="Grade caller" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>to_rule</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="to_rule" sourceRef="start" targetRef="grade" />
    <bpmn:businessRuleTask id="grade" name="Xếp loại">
      <bpmn:extensionElements>
        <spiffworkflow:calledDecisionId>evaluation_grade</spiffworkflow:calledDecisionId>
      </bpmn:extensionElements>
      <bpmn:incoming>to_rule</bpmn:incoming>
      <bpmn:outgoing>to_end</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:sequenceFlow id="to_end" sourceRef="grade" targetRef="end" />
    <bpmn:endEvent id="end"><bpmn:incoming>to_end</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.fixture(scope="module")
def parser() -> SpiffBpmnParser:
    parser = SpiffBpmnParser()
    parser.add_dmn_str(DMN.read_bytes())
    parser.add_bpmn_str(CALLER.encode())
    return parser


def decide(parser: SpiffBpmnParser, score: float, disciplined: bool, degradation: bool, corruption: bool) -> str:
    workflow = BpmnWorkflow(
        parser.get_spec("grade_caller"),
        parser.get_subprocess_specs("grade_caller"),
        script_engine=create_script_engine(),
    )
    for task in workflow.get_tasks(state=TaskState.READY):
        task.data.update(score=score, disciplined=disciplined, degradation=degradation, unit_corruption=corruption)
    workflow.do_engine_steps()
    assert workflow.is_completed()
    return str(workflow.data["grade"])


def test_the_decision_passes_the_deployment_checks() -> None:
    """The table is valid DMN for the deployment validator (XSD, one decision per file, the id the process calls)."""
    bundle = validate_bundle(
        [BundleFile("grade_caller.bpmn", CALLER.encode()), BundleFile("evaluation_grade.dmn", DMN.read_bytes())],
        forms_dir=None,
    )
    assert bundle.process_ids == ["grade_caller"]


BOUNDARIES = [0, 49.99, 50, 69.99, 70, 89.99, 90, 100]


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (0, "KHTNV"),
        (49.99, "KHTNV"),
        (50, "HTNV"),
        (69.99, "HTNV"),
        (70, "HTTNV"),
        (89.99, "HTTNV"),
        (90, "HTXSNV"),
        (100, "HTXSNV"),
    ],
)
def test_nd335_dieu20_dmn_bands_at_the_boundaries(parser: SpiffBpmnParser, score: float, expected: str) -> None:
    """NĐ 335 Điều 20: ≥ 90 HTXSNV, 70–<90 HTTNV, 50–<70 HTNV, < 50 KHTNV — in the DMN as in grade_for."""
    assert decide(parser, score, False, False, False) == expected == grade_for(score).grade


@pytest.mark.parametrize(
    ("disciplined", "degradation", "corruption"),
    [flags for flags in itertools.product([False, True], repeat=3) if any(flags)],
)
@pytest.mark.parametrize("score", BOUNDARIES)
def test_nd335_dieu20_dmn_overrides_agree_with_grade_for(
    parser: SpiffBpmnParser, score: float, disciplined: bool, degradation: bool, corruption: bool
) -> None:
    """NĐ 335 Điều 20 (b)(c)(d): every combination of the KHTNV cases gives KHTNV at every boundary score, in the
    DMN as in grade_for."""
    expected = grade_for(
        score,
        disciplined_reprimand_or_above=disciplined,
        degradation_finding=degradation,
        leader_unit_corruption=corruption,
    ).grade
    assert expected == "KHTNV"
    assert decide(parser, score, disciplined, degradation, corruption) == expected
