"""Error pages: a form refused for its CSRF token reads, on every page, as what happened (in the reader's language,
with a way back), and nothing of it is stored; other software keeps getting JSON."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.fixtures.app import AuthActions
from tests.fixtures.workflow_helpers import WorkflowDriver, everything_stored
from webapp.errors import page_left

EXPIRED = "Biểu mẫu đã hết hạn hoặc trang đã mở quá lâu; chưa có gì được lưu. Hãy quay lại, tải lại trang và gửi lại."
BACK = "Quay lại trang trước"
# Forms that answer a refused token in their own way: the task page gives the typed form back (tests/webapp/
# test_tasks.py), the sign-in page its form (tests/webapp/test_auth.py).
OWN_ANSWER = {"tasks.submit", "auth.login"}


def _sample_path(rule: str) -> str:
    return re.sub(r"<(?:[^:>]+:)?[^>]+>", "1", rule)


def _back_link(page: str) -> str | None:
    match = re.search(rf'<a href="([^"]*)">{BACK}</a>', page)
    return match.group(1) if match else None


def test_every_pages_form_refused_for_its_token_says_what_happened_and_stores_nothing(
    app: Flask, auth: AuthActions, client: FlaskClient, driver: WorkflowDriver
) -> None:
    auth.login("admin")
    before = everything_stored(driver.session_factory)
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or "POST" not in (rule.methods or set()) or rule.endpoint in OWN_ANSWER:
            continue
        path = _sample_path(rule.rule)
        response = client.post(path, data={"csrf_token": "forged"}, headers={"Referer": "http://localhost/instances"})
        page = response.get_data(as_text=True)
        assert response.status_code == 400, f"POST {path} answered {response.status_code}"
        assert response.mimetype == "text/html" and 'class="topbar"' in page, path  # the app's own layout
        assert EXPIRED in page, path
        assert _back_link(page) == "/instances", path
        checked += 1
    assert checked > 20
    assert everything_stored(driver.session_factory) == before


def test_a_form_left_open_past_its_sign_in_stores_nothing(
    auth: AuthActions, client: FlaskClient, driver: WorkflowDriver
) -> None:
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    auth.login("officer1")
    shown = f"/instances/{instance_id}"
    token = auth.csrf_token(shown)
    auth.logout()  # and in again, in another tab: the page's token belongs to the sign-in that ended
    auth.login("officer1")
    before = everything_stored(driver.session_factory)
    for action, data in (("comments", {"body": "Tôi đã bổ sung hồ sơ."}), ("cancel", {"reason": "Nộp nhầm"})):
        refused = client.post(
            f"{shown}/{action}", data={**data, "csrf_token": token}, headers={"Referer": f"http://localhost{shown}"}
        )
        assert refused.status_code == 400
        page = refused.get_data(as_text=True)
        assert EXPIRED in page and _back_link(page) == shown
    assert everything_stored(driver.session_factory) == before


def test_the_page_reads_in_the_readers_language(auth: AuthActions, client: FlaskClient) -> None:
    auth.login("officer1")
    auth.post("/auth/language", {"locale": "en", "next": "/inbox"})
    page = client.post("/notifications/read-all", data={"csrf_token": "forged"}).get_data(as_text=True)
    assert "The form had expired or the page had been open too long; nothing was saved." in page
    assert "Back to the inbox" in page


@pytest.mark.parametrize(
    ("referrer", "back"),
    [
        ("http://localhost/instances?page=2&status=running", "/instances?page=2&status=running"),
        ("http://localhost/tasks/7", "/tasks/7"),
        ("https://localhost/auth/profile", "/auth/profile"),
        (None, None),  # no Referer sent
        ("https://evil.example/instances", None),  # another site
        ("http://localhost.evil.example/instances", None),
        ("http://localhost//evil.example/x", None),  # a path a browser reads as another host
        ("http://localhost/\\evil.example", None),
        ("javascript:alert(1)", None),
        ("http://localhost/ballots/3/close", None),  # POST only: going back would answer 405
        ("http://localhost/no/such/page", None),
    ],
)
def test_the_link_back_is_only_to_a_page_of_this_site(app: Flask, referrer: str | None, back: str | None) -> None:
    headers = {"Referer": referrer} if referrer else {}
    with app.test_request_context("/ballots/3/close", method="POST", headers=headers):
        assert page_left() == back


def test_other_software_gets_a_json_error(auth: AuthActions, client: FlaskClient) -> None:
    auth.login("officer1")
    refused = client.post(
        "/notifications/read-all",
        data={"csrf_token": "forged"},
        headers={"Accept": "application/json", "Referer": "http://localhost/inbox"},
    )
    assert refused.status_code == 400 and refused.is_json
    assert refused.get_json() == {"error": EXPIRED, "status": 400}


def test_the_api_is_not_asked_for_a_csrf_token(client: FlaskClient) -> None:
    """Bearer tokens only, so no CSRF to forge: a post without either is refused for its bearer token, in JSON."""
    refused = client.post("/api/v1/instances", json={"process_id": "sample_approval"})
    assert refused.status_code == 401 and refused.is_json
