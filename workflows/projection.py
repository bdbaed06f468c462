"""Keep the inbox (human_tasks) in step with the READY user tasks of a workflow, inside the advance's transaction.

This is the hot path of every task completion, so it speaks SQL directly: one SELECT of the open rows, at most
one UPDATE per closing reason and one multi-row INSERT.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import Table, update
from sqlalchemy.orm import Session

from workflows.assignment import AssignmentContext, LaneRule, resolve_assignment
from workflows.audit import PendingEvent
from workflows.clock import utcnow_naive
from workflows.engine.runtime import Definition, ReadyUserTask
from workflows.engine.store import AdvanceWrites, InstanceSnapshot, TaskSnapshot, open_task_rows
from workflows.models import HumanTask
from workflows.registry.models import User
from workflows.states import EventType, TaskStatus

_tasks = cast(Table, HumanTask.__table__)


def sync_human_tasks(
    session: Session,
    context: AssignmentContext,
    instance: InstanceSnapshot,
    definition: Definition,
    *,
    ready_before: set[str],
    ready_after: list[ReadyUserTask],
    lane_rules: Mapping[str, LaneRule],
    completed: TaskSnapshot | None = None,
    actor: User | None = None,
    writes: AdvanceWrites | None = None,
) -> list[PendingEvent]:
    """Close the rows of tasks that stopped being READY, open rows for tasks that became READY.

    The open rows of an instance are, by construction, exactly the READY user tasks of its stored state, so
    `ready_before` (read from the state we loaded) tells which rows exist without querying them.
    Returns the audit events of what changed; `completed` is the row the actor just completed. With `writes`,
    closing that row and opening the new ones are left there for the caller to send with the instance row.
    """
    connection = session.connection()
    events: list[PendingEvent] = []
    now = utcnow_naive()
    after_ids = {task.spiff_task_id for task in ready_after}
    if completed is not None:
        closed_by_id = actor.id if actor is not None else None
        if writes is not None:
            writes.close_task(completed.id, status=TaskStatus.COMPLETED, closed_dt=now, closed_by_id=closed_by_id)
        else:
            connection.execute(
                update(_tasks)
                .where(_tasks.c.id == completed.id)
                .values(status=TaskStatus.COMPLETED, closed_dt=now, closed_by_id=closed_by_id)
            )
    gone = ready_before - after_ids - ({completed.spiff_task_id} if completed is not None else set())
    if gone:
        cancelled = connection.execute(
            update(_tasks)
            .where(
                _tasks.c.instance_id == instance.id,
                _tasks.c.status == TaskStatus.OPEN,
                _tasks.c.spiff_task_id.in_(sorted(gone)),
            )
            .values(status=TaskStatus.CANCELLED, closed_dt=now)
            .returning(_tasks.c.id, _tasks.c.task_key, _tasks.c.name, _tasks.c.lane)
        ).all()
        events.extend(
            PendingEvent(EventType.TASK_CANCELLED, {"task_key": r.task_key, "name": r.name, "lane": r.lane}, r.id)
            for r in sorted(cancelled, key=lambda r: r.id)
        )
    new = [task for task in ready_after if task.spiff_task_id not in ready_before]
    if new:
        events.extend(_open_rows(session, context, instance, definition, new, lane_rules, now, writes))
    return events


def _open_rows(
    session: Session,
    context: AssignmentContext,
    instance: InstanceSnapshot,
    definition: Definition,
    tasks: list[ReadyUserTask],
    lane_rules: Mapping[str, LaneRule],
    now: Any,
    writes: AdvanceWrites | None,
) -> list[PendingEvent]:
    rows = []
    for task in tasks:
        assignment = resolve_assignment(context, task.lane, task.properties, lane_rules, task.assignee_hint)
        rows.append(
            {
                "instance_id": instance.id,
                "spiff_task_id": task.spiff_task_id,
                "task_key": task.task_key,
                "name": task.name,
                "lane": task.lane,
                "form_filename": task.form_filename,
                "process_id": instance.process_id,
                "process_name": definition.name,
                "subject_cadre_id": instance.subject_cadre_id,
                "unit_id": instance.unit_id,
                "candidate_role": assignment.candidate_role,
                "candidate_unit_id": assignment.candidate_unit_id,
                "assignee_id": assignment.assignee_id,
                "due_dt": task.due_dt,
                "status": TaskStatus.OPEN,
                "opened_dt": now,
                "closed_dt": None,
                "closed_by_id": None,
                "assignment_problem": "; ".join(p for p in (assignment.problem, task.problem) if p) or None,
            }
        )
    ids = open_task_rows(session, rows, writes)
    events = []
    for row_id, row in zip(ids, rows, strict=True):
        payload = {
            "task_key": row["task_key"],
            "name": row["name"],
            "lane": row["lane"],
            "assignee_id": row["assignee_id"],
            "candidate_role": row["candidate_role"],
            "candidate_unit_id": row["candidate_unit_id"],
            "due_dt": row["due_dt"],
        }
        if row["assignment_problem"]:
            payload["assignment_problem"] = row["assignment_problem"]
        events.append(PendingEvent(EventType.TASK_OPENED, payload, row_id))
    return events


def diff_data(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """{key: {"from": old, "to": new}} for every key added, removed or changed."""
    changes: dict[str, dict[str, Any]] = {}
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if key not in after:
            changes[key] = {"from": old, "removed": True}
        elif key not in before or old != new:
            changes[key] = {"from": old, "to": new}
    return changes
