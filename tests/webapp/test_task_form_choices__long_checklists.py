"""A long checklist of a task form through HTTP (decision 0081): the screening of a plan of seventeen people lists
every one as a box, with the tools of a long list — filter box, count of ticked boxes, "show only ticked" — in
Vietnamese, hidden until static/checklist_filter.js shows them, posting nothing; the plain list still posts the
ticked codes as the text the screening always read. A short list has no tools and no script."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import html as lxml_html
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.app import AuthActions
from tests.fixtures.planning import LONG_LIST, add_long_plan, setup_planning
from tests.fixtures.workflow_helpers import WorkflowDriver
from tests.webapp.test_planning import _instance_id, _start
from tests.webapp.test_task_form_choices import _instance_data


@pytest.fixture
def world(app: Flask, driver: WorkflowDriver, session_factory: sessionmaker[Session]) -> dict[str, Any]:
    found = setup_planning(session_factory)
    add_long_plan(session_factory)
    return found


def test_a_long_screening_list_has_its_tools_in_vietnamese_and_still_posts_as_plain_boxes(
    client: FlaskClient, auth: AuthActions, driver: WorkflowDriver, world: dict[str, Any]
) -> None:
    instance_id = _instance_id(_start(auth))
    task = driver.task(instance_id, "screening")
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    page = lxml_html.fromstring(html)
    cadres = page.xpath('//fieldset[@id="political_failed_codes"]')[0]
    assert cadres.get("data-checklist-filter") is not None
    assert len(cadres.xpath('.//input[@name="political_failed_codes"]')) == 5 + len(LONG_LIST)
    tools = cadres.xpath('.//div[@class="checklist-tools"]')[0]
    assert tools.get("hidden") is not None
    assert [label.text_content().strip() for label in tools.xpath(".//label")] == [
        "Lọc danh sách",
        "Chỉ hiện mục đã chọn",
    ]
    count = tools.xpath('.//p[@class="checklist-count"]')[0]
    assert count.text_content().strip() == "Đã chọn 0/17"
    assert count.get("data-ticked-format") == "Đã chọn {ticked}/{total}"
    assert count.get("data-shown-format") == "đang hiện {shown}"
    assert page.xpath('//p[@id="political_failed_codes-none"]')[0].text_content().strip() == (
        "Không có mục nào trong danh sách khớp với nội dung lọc."
    )
    assert "checklist_filter.js" in html
    # The discipline records are a short list: no tools there.
    records = page.xpath('//fieldset[@id="waived_discipline_ids"]')[0]
    assert records.get("data-checklist-filter") is None and not records.xpath(".//div[@class='checklist-tools']")

    # Posted as plain boxes (what a browser without the script sends): the ticked codes, as the text always held.
    done = auth.post(
        f"/tasks/{task.id}", {"political_failed_codes": ["QL02", "QL11"], "action": "submit"}, page=f"/tasks/{task.id}"
    )
    assert done.status_code == 302, done.get_data(as_text=True)
    assert _instance_data(driver, instance_id)["political_failed_codes"] == "QL02, QL11"
    # Read-only, the completed task lists what was ticked only (by name): a short list again, without tools.
    shown = lxml_html.fromstring(client.get(f"/tasks/{task.id}").get_data(as_text=True))
    boxes = shown.xpath('//input[@name="political_failed_codes"]')
    assert [b.get("value") for b in boxes] == ["QL02", "QL11"]
    assert not shown.xpath('//fieldset[@id="political_failed_codes"][@data-checklist-filter]')


def test_a_short_list_has_no_filter_and_no_script(
    client: FlaskClient, auth: AuthActions, driver: WorkflowDriver, app: Flask, session_factory
) -> None:
    setup_planning(session_factory)
    task = driver.task(_instance_id(_start(auth)), "screening")
    html = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "data-checklist-filter" not in html and "checklist_filter.js" not in html
