"""Language: Vietnamese by default, English on request (per user, or per browser session before sign-in)."""

from __future__ import annotations

from flask import current_app, g, session
from flask_login import current_user


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    # While the database is away the user cannot be read; the browser session's choice still can.
    if not g.get("database_unavailable") and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    chosen = session.get("locale")
    return chosen if chosen in languages else current_app.config["BABEL_DEFAULT_LOCALE"]
