"""Every route is guarded: anonymous requests are sent to sign in (pages) or refused (API); forms need CSRF."""

from __future__ import annotations

import re

from flask import Flask

# /healthz is public by design and /metrics answers only its bearer token (docs/decisions/0023; tests/webapp/test_production.py).
PUBLIC = {"static", "auth.login", "auth.language", "api.openapi", "production.healthz", "production.metrics"}


def _sample_path(rule: str) -> str:
    return re.sub(r"<(?:int:)?[^>]+>", "1", rule)


def test_every_route_requires_sign_in(app: Flask, client) -> None:
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC:
            continue
        path = _sample_path(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method)
            checked += 1
            if rule.rule.startswith("/api/"):
                assert response.status_code == 401, f"{method} {path} answered {response.status_code}"
            elif method == "GET":
                assert response.status_code == 302 and "/auth/login" in response.headers["Location"], f"GET {path}"
            else:
                # No session: CSRF refuses the form before the view runs, or the login check redirects.
                assert response.status_code in (302, 400), f"{method} {path} answered {response.status_code}"
    assert checked > 20


def test_signed_in_posts_without_csrf_are_refused(app: Flask, client, auth) -> None:
    auth.login("admin")
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or "POST" not in (rule.methods or set()):
            continue
        response = client.post(_sample_path(rule.rule), data={})
        if rule.endpoint == "auth.login":  # signed in already (in another tab): sent on, as the sign-in page does
            assert response.status_code == 302 and response.headers["Location"].endswith("/inbox")
            continue
        assert response.status_code == 400, f"POST {rule.rule} without a CSRF token answered {response.status_code}"
