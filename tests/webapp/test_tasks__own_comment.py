"""A form that names its own comment field ("x-comment-field", decision 0091): the task page draws no second comment
box beside it, and what the person writes in that field is kept with the form's data, once."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.fixtures.app import AuthActions
from tests.fixtures.evaluation import MONTH, SELF_ASSESSMENT, vietnamese
from tests.fixtures.workflow_helpers import WorkflowDriver, everything_stored
from tests.workflows.test_monthly_evaluation import _data
from workflows.db import transaction
from workflows.deployment.operations import deploy_bundle
from workflows.deployment.validation import BundleFile
from workflows.evaluation.opening import open_for_cadres, plan_month
from workflows.models import Comment, ProcessInstance
from workflows.registry.models import User
from workflows.rules.evaluation import DEFAULT_POLICY

pytestmark = pytest.mark.usefixtures("in_november")

ROOT = Path(__file__).resolve().parents[2]
FORMS, BPMN = ROOT / "forms", ROOT / "bpmn"


def _review_of_officer1(driver: WorkflowDriver) -> int:
    """officer1's evaluation of the month, self-assessed: its instance, at the direct leader's review."""
    with driver.session_factory() as session, transaction(session):
        actor = session.scalars(select(User).where(User.username == "personnel1")).one()
        plan = plan_month(session, actor=actor, month=MONTH, unit_code="X001", include_subunits=False)
        open_for_cadres(session, driver.engine, actor=actor, plan=plan, cadres=plan.to_open, policy=DEFAULT_POLICY)
    with driver.session_factory() as session:
        instance_id = session.scalar(
            select(ProcessInstance.id).where(ProcessInstance.business_key == f"{MONTH}/CB0001")
        )
    assert instance_id is not None
    driver.complete("officer1", driver.task(instance_id, "self_assessment").id, SELF_ASSESSMENT)
    return instance_id


def _at_head_decision(driver: WorkflowDriver) -> tuple[int, int]:
    instance_id = _review_of_officer1(driver)
    review = driver.task(instance_id, "manager_review")
    driver.complete("supervisor1", review.id, {**SELF_ASSESSMENT, "decision": "submit"})
    return instance_id, driver.task(instance_id, "head_decision").id


def test_the_heads_decision_has_one_comment_box(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    _instance_id, task_id = _at_head_decision(driver)
    auth.login("head1")
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert re.search(r'<textarea[^>]*name="decision_comment"', page)
    assert 'name="comment_text"' not in page and 'for="comment_text"' not in page


def test_the_heads_comment_is_kept_in_the_data_and_not_twice(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    instance_id, task_id = _at_head_decision(driver)
    auth.login("head1")
    posted = {"grade": "HTXSNV", "decision_comment": "Đồng ý với đề xuất", "action": "submit"}
    assert auth.post(f"/tasks/{task_id}", posted, page=f"/tasks/{task_id}").status_code == 302
    assert _data(driver.session_factory, driver.engine, instance_id)["decision_comment"] == "Đồng ý với đề xuất"
    with driver.session_factory() as session:
        assert session.scalar(select(func.count(Comment.id)).where(Comment.human_task_id == task_id)) == 0


def test_a_form_without_its_own_comment_field_keeps_the_box(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    instance_id = _review_of_officer1(driver)
    review = driver.task(instance_id, "manager_review")
    auth.login("supervisor1")
    page = client.get(f"/tasks/{review.id}").get_data(as_text=True)
    assert re.search(r'<textarea id="comment_text" name="comment_text"', page)


def _review_with_own_comment(driver: WorkflowDriver) -> tuple[int, int]:
    """The sample approval deployed again with its review naming `comment` as the form's own comment field."""
    review = json.loads((FORMS / "sample_review.json").read_text(encoding="utf-8"))
    review["x-comment-field"] = "comment"
    with driver.session_factory() as session, transaction(session):
        deploy_bundle(
            session,
            [BundleFile("sample_approval.bpmn", (BPMN / "sample_approval.bpmn").read_bytes())],
            actor=None,
            forms_dir=None,
            extra_forms={
                "sample_request.json": (FORMS / "sample_request.json").read_bytes(),
                "sample_review.json": json.dumps(review).encode(),
            },
        )
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    driver.complete("officer1", driver.task(instance_id, "submit_request").id, {"subject_line": "Đề nghị"})
    return instance_id, driver.task(instance_id, "review_request").id


def test_a_return_needs_the_forms_own_comment(app: Flask, auth: AuthActions, client, driver: WorkflowDriver) -> None:
    instance_id, review_id = _review_with_own_comment(driver)
    auth.login("supervisor1")
    page = client.get(f"/tasks/{review_id}").get_data(as_text=True)
    assert re.search(r'<textarea[^>]*name="comment"', page) and 'name="comment_text"' not in page
    before = everything_stored(driver.session_factory)
    refused = auth.post(f"/tasks/{review_id}", {"decision": "return", "comment": "  "}, page=f"/tasks/{review_id}")
    assert refused.status_code == 422
    said = refused.get_data(as_text=True)
    message = vietnamese(app, "Write a comment explaining why.")
    assert re.search(r'<div class="field-error" id="comment-error" role="alert"><p>' + re.escape(message), said)
    assert '<a href="#comment">' in said  # the summary links to the form's own field
    assert everything_stored(driver.session_factory) == before
    returned = auth.post(
        f"/tasks/{review_id}", {"decision": "return", "comment": "Bổ sung số lượng"}, page=f"/tasks/{review_id}"
    )
    assert returned.status_code == 302
    assert driver.task(instance_id, "submit_request")  # back to the officer
