"""The inbox on a phone (400 px wide): the summary per procedure wraps inside the page, and a supervisor takes every
group task at once with "select all" (the page's own script, under the CSP) and one button."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.browser.test_journeys import sign_in
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows.models import HumanTask
from workflows.registry.models import User

pytestmark = pytest.mark.browser

WIDTH = 400


def test_a_supervisor_takes_every_group_task_at_once_on_a_phone(  # type: ignore[no-untyped-def]
    live_server: str, page, shoot, driver: WorkflowDriver, session_factory: sessionmaker[Session]
) -> None:
    instances = []
    for officer, cadre in (("officer1", "CB0001"), ("officer2", "CB0002"), ("officer1", "CB0001")):
        instance_id = driver.start("sample_approval", as_user=officer, subject=cadre)
        driver.complete(officer, driver.task(instance_id, "submit_request").id, {"subject_line": "Đề nghị"})
        instances.append(instance_id)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: problems.append(message.text) if "Content Security" in message.text else None)
    page.set_viewport_size({"width": WIDTH, "height": 800})

    sign_in(page, live_server, "supervisor1")
    page.goto(f"{live_server}/inbox?scope=group&sort=process")
    summary = page.locator("nav.inbox-summary")
    assert summary.locator(".chip .count").first.inner_text() == "3"
    for box in (summary.bounding_box(), page.locator("table.tasks").bounding_box()):
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= WIDTH
    assert page.locator("tr.group-row").count() == 1
    shoot("inbox-group-400px")

    select_all = page.get_by_label("Chọn tất cả")
    expect(select_all).to_be_visible()  # shown by the script: hidden without it
    select_all.check()
    boxes = page.locator('input[type=checkbox][name="task_id"]')
    assert boxes.count() == 3 and all(boxes.nth(n).is_checked() for n in range(3))
    page.get_by_role("button", name="Nhận các việc đã chọn").click()
    page.wait_for_url(f"{live_server}/inbox?scope=group&sort=process")
    assert "Đã nhận 3 công việc" in page.locator("body").inner_text()
    shoot("inbox-group-taken-400px")

    with session_factory() as s:
        supervisor = s.scalars(select(User.id).where(User.username == "supervisor1")).one()
        holders = s.scalars(
            select(HumanTask.assignee_id).where(
                HumanTask.instance_id.in_(instances), HumanTask.task_key == "review_request"
            )
        ).all()
    assert holders == [supervisor] * 3
    assert problems == []


def test_on_a_phone_each_stacked_cell_names_its_column(  # type: ignore[no-untyped-def]
    live_server: str, page, shoot, driver: WorkflowDriver
) -> None:
    """The header row is hidden at 400 px: the page's script gives each cell its column's name, shown before the
    value (a due date alone did not say it was the due date); the select column, whose header has no text, is not
    labelled, and on a wide screen no label shows."""
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    driver.complete("officer1", driver.task(instance_id, "submit_request").id, {"subject_line": "Đề nghị"})
    page.set_viewport_size({"width": WIDTH, "height": 800})
    sign_in(page, live_server, "supervisor1")
    page.goto(f"{live_server}/inbox?scope=group")
    row = page.locator("table.tasks tbody tr").first
    before = row.locator("td").evaluate_all("cells => cells.map(cell => getComputedStyle(cell, '::before').content)")
    headers = page.locator("table.tasks thead th").evaluate_all("cells => cells.map(cell => cell.textContent.trim())")
    assert len(before) == len(headers)
    for header, shown in zip(headers, before, strict=True):
        assert shown == (f'"{header}: "' if header else "none"), (header, shown)
    assert "Hạn xử lý: " in [f"{header}: " for header in headers]
    shoot("inbox-stacked-labels-400px")
    page.set_viewport_size({"width": 1280, "height": 800})
    wide = row.locator("td").evaluate_all("cells => cells.map(cell => getComputedStyle(cell, '::before').content)")
    assert set(wide) == {"none"}
