"""Language: Vietnamese by default, English on request (per user, or per browser session before sign-in)."""

from __future__ import annotations

from babel.support import NullTranslations, Translations
from flask import Flask, current_app, g, session
from flask_babel import get_translations
from flask_login import current_user


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    # While the database is away the user cannot be read; the browser session's choice still can.
    if not g.get("database_unavailable") and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    chosen = session.get("locale")
    return chosen if chosen in languages else current_app.config["BABEL_DEFAULT_LOCALE"]


def _page_translations() -> Translations | NullTranslations:
    try:
        found: Translations | NullTranslations = g._page_translations
    except AttributeError:
        found = g._page_translations = get_translations()
    except RuntimeError:  # no app context: a page rendered by hand, outside a request
        return get_translations()
    return found


def install_page_translations(app: Flask) -> None:
    """Templates find the reader's catalogue once per request. Flask-Babel's own template callables look it up for
    every string — its domain, the context, the locale: 5 µs each, 30 to 60 strings a page (issue #9)."""
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: _page_translations().ugettext(s),
        ngettext=lambda s, p, n: _page_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _page_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _page_translations().unpgettext(c, s, p, n),
    )
