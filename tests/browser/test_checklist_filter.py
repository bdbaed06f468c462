"""A long checklist of a task form in a real browser (static/checklist_filter.js under the CSP; decision 0081): the
screening's list of seventeen planned cadres narrows as a name is typed without marks, asking nothing of the server;
the count follows what is ticked; "show only ticked" shows the ticked boxes alone; Enter in the filter box does not
send the form, Escape empties it; a box hidden by the filter keeps its tick and is sent with the form."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from tests.browser.test_cadre_search import _watch
from tests.browser.test_journeys import sign_in
from tests.fixtures.planning import LONG_LIST, TERM, add_long_plan, setup_planning
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows.db import transaction
from workflows.engine.runtime import instance_data
from workflows.models import ProcessInstance
from workflows.planning.service import start_planning
from workflows.registry.models import User

pytestmark = pytest.mark.browser


def _screening(driver: WorkflowDriver) -> tuple[int, int]:
    setup_planning(driver.session_factory)
    add_long_plan(driver.session_factory)
    with driver.session_factory() as session, transaction(session):
        actor = session.scalars(select(User).where(User.username == "personnel1")).one()
        instance_id = start_planning(
            session, driver.engine, actor=actor, unit_code="X001", term=TERM, variant="annual"
        ).id
    return instance_id, driver.task(instance_id, "screening").id


def test_the_filter_box_narrows_the_list_and_ticks_hidden_by_it_are_still_sent(  # type: ignore[no-untyped-def]
    app: Flask, live_server: str, page, shoot, driver: WorkflowDriver
) -> None:
    from playwright.sync_api import expect

    instance_id, task_id = _screening(driver)
    problems = _watch(page)
    asked: list[str] = []
    sign_in(page, live_server, "personnel1")
    page.goto(f"{live_server}/tasks/{task_id}")
    page.on("request", lambda request: asked.append(request.url) if "/tasks/" in request.url else None)

    fieldset = page.locator("#political_failed_codes")
    boxes = fieldset.locator("ul.choices li")
    visible = fieldset.locator("ul.choices li:visible")
    count = page.locator("#political_failed_codes-count")
    search = page.get_by_label("Lọc danh sách")
    only = page.get_by_label("Chỉ hiện mục đã chọn")
    expect(search).to_be_visible()  # the script showed the tools
    expect(count).to_have_text("Đã chọn 0/17")
    assert boxes.count() == 5 + len(LONG_LIST)

    # Typed without marks, by keyboard: "dinh" finds the two Đinh, nothing else; the count says how many show.
    search.focus()
    search.press_sequentially("dinh")
    expect(visible).to_have_count(2)
    assert sorted(visible.all_inner_texts()) == ["Đinh Thị Hòa (QL02)", "Đinh Văn Tú (QL01)"]
    expect(count).to_have_text("Đã chọn 0/17 · đang hiện 2")
    shoot("checklist-filter-typed")
    # The keyboard goes from the filter box to "show only ticked", then to the first box shown: hidden ones are skipped.
    search.press("Tab")
    assert page.evaluate("document.activeElement.id") == "political_failed_codes-only-ticked"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('li').textContent.trim()") == "Đinh Thị Hòa (QL02)"
    # Two words, each anywhere in the label; a code too.
    search.fill("")
    search.press_sequentially("van tu")
    expect(visible).to_have_count(1)
    search.fill("")
    search.press_sequentially("ql1")
    expect(visible).to_have_count(3)  # QL10, QL11, QL12

    # Ticked with the keyboard from the filtered list; the count follows.
    page.get_by_label("Quách Văn Vĩnh (QL11)").focus()
    page.keyboard.press("Space")
    expect(count).to_have_text("Đã chọn 1/17 · đang hiện 3")

    # Enter filters, it does not send the form; nothing matching says so.
    search.fill("zzz")
    search.press("Enter")
    expect(visible).to_have_count(0)
    expect(page.locator("#political_failed_codes-none")).to_be_visible()
    assert page.url.endswith(f"/tasks/{task_id}")
    # Escape empties the filter: the whole list again.
    search.press("Escape")
    expect(search).to_have_value("")
    expect(visible).to_have_count(17)
    expect(page.locator("#political_failed_codes-none")).to_be_hidden()

    # A second tick, then "show only ticked": the two alone.
    page.get_by_label("Đinh Thị Hòa (QL02)").check()
    only.check()
    expect(visible).to_have_count(2)
    expect(count).to_have_text("Đã chọn 2/17 · đang hiện 2")
    shoot("checklist-only-ticked")
    only.uncheck()
    expect(visible).to_have_count(17)

    # The filter asks nothing of the server.
    assert not [url for url in asked if "cadres" in url], asked

    # Narrowed so that both ticked boxes are hidden, the form is sent: both ticks go with it.
    search.fill("lý văn")
    expect(visible).to_have_count(1)
    page.get_by_role("button", name="Gửi").click()
    page.wait_for_url(f"{live_server}/inbox")
    with driver.session_factory() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None
        workflow = driver.engine.load(driver.engine.definition(session, instance.process_version_id), instance)
        assert sorted(instance_data(workflow)["political_failed_codes"].split(", ")) == ["QL02", "QL11"]
    assert not problems, problems
