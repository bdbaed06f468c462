"""The direct leader's review of a month in a real browser (decision 0091): every column of the products and the
reason of each row fit a 1366 px laptop without a sideways scroll; on a 390 px phone the reason is reached, under its
row; on the head's decision the products of the month take the list's whole width, their headers whole words."""

from __future__ import annotations

import pytest

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_evaluation_form import _open_month
from tests.browser.test_journeys import sign_in
from tests.fixtures.evaluation import SELF_WITH_TWO_ROWS
from tests.fixtures.workflow_helpers import WorkflowDriver

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("in_november")]


def _in_view(page, selector: str, width: int) -> bool:  # type: ignore[no-untyped-def]
    box = page.locator(selector).bounding_box()
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width


@pytest.mark.parametrize("width", [1366, 1920])
def test_the_reason_of_a_change_is_in_view_on_a_laptop(  # type: ignore[no-untyped-def]
    live_server: str, browser, driver: WorkflowDriver, width: int
) -> None:
    instance_id = _open_month(driver)
    driver.complete("officer1", driver.task(instance_id, "self_assessment").id, SELF_WITH_TWO_ROWS)
    task_id = driver.task(instance_id, "manager_review").id
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="vi-VN")
    page = context.new_page()
    try:
        sign_in(page, live_server, "supervisor1")
        page.goto(f"{live_server}/tasks/{task_id}")
        table = page.locator("div#products")
        # No column hidden behind a sideways scroll of the table's box, nor of the page.
        assert table.evaluate("box => box.scrollWidth <= box.clientWidth")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        for selector in ("#products-0-reason", "#products-0-evidence", "#products-0-delays", "#products-1-reason"):
            assert _in_view(page, selector, width), selector
        assert page.get_by_label("Lý do điều chỉnh").first.get_attribute("id") == "products-0-reason"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"40-evaluation-review-{width}px.png"), full_page=True)
    finally:
        context.close()


def test_the_reason_of_a_change_is_reached_on_a_phone(  # type: ignore[no-untyped-def]
    live_server: str, browser, driver: WorkflowDriver
) -> None:
    instance_id = _open_month(driver)
    driver.complete("officer1", driver.task(instance_id, "self_assessment").id, SELF_WITH_TWO_ROWS)
    task_id = driver.task(instance_id, "manager_review").id
    context = browser.new_context(viewport={"width": 390, "height": 800}, locale="vi-VN")
    page = context.new_page()
    try:
        sign_in(page, live_server, "supervisor1")
        page.goto(f"{live_server}/tasks/{task_id}")
        reason = page.locator("#products-0-reason")
        reason.scroll_into_view_if_needed()
        assert _in_view(page, "#products-0-reason", 390)
        reason.fill("Chậm 2 văn bản")  # it takes what is typed: not covered by the sticky name column
        assert reason.input_value() == "Chậm 2 văn bản"
        # The counts scroll sideways inside the table's box; the reason stays under its row, in view.
        page.locator("div#products").evaluate("box => { box.scrollLeft = box.scrollWidth; }")
        assert _in_view(page, "#products-0-reason", 390)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "41-evaluation-review-390px.png"), full_page=True)
    finally:
        context.close()


def test_the_months_products_take_the_whole_width_on_the_heads_decision(  # type: ignore[no-untyped-def]
    live_server: str, browser, driver: WorkflowDriver
) -> None:
    instance_id = _open_month(driver)
    driver.complete("officer1", driver.task(instance_id, "self_assessment").id, SELF_WITH_TWO_ROWS)
    review = driver.task(instance_id, "manager_review").id
    driver.complete("supervisor1", review, {**SELF_WITH_TWO_ROWS, "decision": "submit"})
    task_id = driver.task(instance_id, "head_decision").id
    context = browser.new_context(viewport={"width": 390, "height": 800}, locale="vi-VN")
    page = context.new_page()
    try:
        sign_in(page, live_server, "head1")
        page.goto(f"{live_server}/tasks/{task_id}")
        details = page.locator("details.context")
        if details.get_attribute("open") is None:
            details.locator("summary").click()
        products = page.locator('dd[data-key="products"]')
        label = page.locator(
            "dl.facts dt", has=page.locator("xpath=self::*[following-sibling::dd[1][@data-key='products']]")
        )
        assert products.bounding_box()["x"] <= label.bounding_box()["x"] + 1  # under its label, not beside it
        # Each header breaks between words: no line of it is a piece of a word.
        for header in page.locator('dd[data-key="products"] th').all():
            words = header.inner_text().split()
            widest = max(
                header.evaluate(
                    "(th, word) => { const c = document.createElement('canvas').getContext('2d');"
                    " c.font = getComputedStyle(th).font; return c.measureText(word).width; }",
                    word,
                )
                for word in words
            )
            assert widest <= header.evaluate("th => th.clientWidth"), header.inner_text()
        assert page.locator("#comment_text").count() == 0 and page.locator("#decision_comment").count() == 1
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "42-evaluation-decision-390px.png"), full_page=True)
    finally:
        context.close()
