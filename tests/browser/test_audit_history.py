"""An inspector in a real browser: the full history of a procedure (diagram, every event, tally), a note added
through the form, the integrity page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_journeys import sign_in
from tests.fixtures.inspection import EVERY_EVENT, build_story
from tests.fixtures.workflow_helpers import WorkflowDriver

pytestmark = pytest.mark.browser


def test_an_inspector_reads_the_history_and_adds_a_note(live_server: str, page, shoot, driver: WorkflowDriver) -> None:  # type: ignore[no-untyped-def]
    story = build_story(driver)
    sign_in(page, live_server, "auditor1")
    page.goto(f"{live_server}/audit/instances/{story['eventful']}")
    expect(page.locator("figure.diagram svg")).to_be_visible()  # the diagram is drawn (the CSP let its styles in)
    rows = page.locator("table.history tbody tr")
    kinds = {rows.nth(i).get_attribute("data-event") for i in range(rows.count())}
    assert kinds == EVERY_EVENT
    expect(page.locator(".chain-status[data-intact=yes]")).to_be_visible()
    expect(page.locator(".tally[data-step=collective_vote] table")).to_be_visible()
    shoot("audit-01-instance-history")

    page.fill("#note-body", "Đề nghị bổ sung biên bản họp.")
    page.click("#notes button[type=submit]")
    page.wait_for_url(f"{live_server}/audit/instances/{story['eventful']}#notes")
    assert page.locator("tr[data-event=inspection_note]").count() == 2
    assert "Đề nghị bổ sung biên bản họp." in page.locator("table.history").inner_text()
    shoot("audit-02-note-added")

    page.goto(f"{live_server}/audit/integrity")
    expect(page.locator(".verify-result[data-ok=yes]")).to_be_visible()
    shoot("audit-03-integrity")
