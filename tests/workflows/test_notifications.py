"""Notifications derived from the committed audit log by the worker, and e-mailed through a real SMTP server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.mail import Inbox as _Inbox
from tests.fixtures.mail import free_port as _free_port
from tests.fixtures.mail import smtp_inbox
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows import clock
from workflows.db import is_sqlite, transaction
from workflows.engine import operations
from workflows.errors import NotFound
from workflows.models import AuditEvent, Comment, Notification, WorkerCursor
from workflows.navigation import menu_facts
from workflows.notifications import (
    GAP_SETTLE,
    NotificationRun,
    SmtpSettings,
    create_notifications,
    mark_read,
    notify_cadre,
    recipients_for_task,
    run_notifications,
    send_pending_emails,
)
from workflows.registry.models import Cadre, OrgUnit, User

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
REQUEST = {"subject_line": "Đề nghị"}
REVIEW = "Xem xét, phê duyệt"


# -- helpers -------------------------------------------------------------------------------------------------------


def _notes(session_factory: sessionmaker[Session], username: str | None = None, kind: str | None = None) -> list:
    with session_factory() as s:
        query = select(Notification, User.username).join(User, User.id == Notification.user_id)
        if username is not None:
            query = query.where(User.username == username)
        if kind is not None:
            query = query.where(Notification.kind == kind)
        return [(username_, n) for n, username_ in s.execute(query.order_by(Notification.id)).tuples()]


def _who(session_factory: sessionmaker[Session], kind: str) -> list[str]:
    return sorted(name for name, _ in _notes(session_factory, kind=kind))


def _cursor(session_factory: sessionmaker[Session]) -> tuple[int, int]:
    with session_factory() as s:
        position = s.scalar(select(WorkerCursor.position).where(WorkerCursor.name == "notifications"))
        return position or 0, s.scalar(select(func.max(AuditEvent.id))) or 0


def _submitted(driver: WorkflowDriver, user: str = "officer1", subject: str = "CB0001") -> int:
    instance_id = driver.start("sample_approval", as_user=user, subject=subject)
    driver.complete(user, driver.task(instance_id, "submit_request").id, REQUEST)
    return instance_id


def _opened_for_officer1(driver: WorkflowDriver) -> int:
    """A request about officer1 started by the personnel officer: its first task is officer1's, by another's hand."""
    return driver.start("sample_approval", as_user="personnel1", subject="CB0001")


def _set_user(session_factory: sessionmaker[Session], username: str, **values: Any) -> None:
    with session_factory() as s, transaction(s):
        s.execute(update(User).where(User.username == username).values(**values))


# -- deriving notifications ----------------------------------------------------------------------------------------


def test_new_task_goes_to_the_assignee_then_to_everyone_in_the_group(driver: WorkflowDriver) -> None:
    factory = driver.session_factory
    instance_id = _opened_for_officer1(driver)
    assert create_notifications(factory) == 1
    [(who, note)] = _notes(factory)
    assert (who, note.kind, note.title) == ("officer1", "new_task", "Công việc mới: Lập đề nghị")
    assert "Phê duyệt đề nghị (mẫu)" in note.body and "Nguyễn Thị Lan" in note.body
    # The procedure by its name and case number, not its internal reference.
    assert f"Quy trình: Phê duyệt đề nghị (mẫu) — hồ sơ số {instance_id}" in note.body
    assert f"sample_approval#{instance_id}" not in note.body
    assert note.instance_id == instance_id and note.email_status == "pending" and note.read_dt is None

    driver.complete("officer1", driver.task(instance_id, "submit_request").id, REQUEST)
    assert create_notifications(factory) == 2
    review = [(who, n) for who, n in _notes(factory) if n.title == f"Công việc mới: {REVIEW}"]
    assert sorted(who for who, _ in review) == ["head1", "supervisor1"]
    assert all(n.human_task_id == driver.task(instance_id, "review_request").id for _, n in review)
    assert "Hạn xử lý" in review[0][1].body
    assert _notes(factory, "officer2") == [] and _notes(factory, "officer3") == []

    # The cursor has moved past everything: nothing is read or created twice.
    assert create_notifications(factory) == 0
    position, last_event = _cursor(factory)
    assert position == last_event
    assert len(_notes(factory)) == 3


def test_whoever_opens_a_task_for_herself_hears_nothing_of_it(driver: WorkflowDriver) -> None:
    """Starting one's own request, and completing a step whose next step is one's own group's, open tasks the actor
    is looking at already: no notice and no e-mail for her; everybody else the task is for hears of it as before."""
    factory = driver.session_factory
    own = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    assert create_notifications(factory) == 0 and _notes(factory) == []

    driver.complete("officer1", driver.task(own, "submit_request").id, REQUEST)  # the review is not hers
    assert create_notifications(factory) == 2
    assert _who(factory, "new_task") == ["head1", "supervisor1"]

    # head1 is a supervisor of her unit too: the review of her own request is for her group, supervisor1 and her.
    heads_own = driver.start("sample_approval", as_user="head1", subject="CB0004")
    driver.complete("head1", driver.task(heads_own, "submit_request").id, REQUEST)
    assert create_notifications(factory) == 1
    [(who, note)] = [(who, n) for who, n in _notes(factory) if n.instance_id == heads_own]
    assert (who, note.title) == ("supervisor1", f"Công việc mới: {REVIEW}")


def test_a_task_closed_before_the_worker_reaches_it_is_not_announced(driver: WorkflowDriver) -> None:
    _submitted(driver)
    assert create_notifications(driver.session_factory) == 2
    assert _who(driver.session_factory, "new_task") == ["head1", "supervisor1"]


def test_a_returned_request_tells_the_officer_why(driver: WorkflowDriver, demo_users: dict[str, User]) -> None:
    factory = driver.session_factory
    instance_id = _submitted(driver)
    create_notifications(factory)
    review = driver.task(instance_id, "review_request")
    with factory() as s, transaction(s):
        s.add(Comment(instance_id=instance_id, author_id=demo_users["supervisor1"].id, body="Ghi rõ số lượng."))
        s.add(
            Comment(
                instance_id=instance_id,
                human_task_id=review.id,
                author_id=demo_users["supervisor1"].id,
                body="Bổ sung căn cứ pháp lý cho đề nghị.",
            )
        )
    driver.complete("supervisor1", review.id, {"decision": "return", "comment": "Bổ sung căn cứ pháp lý"})

    assert create_notifications(factory) == 1
    [(who, note)] = _notes(factory, kind="returned")
    assert who == "officer1"
    assert note.title == "Bị trả lại để chỉnh sửa: Lập đề nghị"
    assert "Bổ sung căn cứ pháp lý cho đề nghị." in note.body and "Ghi rõ" not in note.body
    assert note.human_task_id == driver.task(instance_id, "submit_request").id

    # The resubmission is a new review task: the supervisors hear of it again, as a new task.
    driver.complete("officer1", driver.task(instance_id, "submit_request").id, REQUEST)
    assert create_notifications(factory) == 2
    assert _who(factory, "new_task") == ["head1", "head1", "supervisor1", "supervisor1"]


def test_due_soon_then_overdue_each_once(driver: WorkflowDriver) -> None:
    factory = driver.session_factory
    clock.set_now(T0)
    instance_id = _submitted(driver)
    review_id = driver.task(instance_id, "review_request").id
    create_notifications(factory)
    clock.set_now(T0 + timedelta(days=1, hours=23))
    assert create_notifications(factory) == 0  # 25 hours left: not yet

    clock.set_now(T0 + timedelta(days=2, hours=12))
    assert create_notifications(factory) == 2
    assert _who(factory, "due_soon") == ["head1", "supervisor1"]
    [(_, note)] = _notes(factory, "supervisor1", "due_soon")
    assert note.title == f"Sắp đến hạn: {REVIEW}" and note.human_task_id == review_id
    # 08:00 UTC on 5 November is 15:00 in Vietnam.
    assert "15:00 ngày 05/11/2026" in note.body
    assert create_notifications(factory) == 0

    clock.set_now(T0 + timedelta(days=3, minutes=1))  # past due; the timer worker has not escalated yet
    assert create_notifications(factory) == 2
    assert _who(factory, "overdue") == ["head1", "supervisor1"]
    assert _notes(factory, "head1", "overdue")[0][1].title == f"Quá hạn: {REVIEW}"
    assert create_notifications(factory) == 0
    assert _who(factory, "due_soon") == ["head1", "supervisor1"]


def test_recipients_follow_roles_held_higher_up(driver: WorkflowDriver, demo_users: dict[str, User]) -> None:
    with driver.session_factory() as s:
        commune = s.scalars(select(OrgUnit).where(OrgUnit.code == "X001")).one()
        personnel = recipients_for_task(s, None, "personnel", commune.id)  # held at the province
        supervisors = recipients_for_task(s, None, "supervisor", commune.id)
        assignee = recipients_for_task(s, demo_users["officer2"].id, "supervisor", commune.id)
        nobody = recipients_for_task(s, None, None, None)
    assert [u.username for u in personnel] == ["personnel1"]
    assert sorted(u.username for u in supervisors) == ["head1", "supervisor1"]
    assert [u.username for u in assignee] == ["officer2"]
    assert nobody == []

    _set_user(driver.session_factory, "head1", is_active=False)
    with driver.session_factory() as s:
        assert [u.username for u in recipients_for_task(s, None, "supervisor", commune.id)] == ["supervisor1"]


def _postgres_only(factory: sessionmaker[Session]) -> None:
    with factory() as s:
        if is_sqlite(s):
            pytest.skip("SQLite has one writer at a time, so its ids are committed in order and never leave a gap")


def test_an_event_committed_late_below_the_cursor_is_not_lost(driver: WorkflowDriver) -> None:
    factory = driver.session_factory
    _postgres_only(factory)
    slow = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    fast = driver.start("sample_approval", as_user="officer2", subject="CB0002")
    create_notifications(factory)

    with factory() as in_flight:
        officer1 = driver.user(in_flight, "officer1")
        assert officer1 is not None
        operations.complete_task(
            in_flight, driver.engine, actor=officer1, task_id=driver.task(slow, "submit_request").id, data=REQUEST
        )
        in_flight.flush()  # its audit ids are taken, below the ones committed next
        driver.complete("officer2", driver.task(fast, "submit_request").id, REQUEST)
        assert create_notifications(factory) == 2
        position, _ = _cursor(factory)
        in_flight.commit()

    assert position < _cursor(factory)[1]
    assert create_notifications(factory) == 2  # the late commit's review reaches the supervisors
    reviews = {n.instance_id for _, n in _notes(factory) if n.title == f"Công việc mới: {REVIEW}"}
    assert reviews == {slow, fast}
    assert create_notifications(factory) == 0


def test_the_cursor_passes_a_gap_that_never_fills_once_it_has_settled(driver: WorkflowDriver) -> None:
    factory = driver.session_factory
    _postgres_only(factory)
    instance_id = _opened_for_officer1(driver)  # by another's hand, so that it is announced
    with factory() as rolled_back:
        officer1 = driver.user(rolled_back, "officer1")
        assert officer1 is not None
        operations.complete_task(
            rolled_back,
            driver.engine,
            actor=officer1,
            task_id=driver.task(instance_id, "submit_request").id,
            data=REQUEST,
        )
        rolled_back.flush()
        rolled_back.rollback()
    driver.start("sample_approval", as_user="personnel1", subject="CB0002")
    assert create_notifications(factory) == 2
    position, last_event = _cursor(factory)
    assert position < last_event

    clock.set_now(clock.now() + GAP_SETTLE + timedelta(seconds=1))
    assert create_notifications(factory) == 0
    assert _cursor(factory) == (last_event, last_event)


@pytest.mark.concurrency
def test_workers_side_by_side_create_each_notification_once(driver: WorkflowDriver) -> None:
    factory = driver.session_factory
    clock.set_now(T0)
    for _ in range(6):
        _submitted(driver)
    clock.set_now(T0 + timedelta(days=2, hours=12))
    barrier = threading.Barrier(3)
    created: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        barrier.wait()
        try:
            created.append(create_notifications(factory, batch=5))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sum(created) == 6 * 2 * 2  # six reviews, two supervisors, new_task and due_soon
    assert len(_notes(factory)) == 24


def _unread(session: Session, user: User) -> int:
    """The number the menu shows beside "Notifications"."""
    found = session.get(User, user.id)
    assert found is not None
    return menu_facts(session, found).unread


def test_mark_read_only_by_the_owner(driver: WorkflowDriver, demo_users: dict[str, User]) -> None:
    factory = driver.session_factory
    _submitted(driver)
    create_notifications(factory)
    [(_, note)] = _notes(factory, "supervisor1")
    with factory() as s:
        assert _unread(s, demo_users["supervisor1"]) == 1
        intruder = s.get(User, demo_users["head1"].id)
        assert intruder is not None
        with pytest.raises(NotFound):
            mark_read(s, intruder, note.id)
        with pytest.raises(NotFound):
            mark_read(s, intruder, 999_999)
        owner = s.get(User, demo_users["supervisor1"].id)
        assert owner is not None
        mark_read(s, owner, note.id)
        s.commit()
        assert _unread(s, demo_users["supervisor1"]) == 0
        assert _unread(s, demo_users["head1"]) == 1
        assert s.get(Notification, note.id).read_dt is not None  # type: ignore[union-attr]


# -- e-mail through a real SMTP server ----------------------------------------------------------------------------


@pytest.fixture
def smtp_server() -> Iterator[tuple[_Inbox, SmtpSettings]]:
    with smtp_inbox() as (inbox, port):
        yield (
            inbox,
            SmtpSettings(
                host="127.0.0.1",
                port=port,
                timeout=5.0,
                sender="canbo@sonha.example",
                base_url="https://canbo.example/",
            ),
        )


def _with_addresses(factory: sessionmaker[Session]) -> None:
    for name in ("officer1", "supervisor1", "head1"):
        _set_user(factory, name, email=f"{name}@sonha.example")


def _email_state(factory: sessionmaker[Session], username: str) -> Notification:
    [(_, note)] = _notes(factory, username)
    return note


def test_notifications_are_emailed_in_vietnamese(
    driver: WorkflowDriver, smtp_server: tuple[_Inbox, SmtpSettings]
) -> None:
    inbox, settings = smtp_server
    factory = driver.session_factory
    _with_addresses(factory)
    _set_user(factory, "head1", notify_by_email=False)
    _submitted(driver)

    run = run_notifications(factory, settings)
    assert run == NotificationRun(created=2, emailed=1, failed=0, skipped=1)
    [(recipients, message)] = inbox.messages()
    note = _email_state(factory, "supervisor1")
    assert recipients == ["supervisor1@sonha.example"]
    assert message["To"] == "supervisor1@sonha.example" and message["From"] == "canbo@sonha.example"
    assert message["Subject"] == f"Công việc mới: {REVIEW}"
    body = message.get_content()
    assert "Phê duyệt đề nghị (mẫu)" in body and "Nguyễn Thị Lan (CB0001)" in body
    assert f"https://canbo.example/tasks/{note.human_task_id}" in body
    assert (note.email_status, note.email_attempts, note.email_error) == ("sent", 1, None)
    assert _email_state(factory, "head1").email_status == "skipped"

    assert run_notifications(factory, settings) == NotificationRun(0, 0, 0, 0)
    assert len(inbox.envelopes) == 1


def test_nobody_is_emailed_about_the_task_she_opened_herself(
    driver: WorkflowDriver, smtp_server: tuple[_Inbox, SmtpSettings]
) -> None:
    inbox, settings = smtp_server
    _with_addresses(driver.session_factory)
    driver.start("sample_approval", as_user="officer1", subject="CB0001")
    assert run_notifications(driver.session_factory, settings) == NotificationRun(0, 0, 0, 0)
    _opened_for_officer1(driver)  # the same task opened by the personnel officer: officer1 hears of it
    assert run_notifications(driver.session_factory, settings) == NotificationRun(1, 1, 0, 0)
    assert [recipients for recipients, _ in inbox.messages()] == [["officer1@sonha.example"]]


def test_without_a_base_url_a_task_email_names_the_inbox_instead_of_a_dead_link(
    driver: WorkflowDriver, smtp_server: tuple[_Inbox, SmtpSettings]
) -> None:
    """A bare "/tasks/12" in an e-mail leads nowhere: the reader is told where to find the task instead."""
    inbox, settings = smtp_server
    settings.base_url = ""
    _with_addresses(driver.session_factory)
    _submitted(driver)
    assert run_notifications(driver.session_factory, settings).emailed == 2
    for _recipients, message in inbox.messages():
        body = message.get_content()
        assert "Mở công việc: đăng nhập hệ thống quản lý quy trình cán bộ, mở “Hộp công việc”.\n" in body
        assert "/tasks/" not in body


def test_without_smtp_settings_emails_wait(driver: WorkflowDriver) -> None:
    _with_addresses(driver.session_factory)
    _submitted(driver)
    assert run_notifications(driver.session_factory, None) == NotificationRun(2, 0, 0, 0)
    assert {n.email_status for _, n in _notes(driver.session_factory)} == {"pending"}


def test_a_user_without_an_address_is_skipped(driver: WorkflowDriver, smtp_server: tuple[_Inbox, SmtpSettings]) -> None:
    inbox, settings = smtp_server
    _opened_for_officer1(driver)
    create_notifications(driver.session_factory)
    assert send_pending_emails(driver.session_factory, settings) == NotificationRun(0, 0, 0, 1)
    assert _email_state(driver.session_factory, "officer1").email_status == "skipped" and inbox.envelopes == []


def test_unreachable_server_backs_off_then_gives_up(driver: WorkflowDriver) -> None:
    factory = driver.session_factory
    clock.set_now(T0)
    _with_addresses(factory)
    _opened_for_officer1(driver)
    create_notifications(factory)
    closed = SmtpSettings(host="127.0.0.1", port=_free_port(), timeout=2.0)

    assert send_pending_emails(factory, closed) == NotificationRun(0, 0, 1, 0)
    note = _email_state(factory, "officer1")
    assert (note.email_status, note.email_attempts) == ("pending", 1)
    assert note.email_next_try_dt == (T0 + timedelta(minutes=1)).replace(tzinfo=None)
    assert note.email_error and "Connection" in note.email_error

    clock.set_now(T0 + timedelta(seconds=30))  # before the retry time: left alone
    assert send_pending_emails(factory, closed) == NotificationRun(0, 0, 0, 0)
    assert _email_state(factory, "officer1").email_attempts == 1

    waits = []
    for attempt in range(2, 6):
        previous = _email_state(factory, "officer1").email_next_try_dt
        assert previous is not None
        clock.set_now(previous.replace(tzinfo=UTC))
        assert send_pending_emails(factory, closed, max_attempts=5).failed == 1
        note = _email_state(factory, "officer1")
        assert note.email_attempts == attempt
        if note.email_next_try_dt is not None:
            waits.append(note.email_next_try_dt - previous)
    assert waits == [timedelta(minutes=2), timedelta(minutes=4), timedelta(minutes=8)]
    assert (note.email_status, note.email_next_try_dt) == ("failed", None)
    clock.set_now(T0 + timedelta(days=1))
    assert send_pending_emails(factory, closed) == NotificationRun(0, 0, 0, 0)


class _SilentServer:
    """Accepts TCP connections and never says a word."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen()
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.accepted.append(connection)

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        for connection in self.accepted:
            connection.close()
        self.listener.close()


def test_a_server_that_never_answers_costs_one_timeout(
    driver: WorkflowDriver, smtp_server: tuple[_Inbox, SmtpSettings]
) -> None:
    inbox, working = smtp_server
    factory = driver.session_factory
    _with_addresses(factory)
    _submitted(driver)
    create_notifications(factory)
    silent = _SilentServer()
    try:
        started = time.monotonic()
        run = send_pending_emails(factory, SmtpSettings(host="127.0.0.1", port=silent.port, timeout=0.5))
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    assert elapsed < 2.0
    assert silent.accepted  # it did get as far as the server
    # The server is the problem, not the message: the other row is not made to wait out the timeout too.
    assert run == NotificationRun(0, 0, 1, 0)
    notes = [n for _, n in _notes(factory)]
    assert sorted((n.email_status, n.email_attempts) for n in notes) == [("pending", 0), ("pending", 1)]
    tried = next(n for n in notes if n.email_attempts == 1)
    assert tried.email_next_try_dt is not None and tried.email_next_try_dt > clock.utcnow_naive()

    clock.set_now(clock.now() + timedelta(minutes=2))
    assert send_pending_emails(factory, working) == NotificationRun(0, 2, 0, 0)
    assert sorted(r for r, _ in inbox.messages()) == [["head1@sonha.example"], ["supervisor1@sonha.example"]]


class _Accounts:
    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"canbo", b"bi-mat")
        return AuthResult(success=ok, handled=False)  # unhandled: the server answers 535 itself


def test_login_when_the_server_requires_it(driver: WorkflowDriver) -> None:
    factory = driver.session_factory
    _with_addresses(factory)
    _opened_for_officer1(driver)
    create_notifications(factory)
    inbox = _Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=_free_port(),
        server_hostname="smtp.test",
        authenticator=_Accounts(),
        auth_require_tls=False,  # a test server on the loopback; production relays would offer STARTTLS
    )
    controller.start()
    try:
        settings = SmtpSettings(host="127.0.0.1", port=controller.port, username="canbo", password="sai", timeout=5.0)
        assert send_pending_emails(factory, settings).failed == 1
        assert "Authentication" in (_email_state(factory, "officer1").email_error or "")
        clock.set_now(clock.now() + timedelta(minutes=5))
        settings.password = "bi-mat"
        assert send_pending_emails(factory, settings).emailed == 1
    finally:
        controller.stop()
    [(recipients, message)] = inbox.messages()
    assert recipients == ["officer1@sonha.example"] and message["Subject"] == "Công việc mới: Lập đề nghị"
    assert _email_state(factory, "officer1").email_attempts == 2


def test_a_cadres_result_goes_to_their_own_active_sign_in_only(
    session_factory: sessionmaker[Session], demo_users: dict[str, User]
) -> None:
    """`notify_cadre` (the end of a procedure about one cadre): the cadre's own user is told, waiting for its
    e-mail like any notification; a cadre with no sign-in, or a disabled one, is told nothing."""
    officer1, officer2 = demo_users["officer1"], demo_users["officer2"]
    with session_factory() as s, transaction(s):
        s.execute(update(User).where(User.id == officer2.id).values(is_active=False))
        unlinked = Cadre(code="CB9001", full_name="Chưa có tài khoản", unit_id=officer1.unit_id, gender="male")
        unlinked.birth_date = date(1980, 1, 1)
        s.add(unlinked)
        s.flush()
        for cadre_id in (officer1.cadre_id, officer2.cadre_id, unlinked.id):
            assert cadre_id is not None
            notify_cadre(
                s, cadre_id, kind="evaluation_result", instance_id=None, title="Kết quả " + "x" * 300, body="B"
            )
    notes = _notes(session_factory, kind="evaluation_result")
    assert [(name, n.title, n.body, n.email_status, n.email_attempts) for name, n in notes] == [
        ("officer1", ("Kết quả " + "x" * 300)[:255], "B", "pending", 0)
    ]
    assert notes[0][1].created_dt is not None and notes[0][1].read_dt is None
