"""A row added to the removals of a long plan in a real browser (static/entry_search.js under the CSP; decision
0083): the entry is chosen by typing part of a name without marks — the task's endpoint is asked, the row's select
lists what it finds, one is chosen — and the form sends its id, which the removals hook takes off the plan. The
search box posts nothing; Enter in it searches, it does not send the form; "Tìm" (for the page without the script)
is removed."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from tests.browser.test_cadre_search import _watch
from tests.browser.test_journeys import sign_in
from tests.fixtures.planning import TERM, add_long_plan, setup_planning
from tests.fixtures.workflow_helpers import WorkflowDriver
from webapp.tasks import views
from workflows.db import transaction
from workflows.engine.runtime import instance_data
from workflows.models import ProcessInstance
from workflows.planning.service import start_planning
from workflows.registry.models import Cadre, PlanningEntry, User

pytestmark = pytest.mark.browser


def _at_removals(driver: WorkflowDriver) -> tuple[int, int]:
    setup_planning(driver.session_factory)
    add_long_plan(driver.session_factory)
    with driver.session_factory() as session, transaction(session):
        actor = session.scalars(select(User).where(User.username == "personnel1")).one()
        instance_id = start_planning(
            session, driver.engine, actor=actor, unit_code="X001", term=TERM, variant="annual"
        ).id
    driver.complete("personnel1", driver.task(instance_id, "screening").id, {"screening_note": ""})
    return instance_id, driver.task(instance_id, "confirm_removals").id


def test_a_row_added_chooses_its_entry_by_typing_a_name_without_marks(  # type: ignore[no-untyped-def]
    app: Flask, live_server: str, page, shoot, driver: WorkflowDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from playwright.sync_api import expect

    monkeypatch.setattr(views, "ENTRY_SEARCH_FROM", 10)  # fifteen entries a row may take: searched
    instance_id, task_id = _at_removals(driver)
    with driver.session_factory() as session:
        chosen = session.scalars(
            select(PlanningEntry.id).join(Cadre, Cadre.id == PlanningEntry.cadre_id).where(Cadre.code == "QL11")
        ).one()
    problems = _watch(page)
    sign_in(page, live_server, "head1")
    page.goto(f"{live_server}/tasks/{task_id}")
    # The screening's proposals come undecided in their own rows (decision 0106); one more is added.
    page.get_by_role("button", name="Thêm dòng").click()
    page.wait_for_load_state()

    box = page.get_by_label("Tìm theo tên, mã hoặc chức danh")
    select_ = page.locator("select[name='removals-2-entry_id']")
    found = page.locator("#removals-2-entry_id-found")
    expect(box).to_be_visible()
    expect(page.get_by_role("button", name="Tìm", exact=True)).to_have_count(0)  # the script searches as one types
    assert box.get_attribute("name") is None  # the box posts nothing
    expect(select_.locator("option")).to_have_count(1)  # "Chọn" only: the plan is not in the page

    # Typed without marks, key by key: the endpoint is asked, the select lists what it finds.
    with page.expect_response(lambda response: "/planning-entries?q=quach" in response.url):
        box.press_sequentially("quach")
    expect(found).to_have_text("Tìm thấy 1 mục: chọn trong danh sách.")
    expect(select_.locator("option")).to_have_count(2)
    label = select_.locator("option").nth(1).inner_text()
    assert label.startswith("Quách Văn Vĩnh (QL11) — Trưởng thôn 4"), label
    # Enter searches again, it does not send the form.
    box.press("Enter")
    assert page.url.endswith(f"/tasks/{task_id}")
    select_.select_option(str(chosen))
    # Typing on keeps the entry chosen, whatever the box finds next.
    box.fill("")
    with page.expect_response(lambda response: "/planning-entries?q=dinh" in response.url):
        box.press_sequentially("dinh")
    expect(select_.locator("option")).to_have_count(4)  # Chọn, the chosen, the two Đinh
    expect(select_).to_have_value(str(chosen))
    shoot("entry-search-chosen")

    page.locator("[name='removals-2-reason']").fill("Không hoàn thành nhiệm vụ được giao")
    for row in range(3):  # the collective decides every row, the screening's too
        page.locator(f"[name='removals-{row}-decision']").select_option("remove")
    page.get_by_role("button", name="Gửi").click()
    page.wait_for_url(f"{live_server}/inbox")
    with driver.session_factory() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None
        workflow = driver.engine.load(driver.engine.definition(session, instance.process_version_id), instance)
        confirmed = instance_data(workflow)["removals_confirmed"]
    assert [row["cadre_code"] for row in confirmed][-1] == "QL11" and confirmed[-1]["entry_id"] == chosen
    assert not problems, problems
