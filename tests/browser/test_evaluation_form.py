"""The monthly self-assessment in a real browser: the live score follows what is typed, completed > assigned is
said at the cell in the page's language (before submitting, and by the server after), and the form submits."""

from __future__ import annotations

import pytest
from flask import Flask
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.test_journeys import sign_in, sign_out
from tests.fixtures.evaluation import vietnamese
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows.db import transaction
from workflows.evaluation.opening import open_for_cadres, plan_month
from workflows.models import ProcessInstance
from workflows.registry.models import User
from workflows.rules.evaluation import DEFAULT_POLICY

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("in_november")]

MONTH = "2026-11"


def _open_month(driver: WorkflowDriver) -> int:
    with driver.session_factory() as session, transaction(session):
        actor = session.scalars(select(User).where(User.username == "personnel1")).one()
        plan = plan_month(session, actor=actor, month=MONTH, unit_code="X001", include_subunits=False)
        open_for_cadres(session, driver.engine, actor=actor, plan=plan, cadres=plan.to_open, policy=DEFAULT_POLICY)
    with driver.session_factory() as session:
        instance_id = session.scalar(
            select(ProcessInstance.id).where(ProcessInstance.business_key == f"{MONTH}/CB0001")
        )
        assert instance_id is not None
        return instance_id


def test_live_score_validation_and_submit(  # type: ignore[no-untyped-def]
    app: Flask, live_server: str, page, shoot, driver: WorkflowDriver
) -> None:
    instance_id = _open_month(driver)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    # Script errors and CSP refusals (a 404 favicon or the intended 422 are not problems).
    page.on("console", lambda message: problems.append(message.text) if "Content Security" in message.text else None)

    sign_in(page, live_server, "officer1")
    page.get_by_role("link", name="Tự đánh giá kết quả tháng").click()
    panel = page.locator("aside.live-score")
    expect(panel).to_be_visible()  # unhidden by the script: it ran under the page's CSP
    total = panel.locator('[data-out="total"]')
    assert total.inner_text() == "—"

    page.fill("#products-0-name", "Tham mưu văn bản")
    for field, value in (("assigned", "10"), ("completed", "10"), ("completed_quality", "10")):
        page.fill(f"#products-0-{field}", value)
    page.fill("#products-0-completed_on_time", "5")
    assert total.inner_text() == "—"  # no criteria yet
    page.fill("#criteria_politics", "10")
    page.fill("#criteria_competence", "9")
    page.fill("#criteria_innovation", "9")
    # quantity 100%, quality 100%, progress 50%: 70 × 2.5/3 = 58.33 task points + 28 = 86.33
    assert panel.locator('[data-out="progress_pct"]').inner_text() == "50%"
    assert panel.locator('[data-out="task_points"]').inner_text() == "58,33"
    assert total.inner_text() == "86,33"
    assert panel.locator('[data-out="grade"]').inner_text() == "Hoàn thành tốt nhiệm vụ (HTTNV)"
    page.fill("#products-0-completed_on_time", "10")
    assert total.inner_text() == "98"
    assert panel.locator('[data-out="grade"]').inner_text() == "Hoàn thành xuất sắc nhiệm vụ (HTXSNV)"
    shoot("20-evaluation-live-score")

    over = vietnamese(app, "cannot exceed the amount assigned", html=False)
    page.fill("#products-0-completed", "12")
    live_error = page.locator("#products-0-completed-live-error")
    assert live_error.inner_text() == over
    assert page.locator("#products-0-completed").get_attribute("aria-invalid") == "true"
    assert total.inner_text() == "—"
    shoot("21-evaluation-live-validation")

    page.check("input[name=proposed_grade][value=HTXSNV]")
    page.click("button[value=submit]")
    page.wait_for_load_state()
    server_error = page.locator("#products-0-completed-error")
    assert over in server_error.inner_text()  # the server says it too, at the same cell
    assert page.locator("#products-0-completed-live-error").count() == 0  # and it is said once
    assert page.locator("#products-0-completed").input_value() == "12"  # what was typed stays
    shoot("22-evaluation-server-validation")

    page.fill("#products-0-completed", "10")
    assert page.locator("#products-0-completed-error").count() == 0  # the stale message goes with the edit
    assert total.inner_text() == "98"

    # Text where a number belongs: the page and the server word it differently, and only one of them says it.
    page.fill("#products-0-assigned", "mười")
    assert page.locator("#products-0-assigned-live-error").count() == 1
    page.click("button[value=submit]")
    page.wait_for_load_state()
    assert page.locator("#products-0-assigned-error").count() == 1
    assert page.locator("#products-0-assigned-live-error").count() == 0
    assert len(page.locator("#products-0-assigned").locator("xpath=..").locator(".field-error").all()) == 1
    page.fill("#products-0-assigned", "10")
    assert page.locator("#products-0-assigned-error").count() == 0
    assert total.inner_text() == "98"
    page.click("button[value=submit]")
    page.wait_for_url(f"{live_server}/inbox")
    assert "Tự đánh giá kết quả tháng" in page.locator(".flash.success").inner_text()
    assert [t.task_key for t in driver.open_tasks(instance_id)] == ["manager_review"]
    assert not problems, problems

    # Reviewed and decided (not this test's subject), the month's results page shows the grade and its chart.
    data = {
        "products": [
            {
                "name": "Tham mưu văn bản",
                "assigned": 10,
                "completed": 10,
                "completed_quality": 10,
                "completed_on_time": 10,
            }
        ],
        "criteria_politics": 10,
        "criteria_competence": 9,
        "criteria_innovation": 9,
    }
    driver.complete("supervisor1", driver.task(instance_id, "manager_review").id, {**data, "decision": "submit"})
    driver.complete("head1", driver.task(instance_id, "head_decision").id, {"grade": "HTXSNV"})
    sign_out(page)
    sign_in(page, live_server, "personnel1")
    page.goto(f"{live_server}/evaluation/results?unit=X001&month={MONTH}")
    expect(page.locator("svg.chart-stacked")).to_be_visible()
    assert "HTXSNV" in page.locator("table.results tbody tr", has_text="CB0001").inner_text()
    shoot("23-evaluation-results")
