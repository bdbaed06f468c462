"""`workflows.engine.runtime.tasks_in_state`: the tasks Spiff's tree walk finds in a state, found without the walk."""

from __future__ import annotations

from io import BytesIO

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from bench.load import RAW_MODELS
from tests.fixtures.spiff import parsed
from workflows.engine.runtime import ProcessEngine, tasks_in_state, waiting_timer_tasks

STATES = (TaskState.READY, TaskState.WAITING, TaskState.FUTURE, TaskState.STARTED, TaskState.READY | TaskState.WAITING)


def _same_as_the_walk(workflow: BpmnWorkflow) -> None:
    for state in STATES:
        scanned = tasks_in_state(workflow, state)
        walked = workflow.get_tasks(state=state)
        assert sorted(str(t.id) for t in scanned) == sorted(str(t.id) for t in walked), TaskState.get_name(state)
        assert len(scanned) == len(walked)


@pytest.mark.parametrize("procedure", sorted(RAW_MODELS))
def test_every_state_of_every_shipped_procedure_is_scanned_as_walked(procedure: str) -> None:
    files, process_id, initial, steps, _finishes = RAW_MODELS[procedure]
    spec, subprocess_specs = parsed(files, process_id)
    workflow = BpmnWorkflow(spec, subprocess_specs)
    _same_as_the_walk(workflow)  # nothing run yet: the start task READY, the rest predicted
    workflow.get_tasks(state=TaskState.READY)[0].data.update(initial)
    workflow.do_engine_steps()
    waited = 0
    for key, data in steps:
        _same_as_the_walk(workflow)
        waited += len(waiting_timer_tasks(workflow))
        (task,) = [t for t in tasks_in_state(workflow, TaskState.READY) if t.task_spec.name == key]
        task.data.update(data)
        task.run()
        workflow.do_engine_steps()
    _same_as_the_walk(workflow)
    if procedure == "evaluation":
        assert waited, "the monthly evaluation's deadlines wait as timers: WAITING was compared on something"


SUBPROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="outer" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:subProcess id="inner"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:startEvent id="inner_start"><bpmn:outgoing>g1</bpmn:outgoing></bpmn:startEvent>
      <bpmn:userTask id="inside" name="Bên trong"><bpmn:incoming>g1</bpmn:incoming><bpmn:outgoing>g2</bpmn:outgoing></bpmn:userTask>
      <bpmn:endEvent id="inner_end"><bpmn:incoming>g2</bpmn:incoming></bpmn:endEvent>
      <bpmn:sequenceFlow id="g1" sourceRef="inner_start" targetRef="inside"/>
      <bpmn:sequenceFlow id="g2" sourceRef="inside" targetRef="inner_end"/>
    </bpmn:subProcess>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="inner"/>
    <bpmn:sequenceFlow id="f2" sourceRef="inner" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_workflow_with_subprocesses_is_walked_into_them() -> None:
    parser = SpiffBpmnParser()
    parser.add_bpmn_io(BytesIO(SUBPROCESS.encode()), "subprocess.bpmn")
    workflow = BpmnWorkflow(parser.get_spec("outer"), parser.get_subprocess_specs("outer"))
    workflow.do_engine_steps()
    assert workflow.subprocesses
    ready = tasks_in_state(workflow, TaskState.READY)
    assert [t.task_spec.bpmn_id for t in ready] == ["inside"]  # a task of the subprocess, not of the top workflow
    assert ProcessEngine().ready_task_ids(workflow) == {str(ready[0].id)}
    _same_as_the_walk(workflow)
