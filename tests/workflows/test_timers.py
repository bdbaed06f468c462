"""Deadlines and scheduled work, driven by a controllable clock and the timer worker."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows import clock
from workflows.audit import verify_chains
from workflows.db import transaction
from workflows.deployment.operations import deploy_bundle
from workflows.deployment.validation import BundleFile
from workflows.errors import Conflict
from workflows.models import AuditEvent
from workflows.states import EventType, InstanceStatus, TaskStatus
from workflows.timers import run_due_timers

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bpmn"
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
REQUEST = {"subject_line": "Đề nghị"}


def _at_review(driver: WorkflowDriver) -> int:
    clock.set_now(T0)
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    driver.complete("officer1", driver.task(instance_id, "submit_request").id, REQUEST)
    return instance_id


def _deploy_fixture(driver: WorkflowDriver, name: str) -> None:
    with driver.session_factory() as s, transaction(s):
        deploy_bundle(s, [BundleFile(name, (FIXTURES / name).read_bytes())], actor=None, forms_dir=None)


def test_nothing_is_due_before_the_deadline(driver: WorkflowDriver) -> None:
    instance_id = _at_review(driver)
    clock.set_now(T0 + timedelta(days=2, hours=23))
    run = run_due_timers(driver.session_factory, driver.engine)
    assert (run.instances, run.timers_fired) == (0, 0)
    assert driver.task(instance_id, "review_request").status == TaskStatus.OPEN


def test_overdue_review_escalates_to_the_unit_head(driver: WorkflowDriver, demo_users: dict) -> None:
    instance_id = _at_review(driver)
    review = driver.task(instance_id, "review_request")
    clock.set_now(T0 + timedelta(days=3, minutes=1))

    run = run_due_timers(driver.session_factory, driver.engine)
    assert (run.instances, run.timers_fired, run.failures) == (1, 1, [])

    escalated = driver.task(instance_id, "escalated_review")
    assert escalated.lane == "Thủ trưởng đơn vị" and escalated.candidate_role == "head"
    assert [t.task_key for t in driver.open_tasks(instance_id)] == ["escalated_review"]
    with driver.session_factory() as s:
        events = list(
            s.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.seq))
        )
        assert verify_chains(s).ok
    fired = [e for e in events if e.event_type == EventType.TIMER_FIRED]
    assert json.loads(fired[0].payload)["element_id"] == "review_deadline" and fired[0].actor_name == "system"
    cancelled = [e for e in events if e.event_type == EventType.TASK_CANCELLED]
    assert cancelled[0].human_task_id == review.id

    # The supervisor's late submission is refused, not silently lost; the head decides.
    with pytest.raises(Conflict):
        driver.complete("supervisor1", review.id, {"decision": "approve"})
    instance = driver.complete("head1", escalated.id, {"decision": "approve"})
    assert instance.status == InstanceStatus.COMPLETED

    # A second poll finds nothing more to do: no timer fires twice.
    assert run_due_timers(driver.session_factory, driver.engine).timers_fired == 0


def test_each_job_is_one_log_line_with_its_duration_and_cpu(driver: WorkflowDriver, caplog) -> None:
    instance_id = _at_review(driver)
    clock.set_now(T0 + timedelta(days=3, minutes=1))

    with caplog.at_level(logging.INFO, logger="workflows.timers"):
        assert run_due_timers(driver.session_factory, driver.engine).timers_fired == 1

    (record,) = [r for r in caplog.records if getattr(r, "event", None) == "job"]
    assert (record.job, record.instance_id, record.fired, record.error) == ("timers", instance_id, 1, None)
    # The job restored, ran and stored a workflow: it took CPU, and no more than its wall time (one thread).
    assert 0 < record.cpu_ms <= record.duration_ms + 1


def test_submission_racing_the_deadline_is_refused_before_the_worker_runs(driver: WorkflowDriver) -> None:
    instance_id = _at_review(driver)
    review = driver.task(instance_id, "review_request")
    clock.set_now(T0 + timedelta(days=3, seconds=1))  # deadline passed; the worker has not polled yet
    with pytest.raises(Conflict, match="deadline"):
        driver.complete("supervisor1", review.id, {"decision": "approve"})
    # Nothing was lost or half-done: the worker escalates, exactly once.
    run = run_due_timers(driver.session_factory, driver.engine)
    assert run.timers_fired == 1
    assert [t.task_key for t in driver.open_tasks(instance_id)] == ["escalated_review"]


def test_submission_before_the_deadline_cancels_the_timer(driver: WorkflowDriver) -> None:
    instance_id = _at_review(driver)
    clock.set_now(T0 + timedelta(days=2))
    instance = driver.complete("supervisor1", driver.task(instance_id, "review_request").id, {"decision": "approve"})
    assert instance.status == InstanceStatus.COMPLETED and instance.next_timer_at is None
    clock.set_now(T0 + timedelta(days=30))
    assert run_due_timers(driver.session_factory, driver.engine).instances == 0


def test_intermediate_timer_waits_then_continues(driver: WorkflowDriver) -> None:
    _deploy_fixture(driver, "timer_intermediate.bpmn")
    clock.set_now(T0)
    instance_id = driver.start("timer_intermediate", as_user="personnel1", subject="CB0001")
    assert driver.open_tasks(instance_id) == []
    assert driver.instance(instance_id).next_timer_at == (T0 + timedelta(hours=1)).replace(tzinfo=None)
    clock.set_now(T0 + timedelta(minutes=59))
    assert run_due_timers(driver.session_factory, driver.engine).timers_fired == 0
    clock.set_now(T0 + timedelta(hours=1, seconds=1))
    assert run_due_timers(driver.session_factory, driver.engine).timers_fired == 1
    assert len(driver.open_tasks(instance_id)) == 1


def test_a_failing_timer_step_is_recorded_and_does_not_block_others(
    driver: WorkflowDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken_id = _at_review(driver)
    healthy_id = driver.start("sample_approval", as_user="officer2", subject="CB0002")
    driver.complete("officer2", driver.task(healthy_id, "submit_request").id, REQUEST)
    clock.set_now(T0 + timedelta(days=4))

    from workflows.engine import operations
    from workflows.errors import ScriptFailure

    real = operations.fire_due_timers

    def fail_for_one(session, engine, instance_id):  # type: ignore[no-untyped-def]
        if instance_id == broken_id:
            raise ScriptFailure("boom in a timer step", element_id="review_deadline")
        return real(session, engine, instance_id)

    monkeypatch.setattr("workflows.timers.fire_due_timers", fail_for_one)
    run = run_due_timers(driver.session_factory, driver.engine)
    assert run.instances == 1 and [i for i, _ in run.failures] == [broken_id]
    assert driver.task(healthy_id, "escalated_review")
    broken = driver.instance(broken_id)
    assert "boom" in (broken.last_error or "")
    assert broken.next_timer_at is not None and broken.next_timer_at > clock.utcnow_naive()
    with driver.session_factory() as s:
        error = s.scalars(
            select(AuditEvent).where(AuditEvent.instance_id == broken_id, AuditEvent.event_type == "error")
        ).one()
        assert "boom" in error.payload
        assert verify_chains(s).ok


def test_timer_start_cycle_runs_each_cycle_once(driver: WorkflowDriver) -> None:
    _deploy_fixture(driver, "timer_start.bpmn")
    clock.set_now(T0)
    instance_id = driver.start("timer_start", as_user="personnel1", subject="CB0001")
    assert driver.open_tasks(instance_id) == []
    clock.set_now(T0 + timedelta(hours=1, seconds=1))
    assert run_due_timers(driver.session_factory, driver.engine).timers_fired >= 1
    assert len(driver.open_tasks(instance_id)) == 1
    clock.set_now(T0 + timedelta(hours=2, seconds=2))
    run_due_timers(driver.session_factory, driver.engine)
    assert len(driver.open_tasks(instance_id)) == 2  # R2: two cycles, two runs of the task
    clock.set_now(T0 + timedelta(hours=5))
    run_due_timers(driver.session_factory, driver.engine)
    assert len(driver.open_tasks(instance_id)) == 2  # and no third
    with driver.session_factory() as s:
        assert verify_chains(s).ok


@pytest.mark.concurrency
def test_several_workers_side_by_side_fire_each_timer_once(driver: WorkflowDriver) -> None:
    import threading

    ids = [_at_review(driver) for _ in range(12)]
    clock.set_now(T0 + timedelta(days=4))
    barrier = threading.Barrier(3)
    runs = []

    def work() -> None:
        barrier.wait()
        runs.append(run_due_timers(driver.session_factory, driver.engine))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sum(r.timers_fired for r in runs) == 12 and all(not r.failures for r in runs)
    with driver.session_factory() as s:
        fired = s.scalars(select(AuditEvent.instance_id).where(AuditEvent.event_type == EventType.TIMER_FIRED)).all()
        assert sorted(fired) == sorted(ids)
        assert verify_chains(s).ok
