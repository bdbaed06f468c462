"""What people do, in a real browser: an officer submits (after a validation error), a supervisor approves,
the instance page shows the highlighted diagram, the language switch works."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows.db import transaction
from workflows.registry.models import OrgUnit
from workflows.states import InstanceStatus

pytestmark = pytest.mark.browser


def sign_in(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/auth/login")
    page.fill("#username", username)
    page.fill("#password", "demo")
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{base}/inbox")


def sign_out(page) -> None:  # type: ignore[no-untyped-def]
    page.get_by_role("button", name="Đăng xuất").click()


def test_officer_submits_and_supervisor_approves(live_server: str, page, shoot, driver: WorkflowDriver) -> None:  # type: ignore[no-untyped-def]
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")

    page.goto(f"{live_server}/auth/login")
    shoot("01-sign-in")
    sign_in(page, live_server, "officer1")
    assert page.locator("h1").inner_text() == "Hộp công việc"
    shoot("02-officer-inbox")

    page.get_by_role("link", name="Lập đề nghị").click()
    page.fill("#amount", "-3")
    page.click("button[value=submit]")
    error = page.locator(".field-error").first
    expect(error).to_be_visible()
    assert "0" in page.locator("#amount").input_value() or page.locator("#amount").input_value() == "-3"
    shoot("03-form-validation-error")
    assert page.locator("#amount").input_value() == "-3"  # what the person typed is kept

    page.fill("#subject_line", "Đề nghị cử đi học lớp trung cấp lý luận chính trị")
    page.fill("#amount", "1")
    page.click("button[value=submit]")
    page.wait_for_url(f"{live_server}/inbox")
    assert "Lập đề nghị" in page.locator(".flash.success").inner_text()
    sign_out(page)

    sign_in(page, live_server, "supervisor1")
    # The tab (named with its count), not the empty list's "Xem việc của nhóm" pointing to the same list (0118).
    page.get_by_role("link", name=re.compile(r"^Việc của nhóm")).click()
    shoot("04-supervisor-group-tasks")
    page.click("button:has-text('Nhận việc')")
    assert page.locator("h1").inner_text() == "Xem xét, phê duyệt"
    shoot("05-review-form")
    page.click("button[value=approve]")
    page.wait_for_url(f"{live_server}/inbox")
    assert driver.instance(instance_id).status == InstanceStatus.COMPLETED

    page.goto(f"{live_server}/instances/{instance_id}")
    diagram = page.locator("svg[role=img]")
    expect(diagram).to_be_visible()
    assert "completed" in (page.locator('[data-element-id="review_request"]').get_attribute("class") or "")
    assert "completed" in (page.locator('[data-element-id="end_approved"]').get_attribute("class") or "")
    shoot("06-instance-diagram")


def test_instance_page_highlights_the_current_step(live_server: str, page, shoot, driver: WorkflowDriver) -> None:  # type: ignore[no-untyped-def]
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    driver.complete("officer1", driver.task(instance_id, "submit_request").id, {"subject_line": "Đề nghị"})
    sign_in(page, live_server, "supervisor1")
    page.goto(f"{live_server}/instances/{instance_id}")
    current = page.locator('[data-element-id="review_request"]')
    assert "current" in (current.get_attribute("class") or "")
    assert "completed" in (page.locator('[data-element-id="submit_request"]').get_attribute("class") or "")
    shoot("07-instance-current-step")


def test_language_switch(live_server: str, page, shoot, driver: WorkflowDriver) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, live_server, "officer1")
    page.click("button:has-text('English')")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Inbox"
    assert page.locator("html").get_attribute("lang") == "en"
    shoot("08-english-inbox")
    page.click("button:has-text('Tiếng Việt')")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Hộp công việc"


def test_phone_sized_inbox(live_server: str, browser, driver: WorkflowDriver) -> None:  # type: ignore[no-untyped-def]
    driver.start("sample_approval", as_user="officer1", subject="CB0001")
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN", is_mobile=True)
    page = context.new_page()
    sign_in(page, live_server, "officer1")
    expect(page.get_by_role("link", name="Lập đề nghị")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400  # no sideways scrolling on a phone
    from tests.browser.conftest import ARTIFACTS

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "09-phone-inbox.png"), full_page=True)
    context.close()


def test_phone_sized_pages_with_a_unit_list(live_server: str, browser, driver: WorkflowDriver) -> None:  # type: ignore[no-untyped-def]
    """The filters' unit list holds the longest unit names of the province: on a phone it must not widen the page."""
    with driver.session_factory() as s, transaction(s):
        province = s.scalars(select(OrgUnit).where(OrgUnit.parent_id.is_(None))).first()
        assert province is not None
        s.add(
            OrgUnit(
                code="X999",
                name="Ban Chỉ đạo thực hiện Nghị quyết về sắp xếp tổ chức bộ máy của hệ thống chính trị tỉnh",
                unit_type="party_body",
                parent_id=province.id,
                path=f"{province.path}{province.id}/",
            )
        )
    context = browser.new_context(viewport={"width": 400, "height": 800}, locale="vi-VN", is_mobile=True)
    page = context.new_page()
    widths = {}
    for username, paths in (
        ("personnel1", ("/inbox", "/instances", "/evaluation/results")),
        ("auditor1", ("/audit/events",)),
    ):
        sign_in(page, live_server, username)
        for path in paths:
            page.goto(f"{live_server}{path}")
            assert page.locator("select[name=unit]").count() == 1, path
            widths[path] = page.evaluate("document.documentElement.scrollWidth")
        page.context.clear_cookies()
    context.close()
    assert all(width <= 400 for width in widths.values()), widths


def test_targets_dashboard_renders_its_charts(live_server: str, page, shoot, driver: WorkflowDriver) -> None:  # type: ignore[no-untyped-def]
    sign_in(page, live_server, "personnel1")
    page.goto(f"{live_server}/reports/targets")
    assert page.locator("h1").inner_text() == "Chỉ tiêu"
    expect(page.locator("svg[role=img]").first).to_be_visible()
    shoot("10-targets-dashboard")
    page.locator("table.tasks a").first.click()
    page.wait_for_url(re.compile(r"/reports/targets/[^/?#]+"))  # the drill-down, not the dashboard's own charts
    expect(page.locator("svg[role=img]").first).to_be_visible()
    shoot("11-target-drilldown")
