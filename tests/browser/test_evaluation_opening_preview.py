"""The month opening's preview in a real browser (static/opening_preview.js under the CSP; decision 0089): with
cadres without a login, "Evaluations to open" shows the figure of the chosen option only, and follows the choice."""

from __future__ import annotations

import pytest

from tests.browser.test_cadre_search import _watch
from tests.browser.test_journeys import sign_in
from tests.fixtures.evaluation import MONTH
from tests.fixtures.workflow_helpers import WorkflowDriver
from tests.webapp.test_evaluation_opening import _add_cadre_without_login, _counts

pytestmark = pytest.mark.browser


def test_the_count_to_open_follows_the_choice_about_cadres_without_a_login(  # type: ignore[no-untyped-def]
    live_server: str, page, shoot, driver: WorkflowDriver
) -> None:
    from playwright.sync_api import expect

    _add_cadre_without_login(driver)
    cadres, with_login = _counts(driver)
    problems = _watch(page)
    sign_in(page, live_server, "personnel1")
    page.goto(f"{live_server}/evaluation/open")
    page.fill("#month", MONTH)
    page.select_option("#unit", "X001")
    page.get_by_role("button", name="Xem trước").click()

    skip = page.locator('[data-without-account="skip"]')
    open_too = page.locator('[data-without-account="open"]')
    expect(skip).to_be_visible()  # skipping them is the default
    expect(skip).to_contain_text(str(with_login))
    expect(open_too).to_be_hidden()
    shoot("evaluation-open-preview")

    page.check('input[name="without_account"][value="open"]')
    expect(open_too).to_be_visible()
    expect(open_too).to_contain_text(str(cadres))
    expect(skip).to_be_hidden()
    page.check('input[name="without_account"][value="skip"]')
    expect(skip).to_be_visible()
    expect(open_too).to_be_hidden()
    assert problems == []
