"""The main menu on a 390 px phone (decision 0092): its entries wrap onto rows below the app's name, every one in view
— a strip scrolling sideways hid "Thông báo" and "Đánh giá hằng tháng" past "Khởi tạo hồ s…" — and the group's
count says whose it is in words."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_journeys import sign_in
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows.db import transaction
from workflows.notifications import notify_cadre
from workflows.registry.models import User

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
# Each menu entry's box against the viewport, and whether the menu or the page scrolls sideways.
MENU_BOXES = """() => {
  const nav = document.querySelector('nav.mainnav');
  return {
    entries: [...nav.querySelectorAll('a')].map(a => {
      const r = a.getBoundingClientRect();
      return {text: a.innerText.replace(/\\s+/g, ' ').trim(), left: r.left, right: r.right, top: r.top,
              bottom: r.bottom};
    }),
    nav_overflow: nav.scrollWidth - nav.clientWidth,
    page_width: document.documentElement.scrollWidth,
    header: document.querySelector('header').getBoundingClientRect().height,
    heading_top: document.querySelector('h1').getBoundingClientRect().top,
  };
}"""


def _phone(browser):  # type: ignore[no-untyped-def]
    return browser.new_context(viewport=PHONE, locale="vi-VN", is_mobile=True).new_page()


def _in_view(entry: dict) -> bool:  # type: ignore[type-arg]
    return entry["left"] >= 0 and entry["right"] <= PHONE["width"] and entry["bottom"] <= PHONE["height"]


def test_the_officers_notifications_are_in_the_menu_in_view(  # type: ignore[no-untyped-def]
    live_server: str, browser, driver: WorkflowDriver
) -> None:
    with driver.session_factory() as session, transaction(session):
        cadre_id = session.scalars(select(User.cadre_id).where(User.username == "officer1")).one()
        assert cadre_id is not None
        notify_cadre(
            session, cadre_id, kind="evaluation_result", instance_id=None, title="Kết quả đánh giá", body="Điểm: 81."
        )
    page = _phone(browser)
    sign_in(page, live_server, "officer1")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "phone-390-officer-menu.png"))
    notifications = page.locator("nav.mainnav").get_by_role("link", name="Thông báo")
    expect(notifications).to_be_visible()
    assert " ".join(notifications.inner_text().split()) == "Thông báo 1"
    measured = page.evaluate(MENU_BOXES)
    shown = {entry["text"]: entry for entry in measured["entries"]}
    assert {"Thông báo 1", "Đánh giá hằng tháng"} <= set(shown), shown
    assert all(_in_view(entry) for entry in measured["entries"]), measured
    assert measured["nav_overflow"] <= 0 and measured["page_width"] <= PHONE["width"], measured
    notifications.click()  # and it is reached with a tap, no scrolling
    page.wait_for_url(f"{live_server}/notifications")
    assert page.locator("h1").inner_text() == "Thông báo"
    page.context.close()


def test_an_administrators_dozen_entries_wrap_and_keep_the_page_in_view(live_server: str, browser) -> None:  # type: ignore[no-untyped-def]
    """A column of one entry per line made a 480 px header; wrapped side by side they take a few short rows, and
    the page's heading stays high on the screen."""
    page = _phone(browser)
    sign_in(page, live_server, "admin")
    page.screenshot(path=str(ARTIFACTS / "phone-390-admin-menu.png"))
    measured = page.evaluate(MENU_BOXES)
    assert len(measured["entries"]) >= 10, measured
    assert all(_in_view(entry) for entry in measured["entries"]), measured
    assert measured["nav_overflow"] <= 0 and measured["page_width"] <= PHONE["width"], measured
    assert measured["header"] <= 200 and measured["heading_top"] < PHONE["height"] / 3, measured
    page.locator("nav.mainnav").get_by_role("link", name="Quản trị").click()  # the last entry
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Quản trị"
    page.context.close()


def test_the_group_count_says_whose_it_is_on_a_phone(  # type: ignore[no-untyped-def]
    live_server: str, browser, driver: WorkflowDriver
) -> None:
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    driver.complete("officer1", driver.task(instance_id, "submit_request").id, {"subject_line": "Đề nghị"})
    page = _phone(browser)
    sign_in(page, live_server, "supervisor1")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "phone-390-group-badge.png"))
    badge = page.locator("nav.mainnav .count.group")
    assert badge.is_visible() and badge.inner_text() == "+1 của nhóm"
    box = badge.bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"]
    page.context.close()
