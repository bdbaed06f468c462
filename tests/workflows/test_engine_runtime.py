"""`workflows.engine.runtime.instance_data`: the procedure's data as a whole, whichever branch moved last."""

from __future__ import annotations

import copy
from datetime import datetime
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

from bench.load import RAW_MODELS
from tests.fixtures.spiff import parsed
from workflows.engine.runtime import copied_data, instance_data, tasks_in_state

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn"


def _run(workflow: BpmnWorkflow, key: str, data: dict) -> None:
    (task,) = [t for t in tasks_in_state(workflow, TaskState.READY) if t.task_spec.name == key]
    task.data.update(data)
    task.run()
    workflow.do_engine_steps()


def _holds_the_last_tasks_data(workflow: BpmnWorkflow, in_sequence: bool) -> None:
    shown, last = instance_data(workflow), workflow.last_task.data
    assert {key: shown.get(key) for key in last} == last
    if in_sequence:
        assert shown == last


@pytest.mark.parametrize("procedure", sorted(RAW_MODELS))
def test_it_holds_the_last_tasks_data_and_in_a_sequence_nothing_more(procedure: str) -> None:
    """Every shipped procedure, step by step: the procedure's data holds what the task that completed last holds;
    in a procedure with no parallel branches it is exactly that — what the page showed before."""
    files, process_id, initial, steps, _finishes = RAW_MODELS[procedure]
    in_sequence = not any(b"parallelGateway" in path.read_bytes() for path in files)
    workflow = BpmnWorkflow(*parsed(files, process_id))
    workflow.get_tasks(state=TaskState.READY)[0].data.update(initial)
    workflow.do_engine_steps()
    for key, data in steps:
        _holds_the_last_tasks_data(workflow, in_sequence)
        _run(workflow, key, data)
    _holds_the_last_tasks_data(workflow, in_sequence)


def test_parallel_branches_are_merged_as_a_join_would_merge_them() -> None:
    """Two opinions given in parallel branches, then a deadline fires beside them: all of it is the procedure's
    data, while the last task holds only its own branch's copy. The answer is a copy: changing it changes no task."""
    workflow = BpmnWorkflow(*parsed([FIXTURES / "parallel_clearances.bpmn"], "parallel_clearances"))
    workflow.do_engine_steps()
    _run(workflow, "dossier", {"documents_received": ["cv"]})
    _run(workflow, "political", {"political_result": "cleared"})
    assert workflow.last_task.data == {"stage": "clearances", "political_result": "cleared"}
    merged = instance_data(workflow)
    assert merged == {"stage": "clearances", "documents_received": ["cv"], "political_result": "cleared"}
    merged["documents_received"].append("x")
    assert instance_data(workflow)["documents_received"] == ["cv"]

    (deadline,) = [t for t in tasks_in_state(workflow, TaskState.WAITING) if t.task_spec.bpmn_id == "deadline"]
    deadline.run()  # the timer fires
    workflow.do_engine_steps()
    assert workflow.last_task.data == {"stage": "clearances"}
    assert instance_data(workflow) == merged | {"documents_received": ["cv"]}


def test_a_multi_instance_step_shows_no_ones_instance_data() -> None:
    """One vote per committee member: each vote task holds its member; the procedure's data does not (the step
    merges what its instances return)."""
    workflow = BpmnWorkflow(*parsed([FIXTURES / "camunda_assignment.bpmn"], "camunda_assignment"))
    workflow.do_engine_steps()
    _run(workflow, "prepare", {"committee": ["an", "binh"], "reviewer": "x", "deadline": None})
    (first, _second) = [t for t in tasks_in_state(workflow, TaskState.READY) if t.task_spec.bpmn_id == "vote"]
    first.run()
    workflow.do_engine_steps()
    assert "member" in workflow.last_task.data
    assert "member" not in instance_data(workflow)
    assert instance_data(workflow)["committee"] == ["an", "binh"]


def test_a_copy_of_task_data_is_a_deep_copy_and_shares_nothing_that_changes() -> None:
    """The hand-made copy the merges use (decision 0093) equals `copy.deepcopy`'s, values JSON does not have
    included (a datetime, a set go through `copy.deepcopy`)."""
    data = {
        "rows": [{"name": "Tổ 1", "score": 9.5, "tags": ["a"]}],
        "count": 3,
        "ok": True,
        "nothing": None,
        "when": datetime(2026, 12, 6, 10, 0),
        "codes": {"x", "y"},
    }
    copied = copied_data(data)
    assert copied == copy.deepcopy(data) and copied is not data
    copied["rows"][0]["tags"].append("b")
    copied["rows"].append({})
    copied["codes"].add("z")
    assert data["rows"] == [{"name": "Tổ 1", "score": 9.5, "tags": ["a"]}] and data["codes"] == {"x", "y"}
