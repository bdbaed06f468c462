"""Assignee and due-date expressions on user tasks (Camunda attributes), incl. one vote task per member."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows.db import transaction
from workflows.deployment.operations import deploy_bundle
from workflows.deployment.validation import BundleFile

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "bpmn" / "camunda_assignment.bpmn"


def _deploy(driver: WorkflowDriver) -> None:
    with driver.session_factory() as s, transaction(s):
        deploy_bundle(s, [BundleFile(FIXTURE.name, FIXTURE.read_bytes())], actor=None, forms_dir=None)


def test_assignee_and_due_date_come_from_expressions(driver: WorkflowDriver, demo_users: dict) -> None:
    _deploy(driver)
    instance_id = driver.start(
        "camunda_assignment",
        as_user="personnel1",
        subject="CB0001",
        data={
            "reviewer": "supervisor1",
            "deadline": "2026-12-01T10:00:00+07:00",
            "committee": ["officer1", "officer2", "CB0004"],  # usernames or cadre codes
        },
    )
    (prepare,) = driver.open_tasks(instance_id)
    assert prepare.assignee_id == demo_users["supervisor1"].id
    assert prepare.due_dt == datetime(2026, 12, 1, 3, 0)  # stored as UTC
    assert prepare.assignment_problem is None

    driver.complete("supervisor1", prepare.id, {})
    votes = driver.open_tasks(instance_id)
    assert sorted(t.assignee_id for t in votes) == sorted(
        demo_users[name].id for name in ("officer1", "officer2", "head1")
    )
    for task in votes:
        username = next(name for name, user in demo_users.items() if user.id == task.assignee_id)
        driver.complete(username, task.id, {})
    (group_step,) = driver.open_tasks(instance_id)
    assert group_step.candidate_role == "head" and group_step.assignee_id is None


def test_an_unknown_assignee_is_an_admin_visible_problem_not_a_lost_task(driver: WorkflowDriver) -> None:
    _deploy(driver)
    instance_id = driver.start(
        "camunda_assignment", as_user="personnel1", subject="CB0001", data={"reviewer": "ghost", "deadline": "soon"}
    )
    (prepare,) = driver.open_tasks(instance_id)
    assert prepare.assignee_id is None
    assert "ghost" in (prepare.assignment_problem or "") and "soon" in (prepare.assignment_problem or "")
