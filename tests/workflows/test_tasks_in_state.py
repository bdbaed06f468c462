"""`workflows.engine.runtime.tasks_in_state`: the tasks Spiff's tree walk finds in a state, found without the walk."""

from __future__ import annotations

from io import BytesIO

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from bench.load import RAW_MODELS
from tests.fixtures.spiff import parsed
from workflows.engine.runtime import ProcessEngine, ready_manual_tasks, tasks_in_state, waiting_timer_tasks

STATES = (TaskState.READY, TaskState.WAITING, TaskState.FUTURE, TaskState.STARTED, TaskState.READY | TaskState.WAITING)


def _same_as_the_walk(workflow: BpmnWorkflow) -> None:
    for state in STATES:
        scanned = tasks_in_state(workflow, state)
        walked = workflow.get_tasks(state=state)
        assert sorted(str(t.id) for t in scanned) == sorted(str(t.id) for t in walked), TaskState.get_name(state)
        assert len(scanned) == len(walked)
    # The READY user tasks in the walk's own order: it is the order of the new task rows.
    assert ready_manual_tasks(workflow) == workflow.get_tasks(state=TaskState.READY, manual=True)


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


PARALLEL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="parallel" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>s</bpmn:outgoing></bpmn:startEvent>
    <bpmn:parallelGateway id="split"><bpmn:incoming>s</bpmn:incoming>
      <bpmn:outgoing>a</bpmn:outgoing><bpmn:outgoing>b</bpmn:outgoing><bpmn:outgoing>c</bpmn:outgoing>
    </bpmn:parallelGateway>
    <bpmn:userTask id="first"><bpmn:incoming>a</bpmn:incoming><bpmn:outgoing>a2</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="second"><bpmn:incoming>b</bpmn:incoming><bpmn:outgoing>b2</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="then"><bpmn:incoming>b2</bpmn:incoming><bpmn:outgoing>b3</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="third"><bpmn:incoming>c</bpmn:incoming><bpmn:outgoing>c2</bpmn:outgoing></bpmn:userTask>
    <bpmn:parallelGateway id="join">
      <bpmn:incoming>a2</bpmn:incoming><bpmn:incoming>b3</bpmn:incoming><bpmn:incoming>c2</bpmn:incoming>
      <bpmn:outgoing>e</bpmn:outgoing>
    </bpmn:parallelGateway>
    <bpmn:endEvent id="end"><bpmn:incoming>e</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="s" sourceRef="start" targetRef="split"/>
    <bpmn:sequenceFlow id="a" sourceRef="split" targetRef="first"/>
    <bpmn:sequenceFlow id="b" sourceRef="split" targetRef="second"/>
    <bpmn:sequenceFlow id="c" sourceRef="split" targetRef="third"/>
    <bpmn:sequenceFlow id="a2" sourceRef="first" targetRef="join"/>
    <bpmn:sequenceFlow id="b2" sourceRef="second" targetRef="then"/>
    <bpmn:sequenceFlow id="b3" sourceRef="then" targetRef="join"/>
    <bpmn:sequenceFlow id="c2" sourceRef="third" targetRef="join"/>
    <bpmn:sequenceFlow id="e" sourceRef="join" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_parallel_ready_tasks_come_in_the_walks_order_as_branches_move_on() -> None:
    parser = SpiffBpmnParser()
    parser.add_bpmn_io(BytesIO(PARALLEL.encode()), "parallel.bpmn")
    workflow = BpmnWorkflow(parser.get_spec("parallel"), parser.get_subprocess_specs("parallel"))
    workflow.do_engine_steps()
    seen = []
    for key in ("second", "third", "then", "first"):
        ready = ready_manual_tasks(workflow)
        seen.append([t.task_spec.bpmn_id for t in ready])
        assert ready == workflow.get_tasks(state=TaskState.READY, manual=True)
        (task,) = [t for t in ready if t.task_spec.bpmn_id == key]
        task.run()
        workflow.do_engine_steps()
    assert seen == [["first", "second", "third"], ["first", "then", "third"], ["first", "then"], ["first"]]
    assert ready_manual_tasks(workflow) == [] and workflow.is_completed()
