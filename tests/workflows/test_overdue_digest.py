"""The leaders' weekly digest of overdue work (workflows/overdue_digest.py), on the demo organisation: X001 has a
supervisor (supervisor1) and a head (head1); X002 gets a supervisor of its own here, T01 (the province above
both) a head."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows import clock
from workflows.db import transaction
from workflows.models import Notification, WorkerCursor
from workflows.overdue_digest import CURSOR_NAME, OVERDUE_DIGEST, notify_overdue_weekly
from workflows.registry.models import OrgUnit, RoleAssignment, User
from workflows.rules.overdue_digest import DigestSchedule
from workflows.states import Role

VIETNAM = timezone(timedelta(hours=7))
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)  # Monday 2 November, 15:00 in Vietnam
MONDAY_0700 = datetime(2026, 11, 9, 0, 0, tzinfo=UTC)  # the next Monday, 07:00 in Vietnam
REQUEST = {"subject_line": "Đề nghị"}


def _add_leader(factory: sessionmaker[Session], username: str, unit_code: str, role: Role) -> None:
    with factory() as s, transaction(s):
        unit = s.scalars(select(OrgUnit).where(OrgUnit.code == unit_code)).one()
        user = User(username=username, full_name=f"Lãnh đạo {unit_code}", unit_id=unit.id)
        s.add(user)
        s.flush()
        s.add(RoleAssignment(user_id=user.id, role=role, unit_id=unit.id))


def _submitted(driver: WorkflowDriver, user: str, subject: str) -> int:
    instance_id = driver.start("sample_approval", as_user=user, subject=subject)
    driver.complete(user, driver.task(instance_id, "submit_request").id, REQUEST)
    return instance_id


def _digests(factory: sessionmaker[Session]) -> dict[str, Notification]:
    with factory() as s:
        rows = s.execute(
            select(User.username, Notification)
            .join(Notification, Notification.user_id == User.id)
            .where(Notification.kind == OVERDUE_DIGEST)
            .order_by(Notification.id)
        ).tuples()
        found: dict[str, Notification] = {}
        for username, note in rows:
            assert username not in found, f"two digests for {username}"
            found[username] = note
        return found


@pytest.fixture
def leaders(driver: WorkflowDriver) -> WorkflowDriver:
    _add_leader(driver.session_factory, "leader_x002", "X002", Role.SUPERVISOR)
    _add_leader(driver.session_factory, "leader_t01", "T01", Role.HEAD)
    return driver


def test_each_leader_with_overdue_work_in_scope_gets_one_digest(leaders: WorkflowDriver) -> None:
    factory = leaders.session_factory
    clock.set_now(T0)
    first = _submitted(leaders, "officer1", "CB0001")  # a review in X001, due in 3 days
    second = _submitted(leaders, "officer2", "CB0002")
    assert notify_overdue_weekly(factory, zone=VIETNAM) == 0  # this week's run: nothing is late yet

    clock.set_now(MONDAY_0700 - timedelta(minutes=1))  # late since Thursday, but the week's hour has not come
    assert notify_overdue_weekly(factory, zone=VIETNAM) == 0

    clock.set_now(MONDAY_0700)
    assert notify_overdue_weekly(factory, zone=VIETNAM) == 3
    digests = _digests(factory)
    # X001's supervisor and head, and the head of the province above it; not X002's supervisor: nothing of theirs
    # is late. The head holding two leading roles in X001 gets one digest, each task once.
    assert sorted(digests) == ["head1", "leader_t01", "supervisor1"]
    note = digests["supervisor1"]
    assert note.title == "Việc quá hạn trong đơn vị tuần này: 2 việc"
    assert note.human_task_id is None and note.instance_id is None and note.email_status == "pending"
    lines = note.body.splitlines()
    assert lines == [
        f"- Xem xét, phê duyệt — chưa có người nhận — Phê duyệt đề nghị (mẫu), hồ sơ số {first} — quá hạn 3 ngày",
        f"- Xem xét, phê duyệt — chưa có người nhận — Phê duyệt đề nghị (mẫu), hồ sơ số {second} — quá hạn 3 ngày",
    ]
    assert digests["head1"].body == note.body == digests["leader_t01"].body


def test_running_again_in_the_same_week_sends_nothing(leaders: WorkflowDriver) -> None:
    factory = leaders.session_factory
    clock.set_now(T0)
    _submitted(leaders, "officer1", "CB0001")
    clock.set_now(MONDAY_0700 + timedelta(hours=1))
    assert notify_overdue_weekly(factory, zone=VIETNAM) == 3
    assert notify_overdue_weekly(factory, zone=VIETNAM) == 0
    clock.set_now(MONDAY_0700 + timedelta(days=6, hours=23))  # Monday 06:00 local: still the same week
    assert notify_overdue_weekly(factory, zone=VIETNAM) == 0
    assert len(_digests(factory)) == 3
    with factory() as s:
        assert s.get(WorkerCursor, CURSOR_NAME).position == MONDAY_0700.date().toordinal()

    clock.set_now(MONDAY_0700 + timedelta(days=7))  # the week after: still late, told again
    assert notify_overdue_weekly(factory, zone=VIETNAM) == 3


def test_two_workers_at_once_send_the_week_once(leaders: WorkflowDriver) -> None:
    factory = leaders.session_factory
    clock.set_now(T0)
    _submitted(leaders, "officer1", "CB0001")
    clock.set_now(MONDAY_0700)
    start = threading.Barrier(2)
    created: list[int] = []

    def worker() -> None:
        start.wait()
        created.append(notify_overdue_weekly(factory, zone=VIETNAM))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(created) == [0, 3]
    assert len(_digests(factory)) == 3


def test_scope_is_the_leaders_unit_and_below_only(leaders: WorkflowDriver) -> None:
    factory = leaders.session_factory
    clock.set_now(T0)
    x002 = _submitted(leaders, "officer3", "CB0005")  # in X002
    clock.set_now(MONDAY_0700)
    assert notify_overdue_weekly(factory, zone=VIETNAM) == 2
    digests = _digests(factory)
    assert sorted(digests) == ["leader_t01", "leader_x002"]  # nothing to X001's leaders
    assert f"hồ sơ số {x002}" in digests["leader_x002"].body


def test_an_inactive_leader_and_done_or_undated_work_are_left_out(leaders: WorkflowDriver) -> None:
    factory = leaders.session_factory
    clock.set_now(T0)
    done = _submitted(leaders, "officer1", "CB0001")
    leaders.complete("supervisor1", leaders.task(done, "review_request").id, {"decision": "approve"})
    leaders.start("sample_approval", as_user="officer2", subject="CB0002")  # the first step has no deadline
    with factory() as s, transaction(s):
        s.execute(select(User).where(User.username == "leader_t01")).scalar_one().is_active = False
    clock.set_now(MONDAY_0700)
    assert notify_overdue_weekly(factory, zone=VIETNAM) == 0
    assert _digests(factory) == {}


def test_the_schedule_moves_the_run(leaders: WorkflowDriver) -> None:
    factory = leaders.session_factory
    clock.set_now(T0)
    _submitted(leaders, "officer1", "CB0001")
    friday = DigestSchedule(weekday=4, hour=16)
    assert notify_overdue_weekly(factory, zone=VIETNAM, schedule=friday) == 0  # the week of Friday 30 October
    clock.set_now(datetime(2026, 11, 6, 8, 59, tzinfo=UTC))  # Friday 15:59 local, a day late: not yet
    assert notify_overdue_weekly(factory, zone=VIETNAM, schedule=friday) == 0
    clock.set_now(datetime(2026, 11, 6, 9, 0, tzinfo=UTC))
    assert notify_overdue_weekly(factory, zone=VIETNAM, schedule=friday) == 3
