"""`workflows.engine.serializer.StateSerializer`: the state's JSON written and read with orjson is the document the
standard library would write, and what orjson cannot do exactly goes the standard library's way (decision 0043);
its task converter writes and restores what SpiffWorkflow's own does (decision 0126)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import datetime, timedelta
from io import BytesIO
from typing import Any

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.default.workflow import TaskConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from bench.load import RAW_MODELS
from tests.fixtures.spiff import parsed
from workflows.engine.serializer import SERIALIZER_VERSION, SpecByReferenceConverter, StateSerializer

SERIALIZER = StateSerializer()


def _with_spiffs_task_converter() -> StateSerializer:
    """The same serializer with SpiffWorkflow's own task converter in place of ours."""
    serializer = StateSerializer()
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = SpecByReferenceConverter
    config[Task] = TaskConverter
    serializer._spiff = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))
    return serializer


SPIFFS_OWN = _with_spiffs_task_converter()


def _tasks_as_restored(workflow: BpmnWorkflow) -> dict[Any, tuple[Any, ...]]:
    return {
        task.id: (
            task._parent,
            task._children,
            task.state,
            task.task_spec,
            task.triggered,
            task.last_state_change,
            task.internal_data,
            task.data,
        )
        for task in workflow.tasks.values()
    }


def _same_as_spiffs_own(state: str, spec: Any, subprocess_specs: Any) -> None:
    ours = SERIALIZER.loads(state, spec, subprocess_specs, SERIALIZER_VERSION)
    theirs = SPIFFS_OWN.loads(state, spec, subprocess_specs, SERIALIZER_VERSION)
    assert _tasks_as_restored(ours) == _tasks_as_restored(theirs)
    assert ours.task_tree.id == theirs.task_tree.id and ours.data == theirs.data
    assert getattr(ours.last_task, "id", None) == getattr(theirs.last_task, "id", None)  # None before a first step
    assert SERIALIZER.dumps(ours) == SPIFFS_OWN.dumps(theirs)


def _standard_json(workflow: BpmnWorkflow) -> str:
    """What the state was before decision 0043: Spiff's own JSON writing (the standard library's), with our
    converters (the spec by reference, the tasks as Spiff's own converter writes them: decision 0126)."""
    return SERIALIZER._spiff.serialize_json(workflow)


def _same_document(workflow: BpmnWorkflow) -> str:
    written = SERIALIZER.dumps(workflow)
    assert json.loads(written) == json.loads(_standard_json(workflow))
    return written


def _restored(state: str, spec: Any, subprocess_specs: Any) -> BpmnWorkflow:
    return SERIALIZER.loads(state, spec, subprocess_specs, SERIALIZER_VERSION)


def _check_each_state(procedure: str, check: Callable[[BpmnWorkflow], str]) -> None:
    """Runs a shipped procedure's steps with `check` at each stop, from its start to its last step's end; `check`
    returns the state it wrote, and each step continues from that state read back, as a completion does."""
    files, process_id, initial, steps, _finishes = RAW_MODELS[procedure]
    spec, subprocess_specs = parsed(files, process_id)
    workflow = BpmnWorkflow(spec, subprocess_specs)
    check(workflow)
    workflow.get_tasks(state=TaskState.READY)[0].data.update(initial)
    workflow.do_engine_steps()
    for key, data in steps:
        workflow = _restored(check(workflow), spec, subprocess_specs)
        (task,) = [t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.name == key]
        task.data.update(data)
        task.run()
        workflow.do_engine_steps()
    check(workflow)


@pytest.mark.parametrize("procedure", sorted(RAW_MODELS))
def test_every_state_of_every_shipped_procedure_is_the_standard_document(procedure: str) -> None:
    _check_each_state(procedure, _same_document)


def _written_as_spiffs_own_writes_and_restores(workflow: BpmnWorkflow) -> str:
    state = SERIALIZER.dumps(workflow)
    assert state == SPIFFS_OWN.dumps(workflow)
    _same_as_spiffs_own(state, workflow.spec, workflow.subprocess_specs)
    return state


@pytest.mark.parametrize("procedure", sorted(RAW_MODELS))
def test_our_task_converter_writes_and_restores_what_spiffs_own_does(procedure: str) -> None:
    _check_each_state(procedure, _written_as_spiffs_own_writes_and_restores)


ONE_TASK = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="one" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="review" name="Xem xét"><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def _waiting_with(data: dict[str, Any]) -> tuple[BpmnWorkflow, Any, Any]:
    parser = SpiffBpmnParser()
    parser.add_bpmn_io(BytesIO(ONE_TASK.encode()), "one.bpmn")
    spec, subprocess_specs = parser.get_spec("one"), parser.get_subprocess_specs("one")
    workflow = BpmnWorkflow(spec, subprocess_specs)
    workflow.get_tasks(state=TaskState.READY)[0].data.update(data)
    workflow.do_engine_steps()
    return workflow, spec, subprocess_specs


def _review_data(workflow: BpmnWorkflow) -> dict[str, Any]:
    (task,) = [t for t in workflow.get_tasks(state=TaskState.READY) if t.task_spec.name == "review"]
    return task.data


def test_process_data_of_every_kind_reads_back_as_the_standard_library_reads_it() -> None:
    data = {
        "name": "Nguyễn Văn Ánh",
        "nested": {"scores": [9.5, 8, None, True], "note": 'dấu "ngoặc" \\ và /'},
        "due": datetime(2026, 12, 5, 8, 30, 15, 123456),
        "period": timedelta(days=3, seconds=7),
        "unit_ids": {3, 1, 2},
        "by_id": {1: "một", 2: "hai"},
        "large": 2**70,
    }
    workflow, spec, subprocess_specs = _waiting_with(data)
    written = SERIALIZER.dumps(workflow)
    standard = _standard_json(workflow)
    assert json.loads(written) == json.loads(standard)

    mine = _review_data(_restored(written, spec, subprocess_specs))
    theirs = _review_data(_restored(standard, spec, subprocess_specs))
    assert mine == theirs
    assert mine["due"] == data["due"] and isinstance(mine["due"], datetime)
    assert mine["period"] == data["period"]
    assert mine["large"] == 2**70  # past orjson's 64 bits: written and read the standard library's way
    assert mine["by_id"] == {"1": "một", "2": "hai"}  # JSON keys are strings, as before
    assert sorted(mine["unit_ids"]) == [1, 2, 3]


def test_the_state_is_compact_and_keeps_vietnamese_unescaped() -> None:
    workflow, _spec, _subprocess_specs = _waiting_with({"comment": "Đồng chí hoàn thành tốt nhiệm vụ"})
    written = SERIALIZER.dumps(workflow)
    assert "Đồng chí hoàn thành tốt nhiệm vụ" in written
    assert "\\u0110" not in written and ", " not in written
    assert len(written) < len(_standard_json(workflow))


def test_a_state_the_standard_library_wrote_with_nan_still_reads() -> None:
    # A script's float("nan") was written as the non-standard NaN token; orjson refuses it, the fallback reads it.
    workflow, spec, subprocess_specs = _waiting_with({"ratio": math.nan, "limit": math.inf})
    older = _standard_json(workflow)
    assert "NaN" in older
    data = _review_data(_restored(older, spec, subprocess_specs))
    assert math.isnan(data["ratio"]) and data["limit"] == math.inf


def test_nan_is_written_as_json_null() -> None:
    # JSON has no NaN: orjson writes null, the one reading of it any JSON reader shares (decision 0043).
    workflow, spec, subprocess_specs = _waiting_with({"ratio": math.nan})
    data = _review_data(_restored(SERIALIZER.dumps(workflow), spec, subprocess_specs))
    assert data["ratio"] is None


def test_a_value_no_json_can_hold_fails_as_before() -> None:
    workflow, _spec, _subprocess_specs = _waiting_with({"raw": b"\x00\x01"})
    with pytest.raises(TypeError, match="bytes"):
        SERIALIZER.dumps(workflow)


def test_the_encoder_mode_is_left_off_after_a_failed_write() -> None:
    workflow, _spec, _subprocess_specs = _waiting_with({"raw": b"\x00"})
    with pytest.raises(TypeError):
        SERIALIZER.dumps(workflow)
    assert SERIALIZER._spiff.registry._encoder_mode is False


def test_a_restored_tasks_data_is_its_parents_copied_one_level_deep_as_spiff_makes_it() -> None:
    # The delta a task stores is applied to a copy of its parent's data: a list or dict at the top is the task's
    # own (changing it leaves the parent's alone), what lies deeper is shared — SpiffWorkflow's own semantics.
    workflow, spec, subprocess_specs = _waiting_with(
        {"remarks": ["một"], "scores": {"inner": {"a": 1}}, "dropped": "x", "kept": 7}
    )
    ready = workflow.get_tasks(state=TaskState.READY)[0]
    del ready.data["dropped"]
    ready.data["added"] = "mới"
    state = SERIALIZER.dumps(workflow)
    _same_as_spiffs_own(state, spec, subprocess_specs)

    for serializer in (SERIALIZER, SPIFFS_OWN):
        restored = serializer.loads(state, spec, subprocess_specs, SERIALIZER_VERSION)
        (task,) = restored.get_tasks(state=TaskState.READY)
        parent = task.parent
        assert task.data == {"remarks": ["một"], "scores": {"inner": {"a": 1}}, "kept": 7, "added": "mới"}
        assert "dropped" in parent.data and "added" not in parent.data
        assert task.data["remarks"] is not parent.data["remarks"]
        assert task.data["scores"] is not parent.data["scores"]
        assert task.data["scores"]["inner"] is parent.data["scores"]["inner"]
