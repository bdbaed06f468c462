"""Signing in and out: hashed passwords, throttling, CSRF, language, no open redirect, password change."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from lxml import html as lxml_html
from sqlalchemy import select

from tests.fixtures.app import AuthActions
from tests.fixtures.workflow_helpers import WorkflowDriver, everything_stored
from workflows.registry.models import LoginAttempt, User


def test_pages_require_sign_in(client) -> None:
    for path in ("/", "/inbox", "/instances", "/tasks/1", "/auth/password"):
        response = client.get(path)
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"], path


def test_sign_in_page_is_vietnamese_by_default(client) -> None:
    page = client.get("/auth/login").get_data(as_text=True)
    assert "Đăng nhập" in page and 'lang="vi"' in page


def test_sign_in_and_out(auth: AuthActions, client) -> None:
    response = auth.login("officer1")
    assert response.status_code == 302 and response.headers["Location"].endswith("/inbox")
    assert "Nguyễn Thị Lan" in client.get("/inbox").get_data(as_text=True)
    auth.logout()
    assert client.get("/inbox").status_code == 302


def test_wrong_password_is_refused_without_saying_which_part_was_wrong(auth: AuthActions) -> None:
    wrong_password = auth.login("officer1", "not-the-password")
    unknown_user = auth.login("nobody", "x")
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu" in wrong_password.get_data(as_text=True)
    assert "Sai tên đăng nhập hoặc mật khẩu" in unknown_user.get_data(as_text=True)


def test_repeated_failures_are_throttled(auth: AuthActions, driver: WorkflowDriver) -> None:
    for _ in range(5):
        assert auth.login("officer2", "bad").status_code == 401
    throttled = auth.login("officer2")  # even the right password, for now
    assert throttled.status_code == 429
    assert "15 phút" in throttled.get_data(as_text=True)
    assert auth.login("officer1").status_code == 302  # other accounts are unaffected
    with driver.session_factory() as s:
        assert len(s.scalars(select(LoginAttempt).where(LoginAttempt.username == "officer2")).all()) == 5


def test_sign_in_reads_the_username_as_accounts_store_it(auth: AuthActions, driver: WorkflowDriver) -> None:
    """Usernames are stored lower-case and unique without regard to case: "Officer1" (a phone's capital) is officer1,
    and its failures count towards officer1's throttling, not towards a name of their own."""
    assert auth.login("Officer1").status_code == 302
    auth.logout()
    assert auth.login("  OFFICER1 ").status_code == 302
    auth.logout()
    for typed in ("Officer2", "OFFICER2", "officer2", "oFFicer2", " Officer2"):
        assert auth.login(typed, "bad").status_code == 401
    assert auth.login("Officer2").status_code == 429  # five failures of one account, however it was typed
    with driver.session_factory() as s:
        attempted = s.scalars(select(LoginAttempt.username).where(LoginAttempt.succeeded.is_(False))).all()
    assert attempted == ["officer2"] * 5


def test_the_username_input_is_neither_capitalised_nor_corrected(client) -> None:
    page = lxml_html.fromstring(client.get("/auth/login").get_data(as_text=True))
    (username,) = page.xpath('//input[@name="username"]')
    assert username.get("autocapitalize") == "none" and username.get("autocorrect") == "off"
    assert username.get("spellcheck") == "false" and username.get("autocomplete") == "username"
    (password,) = page.xpath('//input[@name="password"]')
    assert password.get("autocomplete") == "current-password" and password.get("autocapitalize") is None


def test_passwords_are_stored_hashed(driver: WorkflowDriver) -> None:
    with driver.session_factory() as s:
        user = s.scalars(select(User).where(User.username == "officer1")).one()
    assert user.password_hash.startswith("$argon2") and "demo" not in user.password_hash


def test_forms_without_a_csrf_token_are_refused(client, auth: AuthActions) -> None:
    response = client.post("/auth/login", data={"username": "officer1", "password": "demo"})
    assert response.status_code == 400
    auth.login("officer1")
    assert client.post("/auth/logout").status_code == 400


# -- a sign-in form whose CSRF token no longer holds -----------------------------------------------------------------

FROM_THIS_SITE = {"Origin": "http://localhost"}  # what a browser sends with the sign-in form of the app's own page
SIGN_IN_EXPIRED = "Biểu mẫu đăng nhập đã hết hạn nên bạn chưa được đăng nhập. Hãy nhập lại mật khẩu."


def test_an_expired_sign_in_shows_the_form_again_with_the_username_kept(
    app: Flask, auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    token = AuthActions(app.test_client()).csrf_token()  # a sign-in page whose session has ended since
    before = everything_stored(driver.session_factory)
    refused = client.post(
        "/auth/login?next=/instances",
        data={"username": "officer1", "password": "demo", "csrf_token": token},
        headers=FROM_THIS_SITE,
    )
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert SIGN_IN_EXPIRED in page and 'value="officer1"' in page
    assert 'value="demo"' not in page  # the password is typed again
    assert everything_stored(driver.session_factory) == before  # not even counted as a failed attempt
    assert client.get("/inbox").status_code == 302  # not signed in
    fresh = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert fresh and fresh.group(1) != token
    signed_in = client.post(
        "/auth/login?next=/instances",
        data={"username": "officer1", "password": "demo", "csrf_token": fresh.group(1)},
        headers=FROM_THIS_SITE,
    )
    assert signed_in.status_code == 302 and signed_in.headers["Location"].endswith("/instances")


def test_an_expired_sign_in_not_from_this_site_fills_nothing_in(client, driver: WorkflowDriver) -> None:
    before = everything_stored(driver.session_factory)
    for headers in ({"Origin": "https://evil.example"}, {}):
        refused = client.post(
            "/auth/login", data={"username": "intruder", "password": "x", "csrf_token": "forged"}, headers=headers
        )
        assert refused.status_code == 400
        page = refused.get_data(as_text=True)
        assert SIGN_IN_EXPIRED in page and "intruder" not in page
    assert everything_stored(driver.session_factory) == before


def test_an_old_sign_in_tab_of_someone_signed_in_meanwhile_goes_to_the_inbox(auth: AuthActions, client) -> None:
    old_tab = auth.csrf_token()
    auth.login("officer1")  # in another tab: a fresh session, whose token the old tab's page does not carry
    response = client.post(
        "/auth/login", data={"username": "officer1", "password": "demo", "csrf_token": old_tab}, headers=FROM_THIS_SITE
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/inbox")


def test_next_parameter_cannot_redirect_elsewhere(auth: AuthActions, client) -> None:
    token = auth.csrf_token()
    response = client.post(
        "/auth/login?next=https://evil.example/steal",
        data={"username": "officer1", "password": "demo", "csrf_token": token},
    )
    assert response.headers["Location"].endswith("/inbox")


def test_language_switch_is_kept_for_the_user(auth: AuthActions, client) -> None:
    auth.login("officer1")
    auth.post("/auth/language", {"locale": "en", "next": "/inbox"})
    assert "My tasks" in client.get("/inbox").get_data(as_text=True)
    auth.logout()
    auth.login("officer1")
    assert "My tasks" in client.get("/inbox").get_data(as_text=True)
    auth.post("/auth/language", {"locale": "xx", "next": "/inbox"})  # unknown: ignored
    assert "My tasks" in client.get("/inbox").get_data(as_text=True)


def test_each_request_is_rendered_in_its_own_readers_language(app, auth: AuthActions, client) -> None:
    """The catalogue a page's strings come from is found once per request (webapp/i18n.py), never kept from one
    request to the next: readers of two languages, alternating on one process, each read their own."""
    english = app.test_client()
    AuthActions(english).login("officer1")
    AuthActions(english).post("/auth/language", {"locale": "en", "next": "/inbox"})
    auth.login("supervisor1")
    for _ in range(2):
        in_english = english.get("/inbox").get_data(as_text=True)
        in_vietnamese = client.get("/inbox").get_data(as_text=True)
        assert "My tasks" in in_english and "Việc của tôi" not in in_english
        assert "Việc của tôi" in in_vietnamese and "My tasks" not in in_vietnamese


def test_password_change_ends_other_sessions(app, auth: AuthActions, client) -> None:
    other = app.test_client()
    AuthActions(other).login("officer1")
    assert other.get("/inbox").status_code == 200
    auth.login("officer1")
    bad = auth.post(
        "/auth/password",
        {"current_password": "demo", "new_password": "short", "confirm_password": "short"},
        page="/auth/password",
    )
    assert bad.status_code == 422 and "8" in bad.get_data(as_text=True)
    ok = auth.post(
        "/auth/password",
        {"current_password": "demo", "new_password": "a-longer-secret", "confirm_password": "a-longer-secret"},
        page="/auth/password",
    )
    assert ok.status_code == 302
    assert client.get("/inbox").status_code == 200  # this session continues
    assert other.get("/inbox").status_code == 302  # the other one must sign in again
    auth.logout()
    assert auth.login("officer1", "demo").status_code == 401
    assert auth.login("officer1", "a-longer-secret").status_code == 302


@pytest.mark.parametrize(
    ("new", "refusals"),
    [
        ("officer1-2026", ["Mật khẩu mới không được trùng hoặc chứa tên đăng nhập của bạn"]),
        ("12345678", ["Mật khẩu mới thuộc số mật khẩu phổ biến nhất"]),
        ("zzzzzzzzzz", ["Mật khẩu mới không được chỉ là một ký tự lặp lại"]),
        ("OFFICER1", ["Mật khẩu mới không được trùng hoặc chứa tên đăng nhập của bạn"]),
        ("off1", ["Mật khẩu mới phải có ít nhất 8 ký tự"]),
    ],
)
def test_a_guessable_new_password_is_refused_saying_why(
    auth: AuthActions, driver: WorkflowDriver, new: str, refusals: list[str]
) -> None:
    auth.login("officer1")
    page = auth.client.get("/auth/password").get_data(as_text=True)
    assert "không phải mật khẩu phổ biến như 12345678" in page  # the rules are said before a refusal
    before = everything_stored(driver.session_factory)
    with driver.session_factory() as s:
        stored = s.scalars(select(User.password_hash).where(User.username == "officer1")).one()
    refused = auth.post(
        "/auth/password",
        {"current_password": "demo", "new_password": new, "confirm_password": new},
        page="/auth/password",
    )
    assert refused.status_code == 422
    shown = refused.get_data(as_text=True)
    assert all(refusal in shown for refusal in refusals), shown
    assert everything_stored(driver.session_factory) == before
    with driver.session_factory() as s:
        assert s.scalars(select(User.password_hash).where(User.username == "officer1")).one() == stored


def test_every_reason_a_new_password_is_refused_is_shown(auth: AuthActions) -> None:
    auth.login("officer1")
    refused = auth.post(
        "/auth/password",
        {"current_password": "demo", "new_password": "aaaa", "confirm_password": "aaaa"},
        page="/auth/password",
    )
    shown = refused.get_data(as_text=True)
    assert "Mật khẩu mới phải có ít nhất 8 ký tự" in shown
    assert "Mật khẩu mới không được chỉ là một ký tự lặp lại" in shown


def test_security_headers(client) -> None:
    response = client.get("/auth/login")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_the_cookie_signer_is_built_once_per_key_and_a_rotated_key_is_honoured(app, client, auth: AuthActions) -> None:
    auth.login("officer1")
    interface = app.session_interface
    signer = interface.get_signing_serializer(app)
    assert client.get("/inbox").status_code == 200
    assert interface.get_signing_serializer(app) is signer  # not rebuilt for each request

    # The key rotated with the old one kept as a fallback: people stay signed in (Flask's SECRET_KEY_FALLBACKS).
    old_key = app.secret_key
    app.secret_key = "rotated-" + old_key
    app.config["SECRET_KEY_FALLBACKS"] = [old_key]
    assert interface.get_signing_serializer(app) is not signer
    assert client.get("/inbox").status_code == 200
    # A key none of whose fallbacks signed the cookie: the cookie is refused, the person signs in again.
    app.secret_key = "another-" + old_key
    app.config["SECRET_KEY_FALLBACKS"] = []
    response = client.get("/inbox")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_a_next_page_with_a_control_character_is_not_followed(auth: AuthActions, client) -> None:
    token = auth.csrf_token()
    response = client.post(
        "/auth/login?next=%2Finbox%0D%0AX%3A+y",
        data={"username": "officer1", "password": "demo", "csrf_token": token},
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/inbox")
    assert "X" not in response.headers
    for target in ("/inbox\r\nX: y", "/inbox\x00", "/\\evil.example"):
        switched = auth.post("/auth/language", {"locale": "en", "next": target})
        assert switched.status_code == 302 and switched.headers["Location"].endswith("/inbox"), target
    assert (
        auth.post("/auth/language", {"locale": "vi", "next": "/notifications"})
        .headers["Location"]
        .endswith("/notifications")
    )


def test_a_password_form_with_fields_left_empty_is_refused_as_422(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    def stored() -> str:
        with driver.session_factory() as s:
            return s.scalars(select(User.password_hash).where(User.username == "officer1")).one()

    before = stored()
    auth.login("officer1")
    assert auth.post("/auth/password", {}, page="/auth/password").status_code == 422
    response = auth.post("/auth/password", {"current_password": "demo"}, page="/auth/password")
    assert response.status_code == 422
    assert client.get("/auth/password").status_code == 200
    assert stored() == before


def test_a_refused_token_is_422_and_nothing_is_stored(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    from workflows.registry.models import ApiToken

    auth.login("officer1")
    response = auth.post("/auth/profile", {"action": "create_token", "name": "x" * 5000}, page="/auth/profile")
    assert response.status_code == 422
    with driver.session_factory() as s:
        assert s.scalars(select(ApiToken)).all() == []
    for token_id in ("99999999999999999999", "²", "0"):
        revoked = auth.post("/auth/profile", {"action": "revoke_token", "token_id": token_id}, page="/auth/profile")
        assert revoked.status_code == 404, token_id


def test_every_page_names_its_icon_so_browsers_stop_asking_for_favicon_ico(client) -> None:
    """Without a declared icon a browser asks for /favicon.ico on every page, which only answers 404."""
    page = lxml_html.fromstring(client.get("/auth/login").get_data(as_text=True))
    (href,) = page.xpath('//head/link[@rel="icon"]/@href')
    icon = client.get(href)
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    assert b"<svg" in icon.get_data()
    icon.close()
