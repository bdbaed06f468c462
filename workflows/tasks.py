"""Reading a task for the person about to work on it: its form, instructions, the data it shows, drafts."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm import Session, aliased, joinedload

from workflows.access import ancestry, role_units, sees_task
from workflows.assignment import can_act_on_task, chain_of, holds_role_over
from workflows.clock import utcnow_naive
from workflows.engine.runtime import Definition, ProcessEngine
from workflows.errors import NotAllowed, NotFound
from workflows.models import AuditEvent, HumanTask, ProcessInstance, TaskDraft
from workflows.prepared import server_prepared
from workflows.registry.models import OrgUnit, User
from workflows.states import EventType, TaskStatus

# Keys a model may keep in task data for its own bookkeeping; not shown to people.
HIDDEN_PREFIXES = ("_",)


@dataclass(frozen=True)
class DraftOrigin:
    """Who saved a draft that was handed on with its task, and when (UTC)."""

    saved_by_name: str
    saved_dt: datetime


@dataclass
class TaskView:
    task: HumanTask
    instance: ProcessInstance
    definition: Definition
    schema: dict[str, Any] | None
    instructions: str | None
    context: dict[str, Any]  # the process data this task sees, read-only
    can_act: bool
    draft: dict[str, Any] | None
    # A draft that came with the task from the person who held it before (decision 0084): who saved it, and when.
    draft_origin: DraftOrigin | None = None
    # A completed task: what was submitted (`submitted_data`); None for an open or cancelled one.
    submitted: dict[str, Any] | None = None


def can_act(session: Session, user: User, task: HumanTask) -> bool:
    return task.status == TaskStatus.OPEN and can_act_on_task(
        user.id,
        role_units(user),
        task,
        ancestry(session, task.candidate_unit_id),
        user_cadre_id=user.cadre_id,
        subject_cadre_id=task.subject_cadre_id,
    )


def taken_by_another(session: Session, user: User, task: HumanTask) -> bool:
    """An open group task this user is a candidate for, now held by someone else (taken, or given to them): a page
    the user opened before that offered them the form. Not so for a task that was never theirs to act on."""
    if task.status != TaskStatus.OPEN or task.assignee_id is None or task.assignee_id == user.id:
        return False
    if task.candidate_role is None or task.candidate_unit_id is None:
        return False
    return holds_role_over(role_units(user), task.candidate_role, ancestry(session, task.candidate_unit_id))


def can_view(session: Session, user: User, task: HumanTask) -> bool:
    """`access.sees_task`, reading each unit's ancestry only when the answer still depends on it."""
    if task.assignee_id == user.id or task.closed_by_id == user.id or can_act(session, user, task):
        return True
    return sees_task(user.id, role_units(user), task, [], ancestry(session, task.unit_id))


_candidate_unit = aliased(OrgUnit)
_task_unit = aliased(OrgUnit)
# What `can_view` reads, with both units' paths, in one statement built once (the API asks it before every action).
_VISIBILITY_FACTS = server_prepared(
    select(
        HumanTask.instance_id,
        HumanTask.status,
        HumanTask.assignee_id,
        HumanTask.closed_by_id,
        HumanTask.candidate_role,
        HumanTask.candidate_unit_id,
        HumanTask.unit_id,
        _candidate_unit.path.label("candidate_unit_path"),
        _task_unit.path.label("unit_path"),
    )
    .outerjoin(_candidate_unit, HumanTask.candidate_unit_id == _candidate_unit.id)
    .outerjoin(_task_unit, HumanTask.unit_id == _task_unit.id)
    .where(HumanTask.id == bindparam("task_id"))
)


def visible_task_instance(session: Session, user: User, task_id: int) -> int | None:
    """The instance of the task when `can_view` would allow the user to see it, else None — the same rule in one
    statement, without loading the task as an ORM object (the service locks and reads it again)."""
    facts = session.execute(_VISIBILITY_FACTS, {"task_id": task_id}).one_or_none()
    if facts is None:
        return None
    candidate_chain = chain_of(facts.candidate_unit_id, facts.candidate_unit_path)
    chain = chain_of(facts.unit_id, facts.unit_path)
    return int(facts.instance_id) if sees_task(user.id, role_units(user), facts, candidate_chain, chain) else None


def load_task_view(
    session: Session, engine: ProcessEngine, user: User, task_id: int, *, with_process_data: bool = True
) -> TaskView:
    """Everything the task page shows. NotFound also when the task is outside the user's scope.

    `with_process_data=False` leaves out what only the page shows besides the form — the instructions, the process
    data and the person's draft — and so the deserialisation of the workflow: a posted form needs them only when
    it is shown again (`add_process_data`)."""
    instance_load = joinedload(HumanTask.instance)
    if not with_process_data:
        instance_load = instance_load.defer(ProcessInstance.state)  # the workflow itself: tens of kilobytes
    task = session.get(HumanTask, task_id, options=[instance_load])
    if task is None or not can_view(session, user, task):
        raise NotFound(f"task {task_id} does not exist")
    instance = task.instance
    definition = engine.definition(session, instance.process_version_id)
    view = TaskView(
        task=task,
        instance=instance,
        definition=definition,
        schema=definition.form_schema(task.form_filename),
        instructions=None,
        context={},
        can_act=can_act(session, user, task),
        draft=None,
    )
    return add_process_data(session, engine, user, view) if with_process_data else view


def add_process_data(session: Session, engine: ProcessEngine, user: User, view: TaskView) -> TaskView:
    """The view with the task's instructions, the process data it sees and the user's draft."""
    instructions, context, submitted = None, {}, None
    # An open task shows the process data it sees; a closed one none, as before (the API's task detail returns it),
    # but a completed one what was submitted. A cancelled one had nothing submitted: the workflow is not read.
    if view.task.status in (TaskStatus.OPEN, TaskStatus.COMPLETED):
        workflow = engine.load(view.definition, view.instance)
        spiff_task = workflow.get_task_from_id(UUID(view.task.spiff_task_id))
        if spiff_task is not None:
            data = {k: v for k, v in spiff_task.data.items() if not k.startswith(HIDDEN_PREFIXES)}
            if view.task.status == TaskStatus.OPEN:
                extensions = getattr(spiff_task.task_spec, "extensions", None) or {}
                instructions = extensions.get("instructionsForEndUser") or spiff_task.task_spec.documentation
                context = data
            else:
                submitted = submitted_data(session, view, data)
    # A closed task has no draft: it went in the statement that closed the task (decision 0085).
    draft, origin = own_draft(session, user, view.task.id) if view.task.status == TaskStatus.OPEN else (None, None)
    return replace(
        view, instructions=instructions, context=context, draft=draft, draft_origin=origin, submitted=submitted
    )


def own_draft(session: Session, user: User, task_id: int) -> tuple[dict[str, Any] | None, DraftOrigin | None]:
    """The person's draft of the task — theirs since they saved it or since the task came to them with it — and,
    for one that came with the task, who saved it and when."""
    row = session.execute(
        select(TaskDraft.data, TaskDraft.saved_dt, User.full_name)
        .outerjoin(User, User.id == TaskDraft.saved_by_id)
        .where(TaskDraft.human_task_id == task_id, TaskDraft.user_id == user.id)
    ).one_or_none()
    if row is None:
        return None, None
    origin = DraftOrigin(row.full_name, row.saved_dt) if row.full_name is not None else None
    return row.data, origin


def submitted_data(session: Session, view: TaskView, task_data: dict[str, Any]) -> dict[str, Any]:
    """What was submitted on a completed task, read from the engine's own completed task.

    Why this source: the task_completed audit event names the fields submitted but, on purpose, not their values
    (the chain is exported to inspectors); data_changed holds only what differed from before, across the whole
    branch; the human_tasks row holds no data. SpiffWorkflow keeps every completed task in the stored state, with
    its data as it was when it ran (the data before plus the submission, after the model's hook), and a loop — a
    request returned and sent again — makes a new task each round, so each round keeps its own answer. The event's
    field list then picks the submission out of that data (a field can also hold a value from an earlier step);
    without the event, the form's fields do."""
    payload = session.scalar(
        select(AuditEvent.payload)
        .where(
            AuditEvent.instance_id == view.instance.id,
            AuditEvent.human_task_id == view.task.id,
            AuditEvent.event_type == EventType.TASK_COMPLETED,
        )
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    )
    fields: list[str] | None = None
    if payload:
        recorded = json.loads(payload).get("fields")
        if isinstance(recorded, list):
            fields = [str(name) for name in recorded]
    if fields is None:
        fields = list(((view.schema or {}).get("properties") or {}).keys())
    return {name: task_data[name] for name in fields if name in task_data}


def save_draft(session: Session, user: User, task: HumanTask, data: dict[str, Any]) -> None:
    """Store the person's draft of the task, replacing the task's draft (one per task).

    The task's row is read again and locked first, as a hand-on locks it (`operations.reassign_task`): a save racing
    a hand-on either lands before it, and goes with the task, or sees the task gone and is refused — it never
    writes a draft for someone the task has just left (decision 0084)."""
    session.execute(select(HumanTask.id).where(HumanTask.id == task.id).with_for_update())
    session.expire(task, ["status", "assignee_id", "candidate_role", "candidate_unit_id"])  # read after the lock
    if not can_act(session, user, task):
        raise NotAllowed("you may not work on this task")
    existing = session.get(TaskDraft, task.id)
    if existing is not None and existing.user_id != user.id:
        session.delete(existing)
        session.flush()
        existing = None
    if existing is None:
        session.add(TaskDraft(human_task_id=task.id, user_id=user.id, data=data, saved_dt=utcnow_naive()))
    else:
        existing.data = data
        existing.saved_by_id = None  # saved by its holder: theirs now, whoever saved what it replaces
        existing.saved_dt = utcnow_naive()
    session.flush()


def hand_draft_on(session: Session, task_id: int, receiver_id: int) -> int | None:
    """The task's draft goes to the person the task is handed to (decision 0084), inside the hand-on's locked
    transaction: the previous holder no longer sees it, the receiver finds the form as it was left. Returns who saved
    it — kept on the draft to tell the receiver — or None when no draft moved (none, or the receiver's own)."""
    row = session.execute(
        select(TaskDraft.user_id, TaskDraft.saved_by_id).where(TaskDraft.human_task_id == task_id)
    ).one_or_none()
    if row is None or row.user_id == receiver_id:
        return None
    saved_by = int(row.saved_by_id if row.saved_by_id is not None else row.user_id)
    session.execute(
        update(TaskDraft)
        .where(TaskDraft.human_task_id == task_id)
        .values(user_id=receiver_id, saved_by_id=None if saved_by == receiver_id else saved_by)
        .execution_options(synchronize_session="fetch")
    )
    return saved_by


def discard_own_draft(session: Session, user: User, task_id: int) -> None:
    """The person's own draft of the task ("Discard the draft"): never one that is now someone else's."""
    session.execute(delete(TaskDraft).where(TaskDraft.human_task_id == task_id, TaskDraft.user_id == user.id))
