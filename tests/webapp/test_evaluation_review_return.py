"""A direct leader's return of a monthly self-assessment (decision 0105): held to the same rules as an agreement
— each changed value with its reason, the numbers consistent, a comment — refused whole (422, nothing written)
otherwise; and once accepted, the cadre's own numbers stay in her form, what he typed kept as his proposals."""

from __future__ import annotations

import json
from typing import Any

import pytest
from lxml import html as lxml_html
from sqlalchemy import select

from tests.fixtures.app import AuthActions
from tests.fixtures.evaluation import CRITERIA, MONTH, ROWS
from tests.fixtures.workflow_helpers import WorkflowDriver, everything_stored
from tests.webapp.test_evaluation import _open, _self_assessment, _switch, _table, _task
from workflows.models import AuditEvent, ProcessInstance

pytestmark = pytest.mark.usefixtures("in_november")

REASON_MISSING = "Hãy nêu lý do của thay đổi này"
COMMENT_MISSING = "Vui lòng ghi ý kiến nêu rõ lý do."
# The reviewer's report: row 2 "completed" 20 → 5 alone, which leaves 20 completed with quality and on time.
INCONSISTENT = [dict(ROWS[0]), dict(ROWS[1], completed="5", reason="Sổ theo dõi ghi 5 hồ sơ")]


def _submitted_by_the_cadre(auth: AuthActions, driver: WorkflowDriver) -> int:
    """officer1's self-assessment submitted; supervisor1 signed in, her review's task id returned."""
    auth.login("personnel1")
    assert _open(auth).status_code == 302
    _switch(auth, "officer1")
    task = _task(driver, "CB0001", "self_assessment")
    assert auth.post(f"/tasks/{task.id}", _self_assessment(), page=f"/tasks/{task.id}").status_code == 302
    _switch(auth, "supervisor1")
    return _task(driver, "CB0001", "manager_review").id


def _instance_id(driver: WorkflowDriver) -> int:
    with driver.session_factory() as s:
        instance_id = s.scalar(select(ProcessInstance.id).where(ProcessInstance.business_key == f"{MONTH}/CB0001"))
    assert instance_id is not None
    return instance_id


def _errors(page: str, field_id: str) -> list[str]:
    tree = lxml_html.fromstring(page)
    return [" ".join(e.text_content().split()) for e in tree.xpath(f'//*[@id="{field_id}-error"]')]


def _return(rows: list[dict[str, str]], comment: str = "Đề nghị xem lại số hồ sơ", **fields: str) -> dict[str, str]:
    posted = {**_table(rows), **CRITERIA, "decision": "return", **fields}
    return {**posted, "comment_text": comment} if comment else posted


def _review_events(driver: WorkflowDriver, instance_id: int) -> list[dict[str, Any]]:
    """The payloads of the instance's events that carry a review's changes."""
    with driver.session_factory() as s:
        payloads = s.scalars(select(AuditEvent.payload).where(AuditEvent.instance_id == instance_id)).all()
    return [json.loads(p) for p in payloads if "review_changes" in p]


@pytest.mark.parametrize(
    ("rows", "fields", "field_id", "message"),
    [
        # A changed cell without its reason: said on the row's reason cell, as an agreement says it.
        ([dict(ROWS[0]), dict(ROWS[1], completed_on_time="15")], {}, "products-1-reason", REASON_MISSING),
        # A changed criterion without the criteria's reason.
        (ROWS, {"criteria_politics": "2"}, "criteria_reason", REASON_MISSING),
        # Numbers that do not hold together, reason given: said on the cell that breaks them.
        (INCONSISTENT, {}, "products-1-completed_quality", None),
    ],
)
def test_a_return_that_changes_values_is_held_to_the_agreements_rules(
    auth: AuthActions, client, driver: WorkflowDriver, rows, fields, field_id, message
) -> None:
    review_id = _submitted_by_the_cadre(auth, driver)
    before = everything_stored(driver.session_factory)
    refused = auth.post(f"/tasks/{review_id}", _return(rows, **fields), page=f"/tasks/{review_id}")
    assert refused.status_code == 422
    errors = _errors(refused.get_data(as_text=True), field_id)
    assert errors and (message is None or errors == [message])
    assert everything_stored(driver.session_factory) == before  # no event, no return counted
    assert _task(driver, "CB0001", "manager_review").id == review_id

    # The same edits with "Đồng ý" are refused with the same words.
    agreed = auth.post(
        f"/tasks/{review_id}", {**_return(rows, **fields), "decision": "submit"}, page=f"/tasks/{review_id}"
    )
    assert agreed.status_code == 422
    assert _errors(agreed.get_data(as_text=True), field_id) == errors


@pytest.mark.parametrize("rows", [ROWS, INCONSISTENT], ids=["unchanged", "changed"])
def test_a_return_without_a_comment_is_refused_with_422(
    auth: AuthActions, client, driver: WorkflowDriver, rows
) -> None:
    review_id = _submitted_by_the_cadre(auth, driver)
    before = everything_stored(driver.session_factory)
    refused = auth.post(f"/tasks/{review_id}", _return(rows, comment=""), page=f"/tasks/{review_id}")
    assert refused.status_code == 422
    assert _errors(refused.get_data(as_text=True), "comment_text") == [COMMENT_MISSING]
    assert everything_stored(driver.session_factory) == before


def test_a_return_keeps_the_cadres_numbers_and_records_the_leaders_proposals(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    review_id = _submitted_by_the_cadre(auth, driver)
    proposed = [dict(ROWS[0]), dict(ROWS[1], completed_on_time="15", reason="5 hồ sơ trễ hạn theo sổ theo dõi")]
    returned = _return(proposed, criteria_competence="8", criteria_reason="Chưa học lớp bồi dưỡng")
    assert auth.post(f"/tasks/{review_id}", returned, page=f"/tasks/{review_id}").status_code == 302

    # The audit log: the return's data change holds what he proposed, each with its reason, and leaves her numbers.
    (completed, data_changed) = _review_events(driver, _instance_id(driver))
    assert "products" not in completed["fields"] and "criteria_competence" not in completed["fields"]
    changes = data_changed["changes"]
    assert changes["decision"]["to"] == "return"
    assert not {"products", *CRITERIA} & changes.keys()
    assert changes["review_changes"]["to"] == {
        "criteria_competence": {"after": 8.0, "before": 9.0, "reason": "Chưa học lớp bồi dưỡng"},
        "products.1.completed_on_time": {"after": 15.0, "before": 20.0, "reason": "5 hồ sơ trễ hạn theo sổ theo dõi"},
    }

    # Her form comes back with her own numbers, his beside them, and no error shown.
    _switch(auth, "officer1")
    again = _task(driver, "CB0001", "self_assessment")
    data = driver.prefill("officer1", again.id)
    assert data["products"][1]["completed_on_time"] == 20 and data["criteria_competence"] == 9
    assert "reason" not in data["products"][1]
    page = client.get(f"/tasks/{again.id}").get_data(as_text=True)
    tree = lxml_html.fromstring(page)
    assert tree.get_element_by_id("products-1-completed_on_time").get("value") == "20"
    assert tree.get_element_by_id("criteria_competence").get("value") == "9"
    note = " ".join(tree.get_element_by_id("products-1-completed_on_time-review").text_content().split())
    assert note == (
        "Lãnh đạo trực tiếp đề nghị xem lại: bạn ghi 20, lãnh đạo trực tiếp đề nghị 15. "
        "Lý do: 5 hồ sơ trễ hạn theo sổ theo dõi"
    )
    assert not tree.xpath('//*[@class="field-error"]') and "error-summary" not in page
    # Submitted again as it stands: her numbers are valid, so it goes.
    assert auth.post(f"/tasks/{again.id}", _self_assessment(), page=f"/tasks/{again.id}").status_code == 302
