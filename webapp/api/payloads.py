"""JSON representations of what the API returns; `webapp/api/openapi.py` describes the same shapes.

Times are stored as naive UTC and leave as ISO 8601 with a `Z`, so no client has to guess the zone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Row

from webapp.http import problem_text
from workflows.audit import ChainBreak, VerifyReport
from workflows.deployment.operations import DeployResult, RollbackResult
from workflows.engine.store import InstanceSnapshot
from workflows.errors import Problem
from workflows.instances import InstanceVariables
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
        "message": problem_text(item),
        "file": item.filename,
        "line": item.line,
        "column": item.column,
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
    return _task_summary(task, task.instance_id, ref(subject), ref(unit), now)


def task_list_item(
    task: HumanTask, subject: Cadre | None, unit: OrgUnit | None, reopened: bool, now: datetime
) -> dict[str, Any]:
    """A row of the task list: the summary, and whether the step was done before in this case (returned for changes),
    as the inbox page marks it."""
    return {**task_summary(task, subject, unit, now), "reopened": reopened}


def _task_summary(
    task: Any, instance_id: int, subject: dict[str, str] | None, unit: dict[str, str] | None, now: datetime
) -> dict[str, Any]:
    """`task` is a HumanTask or a row with the same attribute names."""
    return {
        "id": task.id,
        "name": task.name,
        "task_key": task.task_key,
        "process_id": task.process_id,
        "process_name": task.process_name,
        "instance_id": instance_id,
        "subject": subject,
        "unit": unit,
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


def _code_and_name(code: str | None, name: str) -> dict[str, str] | None:
    return None if code is None else {"code": code, "name": name}


def instance_reply(rows: Sequence[Row[Any]], now: datetime) -> dict[str, Any]:
    """An instance and its open tasks, from `queries.instance_with_open_tasks` (one row per open task)."""
    first = rows[0]
    tasks = [
        SimpleNamespace(
            id=row.task_id,
            name=row.task_name,
            task_key=row.task_key,
            process_id=row.task_process_id,
            process_name=row.task_process_name,
            due_dt=row.due_dt,
            status=row.task_status,
            assignee_id=row.assignee_id,
        )
        for row in rows
        if row.task_id is not None
    ]
    return _instance_answer(first, first, tasks, now)


def advance_reply(instance: InstanceSnapshot, now: datetime) -> dict[str, Any]:
    """The same answer as `instance_reply`, from the snapshot of a completion that read its labels and open tasks
    (`operations.complete_task(read_open_tasks=True)`)."""
    if instance.labels is None or instance.open_tasks is None:
        raise ValueError("the snapshot was not read with its labels and open tasks")
    return _instance_answer(instance, instance.labels, instance.open_tasks, now)


def _instance_answer(instance: Any, labels: Any, tasks: Sequence[Any], now: datetime) -> dict[str, Any]:
    """`instance` has the columns of an instance row, `labels` the fields of `InstanceLabels` and each task those
    of `OpenTask`: rows of a query, or a completion's snapshot."""
    subject = _code_and_name(labels.subject_code, labels.subject_name)
    unit = _code_and_name(labels.unit_code, labels.unit_name)
    return {
        "instance": {
            "id": instance.id,
            "reference": f"{instance.process_id}#{instance.id}",  # ProcessInstance.reference
            "process_id": instance.process_id,
            "process_name": labels.process_name,
            "version": labels.version,
            "status": instance.status,
            "subject": subject,
            "unit": unit,
            "started_by": labels.started_by,
            "started": utc(instance.started_dt),
            "ended": utc(instance.ended_dt),
            "cancel_reason": instance.cancel_reason,
        },
        "open_tasks": [_task_summary(task, instance.id, subject, unit, now) for task in tasks],
    }


def instance_variables(instance: ProcessInstance, variables: InstanceVariables) -> dict[str, Any]:
    return {
        "instance_id": instance.id,
        "reference": instance.reference,
        "status": instance.status,
        "data": plain(variables.data),
        "titles": variables.titles,
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
                "withdrawn": utc(latest.retired_dt) if latest.retired_dt is not None else None,
            }
            for latest, numbers in versions
        ]
    }


def deployed(results: list[DeployResult]) -> dict[str, Any]:
    return {"deployed": [{"process_id": r.process_id, "version": r.version, "created": r.created} for r in results]}


def rolled_back(result: RollbackResult) -> dict[str, Any]:
    return {
        "process_id": result.process_id,
        "version": result.version,
        "restored_version": result.restored_version,
        "replaced_version": result.replaced_version,
        "withdrawn": result.is_withdrawn,
    }


def in_use(version: ProcessVersion) -> dict[str, Any]:
    """A procedure's latest version after it was withdrawn from use or put back in use."""
    withdrawn = version.retired_dt
    return {
        "process_id": version.process_id,
        "version": version.version,
        "withdrawn": utc(withdrawn) if withdrawn is not None else None,
        "reason": version.retired_reason,
    }


def _chain_break(item: ChainBreak) -> dict[str, Any]:
    return {"chain": item.chain_key, "seq": item.seq, "event_id": item.event_id, "reason": item.explained}


def verify_report(report: VerifyReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "chains": report.chains,
        "events": report.events,
        "breaks": [_chain_break(b) for b in report.breaks],
    }
