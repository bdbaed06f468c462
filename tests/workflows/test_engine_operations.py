"""Starting, claiming and completing tasks through the services, on the real sample model and a real database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.fixtures.models import parallel_model
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows import clock
from workflows.audit import instance_chain, verify_chains
from workflows.db import transaction
from workflows.deployment.operations import deploy_bundle
from workflows.engine import operations
from workflows.engine.store import save_instance
from workflows.errors import Conflict, Invalid, NotAllowed, NotFound
from workflows.models import AuditEvent, HumanTask, ProcessInstance
from workflows.registry.models import OrgUnit
from workflows.states import EventType, InstanceStatus, TaskStatus

REQUEST = {"subject_line": "Đề nghị cử đi học lớp trung cấp lý luận chính trị", "amount": 1}


def _events(driver: WorkflowDriver, instance_id: int) -> list[AuditEvent]:
    with driver.session_factory() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.seq)))


def _start_sample(driver: WorkflowDriver) -> int:
    return driver.start("sample_approval", as_user="officer1", subject="CB0001")


def test_start_opens_the_first_task_for_the_subject_themself(driver: WorkflowDriver, demo_users: dict) -> None:
    instance_id = _start_sample(driver)
    (task,) = driver.open_tasks(instance_id)
    assert (task.task_key, task.name, task.lane) == ("submit_request", "Lập đề nghị", "Cán bộ")
    assert task.assignee_id == demo_users["officer1"].id
    assert task.form_filename == "sample_request.json"
    assert task.assignment_problem is None
    instance = driver.instance(instance_id)
    assert instance.status == InstanceStatus.RUNNING and driver.version_of(instance_id) == 1
    assert [e.event_type for e in _events(driver, instance_id)] == [EventType.INSTANCE_STARTED, EventType.TASK_OPENED]


def test_approval_runs_through_two_lanes_and_the_gateway(driver: WorkflowDriver, demo_users: dict) -> None:
    instance_id = _start_sample(driver)
    driver.complete("officer1", driver.task(instance_id, "submit_request").id, REQUEST)

    review = driver.task(instance_id, "review_request")
    assert review.lane == "Lãnh đạo trực tiếp"
    assert review.assignee_id is None and review.candidate_role == "supervisor"
    assert review.candidate_unit_id == demo_users["officer1"].unit_id
    assert review.due_dt is not None

    instance = driver.complete("supervisor1", review.id, {"decision": "approve", "comment": "Đồng ý"})
    assert instance.status == InstanceStatus.COMPLETED and instance.ended_dt is not None
    assert instance.next_timer_at is None
    assert driver.open_tasks(instance_id) == []

    types = [e.event_type for e in _events(driver, instance_id)]
    assert types.count(EventType.TASK_COMPLETED) == 2
    assert types[-1] == EventType.INSTANCE_COMPLETED
    completed = next(e for e in _events(driver, instance_id) if e.event_type == EventType.INSTANCE_COMPLETED)
    assert json.loads(completed.payload)["end_event"] == "end_approved"
    with driver.session_factory() as s:
        assert verify_chains(s, instance_chain(instance_id)).ok


def test_data_changes_are_audited_with_before_and_after(driver: WorkflowDriver) -> None:
    instance_id = _start_sample(driver)
    task = driver.task(instance_id, "submit_request")
    driver.complete("officer1", task.id, REQUEST)
    change = next(e for e in _events(driver, instance_id) if e.event_type == EventType.DATA_CHANGED)
    payload = json.loads(change.payload)
    assert payload["changes"]["subject_line"] == {"from": None, "to": REQUEST["subject_line"]}
    assert change.actor_name == "officer1" and change.human_task_id == task.id


def test_return_for_revision_loops_back_and_is_capped(driver: WorkflowDriver) -> None:
    instance_id = _start_sample(driver)
    for _ in range(3):
        driver.complete("officer1", driver.task(instance_id, "submit_request").id, REQUEST)
        driver.complete(
            "supervisor1", driver.task(instance_id, "review_request").id, {"decision": "return", "comment": "Bổ sung"}
        )
    driver.complete("officer1", driver.task(instance_id, "submit_request").id, REQUEST)
    instance = driver.complete(  # the 4th return is more than the model allows: the procedure stops
        "supervisor1", driver.task(instance_id, "review_request").id, {"decision": "return", "comment": "Lần 4"}
    )
    assert instance.status == InstanceStatus.COMPLETED
    completed = next(e for e in _events(driver, instance_id) if e.event_type == EventType.INSTANCE_COMPLETED)
    assert json.loads(completed.payload)["end_event"] == "end_too_many_returns"


@pytest.mark.parametrize(
    ("username", "task_key", "refusal"),
    [
        # Those who may not even see the task are told it does not exist, as the web layer tells them (404).
        ("officer2", "submit_request", NotFound),  # a colleague in the same unit
        ("supervisor1", "submit_request", NotAllowed),  # the manager cannot fill in the officer's own request
        ("officer3", "submit_request", NotFound),  # another commune
        ("officer1", "review_request", NotFound),  # the requester cannot approve their own request
        ("officer3", "review_request", NotFound),
        ("personnel1", "review_request", NotAllowed),  # a province role that is not the lane's role
        ("auditor1", "review_request", NotAllowed),  # auditors read, never act
    ],
)
def test_only_the_right_people_may_complete(
    driver: WorkflowDriver, username: str, task_key: str, refusal: type[Exception]
) -> None:
    instance_id = _start_sample(driver)
    if task_key == "review_request":
        driver.complete("officer1", driver.task(instance_id, "submit_request").id, REQUEST)
    task = driver.task(instance_id, task_key)
    before = driver.instance(instance_id).lock_version
    with pytest.raises(refusal):
        driver.complete(username, task.id, {"decision": "approve"} if task_key == "review_request" else REQUEST)
    assert driver.instance(instance_id).lock_version == before
    assert driver.task(instance_id, task_key).status == TaskStatus.OPEN


def test_invalid_form_data_is_refused_with_field_problems_and_nothing_changes(driver: WorkflowDriver) -> None:
    instance_id = _start_sample(driver)
    task = driver.task(instance_id, "submit_request")
    events_before = len(_events(driver, instance_id))
    with pytest.raises(Invalid) as refused:
        driver.complete("officer1", task.id, {"amount": -5, "_secret": 1})
    fields = {p.field for p in refused.value.problems}
    assert {"subject_line", "amount", "_secret"} <= fields
    assert driver.task(instance_id, "submit_request").id == task.id
    assert len(_events(driver, instance_id)) == events_before


def _complete_form_fields_only(driver: WorkflowDriver, task_id: int, data: dict) -> None:
    with driver.session_factory() as s, transaction(s):
        actor = driver.user(s, "officer1")
        operations.complete_task(s, driver.engine, actor=actor, task_id=task_id, data=data, form_fields_only=True)


def test_with_form_fields_only_a_key_not_on_the_form_is_refused_once_by_name(driver: WorkflowDriver) -> None:
    instance_id = _start_sample(driver)
    task = driver.task(instance_id, "submit_request")
    events_before = len(_events(driver, instance_id))
    with pytest.raises(Invalid) as refused:
        _complete_form_fields_only(driver, task.id, {**REQUEST, "decision": "approve", "_secret": 1})
    problems = sorted((p.field, p.message) for p in refused.value.problems)
    assert problems == [("_secret", "unknown field"), ("decision", "unknown field")]
    assert driver.task(instance_id, "submit_request").id == task.id
    assert len(_events(driver, instance_id)) == events_before
    _complete_form_fields_only(driver, task.id, REQUEST)
    assert driver.task(instance_id, "review_request")


def test_with_form_fields_only_a_task_without_a_form_still_takes_any_data(driver: WorkflowDriver) -> None:
    """It has no fields to hold the data to: what it takes is the model's business (its scripts read it)."""
    with driver.session_factory() as s, transaction(s):
        deploy_bundle(s, [parallel_model("two_branches")], actor=None, forms_dir=None)
    instance_id = driver.start("two_branches", as_user="officer1", subject="CB0001")
    _complete_form_fields_only(driver, driver.task(instance_id, "left").id, {"anything": 1})
    assert [t.task_key for t in driver.open_tasks(instance_id)] == ["right"]


TABLE_FORM = {
    "type": "object",
    "properties": {
        "note": {"type": "string"},
        "rows": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
        "tags": {"type": "array", "items": {"type": "string"}},
        "free": {"type": "array", "items": {"type": "object"}},
    },
}


def test_the_fields_of_a_form_are_its_properties_and_its_tables_columns() -> None:
    data = {
        "note": "a",
        "rows": [{"name": "x"}, {"name": "y", "extra": 1}, "not a row"],
        "tags": ["t"],
        "free": [{"anything": 1}],  # rows without columns: not a table the form could draw, the schema decides
        "other": {"name": "z"},
    }
    assert [p.field for p in operations.unknown_form_fields(data, TABLE_FORM)] == ["other", "rows.1.extra"]
    assert [p.field for p in operations.unknown_form_fields({"note": "a"}, {"type": "object"})] == ["note"]
    valid = {"note": "a", "rows": [{"name": "x"}], "tags": [], "free": [{"anything": 1}]}
    assert operations.validate_task_data(valid, None, TABLE_FORM) == valid


def test_completing_a_closed_task_is_a_conflict(driver: WorkflowDriver) -> None:
    instance_id = _start_sample(driver)
    task = driver.task(instance_id, "submit_request")
    driver.complete("officer1", task.id, REQUEST)
    with pytest.raises(Conflict):
        driver.complete("officer1", task.id, REQUEST)


def test_unknown_task_and_process_are_not_found(driver: WorkflowDriver) -> None:
    with pytest.raises(NotFound):
        driver.complete("officer1", 999_999, {})
    with pytest.raises(NotFound):
        driver.start("no_such_process", as_user="personnel1")


def test_starting_for_someone_else_needs_a_personnel_role_in_scope(driver: WorkflowDriver) -> None:
    with pytest.raises(NotAllowed):
        driver.start("sample_approval", as_user="officer2", subject="CB0001")
    with pytest.raises(NotAllowed):
        driver.start("sample_approval", as_user="officer3", subject="CB0001")
    assert driver.start("sample_approval", as_user="personnel1", subject="CB0001") > 0


def test_business_key_makes_start_idempotent(driver: WorkflowDriver) -> None:
    first = driver.start("sample_approval", as_user="officer1", subject="CB0001", business_key="2026-11:CB0001")
    again = driver.start("sample_approval", as_user="officer1", subject="CB0001", business_key="2026-11:CB0001")
    assert first == again
    with driver.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(ProcessInstance)) == 1


def test_group_task_claim_and_release(driver: WorkflowDriver, demo_users: dict) -> None:
    instance_id = _start_sample(driver)
    driver.complete("officer1", driver.task(instance_id, "submit_request").id, REQUEST)
    review_id = driver.task(instance_id, "review_request").id
    with driver.session_factory() as s, transaction(s):
        head = driver.user(s, "head1")  # head1 also holds the supervisor role in the commune
        operations.claim_task(s, actor=head, task_id=review_id)
    with pytest.raises(NotAllowed):  # claimed: the other supervisor can no longer act on it
        driver.complete("supervisor1", review_id, {"decision": "approve"})
    with driver.session_factory() as s, transaction(s):
        operations.release_task(s, actor=driver.user(s, "head1"), task_id=review_id)
    driver.complete("supervisor1", review_id, {"decision": "approve"})
    types = [e.event_type for e in _events(driver, instance_id)]
    assert EventType.TASK_CLAIMED in types and EventType.TASK_RELEASED in types


def test_cancel_needs_an_admin_and_a_reason(driver: WorkflowDriver) -> None:
    instance_id = _start_sample(driver)
    with driver.session_factory() as s:
        with pytest.raises(NotAllowed), transaction(s):
            operations.cancel_instance(
                s, driver.engine, actor=driver.user(s, "supervisor1"), instance_id=instance_id, reason="x"
            )
        with pytest.raises(Invalid), transaction(s):
            operations.cancel_instance(
                s, driver.engine, actor=driver.user(s, "admin"), instance_id=instance_id, reason=" "
            )
        with transaction(s):
            operations.cancel_instance(
                s, driver.engine, actor=driver.user(s, "admin"), instance_id=instance_id, reason="Nhập nhầm"
            )
    instance = driver.instance(instance_id)
    assert instance.status == InstanceStatus.CANCELLED and instance.cancel_reason == "Nhập nhầm"
    assert driver.open_tasks(instance_id) == []
    types = [e.event_type for e in _events(driver, instance_id)]
    assert types[-2:] == [EventType.TASK_CANCELLED, EventType.INSTANCE_CANCELLED]


def test_a_crash_before_commit_leaves_the_previous_state(
    driver: WorkflowDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance_id = _start_sample(driver)
    task = driver.task(instance_id, "submit_request")
    before = driver.instance(instance_id)

    def crash_after_writing(*args: Any, **kwargs: Any) -> None:
        save_instance(*args, **kwargs)  # every write of the advance has reached the database …
        raise RuntimeError("process killed between engine step and commit")  # … and then the process dies

    monkeypatch.setattr(operations, "save_instance", crash_after_writing)
    with pytest.raises(RuntimeError):
        driver.complete("officer1", task.id, REQUEST)
    monkeypatch.undo()

    after = driver.instance(instance_id)
    assert (after.state, after.lock_version) == (before.state, before.lock_version)
    assert [t.id for t in driver.open_tasks(instance_id)] == [task.id]
    with driver.session_factory() as s:
        assert verify_chains(s).ok
    driver.complete("officer1", task.id, REQUEST)  # and the work can simply be done again
    assert driver.task(instance_id, "review_request")


def test_state_keeps_the_spec_by_reference(driver: WorkflowDriver) -> None:
    instance_id = _start_sample(driver)
    state = json.loads(driver.instance(instance_id).state)
    assert "spec" not in state and "subprocess_specs" not in state
    assert driver.instance(instance_id).serializer_version.startswith("canbo-1/spiff-")


def test_timer_deadline_is_computed_from_the_clock(driver: WorkflowDriver) -> None:
    start = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    clock.set_now(start)
    instance_id = _start_sample(driver)
    driver.complete("officer1", driver.task(instance_id, "submit_request").id, REQUEST)
    review = driver.task(instance_id, "review_request")
    assert review.due_dt == (start + timedelta(days=3)).replace(tzinfo=None)
    assert driver.instance(instance_id).next_timer_at == review.due_dt


def test_human_tasks_match_ready_spiff_tasks(driver: WorkflowDriver) -> None:
    instance_id = _start_sample(driver)
    driver.complete("officer1", driver.task(instance_id, "submit_request").id, REQUEST)
    instance = driver.instance(instance_id)
    with driver.session_factory() as s:
        instance = s.get(ProcessInstance, instance_id)
        definition = driver.engine.definition(s, instance.process_version_id)
        ready = {t.spiff_task_id for t in driver.engine.ready_user_tasks(driver.engine.load(definition, instance))}
        rows = set(
            s.scalars(
                select(HumanTask.spiff_task_id).where(HumanTask.instance_id == instance_id, HumanTask.status == "open")
            )
        )
    assert ready == rows and len(rows) == 1


@pytest.mark.parametrize(
    "data",
    [
        {"subject_line": "nul\x00byte"},
        {"subject_line": "lone \ud800 surrogate"},
        {"subject_line": "x", "deep": [[[[]]]] * 1},
    ],
)
def test_text_that_cannot_be_stored_is_invalid_not_a_crash(driver: WorkflowDriver, data: dict) -> None:
    instance_id = _start_sample(driver)
    task = driver.task(instance_id, "submit_request")
    if "deep" in data:
        nested: list = []
        for _ in range(40):
            nested = [nested]
        data = {"subject_line": "x", "details": nested}
    with pytest.raises(Invalid):
        driver.complete("officer1", task.id, data)
    assert driver.task(instance_id, "submit_request").id == task.id


def test_an_officer_starts_about_themself_only_in_their_own_unit(driver: WorkflowDriver) -> None:
    with driver.session_factory() as s, transaction(s):
        other_unit = s.scalar(select(OrgUnit.id).where(OrgUnit.code == "X002"))
        officer = driver.user(s, "officer1")
        with pytest.raises(NotAllowed):
            operations.start_instance(
                s,
                driver.engine,
                actor=officer,
                process_id="sample_approval",
                subject_cadre_id=officer.cadre_id,
                unit_id=other_unit,
            )


def test_nothing_starts_in_a_unit_merged_away(driver: WorkflowDriver) -> None:
    with driver.session_factory() as s, s.begin():
        x001 = s.scalar(select(OrgUnit).where(OrgUnit.code == "X001"))
        merged = OrgUnit(code="XC01", name="Xã Kim Bình", unit_type=x001.unit_type, parent_id=x001.parent_id)
        merged.path, merged.is_active, merged.merged_into_id = x001.path, False, x001.id
        s.add(merged)
        s.flush()
        former = merged.id
    with pytest.raises(Invalid) as refused, driver.session_factory() as s, transaction(s):
        operations.start_instance(
            s, driver.engine, actor=driver.user(s, "admin"), process_id="sample_approval", unit_id=former
        )
    assert refused.value.problems[0].field == "unit"
    with driver.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(ProcessInstance)) == 0


def test_only_steps_that_ask_for_nothing_but_the_decision_are_bulk_approvable(driver: WorkflowDriver) -> None:
    waiting_review = _start_sample(driver)
    driver.complete("officer1", driver.task(waiting_review, "submit_request").id, REQUEST)
    review = driver.task(waiting_review, "review_request")  # sample_review.json: the decision and a comment
    request = driver.task(_start_sample(driver), "submit_request")  # sample_request.json: fields to fill in
    with driver.session_factory() as s:
        found = operations.bulk_approvable_tasks(s, driver.engine, [review.id, request.id, 999_999])
        assert operations.bulk_approvable_tasks(s, driver.engine, []) == set()
    assert found == {review.id}
