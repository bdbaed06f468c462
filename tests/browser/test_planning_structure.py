"""The planning review's nominations form in a real browser: typing a cadre code in a new row changes the live
structure figures beside the form (the script runs under the page's CSP and asks the server for the facts)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.test_journeys import sign_in
from tests.fixtures.planning import DISCIPLINED, FAILED_YEAR, NEW_VICE, TERM, setup_planning
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows.db import transaction
from workflows.planning.service import start_planning
from workflows.registry.models import Cadre, PlanningEntry, User

pytestmark = pytest.mark.browser


def _at_nominations(driver: WorkflowDriver, world: dict[str, Any]) -> int:
    """An annual review of X001 through its frame (both proposed removals confirmed); the nominate task's id."""
    with driver.session_factory() as session, transaction(session):
        actor = session.scalars(select(User).where(User.username == "personnel1")).one()
        instance_id = start_planning(
            session, driver.engine, actor=actor, unit_code="X001", term=TERM, variant="annual"
        ).id
    driver.complete("personnel1", driver.task(instance_id, "screening").id, {"screening_note": ""})
    with driver.session_factory() as session:
        entries = session.scalars(
            select(PlanningEntry.id)
            .join(Cadre, Cadre.id == PlanningEntry.cadre_id)
            .where(Cadre.code.in_([DISCIPLINED, FAILED_YEAR]))
            .order_by(PlanningEntry.id)
        ).all()
    removals = [{"entry_id": e, "decision": "remove", "keep_reason": ""} for e in entries]
    driver.complete("head1", driver.task(instance_id, "confirm_removals").id, {"removals": removals})
    frame = [{"position_id": world[name]} for name in ("chair", "vice", "secretary", "department")]
    driver.complete("personnel1", driver.task(instance_id, "review_frame").id, {"frame_titles": frame})
    driver.complete("head1", driver.task(instance_id, "approve_frame").id, {"frame_decision": "approve"})
    return driver.task(instance_id, "nominate").id


def test_typing_a_cadre_code_changes_the_share_of_women(  # type: ignore[no-untyped-def]
    app: Flask, live_server: str, page, shoot, driver: WorkflowDriver
) -> None:
    world = setup_planning(driver.session_factory)
    task_id = _at_nominations(driver, world)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: problems.append(message.text) if "Content Security" in message.text else None)

    sign_in(page, live_server, "personnel1")
    page.goto(f"{live_server}/tasks/{task_id}")
    panel = page.locator("aside[data-live-structure]")
    expect(panel).to_be_visible()
    women = panel.locator('[data-out="women-percent"]')
    # Drawn by the server: QH01, QH02 (a woman), QH03 are kept on the plan.
    assert women.inner_text() == "33,3%"

    page.fill("#nominations-0-cadre_code", NEW_VICE)  # Vũ Thị Hạnh, a woman of X001
    expect(women).to_have_text("50,0%")
    expect(panel.locator('[data-out="women-count"]')).to_have_text("2/4")
    shoot("30-planning-live-structure")

    page.fill("#nominations-0-cadre_code", "NOPE")  # a code nobody has is not counted
    expect(women).to_have_text("33,3%")
    assert not problems, problems


def test_a_nominee_is_found_by_name_and_a_title_chosen_by_name(  # type: ignore[no-untyped-def]
    app: Flask, live_server: str, page, shoot, driver: WorkflowDriver
) -> None:
    """Decision 0071: the cadre box searches the review's unit by name (marks ignored), choosing puts the code in
    the box and the name under it, and the live panel counts the chosen cadre as if typed; the title is a select."""
    world = setup_planning(driver.session_factory)
    task_id = _at_nominations(driver, world)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: problems.append(message.text) if "Content Security" in message.text else None)

    sign_in(page, live_server, "personnel1")
    page.goto(f"{live_server}/tasks/{task_id}")
    box = page.locator("#nominations-0-cadre_code")
    box.type("vu thi hanh")
    choice = page.locator("#nominations-0-cadre_code-results button")
    expect(choice).to_have_count(1)
    expect(choice).to_contain_text("Vũ Thị Hạnh")
    choice.click()
    expect(box).to_have_value(NEW_VICE)
    expect(page.locator("#nominations-0-cadre_code-name")).to_have_text("Vũ Thị Hạnh")
    expect(page.locator("#nominations-0-cadre_code-results")).to_be_hidden()
    expect(page.locator('aside[data-live-structure] [data-out="women-percent"]')).to_have_text("50,0%")
    title = page.locator("#nominations-0-position_id")
    title.select_option(label=title.locator(f'option[value="{world["vice"]}"]').inner_text())
    shoot("31-planning-nominee-by-name")
    box.type("x")  # the code no longer goes with the name shown
    expect(page.locator("#nominations-0-cadre_code-name")).to_have_text("")
    box.fill(NEW_VICE)
    page.get_by_role("button", name="Gửi").click()
    page.wait_for_url(f"{live_server}/inbox")
    assert not problems, problems
