"""What each side of a monthly review sees of the other's numbers (webapp/evaluation/review_panel.py): the direct
leader sees the cadre's own value beside each he may adjust; the cadre's returned form has his comment at the top
and, beside each value he questioned, hers (still in the field, decision 0105), the one he proposes and his reason,
marked."""

from __future__ import annotations

import pytest
from lxml import html as lxml_html

from tests.fixtures.app import AuthActions
from tests.fixtures.evaluation import CRITERIA, ROWS
from tests.fixtures.workflow_helpers import WorkflowDriver
from tests.webapp.test_evaluation import _open, _self_assessment, _switch, _table, _task

pytestmark = pytest.mark.usefixtures("in_november")


def _submitted_by_the_cadre(auth: AuthActions, driver: WorkflowDriver) -> None:
    auth.login("personnel1")
    assert _open(auth).status_code == 302
    _switch(auth, "officer1")
    task = _task(driver, "CB0001", "self_assessment")
    assert auth.post(f"/tasks/{task.id}", _self_assessment(), page=f"/tasks/{task.id}").status_code == 302


def _note(page: str, described: str) -> str:
    """The note under an input, by the input's id."""
    tree = lxml_html.fromstring(page)
    notes = tree.xpath(f'//*[@id="{described}-review"]')
    assert notes, f"no note beside {described}"
    assert f"{described}-review" in (tree.get_element_by_id(described).get("aria-describedby") or "")
    return " ".join(notes[0].text_content().split())


def test_the_leader_sees_the_cadres_own_value_beside_each_he_may_adjust(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    _submitted_by_the_cadre(auth, driver)
    _switch(auth, "supervisor1")
    review = _task(driver, "CB0001", "manager_review")
    page = client.get(f"/tasks/{review.id}").get_data(as_text=True)
    assert _note(page, "criteria_competence") == "Cán bộ tự đánh giá: 9"
    assert _note(page, "products-1-completed_on_time") == "Cán bộ tự đánh giá: 20"
    assert _note(page, "products-0-name") == "Cán bộ tự đánh giá: Tham mưu văn bản"

    # He types his numbers and the page comes back (a refusal: a changed value without its reason): hers stays.
    changed = [dict(ROWS[0]), dict(ROWS[1], completed_on_time="15")]
    refused = auth.post(
        f"/tasks/{review.id}", {**_table(changed), **CRITERIA, "decision": "submit"}, page=f"/tasks/{review.id}"
    )
    assert refused.status_code == 422
    again = refused.get_data(as_text=True)
    assert 'value="15"' in again
    assert _note(again, "products-1-completed_on_time") == "Cán bộ tự đánh giá: 20"


def test_the_returned_form_shows_the_comment_and_each_changed_value(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    _submitted_by_the_cadre(auth, driver)
    _switch(auth, "supervisor1")
    review = _task(driver, "CB0001", "manager_review")
    changed = [dict(ROWS[0]), dict(ROWS[1], completed_on_time="15", reason="5 hồ sơ trễ hạn theo sổ theo dõi")]
    returned = {
        **_table(changed),
        **CRITERIA,
        "criteria_competence": "8",
        "criteria_reason": "Chưa hoàn thành lớp bồi dưỡng",
        "decision": "return",
        "comment_text": "Đề nghị xem lại tiến độ hồ sơ",
    }
    assert auth.post(f"/tasks/{review.id}", returned, page=f"/tasks/{review.id}").status_code == 302

    _switch(auth, "officer1")
    again = _task(driver, "CB0001", "self_assessment")
    page = client.get(f"/tasks/{again.id}").get_data(as_text=True)
    tree = lxml_html.fromstring(page)
    top = tree.xpath('//section[@class="review-return"]')
    assert top and "Đề nghị xem lại tiến độ hồ sơ" in top[0].text_content()
    assert page.index('class="review-return"') < page.index('class="taskform"')  # at the top of the form
    assert _note(page, "products-1-completed_on_time") == (
        "Lãnh đạo trực tiếp đề nghị xem lại: bạn ghi 20, lãnh đạo trực tiếp đề nghị 15. "
        "Lý do: 5 hồ sơ trễ hạn theo sổ theo dõi"
    )
    assert _note(page, "criteria_competence") == (
        "Lãnh đạo trực tiếp đề nghị xem lại: bạn ghi 9, lãnh đạo trực tiếp đề nghị 8. Lý do: Chưa hoàn thành lớp bồi dưỡng"
    )
    # Her own numbers stay in the fields (decision 0105): his are proposals.
    assert tree.get_element_by_id("products-1-completed_on_time").get("value") == "20"
    assert tree.get_element_by_id("criteria_competence").get("value") == "9"
    assert tree.xpath('//td[@class="cell-reviewed"]//input[@id="products-1-completed_on_time"]')
    assert tree.xpath('//div[contains(@class, "field-reviewed")]//input[@id="criteria_competence"]')
    assert not tree.xpath('//*[@id="products-0-completed-review"]')  # unchanged values carry no note
    assert len(tree.xpath('//td[@class="cell-reviewed"]')) == 1


def test_a_first_self_assessment_has_no_review_notes(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    auth.login("personnel1")
    assert _open(auth).status_code == 302
    _switch(auth, "officer1")
    task = _task(driver, "CB0001", "self_assessment")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "review-note" not in page and "review-return" not in page
