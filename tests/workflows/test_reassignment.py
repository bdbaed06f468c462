"""Handing an open task to another person through the service (workflows/engine/operations.reassign_task, decision
0078), on the real sample model and the appointment's ballot steps: who may, who may receive, what is recorded, what
the new holder is told, and a completion racing the hand-on."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.appointment import setup_appointment, start, today_text
from tests.fixtures.workflow_helpers import WorkflowDriver, everything_stored
from workflows.audit import verify_chains
from workflows.db import transaction
from workflows.engine import operations
from workflows.errors import Conflict, Invalid, NotAllowed, NotFound, WorkflowError
from workflows.models import AuditEvent, HumanTask, Notification, TaskDraft
from workflows.notifications import REASSIGNED, create_notifications
from workflows.reassignment import eligible_receivers, open_tasks_of, task_facts
from workflows.registry.models import User
from workflows.rules.reassignment import BALLOT_STEP, SUBJECTS_OWN
from workflows.states import EventType, TaskStatus
from workflows.tasks import own_draft, save_draft

REQUEST = {"subject_line": "Đề nghị cử đi học lớp trung cấp lý luận chính trị", "amount": 1}


def _review(driver: WorkflowDriver) -> tuple[int, int]:
    """A sample approval at its review (a supervisor's group step of Xã An Phú), taken by head1."""
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    driver.complete("officer1", driver.task(instance_id, "submit_request").id, REQUEST)
    review_id = driver.task(instance_id, "review_request").id
    with driver.session_factory() as s, transaction(s):
        operations.claim_task(s, actor=driver.user(s, "head1"), task_id=review_id)
    return instance_id, review_id


def _hand_on(driver: WorkflowDriver, actor: str | None, task_id: int, to: str | None, reason: Any = "Nghỉ phép") -> Any:
    with driver.session_factory() as s, transaction(s):
        receiver = driver.user(s, to) if to else None
        return operations.reassign_task(
            s,
            actor=driver.user(s, actor),
            task_id=task_id,
            to_user_id=receiver.id if receiver else None,
            reason=reason,
        )


def _save_draft(driver: WorkflowDriver, username: str, task_id: int, data: dict[str, Any]) -> None:
    with driver.session_factory() as s, transaction(s):
        task = s.get(HumanTask, task_id)
        assert task is not None
        save_draft(s, driver.user(s, username), task, data)


def _draft_of(driver: WorkflowDriver, username: str, task_id: int) -> tuple[Any, str | None]:
    """The person's draft of the task and, for one that came with the task, who saved it."""
    with driver.session_factory() as s:
        data, origin = own_draft(s, driver.user(s, username), task_id)
        return data, origin.saved_by_name if origin else None


def _holder(driver: WorkflowDriver, task_id: int) -> str | None:
    with driver.session_factory() as s:
        task = s.get(HumanTask, task_id)
        assert task is not None
        return s.scalar(select(User.username).where(User.id == task.assignee_id)) if task.assignee_id else None


def test_personnel_hands_a_taken_step_to_another_supervisor_and_the_chain_says_who_from_whom_why(
    driver: WorkflowDriver, demo_users: dict
) -> None:
    instance_id, review_id = _review(driver)
    version_before = driver.instance(instance_id).lock_version
    _hand_on(driver, "personnel1", review_id, "supervisor1", "  Đồng chí Dũng   đi công tác  ")
    assert _holder(driver, review_id) == "supervisor1"
    assert driver.instance(instance_id).lock_version == version_before + 1  # the instance's version moved
    with driver.session_factory() as s:
        event = s.scalars(
            select(AuditEvent).where(
                AuditEvent.instance_id == instance_id, AuditEvent.event_type == EventType.TASK_REASSIGNED
            )
        ).one()
        assert event.actor_name == "personnel1" and event.human_task_id == review_id
        assert json.loads(event.payload) == {
            "task_key": "review_request",
            "name": "Xem xét, phê duyệt",
            "from_assignee_id": demo_users["head1"].id,
            "assignee_id": demo_users["supervisor1"].id,
            "assignee": "supervisor1",
            "reason": "Đồng chí Dũng đi công tác",
            "draft_moved": False,
            "draft_saved_by_id": None,
        }
        assert verify_chains(s).ok
    with pytest.raises(NotAllowed):  # no longer head1's
        driver.complete("head1", review_id, {"decision": "approve"})
    driver.complete("supervisor1", review_id, {"decision": "approve"})


DRAFT = {"comment": "Đồng ý về nguyên tắc; đề nghị bổ sung dự toán"}


def test_the_holders_draft_goes_with_the_task_and_the_chain_says_so_without_its_content(
    driver: WorkflowDriver, demo_users: dict
) -> None:
    """Decision 0084: the receiver finds the form as the previous holder left it, told whose it was; the previous
    holder no longer has it; the event records that it went and whose it was, not what it holds."""
    instance_id, review_id = _review(driver)
    _save_draft(driver, "head1", review_id, DRAFT)
    _hand_on(driver, "personnel1", review_id, "supervisor1")
    assert _draft_of(driver, "head1", review_id) == (None, None)
    assert _draft_of(driver, "supervisor1", review_id) == (DRAFT, "Phạm Quốc Dũng")
    with driver.session_factory() as s:
        event = s.scalars(
            select(AuditEvent).where(
                AuditEvent.instance_id == instance_id, AuditEvent.event_type == EventType.TASK_REASSIGNED
            )
        ).one()
        payload = json.loads(event.payload)
        assert payload["draft_moved"] is True and payload["draft_saved_by_id"] == demo_users["head1"].id
        assert "dự toán" not in event.payload and "comment" not in payload
        assert verify_chains(s).ok
    with pytest.raises(NotAllowed):  # the previous holder's page saving by itself: refused, nothing written
        _save_draft(driver, "head1", review_id, {"comment": "muộn"})
    assert _draft_of(driver, "supervisor1", review_id) == (DRAFT, "Phạm Quốc Dũng")

    # Handed on again unsaved: still head1's words; handed back to head1: his own draft again, no notice.
    _hand_on(driver, "admin", review_id, "head1")
    assert _draft_of(driver, "head1", review_id) == (DRAFT, None)
    _hand_on(driver, "admin", review_id, "supervisor1")
    _save_draft(driver, "supervisor1", review_id, {"comment": "Ý kiến của tôi"})
    assert _draft_of(driver, "supervisor1", review_id) == ({"comment": "Ý kiến của tôi"}, None)  # saved: his now


def test_a_hand_on_without_a_draft_or_to_the_drafts_own_author_moves_nothing(driver: WorkflowDriver) -> None:
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    driver.complete("officer1", driver.task(instance_id, "submit_request").id, REQUEST)
    review_id = driver.task(instance_id, "review_request").id
    _hand_on(driver, "personnel1", review_id, "head1")  # a group step nobody took, no draft
    _save_draft(driver, "head1", review_id, DRAFT)
    with driver.session_factory() as s:
        payloads = [
            json.loads(p)
            for p in s.scalars(select(AuditEvent.payload).where(AuditEvent.event_type == EventType.TASK_REASSIGNED))
        ]
    assert [(p["draft_moved"], p["draft_saved_by_id"]) for p in payloads] == [(False, None)]
    assert _draft_of(driver, "head1", review_id) == (DRAFT, None)


def test_an_administrator_and_the_operator_may_too_the_steps_own_people_may_not(driver: WorkflowDriver) -> None:
    _instance_id, review_id = _review(driver)
    _hand_on(driver, "admin", review_id, "supervisor1")
    _hand_on(driver, None, review_id, "head1")  # the command line, as the server's operator
    assert _holder(driver, review_id) == "head1"
    with pytest.raises(NotAllowed):  # sees the task, holds its role, but hands nothing on
        _hand_on(driver, "supervisor1", review_id, "supervisor1")
    with pytest.raises(NotFound):  # another commune's officer does not even see it
        _hand_on(driver, "officer3", review_id, "supervisor1")


@pytest.mark.parametrize(
    ("to", "reason", "fields"),
    [
        ("officer3", "Nghỉ phép", ["assignee"]),  # no supervisor role in Xã An Phú
        ("officer1", "Nghỉ phép", ["assignee"]),  # the person the procedure is about
        ("head1", "Nghỉ phép", ["assignee"]),  # holds it already
        (None, "Nghỉ phép", ["assignee"]),
        ("supervisor1", "   ", ["reason"]),
        ("supervisor1", "x" * 501, ["reason"]),
        ("officer3", "", ["assignee", "reason"]),  # every problem at once
    ],
)
def test_bad_hand_ons_are_refused_with_every_problem_and_change_nothing(
    driver: WorkflowDriver, to: str | None, reason: str, fields: list[str]
) -> None:
    _instance_id, review_id = _review(driver)
    before = everything_stored(driver.session_factory)
    with pytest.raises(Invalid) as refused:
        _hand_on(driver, "personnel1", review_id, to, reason)
    assert [problem.field for problem in refused.value.problems] == fields
    assert everything_stored(driver.session_factory) == before
    assert _holder(driver, review_id) == "head1"


def test_a_deactivated_person_receives_nothing_and_their_own_tasks_can_be_handed_on(driver: WorkflowDriver) -> None:
    _instance_id, review_id = _review(driver)
    with driver.session_factory() as s, transaction(s):
        driver.user(s, "supervisor1").is_active = False
    with pytest.raises(Invalid):
        _hand_on(driver, "personnel1", review_id, "supervisor1")
    with driver.session_factory() as s, transaction(s):
        driver.user(s, "supervisor1").is_active = True
        driver.user(s, "head1").is_active = False  # the holder left
    with driver.session_factory() as s:
        head = driver.user(s, "head1")
        assert [task.id for task in open_tasks_of(s, head.id)] == [review_id]
        task = s.get(HumanTask, review_id)
        assert task is not None
        assert [u.username for u in eligible_receivers(s, task_facts(s, task))] == ["supervisor1"]
    _hand_on(driver, "personnel1", review_id, "supervisor1")
    assert _holder(driver, review_id) == "supervisor1"


def test_closed_tasks_and_the_subjects_own_step_do_not_move(driver: WorkflowDriver) -> None:
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    own = driver.task(instance_id, "submit_request").id
    with pytest.raises(Invalid) as refused:
        _hand_on(driver, "personnel1", own, "officer2")
    assert [problem.message for problem in refused.value.problems] == [SUBJECTS_OWN]
    driver.complete("officer1", own, REQUEST)
    with pytest.raises(Conflict):
        _hand_on(driver, "personnel1", own, "officer2")


def test_a_secret_ballot_step_is_never_handed_on(
    driver: WorkflowDriver, session_factory: sessionmaker[Session]
) -> None:
    world = setup_appointment(session_factory)
    instance_id = start(session_factory, driver.engine, world["post_id"])
    driver.complete(
        "personnel1", driver.task(instance_id, "eligibility_policy").id, {"dossier_received_on": today_text()}
    )
    driver.complete("leader1", driver.task(instance_id, "policy_decision").id, {"policy_decision": "approve"})
    conference = {"held_on": today_text(), "minutes_summary": "Thống nhất cơ cấu, tiêu chuẩn"}
    driver.complete("personnel1", driver.task(instance_id, "step1_conference").id, conference)
    ballot = driver.task(instance_id, "ballot_step2")
    before = everything_stored(session_factory)
    for actor in ("personnel1", "admin", None):
        with pytest.raises(Invalid) as refused:
            _hand_on(driver, actor, ballot.id, "admin")
        assert [problem.message for problem in refused.value.problems] == [BALLOT_STEP]
    assert everything_stored(session_factory) == before
    with session_factory() as s:
        task = s.get(HumanTask, ballot.id)
        assert task is not None and eligible_receivers(s, task_facts(s, task)) == []


def test_the_new_holder_is_notified_once_with_the_reason(driver: WorkflowDriver, demo_users: dict) -> None:
    _instance_id, review_id = _review(driver)
    create_notifications(driver.session_factory)
    _hand_on(driver, "personnel1", review_id, "supervisor1", "Đồng chí Dũng nghỉ ốm")
    create_notifications(driver.session_factory)
    create_notifications(driver.session_factory)  # read again: nothing doubled
    with driver.session_factory() as s:
        (notice,) = s.scalars(select(Notification).where(Notification.kind == REASSIGNED)).all()
        assert notice.user_id == demo_users["supervisor1"].id and notice.human_task_id == review_id
        assert notice.title == "Công việc được giao cho bạn: Xem xét, phê duyệt"
        assert "Lý do giao lại: Đồng chí Dũng nghỉ ốm" in notice.body


def test_a_hand_on_the_task_left_before_the_worker_came_tells_nobody(driver: WorkflowDriver) -> None:
    _instance_id, review_id = _review(driver)
    _hand_on(driver, "personnel1", review_id, "supervisor1")
    _hand_on(driver, "personnel1", review_id, "head1")
    create_notifications(driver.session_factory)
    with driver.session_factory() as s:
        told = s.scalars(select(Notification.user_id).where(Notification.kind == REASSIGNED)).all()
        assert told == [driver.user(s, "head1").id]


def _complete_as_the_page_does(driver: WorkflowDriver, username: str, task_id: int) -> None:
    """A completion as the task page sends it: its draft goes in the completion's write (decision 0085)."""
    with driver.session_factory() as s, transaction(s):
        operations.complete_task(
            s, driver.engine, actor=driver.user(s, username), task_id=task_id, data={"decision": "approve"}
        )


@pytest.mark.concurrency
def test_a_completion_and_a_hand_on_at_the_same_moment_one_wins_nothing_doubled(driver: WorkflowDriver) -> None:
    for _round in range(3):
        instance_id, review_id = _review(driver)
        _save_draft(driver, "head1", review_id, DRAFT)
        barrier = threading.Barrier(2)
        outcomes: dict[str, str] = {}

        def attempt(name: str, work: Any) -> None:
            barrier.wait()
            try:
                work()
                outcomes[name] = "ok"
            except WorkflowError as error:
                outcomes[name] = type(error).__name__

        threads = [
            threading.Thread(
                target=attempt,
                args=("complete", lambda: _complete_as_the_page_does(driver, "head1", review_id)),
            ),
            threading.Thread(
                target=attempt, args=("hand_on", lambda: _hand_on(driver, "personnel1", review_id, "supervisor1"))
            ),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert outcomes in (
            {"complete": "ok", "hand_on": "Conflict"},  # completed first: the hand-on finds it closed
            {"complete": "NotAllowed", "hand_on": "ok"},  # handed on first: no longer head1's to complete
        ), outcomes
        with driver.session_factory() as s:
            task = s.get(HumanTask, review_id)
            assert task is not None
            handed = s.scalar(
                select(func.count()).where(
                    AuditEvent.instance_id == instance_id, AuditEvent.event_type == EventType.TASK_REASSIGNED
                )
            )
            draft = s.get(TaskDraft, review_id)
            if outcomes["complete"] == "ok":
                assert (task.status, handed, draft) == (TaskStatus.COMPLETED, 0, None)
            else:
                assert (task.status, handed, task.assignee_id) == (TaskStatus.OPEN, 1, driver.user(s, "supervisor1").id)
                assert draft is not None and draft.user_id == task.assignee_id  # went with the task
            assert verify_chains(s).ok
