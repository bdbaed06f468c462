"""A returned self-assessment on a 400 px phone (webapp/evaluation/review_panel.py): the leader's comment at the
top, each changed value marked with her value, his and his reason — readable without the page scrolling sideways."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_evaluation_form import _open_month
from tests.browser.test_journeys import sign_in
from tests.fixtures.evaluation import SELF_ASSESSMENT
from tests.fixtures.workflow_helpers import WorkflowDriver

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("in_november")]


def test_a_returned_self_assessment_shows_what_was_changed_on_a_phone(  # type: ignore[no-untyped-def]
    live_server: str, browser, driver: WorkflowDriver
) -> None:
    instance_id = _open_month(driver)
    driver.complete("officer1", driver.task(instance_id, "self_assessment").id, SELF_ASSESSMENT)
    product = {**SELF_ASSESSMENT["products"][0], "completed_on_time": 6, "reason": "4 văn bản trễ hạn"}
    driver.complete(
        "supervisor1",
        driver.task(instance_id, "manager_review").id,
        {**SELF_ASSESSMENT, "products": [product], "decision": "return", "comment": "Xem lại tiến độ"},
    )
    task_id = driver.task(instance_id, "self_assessment").id

    context = browser.new_context(viewport={"width": 400, "height": 800}, locale="vi-VN")
    page = context.new_page()
    try:
        sign_in(page, live_server, "officer1")
        page.goto(f"{live_server}/tasks/{task_id}")
        top = page.locator("section.review-return")
        assert top.is_visible() and "Xem lại tiến độ" in top.inner_text()
        note = page.locator("#products-0-completed_on_time-review")
        note.scroll_into_view_if_needed()
        expect(note).to_be_visible()
        # A return keeps her number and shows the leader's proposal beside it (decision 0105).
        assert "4 văn bản trễ hạn" in note.inner_text() and "6" in note.inner_text()
        assert page.input_value("#products-0-completed_on_time") == "10"
        # The page itself does not scroll sideways (the table may, inside its own box).
        assert page.evaluate("document.documentElement.scrollWidth") <= 400
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "30-evaluation-returned-400px.png"), full_page=True)
    finally:
        context.close()
