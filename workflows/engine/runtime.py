"""The SpiffWorkflow adapter: specs from stored versions, state in and out, engine steps with errors translated.

One `ProcessEngine` per process (it caches parsed specs); a `BpmnWorkflow` itself is never shared between threads.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Protocol

import jsonschema
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import Session

from workflows import clock
from workflows.assignment import LaneRule, parse_lane_rules
from workflows.deployment.validation import (
    CASE_SUMMARY_PROPERTY,
    BundleFile,
    build_parser,
    case_summary_fields,
    parse_xml_safely,
)
from workflows.engine.serializer import SERIALIZER_VERSION, StateSerializer
from workflows.errors import N_, ScriptFailure
from workflows.models import ProcessVersion
from workflows.registry.records import VIETNAM_TZ
from workflows.rules.step_deadlines import CALENDAR_KEY
from workflows.rules.step_deadlines import step_deadline as rule_step_deadline
from workflows.rules.workdays import DEFAULT_CALENDAR, WorkCalendar
from workflows.scripting import ScriptTimeout, ScriptViolation, create_script_engine


def defining_bpmn_file(version: ProcessVersion) -> str | None:
    """The stored BPMN file of a version that defines its process (a version also stores DMN and called models)."""
    pattern = re.compile(r"<(?:\w+:)?process\b[^>]*\bid\s*=\s*[\"']" + re.escape(version.process_id) + r"[\"']")
    for _name, text in sorted(version.files.items()):
        if pattern.search(text):
            return text
    return None


def _summary_fields(source: str | None, process_id: str) -> tuple[str, ...]:
    """What the defining BPMN file's `caseSummary` names (parsed only when it has one)."""
    if source is None or CASE_SUMMARY_PROPERTY not in source:
        return ()
    return case_summary_fields(parse_xml_safely(source.encode(), "process.bpmn"), process_id)


def _summary_titles(summary_fields: tuple[str, ...], forms: Mapping[str, Any]) -> dict[str, str]:
    """Each summary field's title in the first form (by file name) that asks for it."""
    titles: dict[str, str] = {}
    for name in sorted(forms):
        properties = forms[name].get("properties") if isinstance(forms[name], dict) else None
        for key in summary_fields:
            field_schema = properties.get(key) if isinstance(properties, dict) else None
            if key not in titles and isinstance(field_schema, dict) and isinstance(field_schema.get("title"), str):
                titles[key] = field_schema["title"]
    return titles


# A summary's text value is cut here: a list row shows a line, and the row is written on every change of it.
SUMMARY_TEXT_LIMIT = 120


def case_summary(
    fields: tuple[str, ...], data: Mapping[str, Any], titles: Mapping[str, str] | None = None
) -> list[list[Any]] | None:
    """The instance's summary from the data where an advance stopped: [key, value, title] for each named field the
    data holds with a plain value (text, number, a yes/no), in the model's order; the title is the form's, or None.
    None when the data holds none of them, so that an advance along a branch without them keeps the summary as it
    was."""
    found: list[list[Any]] = []
    for key in fields:
        value = data.get(key)
        if isinstance(value, str):
            value = value.strip()
            if len(value) > SUMMARY_TEXT_LIMIT:
                value = value[: SUMMARY_TEXT_LIMIT - 1].rstrip() + "…"
        if value is None or value == "" or not isinstance(value, str | int | float | bool):
            continue
        found.append([key, value, (titles or {}).get(key)])
    return found or None


class StoredState(Protocol):
    state: str
    serializer_version: str


@dataclass(frozen=True)
class Definition:
    """A deployed process version, parsed: what the engine needs to run and check its instances."""

    id: int
    process_id: str
    version: int
    name: str
    content_hash: str
    spec: Any
    subprocess_specs: dict[str, Any]
    forms: dict[str, dict[str, Any]]
    # Camunda modeler assignment attributes per BPMN element id (SpiffWorkflow's parsers do not read them).
    task_attributes: dict[str, dict[str, str]] = field(default_factory=dict)
    # The stored BPMN file that defines the process itself (a version also stores DMN and called models): what
    # its diagram is drawn from. None when no stored file defines it.
    diagram_source: str | None = None
    # The data fields its `caseSummary` names (decision 0144): what each advance keeps on the instance row, each
    # with the title a form of the version gives it, if any.
    summary_fields: tuple[str, ...] = ()
    summary_titles: dict[str, str] = field(default_factory=dict)
    _validators: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    # Values derived from the version alone (its forms' field names, its diagram in a given progress), kept because
    # versions are immutable; see `derived`.
    _derived: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    def derived(self, key: Any, compute: Any, *, limit: int = 256) -> Any:
        """`compute()` once per key for this version. At most `limit` keys are kept: past it nothing new is
        stored (a version only ever shows a handful of progress states, so the limit guards only against misuse)."""
        try:
            return self._derived[key]
        except KeyError:
            value = compute()
            if len(self._derived) < limit:
                self._derived[key] = value
            return value

    def step_name(self, key: str) -> str:
        """The name the model gives the element `key` (a BPMN task's name), or the key when it has none."""
        for spec in [self.spec, *(self.subprocess_specs or {}).values()]:
            task_spec = (getattr(spec, "task_specs", None) or {}).get(key)
            name = getattr(task_spec, "bpmn_name", None)
            if isinstance(name, str) and name.strip():
                return name
        return key

    def form_schema(self, form_filename: str | None) -> dict[str, Any] | None:
        return self.forms.get(form_filename) if form_filename else None

    def form_validator(self, form_filename: str | None) -> Any | None:
        """A JSON Schema validator for the task's form, built once (building one costs more than validating)."""
        schema = self.form_schema(form_filename)
        if schema is None or form_filename is None:
            return None
        if form_filename not in self._validators:
            self._validators[form_filename] = jsonschema.Draft202012Validator(
                schema, format_checker=jsonschema.FormatChecker()
            )
        return self._validators[form_filename]


@dataclass(frozen=True)
class ReadyUserTask:
    """What the inbox needs to know about a READY SpiffWorkflow user task."""

    spiff_task_id: str
    task_key: str
    name: str
    lane: str | None
    form_filename: str | None
    properties: dict[str, str]
    due_dt: datetime | None
    assignee_hint: str | int | None = None  # a username or user id an assignee expression evaluated to
    problem: str | None = None  # an assignment or due-date expression that could not be evaluated


class ProcessEngine:
    serializer_version = SERIALIZER_VERSION

    def __init__(self, script_time_limit: float = 1.0, lane_rules: Mapping[str, str] | None = None) -> None:
        self.lane_rules: dict[str, LaneRule] = parse_lane_rules(lane_rules)
        self.serializer = StateSerializer()
        self.script_engine = create_script_engine(script_time_limit)
        self._definitions: dict[int, Definition] = {}
        self._lock = threading.Lock()

    # -- definitions -------------------------------------------------------------------------
    def definition(self, session: Session, version_id: int) -> Definition:
        """A deployed version, parsed once per process: versions are immutable, so the cache never goes stale."""
        cached = self._definitions.get(version_id)
        if cached is not None:
            return cached
        with self._lock:
            cached = self._definitions.get(version_id)
            if cached is None:
                version = session.get(ProcessVersion, version_id)
                if version is None:
                    raise LookupError(f"process version {version_id} does not exist")
                files = [BundleFile(name, text.encode()) for name, text in sorted(version.files.items())]
                parser = build_parser(files)
                forms = {name: json.loads(text) for name, text in (version.forms or {}).items()}
                source = defining_bpmn_file(version)
                summary_fields = _summary_fields(source, version.process_id)
                cached = Definition(
                    id=version.id,
                    process_id=version.process_id,
                    version=version.version,
                    name=version.name,
                    content_hash=version.content_hash,
                    spec=parser.get_spec(version.process_id),
                    subprocess_specs=parser.get_subprocess_specs(version.process_id),
                    forms=forms,
                    task_attributes=camunda_task_attributes(files),
                    diagram_source=source,
                    summary_fields=summary_fields,
                    summary_titles=_summary_titles(summary_fields, forms),
                )
                self._definitions[version_id] = cached
        return cached

    # -- state in and out ----------------------------------------------------------------------
    def new_workflow(self, definition: Definition) -> BpmnWorkflow:
        return BpmnWorkflow(definition.spec, definition.subprocess_specs, script_engine=self.script_engine)

    def load(self, definition: Definition, instance: StoredState) -> BpmnWorkflow:
        workflow = self.serializer.loads(
            instance.state, definition.spec, definition.subprocess_specs, instance.serializer_version
        )
        workflow.script_engine = self.script_engine
        return workflow

    def dump(self, workflow: BpmnWorkflow) -> str:
        return self.serializer.dumps(workflow)

    # -- running -------------------------------------------------------------------------------
    def run_engine_steps(self, workflow: BpmnWorkflow) -> None:
        with translate_engine_errors():
            workflow.refresh_timers()
            # A stored state rests where the engine stopped: only a timer just found due (now READY) or a
            # subprocess gives it a step to take. Without either, Spiff's pass finds nothing after walking the tree.
            if workflow.subprocesses or any(
                not task.task_spec.manual for task in tasks_in_state(workflow, TaskState.READY)
            ):
                workflow.do_engine_steps()

    def ready_task_ids(self, workflow: BpmnWorkflow) -> set[str]:
        return {str(task.id) for task in tasks_in_state(workflow, TaskState.READY) if task.task_spec.manual}

    def ready_user_tasks(self, workflow: BpmnWorkflow, definition: Definition | None = None) -> list[ReadyUserTask]:
        attributes = definition.task_attributes if definition is not None else {}
        return [
            describe_user_task(task, attributes.get(task.task_spec.bpmn_id or "", {}), self.script_engine)
            for task in ready_manual_tasks(workflow)
        ]


@contextmanager
def translate_engine_errors() -> Iterator[None]:
    """Any engine or script error becomes a ScriptFailure naming the BPMN element."""
    try:
        yield
    except ScriptFailure:
        raise
    except (SpiffWorkflowException, WorkflowException, ScriptViolation, ScriptTimeout) as error:
        raise to_script_failure(error) from error


def to_script_failure(exc: BaseException) -> ScriptFailure:
    task_spec = getattr(exc, "task_spec", None)
    element_id = getattr(task_spec, "bpmn_id", None) or getattr(task_spec, "name", None)
    line = getattr(exc, "line_number", None) or None
    message = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    notes = getattr(exc, "__notes__", None) or []
    cause = exc.__cause__ or exc.__context__
    details = {"error_type": getattr(exc, "error_type", exc.__class__.__name__), "notes": list(notes)}
    if cause is not None:
        details["cause"] = f"{cause.__class__.__name__}: {cause}"
    name = getattr(task_spec, "bpmn_name", None) or None
    return ScriptFailure(message=message, element_id=element_id, line=line, details=details, element_name=name)


# Problems of a task's assignee or due-date expression, stored with the task as "fixed message: detail" like the
# assignment problems (workflows/assignment.py), so that the pages can translate the fixed part.
EXPRESSION_FAILED = N_("an assignee or due-date expression failed")
DUE_NOT_A_DATE = N_("the due date is not an ISO date or date-time")


def describe_user_task(task: Any, attributes: dict[str, str], script_engine: Any) -> ReadyUserTask:
    """The task as the inbox sees it. Assignee and due-date expressions (SpiffArena properties `assignee`,
    `dueDate`, or Camunda's `camunda:assignee`/`camunda:dueDate` with `${…}`) are evaluated on the task's data
    in the restricted script environment — e.g. `${member}` gives each committee member their own vote task."""
    spec = task.task_spec
    extensions = getattr(spec, "extensions", None) or {}
    properties = dict(extensions.get("properties") or {})
    if "candidateGroups" in attributes and "candidateGroups" not in properties:
        properties["candidateGroups"] = attributes["candidateGroups"]
    problems: list[str] = []
    assignee_hint = _evaluate_hint(
        task, properties.get("assignee"), attributes.get("assignee"), script_engine, problems
    )
    due_dt = boundary_timer_due(task)
    due_value = _evaluate_hint(
        task,
        properties.get("dueDate"),
        attributes.get("dueDate"),
        script_engine,
        problems,
        {"step_deadline": _step_deadline_of(task)},
    )
    if due_value is not None:
        explicit = _as_due_datetime(due_value)
        if explicit is None:
            problems.append(f"{DUE_NOT_A_DATE}: {due_value!r}")
        else:
            due_dt = min(due_dt, explicit) if due_dt is not None else explicit
    return ReadyUserTask(
        spiff_task_id=str(task.id),
        task_key=spec.bpmn_id or spec.name,
        name=spec.bpmn_name or spec.bpmn_id or spec.name,
        lane=spec.lane,
        form_filename=properties.get("formJsonSchemaFilename"),
        properties=properties,
        due_dt=due_dt,
        assignee_hint=assignee_hint if isinstance(assignee_hint, str | int) else None,
        problem="; ".join(problems) or None,
    )


def _evaluate_hint(
    task: Any,
    spiff_expression: str | None,
    camunda_value: str | None,
    script_engine: Any,
    problems: list[str],
    context: dict[str, Any] | None = None,
) -> Any:
    """Spiff properties are Python expressions; Camunda attributes are literals unless written ${expression}."""
    if spiff_expression:
        expression = spiff_expression
    elif camunda_value:
        stripped = camunda_value.strip()
        if not (stripped.startswith("${") and stripped.endswith("}")):
            return stripped
        expression = stripped[2:-1]
    else:
        return None
    try:
        return script_engine.evaluate(task, expression, context)
    except Exception as error:  # the model is at fault, not the person: report it, keep the task
        problems.append(f"{EXPRESSION_FAILED}: {expression} → {str(error).splitlines()[0]}")
        return None


def _step_deadline_of(task: Any) -> Callable[..., str]:
    """`step_deadline(working_days, within=(data keys…))` for a dueDate expression (decision 0120): the end of the
    working day so many working days from today (Vietnam's date, the one clock), counted on the calendar the
    procedure keeps in its data (`work_calendar`, else the shipped one), capped by the deadlines the named data
    keys hold — a key missing or empty is no cap (a re-appointment has no policy deadline, an appointment no term)."""

    def step_deadline(working_days: int, within: Iterable[str] = ()) -> str:
        data = task.data
        kept = data.get(CALENDAR_KEY)
        calendar = WorkCalendar.from_mapping(kept) if kept else DEFAULT_CALENDAR
        today = clock.now().astimezone(VIETNAM_TZ).date()
        caps = [data.get(key) for key in within]
        return rule_step_deadline(today, working_days, calendar, VIETNAM_TZ, [c for c in caps if isinstance(c, str)])

    return step_deadline


def _as_due_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, datetime.min.time())
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def camunda_task_attributes(files: list[BundleFile]) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for bundle_file in files:
        if not bundle_file.filename.endswith(".bpmn") or CAMUNDA_NS.encode() not in bundle_file.content:
            continue
        root = parse_xml_safely(bundle_file.content, bundle_file.filename)
        for element in root.iter(f"{{{BPMN_NS}}}userTask"):
            values = {
                name: element.get(f"{{{CAMUNDA_NS}}}{name}")
                for name in ("assignee", "candidateGroups", "candidateUsers", "dueDate")
            }
            kept = {k: v for k, v in values.items() if v}
            if kept and element.get("id"):
                found[element.get("id", "")] = kept
    return found


def boundary_timer_due(task: Any) -> datetime | None:
    """A task's deadline is the earliest timer on its boundary (interrupting or not), as naive UTC."""
    parent = task.parent
    if parent is None:
        return None
    due: list[datetime] = []
    for sibling in parent.children:
        if sibling is task or not sibling.has_state(TaskState.WAITING):
            continue
        definition = getattr(sibling.task_spec, "event_definition", None)
        if not isinstance(definition, TimerEventDefinition):
            continue
        value = sibling.internal_data.get("event_value")
        if isinstance(value, str):
            try:
                due.append(TimerEventDefinition.get_datetime(value))
            except ValueError:
                continue
    return min(due).astimezone(UTC).replace(tzinfo=None) if due else None


def next_timer_at(workflow: BpmnWorkflow) -> datetime | None:
    """Earliest due time of any waiting timer, naive UTC, so the worker's poll is one indexed query."""
    due: list[datetime] = []
    for pending in workflow.waiting_events():
        if "Timer" not in pending.event_type and "TimeDate" not in pending.event_type:
            continue
        # A cycle timer reports a dict ({'cycles', 'next', 'duration'}) until its next refresh.
        value = pending.value.get("next") if isinstance(pending.value, dict) else pending.value
        if not isinstance(value, str):
            continue
        try:
            due.append(TimerEventDefinition.get_datetime(value))
        except ValueError:
            continue
    return min(due).astimezone(UTC).replace(tzinfo=None) if due else None


def reached_end_event(workflow: BpmnWorkflow) -> Any | None:
    """The BPMN end event the top-level process finished at (the last one, if parallel branches ended)."""
    ends = [
        task
        for task in workflow.tasks.values()  # the top-level process only, not its subprocesses
        if task.has_state(TaskState.COMPLETED) and isinstance(task.task_spec, EndEvent) and task.task_spec.bpmn_id
    ]
    return max(ends, key=lambda t: t.last_state_change).task_spec if ends else None


def tasks_in_state(workflow: BpmnWorkflow, state: int) -> list[Any]:
    """The tasks `workflow.get_tasks(state=state)` finds, for a definite state (READY, WAITING …), in no set order.

    Spiff finds them by walking the task tree, a parent and a children lookup per task (each hashing UUIDs in
    Python): three walks before every completion cost a twentieth of its CPU (issue #9). A task in a definite
    state never lies below a predicted one (MAYBE, LIKELY: where the walk stops descending), so in a workflow with
    no subprocesses to descend into, one pass over its task dict finds the same tasks."""
    if workflow.subprocesses or state & TaskState.PREDICTED_MASK or not state & TaskState.DEFINITE_MASK:
        return workflow.get_tasks(state=state)
    return [task for task in workflow.tasks.values() if task.state & state]


def ready_manual_tasks(workflow: BpmnWorkflow) -> list[Any]:
    """`workflow.get_tasks(state=TaskState.READY, manual=True)`, in its order (the order of the new task rows).

    After every completion: the walk visits every task of the tree (decision 0038); one pass over the task dict finds
    the same READY tasks, and their places in the tree — the index of each ancestor among its parent's children,
    from the root down — sort them as the depth-first walk meets them (decision 0101)."""
    if workflow.subprocesses:
        return workflow.get_tasks(state=TaskState.READY, manual=True)
    found = [task for task in tasks_in_state(workflow, TaskState.READY) if task.task_spec.manual]
    return found if len(found) < 2 else sorted(found, key=_tree_place)


def _tree_place(task: Any) -> list[int]:
    place = []
    while (parent := task.parent) is not None:
        place.append(parent._children.index(task.id))
        task = parent
    place.reverse()
    return place


def waiting_timer_tasks(workflow: BpmnWorkflow) -> dict[Any, tuple[Any, str]]:
    """Waiting timer events with a fingerprint of their schedule, to tell afterwards which ones fired."""
    return {
        task.id: (task, repr(task.internal_data.get("event_value")))
        for task in tasks_in_state(workflow, TaskState.WAITING)
        if isinstance(getattr(task.task_spec, "event_definition", None), TimerEventDefinition)
    }


def fired_timers(workflow: BpmnWorkflow, waiting_before: dict[Any, tuple[Any, str]]) -> list[dict[str, Any]]:
    """Timers that fired since `waiting_before`: completed ones, and cycles whose schedule moved on."""
    fired = []
    known = _all_task_ids(workflow)
    for task_id, (task, schedule) in waiting_before.items():
        current = workflow.get_task_from_id(task_id) if task_id in known else task
        completed = current.has_state(TaskState.COMPLETED)
        cycled = current.has_state(TaskState.WAITING) and repr(current.internal_data.get("event_value")) != schedule
        if completed or cycled:
            spec = current.task_spec
            fired.append({"element_id": spec.bpmn_id, "name": spec.bpmn_name})
    return fired


def _all_task_ids(workflow: BpmnWorkflow) -> set[Any]:
    ids = set(workflow.tasks)
    for sub in workflow.subprocesses.values():
        ids.update(sub.tasks)
    return ids


# -- what an advance changed -------------------------------------------------------------------------------------
#
# Parallel branches each carry their own copy of the data, copied at the split, and a join merges them. What an
# advance changed (its `data_changed` event) is therefore measured within the branch it ran in: from the data of
# its origin — the user task just completed, or a timer that fired — to the data where it stopped; and a join it
# fired brings in what the other branches' steps entered, which their own completions already recorded.


def advanced_from(workflow: BpmnWorkflow, origins: Collection[Any]) -> Any | None:
    """Of the tasks with these ids, the one the workflow's last completed task is or descends from: the branch an
    advance (of several timers that fell due, say) ended in. None when it ended elsewhere."""
    task = workflow.last_task
    while task is not None:
        if task.id in origins:
            return task
        task = task.parent
    return None


def advance_baseline(origin: Any, before: dict[str, Any]) -> dict[str, Any]:
    """The data an advance from `origin` is measured against: `before`, the origin's data as it stood, with what
    each join the advance fired merged in from the other branches, merged as the join did (Spiff's
    `UnstructuredJoin._run_hook`: the branches in the order they arrived, then the one that fired it on top). Its
    difference to the data after the advance is what this advance changed — nothing a sibling branch entered."""
    joins = _joins_fired_below(origin)
    if not joins:
        return before  # no join fired (every completion in a sequence): nothing to merge, nothing to copy
    baseline = copied_data(before)
    for join in joins:
        _merge_branches(baseline, [arrived.parent.data for arrived in _branches_arrived_before(join, origin)])
        _merge_branches(baseline, [before])
    return baseline


def _merge_branches(into: dict[str, Any], branches: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Merge the branches' data into `into` the way SpiffWorkflow's join does (`DeepMerge`, each on top of the ones
    before it), copied so that nothing in `into` is shared with a task's data."""
    for data in branches:
        DeepMerge.merge(into, copied_data(data))
    return into


_IMMUTABLE = frozenset((str, int, float, bool, type(None)))


def copied_data(value: Any) -> Any:
    """A deep copy of task data. Its dicts, lists and plain values (nearly all of it: the data came from JSON) are
    copied by hand, anything else by `copy.deepcopy`: a third of the time `copy.deepcopy` takes for the same
    result, which the instance page and the inspector's history pay on every view of a parallel section
    (decision 0093). Unlike `copy.deepcopy` it does not keep two references to one list as one list: each is a
    copy of its own, which nothing reading task data can tell apart."""
    kind = type(value)
    if kind in _IMMUTABLE:
        return value
    if kind is dict:
        return {key: copied_data(item) for key, item in value.items()}
    if kind is list:
        return [copied_data(item) for item in value]
    return copy.deepcopy(value)


def _joins_fired_below(origin: Any) -> list[Any]:
    """The joins completed on the path the advance took from `origin` (it was waiting: all of its completed
    descendants completed in this advance)."""
    fired = []
    stack = [origin]
    while stack:
        for child in stack.pop().children:
            if child.state == TaskState.COMPLETED:
                if isinstance(child.task_spec, UnstructuredJoin):
                    fired.append(child)
                stack.append(child)
    return sorted(fired, key=lambda task: task.last_state_change)


def _branches_arrived_before(join: Any, origin: Any) -> list[Any]:
    """The join's other inputs that it merged (the same selection as Spiff's), in the order they arrived — but
    only branches that reached it before this advance: one this advance itself ran holds its own changes."""
    arrived = [
        task
        for task in join.workflow.tasks.values()
        if task.task_spec == join.task_spec
        and task is not join
        and task.has_state(TaskState.FINISHED_MASK)
        and not join.is_descendant_of(task)
        and task.parent is not None
        and task.parent is not origin
        and not task.parent.is_descendant_of(origin)
    ]
    return sorted(arrived, key=lambda task: task.last_state_change)


# -- the instance's data -------------------------------------------------------------------------------------------
#
# What the instance page (and any other reader of "the procedure's data") shows. The workflow's last task will not
# do: in a parallel section it is the last step of whichever branch moved last — after a deadline fired beside the
# main path, that branch's copy of the data as it stood at the split, without what the other branches entered since
# (decision 0048). A personnel officer reads the page as the procedure's file: everything entered so far, whichever
# branch it was entered in — each clearance's opinion as soon as it is given, not only once the join has run. There
# is no "main path" in a parallel section to prefer (the three clearances are peers), so the data shown is the data
# of every branch merged as a join of them would merge it now.


def instance_data(workflow: BpmnWorkflow) -> dict[str, Any]:
    """The procedure's data as a whole: the data of each branch's tip (`_branch_tips`) merged as SpiffWorkflow's
    join merges branches (`_merge_branches`: in the order they got there, the latest on top). Without parallel
    branches this is the data of the workflow's last completed task. A new dict: changing it changes no task."""
    tips = _branch_tips(workflow)
    if not tips:
        return {}
    if len(tips) == 1:
        return dict(tips[0].data)
    return _merge_branches({}, [tip.data for tip in tips])


_LIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED


def _branch_tips(workflow: BpmnWorkflow) -> list[Any]:
    """The completed task at the head of each branch of the top-level process, in the order they completed: the
    predecessor of each step still open or waiting (its data is what that step took over; a join merges the same),
    and each completed task none of whose successors completed (a branch that ended, or whose successor was
    cancelled). A completed instance of a multi-instance step is left out: its parent merges what it returns."""
    tips: dict[Any, Any] = {}
    for task in workflow.tasks.values():  # the top-level process only, as `reached_end_event`
        parent = task.parent
        if task.has_state(_LIVE):
            if parent is not None and parent.has_state(TaskState.COMPLETED):
                tips[parent.id] = parent
        elif (
            task.has_state(TaskState.COMPLETED)
            and not any(child.has_state(TaskState.COMPLETED) for child in task.children)
            and not (parent is not None and isinstance(parent.task_spec, LoopTask))
        ):
            tips[task.id] = task
    return sorted(tips.values(), key=lambda task: task.last_state_change)
