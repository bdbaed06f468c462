"""Workflow state as JSON, with the process spec kept by reference.

Stock SpiffWorkflow JSON embeds the whole spec in every instance; we store each deployed version once
(process_versions) and hand the cached spec back when restoring. Measured in the SpiffWorkflow notes:
about half the per-step time and 60% less JSON. The serializer version is stored beside the state so a
future SpiffWorkflow upgrade can migrate old rows deliberately (docs/decisions/0001).

The JSON text itself is written and read with orjson (decision 0043): the same document as the standard library's,
compact and with non-ASCII text unescaped, in an eighth of the time to write and half the time to read. What orjson
cannot write or read exactly as the standard library would goes the standard library's way.
"""

from __future__ import annotations

import json
from copy import copy
from functools import lru_cache
from typing import Any
from uuid import UUID

import orjson
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, TaskConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SPIFF_SERIALIZER_VERSION
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

# Our own layout on top of Spiff's: bump when the *shape we write* changes (e.g. what the spec reference holds).
STATE_FORMAT = "canbo-1"
SERIALIZER_VERSION = f"{STATE_FORMAT}/spiff-{SPIFF_SERIALIZER_VERSION}"

_SPECS_KEY = "__specs__"

# Dates and times go through Spiff's registry (typed {"typename": ..., "value": ...}), as with the standard encoder;
# non-string keys become strings as the standard encoder makes them.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


# A task's id is written four times in a state (its key, its own entry, its parent's and its children's lists), and
# parsing one costs 2 µs: each text is parsed once and the (immutable) UUID shared. Bounded: ids are random.
task_id = lru_cache(maxsize=8192)(UUID)

_MUTABLE = (dict, list, set)


class StateTaskConverter(TaskConverter):
    """SpiffWorkflow's task converter, restoring the same task in about a third less time (issue #9: a restore is
    about a sixth of a completion; decision 0126). It writes exactly what Spiff's writes; `from_dict` builds what
    Spiff's builds — ids parsed once (`task_id`), and a task's data as Spiff makes it from its parent's: each
    top-level value shared, a dict, list or set copied one level deep, then the stored delta applied."""

    def to_dict(self, task: Task) -> dict[str, Any]:
        # Spiff's, with the parent looked up once rather than four times (a dict lookup hashing a UUID each).
        parent = task.parent
        if parent is None:
            data, delta = task.data, {}
        else:
            inherited, own = parent.data, task.data
            data = {}
            delta = {
                "updates": {key: val for key, val in own.items() if key not in inherited or val != inherited[key]},
                "deletions": [key for key in inherited if key not in own],
            }
        return {
            "id": str(task.id),
            "parent": str(task._parent) if parent is not None else None,
            "children": [str(child) for child in task._children],
            "last_state_change": task.last_state_change,
            "state": task.state,
            "task_spec": task.task_spec.name,
            "triggered": task.triggered,
            "internal_data": self.registry.convert(task.internal_data),
            "data": data,
            "delta": delta,
        }

    def from_dict(self, dct: dict[str, Any], workflow: Any) -> Task:
        task_spec = workflow.spec.task_specs.get(dct["task_spec"])
        task = self.target_class(workflow, task_spec, state=dct["state"], id=task_id(dct["id"]))
        parent_id = dct["parent"]
        task._parent = task_id(parent_id) if parent_id is not None else None
        task._children = [task_id(child) for child in dct["children"]]
        task.last_state_change = dct["last_state_change"]
        task.triggered = dct["triggered"]
        restore = self.registry.restore
        task.internal_data = restore(dct["internal_data"])
        if isinstance(task_spec, CatchingEvent) and task.has_state(TaskState.WAITING):
            workflow.top_workflow.event_manager.add_task(task)
        delta = dct.get("delta")
        parent = task.parent
        if delta and parent is not None:
            data = {key: copy(value) if isinstance(value, _MUTABLE) else value for key, value in parent.data.items()}
            data.update(restore(delta.get("updates", {})))
            for key in delta.get("deletions", {}):
                data.pop(key, None)
        else:
            data = restore(dct["data"])
        task.data = data
        return task


class SpecByReferenceConverter(BpmnWorkflowConverter):
    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct: dict[str, Any]) -> BpmnWorkflow:
        spec, subprocess_specs = dct.pop(_SPECS_KEY)
        dct["spec"] = None
        dct["subprocess_specs"] = {}
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], task_id, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(task_id(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


class StateSerializer:
    def __init__(self) -> None:
        config = dict(SPIFF_CONFIG)
        config[BpmnWorkflow] = SpecByReferenceConverter
        config[Task] = StateTaskConverter
        self._spiff = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(config))
        self._default = self._spiff._encoder_cls().default

    def dumps(self, workflow: BpmnWorkflow) -> str:
        # BpmnWorkflowSerializer.serialize_json with another JSON writer: the registry in encoder mode leaves the
        # values it knows (datetimes, sets, callables in data) to the encoder's `default`, which orjson calls too.
        spiff = self._spiff
        spiff.registry._encoder_mode = True
        try:
            document = spiff.to_dict(workflow)
            document[spiff.VERSION_KEY] = spiff.VERSION
            try:
                return orjson.dumps(document, default=self._default, option=_ORJSON_OPTIONS).decode()
            except orjson.JSONEncodeError:
                # An integer past 64 bits, or a value nobody can write: the standard encoder writes the first and
                # raises its usual TypeError for the second.
                return json.dumps(document, cls=spiff._encoder_cls)
        finally:
            spiff.registry._encoder_mode = False

    def loads(self, state: str, spec: Any, subprocess_specs: dict[str, Any], serializer_version: str) -> BpmnWorkflow:
        if serializer_version != SERIALIZER_VERSION:
            raise ValueError(
                f"state written by serializer {serializer_version!r}, this build reads {SERIALIZER_VERSION!r}: "
                "run the state migration before starting this version"
            )
        try:
            dct = orjson.loads(state)
        except orjson.JSONDecodeError:
            dct = json.loads(state)  # NaN or Infinity, a lone surrogate, an integer past 64 bits: older writes
        dct.pop(self._spiff.VERSION_KEY, None)
        dct[_SPECS_KEY] = (spec, subprocess_specs)
        return self._spiff.from_dict(dct)
