"""The appointment's start page in a real browser: choosing a unit fills the post select through the page's script
(under the CSP: no inline script), and the appointment starts from what was picked."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.browser.test_journeys import sign_in
from tests.fixtures.appointment import NOMINEE, VICE_CHAIR, setup_appointment
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows.models import ProcessInstance
from workflows.registry.models import OrgUnit

pytestmark = pytest.mark.browser


def test_choosing_a_unit_fills_its_posts_and_starts_the_appointment(  # type: ignore[no-untyped-def]
    live_server: str, page, shoot, driver: WorkflowDriver, session_factory: sessionmaker[Session]
) -> None:
    world: dict[str, Any] = setup_appointment(session_factory)
    with session_factory() as s:
        x001 = s.scalars(select(OrgUnit.id).where(OrgUnit.code == "X001")).one()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: problems.append(message.text) if "Content Security" in message.text else None)

    sign_in(page, live_server, "personnel1")
    page.goto(f"{live_server}/appointments/start")
    posts = page.locator("select#position")
    assert posts.locator("option").count() == 1  # nothing to choose before the unit
    assert page.locator("[data-show-posts]").count() == 0  # the script ran: the no-JS button is gone

    page.fill("#cadre", NOMINEE)
    with page.expect_response(lambda response: "/appointments/posts?unit=" in response.url):
        page.select_option("select#unit", str(x001))
    # A locator waits without evaluating a string in the page: the page's CSP forbids eval, and a string given to
    # wait_for_function was refused there (and reported to the console) whenever its first check came too early.
    posts.locator(f'option[value="{world["post_id"]}"]').wait_for(state="attached")
    assert posts.locator(f'option[value="{world["post_id"]}"]').inner_text() == VICE_CHAIR
    page.select_option("select#position", str(world["post_id"]))
    page.check('input[name="source"][value="internal"]')
    shoot("appointment-start-post-picker")

    page.click("button[type=submit].primary")
    page.wait_for_url(f"{live_server}/instances/*")
    with session_factory() as s:
        started = s.scalar(
            select(func.count()).select_from(ProcessInstance).where(ProcessInstance.process_id == "appointment")
        )
    assert started == 1
    assert problems == []
