"""Starting many instances of one process at once — e.g. a month of evaluations for 50,000 cadres.

Starting one instance runs SpiffWorkflow to the first wait state (~1 ms) and writes four statements. For a batch
whose members differ only in data that no engine step reads before that wait state (the cadre's name and code,
say), both are wasteful: the engine would compute the same state every time. So the process runs once, with a
placeholder in place of each per-instance value; each instance's state is that template with the placeholders
filled in and fresh task ids. The rows written are the ones `operations.start_instance` writes — the instance with
its state, the inbox rows of the READY tasks, the `instance_started` and `task_opened` events on the instance's
own hash chain — in a few multi-row statements per batch.

The shortcut is decided, not assumed (decision 0080). First from the model: `template_obstacles` walks the parsed
spec from the start event to the first wait states and reads every piece of code the engine runs on the way (gateway
conditions, scripts, pre- and post-scripts, timer and conditional-event expressions); one that so much as names a
per-instance value, or an element the walk cannot see into (a rule table, a subprocess, a call activity, a
multi-instance or loop, data associations, a message or signal), rules the template out: one run cannot stand for a
gateway on the cadre's data nor for a script that fails for some cadres only. Then by running it: each call also
starts its first member the ordinary way in memory and compares the two states (task ids and timestamps aside), and
READY tasks whose assignee or due date is an expression over the data are refused. Any of these raises
`BulkStartUnsupported`, and the caller uses `start_each` instead: the engine runs once per instance, on its own data,
and the rows are written by the same writer (decision 0087).
"""

from __future__ import annotations

import ast
import itertools
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from SpiffWorkflow.bpmn.specs.control import BoundaryEventJoin, BoundaryEventSplit, BpmnStartTask, SimpleBpmnTask
from SpiffWorkflow.bpmn.specs.event_definitions.conditional import ConditionalEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition, TerminateEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import (
    BoundaryEvent,
    IntermediateCatchEvent,
    IntermediateThrowEvent,
)
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.bpmn.specs.mixins.exclusive_gateway import ExclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.inclusive_gateway import InclusiveGateway
from SpiffWorkflow.bpmn.specs.mixins.manual_task import ManualTask
from SpiffWorkflow.bpmn.specs.mixins.none_task import NoneTask
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptTask
from SpiffWorkflow.bpmn.specs.mixins.unstructured_join import UnstructuredJoin
from SpiffWorkflow.bpmn.specs.mixins.user_task import UserTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session

from workflows.assignment import AssignmentContext, resolve_assignment
from workflows.audit import GENESIS_HASH, PendingEvent, instance_audit_rows
from workflows.clock import utcnow_naive
from workflows.engine.operations import Starter, start_refusal, validate_task_data
from workflows.engine.runtime import (
    Definition,
    ProcessEngine,
    ReadyUserTask,
    next_timer_at,
    reached_end_event,
    translate_engine_errors,
)
from workflows.engine.store import InstanceSnapshot
from workflows.errors import ScriptFailure
from workflows.models import AuditEvent, HumanTask, ProcessInstance
from workflows.registry.models import User
from workflows.states import EventType, InstanceStatus, TaskStatus

_instances = cast(Table, ProcessInstance.__table__)
_tasks = cast(Table, HumanTask.__table__)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TIMESTAMP = re.compile(r'"last_state_change": [0-9.e+-]+')


class BulkStartUnsupported(Exception):
    """The process cannot be started from a template; start its instances one by one."""


@dataclass(frozen=True)
class StartRequest:
    data: Mapping[str, Any]  # the per-instance values (their keys are the same for every request)
    subject_cadre_id: int | None
    unit_id: int | None
    business_key: str | None
    subject_user_id: int | None  # the subject's active user account, if any (the 'Cán bộ' lane goes to it)
    # What `start_instance` reads of the unit to decide whether it may start (`operations.start_refusal`), read by
    # the caller with the batch: the unit and the units above it (empty without a unit), and whether it is active.
    unit_chain: Sequence[int] = field(kw_only=True)
    unit_is_active: bool = field(kw_only=True)


@dataclass
class _Template:
    state: str
    ready: list[ReadyUserTask]
    next_timer_at: Any
    task_ids: frozenset[str]
    placeholders: dict[str, str] = field(default_factory=dict)
    parts: list[str | tuple[str, str]] = field(default_factory=list)


def _placeholder(key: str) -> str:
    return f"@@bulk-start:{key}@@"


def _run(engine: ProcessEngine, definition: Definition, data: Mapping[str, Any]) -> Any:
    workflow = engine.new_workflow(definition)
    try:
        with translate_engine_errors():
            start_task = workflow.get_next_task(state=TaskState.READY)
            if start_task is not None:
                start_task.data.update(data)
            workflow.do_engine_steps()
    except ScriptFailure as failure:
        failure.process_version_id = definition.id  # a start has no instance: noted against its version
        raise
    return workflow


def _normalised(state: str) -> str:
    ids: dict[str, str] = {}
    renumbered = _UUID.sub(lambda m: ids.setdefault(m.group(), f"id{len(ids)}"), state)
    return _TIMESTAMP.sub('"last_state_change": 0', renumbered)


def _split(state: str, task_ids: frozenset[str], placeholders: Mapping[str, str]) -> list[str | tuple[str, str]]:
    """The template cut once into literal text and slots — ("id", old task id) or ("value", key) — so that each
    instance is one join instead of a scan of the whole state."""
    markers = {json.dumps(marker): key for key, marker in placeholders.items()}
    pattern = re.compile("|".join([_UUID.pattern, *(re.escape(m) for m in markers)]))
    parts: list[str | tuple[str, str]] = []
    position = 0
    for match in pattern.finditer(state):
        found = match.group()
        if found in markers:
            slot: tuple[str, str] = ("value", markers[found])
        elif found in task_ids:
            slot = ("id", found)
        else:
            continue  # looks like an id but is data of the shared values: left as it is
        parts.append(state[position : match.start()])
        parts.append(slot)
        position = match.end()
    parts.append(state[position:])
    return parts


def _uuid4_strings(count: int) -> list[str]:
    """Random (version 4) UUIDs as text, from one read of the OS's random source: uuid.uuid4() per id was a
    tenth of the time of a bulk start."""
    raw = bytearray(os.urandom(16 * count))
    ids = []
    for offset in range(0, 16 * count, 16):
        raw[offset + 6] = (raw[offset + 6] & 0x0F) | 0x40  # version 4
        raw[offset + 8] = (raw[offset + 8] & 0x3F) | 0x80  # RFC 4122 variant
        h = raw[offset : offset + 16].hex()
        ids.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return ids


def _copy_field(value: Any) -> str:
    """One field in COPY's text format (cheaper than psycopg's per-row adaptation for these few plain types)."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    # Chained replaces, backslash first: str.translate with a mapping looks every character up in Python and was half
    # the CPU of writing a chunk of states (decision 0087).
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _insert(session: Session, table: Table, rows: Iterable[dict[str, Any]]) -> None:
    """Many rows at once: PostgreSQL's COPY, streamed while `rows` is still being produced so that the server
    stores one instance while Python builds the next; elsewhere an executemany INSERT. Same transaction."""
    iterator = iter(rows)
    first = next(iterator, None)
    if first is None:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(insert(table), [first, *iterator])
        return
    columns = list(first)
    raw = connection.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor:
        names = ", ".join(f'"{name}"' for name in columns)
        with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in itertools.chain([first], iterator):
                copy.write("\t".join([_copy_field(row[name]) for name in columns]) + "\n")


def _fill(template: _Template, values: Mapping[str, Any]) -> tuple[str, dict[str, str]]:
    """The state of one instance: fresh task ids, and this instance's values in place of the placeholders."""
    fresh = dict(zip(template.task_ids, _uuid4_strings(len(template.task_ids)), strict=True))
    encoded = {key: json.dumps(values[key]) for key in template.placeholders}
    text_parts = [
        part if isinstance(part, str) else (fresh[part[1]] if part[0] == "id" else encoded[part[1]])
        for part in template.parts
    ]
    return "".join(text_parts), fresh


# -- what the engine reads before the first wait ------------------------------------------------------------------

# Elements a start walks through that run no code but what `_code_run_by` reads: Spiff's control specs (the root,
# a boundary event's split and join, the process's end join; its end, a bare SimpleBpmnTask, is matched by exact
# type, since the event splits of event subprocesses derive from it), gateways, script tasks, none and terminate
# events.
_PASSED = (
    BpmnStartTask,
    BoundaryEventSplit,
    BoundaryEventJoin,
    UnstructuredJoin,
    ExclusiveGateway,
    InclusiveGateway,
    ParallelGateway,
    ScriptTask,
    StartEvent,
    EndEvent,
    IntermediateThrowEvent,
)
# Where a start stops: a task for a person, or an event waited for (its timer or condition is evaluated on arrival).
_WAITS = (UserTask, ManualTask, NoneTask, IntermediateCatchEvent, BoundaryEvent)


def _names_in(code: str, mode: str) -> set[str] | None:
    """Every name the code mentions (read, written or deleted); None when it is not Python the walk can read."""
    try:
        tree = ast.parse(code.strip(), "<model>", mode)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def _code_run_by(task_spec: Any, *, waits: bool) -> list[tuple[str, str, str]] | None:
    """(what, code, mode) of everything the engine evaluates for this element before the first wait; None for an
    element the walk does not know, or one whose effect on the data it cannot read (treated as reading it all)."""
    if getattr(task_spec, "data_input_associations", None) or getattr(task_spec, "data_output_associations", None):
        return None
    if getattr(task_spec, "io_specification", None) is not None:
        return None
    code: list[tuple[str, str, str]] = []
    prescript = getattr(task_spec, "prescript", None)
    if prescript:
        code.append(("pre-script", prescript, "exec"))
    postscript = getattr(task_spec, "postscript", None)
    if postscript and not waits:  # a waiting task's post-script runs when the person completes it
        code.append(("post-script", postscript, "exec"))
    if isinstance(task_spec, ScriptTask):
        code.append(("script", task_spec.script or "", "exec"))
    if isinstance(task_spec, ExclusiveGateway | InclusiveGateway):
        for condition, _name in task_spec.cond_task_specs:
            if condition is None:  # the default flow
                continue
            # Spiff keeps a flow's condition as an operator holding the expression (`_BpmnCondition`).
            expression = condition if isinstance(condition, str) else (getattr(condition, "args", None) or [None])[0]
            if not isinstance(expression, str):
                return None
            code.append(("condition", expression, "eval"))
    definition = getattr(task_spec, "event_definition", None)
    if isinstance(task_spec, StartEvent | EndEvent | IntermediateThrowEvent):
        if not isinstance(definition, NoneEventDefinition | TerminateEventDefinition):
            return None  # a start on an event, a message, signal or escalation thrown with a payload
    elif isinstance(task_spec, IntermediateCatchEvent | BoundaryEvent):
        if isinstance(definition, TimerEventDefinition | ConditionalEventDefinition):
            code.append(
                (
                    "timer" if isinstance(definition, TimerEventDefinition) else "condition",
                    definition.expression or "",
                    "eval",
                )
            )
        else:
            return None
    elif not (isinstance(task_spec, _PASSED + _WAITS) or type(task_spec) is SimpleBpmnTask):
        return None
    return code


def template_obstacles(spec: Any, per_instance: frozenset[str]) -> tuple[str, ...]:
    """Why one engine run cannot stand for every member of a batch whose members differ in the values named
    `per_instance`: each element between the start and the first wait states that evaluates code naming one of
    them, or that the walk cannot read. Empty when nothing does — every member then takes the same path and runs
    the same code on the same values, so the template is their state.

    Names are enough: a model's code reaches the data only by name (the sandbox has no globals(), vars(),
    locals(); `workflows.scripting`). Mentioning a value counts even without reading it (written, deleted)."""
    obstacles: list[str] = []
    seen: set[str] = set()
    pending = [spec.start]
    while pending:
        task_spec = pending.pop()
        if task_spec.name in seen:
            continue
        seen.add(task_spec.name)
        waits = isinstance(task_spec, _WAITS) and (
            task_spec.manual or isinstance(task_spec, IntermediateCatchEvent | BoundaryEvent)
        )
        where = getattr(task_spec, "bpmn_id", None) or task_spec.name
        code = _code_run_by(task_spec, waits=waits)
        if code is None:
            obstacles.append(f"{where}: a {type(task_spec).__name__} before the first wait state")
            continue
        for what, source, mode in code:
            names = _names_in(source, mode)
            if names is None:
                obstacles.append(f"{where}: its {what} cannot be read")
            elif names & per_instance:
                obstacles.append(f"{where}: its {what} uses {', '.join(sorted(names & per_instance))}")
        if not waits:
            pending.extend(task_spec.outputs)
    return tuple(sorted(set(obstacles)))


def _template(
    engine: ProcessEngine, definition: Definition, shared: Mapping[str, Any], first: StartRequest
) -> _Template:
    per_instance = frozenset(first.data)
    obstacles = definition.derived(
        ("bulk template obstacles", per_instance), lambda: template_obstacles(definition.spec, per_instance)
    )
    if obstacles:
        raise BulkStartUnsupported("; ".join(obstacles))
    placeholders = {key: _placeholder(key) for key in first.data}
    try:
        workflow = _run(engine, definition, {**shared, **placeholders})
    except ScriptFailure as failure:  # a script read a placeholder: the data matters before the first wait
        raise BulkStartUnsupported(str(failure)) from failure
    if workflow.is_completed():
        raise BulkStartUnsupported("the process ends without waiting; nothing to template")
    ready = engine.ready_user_tasks(workflow, definition)
    for task in ready:
        if task.assignee_hint is not None or task.properties.get("dueDate") or task.problem:
            raise BulkStartUnsupported(f"task {task.task_key!r} is assigned or dated by an expression over the data")
        if any(attr in definition.task_attributes.get(task.task_key, {}) for attr in ("assignee", "dueDate")):
            raise BulkStartUnsupported(f"task {task.task_key!r} is assigned or dated by an expression over the data")
    task_ids = frozenset(str(task.id) for task in workflow.get_tasks())
    template = _Template(engine.dump(workflow), ready, next_timer_at(workflow), task_ids, placeholders)
    for marker in placeholders.values():
        if template.state.count(json.dumps(marker)) != 1:
            raise BulkStartUnsupported("a per-instance value was used by the engine before the first wait state")
    template.parts = _split(template.state, task_ids, placeholders)
    # The proof: the ordinary start of the first member gives the same state as the filled-in template.
    ordinary = engine.dump(_run(engine, definition, {**shared, **first.data}))
    filled, _ids = _fill(template, first.data)
    # Both dumps list tasks in creation order, so renumbering ids by first appearance lines them up.
    if _normalised(json.dumps(json.loads(ordinary))) != _normalised(json.dumps(json.loads(filled))):
        raise BulkStartUnsupported("the templated state differs from an ordinary start")
    return template


def _reserve_ids(session: Session, table: Table, count: int) -> list[int]:
    """Ids for rows about to be inserted, known up front because the audit hashes cover them."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        sequence = connection.scalar(text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name})
        return list(
            connection.scalars(text("SELECT nextval(:s) FROM generate_series(1, :n)"), {"s": sequence, "n": count})
        )
    # SQLite: this transaction holds the database's write lock (BEGIN IMMEDIATE), so nobody else takes these ids.
    start = (connection.scalar(select(func.max(table.c.id))) or 0) + 1
    return list(range(start, start + count))


@dataclass(frozen=True)
class _Started:
    """One member as the engine left it: what its rows are made of."""

    request: StartRequest
    state: str
    ready: Sequence[ReadyUserTask]
    spiff_task_ids: Sequence[str]  # of `ready`, as `state` holds them (a templated member's are fresh)
    next_timer_at: datetime | None
    end: Any | None = None  # the end event, when the start ran to the end without waiting


@dataclass
class BulkStarted:
    instance_ids: list[int] = field(default_factory=list)  # of the members started, in the order of the requests
    # {index of a request: why `operations.start_instance` would refuse it (its message)}: not started
    refused: dict[int, str] = field(default_factory=dict)
    failed: dict[int, ScriptFailure] = field(default_factory=dict)  # {index of a request: its failure}


def refusals(actor: User | None, requests: Sequence[StartRequest]) -> dict[int, str]:
    """The members `start_instance` would refuse — the unit closed, the actor not covering it — with its reason,
    decided per member in memory on what the request carries (decision 0104). The bulk starts leave them out; a
    preview asks it of the same requests to say so before anything is started (decision 0119)."""
    refused: dict[int, str] = {}
    starter = Starter.of(actor) if actor is not None else None
    for index, request in enumerate(requests):
        reason = start_refusal(
            starter,
            unit_id=request.unit_id,
            subject_cadre_id=request.subject_cadre_id,
            unit_chain=request.unit_chain,
            unit_is_active=request.unit_is_active,
        )
        if reason is not None:
            refused[index] = reason
    return refused


def start_many(
    session: Session,
    engine: ProcessEngine,
    *,
    actor: User | None,
    definition: Definition,
    version: int,
    shared: Mapping[str, Any],
    requests: Sequence[StartRequest],
) -> BulkStarted:
    """Start one instance per request from one engine run, in the caller's transaction; returns the new instance
    ids, and the members left out because `start_instance` would refuse them (`refused`). Raises
    `BulkStartUnsupported` when one run cannot stand for every member (`start_each` then can).

    The caller has already checked that no instance exists for the business keys (the unique constraint on
    (process_id, business_key) still refuses a duplicate, failing the whole batch)."""
    result = BulkStarted()
    if not requests:
        return result
    shared = validate_task_data(dict(shared), None)
    keys = requests[0].data.keys()
    if any(request.data.keys() != keys for request in requests):
        raise BulkStartUnsupported("the members' values are not all named alike")
    result.refused = refusals(actor, requests)
    allowed = [request for index, request in enumerate(requests) if index not in result.refused]
    if not allowed:
        return result
    template = _template(engine, definition, shared, allowed[0])
    instance_ids = _reserve_ids(session, _instances, len(allowed))
    task_ids = _reserve_ids(session, _tasks, len(allowed) * len(template.ready))

    def filled() -> Iterator[_Started]:
        for request in allowed:
            state, fresh_ids = _fill(template, request.data)
            spiff_ids = [fresh_ids[ready.spiff_task_id] for ready in template.ready]
            yield _Started(request, state, template.ready, spiff_ids, template.next_timer_at)

    _write_started(
        session,
        engine,
        actor=actor,
        definition=definition,
        version=version,
        shared=shared,
        started=filled(),
        instance_ids=instance_ids,
        task_ids=task_ids,
    )
    result.instance_ids = instance_ids
    return result


def start_each(
    session: Session,
    engine: ProcessEngine,
    *,
    actor: User | None,
    definition: Definition,
    version: int,
    shared: Mapping[str, Any],
    requests: Sequence[StartRequest],
) -> BulkStarted:
    """Start one instance per request, each from its own engine run, in the caller's transaction: the middle path
    for a process one run cannot stand for (decision 0087). Each member takes its own path on its own data, as
    `operations.start_instance` would run it; a member it would refuse is left out with the reason (`refused`), one
    whose run fails in a model script is left out (its failure returned, nothing of it written), and the others are
    started. The rows are then written as `start_many` writes them, a few statements for the batch instead of
    several per member.

    Same precondition as `start_many`: business keys are the caller's."""
    result = BulkStarted()
    if not requests:
        return result
    shared = validate_task_data(dict(shared), None)
    result.refused = refusals(actor, requests)
    started: list[_Started] = []
    for index, request in enumerate(requests):
        if index in result.refused:
            continue
        initial = {**shared, **validate_task_data(dict(request.data), None)}
        try:
            workflow = _run(engine, definition, initial)
        except ScriptFailure as failure:  # the run wrote nothing: only this member is left out
            result.failed[index] = failure
            continue
        ready = engine.ready_user_tasks(workflow, definition)
        end = reached_end_event(workflow) if workflow.is_completed() else None
        state = engine.dump(workflow)
        started.append(
            _Started(request, state, ready, [task.spiff_task_id for task in ready], next_timer_at(workflow), end)
        )
    result.instance_ids = _reserve_ids(session, _instances, len(started))
    task_ids = _reserve_ids(session, _tasks, sum(len(member.ready) for member in started))
    _write_started(
        session,
        engine,
        actor=actor,
        definition=definition,
        version=version,
        shared=shared,
        started=started,
        instance_ids=result.instance_ids,
        task_ids=task_ids,
    )
    return result


def _write_started(
    session: Session,
    engine: ProcessEngine,
    *,
    actor: User | None,
    definition: Definition,
    version: int,
    shared: Mapping[str, Any],
    started: Iterable[_Started],
    instance_ids: Sequence[int],
    task_ids: Sequence[int],
) -> None:
    """The rows `operations.start_instance` writes for each started member — the instance with its state, the inbox
    rows of its READY tasks, its `instance_started`, `task_opened` (and, had it ended, `instance_completed`) events
    on its own hash chain — all members' in three multi-row statements (COPY on PostgreSQL)."""
    now = utcnow_naive()
    next_task_id = iter(task_ids)
    task_rows: list[dict[str, Any]] = []
    audit_rows: list[dict[str, Any]] = []

    def instance_rows() -> Iterator[dict[str, Any]]:
        for instance_id, member in zip(instance_ids, started, strict=True):
            request = member.request
            initial = {**shared, **validate_task_data(dict(request.data), None)}
            status = InstanceStatus.RUNNING if member.end is None else InstanceStatus.COMPLETED
            ended_dt = None if member.end is None else now
            timer_at = member.next_timer_at if member.end is None else None
            snapshot = InstanceSnapshot(
                id=instance_id,
                process_id=definition.process_id,
                process_version_id=definition.id,
                business_key=request.business_key,
                status=status,
                subject_cadre_id=request.subject_cadre_id,
                unit_id=request.unit_id,
                started_by_id=actor.id if actor is not None else None,
                started_dt=now,
                ended_dt=ended_dt,
                state=member.state,
                serializer_version=engine.serializer_version,
                next_timer_at=timer_at,
                lock_version=2,  # as after start_instance's insert and its one save
                cancel_reason=None,
                last_error=None,
                audit_seq=0,
                audit_head=GENESIS_HASH,
            )
            events = [
                PendingEvent(
                    EventType.INSTANCE_STARTED,
                    {
                        "process_id": definition.process_id,
                        "version": version,
                        "content_hash": definition.content_hash,
                        "subject_cadre_id": request.subject_cadre_id,
                        "unit_id": request.unit_id,
                        "business_key": request.business_key,
                        "data": initial,
                    },
                )
            ]
            # The rows are streamed into COPY as they are made (`_copy_rows`): nothing else may be read meanwhile.
            context = AssignmentContext(session, snapshot, subject_user_id=request.subject_user_id, reads_holders=False)
            for ready, spiff_task_id in zip(member.ready, member.spiff_task_ids, strict=True):
                assignment = resolve_assignment(
                    context, ready.lane, ready.properties, engine.lane_rules, ready.assignee_hint
                )
                task_id = next(next_task_id)
                row = {
                    "id": task_id,
                    "instance_id": instance_id,
                    "spiff_task_id": spiff_task_id,
                    "task_key": ready.task_key,
                    "name": ready.name,
                    "lane": ready.lane,
                    "form_filename": ready.form_filename,
                    "process_id": definition.process_id,
                    "process_name": definition.name,
                    "subject_cadre_id": request.subject_cadre_id,
                    "unit_id": request.unit_id,
                    "candidate_role": assignment.candidate_role,
                    "candidate_unit_id": assignment.candidate_unit_id,
                    "assignee_id": assignment.assignee_id,
                    "due_dt": ready.due_dt,
                    "status": TaskStatus.OPEN,
                    "opened_dt": now,
                    "closed_dt": None,
                    "closed_by_id": None,
                    # As `projection._open_rows` words it: the lane's problem, then the task's own expression's.
                    "assignment_problem": "; ".join(p for p in (assignment.problem, ready.problem) if p) or None,
                }
                task_rows.append(row)
                payload = {
                    key: row[key]
                    for key in (
                        "task_key",
                        "name",
                        "lane",
                        "assignee_id",
                        "candidate_role",
                        "candidate_unit_id",
                        "due_dt",
                    )
                }
                if row["assignment_problem"]:
                    payload["assignment_problem"] = row["assignment_problem"]
                events.append(PendingEvent(EventType.TASK_OPENED, payload, task_id))
            if member.end is not None:
                events.append(
                    PendingEvent(
                        EventType.INSTANCE_COMPLETED,
                        {
                            "end_event": getattr(member.end, "bpmn_id", None),
                            "end_name": getattr(member.end, "bpmn_name", None),
                        },
                    )
                )
            rows, seq, head = instance_audit_rows(snapshot, events, actor=actor)
            audit_rows.extend(rows)
            yield (
                {
                    "id": instance_id,
                    "process_version_id": definition.id,
                    "process_id": definition.process_id,
                    "business_key": request.business_key,
                    "status": status,
                    "subject_cadre_id": request.subject_cadre_id,
                    "unit_id": request.unit_id,
                    "started_by_id": snapshot.started_by_id,
                    "started_dt": now,
                    "ended_dt": ended_dt,
                    "state": member.state,
                    "serializer_version": engine.serializer_version,
                    "next_timer_at": timer_at,
                    "lock_version": 2,
                    "audit_seq": seq,
                    "audit_head": head,
                }
            )

    _insert(session, _instances, instance_rows())
    _insert(session, _tasks, task_rows)
    _insert(session, cast(Table, AuditEvent.__table__), audit_rows)
