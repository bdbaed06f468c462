"""What a monthly review changed (`review_changes`, decision 0062) as people read it wherever a history is worded:
the instance page's data and history, the inspector's history, the audit log and an export's readable part — each
value under the form's own titles ("Dòng 2, Hoàn thành đúng hạn: 20 → 15 — lý do: …"), never the field paths."""

from __future__ import annotations

import json
import re

import pytest
from lxml import html as lxml_html
from sqlalchemy import select

from tests.fixtures.app import AuthActions
from tests.fixtures.evaluation import CRITERIA, MONTH, ROWS
from tests.fixtures.workflow_helpers import WorkflowDriver
from tests.webapp.test_evaluation import _open, _self_assessment, _switch, _table, _task
from workflows.models import ProcessInstance

pytestmark = pytest.mark.usefixtures("in_november")

ROW_2 = "Dòng 2, Hoàn thành đúng hạn: 20 → 15 — lý do: 5 hồ sơ trễ hạn theo sổ theo dõi"
CRITERION = "Tiêu chí (b): năng lực chuyên môn, trách nhiệm, thái độ phục vụ, phối hợp: 9 → 8 — lý do: Chưa học lớp"
LABEL = "Giá trị được sửa hoặc đề nghị sửa khi xem xét"
RAW = ("review_changes", "products.1", "criteria_competence", "after:", "before:", "reason:")


def _returned_with_changes(auth: AuthActions, driver: WorkflowDriver) -> int:
    """The cadre's self-assessment, returned by her direct leader with a cell and a criterion changed."""
    auth.login("personnel1")
    assert _open(auth).status_code == 302
    _switch(auth, "officer1")
    task = _task(driver, "CB0001", "self_assessment")
    assert auth.post(f"/tasks/{task.id}", _self_assessment(), page=f"/tasks/{task.id}").status_code == 302
    _switch(auth, "supervisor1")
    review = _task(driver, "CB0001", "manager_review")
    changed = [dict(ROWS[0]), dict(ROWS[1], completed_on_time="15", reason="5 hồ sơ trễ hạn theo sổ theo dõi")]
    returned = {
        **_table(changed),
        **CRITERIA,
        "criteria_competence": "8",
        "criteria_reason": "Chưa học lớp",
        "decision": "return",
        "comment_text": "Đề nghị xem lại tiến độ hồ sơ",
    }
    assert auth.post(f"/tasks/{review.id}", returned, page=f"/tasks/{review.id}").status_code == 302
    with driver.session_factory() as s:
        instance_id = s.scalar(select(ProcessInstance.id).where(ProcessInstance.business_key == f"{MONTH}/CB0001"))
    assert instance_id is not None
    return instance_id


def _text(element: lxml_html.HtmlElement) -> str:
    return " ".join(element.text_content().split())


def _reviewed_items(page: str) -> list[list[str]]:
    """Each list of reviewed values on the page, as its items read."""
    tree = lxml_html.fromstring(page)
    return [[_text(li).rstrip(";") for li in ul.xpath("./li")] for ul in tree.xpath('//ul[@class="reviewed-values"]')]


def test_the_instance_page_words_the_reviews_changes_in_its_data_and_history(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    instance_id = _returned_with_changes(auth, driver)
    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    tree = lxml_html.fromstring(page)
    # The data section (folded under the technical data, decision 0062): named, each value where the form has it.
    (data,) = tree.xpath('//dd[@data-key="review_changes"]')
    assert _text(data.getprevious()) == LABEL
    # The history: the review's step, then the values it changed.
    (change,) = tree.xpath('//li[@data-key="review_changes"]')
    assert _text(change).startswith(f"{LABEL}:")
    for shown in (data, change):
        items = [_text(li).rstrip(";") for li in shown.xpath('.//ul[@class="reviewed-values"]/li')]
        assert items == [ROW_2, CRITERION]  # in the form's order: the products' table, then the criteria
        for raw in RAW:
            assert raw not in _text(shown), raw


def test_the_inspectors_history_the_log_and_the_export_word_them_alike(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    instance_id = _returned_with_changes(auth, driver)
    _switch(auth, "auditor1")
    history = client.get(f"/audit/instances/{instance_id}").get_data(as_text=True)
    log = client.get(f"/audit/events?chain=%23{instance_id}").get_data(as_text=True)
    for page in (history, log):
        assert [ROW_2, CRITERION] in _reviewed_items(page)
        (change,) = lxml_html.fromstring(page).xpath('//li[@data-key="review_changes"]')
        assert _text(change).startswith(f"{LABEL}:")
        for raw in RAW:  # (the raw record stays under the row's technical details)
            assert raw not in _text(change), raw

    exported = client.get(f"/audit/instances/{instance_id}/export?format=json")
    assert exported.status_code == 200
    document = json.loads(exported.get_data(as_text=True))
    changes = [change for event in document["readable"]["events"] for change in event["changes"]]
    (worded,) = [change for change in changes if change.startswith(LABEL)]
    assert re.sub(r"\s+", " ", worded) == f"{LABEL}: {ROW_2}; {CRITERION}"
    for raw in RAW:
        assert not any(raw in change for change in changes), raw
    # The chain's own record keeps the field paths (the technical part of the file).
    assert "products.1.completed_on_time" in json.dumps(document["events"], ensure_ascii=False)


def test_a_later_review_that_changed_nothing_says_so(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    """Each round writes `review_changes` afresh (decision 0062): the second review, agreeing unchanged, reads
    "không sửa giá trị nào" in the history while the first round's changes stay at its own event."""
    instance_id = _returned_with_changes(auth, driver)
    _switch(auth, "officer1")
    again = _task(driver, "CB0001", "self_assessment")
    assert auth.post(f"/tasks/{again.id}", _self_assessment(), page=f"/tasks/{again.id}").status_code == 302
    _switch(auth, "supervisor1")
    review = _task(driver, "CB0001", "manager_review")
    agreed = {**_table(ROWS), **CRITERIA, "decision": "submit"}
    assert auth.post(f"/tasks/{review.id}", agreed, page=f"/tasks/{review.id}").status_code == 302
    _switch(auth, "auditor1")
    tree = lxml_html.fromstring(client.get(f"/audit/instances/{instance_id}").get_data(as_text=True))
    rounds = [_text(li) for li in tree.xpath('//li[@data-key="review_changes"]')]
    assert rounds[0].startswith(f"{LABEL}: {ROW_2}")
    assert rounds[-1] == f"{LABEL}: không sửa giá trị nào"
