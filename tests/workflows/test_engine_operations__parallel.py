"""What an advance records as changed when the process runs in parallel branches (tests/fixtures/bpmn/
parallel_clearances.bpmn): each branch carries its own copy of the data, and the join merges them — a completion's
`data_changed` event lists what that completion changed, never what a sibling branch entered; a deadline beside the
main path changes nothing by firing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows import clock
from workflows.audit import verify_chains
from workflows.db import transaction
from workflows.deployment.operations import deploy_bundle
from workflows.deployment.validation import BundleFile
from workflows.models import AuditEvent
from workflows.states import EventType, InstanceStatus
from workflows.timers import run_due_timers

MODEL = Path(__file__).resolve().parent.parent / "fixtures" / "bpmn" / "parallel_clearances.bpmn"
T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
DOSSIER = {"documents_received": ["cv", "health_certificate"], "dossier_checked_on": "2026-11-02"}
POLITICAL = {"political_result": "cleared", "political_note": "Đạt tiêu chuẩn chính trị"}
INSPECTION = {"inspection_result": "cleared", "inspection_note": "Không có đơn thư"}


def _start(driver: WorkflowDriver) -> int:
    with driver.session_factory() as s, transaction(s):
        deploy_bundle(s, [BundleFile(MODEL.name, MODEL.read_bytes())], actor=None, forms_dir=None)
    return driver.start("parallel_clearances", as_user="personnel1", subject="CB0002")


def _complete(driver: WorkflowDriver, instance_id: int, key: str, username: str, data: dict[str, Any]) -> None:
    driver.complete(username, driver.task(instance_id, key).id, data)


def _changes(driver: WorkflowDriver, instance_id: int) -> list[tuple[str, int | None, dict[str, Any]]]:
    """Each data_changed event of the instance: (actor, task row, {key: change})."""
    with driver.session_factory() as s:
        events = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.instance_id == instance_id, AuditEvent.event_type == EventType.DATA_CHANGED)
            .order_by(AuditEvent.seq)
        ).all()
        return [(e.actor_name, e.human_task_id, json.loads(e.payload)["changes"]) for e in events]


def test_each_completion_of_a_parallel_branch_records_only_its_own_changes(driver: WorkflowDriver) -> None:
    """personnel1 gives two opinions, auditor1 the third: the auditor's completion fires the join, which merges
    personnel1's entries into the data — they are personnel1's changes, recorded with theirs, not the auditor's. The
    script after the join ran because of the auditor's completion: its result is the auditor's change."""
    instance_id = _start(driver)
    steps = {task.task_key: task.id for task in driver.open_tasks(instance_id)}
    assert set(steps) == {"dossier", "political", "inspection"}
    _complete(driver, instance_id, "dossier", "personnel1", DOSSIER)
    _complete(driver, instance_id, "political", "personnel1", POLITICAL)
    _complete(driver, instance_id, "inspection", "auditor1", INSPECTION)
    assert [t.task_key for t in driver.open_tasks(instance_id)] == ["decide"]

    recorded = _changes(driver, instance_id)
    assert [(actor, task_id, set(changes)) for actor, task_id, changes in recorded] == [
        ("personnel1", steps["dossier"], set(DOSSIER)),
        ("personnel1", steps["political"], set(POLITICAL)),
        ("auditor1", steps["inspection"], {*INSPECTION, "all_cleared"}),
    ]
    (_, _, auditor_changes) = recorded[-1]
    assert auditor_changes["inspection_result"] == {"from": None, "to": "cleared"}
    assert auditor_changes["all_cleared"] == {"from": None, "to": True}

    # The next step holds the merged data; its completion records only what it changed.
    decide = driver.task(instance_id, "decide").id
    _complete(driver, instance_id, "decide", "personnel1", {"decision": "approve"})
    assert driver.instance(instance_id).status == InstanceStatus.COMPLETED
    assert _changes(driver, instance_id)[-1] == ("personnel1", decide, {"decision": {"from": None, "to": "approve"}})
    with driver.session_factory() as s:
        assert verify_chains(s).ok


def test_the_order_the_branches_finish_in_does_not_change_who_changed_what(driver: WorkflowDriver) -> None:
    """The join fired by personnel1 this time, after the auditor's opinion: personnel1's completion records its own
    opinion and the summary, not the auditor's entries."""
    instance_id = _start(driver)
    _complete(driver, instance_id, "inspection", "auditor1", INSPECTION)
    _complete(driver, instance_id, "dossier", "personnel1", DOSSIER)
    _complete(driver, instance_id, "political", "personnel1", POLITICAL)
    assert [(actor, set(changes)) for actor, _, changes in _changes(driver, instance_id)] == [
        ("auditor1", set(INSPECTION)),
        ("personnel1", set(DOSSIER)),
        ("personnel1", {*POLITICAL, "all_cleared"}),
    ]


def test_a_deadline_in_a_parallel_branch_changes_no_data_by_firing(driver: WorkflowDriver) -> None:
    """The deadline waits beside the opinions with the data as it stood when both began. When it fires, the data of
    its branch is unchanged: it did not remove what the opinions entered since (which it never had)."""
    clock.set_now(T0)
    instance_id = _start(driver)
    _complete(driver, instance_id, "dossier", "personnel1", DOSSIER)
    _complete(driver, instance_id, "political", "personnel1", POLITICAL)
    clock.set_now(T0 + timedelta(days=4))
    run_due_timers(driver.session_factory, driver.engine)
    assert {t.task_key for t in driver.open_tasks(instance_id)} == {"inspection", "escalate"}
    with driver.session_factory() as s:
        kinds = s.scalars(
            select(AuditEvent.event_type).where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.seq)
        ).all()
    assert kinds[-2:] == [EventType.TIMER_FIRED, EventType.TASK_OPENED]  # and no data_changed

    _complete(driver, instance_id, "escalate", "personnel1", {"instruction": "Hoàn thành trong tuần"})
    _complete(driver, instance_id, "inspection", "auditor1", INSPECTION)
    assert [(actor, set(changes)) for actor, _, changes in _changes(driver, instance_id)][-2:] == [
        ("personnel1", {"instruction"}),
        ("auditor1", {*INSPECTION, "all_cleared"}),
    ]
    with driver.session_factory() as s:
        assert verify_chains(s).ok
