"""What people and the worker do to process instances: start, claim, release, complete, cancel.

Every operation locks the instance first, checks, acts on the workflow, then writes — in the caller's
transaction — the new state, the inbox rows and the audit events. It flushes; the caller commits or rolls back
(workflows.db.transaction). An exception therefore never leaves a half-advanced instance behind.
"""

from __future__ import annotations

import keyword
from collections.abc import Mapping
from typing import Any
from uuid import UUID

import jsonschema
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows.assignment import can_act_on_task, holds_role_over, unit_chain
from workflows.audit import PendingEvent, append_event, append_events, instance_chain
from workflows.clock import utcnow_naive
from workflows.engine.runtime import (
    ProcessEngine,
    fired_timers,
    next_timer_at,
    reached_end_event,
    translate_engine_errors,
    waiting_timer_tasks,
)
from workflows.errors import Conflict, Invalid, NotAllowed, NotFound, Problem, ScriptFailure
from workflows.models import HumanTask, ProcessInstance, ProcessVersion
from workflows.projection import diff_data, sync_human_tasks
from workflows.registry.models import Cadre, OrgUnit, User
from workflows.states import EventType, InstanceStatus, Role, TaskStatus

MAX_DATA_KEYS = 200


# -- loading with the lock ---------------------------------------------------------------------------


def lock_instance(session: Session, instance_id: int) -> ProcessInstance:
    """Row lock on PostgreSQL (SELECT … FOR UPDATE); on SQLite the transaction already holds the write lock."""
    instance = session.scalars(
        select(ProcessInstance)
        .where(ProcessInstance.id == instance_id)
        .with_for_update(of=ProcessInstance)
        .execution_options(populate_existing=True)
    ).one_or_none()
    if instance is None:
        raise NotFound(f"instance {instance_id} does not exist")
    return instance


def _reload_task(session: Session, task_id: int) -> HumanTask:
    task = session.scalars(
        select(HumanTask).where(HumanTask.id == task_id).execution_options(populate_existing=True)
    ).one_or_none()
    if task is None:
        raise NotFound(f"task {task_id} does not exist")
    return task


def _task_instance_id(session: Session, task_id: int) -> int:
    instance_id = session.scalar(select(HumanTask.instance_id).where(HumanTask.id == task_id))
    if instance_id is None:
        raise NotFound(f"task {task_id} does not exist")
    return instance_id


def _role_units(user: User) -> list[tuple[str, int]]:
    return [(a.role, a.unit_id) for a in user.role_assignments]


def _unit_chain(session: Session, unit_id: int | None) -> list[int]:
    if unit_id is None:
        return []
    path = session.scalar(select(OrgUnit.path).where(OrgUnit.id == unit_id))
    return unit_chain(path or "/", unit_id)


def can_act(session: Session, user: User, task: HumanTask) -> bool:
    return can_act_on_task(user.id, _role_units(user), task, _unit_chain(session, task.candidate_unit_id))


# -- saving one advance ------------------------------------------------------------------------------


def _save_advance(
    session: Session,
    engine: ProcessEngine,
    instance: ProcessInstance,
    workflow: Any,
    events: list[PendingEvent],
    *,
    actor: User | None,
    completed_spiff_id: str | None = None,
    is_new_instance: bool = False,
) -> None:
    events.extend(
        sync_human_tasks(
            session,
            instance,
            engine.ready_user_tasks(workflow),
            lane_rules=engine.lane_rules,
            completed_spiff_id=completed_spiff_id,
            actor=actor,
            is_new_instance=is_new_instance,
        )
    )
    instance.state = engine.dump(workflow)
    instance.serializer_version = engine.serializer_version
    instance.next_timer_at = next_timer_at(workflow)
    instance.last_error = None
    if workflow.is_completed() and instance.status == InstanceStatus.RUNNING:
        instance.status = InstanceStatus.COMPLETED
        instance.ended_dt = utcnow_naive()
        instance.next_timer_at = None
        end = reached_end_event(workflow)
        events.append(
            PendingEvent(
                EventType.INSTANCE_COMPLETED,
                {"end_event": getattr(end, "bpmn_id", None), "end_name": getattr(end, "bpmn_name", None)},
            )
        )
    session.flush()
    append_events(session, instance_chain(instance.id), events, actor=actor, instance_id=instance.id)


def _current_data(workflow: Any) -> dict[str, Any]:
    last = workflow.last_task
    return dict(last.data) if last is not None else {}


# -- validation of submitted data ---------------------------------------------------------------------


def validate_task_data(data: Any, schema: Mapping[str, Any] | None) -> dict[str, Any]:
    """Form data becomes script variables: plain identifiers only, and it must satisfy the task's form schema."""
    if not isinstance(data, dict):
        raise Invalid("task data must be a JSON object", [Problem("expected an object of field values")])
    problems: list[Problem] = []
    if len(data) > MAX_DATA_KEYS:
        problems.append(Problem(f"at most {MAX_DATA_KEYS} fields are accepted"))
    for key in data:
        if not isinstance(key, str) or not key.isidentifier() or key.startswith("_") or keyword.iskeyword(key):
            problems.append(Problem("field names must be identifiers not starting with '_'", field=str(key)))
    if schema:
        validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
        for error in sorted(validator.iter_errors(data), key=lambda e: list(e.path)):
            field = ".".join(str(p) for p in error.path) or _missing_field(error)
            problems.append(Problem(error.message, field=field))
    if problems:
        raise Invalid("the submitted data is not valid", problems)
    return dict(data)


def _missing_field(error: jsonschema.ValidationError) -> str | None:
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [name for name in error.validator_value if name not in error.instance]
        return missing[0] if missing else None
    return None


# -- operations --------------------------------------------------------------------------------------


def latest_version(session: Session, process_id: str) -> ProcessVersion:
    version = session.scalars(
        select(ProcessVersion).where(ProcessVersion.process_id == process_id).order_by(ProcessVersion.version.desc())
    ).first()
    if version is None:
        raise NotFound(f"process {process_id!r} is not deployed")
    return version


def can_start(session: Session, user: User | None, unit_id: int | None, subject_cadre_id: int | None) -> bool:
    if user is None:  # the worker and operators' CLI act as the system
        return True
    if subject_cadre_id is not None and user.cadre_id == subject_cadre_id:
        return True
    chain = _unit_chain(session, unit_id)
    role_units = _role_units(user)
    return any(holds_role_over(role_units, role, chain) for role in (Role.PERSONNEL, Role.ADMIN))


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
) -> ProcessInstance:
    version = latest_version(session, process_id)
    initial = validate_task_data(dict(data or {}), None)
    if subject_cadre_id is not None:
        subject = session.get(Cadre, subject_cadre_id)
        if subject is None:
            raise NotFound(f"cadre {subject_cadre_id} does not exist")
        unit_id = unit_id if unit_id is not None else subject.unit_id
    if unit_id is not None and session.get(OrgUnit, unit_id) is None:
        raise NotFound(f"org unit {unit_id} does not exist")
    if not can_start(session, actor, unit_id, subject_cadre_id):
        raise NotAllowed("you may not start this procedure for that unit or person")
    if business_key is not None:
        existing = session.scalar(
            select(ProcessInstance).where(
                ProcessInstance.process_id == process_id, ProcessInstance.business_key == business_key
            )
        )
        if existing is not None:
            return existing

    workflow = engine.new_workflow(version)
    with translate_engine_errors():
        start_task = workflow.get_next_task(state=TaskState.READY)
        if start_task is not None:
            start_task.data.update(initial)
        workflow.do_engine_steps()

    instance = ProcessInstance(
        process_version=version,
        process_id=version.process_id,
        business_key=business_key,
        status=InstanceStatus.RUNNING,
        subject_cadre_id=subject_cadre_id,
        unit_id=unit_id,
        started_by_id=actor.id if actor is not None else None,
        started_dt=utcnow_naive(),
        state="",
        serializer_version=engine.serializer_version,
    )
    session.add(instance)
    session.flush()
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
    _save_advance(session, engine, instance, workflow, [started], actor=actor, is_new_instance=True)
    return instance


def claim_task(session: Session, *, actor: User, task_id: int) -> HumanTask:
    instance = lock_instance(session, _task_instance_id(session, task_id))
    task = _reload_task(session, task_id)
    if not task.is_open:
        raise Conflict("this task is no longer open")
    if task.assignee_id == actor.id:
        return task
    if task.assignee_id is not None:
        raise Conflict("this task has already been claimed by someone else")
    if not can_act(session, actor, task):
        raise NotAllowed("you may not take this task")
    task.assignee_id = actor.id
    session.flush()
    append_event(
        session,
        instance_chain(instance.id),
        EventType.TASK_CLAIMED,
        {"task_key": task.task_key, "name": task.name},
        actor=actor,
        instance_id=instance.id,
        human_task_id=task.id,
    )
    return task


def release_task(session: Session, *, actor: User, task_id: int) -> HumanTask:
    instance = lock_instance(session, _task_instance_id(session, task_id))
    task = _reload_task(session, task_id)
    if not task.is_open:
        raise Conflict("this task is no longer open")
    if task.assignee_id != actor.id:
        raise NotAllowed("only the person holding a task can release it")
    if task.candidate_role is None:
        raise Conflict("this task is assigned to you personally and cannot be returned to a group")
    task.assignee_id = None
    session.flush()
    append_event(
        session,
        instance_chain(instance.id),
        EventType.TASK_RELEASED,
        {"task_key": task.task_key, "name": task.name},
        actor=actor,
        instance_id=instance.id,
        human_task_id=task.id,
    )
    return task


def complete_task(
    session: Session,
    engine: ProcessEngine,
    *,
    actor: User,
    task_id: int,
    data: Mapping[str, Any] | None = None,
) -> ProcessInstance:
    """Complete one open user task with the person's data and run the process on to its next wait state.

    Raises NotFound, NotAllowed, Conflict (already completed, or a deadline fired first), Invalid (data),
    ScriptFailure (a model script failed: the instance keeps its previous state).
    """
    instance = lock_instance(session, _task_instance_id(session, task_id))
    task = _reload_task(session, task_id)
    if not task.is_open:
        raise Conflict("this task has already been completed or closed")
    if not can_act(session, actor, task):
        raise NotAllowed("you may not complete this task")
    schema = engine.form_schema(instance.process_version, task.form_filename)
    submitted = validate_task_data(dict(data or {}), schema)

    workflow = engine.load(instance)
    waiting_before = waiting_timer_tasks(workflow)
    # Timer race (SpiffWorkflow notes): let due timers fire first, then re-check the task is still READY.
    engine.run_engine_steps(workflow)
    spiff_task = workflow.get_task_from_id(UUID(task.spiff_task_id))
    if spiff_task is None or not spiff_task.has_state(TaskState.READY):
        raise Conflict("the deadline of this task passed before it was submitted; it has been escalated")

    before = dict(spiff_task.data)
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
    changes = diff_data(before, _current_data(workflow) if not workflow.is_completed() else spiff_task.data)
    if changes:
        events.append(PendingEvent(EventType.DATA_CHANGED, {"changes": changes}, task.id))
    _save_advance(session, engine, instance, workflow, events, actor=actor, completed_spiff_id=task.spiff_task_id)
    return instance


def fire_due_timers(session: Session, engine: ProcessEngine, instance_id: int) -> list[dict[str, Any]]:
    """Advance one instance whose timers are due (the worker calls this inside its own transaction)."""
    instance = lock_instance(session, instance_id)
    if instance.status != InstanceStatus.RUNNING:
        return []
    workflow = engine.load(instance)
    waiting_before = waiting_timer_tasks(workflow)
    before = _current_data(workflow)
    engine.run_engine_steps(workflow)
    fired = fired_timers(workflow, waiting_before)
    events = [PendingEvent(EventType.TIMER_FIRED, item) for item in fired]
    changes = diff_data(before, _current_data(workflow))
    if changes:
        events.append(PendingEvent(EventType.DATA_CHANGED, {"changes": changes}))
    _save_advance(session, engine, instance, workflow, events, actor=None)
    return fired


def can_cancel(session: Session, user: User, instance: ProcessInstance) -> bool:
    return holds_role_over(_role_units(user), Role.ADMIN, _unit_chain(session, instance.unit_id))


def cancel_instance(
    session: Session, engine: ProcessEngine, *, actor: User | None, instance_id: int, reason: str
) -> ProcessInstance:
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("a reason is required to cancel", [Problem("a reason is required", field="reason")])
    instance = lock_instance(session, instance_id)
    if actor is not None and not can_cancel(session, actor, instance):
        raise NotAllowed("only an administrator may cancel a procedure")
    if instance.status != InstanceStatus.RUNNING:
        raise Conflict(f"the procedure is already {instance.status}")
    workflow = engine.load(instance)
    workflow.cancel()
    events = sync_human_tasks(session, instance, [], lane_rules=engine.lane_rules, actor=actor)
    instance.state = engine.dump(workflow)
    instance.status = InstanceStatus.CANCELLED
    instance.ended_dt = utcnow_naive()
    instance.next_timer_at = None
    instance.cancel_reason = reason
    events.append(PendingEvent(EventType.INSTANCE_CANCELLED, {"reason": reason}))
    session.flush()
    append_events(session, instance_chain(instance.id), events, actor=actor, instance_id=instance.id)
    return instance


def record_failure(session: Session, *, actor: User | None, instance_id: int, error: ScriptFailure) -> None:
    """After a rollback: note the failure on the instance and in its audit chain (its own small transaction)."""
    instance = lock_instance(session, instance_id)
    instance.last_error = str(error)
    session.flush()
    append_event(
        session,
        instance_chain(instance_id),
        EventType.ERROR,
        {"message": error.message, "element_id": error.element_id, "line": error.line, "details": error.details},
        actor=actor,
        instance_id=instance_id,
    )


def count_open_tasks(session: Session, instance_id: int) -> int:
    return (
        session.scalar(
            select(func.count()).where(HumanTask.instance_id == instance_id, HumanTask.status == TaskStatus.OPEN)
        )
        or 0
    )
