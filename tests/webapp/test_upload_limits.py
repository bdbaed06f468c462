"""The upload limit is said before a file is sent and after the server refused one (decision 0110): every file field
shows it ("tối đa 20 MB", from MAX_CONTENT_LENGTH) and carries it for static/upload_limits.js; a form over it is
answered with a page naming the limit and leading back to the form, and nothing is stored."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from lxml import html as lxml_html
from sqlalchemy import func, select

from tests.fixtures.app import AuthActions
from tests.fixtures.evaluation import MONTH
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows.registry.models import Cadre


def _limit_beside(page: str, input_id: str) -> str:
    tree = lxml_html.fromstring(page)
    (field,) = tree.xpath(f'//input[@id="{input_id}"]')
    (limit_id,) = [each for each in field.get("aria-describedby").split() if each.endswith("-limit")]
    return tree.xpath(f'//*[@id="{limit_id}"]')[0].text_content()


@pytest.mark.parametrize(
    ("username", "path", "input_id"),
    [
        ("personnel1", "/registry/import", "file"),
        ("admin", "/admin", "files"),
        ("auditor1", "/audit/integrity", "digest"),
    ],
)
def test_each_file_field_states_the_limit_from_the_configuration(
    app: Flask, auth: AuthActions, client, username: str, path: str, input_id: str
) -> None:
    auth.login(username)
    assert _limit_beside(client.get(path).get_data(as_text=True), input_id) == "tối đa 20 MB"
    app.config["MAX_CONTENT_LENGTH"] = 5 * 1024 * 1024 + 512 * 1024
    page = client.get(path).get_data(as_text=True)
    assert _limit_beside(page, input_id) == "tối đa 5,5 MB"
    body = lxml_html.fromstring(page).xpath("//body")[0]
    assert int(body.get("data-upload-limit")) <= app.config["MAX_CONTENT_LENGTH"]
    assert "5,5 MB" in body.get("data-upload-too-large") and "{name}" in body.get("data-upload-too-large")
    assert 'src="/static/upload_limits.js"' in page


@pytest.mark.usefixtures("in_november")
def test_the_products_file_of_an_opening_states_the_limit(auth: AuthActions) -> None:
    auth.login("personnel1")
    preview = auth.post("/evaluation/open", {"month": MONTH, "unit": "X001"}, page="/evaluation/open")
    assert _limit_beside(preview.get_data(as_text=True), "products") == "tối đa 20 MB"


def _count(driver: WorkflowDriver) -> int:
    with driver.session_factory() as s:
        return s.scalar(select(func.count()).select_from(Cadre)) or 0


@pytest.mark.parametrize(
    ("username", "path", "action", "name"),
    [("personnel1", "/registry/import", "/registry/import", "file"), ("admin", "/admin", "/admin/processes", "files")],
)
def test_a_form_over_the_limit_is_answered_with_the_limit_and_a_way_back_to_it(
    app: Flask, auth: AuthActions, client, driver: WorkflowDriver, username: str, path: str, action: str, name: str
) -> None:
    auth.login(username)
    before = _count(driver)
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    response = auth.post(
        action,
        {name: (io.BytesIO(b"x" * (1024 * 1024 + 1)), "lon.xlsx")},
        page=path,
        content_type="multipart/form-data",
        headers={"Referer": f"http://localhost{path}"},
    )
    response.request.environ["wsgi.input"].close()  # a large test body is spooled to a file nobody else closes
    assert response.status_code == 413
    page = lxml_html.fromstring(response.get_data(as_text=True))
    assert "1 MB" in page.text_content() and "chưa có gì được lưu" in page.text_content()
    (back,) = page.xpath("//a[@data-history-back]")
    assert back.get("href") == path and back.text_content() == "Quay lại"
    assert _count(driver) == before


def test_other_software_still_gets_the_json_error(app: Flask, auth: AuthActions, client) -> None:
    auth.login("personnel1")
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = auth.post(
        "/registry/import",
        {"file": (io.BytesIO(b"x" * 4096), "lon.csv")},
        page="/registry/import",
        content_type="multipart/form-data",
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 413 and response.get_json() == {"error": "Tệp tải lên quá lớn.", "status": 413}
