"""Notifications: derived by the worker from committed audit events (the outbox), then e-mailed.

Nothing here runs in the task-completion transaction. Every advance already appends `task_opened` events; the
worker reads the append-only log past a cursor (`worker_cursors`, "notifications") and creates the in-app rows in
the same transaction that moves the cursor, so a notification exists only for committed work and none is lost if
the worker dies. Deadlines (due soon, overdue) are found by scanning the open inbox instead, since no event marks
the moment a deadline comes near.

Rules worth knowing:
- Creation is idempotent: one row per (user, kind, task), enforced by a unique constraint, so re-reading events
  is harmless. The worker relies on that to survive id gaps (see `_settled_position`).
- A `task_opened` event whose task is no longer open when the worker reaches it creates nothing: the task already
  left everybody's inbox, so the notification would only be noise.
- E-mail is sent at least once, never inside a long transaction: a row is claimed (attempt counted, retry time
  set) and committed before talking to the SMTP server, and marked after.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from ipaddress import ip_address
from typing import Any, cast
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, Table, and_, bindparam, case, func, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, sessionmaker

from workflows import clock
from workflows.assignment import unit_chain
from workflows.ballots import awaited_votes
from workflows.db import is_sqlite, transaction
from workflows.errors import NotFound
from workflows.models import (
    AuditEvent,
    BallotBox,
    BallotElector,
    Comment,
    HumanTask,
    Notification,
    ProcessInstance,
    ProcessVersion,
    WorkerCursor,
)
from workflows.prepared import server_prepared
from workflows.registry.models import Cadre, OrgUnit, RoleAssignment, User
from workflows.rules.ballots import is_own_ballot
from workflows.states import EventType, TaskStatus

log = logging.getLogger(__name__)

CURSOR_NAME = "notifications"

NEW_TASK = "new_task"
RETURNED = "returned"
DUE_SOON = "due_soon"
OVERDUE = "overdue"
REASSIGNED = "reassigned"  # a task handed to the user by personnel or an administrator (decision 0078)
BALLOT_OPENED = "ballot_opened"  # a ballot box the user is summoned to was opened (no task: the vote page)

PENDING = "pending"
SENT = "sent"
SKIPPED = "skipped"
FAILED = "failed"

# PostgreSQL hands out ids when rows are inserted, not when they commit: a gap below a committed event may be a
# transaction still in flight. The cursor waits at such a gap until the events after it are this old; a gap that
# old is a rolled-back transaction (or skipped sequence values) and will never fill.
GAP_SETTLE = timedelta(minutes=2)

# Vietnam has kept UTC+7 without daylight saving since 1975; a fixed offset avoids depending on tzdata.
DISPLAY_TZ = timezone(timedelta(hours=7))

# Round trips one delivery may need (connect, greeting, EHLO, STARTTLS, EHLO, AUTH, MAIL, RCPT, DATA, body,
# QUIT...), each bounded by the SMTP timeout: a claim must outlive the slowest delivery that still succeeds.
_LEASE_ROUND_TRIPS = 12
_MAX_BACKOFF = timedelta(hours=24)
_ERROR_LIMIT = 2000
_TITLE_LIMIT = 255
_APP_NAME = "hệ thống quản lý quy trình cán bộ"  # how the e-mails name the app

_notifications = cast(Table, Notification.__table__)


@dataclass(frozen=True)
class MailLink:
    """Where the e-mail of a notification without a task sends its reader: a path under `SmtpSettings.base_url`,
    and, for when no base URL is configured, the page named as the menu names it. Given by the web layer, which
    owns the routes."""

    label: str  # "Xem việc quá hạn theo đơn vị"
    path: str  # "/reports/targets#overdue-by-unit"
    page: str  # "trang “Chỉ tiêu”, mục “…”"


# How the web layer words a ballot box's question for a reader of a locale (the earlier conference's result, §7):
# the notice that a ballot waits for an elector carries the question as their ballot pages show it (decision 0102).
BallotQuestion = Callable[[BallotBox, str], str]


def _stored_question(box: BallotBox, locale: str) -> str:
    return box.question


@dataclass
class SmtpSettings:
    host: str
    port: int = 25
    username: str | None = None
    password: str | None = None
    use_tls: bool = False  # STARTTLS on the plain port
    sender: str = "canbo@localhost"
    timeout: float = 10.0
    base_url: str = "http://127.0.0.1:5000"  # empty: e-mails name the page to open instead of linking to it
    # EHLO name; by default the host of base_url. smtplib would otherwise ask DNS for our FQDN, unbounded by timeout.
    local_hostname: str | None = None
    # Notification kind → where its e-mail leads, for kinds about no task (a task's e-mail links to the task).
    links: Mapping[str, MailLink] = field(default_factory=dict)


@dataclass
class NotificationRun:
    created: int
    emailed: int
    failed: int  # delivery attempts that failed in this run (retried later unless max_attempts was reached)
    skipped: int  # users without an e-mail address or who opted out


# -- queries shared with the web layer -----------------------------------------------------------------------------


def recipients_for_task(
    session: Session, assignee_id: int | None, candidate_role: str | None, candidate_unit_id: int | None
) -> list[User]:
    """The assignee, or else every active user holding the role in the candidate unit or a unit above it."""
    ids = _recipient_ids(session, assignee_id, candidate_role, candidate_unit_id)
    if not ids:
        return []
    return list(session.scalars(select(User).where(User.id.in_(ids)).order_by(User.id)))


# The person's unread notifications (`user_id` bound): the menu counts them on every page.
UNREAD_COUNT = select(func.count()).where(Notification.user_id == bindparam("user_id"), Notification.read_dt.is_(None))


def mark_read(session: Session, user: User, notification_id: int) -> None:
    """Only the owner may; anyone else is told it does not exist, so ids of others' notifications leak nothing."""
    notification = session.scalar(
        select(Notification).where(Notification.id == notification_id, Notification.user_id == user.id)
    )
    if notification is None:
        raise NotFound("notification not found")
    if notification.read_dt is None:
        notification.read_dt = clock.utcnow_naive()
        session.flush()


# -- the worker ----------------------------------------------------------------------------------------------------


def run_notifications(
    session_factory: sessionmaker[Session],
    smtp: SmtpSettings | None,
    *,
    reminders: Mapping[str, timedelta] | None = None,
    ballot_question: BallotQuestion = _stored_question,
) -> NotificationRun:
    """One poll of the worker: derive new notifications, then e-mail what is pending. `reminders` gives some
    processes their own reminder lead time (the monthly evaluation's policy: days before each deadline);
    `ballot_question` words a box's question for its electors."""
    created = create_notifications(session_factory, reminders=reminders, ballot_question=ballot_question)
    mailed = send_pending_emails(session_factory, smtp)
    return NotificationRun(created=created, emailed=mailed.emailed, failed=mailed.failed, skipped=mailed.skipped)


def create_notifications(
    session_factory: sessionmaker[Session],
    *,
    batch: int = 1000,
    due_soon: timedelta = timedelta(days=1),
    reminders: Mapping[str, timedelta] | None = None,
    ballot_question: BallotQuestion = _stored_question,
) -> int:
    """Turn committed `task_opened` events into new_task/returned notifications and near or past deadlines into
    due_soon/overdue ones (due_soon: within `due_soon` of the deadline, or the process's own lead in `reminders`).
    Each batch is one transaction holding the cursor row, so concurrent workers take turns
    and never create the same rows. Returns how many notifications were created."""
    ensure_cursor(session_factory)
    created = 0
    seen = 0
    while True:
        with session_factory() as session, transaction(session):
            position = _lock_cursor(session)
            events = session.execute(
                select(AuditEvent.id, AuditEvent.event_type)
                .where(AuditEvent.id > max(position, seen))
                .order_by(AuditEvent.id)
                .limit(batch)
            ).all()
            if events:
                seen = events[-1].id
                opened = [e.id for e in events if e.event_type == EventType.TASK_OPENED]
                created += _insert_missing(session, _from_task_opened(session, opened))
                handed = [e.id for e in events if e.event_type == EventType.TASK_REASSIGNED]
                created += _insert_missing(session, _from_task_reassigned(session, handed))
                boxes = [e.id for e in events if e.event_type == BALLOT_OPENED]
                created += _insert_ballot_notices(session, _from_ballot_opened(session, boxes, ballot_question))
            new_position = _settled_position(session, position, seen)
            if new_position != position:
                session.execute(
                    update(WorkerCursor)
                    .where(WorkerCursor.name == CURSOR_NAME)
                    .values(position=new_position, updated_dt=clock.utcnow_naive())
                )
        if len(events) < batch:
            break

    after_task_id = 0
    while True:
        with session_factory() as session, transaction(session):
            _lock_cursor(session)
            candidates, last_task_id, page_size = _from_deadlines(
                session, after_task_id, batch, due_soon, reminders or {}
            )
            created += _insert_missing(session, candidates)
        if page_size < batch:
            break
        after_task_id = last_task_id
    return created


def send_pending_emails(
    session_factory: sessionmaker[Session], smtp: SmtpSettings | None, *, batch: int = 100, max_attempts: int = 5
) -> NotificationRun:
    """E-mail up to `batch` pending notifications whose retry time has come. SMTP failures are recorded on the row
    (retried after 1, 2, 4, 8 … minutes; `failed` after max_attempts), never raised. Without settings nothing is
    touched: rows wait until e-mail is configured."""
    run = NotificationRun(created=0, emailed=0, failed=0, skipped=0)
    if smtp is None:
        return run
    mailer = _Mailer(smtp)
    try:
        for _ in range(batch):
            claim = _claim_next(session_factory, smtp)
            if claim is None:
                break
            if claim.email is None:
                run.skipped += 1
                continue
            try:
                mailer.send(_build_message(smtp, claim))
            except _ServerUnavailable as unavailable:
                # Every other row would wait out the same timeout; they stay pending, their attempts unspent.
                _record_failure(session_factory, claim, unavailable.__cause__ or unavailable, max_attempts)
                run.failed += 1
                break
            except Exception as error:
                _record_failure(session_factory, claim, error, max_attempts)
                run.failed += 1
                continue
            _record_sent(session_factory, claim)
            run.emailed += 1
    finally:
        mailer.close()
    return run


# -- deriving notifications ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Candidate:
    user_id: int
    kind: str
    instance_id: int
    human_task_id: int
    title: str
    body: str


class _Recipients:
    """Recipient ids per (assignee, role, unit), looked up once per transaction: a batch often repeats a group."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._known: dict[tuple[int | None, str | None, int | None], list[int]] = {}

    def __call__(self, assignee_id: int | None, role: str | None, unit_id: int | None) -> list[int]:
        key = (assignee_id, role, unit_id)
        if key not in self._known:
            self._known[key] = _recipient_ids(self.session, assignee_id, role, unit_id)
        return self._known[key]


def _recipient_ids(session: Session, assignee_id: int | None, role: str | None, unit_id: int | None) -> list[int]:
    if assignee_id is not None:
        return list(session.scalars(select(User.id).where(User.id == assignee_id, User.is_active)))
    if role is None or unit_id is None:
        return []  # an unresolved lane: the task carries assignment_problem for an administrator instead
    path = session.scalar(select(OrgUnit.path).where(OrgUnit.id == unit_id))
    if path is None:
        return []
    return list(
        session.scalars(
            select(User.id)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(RoleAssignment.role == role, RoleAssignment.unit_id.in_(unit_chain(path, unit_id)), User.is_active)
            .distinct()
            .order_by(User.id)
        )
    )


def ensure_cursor(session_factory: sessionmaker[Session], name: str = CURSOR_NAME) -> None:
    """A worker cursor's row exists before anyone locks it: two first runs must not both insert it (the weekly
    overdue digest's cursor is made the same way)."""
    with session_factory() as session:
        if session.get(WorkerCursor, name) is not None:
            session.rollback()
            return
        session.add(WorkerCursor(name=name, position=0, updated_dt=clock.utcnow_naive()))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # another worker created it first


def _lock_cursor(session: Session) -> int:
    query = select(WorkerCursor.position).where(WorkerCursor.name == CURSOR_NAME)
    if not is_sqlite(session):  # SQLite: BEGIN IMMEDIATE already made this the only writer
        query = query.with_for_update()
    return session.execute(query).scalar_one()


def _settled_position(session: Session, position: int, upto: int) -> int:
    """How far the cursor may move: over consecutive ids, and over a gap only once the gap can no longer fill."""
    if upto <= position:
        return position
    settled_before = clock.utcnow_naive() - GAP_SETTLE
    rows = session.execute(
        select(AuditEvent.id, AuditEvent.occurred_dt)
        .where(AuditEvent.id > position, AuditEvent.id <= upto)
        .order_by(AuditEvent.id)
    ).all()
    for event_id, occurred in rows:
        if event_id != position + 1 and occurred > settled_before:
            break
        position = event_id
    return position


def _from_task_opened(session: Session, event_ids: Sequence[int]) -> list[_Candidate]:
    if not event_ids:
        return []
    events = session.execute(
        select(AuditEvent.id, AuditEvent.instance_id, AuditEvent.human_task_id, AuditEvent.actor_id, AuditEvent.payload)
        .where(AuditEvent.id.in_(event_ids))
        .order_by(AuditEvent.id)
    ).all()
    open_tasks = _open_tasks(session, [e.human_task_id for e in events if e.human_task_id is not None])
    recipients = _Recipients(session)
    candidates: list[_Candidate] = []
    for event in events:
        found = open_tasks.get(event.human_task_id) if event.human_task_id is not None else None
        if found is None:
            continue
        task, subject = found
        payload: dict[str, Any] = json.loads(event.payload)
        user_ids = recipients(
            payload.get("assignee_id"), payload.get("candidate_role"), payload.get("candidate_unit_id")
        )
        # Whoever opened the task by her own action (started the procedure, completed the step before, returned it
        # to herself) is looking at it already: a notice and an e-mail about it would only be noise. Everybody else
        # the task is for still hears of it; a task a timer opened has no actor and skips nobody (decision 0117).
        user_ids = [uid for uid in user_ids if uid != event.actor_id]
        if not user_ids:
            continue
        lines = _task_lines(task, subject)
        if _is_returned(session, event.id, task):
            kind, title = RETURNED, f"Bị trả lại để chỉnh sửa: {task.name}"
            comment = session.scalar(
                select(Comment.body)
                .where(Comment.instance_id == task.instance_id)
                .order_by(Comment.created_dt.desc(), Comment.id.desc())
                .limit(1)
            )
            if comment:
                lines.append(f"Ý kiến khi trả lại: {comment}")
        else:
            kind, title = NEW_TASK, f"Công việc mới: {task.name}"
        body = "\n".join(lines)
        candidates.extend(_Candidate(uid, kind, task.instance_id, task.id, title, body) for uid in user_ids)
    return candidates


def _open_tasks(session: Session, task_ids: Sequence[int]) -> dict[int, tuple[HumanTask, Cadre | None]]:
    """The tasks still open among these, each with the cadre its procedure is about: one read for a batch."""
    return {
        task.id: (task, subject)
        for task, subject in session.execute(
            select(HumanTask, Cadre)
            .outerjoin(Cadre, Cadre.id == HumanTask.subject_cadre_id)
            .where(HumanTask.id.in_(task_ids), HumanTask.status == TaskStatus.OPEN)
        ).tuples()
    }


def _from_task_reassigned(session: Session, event_ids: Sequence[int]) -> list[_Candidate]:
    """A task handed on tells its new holder, as a new task does — unless it has left them since (handed on again,
    completed, closed): the notification would only be noise."""
    if not event_ids:
        return []
    events = session.execute(
        select(AuditEvent.human_task_id, AuditEvent.payload).where(AuditEvent.id.in_(event_ids)).order_by(AuditEvent.id)
    ).all()
    open_tasks = _open_tasks(session, [e.human_task_id for e in events if e.human_task_id is not None])
    candidates: list[_Candidate] = []
    for event in events:
        found = open_tasks.get(event.human_task_id) if event.human_task_id is not None else None
        payload: dict[str, Any] = json.loads(event.payload)
        if found is None or found[0].assignee_id != payload.get("assignee_id"):
            continue
        task, subject = found
        if not _recipient_ids(session, task.assignee_id, None, None):
            continue  # deactivated meanwhile
        lines = _task_lines(task, subject)
        if payload.get("reason"):
            lines.append(f"Lý do giao lại: {payload['reason']}")
        title = f"Công việc được giao cho bạn: {task.name}"
        assert task.assignee_id is not None
        candidates.append(_Candidate(task.assignee_id, REASSIGNED, task.instance_id, task.id, title, "\n".join(lines)))
    return candidates


# Events an advance appends after the completion that caused it (projection of the inbox, data diff).
_FOLLOWING_A_COMPLETION = (EventType.DATA_CHANGED, EventType.TASK_CANCELLED, EventType.TASK_OPENED)


def _is_returned(session: Session, event_id: int, task: HumanTask) -> bool:
    """Was this task sent back to its performer? Yes when it opened on completing a task that first appeared only
    after this one had been done once: a later step looped back (e.g. "Trả lại"). The later step reopening in turn
    (the resubmission reaching the reviewer again) is a new task. Decided from the log up to this event, so reading
    the event again gives the same answer."""
    cause = session.execute(
        select(AuditEvent.event_type, HumanTask.task_key)
        .outerjoin(HumanTask, HumanTask.id == AuditEvent.human_task_id)
        .where(
            AuditEvent.instance_id == task.instance_id,
            AuditEvent.id < event_id,
            AuditEvent.event_type.not_in(_FOLLOWING_A_COMPLETION),
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    ).first()
    if cause is None or cause.event_type != EventType.TASK_COMPLETED or cause.task_key is None:
        return False  # opened by a start, a timer or a claim: nobody sent it back
    cause_task = aliased(HumanTask)
    cause_first_opened = session.scalar(
        select(func.min(AuditEvent.id))
        .join(cause_task, cause_task.id == AuditEvent.human_task_id)
        .where(
            AuditEvent.instance_id == task.instance_id,
            AuditEvent.event_type == EventType.TASK_OPENED,
            cause_task.task_key == cause.task_key,
        )
    )
    if cause_first_opened is None:
        return False
    earlier = aliased(HumanTask)
    done_before_cause = session.scalar(
        select(AuditEvent.id)
        .join(earlier, earlier.id == AuditEvent.human_task_id)
        .where(
            AuditEvent.instance_id == task.instance_id,
            AuditEvent.event_type == EventType.TASK_COMPLETED,
            AuditEvent.id < cause_first_opened,
            earlier.task_key == task.task_key,
        )
        .limit(1)
    )
    return done_before_cause is not None


def _due_within(now: datetime, due_soon: timedelta, reminders: Mapping[str, timedelta]) -> ColumnElement[bool]:
    """Due within the reminder lead of the task's process (`reminders`), or `due_soon` for the others."""
    clauses = [
        and_(HumanTask.process_id == process_id, HumanTask.due_dt <= now + lead)
        for process_id, lead in reminders.items()
    ]
    clauses.append(and_(HumanTask.process_id.not_in(list(reminders)), HumanTask.due_dt <= now + due_soon))
    return or_(*clauses)


def _from_deadlines(
    session: Session, after_task_id: int, batch: int, due_soon: timedelta, reminders: Mapping[str, timedelta]
) -> tuple[list[_Candidate], int, int]:
    """One page (by task id) of open tasks due within `due_soon` or past due, without a notification of that kind
    yet. Recipients are resolved when a task first qualifies; someone given the role later is not told again."""
    now = clock.utcnow_naive()
    kind = case((HumanTask.due_dt <= now, OVERDUE), else_=DUE_SOON)
    already = (
        select(Notification.id).where(Notification.human_task_id == HumanTask.id, Notification.kind == kind).exists()
    )
    rows = (
        session.execute(
            select(HumanTask, Cadre)
            .outerjoin(Cadre, Cadre.id == HumanTask.subject_cadre_id)
            .where(
                HumanTask.id > after_task_id,
                HumanTask.status == TaskStatus.OPEN,
                HumanTask.due_dt.is_not(None),
                _due_within(now, due_soon, reminders),
                ~already,
            )
            .order_by(HumanTask.id)
            .limit(batch)
        )
        .tuples()
        .all()
    )
    recipients = _Recipients(session)
    candidates: list[_Candidate] = []
    for task, subject in rows:
        assert task.due_dt is not None
        overdue = task.due_dt <= now
        user_ids = recipients(task.assignee_id, task.candidate_role, task.candidate_unit_id)
        title = f"Quá hạn: {task.name}" if overdue else f"Sắp đến hạn: {task.name}"
        body = "\n".join(_task_lines(task, subject))
        candidates.extend(
            _Candidate(uid, OVERDUE if overdue else DUE_SOON, task.instance_id, task.id, title, body)
            for uid in user_ids
        )
    last_task_id = rows[-1][0].id if rows else after_task_id
    return candidates, last_task_id, len(rows)


def _task_lines(task: HumanTask, subject: Cadre | None) -> list[str]:
    lines = [f"Công việc: {task.name}", _case_line(task.process_name, task.instance_id)]
    if subject is not None:
        lines.append(f"Cán bộ: {subject.full_name} ({subject.code})")
    if task.due_dt is not None:
        lines.append(f"Hạn xử lý: {_display_dt(task.due_dt)}")
    return lines


def _case_line(process_name: str, instance_id: int) -> str:
    """The procedure by its name and case number, as the pages name it — never its internal reference (#12)."""
    return f"Quy trình: {process_name} — hồ sơ số {instance_id}"


def _display_dt(moment: datetime) -> str:
    local = moment.replace(tzinfo=UTC).astimezone(DISPLAY_TZ)
    return local.strftime("%H:%M ngày %d/%m/%Y") + " (giờ Việt Nam)"


def _one_line(text: str, limit: int) -> str:
    # A BPMN task name ends up in a mail header: no line breaks, and it must fit the column.
    return " ".join(text.split())[:limit]


# The cadre's own sign-in, if it is active: whom a procedure about a cadre tells its result. Chosen and written
# in one statement, with no read of the user first.
_NOTIFY_CADRE = server_prepared(
    insert(_notifications).from_select(
        ["user_id", "kind", "instance_id", "title", "body", "created_dt", "email_status", "email_attempts"],
        select(
            User.id,
            bindparam("kind", type_=_notifications.c.kind.type),
            bindparam("instance_id", type_=_notifications.c.instance_id.type),
            bindparam("title", type_=_notifications.c.title.type),
            bindparam("body", type_=_notifications.c.body.type),
            bindparam("created_dt", type_=_notifications.c.created_dt.type),
            literal(PENDING, _notifications.c.email_status.type),
            literal(0, _notifications.c.email_attempts.type),
        ).where(User.cadre_id == bindparam("cadre_id"), User.is_active),
    )
)


def notify_cadre(session: Session, cadre_id: int, *, kind: str, instance_id: int | None, title: str, body: str) -> None:
    """A notification to the cadre's own active user; nothing when the cadre has none."""
    session.execute(
        _NOTIFY_CADRE,
        {
            "cadre_id": cadre_id,
            "kind": kind,
            "instance_id": instance_id,
            "title": _one_line(title, _TITLE_LIMIT),
            "body": body,
            "created_dt": clock.utcnow_naive(),
        },
    )


@dataclass(frozen=True)
class _BallotNotice:
    user_id: int
    instance_id: int
    title: str
    body: str


def _from_ballot_opened(
    session: Session, event_ids: Sequence[int], ballot_question: BallotQuestion = _stored_question
) -> list[_BallotNotice]:
    """Every summoned member of a box opened for online voting who has not voted yet and is not the person the
    procedure is about: the ballot waits for them. Only that they are summoned — nothing of anyone's vote. A box
    already closed when the worker reaches its event creates nothing. The question is worded for each member's
    language by `ballot_question`, once per box and language."""
    if not event_ids:
        return []
    box_ids = [
        json.loads(payload).get("box_id")
        for payload in session.scalars(select(AuditEvent.payload).where(AuditEvent.id.in_(event_ids)))
    ]
    rows = session.execute(
        awaited_votes(
            BallotElector.user_id,
            User.cadre_id,
            User.locale,
            BallotBox,
            ProcessInstance.subject_cadre_id,
            ProcessVersion.name,
        )
        .join(User, User.id == BallotElector.user_id)
        .where(
            BallotElector.box_id.in_([box_id for box_id in box_ids if isinstance(box_id, int)]),
            User.is_active,
        )
        .order_by(BallotBox.id, BallotElector.user_id)
    ).all()
    worded: dict[tuple[int, str], str] = {}
    notices = []
    for user_id, cadre_id, locale, box, subject_cadre_id, process_name in rows:
        if is_own_ballot(cadre_id, subject_cadre_id):
            continue
        key = (box.id, locale or "vi")
        if key not in worded:
            worded[key] = ballot_question(box, key[1])
        question = worded[key]
        lines = [
            _case_line(process_name, box.instance_id),
            f"Hòm phiếu số {box.id}: {question}",
            "Mở trang Công việc của tôi để bỏ phiếu. Phiếu bầu là phiếu kín.",
        ]
        notices.append(_BallotNotice(user_id, box.instance_id, f"Phiếu bầu cần bỏ: {question}", "\n".join(lines)))
    return notices


def _insert_ballot_notices(session: Session, notices: Iterable[_BallotNotice]) -> int:
    """No task to key them on: a notice already there (the same user, instance and text) is not written again."""
    pending = list(notices)
    if not pending:
        return 0
    existing = set(
        session.execute(
            select(Notification.user_id, Notification.instance_id, Notification.body).where(
                Notification.kind == BALLOT_OPENED,
                Notification.instance_id.in_({notice.instance_id for notice in pending}),
            )
        ).tuples()
    )
    created = 0
    now = clock.utcnow_naive()
    for notice in pending:
        key = (notice.user_id, notice.instance_id, notice.body)
        if key in existing:
            continue
        existing.add(key)
        session.execute(
            insert(_notifications).values(
                user_id=notice.user_id,
                kind=BALLOT_OPENED,
                instance_id=notice.instance_id,
                human_task_id=None,
                title=_one_line(notice.title, _TITLE_LIMIT),
                body=notice.body,
                created_dt=now,
                email_status=PENDING,
                email_attempts=0,
            )
        )
        created += 1
    return created


def _insert_missing(session: Session, candidates: Iterable[_Candidate]) -> int:
    pending = list(candidates)
    if not pending:
        return 0
    task_ids = sorted({c.human_task_id for c in pending})
    existing = set(
        session.execute(
            select(Notification.user_id, Notification.kind, Notification.human_task_id).where(
                Notification.human_task_id.in_(task_ids)
            )
        ).tuples()
    )
    now = clock.utcnow_naive()
    created = 0
    for candidate in pending:
        key = (candidate.user_id, candidate.kind, candidate.human_task_id)
        if key in existing:
            continue
        existing.add(key)
        try:
            # The cursor lock keeps workers apart; the savepoint covers any other writer of the same row.
            with session.begin_nested():
                session.execute(
                    insert(_notifications).values(
                        user_id=candidate.user_id,
                        kind=candidate.kind,
                        instance_id=candidate.instance_id,
                        human_task_id=candidate.human_task_id,
                        title=_one_line(candidate.title, _TITLE_LIMIT),
                        body=candidate.body,
                        created_dt=now,
                        email_status=PENDING,
                        email_attempts=0,
                    )
                )
        except IntegrityError:
            continue
        created += 1
    return created


# -- e-mail --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Claim:
    notification_id: int
    attempt: int
    email: str | None  # None: not to be e-mailed (already marked skipped)
    title: str
    body: str
    human_task_id: int | None
    kind: str = ""


def _backoff(attempt: int) -> timedelta:
    return min(timedelta(minutes=2 ** (attempt - 1)), _MAX_BACKOFF)


def _claim_next(session_factory: sessionmaker[Session], smtp: SmtpSettings) -> _Claim | None:
    """Take the oldest due pending row in a short transaction: count the attempt and push its retry time past the
    longest a delivery can take, so no other worker picks it while we talk to the server (and it comes back by
    itself if we die)."""
    with session_factory() as session, transaction(session):
        now = clock.utcnow_naive()
        query = (
            select(Notification)
            .where(
                Notification.email_status == PENDING,
                or_(Notification.email_next_try_dt.is_(None), Notification.email_next_try_dt <= now),
            )
            .order_by(Notification.id)
            .limit(1)
        )
        if not is_sqlite(session):
            query = query.with_for_update(skip_locked=True)
        notification = session.scalar(query)
        if notification is None:
            return None
        user = session.execute(select(User.email, User.notify_by_email).where(User.id == notification.user_id)).one()
        address = (user.email or "").strip()
        if not address or not user.notify_by_email:
            notification.email_status = SKIPPED
            notification.email_next_try_dt = None
            return _Claim(notification.id, notification.email_attempts, None, notification.title, "", None, "")
        attempt = notification.email_attempts + 1
        notification.email_attempts = attempt
        notification.email_next_try_dt = now + _backoff(attempt) + timedelta(seconds=smtp.timeout * _LEASE_ROUND_TRIPS)
        return _Claim(
            notification.id,
            attempt,
            address,
            notification.title,
            notification.body,
            notification.human_task_id,
            notification.kind,
        )


def _still_ours(claim: _Claim) -> Any:
    # If the claim outlived its lease another worker may have taken the row over; its outcome then wins.
    return (
        (Notification.id == claim.notification_id)
        & (Notification.email_status == PENDING)
        & (Notification.email_attempts == claim.attempt)
    )


def _record_sent(session_factory: sessionmaker[Session], claim: _Claim) -> None:
    with session_factory() as session, transaction(session):
        session.execute(
            update(Notification)
            .where(_still_ours(claim))
            .values(email_status=SENT, email_next_try_dt=None, email_error=None)
        )


def _record_failure(
    session_factory: sessionmaker[Session], claim: _Claim, error: BaseException, max_attempts: int
) -> None:
    message = f"{type(error).__name__}: {error}"[:_ERROR_LIMIT]
    log.warning("e-mail of notification %s failed (attempt %s): %s", claim.notification_id, claim.attempt, message)
    if claim.attempt >= max_attempts:
        values: dict[str, Any] = {"email_status": FAILED, "email_next_try_dt": None}
    else:
        values = {"email_next_try_dt": clock.utcnow_naive() + _backoff(claim.attempt)}
    with session_factory() as session, transaction(session):
        session.execute(update(Notification).where(_still_ours(claim)).values(email_error=message, **values))


def _build_message(smtp: SmtpSettings, claim: _Claim) -> EmailMessage:
    assert claim.email is not None
    message = EmailMessage()
    message["Subject"] = _one_line(claim.title, _TITLE_LIMIT)
    message["From"] = smtp.sender
    message["To"] = claim.email
    message["Date"] = format_datetime(clock.now())
    message["Message-ID"] = make_msgid(domain=smtp.sender.rpartition("@")[2] or "localhost")
    text = claim.body
    base = smtp.base_url.strip().rstrip("/")
    link = smtp.links.get(claim.kind)
    # Without the app's address a link would point nowhere the reader can reach: name the page instead.
    if claim.human_task_id is not None:
        where = f"{base}/tasks/{claim.human_task_id}" if base else f"đăng nhập {_APP_NAME}, mở “Hộp công việc”."
        text += f"\n\nMở công việc: {where}"
    elif link is not None:
        where = f"{base}{link.path}" if base else f"đăng nhập {_APP_NAME}, mở {link.page}."
        text += f"\n\n{link.label}: {where}"
    text += f"\n\n-- \nThư gửi tự động từ {_APP_NAME}; vui lòng không trả lời thư này.\n"
    message.set_content(text, charset="utf-8")
    return message


class _ServerUnavailable(Exception):
    """Could not connect, greet, start TLS or log in: the server, not the message, is the problem."""


class _Mailer:
    """One SMTP connection per run, opened on the first message and reopened after a message broke it."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self.connection: smtplib.SMTP | None = None

    def _helo_name(self) -> str:
        if self.settings.local_hostname:
            return self.settings.local_hostname
        host = urlsplit(self.settings.base_url).hostname or "localhost"
        try:
            ip_address(host)
        except ValueError:
            return host
        return f"[{host}]"

    def _open(self) -> smtplib.SMTP:
        s = self.settings
        connection = smtplib.SMTP(s.host, s.port, local_hostname=self._helo_name(), timeout=s.timeout)
        try:
            connection.ehlo()
            if s.use_tls:
                connection.starttls(context=ssl.create_default_context())
                connection.ehlo()
            if s.username:
                connection.login(s.username, s.password or "")
        except BaseException:
            connection.close()
            raise
        return connection

    def send(self, message: EmailMessage) -> None:
        if self.connection is None:
            try:
                self.connection = self._open()
            except Exception as error:
                raise _ServerUnavailable(str(error)) from error
        try:
            self.connection.send_message(message)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError):
            raise  # the server refused this message; the session itself is still usable
        except BaseException:
            self._drop()
            raise

    def _drop(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def close(self) -> None:
        if self.connection is None:
            return
        try:
            self.connection.quit()
        except Exception:  # noqa: S110  (leaving: a server that will not say goodbye changes nothing)
            pass
        finally:
            self._drop()
