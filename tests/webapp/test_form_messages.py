"""WTForms' own messages ("Not a valid choice.", "Field cannot be longer than …") in Vietnamese: WTForms ships no
Vietnamese catalog, so the project keeps one (webapp/translations/vi/LC_MESSAGES/wtforms.po) for the installed
WTForms' msgids, and every page form reads it (webapp/form_base.py)."""

from __future__ import annotations

from pathlib import Path

import wtforms
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

from tests.fixtures.app import AuthActions

ROOT = Path(__file__).resolve().parents[2]
OURS = ROOT / "webapp" / "translations" / "vi" / "LC_MESSAGES"
WTFORMS_TEMPLATE = Path(wtforms.__file__).parent / "locale" / "wtforms.pot"


def _key(msgid: str | tuple[str, ...]) -> str:
    return msgid[0] if isinstance(msgid, (list, tuple)) else msgid


def test_every_message_of_the_installed_wtforms_is_translated() -> None:
    with WTFORMS_TEMPLATE.open("rb") as f:
        template = {_key(m.id) for m in read_po(f) if m.id}
    with (OURS / "wtforms.po").open("rb") as f:
        ours = {_key(m.id): m for m in read_po(f, locale="vi") if m.id}
    assert template - set(ours) == set(), "WTForms was upgraded: translate its new messages in wtforms.po"
    untranslated = [key for key, m in ours.items() if m.fuzzy or not all(s.strip() for s in _strings(m.string))]
    assert untranslated == []


def test_the_compiled_catalog_is_current() -> None:
    with (OURS / "wtforms.po").open("rb") as f:
        source = {_key(m.id): _strings(m.string) for m in read_po(f, locale="vi") if m.id}
    with (OURS / "wtforms.mo").open("rb") as f:
        compiled = {_key(m.id): _strings(m.string) for m in read_mo(f) if m.id}
    assert compiled == source, "run `make translations` to compile wtforms.po"


def _strings(string: str | tuple[str, ...]) -> tuple[str, ...]:
    return tuple(string) if isinstance(string, (list, tuple)) else (string,)


def test_a_page_form_answers_with_wtforms_messages_in_vietnamese(auth: AuthActions, client: FlaskClient) -> None:
    token = auth.csrf_token()
    response = client.post("/auth/login", data={"username": "x" * 5000, "password": "demo", "csrf_token": token})
    page = response.get_data(as_text=True)
    assert "Tối đa 80 ký tự." in page and "Field cannot be longer" not in page  # the maximum named (0118)
