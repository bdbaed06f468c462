"""Task forms built from JSON Schemas: the page's form accepts exactly what the API's jsonschema check accepts."""

from __future__ import annotations

import io
import json
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, render_template_string
from jsonschema import Draft202012Validator, FormatChecker
from lxml import html as lxml_html
from markupsafe import escape
from werkzeug.datastructures import FileStorage, MultiDict

from webapp.tasks.schema_forms import (
    CHECKLIST_FILTER_FROM,
    UnsupportedSchema,
    _clean_text,
    add_row,
    build_form_class,
    cadre_codes,
    check_uploads,
    checklist_values,
    data_to_formdata,
    file_fields,
    form_to_checked_data,
    form_to_data,
    form_to_draft,
    has_long_checklist,
    invalid_entries,
    kept_references,
    offer_checklists,
    offer_choices,
    offer_entries,
    pending_uploads,
    place_reference,
    planning_entry_values,
    position_values,
    wants_more_rows,
)

ROOT = Path(__file__).resolve().parents[2]
FORMS = ROOT / "forms"

APP = Flask(__name__, template_folder=str(ROOT / "webapp" / "templates"))
APP.config.update(SECRET_KEY="test-secret", WTF_CSRF_ENABLED=False, TESTING=True)
APP.jinja_env.globals["_"] = lambda text, **kwargs: text

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Báo cáo kết quả",
    "type": "object",
    "required": ["subject", "amount", "needed_by", "agreed", "kind", "products"],
    "properties": {
        "subject": {"type": "string", "title": "Nội dung", "minLength": 1, "maxLength": 500},
        "code": {"type": "string", "title": "Mã hồ sơ", "pattern": "^[A-Z]{2}[0-9]+$"},
        "details": {"type": "string", "title": "Chi tiết", "maxLength": 500},
        "amount": {"type": "integer", "title": "Số lượng", "minimum": 0, "description": "Số người đề nghị."},
        "ratio": {"type": "number", "title": "Tỉ lệ", "exclusiveMinimum": 0, "maximum": 1},
        "needed_by": {"type": "string", "title": "Cần trước ngày", "format": "date"},
        "agreed": {"type": "boolean", "title": "Thủ trưởng đã đồng ý"},
        "kind": {
            "type": "string",
            "title": "Loại",
            "enum": ["new", "renew"],
            "x-labels": {"new": "Cấp mới", "renew": "Gia hạn"},
        },
        "level": {
            "type": "integer",
            "title": "Mức độ",
            "oneOf": [{"const": 1, "title": "Thấp"}, {"const": 2, "title": "Cao"}],
        },
        "topics": {
            "type": "array",
            "title": "Lĩnh vực",
            "uniqueItems": True,
            "maxItems": 2,
            "items": {"type": "string", "enum": ["hr", "finance", "it"]},
            "x-labels": {"hr": "Nhân sự", "finance": "Tài chính", "it": "Công nghệ"},
        },
        "products": {
            "type": "array",
            "title": "Sản phẩm công việc",
            "minItems": 1,
            "maxItems": 3,
            "items": {
                "type": "object",
                "required": ["name"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string", "title": "Tên sản phẩm", "maxLength": 200},
                    "assigned": {"type": "integer", "title": "Được giao", "minimum": 0},
                    "completed": {"type": "integer", "title": "Hoàn thành", "minimum": 0},
                    "on_time": {"type": "boolean", "title": "Đúng hạn"},
                },
            },
        },
        "evidence": {"type": "string", "title": "Minh chứng", "format": "binary"},
    },
    "x-ui": {
        "details": {"widget": "textarea", "help": "Ghi rõ lý do.", "label_en": "Details", "help_en": "Say why."},
        "level": {"widget": "radio"},
        "evidence": {"accept": ".pdf,.jpg,.png", "max_size_mb": 1},
    },
}
VALIDATOR = Draft202012Validator(SCHEMA, format_checker=FormatChecker())

VALID_POST: dict[str, Any] = {
    "subject": "  Đề nghị cử cán bộ đi học  ",
    "code": "HS2026",
    "details": "Dòng một\r\nDòng hai",
    "amount": "0",
    "ratio": "0,5",
    "needed_by": "15/03/2026",
    "agreed": "false",
    "kind": "renew",
    "level": "2",
    "topics": ["hr", "it"],
    "products-0-name": "Báo cáo quý",
    "products-0-assigned": "3",
    "products-0-completed": "2",
    "products-0-on_time": "true",
}
VALID_DATA: dict[str, Any] = {
    "subject": "Đề nghị cử cán bộ đi học",
    "code": "HS2026",
    "details": "Dòng một\nDòng hai",
    "amount": 0,
    "ratio": 0.5,
    "needed_by": "2026-03-15",
    "agreed": False,
    "kind": "renew",
    "level": 2,
    "topics": ["hr", "it"],
    "products": [{"name": "Báo cáo quý", "assigned": 3, "completed": 2, "on_time": True}],
}
DELETE = object()
CHOICES = {"agreed", "kind", "level", "topics", "on_time"}


def _multidict(post: dict[str, Any]) -> MultiDict:
    data = MultiDict()
    for key, value in post.items():
        for item in value if isinstance(value, list) else [value]:
            data.add(key, item)
    return data


@contextmanager
def posted(post: dict[str, Any], schema: dict[str, Any] = SCHEMA, **build: Any) -> Iterator[Any]:
    with APP.test_request_context(method="POST", data=_multidict(post)) as ctx:
        try:
            yield build_form_class(schema, **build)()
        finally:
            ctx.request.environ["wsgi.input"].close()  # a large test body is spooled to a file nobody else closes


@contextmanager
def shown(data: dict[str, Any] | None = None, schema: dict[str, Any] = SCHEMA, **build: Any) -> Iterator[Any]:
    with APP.test_request_context(method="GET"):
        yield build_form_class(schema, **build)(data=data_to_formdata(data or {}, schema))


def _changed(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for key, value in changes.items():
        if value is DELETE:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def render(form: Any, schema: dict[str, Any] = SCHEMA) -> str:
    return render_template_string(
        '{% import "tasks/_fields.html" as f %}{{ f.render_form_fields(form, schema) }}', form=form, schema=schema
    )


def _field(form: Any, path: tuple[Any, ...]) -> Any:
    field = form[path[0]]
    for step in path[1:]:
        field = field[step]
    return field


# -- valid input -----------------------------------------------------------------------------------------------------


def test_valid_post_gives_typed_json_that_the_schema_accepts() -> None:
    with posted(VALID_POST) as form:
        assert form.validate(), form.errors
        data = form_to_data(form, SCHEMA)
    assert data == VALID_DATA
    assert type(data["amount"]) is int and type(data["ratio"]) is float and data["agreed"] is False
    assert type(data["products"][0]["assigned"]) is int and data["products"][0]["on_time"] is True
    assert list(VALIDATOR.iter_errors(data)) == []


def test_false_and_zero_answer_required_fields() -> None:
    with posted(_changed(VALID_POST, {"agreed": "false", "amount": "0"})) as form:
        assert form.validate(), form.errors
        data = form_to_data(form, SCHEMA)
    assert data["agreed"] is False and data["amount"] == 0


@pytest.mark.parametrize("typed", ["15/03/2026", "2026-03-15", "15-03-2026", "15.03.2026", "15/3/2026", " 2026-3-15 "])
def test_dates_typed_either_way_become_iso(typed: str) -> None:
    with posted(_changed(VALID_POST, {"needed_by": typed})) as form:
        assert form.validate(), form.errors
        assert form_to_data(form, SCHEMA)["needed_by"] == "2026-03-15"


def test_text_is_counted_as_the_person_saw_it() -> None:
    decomposed = unicodedata.normalize("NFD", "Nguyễn Thị Hồng")
    exactly_500 = ("a" * 99 + "\r\n") * 5  # 500 characters in the browser, 505 bytes of CRLF on the wire
    with posted(_changed(VALID_POST, {"subject": decomposed, "details": exactly_500, "code": "HS1\x00"})) as form:
        assert form.validate(), form.errors
        data = form_to_data(form, SCHEMA)
    assert data["subject"] == "Nguyễn Thị Hồng" and unicodedata.is_normalized("NFC", data["subject"])
    assert len(data["details"]) == 499 and "\r" not in data["details"]  # the last newline is trailing space
    assert data["code"] == "HS1"
    assert list(VALIDATOR.iter_errors(data)) == []


def test_text_drops_what_no_database_can_store_as_every_form_does() -> None:
    # DEL and the C0 controls are never meant (NUL cannot be stored at all); a tab stays, as on every other form.
    with posted(_changed(VALID_POST, {"subject": "Hồ\x7f sơ\x1b", "details": "một\tdòng"})) as form:
        assert form.validate(), form.errors
        data = form_to_data(form, SCHEMA)
    assert data["subject"] == "Hồ sơ"
    assert data["details"] == "một\tdòng"
    # A form post cannot carry a lone surrogate (UTF-8 has none), but what is cleaned loses it as well.
    assert _clean_text("Hồ\ud800 sơ") == "Hồ sơ"


def test_unanswered_optional_fields_are_left_out() -> None:
    required_only = {
        key: value
        for key, value in VALID_POST.items()
        if key in ("subject", "amount", "needed_by", "agreed", "kind") or key.startswith("products-0-name")
    }
    required_only.update({"code": "", "ratio": " ", "level": "", "products-1-name": "", "products-1-assigned": ""})
    with posted(required_only) as form:
        assert form.validate(), form.errors
        data = form_to_data(form, SCHEMA)
    assert data == {
        "subject": "Đề nghị cử cán bộ đi học",
        "amount": 0,
        "needed_by": "2026-03-15",
        "agreed": False,
        "kind": "renew",
        "topics": [],  # nothing ticked is an answer
        "products": [{"name": "Báo cáo quý"}],  # the blank second row is dropped
    }
    assert list(VALIDATOR.iter_errors(data)) == []


# -- invalid input: the form refuses, with a Vietnamese message on the field, and so does the API ------------------

INVALID = [
    # (id, changed inputs, field path, message, same change in the JSON or None when JSON cannot say it)
    ("negative amount", {"amount": "-1"}, ("amount",), "Giá trị phải lớn hơn hoặc bằng 0.", {"amount": -1}),
    ("amount not a number", {"amount": "mười"}, ("amount",), "Phải là một số nguyên.", {"amount": "mười"}),
    ("amount with decimals", {"amount": "1.5"}, ("amount",), "Phải là một số nguyên.", {"amount": 1.5}),
    ("amount missing", {"amount": ""}, ("amount",), "Trường này là bắt buộc.", {"amount": DELETE}),
    ("subject blank", {"subject": "   "}, ("subject",), "Trường này là bắt buộc.", {"subject": ""}),
    ("subject 501 chars", {"subject": "x" * 501}, ("subject",), "Tối đa 500 ký tự.", {"subject": "x" * 501}),
    ("code pattern", {"code": "hs2026"}, ("code",), "Giá trị không đúng định dạng yêu cầu.", {"code": "hs2026"}),
    ("ratio zero", {"ratio": "0"}, ("ratio",), "Giá trị phải lớn hơn 0.", {"ratio": 0}),
    ("ratio too big", {"ratio": "1,5"}, ("ratio",), "Giá trị phải nhỏ hơn hoặc bằng 1.", {"ratio": 1.5}),
    ("ratio not finite", {"ratio": "nan"}, ("ratio",), "Phải là một số.", None),
    (
        "31 February",
        {"needed_by": "31/02/2026"},
        ("needed_by",),
        "Không phải là ngày hợp lệ (dd/mm/yyyy hoặc yyyy-mm-dd).",
        {"needed_by": "2026-02-31"},
    ),
    (
        "month 13",
        {"needed_by": "2026-13-01"},
        ("needed_by",),
        "Không phải là ngày hợp lệ (dd/mm/yyyy hoặc yyyy-mm-dd).",
        {"needed_by": "2026-13-01"},
    ),
    ("boolean unanswered", {"agreed": DELETE}, ("agreed",), "Trường này là bắt buộc.", {"agreed": DELETE}),
    ("boolean nonsense", {"agreed": "maybe"}, ("agreed",), "Lựa chọn không hợp lệ.", {"agreed": "maybe"}),
    ("enum not allowed", {"kind": "other"}, ("kind",), "Lựa chọn không hợp lệ.", {"kind": "other"}),
    ("enum placeholder", {"kind": ""}, ("kind",), "Trường này là bắt buộc.", {"kind": DELETE}),
    ("oneOf not allowed", {"level": "3"}, ("level",), "Lựa chọn không hợp lệ.", {"level": 3}),
    ("too many topics", {"topics": ["hr", "finance", "it"]}, ("topics",), "Chỉ được chọn tối đa 2 mục.", None),
    ("unknown topic", {"topics": ["sales"]}, ("topics",), "Lựa chọn không hợp lệ.", {"topics": ["sales"]}),
    (
        "row count negative",
        {"products-0-completed": "-1"},
        ("products", 0, "completed"),
        "Giá trị phải lớn hơn hoặc bằng 0.",
        {"products": [{"name": "Báo cáo quý", "completed": -1}]},
    ),
    (
        "row name missing",
        {"products-0-name": ""},
        ("products", 0, "name"),
        "Trường này là bắt buộc.",
        {"products": [{"assigned": 3}]},
    ),
    (
        "row boolean nonsense",
        {"products-0-on_time": "perhaps"},
        ("products", 0, "on_time"),
        "Lựa chọn không hợp lệ.",
        {"products": [{"name": "x", "on_time": "perhaps"}]},
    ),
    (
        "no rows",
        {"products-0-name": "", "products-0-assigned": "", "products-0-completed": "", "products-0-on_time": DELETE},
        ("products",),
        "Cần nhập ít nhất 1 dòng.",
        {"products": []},
    ),
    (
        "too many rows",
        {f"products-{i}-name": f"Sản phẩm {i}" for i in range(1, 4)},
        ("products",),
        "Chỉ được nhập tối đa 3 dòng.",
        {"products": [{"name": f"Sản phẩm {i}"} for i in range(4)]},
    ),
]


@pytest.mark.parametrize(
    ("changes", "path", "message", "api_change"), [case[1:] for case in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid_input_is_refused_on_the_field(
    changes: dict[str, Any], path: tuple[Any, ...], message: str, api_change: dict[str, Any] | None
) -> None:
    with posted(_changed(VALID_POST, changes)) as form:
        assert not form.validate()
        assert set(form.errors) == {path[0]}, form.errors  # nothing else is blamed
        field = _field(form, path)
        errors = field.table_errors if path == ("products",) else field.errors
        assert message in errors
        html = render(form)
    assert escape(message) in html
    for key, typed in changes.items():
        if isinstance(typed, str) and typed.strip() and key.split("-")[-1] not in CHOICES:
            assert f'value="{escape(typed)}"' in html  # shown back as typed, next to its error
    if api_change is not None:
        assert list(VALIDATOR.iter_errors(_changed(VALID_DATA, api_change))), "the API would have accepted it"


NUMBERS: dict[str, Any] = {
    "type": "object",
    "properties": {"whole": {"type": "integer", "maximum": 10**12}, "amount": {"type": "number"}},
}


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("1000000", 1_000_000),
        ("1.000.000", 1_000_000),  # Vietnamese thousands
        ("1 000 000", 1_000_000),
        ("1\u00a0000\u00a0000", 1_000_000),  # a no-break space, as some keyboards and copied text have it
        ("1\u202f000", 1000),
        ("12.500", 12_500),  # one group: in a whole-number field a thousand, no decimal can be meant
        ("-2.000", -2000),
        ("+1.000.000.000", 1_000_000_000),
    ],
)
def test_a_whole_number_may_group_its_thousands(typed: str, read: int) -> None:
    with posted({"whole": typed}, NUMBERS) as form:
        assert form.validate(), form.errors
        data = form_to_data(form, NUMBERS)
    assert data == {"whole": read} and type(data["whole"]) is int


@pytest.mark.parametrize("typed", ["1.5", "1,5", "1,000", "1.50", "1.0000", "12.345.6", "1.000,5", "01.000", "0.500",
                                   "1.000 000", "1 00", "1..000", "1e3", "1E3", "1.000e3", "0x10", "1_000", "١٢",
                                   "１２", "+-1", "--1"])  # fmt: skip
def test_a_whole_number_is_not_guessed_from_a_decimal(typed: str) -> None:
    """1.5 is no whole number, and never 15: only groups of exactly three digits are thousands."""
    with posted({"whole": typed}, NUMBERS) as form:
        assert not form.validate()
        assert form.whole.errors == ["Phải là một số nguyên."]
        assert f'value="{escape(typed)}"' in render(form, NUMBERS)


@pytest.mark.parametrize(
    ("typed", "read"),
    [
        ("2,5", 2.5),  # the decimal comma
        ("2.5", 2.5),  # a decimal point, as other software taught people
        ("1.000.000", 1_000_000.0),
        ("1.000.000,25", 1_000_000.25),
        ("1.000,5", 1000.5),
        ("1 000 000", 1_000_000.0),
        ("1 000,5", 1000.5),
        ("0.500", 0.5),  # no thousands start with 0
        ("1234.567", 1234.567),  # four digits before the dot: no group
        ("12.3456", 12.3456),
    ],
)
def test_a_decimal_number_reads_thousands_and_the_decimal_comma(typed: str, read: float) -> None:
    with posted({"amount": typed}, NUMBERS) as form:
        assert form.validate(), form.errors
        assert form_to_data(form, NUMBERS) == {"amount": read}


@pytest.mark.parametrize(("typed", "whole", "decimal"), [("1.000", "1000", "1,000"), ("-12.500", "-12500", "-12,500")])
def test_a_decimal_number_with_one_dot_group_asks_which_was_meant(typed: str, whole: str, decimal: str) -> None:
    """A thousand for a Vietnamese reader, one for someone used to a decimal point: never taken as either."""
    with posted({"amount": typed}, NUMBERS) as form:
        assert not form.validate()
        assert form.amount.errors == [
            f"Chưa rõ “{typed}” là số nào: viết {whole} nếu là số hàng nghìn, hoặc {decimal} nếu là số thập phân."
        ]
    with posted({"amount": typed}, NUMBERS, locale="en") as form:
        assert not form.validate()
        assert form.amount.errors == [
            f"“{typed}” could be read two ways: write {whole} for thousands, or {decimal} with a decimal comma."
        ]


@pytest.mark.parametrize(
    "typed",
    ["1.000 000", "12.345.6", "1,000.5", "abc", "1.000.00",
     # Digits only: what float() also reads is no number a person writes in a form.
     "1e3", "1E3", "2,5e1", "1e-3", "0x10", "1_000", "١٢", "１２", "inf", "nan"],
)  # fmt: skip
def test_a_decimal_number_refuses_what_it_cannot_read(typed: str) -> None:
    with posted({"amount": typed}, NUMBERS) as form:
        assert not form.validate()
        assert form.amount.errors == ["Phải là một số."]


def test_a_refused_form_gives_the_rest_of_its_data_and_names_what_it_refused() -> None:
    """For the engine to check what the page did not refuse: fields and cells with an error are left out, named as
    the engine names them; a cell's row is counted among the rows filled in (the blank one is skipped)."""
    changes = {
        "amount": "mười",
        "products-0-name": "",
        "products-0-assigned": "",
        "products-0-completed": "",
        "products-0-on_time": DELETE,
        "products-1-name": "Báo cáo năm",
        "products-1-completed": "-1",
    }
    with posted(_changed(VALID_POST, changes)) as form:
        assert not form.validate()
        data, refused = form_to_checked_data(form, SCHEMA)
    assert refused == {"amount", "products.0.completed"}
    assert "amount" not in data and data["products"] == [{"name": "Báo cáo năm"}]
    assert {key: value for key, value in data.items() if key not in ("products",)} == {
        key: value for key, value in VALID_DATA.items() if key not in ("amount", "products")
    }
    twice = {"products-1-name": "Báo cáo quý", "products-1-assigned": "3", "products-1-completed": "2"}
    twice["products-1-on_time"] = "true"
    with posted(_changed(VALID_POST, twice), _unique(SCHEMA)) as form:
        assert not form.validate()
        data, refused = form_to_checked_data(form, _unique(SCHEMA))
    assert refused == {"products"} and "products" not in data  # a table's own error takes the table
    with posted(VALID_POST) as form:
        assert form.validate()
        assert form_to_checked_data(form, SCHEMA) == (VALID_DATA, frozenset())


def _unique(schema: dict[str, Any]) -> dict[str, Any]:
    unique = json.loads(json.dumps(schema))
    unique["properties"]["products"]["uniqueItems"] = True
    return unique


def test_messages_follow_the_locale() -> None:
    with posted(_changed(VALID_POST, {"amount": "-1", "subject": ""}), locale="en") as form:
        assert not form.validate()
        assert form.amount.errors == ["Must be greater than or equal to 0."]
        assert form.subject.errors == ["This field is required."]
        assert form.details.label.text == "Details" and form.details.description == "Say why."
        assert [option.label.text for option in form.agreed] == ["Yes", "No"]
    with posted(VALID_POST) as form:
        assert form.details.label.text == "Chi tiết" and form.details.description == "Ghi rõ lý do."
        assert [option.label.text for option in form.agreed] == ["Có", "Không"]
        assert [option.label.text for option in form.level] == ["Thấp", "Cao"]
        assert [option.label.text for option in form.kind] == ["— Chọn —", "Cấp mới", "Gia hạn"]


LIMITS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "units": {"type": "number", "minimum": 1500, "maximum": 10000},
        "share": {"type": "number", "maximum": 2.5},
        "note": {"type": "string", "maxLength": 4000},
        "items": {
            "type": "array",
            "maxItems": 1200,
            "items": {"type": "object", "properties": {"name": {"type": "string"}}},
        },
    },
}


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        (
            "vi",
            {
                "units": ["Nhập số từ 1.500 đến 10.000."],  # both ends: the range (decision 0118)
                "share": ["Giá trị phải nhỏ hơn hoặc bằng 2,5."],  # one end: said alone
                "note": ["Tối đa 4.000 ký tự."],
            },
        ),
        (
            "en",
            {
                "units": ["Enter a number from 1,500 to 10,000."],
                "share": ["Must be less than or equal to 2.5."],
                "note": ["At most 4,000 characters."],
            },
        ),
    ],
)
def test_a_limit_in_a_message_is_written_the_readers_way(locale: str, expected: dict[str, list[str]]) -> None:
    """10000 reads "10.000" to a Vietnamese reader (and "10,000" in English), 2.5 reads "2,5": as they write it."""
    with posted({"units": "10001", "share": "3", "note": "x" * 4001}, LIMITS, locale=locale) as form:
        assert not form.validate()
        assert {name: form[name].errors for name in expected} == expected
    with posted({"units": "1499"}, LIMITS, locale=locale) as form:
        assert not form.validate()
        minimum = {"vi": "Nhập số từ 1.500 đến 10.000.", "en": "Enter a number from 1,500 to 10,000."}
        assert form.units.errors == [minimum[locale]]
    rows = {f"items-{index}-name": "x" for index in range(1201)}
    with posted(rows, LIMITS, locale=locale) as form:
        assert not form.validate()
        most = {"vi": "Chỉ được nhập tối đa 1.200 dòng.", "en": "At most 1,200 rows are allowed."}
        assert form["items"].errors == [most[locale]]


def test_repeated_rows_are_refused_when_items_must_be_unique() -> None:
    schema = json.loads(json.dumps(SCHEMA))
    schema["properties"]["products"]["uniqueItems"] = True
    twice = {"products-1-name": "Báo cáo quý", "products-1-assigned": "3", "products-1-completed": "2"}
    twice["products-1-on_time"] = "true"
    with posted(_changed(VALID_POST, twice), schema) as form:
        assert not form.validate()
        assert form.products.table_errors == ["Các dòng không được trùng nhau."]


# -- pre-filling and drafts ------------------------------------------------------------------------------------------


def test_saved_data_fills_the_form_and_comes_back_unchanged() -> None:
    with shown(VALID_DATA) as form:
        assert form.needed_by._value() == "2026-03-15"
        assert form.agreed.data == "false" and form.level.data == "2"
        assert form.products[0]["on_time"].data == "true"
        assert form.validate(), form.errors
        assert form_to_data(form, SCHEMA) == VALID_DATA
        html = render(form)
    assert 'value="2026-03-15"' in html and 'value="Báo cáo quý"' in html
    assert '<input checked id="agreed-1" name="agreed" required type="radio" value="false">' in html


def test_data_to_formdata_drops_what_the_schema_does_not_know() -> None:
    prefilled = data_to_formdata({**VALID_DATA, "instance_note": "x", "kind": "gone", "ratio": None}, SCHEMA)
    assert "instance_note" not in prefilled and "kind" not in prefilled and "ratio" not in prefilled
    assert prefilled["agreed"] == "false" and prefilled["topics"] == ["hr", "it"]


def test_odd_saved_values_do_not_break_the_page() -> None:
    odd = {"amount": [1, 2], "needed_by": 5, "subject": {"a": 1}, "agreed": "yes", "topics": "hr", "products": "x"}
    with shown(odd) as form:
        assert form.amount.data is None and form.needed_by.data is None and form.subject.data == ""
        assert form.agreed.data is None and form.topics.data == [] and len(form.products) == 1
        assert form_to_data(form, SCHEMA) == {"topics": []}
        render(form)


def test_a_draft_keeps_what_could_not_be_read() -> None:
    with posted(_changed(VALID_POST, {"amount": "mười", "needed_by": "31/02/2026", "subject": ""})) as form:
        draft = form_to_draft(form, SCHEMA)
    assert draft["amount"] == "mười" and draft["needed_by"] == "31/02/2026" and "subject" not in draft
    json.dumps(draft)  # stored as JSON
    with shown(draft) as form:
        assert form.amount._value() == "mười" and form.needed_by._value() == "31/02/2026"
        assert form.kind.data == "renew" and form.products[0]["name"].data == "Báo cáo quý"


def test_a_post_overrides_prefilled_choices() -> None:
    with APP.test_request_context(method="POST", data=_multidict(_changed(VALID_POST, {"agreed": DELETE}))):
        form = build_form_class(SCHEMA)(data=data_to_formdata(VALID_DATA, SCHEMA))
        assert not form.validate()
        assert form.agreed.errors == ["Trường này là bắt buộc."]


# -- files -------------------------------------------------------------------------------------------------------------


def _upload(content: bytes, filename: str, content_type: str = "application/pdf") -> FileStorage:
    return FileStorage(stream=io.BytesIO(content), filename=filename, content_type=content_type)


def test_an_accepted_file_comes_back_separately() -> None:
    assert file_fields(SCHEMA) == ["evidence"]
    with posted({**VALID_POST, "evidence": _upload(b"%PDF-1.7 " * 10, "Quyết định.PDF")}) as form:
        assert form.validate(), form.errors
        assert "evidence" not in form_to_data(form, SCHEMA)
        files = {upload.name: upload.file for upload in pending_uploads(form, SCHEMA)}
        assert list(files) == ["evidence"] and files["evidence"].filename == "Quyết định.PDF"
        assert files["evidence"].read() == b"%PDF-1.7 " * 10  # the size check left the stream at its start
        assert 'accept=".pdf,.jpg,.png"' in render(form)


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (lambda: _upload(b"x" * (1024 * 1024 + 1), "big.pdf"), "Tệp không được lớn hơn 1 MB."),
        (
            lambda: _upload(b"MZ", "virus.exe", "application/octet-stream"),
            "Chỉ chấp nhận tệp có định dạng: .pdf, .jpg, .png.",
        ),
        (lambda: _upload(b"x", "scan.pdf.exe"), "Chỉ chấp nhận tệp có định dạng: .pdf, .jpg, .png."),
    ],
    ids=["too big", "wrong type", "double extension"],
)
def test_files_of_the_wrong_size_or_type_are_refused(upload: Any, message: str) -> None:
    with posted({**VALID_POST, "evidence": upload()}) as form:
        assert not form.validate()
        assert form.evidence.errors == [message]
        # The view must not store it: it checks validate() first.
        assert [upload.name for upload in pending_uploads(form, SCHEMA)] == ["evidence"]


def test_a_required_file_is_satisfied_by_one_uploaded_before() -> None:
    schema = json.loads(json.dumps(SCHEMA))
    schema["required"].append("evidence")
    with posted(VALID_POST, schema) as form:
        assert not form.validate()
        assert form.evidence.errors == ["Trường này là bắt buộc."]
    with APP.test_request_context(method="POST", data=_multidict(VALID_POST)):
        form = build_form_class(schema)(data=data_to_formdata({"evidence": "attachment:7"}, schema))
        assert form.validate(), form.errors
        data = form_to_data(form, schema)
        assert data["evidence"] == "attachment:7"
        assert list(Draft202012Validator(schema, format_checker=FormatChecker()).iter_errors(data)) == []
        html = render(form, schema)
    assert 'aria-describedby="evidence-limit evidence-existing"' in html
    assert "<input" in html and 'name="evidence" required' not in html


# -- a file in each table row ---------------------------------------------------------------------------------------

ROW_FILES: dict[str, Any] = {
    "type": "object",
    "required": ["products"],
    "properties": {
        "products": {
            "type": "array",
            "title": "Sản phẩm",
            "minItems": 1,
            "maxItems": 5,
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "title": "Tên", "minLength": 1, "maxLength": 100},
                    "evidence": {"type": "string", "title": "Minh chứng", "format": "binary"},
                },
                "x-ui": {"evidence": {"label_en": "Evidence", "accept": ".pdf,.png", "max_size_mb": 1}},
            },
        },
        "evidence": {"type": "string", "title": "Minh chứng khác", "format": "binary"},
    },
}
ROW_VALIDATOR = Draft202012Validator(ROW_FILES, format_checker=FormatChecker())


def test_a_table_column_can_hold_a_file() -> None:
    assert file_fields(ROW_FILES) == ["products.evidence", "evidence"]
    with shown({"products": [{"name": "Báo cáo"}]}, ROW_FILES) as form:
        html = render(form, ROW_FILES)
    assert 'type="file"' in html and 'name="products-0-evidence"' in html and 'accept=".pdf,.png"' in html
    assert 'aria-labelledby="products-col-evidence"' in html  # the cell is named by its column header
    with shown({"products": [{"name": "Báo cáo"}]}, ROW_FILES, locale="en") as form:
        assert "Evidence" in render(form, ROW_FILES)


def test_files_chosen_in_rows_come_back_with_the_row_they_belong_to() -> None:
    post = {
        "products-0-name": "",  # a blank row: the data's rows skip it, and so do the uploads' paths
        "products-1-name": "Báo cáo",
        "products-1-evidence": _upload(b"%PDF-1 a", "a.pdf"),
        "products-2-name": "Tờ trình",
        "products-3-name": "Kế hoạch",
        "products-3-evidence": _upload(b"\x89PNG\r\n\x1a\n b", "b.png", "image/png"),
    }
    with posted(post, ROW_FILES) as form:
        assert form.validate(), form.errors
        data = form_to_data(form, ROW_FILES)
        assert data == {"products": [{"name": "Báo cáo"}, {"name": "Tờ trình"}, {"name": "Kế hoạch"}]}
        uploads = pending_uploads(form, ROW_FILES)
        assert [(u.path, u.name, u.file.filename) for u in uploads] == [
            (("products", 0, "evidence"), "products.0.evidence", "a.pdf"),
            (("products", 2, "evidence"), "products.2.evidence", "b.png"),
        ]
        for number, upload in enumerate(uploads, start=1):
            place_reference(data, upload.path, f"attachment:{number}")
    assert data["products"][0]["evidence"] == "attachment:1" and "evidence" not in data["products"][1]
    assert data["products"][2]["evidence"] == "attachment:2"
    assert list(ROW_VALIDATOR.iter_errors(data)) == []


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (lambda: _upload(b"x" * (1024 * 1024 + 1), "big.pdf"), "Tệp không được lớn hơn 1 MB."),
        (
            lambda: _upload(b"MZ", "virus.exe", "application/octet-stream"),
            "Chỉ chấp nhận tệp có định dạng: .pdf, .png.",
        ),
    ],
    ids=["too big", "wrong type"],
)
def test_a_refused_row_file_is_said_on_its_cell(upload: Any, message: str) -> None:
    def post() -> dict[str, Any]:
        return {
            "products-0-name": "Báo cáo",
            "products-0-evidence": _upload(b"%PDF ok", "ok.pdf"),
            "products-1-name": "Tờ trình",
            "products-1-evidence": upload(),
        }

    with posted(post(), ROW_FILES) as form:
        assert not form.validate()
        assert form.products[1].evidence.errors == [message]
        assert not form.products[0].evidence.errors
        html = render(form, ROW_FILES)
    assert 'id="products-1-evidence-error"' in html and message in html
    assert 'value="Tờ trình"' in html and 'value="Báo cáo"' in html  # the other inputs are shown again
    with posted({**post(), "add_row__products": "1"}, ROW_FILES) as form:
        assert wants_more_rows(form) == "products"
        assert not check_uploads(form, ROW_FILES)  # a row added checks the files chosen, not the rest
        assert form.products[1].evidence.errors == [message] and not form.products[0].evidence.errors


def test_a_row_shown_with_a_stored_file_keeps_it_unless_another_is_chosen() -> None:
    data = {"products": [{"name": "Báo cáo", "evidence": "attachment:7"}, {"name": "Tờ trình"}]}
    with shown(data, ROW_FILES) as form:
        assert [ref for _field, ref in kept_references(form, ROW_FILES)] == ["attachment:7"]
        html = render(form, ROW_FILES)
    assert '<input type="hidden" name="products-0-evidence__kept" value="attachment:7">' in html
    assert 'name="products-1-evidence__kept"' not in html
    assert 'aria-describedby="products-0-evidence-limit products-0-evidence-existing"' in html
    # Posted back without a new file: the reference stays in its row (the row's value is replaced as a whole).
    post = {
        "products-0-name": "Báo cáo",
        "products-0-evidence__kept": "attachment:7",
        "products-1-name": "Tờ trình",
    }
    with posted(post, ROW_FILES) as form:
        assert form.validate(), form.errors
        assert form_to_data(form, ROW_FILES)["products"] == data["products"]
        assert pending_uploads(form, ROW_FILES) == []
    # A new file replaces it: the view stores the upload and puts the new reference there.
    with posted({**post, "products-0-evidence": _upload(b"%PDF new", "new.pdf")}, ROW_FILES) as form:
        assert form.validate(), form.errors
        (upload,) = pending_uploads(form, ROW_FILES)
        assert upload.path == ("products", 0, "evidence")
        upload.field.keep("attachment:8")
        assert form_to_data(form, ROW_FILES)["products"][0]["evidence"] == "attachment:8"


def test_adding_a_row_and_drafts_keep_the_row_files() -> None:
    post = {
        "products-0-name": "Báo cáo",
        "products-0-evidence__kept": "attachment:7",
        "products-1-name": "",
        "products-1-evidence": _upload(b"%PDF chosen", "chosen.pdf"),
        "add_row__products": "1",
    }
    with posted(post, ROW_FILES) as form:
        assert wants_more_rows(form) == "products" and len(form.products.entries) == 3
        assert check_uploads(form, ROW_FILES)
        (upload,) = pending_uploads(form, ROW_FILES)
        upload.field.keep("attachment:9")  # what the view does once it stored the chosen file
        html = render(form, ROW_FILES)
        draft = form_to_draft(form, ROW_FILES)
    assert 'name="products-0-evidence__kept" value="attachment:7"' in html
    assert 'name="products-1-evidence__kept" value="attachment:9"' in html
    assert draft["products"] == [{"name": "Báo cáo", "evidence": "attachment:7"}, {"evidence": "attachment:9"}]
    with shown(draft, ROW_FILES) as form:
        assert [ref for _field, ref in kept_references(form, ROW_FILES)] == ["attachment:7", "attachment:9"]


def test_a_row_with_only_a_file_is_not_blank() -> None:
    with posted({"products-0-evidence__kept": "attachment:7"}, ROW_FILES) as form:
        assert not form.validate()
        assert form.products[0]["name"].errors == ["Trường này là bắt buộc."]


def test_kept_references_are_plain_short_text() -> None:
    post = {"products-0-name": "Báo cáo", "products-0-evidence__kept": "attachment:1\x00", "evidence__kept": "x" * 500}
    with posted(post, ROW_FILES) as form:
        assert kept_references(form, ROW_FILES) == []


# -- the repeating table ---------------------------------------------------------------------------------------------


def test_add_row_button_adds_a_row_and_keeps_what_was_typed() -> None:
    with posted({**VALID_POST, "amount": "-5", "add_row__products": "1"}) as form:
        assert wants_more_rows(form) == "products"
        assert len(form.products) == 2
        assert form.products[1]["name"].render_kw == {"autofocus": True}
        html = render(form)
    assert 'name="products-1-name"' in html and 'value="Báo cáo quý"' in html and 'value="-5"' in html
    assert (
        '<button type="submit" name="add_row__products" value="1" formnovalidate class="add-row">Add row</button>'
        in html
    )
    with posted(VALID_POST) as form:
        assert wants_more_rows(form) is None and len(form.products) == 1


def test_no_row_beyond_max_items() -> None:
    rows = {f"products-{i}-name": f"Sản phẩm {i}" for i in range(3)}
    with posted({**rows, "add_row__products": "1"}) as form:
        assert wants_more_rows(form) == "products"
        assert len(form.products) == 3
        assert add_row(form, "products") is False
        assert "add_row__products" not in render(form)


def test_an_empty_table_offers_one_row_to_fill_in() -> None:
    with shown() as form:
        assert len(form.products) == 1
        html = render(form)
    assert '<table class="table-field">' in html and 'id="products-col-completed"' in html
    assert 'aria-labelledby="products-col-name"' in html and 'aria-required="true"' in html
    assert 'name="products-0-name" type="text" value=""' in html  # no `required`: it would block leftover rows


def test_hand_made_row_numbers_are_ignored() -> None:
    with posted({**VALID_POST, "products-²-name": "x", "products-0x1-name": "y"}) as form:
        assert form.validate(), form.errors
        assert len(form_to_data(form, SCHEMA)["products"]) == 1


# -- the sample forms ------------------------------------------------------------------------------------------------

SAMPLES = [
    (
        "sample_request.json",
        {"subject_line": "Xin cấp thẻ", "amount": "2", "needed_by": "01/12/2026", "details": "Lý do"},
        {"subject_line": "Xin cấp thẻ", "amount": 2, "needed_by": "2026-12-01", "details": "Lý do"},
        {"subject_line": "", "amount": "-1"},
    ),
    (
        "sample_review.json",
        {"decision": "return", "comment": "Bổ sung hồ sơ"},
        {"decision": "return", "comment": "Bổ sung hồ sơ"},
        {"decision": "maybe"},
    ),
]


@pytest.mark.parametrize(("filename", "post", "expected", "bad"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_sample_forms_build_and_validate(
    filename: str, post: dict[str, str], expected: dict[str, Any], bad: dict[str, str]
) -> None:
    schema = json.loads((FORMS / filename).read_text(encoding="utf-8"))
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    with posted(post, schema) as form:
        assert form.validate(), form.errors
        data = form_to_data(form, schema)
    assert data == expected and list(validator.iter_errors(data)) == []
    with posted({**post, **bad}, schema) as form:
        assert not form.validate()
        assert set(form.errors) == set(bad)
    assert file_fields(schema) == []


def test_sample_review_renders_its_decision_as_radios() -> None:
    schema = json.loads((FORMS / "sample_review.json").read_text(encoding="utf-8"))
    with shown({"decision": "approve"}, schema) as form:
        html = render(form, schema)
    assert "<legend>Quyết định" in html
    assert '<input checked id="decision-0" name="decision" required type="radio" value="approve">' in html
    assert '<label for="decision-0">Đồng ý</label>' in html
    assert '<textarea id="comment" name="comment" rows="4">' in html


# -- rendering -------------------------------------------------------------------------------------------------------


def test_fields_render_accessibly_and_keep_what_was_typed() -> None:
    with posted(_changed(VALID_POST, {"amount": "-1", "needed_by": "31/02/2026", "subject": "x" * 501})) as form:
        form.validate()
        html = render(form)
    assert '<label for="amount">Số lượng<span class="required-mark" aria-hidden="true"> *</span></label>' in html
    assert '<div class="help" id="amount-help">Số người đề nghị.</div>' in html
    assert 'aria-describedby="amount-help amount-error"' in html and 'aria-invalid="true"' in html
    assert (
        '<div class="field-error" id="amount-error" role="alert"><p>Giá trị phải lớn hơn hoặc bằng 0.</p></div>' in html
    )
    assert 'id="amount" inputmode="numeric" name="amount" required type="text" value="-1"' in html
    assert 'type="date" value="31/02/2026"' in html
    assert f'maxlength="500" minlength="1" name="subject" required type="text" value="{"x" * 501}"' in html
    assert '<textarea aria-describedby="details-help" id="details" maxlength="500" name="details" rows="4">' in html
    assert '<option value="">— Chọn —</option><option value="new">Cấp mới</option>' in html
    assert '<option selected value="renew">Gia hạn</option>' in html
    assert '<fieldset class="field field-checkboxes" id="topics">' in html
    assert '<input checked id="topics-0" name="topics" type="checkbox" value="hr">' in html
    assert '<p class="help form-help">' not in html


def test_readonly_forms_render_disabled_and_cannot_grow() -> None:
    with shown(VALID_DATA, readonly=True) as form:
        html = render(form)
    assert 'disabled id="subject"' in html and 'disabled id="products-0-name"' in html
    assert '<input checked disabled id="agreed-1"' in html
    assert "add_row__" not in html and "required" not in html.replace("required-mark", "")


def test_skipped_fields_are_left_to_the_page() -> None:
    with shown() as form:
        html = render_template_string(
            '{% import "tasks/_fields.html" as f %}{{ f.render_form_fields(form, schema, skip=["kind", "topics"]) }}',
            form=form,
            schema=SCHEMA,
        )
    assert 'name="kind"' not in html and 'name="topics"' not in html and 'name="subject"' in html


# -- schemas the form cannot honour ----------------------------------------------------------------------------------

UNSUPPORTED = [
    ("$ref", {"type": "object", "properties": {"who": {"$ref": "#/$defs/person"}}}, "who"),
    ("$defs", {"type": "object", "$defs": {}, "properties": {"a": {"type": "string"}}}, "$defs"),
    ("nested object", {"type": "object", "properties": {"addr": {"type": "object", "properties": {}}}}, "addr"),
    ("array of arrays", {"type": "object", "properties": {"m": {"type": "array", "items": {"type": "array"}}}}, "m"),
    (
        "free-text list",
        {"type": "object", "properties": {"tags": {"type": "array", "items": {"type": "string"}}}},
        "tags",
    ),
    ("format uri", {"type": "object", "properties": {"site": {"type": "string", "format": "uri"}}}, "site"),
    ("anyOf", {"type": "object", "properties": {"x": {"type": "string", "anyOf": [{"minLength": 1}]}}}, "x"),
    ("multipleOf", {"type": "object", "properties": {"n": {"type": "integer", "multipleOf": 5}}}, "n"),
    ("type list", {"type": "object", "properties": {"n": {"type": ["integer", "null"]}}}, "n"),
    (
        "file in a row with a length rule",
        {
            "type": "object",
            "properties": {
                "t": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {"f": {"type": "string", "format": "binary", "maxLength": 10}},
                    },
                }
            },
        },
        "t.f",
    ),
    ("unknown required", {"type": "object", "required": ["ghost"], "properties": {}}, "ghost"),
    ("x-ui for unknown field", {"type": "object", "properties": {"a": {"type": "string"}}, "x-ui": {"b": {}}}, "b"),
    (
        "unknown hint",
        {"type": "object", "properties": {"a": {"type": "string"}}, "x-ui": {"a": {"colour": "red"}}},
        "colour",
    ),
    (
        "widget mismatch",
        {"type": "object", "properties": {"n": {"type": "integer"}}, "x-ui": {"n": {"widget": "textarea"}}},
        "n",
    ),
    (
        "position on a string",
        {"type": "object", "properties": {"p": {"type": "string"}}, "x-ui": {"p": {"widget": "position"}}},
        "p",
    ),
    (
        "position on a number",
        {"type": "object", "properties": {"p": {"type": "number"}}, "x-ui": {"p": {"widget": "position"}}},
        "p",
    ),
    (
        "planning entry on a string",
        {"type": "object", "properties": {"e": {"type": "string"}}, "x-ui": {"e": {"widget": "planning_entry"}}},
        "e",
    ),
    (
        "cadre on an integer",
        {"type": "object", "properties": {"c": {"type": "integer"}}, "x-ui": {"c": {"widget": "cadre"}}},
        "c",
    ),
    ("name clash", {"type": "object", "properties": {"validate": {"type": "string"}}}, "validate"),
    ("bad pattern", {"type": "object", "properties": {"p": {"type": "string", "pattern": "("}}}, "p"),
    ("not a schema", {"type": "object", "properties": {"a": {"type": "string", "maxLength": -1}}}, "maxLength"),
]


@pytest.mark.parametrize(("schema", "named"), [case[1:] for case in UNSUPPORTED], ids=[case[0] for case in UNSUPPORTED])
def test_unsupported_schemas_are_refused_naming_the_field(schema: dict[str, Any], named: str) -> None:
    with pytest.raises(UnsupportedSchema) as raised:
        build_form_class(schema)
    assert named in str(raised.value)


def test_the_summary_lists_every_error_in_page_order_with_its_anchor() -> None:
    post = _changed(
        VALID_POST,
        {
            "subject": DELETE,
            "amount": "-1",
            "products-1-name": "Tờ trình",
            "products-1-completed": "nhiều",
            "products-2-name": "Tờ trình",
            "products-3-name": "Quyết định",
        },
    )
    with posted(post) as form:
        assert not form.validate()
        entries = invalid_entries(form)
    assert [(e.anchor, e.label, e.row, e.column) for e in entries] == [
        ("subject", "Nội dung", None, None),
        ("amount", "Số lượng", None, None),
        ("products-1-completed", "Sản phẩm công việc", 2, "Hoàn thành"),
        ("products", "Sản phẩm công việc", None, None),  # four rows where three at most are allowed
    ]
    assert all(entry.message for entry in entries)


def test_the_summary_is_empty_for_a_valid_form_and_leaves_out_what_is_shown_apart() -> None:
    with posted(VALID_POST) as form:
        assert form.validate()
        assert invalid_entries(form) == []
    with posted(_changed(VALID_POST, {"subject": DELETE})) as form:
        form.validate()
        assert invalid_entries(form, skip=("subject",)) == []


PICKER: dict[str, Any] = {
    "type": "object",
    "properties": {
        "rows": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["cadre_code", "position_id"],
                "properties": {
                    "cadre_code": {"type": "string", "title": "Mã cán bộ", "minLength": 1, "maxLength": 40},
                    "position_id": {"type": "integer", "title": "Chức danh", "minimum": 1},
                },
                "x-ui": {"cadre_code": {"widget": "cadre"}, "position_id": {"widget": "position"}},
            },
        }
    },
}


def test_a_position_is_a_select_of_names_posting_the_id_and_a_cadre_a_code_box() -> None:
    with shown({"rows": [{"cadre_code": "CB01", "position_id": 7}]}, PICKER) as form:
        cell = form.rows.entries[0].form.position_id
        # Without the list of titles, the number box it always was.
        assert 'type="text"' in str(cell()) and 'value="7"' in str(cell())
        assert position_values(form) == {7} and cadre_codes(form) == {"CB01"}
        offer_choices(form, [(3, "Chủ tịch (Xã A)"), (7, "Phó Chủ tịch (Xã A)")])
        drawn = str(cell())
        assert drawn.startswith("<select") and '<option selected value="7">Phó Chủ tịch (Xã A)</option>' in drawn
        assert '<option value="3">Chủ tịch (Xã A)</option>' in drawn
        code = str(form.rows.entries[0].form.cadre_code())
        assert 'autocomplete="off"' in code and 'value="CB01"' in code
    # The select posts the id, read as the integer the data keeps; an id outside the list is the hook's to refuse.
    with posted({"rows-0-cadre_code": " CB01 ", "rows-0-position_id": "9"}, PICKER) as form:
        assert form.validate()
        assert form_to_data(form, PICKER) == {"rows": [{"cadre_code": "CB01", "position_id": 9}]}
        offer_choices(form, [(3, "Chủ tịch (Xã A)")])
        assert '<option selected value="9">Số hiệu 9 (không có trong danh sách)</option>' in str(
            form.rows.entries[0].form.position_id()
        )
    with posted({"rows-0-cadre_code": "CB01", "rows-0-position_id": "0"}, PICKER) as form:
        assert not form.validate()
        assert form.rows.entries[0].form.position_id.errors == ["Giá trị phải lớn hơn hoặc bằng 1."]


def test_a_position_select_groups_its_titles_by_unit_in_the_order_given() -> None:
    with shown({"rows": [{"cadre_code": "CB01", "position_id": 8}]}, PICKER) as form:
        offer_choices(
            form, [(3, "Chủ tịch (Xã A)", "Xã A"), (7, "Phó (Xã A)", "Xã A"), (8, "Trưởng (Thôn 1)", "Thôn 1")]
        )
        drawn = str(form.rows.entries[0].form.position_id())
    assert drawn.count("<optgroup") == 2 and drawn.count("</optgroup>") == 2
    first, second = drawn.index('<optgroup label="Xã A">'), drawn.index('<optgroup label="Thôn 1">')
    assert first < drawn.index('value="3"') < drawn.index('value="7"') < second < drawn.index('value="8"')
    # "Choose" stays outside every group; the chosen title is selected inside its own.
    assert drawn.index('<option value="">') < first and '<option selected value="8">Trưởng (Thôn 1)</option>' in drawn


CHECKLIST: dict[str, Any] = {
    "type": "object",
    "properties": {
        "waived": {"type": "string", "title": "Kỷ luật được miễn", "maxLength": 200, "pattern": "^[0-9, ]*$"},
        "failed": {"type": "string", "title": "Không đạt", "maxLength": 200},
    },
    "x-ui": {
        "waived": {"widget": "checklist", "empty": "Không ai có kỷ luật.", "empty_en": "Nobody was disciplined."},
        "failed": {"widget": "checklist"},
    },
}


def test_a_checklist_is_a_checkbox_per_choice_kept_as_the_comma_separated_text() -> None:
    with shown({"waived": "12, 15;12"}, CHECKLIST) as form:
        assert checklist_values(form) == {"waived": ["12", "15"], "failed": []}
        # Without choices, the text box it always was.
        assert 'type="text"' in str(form.waived()) and 'value="12, 15;12"' in str(form.waived())
        offer_checklists(form, {"waived": [("12", "Lê A — Khiển trách"), ("13", "Lê B — Cảnh cáo")], "failed": []})
        html = render(form, CHECKLIST)
    boxes = lxml_html.fromstring(html).xpath('//input[@type="checkbox"]')
    drawn = [(b.get("name"), b.get("value"), b.get("checked") is not None) for b in boxes]
    # The choices in order, what is held ticked; a value held outside them is shown ticked, as what it is.
    assert drawn == [("waived", "12", True), ("waived", "13", False), ("waived", "15", True)]
    assert "Lê A — Khiển trách" in html and "15 (không có trong danh sách)" in html
    # A list with nothing to tick says so, in the schema's words; the text box is gone.
    assert "Không ai có kỷ luật." not in html and "Không có mục nào để chọn." in html
    assert 'type="text"' not in html
    with shown({}, CHECKLIST, locale="en") as form:
        offer_checklists(form, {"waived": []})
        assert "Nobody was disciplined." in render(form, CHECKLIST)

    # The ticked values are posted under the field's name and stored as the text the data always held.
    with posted({"waived": ["12", "13", "12"], "failed": "QH04"}, CHECKLIST) as form:
        assert form.validate()
        assert form_to_data(form, CHECKLIST) == {"waived": "12, 13", "failed": "QH04"}
    with posted({}, CHECKLIST) as form:
        assert form.validate() and form_to_data(form, CHECKLIST) == {}
    # The schema's rules still hold on the joined text: a forged value that is no id is refused by the form.
    with posted({"waived": ["12", "x"]}, CHECKLIST) as form:
        assert not form.validate() and form.waived.errors
    # Read-only: the boxes are disabled.
    with shown({"waived": "12"}, CHECKLIST, readonly=True) as form:
        offer_checklists(form, {"waived": [("12", "Lê A")]})
        assert all(
            b.get("disabled") is not None for b in lxml_html.fromstring(render(form, CHECKLIST)).xpath("//input")
        )


PICK_ONE: dict[str, Any] = {
    "type": "object",
    "properties": {"chosen": {"type": "string", "title": "Người được chọn", "maxLength": 40}},
    "x-ui": {"chosen": {"widget": "checklist", "pick_one": True, "none": "Không chọn ai", "none_en": "Nobody"}},
}


def test_a_pick_one_checklist_is_a_radio_per_choice_and_nobody_first() -> None:
    with shown({}, PICK_ONE) as form:
        offer_checklists(form, {"chosen": [("CB0005", "Lê Văn Năm (CB0005)"), ("CB0007", "Trần Bảy (CB0007)")]})
        html = render(form, PICK_ONE)
    radios = lxml_html.fromstring(html).xpath('//input[@type="radio"]')
    assert [(r.get("name"), r.get("value"), r.get("checked") is not None) for r in radios] == [
        ("chosen", "", True),
        ("chosen", "CB0005", False),
        ("chosen", "CB0007", False),
    ]
    assert "Không chọn ai" in html and 'type="checkbox"' not in html
    with shown({"chosen": "CB0007"}, PICK_ONE, locale="en") as form:
        offer_checklists(form, {"chosen": [("CB0005", "A"), ("CB0007", "B")]})
        html = render(form, PICK_ONE)
    checked = lxml_html.fromstring(html).xpath('//input[@type="radio"][@checked]')
    assert [r.get("value") for r in checked] == ["CB0007"] and "Nobody" in html
    # A completed task where nobody was chosen: "nobody" shown chosen, not "nothing to choose".
    with shown({}, PICK_ONE, readonly=True) as form:
        offer_checklists(form, {"chosen": []})
        html = render(form, PICK_ONE)
    assert [(r.get("value"), r.get("checked") is not None) for r in lxml_html.fromstring(html).xpath("//input")] == [
        ("", True)
    ]
    assert "Không có mục nào để chọn." not in html
    # "Nobody" posts the empty value: the field is left out, as an empty text box was.
    with posted({"chosen": ""}, PICK_ONE) as form:
        assert form.validate() and form_to_data(form, PICK_ONE) == {}
    with posted({"chosen": "CB0005"}, PICK_ONE) as form:
        assert form.validate() and form_to_data(form, PICK_ONE) == {"chosen": "CB0005"}
    # A required one offers no "nobody".
    required = {**PICK_ONE, "required": ["chosen"]}
    with shown({}, required) as form:
        offer_checklists(form, {"chosen": [("CB0005", "A")]})
        assert [
            r.get("value") for r in lxml_html.fromstring(render(form, required)).xpath("//input[@type='radio']")
        ] == ["CB0005"]


@pytest.mark.parametrize(
    ("hints", "named"),
    [
        ({"pick_one": True}, "checklist"),
        ({"widget": "textarea", "none": "Không ai"}, "checklist"),
        ({"widget": "checklist", "pick_one": "yes"}, "true or false"),
        ({"widget": "checklist", "none": 1}, "must be a string"),
    ],
)
def test_pick_one_and_none_are_hints_of_a_checklist_only(hints: dict[str, Any], named: str) -> None:
    schema = {"type": "object", "properties": {"chosen": {"type": "string"}}, "x-ui": {"chosen": hints}}
    with pytest.raises(UnsupportedSchema, match=named):
        build_form_class(schema)


def test_a_checklist_is_a_string_outside_tables() -> None:
    on_integer = {"type": "object", "properties": {"n": {"type": "integer"}}, "x-ui": {"n": {"widget": "checklist"}}}
    with pytest.raises(UnsupportedSchema, match="checklist"):
        build_form_class(on_integer)
    in_row = {
        "type": "object",
        "properties": {
            "rows": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"codes": {"type": "string"}},
                    "x-ui": {"codes": {"widget": "checklist"}},
                },
            }
        },
    }
    with pytest.raises(UnsupportedSchema, match="checklist"):
        build_form_class(in_row)


ENTRIES: dict[str, Any] = {
    "type": "object",
    "properties": {
        "rows": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["entry_id"],
                "properties": {
                    "entry_id": {"type": "integer", "title": "Cán bộ", "minimum": 1, "maximum": 2147483647},
                    "reason": {"type": "string", "title": "Lý do", "maxLength": 200},
                },
                "x-ui": {"entry_id": {"widget": "planning_entry"}},
            },
        }
    },
}


def test_a_planning_entry_is_a_select_by_name_a_pinned_row_offering_only_its_own() -> None:
    offered = [(11, "Lê A (QH01) — Chủ tịch (Xã A)", "Xã A"), (12, "Lê B (QH02) — Trưởng (Thôn 1)", "Thôn 1")]
    pinned = {40: "Lê C (QH04) — Phó Chủ tịch (Xã A)"}
    with shown({"rows": [{"entry_id": 40, "reason": "Kỷ luật"}, {"entry_id": 12}]}, ENTRIES) as form:
        first, second = (entry.form.entry_id for entry in form.rows.entries)
        # Without the list, the number box it always was.
        assert 'type="text"' in str(first()) and 'value="40"' in str(first())
        assert planning_entry_values(form) == {40, 12}
        offer_entries(form, offered, pinned)
        # A pinned row: its own entry only, nothing to choose instead.
        drawn = str(first())
        assert drawn.startswith("<select") and drawn.count("<option") == 1
        assert '<option selected value="40">Lê C (QH04) — Phó Chủ tịch (Xã A)</option>' in drawn
        assert first.choices == [("40", pinned[40])]
        # Any other row: "Choose", then the entries offered, grouped by unit; the one held selected.
        drawn = str(second())
        assert drawn.index('<option value="">') < drawn.index('<optgroup label="Xã A">')
        assert drawn.count("<optgroup") == 2 and 'value="40"' not in drawn
        assert '<option selected value="12">Lê B (QH02) — Trưởng (Thôn 1)</option>' in drawn
    # The select posts the id, kept as the integer the data always held; one outside the list is shown as what it
    # is, for the hook to refuse beside it.
    with posted({"rows-0-entry_id": "40", "rows-1-entry_id": "99"}, ENTRIES) as form:
        assert form.validate()
        assert form_to_data(form, ENTRIES) == {"rows": [{"entry_id": 40}, {"entry_id": 99}]}
        offer_entries(form, offered, pinned)
        assert '<option selected value="99">Số hiệu 99 (không có trong danh sách)</option>' in str(
            form.rows.entries[1].form.entry_id()
        )
    with posted({"rows-0-entry_id": "Lê A"}, ENTRIES) as form:
        assert not form.validate()
        assert form.rows.entries[0].form.entry_id.errors == ["Phải là một số nguyên."]
    # Read-only (a completed task: every entry held pinned by name): disabled.
    with shown({"rows": [{"entry_id": 40}]}, ENTRIES, readonly=True) as form:
        offer_entries(form, [], pinned)
        assert "disabled" in str(form.rows.entries[0].form.entry_id())


def _long(count: int, ticked: str = "") -> tuple[Any, str]:
    with shown({"failed": ticked}, CHECKLIST) as form:
        offer_checklists(form, {"failed": [(f"QH{n:02}", f"Người {n} (QH{n:02})") for n in range(count)]})
        return has_long_checklist(form), render(form, CHECKLIST)


def test_a_long_checklist_gets_its_filter_box_count_and_show_only_ticked_hidden_until_the_script_runs() -> None:
    short, html = _long(CHECKLIST_FILTER_FROM - 1)
    assert not short and "checklist-tools" not in html and "data-checklist-filter" not in html
    long, html = _long(CHECKLIST_FILTER_FROM + 3, ticked="QH01, QH05")
    assert long
    page = lxml_html.fromstring(html)
    fieldset = page.xpath('//fieldset[@id="failed"]')[0]
    assert fieldset.get("data-checklist-filter") is not None
    tools = fieldset.xpath('.//div[@class="checklist-tools"]')[0]
    assert tools.get("hidden") is not None  # the script shows them: without it the plain list works as before
    box = tools.xpath('.//input[@type="search"]')[0]
    only = tools.xpath('.//input[@type="checkbox"]')[0]
    # Each tool has its label, controls the list, and posts nothing.
    for control in (box, only):
        assert control.get("name") is None and control.get("aria-controls") == "failed-list"
        assert page.xpath(f'//label[@for="{control.get("id")}"]')
    assert page.xpath('//ul[@id="failed-list"]/li/input[@name="failed"]')
    count = tools.xpath('.//p[@class="checklist-count"]')[0]
    assert count.get("aria-live") == "polite" and count.get("id") in box.get("aria-describedby")
    assert count.get("data-ticked-format") and count.get("data-shown-format")  # the words: tests/webapp (the catalog)
    assert page.xpath('//p[@id="failed-none"]')[0].get("hidden") is not None
    # Every box is still in the page, ticked as held: the filter only hides, in the browser.
    ticked = [b.get("value") for b in page.xpath('//input[@name="failed"]') if b.get("checked") is not None]
    assert ticked == ["QH01", "QH05"]


def _every_spec(specs: Any) -> Iterator[Any]:
    for spec in specs:
        yield spec
        yield from _every_spec(spec.columns)


@pytest.mark.parametrize("path", sorted((Path(__file__).parents[2] / "forms").glob("*.json")), ids=lambda p: p.name)
def test_a_shipped_forms_help_and_choices_are_english_where_its_labels_are(path: Path) -> None:
    """Decision 0111: a field's label had its "label_en" while its help and its options (the grades) stayed
    Vietnamese for an English reader. Every help text has its "help_en" and every option its "labels_en"; the
    Vietnamese form is unchanged."""
    from webapp.tasks.schema_forms import _specs

    schema = json.loads(path.read_text(encoding="utf-8"))
    vietnamese, english = list(_every_spec(_specs(schema, "vi"))), list(_every_spec(_specs(schema, "en")))
    for vi, en in zip(vietnamese, english, strict=True):
        assert not vi.help or en.help != vi.help, f"{vi.name}: help without help_en"
        untranslated = [vi_label for (_k, _v, vi_label), (_k2, _v2, en_label) in zip(vi.choices, en.choices, strict=True)
                        if vi_label == en_label and vi_label != _k]  # fmt: skip
        assert not untranslated, f"{vi.name}: options without labels_en: {untranslated}"
