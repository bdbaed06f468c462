"""The signed session cookie, with its signer built once per secret key instead of on every request.

Flask's cookie session builds a new `URLSafeTimedSerializer` each time it opens or saves a session — on every
request, an API call without any cookie included — and that construction (which also test-serialises an empty
object) was 6 % of the app's own work on a request that does nothing else (issue #9). The signer is built again
whenever the secret key or its fallbacks change, so rotating the key behaves as Flask documents.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer


class SessionCookie(SecureCookieSessionInterface):
    def __init__(self) -> None:
        self._signer: tuple[Any, URLSafeTimedSerializer | None] = ((), None)

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        built_for, signer = self._signer
        if built_for != keys:
            signer = super().get_signing_serializer(app)
            self._signer = (keys, signer)
        return signer
