"""JSON representations of what the API returns; `webapp/api/openapi.py` describes the same shapes.

Times are stored as naive UTC and leave as ISO 8601 with a `Z`, so no client has to guess the zone.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _

from workflows.audit import ChainBreak, VerifyReport
from workflows.deployment.operations import DeployResult
from workflows.errors import Problem
from workflows.models import AuditEvent, HumanTask, ProcessInstance, ProcessVersion
from workflows.registry.models import Cadre, OrgUnit, User
from workflows.states import TaskStatus
from workflows.tasks import TaskView


def utc(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds") + "Z"


def _plain_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc(value) if value.tzinfo is None else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


def plain(value: Any) -> Any:
    """Process data may hold values scripts made (dates, sets, decimals): give clients JSON they can parse."""
    return json.loads(json.dumps(value, default=_plain_default))


def ref(obj: Cadre | OrgUnit | None) -> dict[str, str] | None:
    if obj is None:
        return None
    return {"code": obj.code, "name": obj.full_name if isinstance(obj, Cadre) else obj.name}


def problem(item: Problem) -> dict[str, Any]:
    return {
        "field": item.field,
        "message": _(item.message),
        "file": item.filename,
        "line": item.line,
        "element": item.element_id,
    }


def error(status: int, message: str, problems: list[Problem] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": message, "status": status}
    if problems:
        body["problems"] = [problem(p) for p in problems]
    return body


def me(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "full_name": user.full_name,
        "unit": ref(user.unit),
        "cadre": ref(user.cadre),
        "roles": [{"role": a.role, "unit": ref(a.unit)} for a in user.role_assignments],
        "locale": user.locale,
    }


def task_summary(task: HumanTask, subject: Cadre | None, unit: OrgUnit | None, now: datetime) -> dict[str, Any]:
    return {
        "id": task.id,
        "name": task.name,
        "task_key": task.task_key,
        "process_id": task.process_id,
        "process_name": task.process_name,
        "instance_id": task.instance_id,
        "subject": ref(subject),
        "unit": ref(unit),
        "due": utc(task.due_dt),
        "overdue": task.status == TaskStatus.OPEN and task.due_dt is not None and task.due_dt < now,
        "assignee_id": task.assignee_id,
    }


def task_detail(view: TaskView, now: datetime) -> dict[str, Any]:
    task, instance = view.task, view.instance
    return {
        **task_summary(task, instance.subject, instance.unit, now),
        "status": task.status,
        "lane": task.lane,
        "candidate_role": task.candidate_role,
        "process_version": view.definition.version,
        "opened": utc(task.opened_dt),
        "closed": utc(task.closed_dt),
        "can_act": view.can_act,
        "instructions": view.instructions,
        "form_schema": plain(view.schema) if view.schema is not None else None,
        "context": plain(view.context),
    }


def instance(found: ProcessInstance, started_by: User | None) -> dict[str, Any]:
    return {
        "id": found.id,
        "reference": found.reference,
        "process_id": found.process_id,
        "process_name": found.process_version.name,
        "version": found.process_version.version,
        "status": found.status,
        "subject": ref(found.subject),
        "unit": ref(found.unit),
        "started_by": started_by.username if started_by is not None else None,
        "started": utc(found.started_dt),
        "ended": utc(found.ended_dt),
        "cancel_reason": found.cancel_reason,
    }


def instance_with_tasks(
    found: ProcessInstance, started_by: User | None, tasks: list[HumanTask], now: datetime
) -> dict[str, Any]:
    return {
        "instance": instance(found, started_by),
        "open_tasks": [task_summary(t, found.subject, found.unit, now) for t in tasks],
    }


def history(instance_id: int, events: list[AuditEvent], intact: bool) -> dict[str, Any]:
    return {
        "instance_id": instance_id,
        "intact": intact,
        "events": [
            {
                "seq": e.seq,
                "type": e.event_type,
                "actor": e.actor_name,
                "time": utc(e.occurred_dt),
                "task_id": e.human_task_id,
                "payload": json.loads(e.payload),
            }
            for e in events
        ],
    }


def processes(versions: list[tuple[ProcessVersion, list[int]]]) -> dict[str, Any]:
    return {
        "items": [
            {
                "process_id": latest.process_id,
                "name": latest.name,
                "version": latest.version,
                "versions": numbers,
                "deployed": utc(latest.deployed_dt),
            }
            for latest, numbers in versions
        ]
    }


def deployed(results: list[DeployResult]) -> dict[str, Any]:
    return {"deployed": [{"process_id": r.process_id, "version": r.version, "created": r.created} for r in results]}


def _chain_break(item: ChainBreak) -> dict[str, Any]:
    return {"chain": item.chain_key, "seq": item.seq, "event_id": item.event_id, "reason": item.reason}


def verify_report(report: VerifyReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "chains": report.chains,
        "events": report.events,
        "breaks": [_chain_break(b) for b in report.breaks],
    }
