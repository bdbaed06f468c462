"""What people and the worker do to process instances: start, claim, release, complete, cancel.

Every operation locks the instance first, checks, acts on the workflow, then writes — in the caller's
transaction — the new state, the inbox rows and the audit events. It does not commit: the caller commits or
rolls back (workflows.db.transaction), so an exception never leaves a half-advanced instance behind.
"""

from __future__ import annotations

import json
import keyword
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import jsonschema
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.access import ancestry, role_units, sees_task
from workflows.assignment import OWN_CASE, AssignmentContext, can_act_on_task, holds_role_over, is_own_case
from workflows.audit import GENESIS_HASH, SYSTEM_CHAIN, PendingEvent, append_event, instance_audit_rows
from workflows.clock import utcnow_naive
from workflows.deployment.operations import require_in_use
from workflows.engine.runtime import (
    Definition,
    ProcessEngine,
    advance_baseline,
    advanced_from,
    case_summary,
    fired_timers,
    next_timer_at,
    reached_end_event,
    translate_engine_errors,
    waiting_timer_tasks,
)
from workflows.engine.schema_messages import schema_problem
from workflows.engine.store import (
    AdvanceWrites,
    InstanceSnapshot,
    LockedTask,
    TaskSnapshot,
    insert_instance,
    lock_instance,
    lock_task,
    save_instance,
    update_task,
)
from workflows.errors import N_, Conflict, Invalid, NotAllowed, NotFound, Problem, ScriptFailure, unknown_fields
from workflows.hooks import apply_task_hook, is_refused, run_completion_effect
from workflows.models import AuditEvent, HumanTask, ProcessInstance, ProcessVersion
from workflows.projection import diff_data, sync_human_tasks
from workflows.reassignment import clean_reason, facts_of, receiver_of
from workflows.registry.models import Cadre, OrgUnit, User
from workflows.rules.reassignment import TASK_CLOSED, can_reassign, receiver_refusal, transfer_refusal
from workflows.states import EventType, InstanceStatus, Role
from workflows.tasks import hand_draft_on

MAX_DATA_KEYS = 200


# -- permissions ---------------------------------------------------------------------------------------


def can_act(user: User, locked: LockedTask) -> bool:
    return can_act_on_task(
        user.id,
        role_units(user),
        locked.task,
        locked.candidate_unit_chain,
        user_cadre_id=user.cadre_id,
        subject_cadre_id=locked.instance.subject_cadre_id,
    )


def _refuse_own_case(user: User, locked: LockedTask) -> None:
    """A step given to a role, in a procedure about this person: refused with its own reason (decision 0133)."""
    if locked.task.candidate_role is not None and is_own_case(user.cadre_id, locked.instance.subject_cadre_id):
        raise NotAllowed(OWN_CASE)


def can_see(user: User, locked: LockedTask) -> bool:
    return sees_task(user.id, role_units(user), locked.task, locked.candidate_unit_chain, locked.unit_chain)


# Why `start_instance` refuses a start, as it says it; `start_refusal` gives the same words to the bulk starts.
UNIT_CLOSED = N_("this org unit no longer exists")
START_NOT_ALLOWED = N_("you may not start this procedure for that unit or person")


@dataclass(frozen=True)
class Starter:
    """Who starts a procedure, as the start rule reads them — read once for a whole batch of starts."""

    cadre_id: int | None
    unit_id: int | None
    covers: frozenset[int]  # the units where they hold PERSONNEL or ADMIN (each covers its subtree)

    @classmethod
    def of(cls, user: User) -> Starter:
        starting_roles = (Role.PERSONNEL, Role.ADMIN)
        covers = frozenset(unit for role, unit in role_units(user) if role in starting_roles)
        return cls(user.cadre_id, user.unit_id, covers)

    def may_start(self, unit_id: int | None, subject_cadre_id: int | None, unit_chain: Iterable[int]) -> bool:
        """About themself in their own unit (any officer), or in a unit they cover (`unit_chain`: the unit and
        those above it) — what `holds_role_over` decides for each of the two roles."""
        if subject_cadre_id is not None and self.cadre_id == subject_cadre_id and unit_id in (None, self.unit_id):
            return True
        return not self.covers.isdisjoint(unit_chain)


def can_start(session: Session, user: User | None, unit_id: int | None, subject_cadre_id: int | None) -> bool:
    if user is None:  # the worker and operators' CLI act as the system
        return True
    starter = Starter.of(user)
    if starter.may_start(unit_id, subject_cadre_id, ()):
        return True  # about themself: their unit's chain is not needed
    return starter.may_start(unit_id, subject_cadre_id, ancestry(session, unit_id))


def start_refusal(
    starter: Starter | None,
    *,
    unit_id: int | None,
    subject_cadre_id: int | None,
    unit_chain: Iterable[int],
    unit_is_active: bool,
) -> str | None:
    """Why `start_instance` would refuse this start (its message), decided on facts the caller has already read —
    who starts (None: the system), the unit's chain (`ancestry`) and whether it is active — so that a bulk start
    asks the database nothing per member; None when it would start. The subject is known to exist (the caller read
    it)."""
    if unit_id is not None and not unit_is_active:
        return UNIT_CLOSED
    if starter is None or starter.may_start(unit_id, subject_cadre_id, unit_chain):
        return None
    return START_NOT_ALLOWED


def can_cancel(session: Session, user: User, instance: InstanceSnapshot) -> bool:
    return holds_role_over(role_units(user), Role.ADMIN, ancestry(session, instance.unit_id))


# -- validation of submitted data ------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckedData:
    """Submitted task data as its form's checks left it: `values` without what they refused, `problems` found,
    `refused` the fields that held a refused value ("criteria_politics", a table cell "products.2.completed")."""

    values: dict[str, Any]
    problems: list[Problem]
    refused: frozenset[str]


def check_task_data(
    data: Any,
    validator: jsonschema.protocols.Validator | None,
    form: Mapping[str, Any] | None = None,
    refused: Collection[str] = (),
) -> CheckedData:
    """Every problem of the submitted data at once, and what remains of it without the refused values (decision
    0054): the form's server hook checks that remainder, so a submission learns its rule problems with its typing ones.

    Form data becomes script variables: plain identifiers only, and it must satisfy the task's form schema. With the
    `form` itself, only its fields are accepted (`unknown_form_fields`): the schema alone lets any other key through
    into the process data, where it would overwrite what earlier steps or the server decided. `refused` are fields the
    caller's own checks refused already (the web form's): left out first, and not blamed again. Data that is no
    object, or holds too many fields, is refused at once.
    """
    if not isinstance(data, dict):
        raise Invalid("task data must be a JSON object", [Problem("expected an object of field values")])
    if len(data) > MAX_DATA_KEYS:
        problem = Problem(N_("at most %(count)d fields are accepted"), message_args={"count": MAX_DATA_KEYS})
        raise Invalid("the submitted data is not valid", [problem])
    data, _removed = _without(data, refused)
    already = frozenset(refused)
    problems: list[Problem] = []
    unknown = unknown_form_fields(data, form) if form is not None else []
    problems.extend(unknown)
    named = {problem.field for problem in unknown}
    for key in data:
        if str(key) in named:
            continue  # not a field of the form: that says it all
        if not isinstance(key, str) or not key.isidentifier() or key.startswith("_") or keyword.iskeyword(key):
            problems.append(Problem("field names must be identifiers not starting with '_'", field=str(key)))
    problems.extend(_unstorable_values(data))
    if validator is not None:
        required_seen: dict[tuple[Any, ...], int] = {}
        for error in sorted(validator.iter_errors(data), key=lambda e: list(e.path)):
            field = ".".join(str(p) for p in error.path)
            if error.validator == "required":
                # One error per missing field, in the order the form lists them: the n-th names the n-th missing.
                where = tuple(error.path)
                missing = _missing_field(error, required_seen.get(where, 0))
                required_seen[where] = required_seen.get(where, 0) + 1
                if missing is not None:
                    field = f"{field}.{missing}" if field else missing
            problems.append(schema_problem(error, field or None))
    problems = [problem for problem in problems if not (problem.field and is_refused(already, problem.field))]
    located = {problem.field for problem in problems if problem.field}
    values, removed = _without(data, located)
    # A missing required field is refused too: what needs it is skipped, and nothing else is said about it.
    return CheckedData(values, problems, already | removed | located)


def validate_task_data(
    data: Any, validator: jsonschema.protocols.Validator | None, form: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """`check_task_data`, refusing the data with every problem found; the data itself when there is none."""
    checked = check_task_data(data, validator, form)
    if checked.problems:
        raise Invalid("the submitted data is not valid", checked.problems)
    return dict(data)


def _without(data: dict[str, Any], fields: Collection[str]) -> tuple[dict[str, Any], frozenset[str]]:
    """The data without the values at `fields`, and the fields left out. A table cell ("products.2.completed") goes
    alone, so the rows keep their numbers; anything else nested (a row, a cell's inside) takes its whole field."""
    values = dict(data)
    removed: set[str] = set()
    for where in sorted(fields):
        name, *rest = where.split(".")
        if name not in values:
            if name in data:  # its whole field went already
                removed.add(name)
            continue
        rows = values[name]
        if (
            len(rest) == 2
            and rest[0].isdigit()
            and isinstance(rows, list)
            and int(rest[0]) < len(rows)
            and isinstance(rows[int(rest[0])], dict)
        ):
            index = int(rest[0])
            if rows is data[name]:
                rows = values[name] = list(rows)
            row = rows[index] = dict(rows[index])
            row.pop(rest[1], None)
            removed.add(where)
        else:
            del values[name]
            removed.add(name)
    return values, frozenset(removed)


def _table_columns(prop: Any) -> Mapping[str, Any] | None:
    """The columns of a form field that is a table (an array of objects with properties), else None."""
    if not isinstance(prop, Mapping) or prop.get("type") != "array":
        return None
    items = prop.get("items")
    if not isinstance(items, Mapping) or items.get("type") != "object" or not isinstance(items.get("properties"), dict):
        return None
    columns: Mapping[str, Any] = items["properties"]
    return columns


def unknown_form_fields(data: Mapping[str, Any], form: Mapping[str, Any]) -> list[Problem]:
    """A problem for each key of the data that is not a field of the form — its properties, and in a table each
    row's columns ("products.0.note") —, as the web form, built from the same properties, takes nothing else."""
    properties = form.get("properties")
    fields: Mapping[str, Any] = properties if isinstance(properties, dict) else {}
    problems = unknown_fields(data, fields)
    for name, rows in data.items():
        columns = _table_columns(fields.get(name))
        if columns is None or not isinstance(rows, list):
            continue  # not a table, or not rows at all (which the schema refuses)
        for index, row in enumerate(rows):
            if isinstance(row, dict):
                problems.extend(unknown_fields(row, columns, within=f"{name}.{index}."))
    return problems


MAX_NESTING = 32


def _unstorable_values(data: Any) -> list[Problem]:
    """Text the databases cannot store (NUL, lone surrogates) or structures nested absurdly deep: refuse them
    as invalid input rather than fail on write."""
    problems: list[Problem] = []
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth > MAX_NESTING:
            problems.append(Problem("the data is nested too deeply", field=path or None))
            continue
        if isinstance(value, str):
            if "\x00" in value or any("\ud800" <= ch <= "\udfff" for ch in value):
                problems.append(Problem("the text contains characters that cannot be stored", field=path or None))
        elif isinstance(value, dict):
            stack.extend((v, f"{path}.{k}" if path else str(k), depth + 1) for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, f"{path}.{i}" if path else str(i), depth + 1) for i, v in enumerate(value))
    return problems


def is_bulk_approvable(schema: Mapping[str, Any] | None) -> bool:
    """An approval step that needs nothing but the decision: safe to agree to in bulk with {"decision": "approve"}."""
    if not schema:
        return False
    decision = (schema.get("properties") or {}).get("decision") or {}
    choices = decision.get("enum") or [option.get("const") for option in decision.get("oneOf", [])]
    return "approve" in choices and set(schema.get("required") or []) <= {"decision"}


def bulk_approvable_tasks(session: Session, engine: ProcessEngine, task_ids: Collection[int]) -> set[int]:
    """Of these tasks, the ones whose form asks for nothing but the decision (each by its own instance's version):
    the inbox offers the selection only on them, and the bulk approval agrees to no other."""
    if not task_ids:
        return set()
    rows = session.execute(
        select(HumanTask.id, HumanTask.form_filename, ProcessInstance.process_version_id)
        .join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
        .where(HumanTask.id.in_(list(task_ids)))
    ).all()
    return {
        task_id
        for task_id, form_filename, version_id in rows
        if is_bulk_approvable_step(session, engine, version_id, form_filename)
    }


def is_bulk_approvable_step(
    session: Session, engine: ProcessEngine, version_id: int, form_filename: str | None
) -> bool:
    """Whether a step with this form in this version asks for nothing but the decision (the inbox's rows carry both)."""
    return bool(form_filename) and is_bulk_approvable(engine.definition(session, version_id).form_schema(form_filename))


def _missing_field(error: jsonschema.ValidationError, index: int) -> str | None:
    if isinstance(error.instance, dict):
        missing = [name for name in error.validator_value if name not in error.instance]
        return missing[index] if index < len(missing) else None
    return None


# -- writing one advance -----------------------------------------------------------------------------------


def _save_advance(
    session: Session,
    engine: ProcessEngine,
    definition: Definition,
    instance: InstanceSnapshot,
    workflow: Any,
    events: list[PendingEvent],
    *,
    actor: User | None,
    ready_before: set[str],
    completed: TaskSnapshot | None = None,
    context: AssignmentContext | None = None,
    writes: AdvanceWrites | None = None,
) -> None:
    """Inbox rows, then audit events, then one UPDATE of the instance (state, timers, status, chain head)."""
    writes = writes or AdvanceWrites()
    events.extend(
        sync_human_tasks(
            session,
            context or AssignmentContext(session, instance),
            instance,
            definition,
            ready_before=ready_before,
            ready_after=engine.ready_user_tasks(workflow, definition),
            lane_rules=engine.lane_rules,
            completed=completed,
            actor=actor,
            writes=writes,
        )
    )
    changes: dict[str, Any] = {
        "state": engine.dump(workflow),
        "serializer_version": engine.serializer_version,
        "next_timer_at": next_timer_at(workflow),
        "last_error": None,
    }
    if definition.summary_fields and workflow.last_task is not None:
        # Read in place: `_current_data` copies the whole data, and the summary needs a few keys of it.
        summary = case_summary(definition.summary_fields, workflow.last_task.data, definition.summary_titles)
        if summary is not None and summary != instance.summary:
            changes["summary"] = summary  # written with the state, only when it changed (decision 0144)
    if workflow.is_completed() and instance.status == InstanceStatus.RUNNING:
        end = reached_end_event(workflow)
        changes.update(status=InstanceStatus.COMPLETED, ended_dt=utcnow_naive(), next_timer_at=None)
        events.append(
            PendingEvent(
                EventType.INSTANCE_COMPLETED,
                {"end_event": getattr(end, "bpmn_id", None), "end_name": getattr(end, "bpmn_name", None)},
            )
        )
    _write(session, instance, events, actor, changes, writes)


def _write(
    session: Session,
    instance: InstanceSnapshot,
    events: list[PendingEvent],
    actor: User | None,
    changes: dict[str, Any],
    writes: AdvanceWrites | None = None,
) -> None:
    rows, seq, head = instance_audit_rows(instance, events, actor=actor)
    save_instance(session, instance, writes=writes, audit_rows=rows, audit_seq=seq, audit_head=head, **changes)


def _current_data(workflow: Any) -> dict[str, Any]:
    """The data where the advance stopped: its branch's, what its change is measured against (decision 0048) —
    not the procedure's data as a whole, which is `runtime.instance_data`."""
    last = workflow.last_task
    return dict(last.data) if last is not None else {}


# -- operations ------------------------------------------------------------------------------------------


def latest_version(session: Session, process_id: str) -> ProcessVersion:
    version = session.scalars(
        select(ProcessVersion).where(ProcessVersion.process_id == process_id).order_by(ProcessVersion.version.desc())
    ).first()
    if version is None:
        raise NotFound(f"process {process_id!r} is not deployed")
    return version


def start_instance(
    session: Session,
    engine: ProcessEngine,
    *,
    actor: User | None,
    process_id: str,
    data: Mapping[str, Any] | None = None,
    subject_cadre_id: int | None = None,
    unit_id: int | None = None,
    business_key: str | None = None,
) -> InstanceSnapshot:
    """Start the latest version of a process. With a business key, starting twice returns the first instance."""
    version = latest_version(session, process_id)
    initial = validate_task_data(dict(data or {}), None)
    if subject_cadre_id is not None:
        subject = session.get(Cadre, subject_cadre_id)
        if subject is None:
            raise NotFound(f"cadre {subject_cadre_id} does not exist")
        unit_id = unit_id if unit_id is not None else subject.unit_id
    unit = session.get(OrgUnit, unit_id) if unit_id is not None else None
    if unit_id is not None and unit is None:
        raise NotFound(f"org unit {unit_id} does not exist")
    if unit is not None and not unit.is_active:
        raise Invalid(
            UNIT_CLOSED,
            [Problem("this org unit was merged or dissolved; choose the unit that took over its work", field="unit")],
        )
    if not can_start(session, actor, unit_id, subject_cadre_id):
        raise NotAllowed(START_NOT_ALLOWED)
    if business_key is not None:
        existing_id = session.scalar(
            select(ProcessInstance.id).where(
                ProcessInstance.process_id == process_id, ProcessInstance.business_key == business_key
            )
        )
        if existing_id is not None:
            return lock_instance(session, existing_id)
    require_in_use(version)

    definition = engine.definition(session, version.id)
    workflow = engine.new_workflow(definition)
    try:
        with translate_engine_errors():
            start_task = workflow.get_next_task(state=TaskState.READY)
            if start_task is not None:
                start_task.data.update(initial)
            workflow.do_engine_steps()
    except ScriptFailure as failure:
        # No instance to note it on: the caller records it against the version (`record_start_failure`).
        failure.process_version_id = version.id
        raise

    writes = AdvanceWrites()
    instance = insert_instance(
        session,
        {
            "process_version_id": version.id,
            "process_id": version.process_id,
            "business_key": business_key,
            "status": InstanceStatus.RUNNING,
            "subject_cadre_id": subject_cadre_id,
            "unit_id": unit_id,
            "started_by_id": actor.id if actor is not None else None,
            "started_dt": utcnow_naive(),
            "state": "",
            "serializer_version": engine.serializer_version,
            "lock_version": 1,
            "audit_seq": 0,
            "audit_head": GENESIS_HASH,
        },
        writes,
    )
    started = PendingEvent(
        EventType.INSTANCE_STARTED,
        {
            "process_id": version.process_id,
            "version": version.version,
            "content_hash": version.content_hash,
            "subject_cadre_id": subject_cadre_id,
            "unit_id": unit_id,
            "business_key": business_key,
            "data": initial,
        },
    )
    _save_advance(
        session, engine, definition, instance, workflow, [started], actor=actor, ready_before=set(), writes=writes
    )
    return instance


def claim_task(session: Session, *, actor: User, task_id: int) -> TaskSnapshot:
    """Take a group task into one's own inbox."""
    locked = lock_task(session, task_id)
    task = locked.task
    if task.status != "open":
        raise Conflict("this task is no longer open")
    if task.assignee_id == actor.id:
        return task
    if task.assignee_id is not None:
        raise Conflict("this task has already been claimed by someone else")
    _refuse_own_case(actor, locked)
    if not can_act(actor, locked):
        raise NotAllowed("you may not take this task")
    update_task(session, task.id, assignee_id=actor.id)
    task.assignee_id = actor.id
    _write_task_event(session, locked, EventType.TASK_CLAIMED, actor)
    return task


def release_task(session: Session, *, actor: User, task_id: int) -> TaskSnapshot:
    """Give a claimed group task back to the group."""
    locked = lock_task(session, task_id)
    task = locked.task
    if task.status != "open":
        raise Conflict("this task is no longer open")
    if task.assignee_id != actor.id:
        raise NotAllowed("only the person holding a task can release it")
    if task.candidate_role is None:
        raise Conflict("this task is assigned to you personally and cannot be returned to a group")
    update_task(session, task.id, assignee_id=None)
    task.assignee_id = None
    _write_task_event(session, locked, EventType.TASK_RELEASED, actor)
    return task


def reassign_task(
    session: Session, *, actor: User | None, task_id: int, to_user_id: int | None, reason: Any
) -> TaskSnapshot:
    """Hand an open task to another person, with the reason, on the instance's chain (decision 0078).

    Locked as a claim or a completion locks it — the task and its instance, the instance's version checked on the
    write — so a task completed, claimed or handed on meanwhile is refused (Conflict) instead of lost or doubled.
    The actor must be personnel or an administrator over the task's unit (`rules.reassignment.can_reassign`); no
    actor is the server's operator at the command line. Raises NotFound (also outside the actor's scope),
    NotAllowed, Conflict (closed), Invalid (a ballot step, the subject's own step, the receiver, the reason).

    The task's draft, if any, goes to the receiver in the same transaction (`tasks.hand_draft_on`, decision 0084)."""
    locked = lock_task(session, task_id)
    if actor is not None and not can_see(actor, locked):
        raise NotFound(f"task {task_id} does not exist")
    task = locked.task
    facts = facts_of(
        session,
        task,
        process_id=locked.instance.process_id,
        subject_cadre_id=locked.instance.subject_cadre_id,
        candidate_unit_chain=locked.candidate_unit_chain,
        unit_chain=locked.unit_chain,
    )
    if actor is not None and not can_reassign(role_units(actor), facts):
        raise NotAllowed("only the personnel body or an administrator over the task's unit may hand it on")
    refusal = transfer_refusal(facts)
    if refusal == TASK_CLOSED:
        raise Conflict(refusal)
    if refusal is not None:
        raise Invalid("the task was not handed on", [Problem(refusal)])
    problems: list[Problem] = []
    receiver = session.get(User, to_user_id) if isinstance(to_user_id, int) else None
    if receiver is None:
        problems.append(Problem("choose the person to hand the task to", field="assignee"))
    else:
        refused = receiver_refusal(facts, receiver_of(session, receiver))
        if refused is not None:
            problems.append(Problem(refused, field="assignee"))
    why = clean_reason(reason, problems)
    if problems:
        raise Invalid("the task was not handed on", problems)
    assert receiver is not None
    previous = task.assignee_id
    update_task(session, task.id, assignee_id=receiver.id)
    task.assignee_id = receiver.id
    # The form's work in progress goes with the task (decision 0084); the event says that it went and whose it
    # was, never what it holds (drafts are not in the audit record, as a completion's values are not).
    draft_saved_by = hand_draft_on(session, task.id, receiver.id)
    payload = {
        "task_key": task.task_key,
        "name": task.name,
        "from_assignee_id": previous,
        "assignee_id": receiver.id,
        "assignee": receiver.username,
        "reason": why,
        "draft_moved": draft_saved_by is not None,
        "draft_saved_by_id": draft_saved_by,
    }
    _write(session, locked.instance, [PendingEvent(EventType.TASK_REASSIGNED, payload, task.id)], actor, {})
    return task


def _hooked(
    session: Session, schema: Mapping[str, Any] | None, checked: CheckedData, before: Mapping[str, Any]
) -> dict[str, Any]:
    """The values to store: the form's server hook run on what the schema accepted. Anything refused — by the
    schema, the caller or the hook — refuses the whole submission with every problem; the hook's on a field already
    refused are left out (that field's own problem says what to fix first). What a hook wrote meanwhile goes with
    the caller's rollback."""
    problems = list(checked.problems)
    try:
        values = apply_task_hook(session, schema, checked.values, before, checked.refused)
    except Invalid as refusal:
        if not problems and not checked.refused:
            raise
        problems.extend(
            problem
            for problem in refusal.problems
            if not (problem.field and is_refused(checked.refused, problem.field))
        )
    else:
        if not problems and not checked.refused:
            return values
    raise Invalid("the submitted data is not valid", problems)


def _write_task_event(session: Session, locked: LockedTask, event_type: str, actor: User) -> None:
    payload = {"task_key": locked.task.task_key, "name": locked.task.name}
    _write(session, locked.instance, [PendingEvent(event_type, payload, locked.task.id)], actor, {})


def complete_task(
    session: Session,
    engine: ProcessEngine,
    *,
    actor: User,
    task_id: int,
    data: Mapping[str, Any] | None = None,
    read_open_tasks: bool = False,
    form_fields_only: bool = False,
    refused: Collection[str] = (),
    find_untakeable: bool = False,
) -> InstanceSnapshot:
    """Complete one open user task with the person's data and run the process on to its next wait state.

    With `read_open_tasks` the snapshot returned carries the instance's labels and its open tasks after the
    completion, read with the lock and the write instead of by a further query; with `find_untakeable` its
    `untakeable` names the steps just opened that nobody can take (answered by the write on PostgreSQL). With
    `form_fields_only` a key that
    is not a field of the task's form is refused (the API; the web form sends nothing else); a task without a form
    takes any data.

    The data is checked whole: the form's schema, then its server hook on the values the schema accepted, every
    problem of both in one `Invalid` (a hook rule that needs a refused value is skipped). `refused` names fields the
    caller's own form refused already (the web page's checks): their values are left out, the rest is checked the
    same way, and the completion is always refused, with whatever else was found — so the page shows everything at
    once and never completes a task it refused.

    Raises NotFound (also for a task outside the person's scope, as if it did not exist), NotAllowed, Conflict
    (already completed, or a deadline fired first), Invalid (data), ScriptFailure (a model script failed: the
    instance keeps its previous state; the failure names the instance).
    """
    locked = lock_task(session, task_id, reserve_task_id=True)
    # Decided on the locked row rather than by a read before it: one statement fewer on every completion.
    if not can_see(actor, locked):
        raise NotFound(f"task {task_id} does not exist")
    try:
        return _complete_locked(
            session,
            engine,
            actor,
            locked,
            data,
            AdvanceWrites(
                reserved_task_ids=locked.reserved_task_ids,
                read_open_tasks=read_open_tasks,
                find_untakeable=find_untakeable,
            ),
            form_fields_only,
            frozenset(refused),
        )
    except ScriptFailure as failure:
        failure.instance_id = locked.instance.id
        raise


def _complete_locked(
    session: Session,
    engine: ProcessEngine,
    actor: User,
    locked: LockedTask,
    data: Mapping[str, Any] | None,
    writes: AdvanceWrites,
    form_fields_only: bool = False,
    refused: frozenset[str] = frozenset(),
) -> InstanceSnapshot:
    task, instance = locked.task, locked.instance
    if task.status != "open":
        raise Conflict("this task has already been completed or closed")
    _refuse_own_case(actor, locked)
    if not can_act(actor, locked):
        raise NotAllowed("you may not complete this task")
    definition = engine.definition(session, instance.process_version_id)
    schema = definition.form_schema(task.form_filename)
    checked = check_task_data(
        dict(data or {}), definition.form_validator(task.form_filename), schema if form_fields_only else None, refused
    )

    workflow = engine.load(definition, instance)
    ready_before = engine.ready_task_ids(workflow)
    waiting_before = waiting_timer_tasks(workflow)
    # Timer race (SpiffWorkflow notes): let due timers fire first, then re-check the task is still READY.
    engine.run_engine_steps(workflow)
    spiff_task = workflow.get_task_from_id(UUID(task.spiff_task_id))
    if not spiff_task.has_state(TaskState.READY):
        if fired_timers(workflow, waiting_before):
            raise Conflict("the deadline of this task passed before it was submitted; it has been escalated")
        raise Conflict("this task is no longer open")

    before = dict(spiff_task.data)
    submitted = _hooked(session, schema, checked, before)
    with translate_engine_errors():
        spiff_task.data.update(submitted)
        spiff_task.run()
        workflow.do_engine_steps()
    events = [PendingEvent(EventType.TIMER_FIRED, fired) for fired in fired_timers(workflow, waiting_before)]
    events.append(
        PendingEvent(
            EventType.TASK_COMPLETED,
            {"task_key": task.task_key, "name": task.name, "lane": task.lane, "fields": sorted(submitted)},
            task.id,
        )
    )
    # Measured in the task's own branch: a join it fired merges in what sibling branches entered, theirs to record.
    changes = diff_data(advance_baseline(spiff_task, before), _current_data(workflow))
    if changes:
        events.append(PendingEvent(EventType.DATA_CHANGED, {"changes": changes}, task.id))
    # The lock read the task unit's ancestry; a task lies in its instance's unit unless the unit changed since.
    same_unit = task.unit_id == instance.unit_id and bool(locked.unit_chain)
    context = AssignmentContext(
        session,
        instance,
        subject_user_id=locked.subject_user_id,
        unit_ancestors=locked.unit_chain[:-1] if same_unit else None,
        subject_unit_id=locked.subject_unit_id,
        subject_roles=locked.subject_roles,
    )
    _save_advance(
        session,
        engine,
        definition,
        instance,
        workflow,
        events,
        actor=actor,
        ready_before=ready_before,
        completed=task,
        context=context,
        writes=writes,
    )
    if workflow.is_completed():
        run_completion_effect(session, instance, _current_data(workflow), actor)
    return instance


def fire_due_timers(session: Session, engine: ProcessEngine, instance_id: int) -> list[dict[str, Any]]:
    """Advance one instance whose timers are due (the worker calls this inside its own transaction)."""
    instance = lock_instance(session, instance_id)
    if instance.status != InstanceStatus.RUNNING:
        return []
    definition = engine.definition(session, instance.process_version_id)
    workflow = engine.load(definition, instance)
    ready_before = engine.ready_task_ids(workflow)
    waiting_before = waiting_timer_tasks(workflow)
    before = _current_data(workflow)
    timer_data = {task_id: dict(task.data) for task_id, (task, _schedule) in waiting_before.items()}
    engine.run_engine_steps(workflow)
    fired = fired_timers(workflow, waiting_before)
    events = [PendingEvent(EventType.TIMER_FIRED, item) for item in fired]
    # A timer in a parallel branch (a deadline beside the main path) is measured from its own branch's data, not
    # from the main path's: that branch never had the main path's later values, it did not remove them.
    origin = advanced_from(workflow, timer_data)
    if origin is not None:
        before = advance_baseline(origin, timer_data[origin.id])
    changes = diff_data(before, _current_data(workflow))
    if changes:
        events.append(PendingEvent(EventType.DATA_CHANGED, {"changes": changes}))
    _save_advance(session, engine, definition, instance, workflow, events, actor=None, ready_before=ready_before)
    return fired


def cancel_instance(
    session: Session, engine: ProcessEngine, *, actor: User | None, instance_id: int, reason: str
) -> InstanceSnapshot:
    """Stop a running procedure for good, with the reason recorded; its open tasks close as cancelled."""
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("a reason is required to cancel", [Problem("a reason is required", field="reason")])
    instance = lock_instance(session, instance_id)
    if actor is not None and not can_cancel(session, actor, instance):
        raise NotAllowed("only an administrator may cancel a procedure")
    if instance.status != InstanceStatus.RUNNING:
        raise Conflict(f"the procedure is already {instance.status}")
    definition = engine.definition(session, instance.process_version_id)
    workflow = engine.load(definition, instance)
    ready_before = engine.ready_task_ids(workflow)
    workflow.cancel()
    events = sync_human_tasks(
        session,
        AssignmentContext(session, instance),
        instance,
        definition,
        ready_before=ready_before,
        ready_after=[],
        lane_rules=engine.lane_rules,
        actor=actor,
    )
    events.append(PendingEvent(EventType.INSTANCE_CANCELLED, {"reason": reason}))
    changes = {
        "state": engine.dump(workflow),
        "status": InstanceStatus.CANCELLED,
        "ended_dt": utcnow_naive(),
        "next_timer_at": None,
        "cancel_reason": reason,
    }
    _write(session, instance, events, actor, changes)
    return instance


def record_failure(session: Session, *, actor: User | None, instance_id: int, error: ScriptFailure) -> None:
    """After a rollback: note the failure on the instance and in its audit chain (its own small transaction)."""
    instance = lock_instance(session, instance_id)
    if instance.last_error == str(error):
        return  # the same step failing the same way again (a retry): noted already, until a step succeeds
    payload = {"message": error.message, "element_id": error.element_id, "line": error.line, "details": error.details}
    _write(session, instance, [PendingEvent(EventType.ERROR, payload)], actor, {"last_error": str(error)})


def record_start_failure(session: Session, *, actor: User | None, error: ScriptFailure) -> bool:
    """After a rollback: a start that failed in a model script leaves no instance, so it is noted as an "error" event
    on the system audit chain, where the administration page finds it. One per version, element and day, however
    often people press "Start" meanwhile (the chain is append-only: no counter to raise). True when noted now."""
    version = session.get(ProcessVersion, error.process_version_id) if error.process_version_id else None
    if version is None:
        return False
    now = utcnow_naive()
    today = datetime.combine(now.date(), datetime.min.time())
    for payload in session.scalars(
        select(AuditEvent.payload).where(
            AuditEvent.chain_key == SYSTEM_CHAIN,
            AuditEvent.event_type == EventType.ERROR,
            AuditEvent.occurred_dt >= today,
        )
    ):
        seen = json.loads(payload)
        if seen.get("process_version_id") == version.id and seen.get("element_id") == error.element_id:
            return False
    append_event(
        session,
        SYSTEM_CHAIN,
        EventType.ERROR,
        {
            "stage": "start",
            "process_id": version.process_id,
            "process_version_id": version.id,
            "version": version.version,
            "element_id": error.element_id,
            "element_name": error.element_name,
            "line": error.line,
            "message": error.message,
            "details": error.details,
        },
        actor=actor,
    )
    return True


START_FAILURES_SHOWN_DAYS = 7


@dataclass(frozen=True)
class StartFailure:
    """A procedure that could not be started because a script of its model failed (`record_start_failure`)."""

    process_id: str
    name: str
    version: int
    element_id: str | None
    element_name: str | None
    message: str
    last_dt: datetime  # the latest day it was noted (once per day)


def start_failures(session: Session, *, limit: int = 100) -> list[StartFailure]:
    """Failed starts of the last days whose version is still the one new procedures start on, newest first: what
    "Needs attention" lists until a fixed version is deployed (or the procedure withdrawn). One row per version and
    element."""
    since = utcnow_naive() - timedelta(days=START_FAILURES_SHOWN_DAYS)
    rows = session.execute(
        select(AuditEvent.payload, AuditEvent.occurred_dt)
        .where(
            AuditEvent.chain_key == SYSTEM_CHAIN,
            AuditEvent.event_type == EventType.ERROR,
            AuditEvent.occurred_dt >= since,
        )
        .order_by(AuditEvent.id.desc())
        .limit(limit * START_FAILURES_SHOWN_DAYS)
    ).all()
    noted = [(json.loads(payload), occurred) for payload, occurred in rows]
    version_ids = {payload.get("process_version_id") for payload, _ in noted if payload.get("stage") == "start"}
    if not version_ids:
        return []
    current: dict[int, ProcessVersion] = {}
    for candidate in session.scalars(select(ProcessVersion).where(ProcessVersion.id.in_(version_ids))):
        latest = latest_version(session, candidate.process_id)
        if latest.id == candidate.id and candidate.retired_dt is None:
            current[candidate.id] = candidate
    found: dict[tuple[int, str | None], StartFailure] = {}
    for payload, occurred in noted:
        version = current.get(payload.get("process_version_id"))
        key = (payload.get("process_version_id"), payload.get("element_id"))
        if version is None or key in found:
            continue
        found[key] = StartFailure(
            process_id=version.process_id,
            name=version.name,
            version=version.version,
            element_id=payload.get("element_id"),
            element_name=payload.get("element_name"),
            message=str(payload.get("message") or ""),
            last_dt=occurred,
        )
    return list(found.values())[:limit]


def task_instance_id(session: Session, task_id: int) -> int:
    instance_id = session.scalar(select(HumanTask.instance_id).where(HumanTask.id == task_id))
    if instance_id is None:
        raise NotFound(f"task {task_id} does not exist")
    return instance_id
