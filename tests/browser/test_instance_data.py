"""The procedure page of a worked-through monthly evaluation on a phone: its data and history fit the screen."""

from __future__ import annotations

import pytest

from tests.browser.test_journeys import sign_in
from tests.fixtures.workflow_helpers import WorkflowDriver
from tests.webapp.test_instances import evaluated_month

pytestmark = pytest.mark.browser


def test_phone_sized_procedure_page_fits_the_screen(live_server: str, browser, driver: WorkflowDriver) -> None:  # type: ignore[no-untyped-def]
    instance_id = evaluated_month(driver)
    context = browser.new_context(viewport={"width": 400, "height": 800}, locale="vi-VN", is_mobile=True)
    page = context.new_page()
    sign_in(page, live_server, "head1")
    page.goto(f"{live_server}/instances/{instance_id}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 400  # no sideways scrolling of the page
    # every value of the data starts on the screen (a wide table scrolls inside its own box)
    lefts = page.eval_on_selector_all(
        "section[aria-labelledby=data-heading] dd[data-key]", "els => els.map(e => e.getBoundingClientRect().left)"
    )
    assert lefts and all(0 <= left < 400 for left in lefts), lefts
    from tests.browser.conftest import ARTIFACTS

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "phone-procedure-page.png"), full_page=True)
    context.close()
