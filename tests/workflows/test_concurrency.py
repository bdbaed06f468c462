"""Many people (or retries) completing the same task at the same moment: exactly one wins, nothing is doubled."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import func, select

from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows.audit import verify_chains
from workflows.errors import Conflict
from workflows.models import AuditEvent, HumanTask
from workflows.states import EventType

pytestmark = pytest.mark.concurrency

REQUEST = {"subject_line": "Đề nghị"}


def _race(driver: WorkflowDriver, username: str, task_id: int, data: dict, threads: int = 20) -> Counter:
    barrier = threading.Barrier(threads)
    outcomes: Counter = Counter()
    lock = threading.Lock()

    def attempt() -> None:
        barrier.wait()
        try:
            driver.complete(username, task_id, data)
            result = "ok"
        except Conflict:
            result = "conflict"
        except Exception as error:
            result = f"{type(error).__name__}: {error}"
        with lock:
            outcomes[result] += 1

    workers = [threading.Thread(target=attempt) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    return outcomes


def test_twenty_simultaneous_completions_one_wins(driver: WorkflowDriver) -> None:
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    task_id = driver.task(instance_id, "submit_request").id
    version_before = driver.instance(instance_id).lock_version

    outcomes = _race(driver, "officer1", task_id, REQUEST)

    assert outcomes == Counter({"ok": 1, "conflict": 19})
    assert driver.instance(instance_id).lock_version == version_before + 1  # advanced exactly once
    with driver.session_factory() as s:
        completed = s.scalar(
            select(func.count()).where(
                AuditEvent.instance_id == instance_id, AuditEvent.event_type == EventType.TASK_COMPLETED
            )
        )
        open_reviews = s.scalar(
            select(func.count()).where(HumanTask.instance_id == instance_id, HumanTask.task_key == "review_request")
        )
        assert (completed, open_reviews) == (1, 1)
        assert verify_chains(s).ok


def test_simultaneous_work_on_different_instances_all_succeeds(driver: WorkflowDriver) -> None:
    ids = [driver.start("sample_approval", as_user="officer1", subject="CB0001") for _ in range(8)]
    tasks = [driver.task(i, "submit_request").id for i in ids]
    barrier = threading.Barrier(len(tasks))
    errors: list[BaseException] = []

    def work(task_id: int) -> None:
        barrier.wait()
        try:
            driver.complete("officer1", task_id, REQUEST)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(t,)) for t in tasks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert all(driver.task(i, "review_request") for i in ids)
    with driver.session_factory() as s:
        assert verify_chains(s).ok
