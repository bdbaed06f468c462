"""Keep the inbox (human_tasks) in step with the READY user tasks of a workflow, inside the advance's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.assignment import LaneRule, resolve_assignment
from workflows.audit import PendingEvent
from workflows.clock import utcnow_naive
from workflows.engine.runtime import ReadyUserTask
from workflows.models import HumanTask, ProcessInstance
from workflows.registry.models import User
from workflows.states import EventType, TaskStatus


def sync_human_tasks(
    session: Session,
    instance: ProcessInstance,
    ready: list[ReadyUserTask],
    *,
    lane_rules: Mapping[str, LaneRule],
    completed_spiff_id: str | None = None,
    actor: User | None = None,
    is_new_instance: bool = False,
) -> list[PendingEvent]:
    """Close rows whose task is no longer READY, open rows for newly READY tasks; return their audit events."""
    events: list[PendingEvent] = []
    now = utcnow_naive()
    ready_by_id = {task.spiff_task_id: task for task in ready}
    open_rows: list[HumanTask] = []
    if not is_new_instance:
        open_rows = list(
            session.scalars(
                select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.status == TaskStatus.OPEN)
            )
        )
    for row in open_rows:
        if row.spiff_task_id in ready_by_id:
            ready_by_id.pop(row.spiff_task_id)
            continue
        row.closed_dt = now
        if row.spiff_task_id == completed_spiff_id:
            row.status = TaskStatus.COMPLETED
            row.closed_by_id = actor.id if actor is not None else None
        else:
            row.status = TaskStatus.CANCELLED
            events.append(PendingEvent(EventType.TASK_CANCELLED, _task_payload(row), row.id))

    new_rows = []
    for task in ready_by_id.values():
        assignment = resolve_assignment(session, instance, task.lane, task.properties, lane_rules)
        row = HumanTask(
            instance_id=instance.id,
            spiff_task_id=task.spiff_task_id,
            task_key=task.task_key,
            name=task.name,
            lane=task.lane,
            form_filename=task.form_filename,
            process_id=instance.process_id,
            process_name=instance.process_version.name,
            subject_cadre_id=instance.subject_cadre_id,
            unit_id=instance.unit_id,
            candidate_role=assignment.candidate_role,
            candidate_unit_id=assignment.candidate_unit_id,
            assignee_id=assignment.assignee_id,
            due_dt=task.due_dt,
            status=TaskStatus.OPEN,
            opened_dt=now,
            assignment_problem=assignment.problem,
        )
        session.add(row)
        new_rows.append(row)
    if new_rows:
        session.flush(new_rows)
    for row in new_rows:
        payload = _task_payload(row)
        payload.update(
            assignee_id=row.assignee_id,
            candidate_role=row.candidate_role,
            candidate_unit_id=row.candidate_unit_id,
            due_dt=row.due_dt,
        )
        if row.assignment_problem:
            payload["assignment_problem"] = row.assignment_problem
        events.append(PendingEvent(EventType.TASK_OPENED, payload, row.id))
    return events


def _task_payload(row: HumanTask) -> dict[str, Any]:
    return {"task_key": row.task_key, "name": row.name, "lane": row.lane}


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
