"""Numbers typed into web forms, and numbers stated in their messages, the way the reader writes them.

Reading (decision 0054): thousands grouped by "." or a space (1.000.000, 1 000 000), a decimal comma (2,5). A decimal
point (2.5) is taken too, as people used to other software type it, so a dot is read by its place: between groups of
exactly three digits it groups thousands, else it is a decimal point. One group alone ("1.000", "12.500") could be
either: a whole-number field reads it as thousands (a decimal could not be meant there); a decimal field refuses it
and asks which was meant, rather than take a thousand as 1. A browser may send a no-break or a narrow no-break space
for the space. The task forms (webapp/tasks/schema_forms.py) and the page forms' `WholeNumberField` (the paper ballot
counts) read with `read_integer` / `read_number`; webapp/static/evaluation_score.js reads with the same grammar.

Only digits count, with the marks above and a sign: not an exponent ("1e3" is no thousand), a hexadecimal "0x10",
Python's "1_000" or another script's digits, which `int()` and `float()` would take. Page forms' ids (a unit, a post, a
version a <select> or a button posts) are `IdField`s: ASCII digits alone, as every id is read
(`workflows.query_args`).

Writing: a limit in a message ("at most 10.000") through `format_amount`, the reader's locale deciding the marks
("10.000" in Vietnamese, "10,000" in English); `workflows.errors.Amount` marks such a number in a service's message.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import flask_babel
from babel.numbers import format_decimal
from flask_babel.speaklater import LazyString
from wtforms import IntegerField
from wtforms.validators import StopValidation
from wtforms.widgets import TextInput

__all__ = ["IdField", "WholeNumberField", "format_amount", "lazy_amount", "read_integer", "read_number"]

_GROUP_SPACE = "[ \u00a0\u202f]"
_DOT_GROUPS = r"[1-9][0-9]{0,2}(?:\.[0-9]{3})+"
_SPACE_GROUPS = rf"[1-9][0-9]{{0,2}}(?:{_GROUP_SPACE}[0-9]{{3}})+"
_INTEGER = re.compile(rf"[+-]?(?:[0-9]+|{_DOT_GROUPS}|{_SPACE_GROUPS})")
# Digits only, in ASCII: no exponent ("1e3"), no "0x10", no "1_000", no other script's digits — what Python's int()
# and float() would also take, and nobody means in a form.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)")
_GROUPED_NUMBER = re.compile(
    rf"[+-]?(?:[1-9][0-9]{{0,2}}(?:\.[0-9]{{3}}){{2,}}(?:,[0-9]+)?"  # 1.000.000 and 1.000.000,5
    rf"|{_DOT_GROUPS},[0-9]+"  # 1.000,5
    rf"|{_SPACE_GROUPS}(?:[.,][0-9]+)?)"  # 1 000 000 and 1 000,5
)
_ONE_DOT_GROUP = re.compile(r"[+-]?[1-9][0-9]{0,2}\.[0-9]{3}")

# Grouped thousands and every decimal the number has (a limit of 0,0005 is not "0"), in the locale's marks.
AMOUNT_FORMAT = "#,##0.##########"


def _without_groups(text: str) -> str:
    return re.sub(_GROUP_SPACE, "", text)


def read_integer(text: str, messages: Mapping[str, str]) -> int:
    """A whole number as typed: 1000000, 1.000.000 or 1 000 000; ValueError with `messages["integer"]` otherwise
    (1.5 is no whole number, and never 15)."""
    if not _INTEGER.fullmatch(text):
        raise ValueError(messages["integer"])
    try:
        return int(_without_groups(text).replace(".", ""))
    except ValueError as exc:  # more digits than Python converts
        raise ValueError(messages["integer"]) from exc


def read_number(text: str, messages: Mapping[str, str]) -> float:
    """A decimal number as typed: 2,5 or 2.5, 1.000.000,5 or 1 000 000,5; ValueError with `messages["number"]`
    otherwise, and with `messages["ambiguous_number"]` (its {text}, {whole}, {decimal} filled in) for "1.000", which
    could be a thousand or one."""
    if _ONE_DOT_GROUP.fullmatch(text):
        whole = text.replace(".", "")
        raise ValueError(messages["ambiguous_number"].format(text=text, whole=whole, decimal=text.replace(".", ",")))
    if _GROUPED_NUMBER.fullmatch(text):
        plain = _without_groups(text)
        if "," in plain or plain.count(".") > 1:  # the dots group thousands, a comma is the decimal mark
            plain = plain.replace(".", "")
        text = plain
    elif not _NUMBER.fullmatch(text):
        raise ValueError(messages["number"])
    value = float(text.replace(",", "."))
    if not math.isfinite(value):
        raise ValueError(messages["number"])
    return value


def format_amount(value: float, locale: str | None = None) -> str:
    """A limit or a count as the reader writes it: 10000 is "10.000" in Vietnamese, "10,000" in English; 2.5 is
    "2,5" in Vietnamese. In `locale` when given (a form built for a language), else the request's (Flask-Babel)."""
    if locale is None:
        return flask_babel.format_decimal(value, format=AMOUNT_FORMAT)
    return format_decimal(value, format=AMOUNT_FORMAT, locale=locale)


def lazy_amount(value: float) -> Any:
    """`format_amount` when the text is shown, for a message defined before any request (`lazy_gettext(...,
    max=lazy_amount(4000))` reads "4.000" to a Vietnamese reader and "4,000" to an English one)."""
    return LazyString(format_amount, value)


class WholeNumberField(IntegerField):
    """A whole number typed into a page form (a count), read as the task page reads one (`read_integer`): "1.000" and
    "1 000" are a thousand, "1.5" is refused with `message` — never read as 15. A text input with a numeric keyboard:
    a `type="number"` input lets some browsers drop "1.000" (or read it as 1) before the server sees it, and a refused
    value would not be shown back to be corrected."""

    widget = TextInput()

    def __init__(self, label: Any = None, validators: Any = None, *, message: Any, **kwargs: Any) -> None:
        kwargs["render_kw"] = {"inputmode": "numeric", **(kwargs.get("render_kw") or {})}
        super().__init__(label, validators, **kwargs)
        self.message = message

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        text = valuelist[0].strip() if isinstance(valuelist[0], str) else ""
        if not text:
            self.data = None  # the field's InputRequired (or Optional) speaks for it
            return
        try:
            self.data = read_integer(text, {"integer": str(self.message)})
        except ValueError:
            self.data = None
            raise

    def pre_validate(self, form: Any) -> None:
        if self.process_errors:
            raise StopValidation  # what was typed cannot be read: one message, not the range's after it too


# ASCII digits, as ids are read everywhere; the field's NumberRange says when the number is too large to be an id (a
# hundred digits is only a bound on the text int() reads).
_ID_DIGITS = re.compile(r"[0-9]{1,100}", re.ASCII)
# WTForms' own message for what IntegerField cannot read: its catalog is the wtforms domain (form_base.py), not ours.
_NOT_AN_INTEGER = "Not a valid integer value."


class IdField(IntegerField):
    """An id a page form posts from a <select> or a button (a unit, a post, a version): ASCII digits, as every id is
    read (`workflows.query_args`) — not "1_000", "١٢" or "+5", which WTForms' `int()` takes. Nothing posted is no
    value: the field's InputRequired or Optional speaks for it."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        text = valuelist[0].strip() if isinstance(valuelist[0], str) else ""
        if not text:
            self.data = None
            return
        if not _ID_DIGITS.fullmatch(text):
            self.data = None
            raise ValueError(self.gettext(_NOT_AN_INTEGER))
        self.data = int(text)

    def pre_validate(self, form: Any) -> None:
        if self.process_errors:
            # What was posted is no id: one message, not also the range's ("between 1 and 2147483647"), which only
            # followed from the first (decision 0118).
            raise StopValidation
