"""The lists people export besides cadre records: tasks, evaluation results, audit events (Vietnamese headers)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from workflows.models import AuditEvent, HumanTask
from workflows.registry.models import Cadre, EvaluationResult, OrgUnit, User
from workflows.registry.tabular import Column

TASK_COLUMNS = [
    Column("id", "Mã công việc", "int"),
    Column("reference", "Hồ sơ quy trình", "text"),
    Column("process_name", "Quy trình", "text"),
    Column("name", "Bước", "text"),
    Column("subject", "Cán bộ", "text"),
    Column("unit", "Đơn vị", "text"),
    Column("assignee", "Người xử lý", "text"),
    Column("status", "Trạng thái", "text"),
    Column("opened", "Ngày giao", "text"),
    Column("due", "Hạn xử lý", "text"),
    Column("closed", "Ngày hoàn thành", "text"),
]

EVALUATION_COLUMNS = [
    Column("code", "Mã cán bộ", "text"),
    Column("full_name", "Họ và tên", "text"),
    Column("unit", "Đơn vị", "text"),
    Column("period_kind", "Loại kỳ", "text"),
    Column("period", "Kỳ đánh giá", "text"),
    Column("score", "Điểm", "text"),
    Column("grade", "Xếp loại", "text"),
]

AUDIT_COLUMNS = [
    Column("id", "Mã sự kiện", "int"),
    Column("chain_key", "Chuỗi", "text"),
    Column("seq", "Thứ tự", "int"),
    Column("occurred", "Thời điểm (UTC)", "text"),
    Column("actor", "Người thực hiện", "text"),
    Column("event_type", "Loại sự kiện", "text"),
    Column("payload", "Nội dung", "text"),
    Column("hash", "Mã băm", "text"),
]


def _when(value: Any) -> str | None:
    return value.strftime("%d/%m/%Y %H:%M") if value is not None else None


def task_records(session: Session, status: str | None = None) -> Iterator[dict[str, Any]]:
    subject, unit, assignee = aliased(Cadre), aliased(OrgUnit), aliased(User)
    query = (
        select(HumanTask, subject.full_name, unit.name, assignee.username)
        .outerjoin(subject, HumanTask.subject_cadre_id == subject.id)
        .outerjoin(unit, HumanTask.unit_id == unit.id)
        .outerjoin(assignee, HumanTask.assignee_id == assignee.id)
        .order_by(HumanTask.id)
    )
    if status:
        query = query.where(HumanTask.status == status)
    for task, subject_name, unit_name, assignee_name in session.execute(query.execution_options(yield_per=2000)):
        yield {
            "id": task.id,
            "reference": f"{task.process_id}#{task.instance_id}",
            "process_name": task.process_name,
            "name": task.name,
            "subject": subject_name,
            "unit": unit_name,
            "assignee": assignee_name or (f"{task.candidate_role}" if task.candidate_role else None),
            "status": task.status,
            "opened": _when(task.opened_dt),
            "due": _when(task.due_dt),
            "closed": _when(task.closed_dt),
        }


def evaluation_records(session: Session, period: str | None = None) -> Iterator[dict[str, Any]]:
    query = (
        select(EvaluationResult, Cadre.code, Cadre.full_name, OrgUnit.name)
        .join(Cadre, EvaluationResult.cadre_id == Cadre.id)
        .join(OrgUnit, Cadre.unit_id == OrgUnit.id)
        .order_by(EvaluationResult.period, Cadre.code)
    )
    if period:
        query = query.where(EvaluationResult.period == period)
    for result, code, full_name, unit_name in session.execute(query):
        yield {
            "code": code,
            "full_name": full_name,
            "unit": unit_name,
            "period_kind": result.period_kind,
            "period": result.period,
            "score": None if result.score is None else f"{result.score:.2f}",
            "grade": result.grade,
        }


def audit_records(session: Session, chain_key: str | None = None) -> Iterator[dict[str, Any]]:
    query = select(AuditEvent).order_by(AuditEvent.chain_key, AuditEvent.seq)
    if chain_key:
        query = query.where(AuditEvent.chain_key == chain_key)
    for event in session.scalars(query.execution_options(yield_per=2000)):
        yield {
            "id": event.id,
            "chain_key": event.chain_key,
            "seq": event.seq,
            "occurred": event.occurred_dt.isoformat(),
            "actor": event.actor_name,
            "event_type": event.event_type,
            "payload": event.payload,
            "hash": event.hash,
        }
