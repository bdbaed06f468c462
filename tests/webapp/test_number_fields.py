"""Numbers typed into page forms and stated in messages, the reader's way: the shared reading of the task page and
the page forms (decision 0054), and limits written with the locale's marks."""

from __future__ import annotations

import pytest
from flask import Flask
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from wtforms import Form
from wtforms.validators import InputRequired, NumberRange, Optional

from webapp.number_fields import IdField, WholeNumberField, format_amount, lazy_amount, read_integer, read_number
from workflows.query_args import MAX_ID


@pytest.mark.parametrize(
    ("value", "vi", "en"),
    [(10000, "10.000", "10,000"), (2.5, "2,5", "2.5"), (30, "30", "30"), (0.0005, "0,0005", "0.0005")],
)
def test_a_limit_reads_as_its_reader_writes_it(value: float, vi: str, en: str) -> None:
    assert (format_amount(value, "vi"), format_amount(value, "en")) == (vi, en)


def test_a_message_defined_before_any_request_writes_its_limit_for_the_reader(app: Flask) -> None:
    message = _l("At most %(max)s characters.", max=lazy_amount(4000))
    with app.test_request_context("/"), force_locale("vi"):
        assert str(message) == "Tối đa 4.000 ký tự." and format_amount(10000) == "10.000"
    with app.test_request_context("/"), force_locale("en"):
        assert str(message) == "At most 4,000 characters." and format_amount(10000) == "10,000"


def test_the_shared_reading_refuses_with_the_callers_message() -> None:
    assert read_integer("1.000", {"integer": "x"}) == 1000
    with pytest.raises(ValueError, match=r"^Nhập số$"):
        read_integer("1.5", {"integer": "Nhập số"})


class _Counts(Form):
    count = WholeNumberField("Số phiếu", message="Nhập số nguyên.")


@pytest.mark.parametrize(("typed", "read"), [("1.000", 1000), ("1 000", 1000), ("1\u00a0000", 1000), (" 7 ", 7)])
def test_a_whole_number_field_reads_grouped_thousands(typed: str, read: int) -> None:
    form = _Counts(MultiDict({"count": typed}))
    assert form.validate() and form.count.data == read


@pytest.mark.parametrize(
    "typed",
    ["1.5", "1,000", "1.00", "mười",
     # Digits only: what int() or float() also reads is no count a person writes.
     "1e3", "1E3", "0x10", "1_000", "١٢", "１２", "1.000e3", "+-1"],
)  # fmt: skip
def test_a_whole_number_field_refuses_once_and_shows_what_was_typed(typed: str) -> None:
    form = _Counts(MultiDict({"count": typed}))
    assert not form.validate()
    assert form.count.errors == ["Nhập số nguyên."] and form.count.data is None
    assert f'value="{typed}"' in form.count() and 'inputmode="numeric"' in form.count()


@pytest.mark.parametrize("typed", ["1e3", "1E3", "2,5e1", "1e-3", "0x10", "1_000", "١٢", "inf", "nan"])
def test_the_shared_reading_of_a_decimal_takes_digits_only(typed: str) -> None:
    with pytest.raises(ValueError, match=r"^Nhập số$"):
        read_number(typed, {"number": "Nhập số", "ambiguous_number": "?"})


class _Choice(Form):
    unit = IdField("Đơn vị", validators=[Optional()])
    version = IdField("Phiên bản", validators=[InputRequired("Chọn phiên bản."), NumberRange(1, MAX_ID)])


@pytest.mark.parametrize(("typed", "read"), [("12", 12), (" 7 ", 7), ("0012", 12)])
def test_an_id_field_reads_ascii_digits(typed: str, read: int) -> None:
    form = _Choice(MultiDict({"unit": typed, "version": typed}))
    assert form.validate(), form.errors
    assert form.unit.data == form.version.data == read


@pytest.mark.parametrize("typed", ["1_000", "١٢", "１２", "+5", "-5", "0x10", "1e3", "1.000", "²"])
def test_an_id_field_refuses_what_int_would_also_read(typed: str) -> None:
    """WTForms' IntegerField reads "1_000", "١٢" and "+5" through int(); no id is written so."""
    form = _Choice(MultiDict({"unit": typed, "version": typed}))
    assert not form.validate()
    assert form.unit.data is None and form.unit.errors == ["Not a valid integer value."]
    assert form.version.data is None and "Not a valid integer value." in form.version.errors


def test_an_id_field_left_empty_is_for_its_validators_to_judge() -> None:
    form = _Choice(MultiDict({"unit": "", "version": ""}))
    assert not form.validate()
    assert form.unit.errors == [] and form.unit.data is None
    assert form.version.errors == ["Chọn phiên bản."]
