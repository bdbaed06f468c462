"""What is typed into a task form survives leaving the page (webapp/static/task_draft.js): the monthly
self-assessment, typed into and left by the inbox link, opens again with what was typed, with no prompt; and the page
says when it saved the draft by itself."""

from __future__ import annotations

import time

import pytest
from flask import Flask
from sqlalchemy import select

from tests.browser.test_evaluation_form import _open_month
from tests.browser.test_journeys import sign_in
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows.models import HumanTask, TaskDraft

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("in_november")]


def _draft(driver: WorkflowDriver, task_id: int, wait: float = 10.0) -> dict | None:
    """The stored draft, once the page's background save has arrived."""
    deadline = time.monotonic() + wait
    while True:
        with driver.session_factory() as session:
            draft = session.get(TaskDraft, task_id)
            if draft is not None or time.monotonic() > deadline:
                return dict(draft.data) if draft is not None else None
        time.sleep(0.1)


def _self_assessment(driver: WorkflowDriver, instance_id: int) -> int:
    with driver.session_factory() as session:
        task_id = session.scalar(
            select(HumanTask.id).where(HumanTask.instance_id == instance_id, HumanTask.status == "open")
        )
        assert task_id is not None
        return task_id


def test_typing_then_leaving_by_the_inbox_link_keeps_the_draft(  # type: ignore[no-untyped-def]
    app: Flask, live_server: str, page, driver: WorkflowDriver
) -> None:
    instance_id = _open_month(driver)
    task_id = _self_assessment(driver, instance_id)
    problems: list[str] = []
    dialogs: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: problems.append(message.text) if "Content Security" in message.text else None)
    page.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.accept()))

    sign_in(page, live_server, "officer1")
    page.goto(f"{live_server}/tasks/{task_id}")
    page.fill("#criteria_politics", "9")
    page.fill("#products-0-name", "Tham mưu văn bản")
    page.fill("#products-0-assigned", "7")
    page.locator("nav.mainnav a").first.click()  # "Hộp công việc", without saving
    page.wait_for_url(f"{live_server}/inbox")

    assert dialogs == []  # saved by itself: nothing to ask
    draft = _draft(driver, task_id)
    assert draft is not None and draft.get("criteria_politics") not in (None, 0)
    page.goto(f"{live_server}/tasks/{task_id}")
    assert page.input_value("#criteria_politics") == "9"
    assert page.input_value("#products-0-name") == "Tham mưu văn bản"
    assert page.input_value("#products-0-assigned") == "7"
    assert problems == []


def test_the_page_says_when_it_saved_the_draft_by_itself(  # type: ignore[no-untyped-def]
    app: Flask, live_server: str, page, driver: WorkflowDriver
) -> None:
    instance_id = _open_month(driver)
    task_id = _self_assessment(driver, instance_id)
    sign_in(page, live_server, "officer1")
    page.goto(f"{live_server}/tasks/{task_id}")
    page.evaluate("document.querySelector('form.taskform').setAttribute('data-autosave-after', '200')")
    page.fill("#criteria_competence", "8")
    status = page.locator("[data-autosave-status]")
    status.filter(has_text="Đã lưu nháp lúc").wait_for(timeout=10000)
    draft = _draft(driver, task_id)
    assert draft is not None and draft.get("criteria_competence") not in (None, 0)


def test_submitting_asks_nothing_and_leaving_with_a_comment_asks(  # type: ignore[no-untyped-def]
    app: Flask, live_server: str, page, driver: WorkflowDriver
) -> None:
    instance_id = _open_month(driver)
    task_id = _self_assessment(driver, instance_id)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.accept()))
    sign_in(page, live_server, "officer1")
    page.goto(f"{live_server}/tasks/{task_id}")
    page.fill("#criteria_politics", "9")
    page.click("button[value=draft]")
    page.wait_for_url(f"{live_server}/tasks/{task_id}")
    assert dialogs == []  # the page's own button: no prompt
    page.fill("#comment_text", "Ghi chú chưa lưu")
    page.locator("nav.mainnav a").first.click()  # a comment is not part of a draft: the browser asks
    page.wait_for_url(f"{live_server}/inbox")
    assert dialogs == ["beforeunload"]


def test_a_refused_form_left_by_a_link_keeps_what_was_typed(  # type: ignore[no-untyped-def]
    app: Flask, live_server: str, page, driver: WorkflowDriver
) -> None:
    instance_id = _open_month(driver)
    task_id = _self_assessment(driver, instance_id)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.accept()))
    sign_in(page, live_server, "officer1")
    page.goto(f"{live_server}/tasks/{task_id}")
    page.fill("#criteria_politics", "9")
    page.click("button[value=submit]")  # refused: most of the form is still empty
    page.wait_for_selector(".error-summary")
    page.locator("nav.mainnav a").first.click()
    page.wait_for_url(f"{live_server}/inbox")
    assert dialogs == []
    draft = _draft(driver, task_id)
    assert draft is not None and draft.get("criteria_politics") not in (None, 0)
    page.goto(f"{live_server}/tasks/{task_id}")
    assert page.input_value("#criteria_politics") == "9"
