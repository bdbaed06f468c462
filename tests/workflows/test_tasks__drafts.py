"""A task's draft never outlives the task (decision 0085): whichever way a human task closes — completed by anyone's
call, cancelled by its deadline, by the procedure being cancelled — its draft goes in the statement that closes it
(the trigger of migration e2b9c4d7a810), while drafts of tasks still open stay, and claims keep them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows import clock
from workflows.db import transaction
from workflows.engine import operations
from workflows.errors import Invalid
from workflows.models import HumanTask
from workflows.states import TaskStatus
from workflows.tasks import own_draft
from workflows.timers import run_due_timers

REQUEST = {"subject_line": "Đề nghị cử đi học lớp bồi dưỡng", "amount": 1}
DRAFT = {"decision": "approve", "comment": "Đang cân nhắc"}
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def _at_review(driver: WorkflowDriver) -> tuple[int, int]:
    """A sample approval at its review (a supervisors' group step nobody has taken)."""
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    driver.complete("officer1", driver.task(instance_id, "submit_request").id, REQUEST)
    return instance_id, driver.task(instance_id, "review_request").id


def test_a_completion_takes_its_tasks_draft_away_and_leaves_the_others(driver: WorkflowDriver) -> None:
    _first, done = _at_review(driver)
    _second, waiting = _at_review(driver)
    driver.save_draft("supervisor1", done, DRAFT)
    driver.save_draft("supervisor1", waiting, DRAFT)

    driver.complete("supervisor1", done, {"decision": "approve"})

    assert driver.drafts() == {waiting: TaskStatus.OPEN}
    with driver.session_factory() as s:
        assert own_draft(s, driver.user(s, "supervisor1"), done) == (None, None)


def test_the_completers_draft_goes_also_when_another_person_saved_one_before(driver: WorkflowDriver) -> None:
    """The task's one draft, whoever it now belongs to: here a candidate's, the task completed by another one."""
    _instance_id, review = _at_review(driver)
    driver.save_draft("head1", review, DRAFT)

    driver.complete("supervisor1", review, {"decision": "approve"})

    assert driver.drafts() == {}


def test_a_deadline_that_cancels_the_task_takes_its_draft_away(driver: WorkflowDriver) -> None:
    clock.set_now(T0)
    instance_id, review = _at_review(driver)
    driver.save_draft("supervisor1", review, DRAFT)

    clock.set_now(T0 + timedelta(days=3, minutes=1))
    assert run_due_timers(driver.session_factory, driver.engine).timers_fired == 1

    escalated = driver.task(instance_id, "escalated_review")
    with driver.session_factory() as s:
        assert s.get(HumanTask, review).status == TaskStatus.CANCELLED  # type: ignore[union-attr]
    assert driver.drafts() == {}
    driver.save_draft("head1", escalated.id, DRAFT)  # the step that replaced it has a draft of its own
    assert driver.drafts() == {escalated.id: TaskStatus.OPEN}


def test_cancelling_the_procedure_takes_the_drafts_of_its_open_tasks_away(driver: WorkflowDriver) -> None:
    cancelled, review = _at_review(driver)
    _other, kept = _at_review(driver)
    driver.save_draft("supervisor1", review, DRAFT)
    driver.save_draft("supervisor1", kept, DRAFT)

    with driver.session_factory() as s, transaction(s):
        operations.cancel_instance(
            s, driver.engine, actor=driver.user(s, "admin"), instance_id=cancelled, reason="Nhập trùng hồ sơ"
        )

    assert driver.drafts() == {kept: TaskStatus.OPEN}


def test_taking_and_giving_back_a_task_keeps_its_draft(driver: WorkflowDriver) -> None:
    """Only a row leaving "open" takes the draft: a claim or a release changes the holder, not the status."""
    _instance_id, review = _at_review(driver)
    driver.save_draft("supervisor1", review, DRAFT)
    with driver.session_factory() as s, transaction(s):
        operations.claim_task(s, actor=driver.user(s, "supervisor1"), task_id=review)
    with driver.session_factory() as s, transaction(s):
        operations.release_task(s, actor=driver.user(s, "supervisor1"), task_id=review)

    assert driver.drafts() == {review: TaskStatus.OPEN}
    with driver.session_factory() as s:
        assert own_draft(s, driver.user(s, "supervisor1"), review)[0] == DRAFT


def test_a_refused_completion_keeps_the_draft(driver: WorkflowDriver) -> None:
    """Nothing of a refused completion is written, the draft's removal included (the same transaction)."""
    _instance_id, review = _at_review(driver)
    driver.save_draft("supervisor1", review, DRAFT)
    with pytest.raises(Invalid):
        driver.complete("supervisor1", review, {"decision": "maybe"})

    assert driver.drafts() == {review: TaskStatus.OPEN}
