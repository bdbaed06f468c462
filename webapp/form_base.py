"""The base of every page form: WTForms' own messages in the reader's language.

WTForms ships no Vietnamese catalog, so "Not a valid choice." or "Field cannot be longer than 200 characters." reached
Vietnamese readers in English. Ours is webapp/translations/vi/LC_MESSAGES/wtforms.po (the msgids of the installed
WTForms, `tests/webapp/test_form_messages.py` keeps the two in step); `make translations` compiles it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from babel.support import NullTranslations, Translations
from flask import current_app
from flask_babel import get_locale
from flask_wtf import FlaskForm

TRANSLATIONS_DIR = Path(__file__).parent / "translations"


@cache
def wtforms_catalog(locale: str) -> Translations | NullTranslations:
    """Loaded once per language: the files do not change while the app runs."""
    return Translations.load(str(TRANSLATIONS_DIR), [locale], domain="wtforms")


class Form(FlaskForm):
    class Meta:
        def get_translations(self, form: Any) -> Translations | NullTranslations | None:
            if "babel" not in current_app.extensions:
                return None  # an app without languages (a form tested on its own): WTForms' English
            return wtforms_catalog(str(get_locale() or "vi"))
