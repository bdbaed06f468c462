"""What /metrics and /healthz read from the database: the same figures on every app host, whichever one is asked.

Each figure is one indexed query (open tasks by status, due timers by (status, next_timer_at), heartbeats), so a
scrape every 15 s costs a few milliseconds even with millions of rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows.models import HumanTask, Notification, ProcessInstance
from workflows.notifications import FAILED, PENDING
from workflows.production.heartbeat import FORGET_AFTER, heartbeats
from workflows.states import InstanceStatus, TaskStatus


@dataclass(frozen=True)
class WorkerFigure:
    worker_id: str
    age_seconds: float
    jobs: int
    beat_dt: datetime


@dataclass
class Figures:
    open_tasks_by_process: dict[str, int] = field(default_factory=dict)
    overdue_tasks: int = 0
    due_timers: int = 0
    # How long the oldest due timer has been waiting for a worker (0 when none is due).
    timer_lag_seconds: float = 0.0
    workers: list[WorkerFigure] = field(default_factory=list)
    # E-mail of notifications: waiting to be sent (SMTP unset: all of them wait), of those the ones whose sending
    # failed at least once and will be retried, the age of the oldest waiting, and those given up on (decision 0108).
    emails_pending: int = 0
    emails_retrying: int = 0
    email_oldest_pending_seconds: float = 0.0
    emails_failed: int = 0

    def freshest_worker_age(self) -> float | None:
        return min((w.age_seconds for w in self.workers), default=None)


def read_figures(session: Session, now: datetime, worker_forget_after: timedelta = FORGET_AFTER) -> Figures:
    figures = Figures()
    open_rows = session.execute(
        select(HumanTask.process_id, func.count())
        .where(HumanTask.status == TaskStatus.OPEN)
        .group_by(HumanTask.process_id)
        .order_by(HumanTask.process_id)
    )
    figures.open_tasks_by_process = {process_id: count for process_id, count in open_rows}
    figures.overdue_tasks = (
        session.scalar(
            select(func.count())
            .select_from(HumanTask)
            .where(HumanTask.status == TaskStatus.OPEN, HumanTask.due_dt < now)
        )
        or 0
    )
    due_count, oldest_due = session.execute(
        select(func.count(), func.min(ProcessInstance.next_timer_at)).where(
            ProcessInstance.status == InstanceStatus.RUNNING, ProcessInstance.next_timer_at <= now
        )
    ).one()
    figures.due_timers = due_count or 0
    figures.timer_lag_seconds = _seconds(now - oldest_due) if oldest_due is not None else 0.0
    pending, oldest, retrying = session.execute(
        select(func.count(), func.min(Notification.created_dt), func.count(Notification.email_error)).where(
            Notification.email_status == PENDING
        )
    ).one()
    figures.emails_pending, figures.emails_retrying = pending or 0, retrying or 0
    figures.email_oldest_pending_seconds = _seconds(now - oldest) if oldest is not None else 0.0
    figures.emails_failed = (
        session.scalar(select(func.count()).select_from(Notification).where(Notification.email_status == FAILED)) or 0
    )
    figures.workers = [
        WorkerFigure(row.worker_id, _seconds(now - row.beat_dt), row.jobs, row.beat_dt)
        for row in heartbeats(session, now, worker_forget_after)
    ]
    return figures


def _seconds(delta: timedelta) -> float:
    return max(delta.total_seconds(), 0.0)
