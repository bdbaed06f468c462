"""The weekly digest of overdue work for the leaders of a unit (decision 0066): the worker loop's call.

Overdue notices (`workflows.notifications`) go to whoever may act on a task; nothing told a unit's leaders what is
late in their unit. Once a week (`rules.overdue_digest.week_run`) every active user holding a leading role —
supervisor (lãnh đạo trực tiếp) or head (thủ trưởng) — gets one notification counting the open tasks past their
deadline in the unit where the role is held and every unit below it, and listing the longest overdue. A leader
with nothing overdue in scope gets nothing. The rows are e-mailed by `send_pending_emails` like every other.

Once a week, however many workers: a worker cursor holds the week last done (the ordinal of its run's local date).
It is locked, moved and the notifications written in one transaction, so a second worker, or the same one polling
again, finds the week done. Three statements whatever the size of the province: the overdue tasks with their unit's
path, the leaders' role assignments, and one multi-row insert; who sees which task is decided in Python on the
units' paths.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, tzinfo
from typing import cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session, sessionmaker

from workflows import clock
from workflows.assignment import unit_chain
from workflows.db import is_sqlite, transaction
from workflows.models import HumanTask, Notification, WorkerCursor
from workflows.notifications import PENDING, ensure_cursor
from workflows.registry.models import OrgUnit, RoleAssignment, User
from workflows.rules.overdue_digest import DEFAULT_SCHEDULE, DigestSchedule, OverdueTask, digest_text, week_run
from workflows.states import Role, TaskStatus

__all__ = ["CURSOR_NAME", "LEADING_ROLES", "OVERDUE_DIGEST", "notify_overdue_weekly"]

OVERDUE_DIGEST = "overdue_digest"  # the notification's kind: no task, no instance
CURSOR_NAME = "overdue_digest_week"

# The roles that lead a unit and the units below it (workflows.assignment: the lanes "Lãnh đạo trực tiếp" and
# "Thủ trưởng đơn vị"). Personnel, auditors and administrators oversee procedures but lead no unit's work.
LEADING_ROLES = (Role.SUPERVISOR, Role.HEAD)

_notifications = cast(Table, Notification.__table__)


def notify_overdue_weekly(
    session_factory: sessionmaker[Session], *, zone: tzinfo, schedule: DigestSchedule = DEFAULT_SCHEDULE
) -> int:
    """Send this week's digests if their time has come and no worker sent them yet; how many were created."""
    now = clock.utcnow_naive()
    mark = week_run(now, zone, schedule)[0].toordinal()
    with session_factory() as session:  # the cheap read every poll; the write lock only once a week
        done = session.get(WorkerCursor, CURSOR_NAME)
        if done is not None and done.position >= mark:
            return 0
    ensure_cursor(session_factory, CURSOR_NAME)
    with session_factory() as session, transaction(session):
        query = select(WorkerCursor).where(WorkerCursor.name == CURSOR_NAME)
        if not is_sqlite(session):  # SQLite: BEGIN IMMEDIATE already made this the only writer
            query = query.with_for_update()
        cursor = session.scalars(query).one()
        if cursor.position >= mark:
            return 0
        cursor.position = mark
        cursor.updated_dt = now
        rows = [
            {
                "user_id": user_id,
                "kind": OVERDUE_DIGEST,
                "instance_id": None,
                "human_task_id": None,
                "title": title,
                "body": body,
                "created_dt": now,
                "email_status": PENDING,
                "email_attempts": 0,
            }
            for user_id, (title, body) in sorted(_digests(session, now).items())
        ]
        if rows:
            session.execute(insert(_notifications), rows)
        return len(rows)


def _digests(session: Session, now: datetime) -> dict[int, tuple[str, str]]:
    """Title and body per leader with anything overdue in scope."""
    overdue = session.execute(
        select(
            HumanTask.id,
            HumanTask.name,
            User.full_name,
            HumanTask.process_name,
            HumanTask.instance_id,
            HumanTask.due_dt,
            HumanTask.unit_id,
            OrgUnit.path,
        )
        .join(OrgUnit, OrgUnit.id == HumanTask.unit_id)
        .outerjoin(User, User.id == HumanTask.assignee_id)
        .where(HumanTask.status == TaskStatus.OPEN, HumanTask.due_dt < now)
    ).all()
    if not overdue:
        return {}
    leaders: dict[int, set[int]] = defaultdict(set)  # unit id → users leading it
    for user_id, unit_id in session.execute(
        select(RoleAssignment.user_id, RoleAssignment.unit_id)
        .join(User, User.id == RoleAssignment.user_id)
        .where(User.is_active, RoleAssignment.role.in_(LEADING_ROLES))
    ).tuples():
        leaders[unit_id].add(user_id)
    in_scope: dict[int, dict[int, OverdueTask]] = defaultdict(dict)  # user id → task id → task
    for task_id, name, person, process_name, instance_id, due_dt, unit_id, path in overdue:
        task = OverdueTask(task_id, name, person, process_name, instance_id, due_dt)
        for unit in unit_chain(path, unit_id):
            for user_id in leaders.get(unit, ()):
                in_scope[user_id][task_id] = task
    return {user_id: digest_text(list(tasks.values()), now) for user_id, tasks in in_scope.items()}
