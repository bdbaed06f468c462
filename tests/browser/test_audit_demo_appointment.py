"""The inspector's day on the demo (user journeys: Đồng chí Tuấn), in a real browser: the demo's past appointment
(decision 0127) found through the log's filters, its whole history read — the diagram with the path it took and no
repeated conference, who voted at each conference and each count with its basis — and its integrity checked."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.test_journeys import sign_in
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows.appointment.demo import run_past_appointment
from workflows.db import transaction
from workflows.registry.demo import load_demo_province
from workflows.registry.models import OrgUnit
from workflows.registry.records import local_today

pytestmark = pytest.mark.browser


def test_an_inspector_finds_the_demo_appointment_and_reads_its_conferences(  # type: ignore[no-untyped-def]
    live_server: str, page, shoot, driver: WorkflowDriver
) -> None:
    with driver.session_factory() as s, transaction(s):
        load_demo_province(s, cadres=300, today=local_today())
    with driver.session_factory() as s, transaction(s):
        past = run_past_appointment(s, driver.engine, today=local_today())
        assert past is not None
        commune = s.scalars(select(OrgUnit.id).where(OrgUnit.code == "X001")).one()

    sign_in(page, live_server, "auditor1")
    page.goto(f"{live_server}/audit/events")
    page.select_option("select[name=process]", "appointment")
    page.select_option("select[name=unit]", str(commune))
    page.select_option("select[name=event_type]", "instance_completed")
    page.click("form.filters button[type=submit]")
    found = page.locator(f'a[href="/audit/instances/{past.instance_id}"]')
    assert found.count() >= 1 and past.nominee in found.first.inner_text()
    found.first.click()
    page.wait_for_url(f"{live_server}/audit/instances/{past.instance_id}")

    expect(page.locator("figure.diagram svg")).to_be_visible()
    assert "taken" in (page.locator('g[data-element-id="Flow_step5_next"]').get_attribute("class") or "")
    for step in (2, 3, 4, 5):  # every conference had its quorum: no way back to it is drawn as taken
        assert "taken" not in (
            page.locator(f'g[data-element-id="Flow_step{step}_repeat"]').get_attribute("class") or ""
        )
    assert page.locator("tr[data-event=ballot_cast]").count() == 12
    closed = page.locator("tr[data-event=ballot_closed]")
    assert closed.count() == 4
    assert "trên 1/2 tổng số thành viên tập thể lãnh đạo (4)" in closed.nth(3).inner_text()
    expect(page.locator(".chain-status[data-intact=yes]")).to_be_visible()
    shoot("audit-demo-01-appointment-history")

    page.goto(f"{live_server}/audit/integrity")
    expect(page.locator(".verify-result[data-ok=yes]")).to_be_visible()
