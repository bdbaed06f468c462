"""A file too large is refused where it is chosen (webapp/static/upload_limits.js, decision 0110): on the monthly
self-assessment, a 25 MB evidence file is taken off its field with the reason beside it, nothing is sent, what was
typed stays, and "Save draft" then saves it; files that fit one by one but not together are stopped at sending; and
the server's 413 page leads back to the form as it was left."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from tests.browser.test_evaluation_form import _open_month
from tests.browser.test_journeys import sign_in
from tests.browser.test_task_draft import _draft, _self_assessment
from tests.fixtures.workflow_helpers import WorkflowDriver

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("in_november")]

MB = 1024 * 1024


def _sparse(folder: Path, name: str, size: int) -> Path:
    """A file of `size` bytes that takes no room on the disk."""
    path = folder / name
    with path.open("wb") as file:
        file.truncate(size)
    return path


def _typed(page) -> None:  # type: ignore[no-untyped-def]
    page.fill("#criteria_politics", "9")
    page.fill("#self_report", "Hoàn thành đúng hạn các việc được giao.")


def _still_typed(page) -> None:  # type: ignore[no-untyped-def]
    assert page.input_value("#criteria_politics") == "9"
    assert page.input_value("#self_report") == "Hoàn thành đúng hạn các việc được giao."


def test_a_file_too_large_is_refused_at_its_field_and_the_form_keeps_what_was_typed(  # type: ignore[no-untyped-def]
    app: Flask, live_server: str, page, driver: WorkflowDriver, tmp_path: Path
) -> None:
    task_id = _self_assessment(driver, _open_month(driver))
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: problems.append(message.text) if "Content Security" in message.text else None)
    sign_in(page, live_server, "officer1")
    page.goto(f"{live_server}/tasks/{task_id}")
    assert page.locator("#evidence-limit").inner_text() == "tối đa 10 MB"
    _typed(page)

    page.set_input_files("#evidence", str(_sparse(tmp_path, "ho-so-lon.pdf", 25 * MB)))
    error = page.locator("#evidence-size-error")
    error.wait_for()
    assert error.inner_text() == "Tệp “ho-so-lon.pdf” lớn hơn mức tối đa 10 MB; hãy chọn tệp nhỏ hơn."
    assert page.get_attribute("#evidence", "aria-invalid") == "true"
    assert "evidence-size-error" in (page.get_attribute("#evidence", "aria-describedby") or "")
    assert page.evaluate("document.querySelector('#evidence').files.length") == 0  # taken off: never sent
    assert page.url == f"{live_server}/tasks/{task_id}"
    _still_typed(page)

    # The rest of the form is still sendable: the draft keeps what was typed.
    page.click("button[name=action][value=draft]")
    page.wait_for_load_state()
    draft = _draft(driver, task_id)
    assert draft is not None and draft.get("self_report") == "Hoàn thành đúng hạn các việc được giao."
    assert problems == []


def test_files_that_fit_alone_but_not_together_are_stopped_when_sent(  # type: ignore[no-untyped-def]
    app: Flask, live_server: str, page, driver: WorkflowDriver, tmp_path: Path
) -> None:
    task_id = _self_assessment(driver, _open_month(driver))
    app.config["MAX_CONTENT_LENGTH"] = 12 * MB
    sign_in(page, live_server, "officer1")
    page.goto(f"{live_server}/tasks/{task_id}")
    _typed(page)
    page.set_input_files("#products-0-evidence", str(_sparse(tmp_path, "a.pdf", 7 * MB)))
    page.set_input_files("#evidence", str(_sparse(tmp_path, "b.pdf", 7 * MB)))
    assert page.locator("[data-upload-error]").count() == 0  # each fits its 10 MB
    page.click("button[name=action][value=draft]")
    error = page.locator("[data-upload-error]")
    error.wait_for()
    assert "cộng lại lớn hơn 12 MB" in error.inner_text()
    assert page.url == f"{live_server}/tasks/{task_id}"
    _still_typed(page)
    assert _draft(driver, task_id, wait=0.5) is None


def test_the_servers_refusal_goes_back_to_the_form_as_it_was_left(  # type: ignore[no-untyped-def]
    app: Flask, live_server: str, page, driver: WorkflowDriver, tmp_path: Path
) -> None:
    task_id = _self_assessment(driver, _open_month(driver))
    sign_in(page, live_server, "officer1")
    page.goto(f"{live_server}/tasks/{task_id}")
    _typed(page)
    page.set_input_files("#evidence", str(_sparse(tmp_path, "c.pdf", 2 * MB)))
    app.config["MAX_CONTENT_LENGTH"] = 1 * MB  # lowered after the page was drawn: the page's check lets it through
    page.click("button[name=action][value=draft]")
    page.locator("h1", has_text="Tệp quá lớn").wait_for()
    assert "1 MB" in page.inner_text("main")
    page.click("a[data-history-back]")
    page.wait_for_url(f"{live_server}/tasks/{task_id}")
    _still_typed(page)
