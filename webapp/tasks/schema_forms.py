"""Task forms built from the JSON Schema a user task names in its `formJsonSchemaFilename` property.

One schema serves both doors: the web page gets the WTForms form built here, the REST API checks posted JSON with
jsonschema. The form refuses what the schema refuses, and `form_to_data` turns a valid form into JSON that the same
schema accepts, so nobody gets past the page only to be refused by the engine. A keyword the form could not enforce
raises `UnsupportedSchema` instead of being ignored, which lets deployment validation call `build_form_class` early.

Supported properties: string (minLength, maxLength, pattern, format date / email / binary), integer and number
(minimum, maximum, exclusiveMinimum, exclusiveMaximum), boolean, enum or oneOf [{const, title}] of strings or numbers,
an array of such strings (checkboxes), an array of objects (a table of rows, whose cells may also be files).
Annotations (title, description, default, examples, $comment, deprecated) and any "x-" key may appear anywhere.

Files (format binary): the form checks a chosen file (accept, max_size_mb) and the view stores it (`pending_uploads`,
`place_reference`); the data keeps only a reference to the stored file. A field or cell shown with a reference
carries it in a hidden input named `<field name>__kept`, so a posted form keeps a file stored earlier unless a new one
is chosen: in a table row too, where the row's whole value is replaced by what is posted.

Hints live in the top-level "x-ui" object (for table columns, in the row schema's own "x-ui"):

    "order": ["field", ...]
    "field": {"widget": "text" | "textarea" | "date" | "select" | "radio" | "checkboxes" | "table" | "file"
                        | "cadre" | "position" | "checklist" | "planning_entry",
              "label_en": "...", "help": "...", "help_en": "...", "labels_en": {"value": "label"},
              "rows": 6, "placeholder": "...", "autofocus": true, "empty": "...", "empty_en": "...",
              "accept": ".pdf,.jpg,image/*", "max_size_mb": 10, "pick_one": true, "none": "...", "none_en": "...",
              "placement": "column" | "below"}  # a table's cell: its own column, or its row's second line

In a wide table, files and long texts sit on each row's second line (`_placed_below`, decision 0091).

"x-comment-field": "<field>" at the top level names the form's own comment (a text field): the task page then draws
no comment box of its own, and a decision that needs a comment (return, reject) needs it in that field
(`own_comment_field`, decision 0091).

Choice labels come from oneOf[].title, else "x-labels" (on the property, or top-level keyed by field), else the value.

Two widgets name things of the registry that a person knows by name and the data keeps by code or id (decision 0071):

* "cadre" (a string): the cadre's code, typed as before; the page adds the search of the start pages
  (static/cadre_search.js, asking the task's own scoped endpoint) and shows the name of the cadre a code names.
* "position" (an integer): a position id, drawn as a select of titles by name. Which titles the procedure offers is
  the procedure's to say (`workflows.hooks.position_choices`, from the task's data), so the page sets them after the
  form is built (`offer_choices`); without them the cell is the number box it was. The select posts the id as a
  number and the form checks it as the schema does: that the id is one of the titles offered stays the server
  hook's rule, one rule and one message for the page and the API alike. The procedure may group them (a unit's
  titles under the unit's name): the select then draws an <optgroup> per group, in the order given.

A third lists registry things by name where the data keeps a comma-separated text of their ids or codes
(decision 0072):

* "checklist" (a string, not in a table): drawn as a checkbox per choice the procedure offers
  (`workflows.hooks.checklist_choices`, set by `offer_checklists`), posting the ticked values, which the form joins
  into the text "12, 15" the data always held; without choices it is the text box it was. "empty" (and
  "empty_en") says what the page shows when there is nothing to tick. As with "position", a value outside the
  choices is the hook's to refuse; it is shown ticked, as what it is. A long list (`CHECKLIST_FILTER_FROM` boxes
  or more) gets a filter box, the count of ticked boxes and "show only ticked" (static/checklist_filter.js, shown
  only when the script runs; without it the whole list works as before; decision 0081). With "pick_one" it is one
  choice: a radio button per choice, and first a "none" one ("none", "none_en": its label) when the field may be
  left empty (the head's choice among those tied, decision 0140).

A fourth names an entry of the plan where the data keeps its id (decision 0081):

* "planning_entry" (an integer): drawn as a select of entries by name ("Phạm Văn Em (QH04) — Phó Chủ tịch UBND xã
  (Xã An Phú)"), as "position" is, from `workflows.hooks.planning_entry_choices` (set by `offer_entries`): a cell
  holding an entry the procedure pins to its row (a proposal of the screening) offers only it; any other cell offers
  the list, grouped by unit. Without the list it is the number box it was; an id outside it is the hook's to refuse.
  A list too long for one select (a province's plan) is searched instead (`offer_entry_search`, decision 0083): a
  free cell gets a search box (its text posted as `<cell name>__find`; the form's "Find" button, `FIND_ENTRIES`,
  shows the form again, as "Add row" does) and a select of the entry it holds and what its text finds, still
  posting the id; static/entry_search.js asks the task's endpoint as one types instead.
"""

from __future__ import annotations

import json
import math
import os
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from flask_wtf.file import FileField
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from markupsafe import Markup, escape
from werkzeug.datastructures import FileStorage
from wtforms import (
    Field,
    FieldList,
    Form,
    FormField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    widgets,
)
from wtforms.utils import unset_value
from wtforms.validators import StopValidation, ValidationError

from webapp.form_base import Form as PageForm
from webapp.number_fields import format_amount, read_integer, read_number
from webapp.tasks.file_signatures import content_matches
from webapp.upload_limits import MEGABYTE, megabytes, request_limit
from workflows.text import storable

__all__ = [
    "ADD_ROW_PREFIX",
    "CHECKLIST_FILTER_FROM",
    "FIND_ENTRIES",
    "FIND_SUFFIX",
    "SchemaForm",
    "UnsupportedSchema",
    "Upload",
    "add_row",
    "build_form_class",
    "cadre_codes",
    "check_uploads",
    "checklist_values",
    "data_to_formdata",
    "file_fields",
    "form_to_checked_data",
    "form_to_data",
    "form_to_draft",
    "has_entry_search",
    "has_kind",
    "has_long_checklist",
    "kept_references",
    "offer_checklists",
    "offer_choices",
    "offer_entries",
    "offer_entry_search",
    "pending_uploads",
    "place_reference",
    "planning_entry_values",
    "position_values",
    "split_values",
    "wants_entry_search",
    "wants_more_rows",
]

ADD_ROW_PREFIX = "add_row__"
# The "Find" button of searched "planning_entry" cells, and the suffix of each cell's search box (decision 0083).
FIND_ENTRIES = "find_entries"
FIND_SUFFIX = "__find"
KEPT_SUFFIX = "__kept"
MAX_REFERENCE_LENGTH = 200
DEFAULT_MAX_SIZE_MB = 10
# From this many boxes on, a checklist gets a filter box, its count of ticked boxes and "show only ticked"
# (static/checklist_filter.js): a short list is read at a glance, a long one (a province's plan) is searched.
CHECKLIST_FILTER_FROM = 12

# Flask-Babel catalogs come later; until then the two languages the app offers are spelled out here.
MESSAGES: dict[str, dict[str, str]] = {
    "vi": {
        "required": "Trường này là bắt buộc.",
        "min_length": "Độ dài tối thiểu là {n} ký tự.",
        "max_length": "Tối đa {n} ký tự.",
        "pattern": "Giá trị không đúng định dạng yêu cầu.",
        "email": "Không phải là địa chỉ email hợp lệ.",
        "integer": "Phải là một số nguyên.",
        "number": "Phải là một số.",
        "ambiguous_number": (
            "Chưa rõ “{text}” là số nào: viết {whole} nếu là số hàng nghìn, hoặc {decimal} nếu là số thập phân."
        ),
        "range": "Nhập số từ {low} đến {high}.",
        "whole_range": "Nhập số nguyên từ {low} đến {high}.",
        "minimum": "Giá trị phải lớn hơn hoặc bằng {n}.",
        "maximum": "Giá trị phải nhỏ hơn hoặc bằng {n}.",
        "exclusive_minimum": "Giá trị phải lớn hơn {n}.",
        "exclusive_maximum": "Giá trị phải nhỏ hơn {n}.",
        "date": "Không phải là ngày hợp lệ (dd/mm/yyyy hoặc yyyy-mm-dd).",
        "choice": "Lựa chọn không hợp lệ.",
        "min_choices": "Cần chọn ít nhất {n} mục.",
        "max_choices": "Chỉ được chọn tối đa {n} mục.",
        "min_rows": "Cần nhập ít nhất {n} dòng.",
        "max_rows": "Chỉ được nhập tối đa {n} dòng.",
        "duplicate_rows": "Các dòng không được trùng nhau.",
        "file_type": "Chỉ chấp nhận tệp có định dạng: {accept}.",
        "file_size": "Tệp không được lớn hơn {n} MB.",
        "file_content": "Nội dung tệp “{name}” không phải là tệp {type} như tên tệp cho thấy; hãy chọn đúng tệp.",
        "file_limit": "tối đa {n} MB",
        "file_too_large": "Tệp “{name}” lớn hơn mức tối đa {n} MB; hãy chọn tệp nhỏ hơn.",
        "yes": "Có",
        "no": "Không",
        "choose": "— Chọn —",
        "not_listed": "Số hiệu {value} (không có trong danh sách)",
        "not_in_list": "{value} (không có trong danh sách)",
        "nothing_to_tick": "Không có mục nào để chọn.",
    },
    "en": {
        "required": "This field is required.",
        "min_length": "Must be at least {n} characters long.",
        "max_length": "At most {n} characters.",
        "pattern": "The value is not in the required format.",
        "email": "Not a valid email address.",
        "integer": "Must be a whole number.",
        "number": "Must be a number.",
        "ambiguous_number": (
            "“{text}” could be read two ways: write {whole} for thousands, or {decimal} with a decimal comma."
        ),
        "range": "Enter a number from {low} to {high}.",
        "whole_range": "Enter a whole number from {low} to {high}.",
        "minimum": "Must be greater than or equal to {n}.",
        "maximum": "Must be less than or equal to {n}.",
        "exclusive_minimum": "Must be greater than {n}.",
        "exclusive_maximum": "Must be less than {n}.",
        "date": "Not a valid date (dd/mm/yyyy or yyyy-mm-dd).",
        "choice": "Not a valid choice.",
        "min_choices": "Choose at least {n}.",
        "max_choices": "Choose at most {n}.",
        "min_rows": "Fill in at least {n} rows.",
        "max_rows": "At most {n} rows are allowed.",
        "duplicate_rows": "Rows must not repeat.",
        "file_type": "Only these file types are accepted: {accept}.",
        "file_size": "The file must not be larger than {n} MB.",
        "file_content": "The content of “{name}” is not a {type} file as its name says; choose the right file.",
        "file_limit": "at most {n} MB",
        "file_too_large": "“{name}” is larger than the {n} MB allowed; choose a smaller file.",
        "yes": "Yes",
        "no": "No",
        "choose": "— Choose —",
        "not_listed": "Id {value} (not in the list)",
        "not_in_list": "{value} (not in the list)",
        "nothing_to_tick": "There is nothing to choose.",
    },
}


class UnsupportedSchema(ValueError):
    """The schema asks for something the task form cannot show or enforce; the message names the field."""


# -- reading the schema ------------------------------------------------------------------------------------------

_ANNOTATIONS = frozenset({"title", "description", "default", "examples", "$comment", "deprecated"})
_NUMERIC = frozenset({"type", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "enum", "oneOf"})
_KEYWORDS: dict[str, frozenset[str]] = {
    "string": frozenset({"type", "minLength", "maxLength", "pattern", "format", "enum", "oneOf"}),
    "integer": _NUMERIC,
    "number": _NUMERIC,
    "boolean": frozenset({"type"}),
    "array": frozenset({"type", "items", "minItems", "maxItems", "uniqueItems"}),
}
_OBJECT_KEYWORDS = frozenset({"type", "properties", "required", "additionalProperties"})
_TOP_KEYWORDS = _OBJECT_KEYWORDS | {"$schema", "$id"}
_HINTS = frozenset(
    {
        "widget",
        "label_en",
        "help",
        "help_en",
        "labels_en",
        "rows",
        "placeholder",
        "autofocus",
        "accept",
        "max_size_mb",
        "empty",
        "empty_en",
        "placement",
        "pick_one",
        "none",
        "none_en",
    }
)
_TEXT_HINTS = ("widget", "label_en", "help", "help_en", "placeholder", "accept", "empty", "empty_en", "none", "none_en")
# The top-level key naming the form's own comment field (`own_comment_field`).
COMMENT_FIELD_KEY = "x-comment-field"
# What makes a text field something else than words to write (a choice, a date, a file).
_NOT_FREE_TEXT = frozenset({"enum", "oneOf", "const", "format"})
# A table of this many columns or more is too wide to give a file or a long text a column of its own (decision 0091).
WIDE_TABLE_COLUMNS = 6
# A text cell that may hold this many characters is a sentence (a reason), not a word: it gets a line of its own.
LONG_TEXT_LENGTH = 200
# Arguments that Form.__init__ takes by keyword: a row column with one of these names would be swallowed by them.
_FORM_KWARGS = frozenset({"formdata", "obj", "prefix", "data", "meta", "extra_filters", "form_errors", "csrf_token"})
_MISSING: Any = object()


@dataclass(frozen=True)
class _Spec:
    """One property of the schema as the form sees it."""

    name: str
    # string cadre checklist textarea email date integer position planning_entry number boolean select radio checkboxes
    # table file
    kind: str
    schema: Mapping[str, Any]
    required: bool
    label: str
    help: str
    hints: Mapping[str, Any]
    choices: tuple[tuple[str, Any, str], ...] = ()  # (value in the form, value in JSON, label)
    columns: tuple[_Spec, ...] = ()

    @property
    def values(self) -> dict[str, Any]:
        return {key: value for key, value, _label in self.choices}


def _language(locale: str | None) -> str:
    lang = str(locale or "vi").replace("-", "_").split("_")[0].lower()
    return lang if lang in MESSAGES else "vi"


def _specs(schema: Mapping[str, Any], locale: str = "vi") -> tuple[_Spec, ...]:
    if not isinstance(schema, Mapping):
        raise UnsupportedSchema("the form schema must be a JSON object")
    try:
        text = json.dumps(schema, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise UnsupportedSchema(f"the form schema is not plain JSON: {exc}") from exc
    return _parse_cached(text, _language(locale))


@lru_cache(maxsize=256)
def _parse_cached(text: str, lang: str) -> tuple[_Spec, ...]:
    # Pages build a form per request; checking the schema against the metaschema each time would dominate that.
    schema = json.loads(text)
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = ".".join(str(step) for step in exc.absolute_path) or "the top level"
        raise UnsupportedSchema(
            f"the form schema is not a valid JSON Schema (draft 2020-12) at {where}: {exc.message}"
        ) from exc
    return _parse_object(schema, "", lang)


def _check_keywords(node: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    for key in node:
        if key in allowed or key in _ANNOTATIONS or key.startswith("x-"):
            continue
        raise UnsupportedSchema(f"{where}: the keyword {key!r} is not supported by task forms")


def _reserved_names() -> frozenset[str]:
    return frozenset(name for name in dir(SchemaForm) if not name.startswith("_")) | _FORM_KWARGS


def _parse_object(node: Mapping[str, Any], path: str, lang: str) -> tuple[_Spec, ...]:
    top = not path
    where = "the form schema" if top else f"field {path!r}"
    _check_keywords(node, _TOP_KEYWORDS if top else _OBJECT_KEYWORDS, where)
    if node.get("type") != "object":
        raise UnsupportedSchema(f'{where}: must have "type": "object"')
    properties = node.get("properties") or {}
    if not top and not properties:
        raise UnsupportedSchema(f"{where}: table rows need at least one property")
    required = node.get("required") or []
    for name in required:
        if name not in properties:
            raise UnsupportedSchema(f"{where}: required field {name!r} is not among the properties")
    ui = node.get("x-ui") or {}
    if not isinstance(ui, Mapping):
        raise UnsupportedSchema(f'{where}: "x-ui" must be an object')
    order = ui.get("order") or []
    if not isinstance(order, list) or len(set(order)) != len(order):
        raise UnsupportedSchema(f'{where}: "x-ui.order" must be a list of distinct field names')
    for name in [*order, *(key for key in ui if key != "order")]:
        if name not in properties:
            raise UnsupportedSchema(f'{where}: "x-ui" names {name!r}, which is not among the properties')
    if top and COMMENT_FIELD_KEY in node:
        comment_field = node[COMMENT_FIELD_KEY]
        commented = properties.get(comment_field) if isinstance(comment_field, str) else None
        if not isinstance(commented, Mapping) or commented.get("type") != "string" or commented.keys() & _NOT_FREE_TEXT:
            raise UnsupportedSchema(f'{where}: "{COMMENT_FIELD_KEY}" must name one of its free-text fields')
    top_labels = node.get("x-labels") or {}
    reserved = _reserved_names()
    specs = []
    for name in [*order, *(key for key in properties if key not in order)]:
        field_path = f"{path}.{name}" if path else name
        if not name.isidentifier() or name.startswith("_") or name in reserved:
            raise UnsupportedSchema(
                f"field {field_path!r}: field names must be identifiers, not start with '_' "
                f"and not be one of the form's own attributes ({', '.join(sorted(reserved))})"
            )
        specs.append(
            _parse_property(
                name,
                properties[name],
                field_path,
                lang,
                required=name in required,
                hints=ui.get(name) or {},
                labels=top_labels.get(name) if isinstance(top_labels, Mapping) else None,
                in_row=not top,
            )
        )
    return tuple(specs)


def _check_hints(hints: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(hints, Mapping):
        raise UnsupportedSchema(f'{where}: its "x-ui" entry must be an object')
    for key in hints:
        if key not in _HINTS:
            raise UnsupportedSchema(f'{where}: the hint "x-ui.{key}" is unknown (known: {", ".join(sorted(_HINTS))})')
    size = hints.get("max_size_mb", DEFAULT_MAX_SIZE_MB)
    if isinstance(size, bool) or not isinstance(size, int | float) or size <= 0:
        raise UnsupportedSchema(f'{where}: "x-ui.max_size_mb" must be a positive number')
    for key in _TEXT_HINTS:
        if key in hints and not isinstance(hints[key], str):
            raise UnsupportedSchema(f'{where}: "x-ui.{key}" must be a string')
    if "pick_one" in hints and not isinstance(hints["pick_one"], bool):
        raise UnsupportedSchema(f'{where}: "x-ui.pick_one" must be true or false')
    if ("pick_one" in hints or "none" in hints) and hints.get("widget") != "checklist":
        raise UnsupportedSchema(f'{where}: "x-ui.pick_one" and "x-ui.none" are hints of the "checklist" widget')
    if "placement" in hints and hints["placement"] not in ("column", "below"):
        raise UnsupportedSchema(f'{where}: "x-ui.placement" must be "column" or "below"')
    if "labels_en" in hints and not isinstance(hints["labels_en"], Mapping):
        raise UnsupportedSchema(f'{where}: "x-ui.labels_en" must map values to labels')
    return hints


def _parse_property(
    name: str,
    prop: Any,
    path: str,
    lang: str,
    *,
    required: bool,
    hints: Any,
    labels: Any,
    in_row: bool,
) -> _Spec:
    where = f"field {path!r}"
    if not isinstance(prop, Mapping):
        raise UnsupportedSchema(f"{where}: its schema must be an object")
    hints = _check_hints(hints, where)
    kind_of_type = prop.get("type")
    if kind_of_type == "object":
        raise UnsupportedSchema(f"{where}: nested objects are only supported as the rows of an array (a table)")
    if not isinstance(kind_of_type, str) or kind_of_type not in _KEYWORDS:
        raise UnsupportedSchema(f"{where}: type {kind_of_type!r} is not supported (one type name is needed)")
    _check_keywords(prop, _KEYWORDS[kind_of_type], where)
    widget = hints.get("widget")
    label = str(prop.get("title") or name)
    if lang == "en":
        label = hints.get("label_en") or label
    help_text = (hints.get("help_en") if lang == "en" else None) or hints.get("help") or prop.get("description") or ""
    spec = {"name": name, "schema": prop, "required": required, "label": label, "help": help_text, "hints": hints}

    def refuse_widget(*allowed: str | None) -> None:
        if widget not in allowed:
            raise UnsupportedSchema(f"{where}: the widget {widget!r} does not fit a {kind_of_type} field")

    if kind_of_type == "array":
        if in_row:
            raise UnsupportedSchema(f"{where}: a table cell cannot hold a list")
        items = prop.get("items")
        if not isinstance(items, Mapping):
            raise UnsupportedSchema(f'{where}: an array needs "items" with one schema')
        if items.get("type") == "object":
            refuse_widget(None, "table")
            return _Spec(kind="table", columns=_parse_object(items, path, lang), **spec)
        if items.get("type") == "string" and ("enum" in items or "oneOf" in items):
            refuse_widget(None, "checkboxes")
            _check_keywords(items, frozenset({"type", "enum", "oneOf"}), f"{where} (items)")
            choices = _choices(items, "string", hints, prop.get("x-labels") or labels, where, lang)
            return _Spec(kind="checkboxes", choices=choices, **spec)
        raise UnsupportedSchema(
            f"{where}: arrays must hold objects (a table) or strings from a fixed list (checkboxes)"
        )

    if "enum" in prop or "oneOf" in prop:
        if kind_of_type == "boolean":
            raise UnsupportedSchema(f"{where}: a boolean needs no enum")
        refuse_widget(None, "select", "radio")
        choices = _choices(prop, kind_of_type, hints, labels, where, lang)
        return _Spec(kind="radio" if widget == "radio" else "select", choices=choices, **spec)

    if kind_of_type == "boolean":
        refuse_widget(None, "radio")
        messages = MESSAGES[lang]
        choices = (("true", True, messages["yes"]), ("false", False, messages["no"]))
        return _Spec(kind="boolean", choices=choices, **spec)

    if kind_of_type in ("integer", "number"):
        refuse_widget(None, "text", *(("position", "planning_entry") if kind_of_type == "integer" else ()))
        kind = str(widget) if widget in ("position", "planning_entry") else kind_of_type
        return _Spec(kind=kind, **spec)

    fmt = prop.get("format")
    text_rules = [key for key in ("minLength", "maxLength", "pattern") if key in prop]
    if fmt == "binary" or widget == "file":
        refuse_widget(None, "file")
        if fmt not in (None, "binary") or text_rules:
            raise UnsupportedSchema(f"{where}: a file field takes no format or length rules besides binary")
        return _Spec(kind="file", **spec)
    if fmt == "date":
        refuse_widget(None, "date")
        if text_rules:
            raise UnsupportedSchema(f"{where}: length and pattern rules do not apply to dates")
        return _Spec(kind="date", **spec)
    if fmt == "email":
        refuse_widget(None, "text")
        kind = "email"
    elif fmt is not None:
        raise UnsupportedSchema(f"{where}: the format {fmt!r} is not supported (date, email, binary are)")
    else:
        refuse_widget(None, "text", "textarea", "cadre", *(() if in_row else ("checklist",)))
        kind = {"textarea": "textarea", "cadre": "cadre", "checklist": "checklist"}.get(str(widget), "string")
    if "pattern" in prop:
        try:
            re.compile(prop["pattern"])
        except re.error as exc:
            raise UnsupportedSchema(f"{where}: the pattern is not a valid regular expression: {exc}") from exc
    return _Spec(kind=kind, **spec)


def _choice_key(value: Any) -> str | None:
    """How a JSON value travels in the HTML form: strings as they are, numbers and booleans as JSON text."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return None


def _choices(
    prop: Mapping[str, Any], kind_of_type: str, hints: Mapping[str, Any], labels: Any, where: str, lang: str
) -> tuple[tuple[str, Any, str], ...]:
    titles: dict[str, str] = {}
    if "oneOf" in prop:
        values = []
        for option in prop["oneOf"]:
            if not isinstance(option, Mapping) or "const" not in option:
                raise UnsupportedSchema(f'{where}: "oneOf" is only supported as a list of {{"const", "title"}}')
            _check_keywords(option, frozenset({"const"}), f"{where} (oneOf)")
            values.append(option["const"])
            if option.get("title"):
                titles[str(_choice_key(option["const"]))] = str(option["title"])
        if "enum" in prop and {_choice_key(v) for v in prop["enum"]} != {_choice_key(v) for v in values}:
            raise UnsupportedSchema(f'{where}: "enum" and "oneOf" list different values')
    else:
        values = list(prop["enum"])
    expected: tuple[type, ...] = {"string": (str,), "integer": (int,), "number": (int, float)}[kind_of_type]
    for value in values:
        if isinstance(value, bool) or not isinstance(value, expected):
            raise UnsupportedSchema(f"{where}: the choice {value!r} is not a {kind_of_type}")
        if kind_of_type == "number" and not math.isfinite(value):
            raise UnsupportedSchema(f"{where}: the choice {value!r} is not a finite number")
    x_labels = prop.get("x-labels") or labels or {}
    if not isinstance(x_labels, Mapping):
        raise UnsupportedSchema(f'{where}: "x-labels" must map values to labels')
    labels_en = (hints.get("labels_en") or {}) if lang == "en" else {}
    choices: dict[str, tuple[str, Any, str]] = {}
    for value in values:
        key = str(_choice_key(value))
        label = labels_en.get(key) or titles.get(key) or x_labels.get(key) or key
        choices.setdefault(key, (key, value, str(label)))
    return tuple(choices.values())


# -- cleaning what people type ---------------------------------------------------------------------------------------

_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
_DMY_DATE = re.compile(r"([0-9]{1,2})[/.-]([0-9]{1,2})[/.-]([0-9]{4})")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


def _clean_text(value: str) -> str:
    # What cannot be stored goes, as on every other form (workflows.text.storable). Browsers send textarea line
    # breaks as CRLF but count them as one character against maxlength, and some Vietnamese input methods send
    # decomposed letters (e + combining marks): normalising makes the server count what the person saw, and stores
    # one spelling of each word.
    value = storable(value.replace("\r\n", "\n").replace("\r", "\n"))
    return unicodedata.normalize("NFC", value).strip()


def _first_text(valuelist: Sequence[Any]) -> str:
    return _clean_text(valuelist[0]) if valuelist and isinstance(valuelist[0], str) else ""


def parse_date(text: str) -> date | None:
    """A date typed as dd/mm/yyyy (also with - or .) or yyyy-mm-dd; None when it is not a real day."""
    text = text.strip()
    if match := _ISO_DATE.fullmatch(text):
        year, month, day = match.groups()
    elif match := _DMY_DATE.fullmatch(text):
        day, month, year = match.groups()
    else:
        return None
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


# -- fields ----------------------------------------------------------------------------------------------------------


class _SchemaField:
    """What every field built here shares: the hints the template reads, and what counts as left empty."""

    ui: dict[str, Any]
    shown: str | None = None  # a saved value that could not be read back (an invalid draft entry), shown as it was

    def __init__(self, *args: Any, ui: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ui = dict(ui or {})

    @property
    def messages(self) -> dict[str, str]:
        return self.ui.get("messages") or MESSAGES["vi"]

    def is_blank(self) -> bool:
        raw = getattr(self, "raw_data", None)
        if raw:
            return all(isinstance(value, str) and not value.strip() for value in raw)
        data = getattr(self, "data", None)
        return (data is None or data == "" or data == []) and not self.shown

    def own_errors(self) -> list[str]:
        return [error for error in getattr(self, "errors", ()) if isinstance(error, str)]

    def describedby(self, *extra: str) -> str:
        ids = [*extra]
        if getattr(self, "description", ""):
            ids.append(f"{self.id}-help")  # type: ignore[attr-defined]
        if self.own_errors():
            ids.append(f"{self.id}-error")  # type: ignore[attr-defined]
        return " ".join(ids)

    def aria_attrs(self, labelledby: str | None = None, describedby: str | None = None) -> dict[str, str]:
        """Attributes that tie the input to its label, help and errors, for `field(**field.aria_attrs())`."""
        attrs: dict[str, str] = {}
        ids = self.describedby(*([describedby] if describedby else []))
        if ids:
            attrs["aria-describedby"] = ids
        if self.own_errors():
            attrs["aria-invalid"] = "true"
        if labelledby:
            attrs["aria-labelledby"] = labelledby
        if self.ui.get("cell") and self.ui.get("required") and not self.ui.get("readonly"):
            attrs["aria-required"] = "true"  # cells carry no `required`: it would block the blank rows left over
        return attrs


class SchemaTextField(_SchemaField, StringField):
    def process_data(self, value: Any) -> None:
        self.data = "" if value is None else str(value)

    def process_formdata(self, valuelist: list[Any]) -> None:
        # A POST speaks for every field: an absent key means emptied, never "keep what was pre-filled".
        self.data = _first_text(valuelist)


class SchemaTextAreaField(SchemaTextField):
    widget = widgets.TextArea()


class SchemaEmailField(SchemaTextField):
    widget = widgets.EmailInput()


class SchemaDateField(_SchemaField, Field):
    widget = widgets.DateInput()

    def process_data(self, value: Any) -> None:
        self.data = None
        if isinstance(value, datetime):
            self.data = value.date()
        elif isinstance(value, date):
            self.data = value
        elif isinstance(value, str) and value.strip():
            self.data = parse_date(value)
            self.shown = None if self.data else value

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.shown = None
        text = _first_text(valuelist)
        self.data = parse_date(text) if text else None
        if text and self.data is None:
            raise ValueError(self.messages["date"])

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        if isinstance(self.data, date):
            return self.data.isoformat()  # <input type="date"> only takes ISO dates
        return self.shown or ""


class _NumberField(_SchemaField, Field):
    # type="number" makes browsers drop what they cannot parse, so a mistyped value would vanish instead of being
    # shown back with its error; a text input with a numeric keyboard keeps it.
    widget = widgets.TextInput()

    def _read(self, text: str) -> int | float | None:
        raise NotImplementedError

    def _accepts(self, value: Any) -> bool:
        raise NotImplementedError

    def process_data(self, value: Any) -> None:
        self.data = None
        if self._accepts(value):
            self.data = value
        elif isinstance(value, float) and value.is_integer() and self._accepts(int(value)):
            self.data = int(value)
        elif value is not None and value != "":
            self.shown = str(value)

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.shown = None
        text = _first_text(valuelist)
        self.data = self._read(text) if text else None

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        if self.data is None:
            return self.shown or ""
        text = repr(self.data)
        text = text[:-2] if text.endswith(".0") else text
        # A decimal back in the field as the reader writes it: "9,5" in Vietnamese (as typed), "9.5" in English.
        return text.replace(".", ",") if self.ui.get("lang") == "vi" else text


class SchemaIntegerField(_NumberField):
    def _accepts(self, value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    def _read(self, text: str) -> int:
        return read_integer(text, self.messages)


class SchemaNumberField(_NumberField):
    def _accepts(self, value: Any) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)

    def _read(self, text: str) -> float:
        return read_number(text, self.messages)


class SchemaPositionField(SchemaIntegerField):
    """A position id ("x-ui" widget "position"), read and checked as an integer. Drawn as a select of
    `ui["options"]` ((id, label, group), set by `offer_choices`) when the page has them, else as the number box. A
    value that is not among them (a draft kept from an older frame, a hand-made request) is shown as what it is,
    selected, so the person sees what the server refuses beside it rather than a select silently back at "Choose".
    Options with a group are drawn in an <optgroup> of that label, one per run of the same group: a province's
    thousands of titles are read unit by unit, and the select stays plain HTML."""

    @property
    def options(self) -> list[tuple[int, str, str | None]] | None:
        return self.ui.get("options")

    @property
    def choices(self) -> list[tuple[str, str]]:
        # As a select's: what the stale page reads to give back the label of what was chosen.
        return [(str(value), label) for value, label, _group in self.options or ()]

    def _select_attrs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """The select's attributes: the box's own (id, required, disabled, render_kw) but those of a text box."""
        kwargs.setdefault("id", self.id)
        for flag in ("required", "disabled"):
            if getattr(self.flags, flag, False):
                kwargs.setdefault(flag, True)
        return {k: v for k, v in {**(self.render_kw or {}), **kwargs}.items() if k not in ("inputmode", "placeholder")}

    @staticmethod
    def _option(value: str, label: str, current: str) -> str:
        selected = {"selected": True} if value == current else {}
        return f"<option {widgets.html_params(value=value, **selected)}>{escape(label)}</option>"

    def __call__(self, **kwargs: Any) -> Any:
        options = self.options
        if options is None:
            return super().__call__(**kwargs)
        attrs = self._select_attrs(kwargs)
        current = self._value()
        html = [
            f"<select {widgets.html_params(name=self.name, **attrs)}>",
            self._option("", self.messages["choose"], current),
        ]
        group: str | None = None
        for value, label, in_group in options:
            if in_group != group:
                html.append("</optgroup>" if group is not None else "")
                if in_group is not None:
                    html.append(f"<optgroup {widgets.html_params(label=in_group)}>")
                group = in_group
            html.append(self._option(str(value), label, current))
        if group is not None:
            html.append("</optgroup>")
        if current and current not in {str(value) for value, _label, _group in options}:
            html.append(self._option(current, self.messages["not_listed"].format(value=current), current))
        html.append("</select>")
        return Markup("".join(html))  # noqa: S704 -- html_params and escape quoted every value and label


class SchemaPlanningEntryField(SchemaPositionField):
    """A planning entry's id ("x-ui" widget "planning_entry"), read and checked as an integer, drawn as the
    "position" select is: of `ui["options"]` ((id, label, group), set by `offer_entries`), the entries any row may
    take. A cell holding an entry of `ui["pinned"]` (id -> label: a proposal of the screening, which its row is about
    and cannot be swapped for another) offers that entry only, without "Choose": a table of hundreds of proposals does
    not repeat the whole plan in each of its rows."""

    @property
    def pinned_label(self) -> str | None:
        pinned: Mapping[int, str] = self.ui.get("pinned") or {}
        held = self.data if isinstance(self.data, int) and not isinstance(self.data, bool) else None
        return pinned.get(held) if held is not None else None

    @property
    def choices(self) -> list[tuple[str, str]]:
        label = self.pinned_label
        return [(str(self.data), label)] if label is not None else super().choices

    def __call__(self, **kwargs: Any) -> Any:
        label = self.pinned_label
        if label is None or self.options is None:
            return super().__call__(**kwargs)
        attrs = self._select_attrs(kwargs)
        option = self._option(str(self.data), label, str(self.data))
        return Markup(f"<select {widgets.html_params(name=self.name, **attrs)}>{option}</select>")  # noqa: S704


def split_values(text: str) -> list[str]:
    """The values of a comma-separated text ("12, 15"; a ";" as well, as the hooks read it), each once."""
    return list(dict.fromkeys(part.strip() for part in text.replace(";", ",").split(",") if part.strip()))


class SchemaChecklistField(SchemaTextField):
    """A comma-separated text of ids or codes ("x-ui" widget "checklist"), its value as the text box's was. Drawn
    as a checkbox per `ui["options"]` ((value, label), set by `offer_checklists`) when the page has them, else as the
    text box; the ticked values are posted under the field's name and joined here into the text "12, 15". A value
    held that is not among them is shown ticked, as what it is, for the hook to refuse beside it."""

    @property
    def options(self) -> list[tuple[str, str]] | None:
        return self.ui.get("options")

    def process_formdata(self, valuelist: list[Any]) -> None:
        # One value from the text box (as typed, as before); one per ticked box from the checkboxes.
        self.data = ", ".join(dict.fromkeys(text for text in map(_clean_text, filter(_is_str, valuelist)) if text))

    @property
    def empty_text(self) -> str:
        return str(self.ui.get("empty") or self.messages["nothing_to_tick"])

    @property
    def filterable(self) -> bool:
        """Whether the list is long enough for its filter box (`CHECKLIST_FILTER_FROM`)."""
        return len(self.boxes()) >= CHECKLIST_FILTER_FROM

    def boxes(self) -> list[tuple[str, str, bool]]:
        """(value, label, ticked) of each checkbox: the choices in their order, then any value held outside them."""
        held = split_values(self.data or "")
        ticked = set(held)  # a province's list runs to thousands of boxes
        options = self.options or []
        listed = {value for value, _label in options}
        return [(value, label, value in ticked) for value, label in options] + [
            (value, self.messages["not_in_list"].format(value=value), True) for value in held if value not in listed
        ]


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _lookup_key(values: Mapping[str, Any], value: Any) -> str | None:
    if isinstance(value, str) and value in values:
        return value
    key = _choice_key(value)
    return key if key is not None and key in values else None


class SchemaSelectField(_SchemaField, SelectField):
    """One value from a fixed list; `data` holds the value as the form spells it, `ui["values"]` maps it to JSON."""

    def process_data(self, value: Any) -> None:
        self.data = _lookup_key(self.ui["values"], value)

    def process_formdata(self, valuelist: list[Any]) -> None:
        value = valuelist[0] if valuelist else None
        self.data = value if isinstance(value, str) and value != "" else None

    def pre_validate(self, form: Any) -> None:
        if self.data is not None and self.data not in self.ui["values"]:
            raise ValidationError(self.messages["choice"])


class SchemaRadioField(SchemaSelectField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.RadioInput()


class SchemaCheckboxesField(_SchemaField, SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()

    def process_data(self, value: Any) -> None:
        keys = (_lookup_key(self.ui["values"], item) for item in value) if isinstance(value, list | tuple) else ()
        self.data = list(dict.fromkeys(key for key in keys if key is not None))

    def process_formdata(self, valuelist: list[Any]) -> None:
        # Ticking is a set: a repeated value (only a hand-made request sends one) would break uniqueItems.
        self.data = list(dict.fromkeys(v for v in valuelist if isinstance(v, str) and v != ""))

    def pre_validate(self, form: Any) -> None:
        if any(value not in self.ui["values"] for value in self.data or ()):
            raise ValidationError(self.messages["choice"])

    def is_blank(self) -> bool:
        return not self.data


# A stored file's reference is one line of printable text: no control character, not even a tab or a line break.
_NOT_IN_A_REFERENCE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


def _reference(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if value and len(value) <= MAX_REFERENCE_LENGTH and not _NOT_IN_A_REFERENCE.search(value) else None


class SchemaFileField(_SchemaField, FileField):
    """An upload; `existing` is the reference to a file stored earlier (from `data=`, or posted back in the hidden
    input `kept_name`), kept unless a new one comes."""

    existing: str | None = None

    @property
    def kept_name(self) -> str:
        return f"{self.name}{KEPT_SUFFIX}"

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        super().process(formdata, data, extra_filters)
        if formdata is not None and self.kept_name in formdata:
            # Only a reference the page handed out comes back here; the view still checks it names a file of the
            # same procedure before anything is kept (a hand-made request can send any text).
            self.existing = _reference(formdata.get(self.kept_name))

    def process_data(self, value: Any) -> None:
        self.data = None
        self.existing = _reference(value)

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = next((v for v in valuelist if isinstance(v, FileStorage) and v.filename), None)

    def keep(self, reference: str | None) -> None:
        """The chosen file is stored (or refused): from now on the field holds `reference` instead of the upload."""
        self.data = None
        self.existing = reference

    def check_upload(self) -> bool:
        """Only the file rules (type, size) on the chosen file, for a form that is not validated as a whole (a row
        added, a draft saved): errors land on the field like validate()'s."""
        self.errors = []
        for validator in self.validators:
            if isinstance(validator, _FileRules):
                try:
                    validator(None, self)
                except ValidationError as error:
                    self.errors.append(str(error))
        return not self.errors

    def is_blank(self) -> bool:
        return self.data is None and not self.existing

    def _rules(self) -> _FileRules | None:
        return next((v for v in self.validators if isinstance(v, _FileRules)), None)

    @property
    def limit_mb(self) -> float:
        """The largest file this field takes: its own `max_size_mb`, or less when the server accepts less in one
        request (a file the form would allow but the request limit refuses would lose the whole form, decision
        0110)."""
        rules = self._rules()
        own = rules.max_size_mb if rules else DEFAULT_MAX_SIZE_MB
        server = request_limit()
        return min(own, megabytes(server)) if server else own

    @property
    def limit_text(self) -> str:
        """ "tối đa 10 MB", beside the field."""
        rules = self._rules()
        messages = rules.messages if rules else MESSAGES["vi"]
        return messages["file_limit"].format(n=format_amount(self.limit_mb, rules.lang if rules else "vi"))

    def __call__(self, **kwargs: Any) -> Any:
        if self.existing:
            kwargs.setdefault("required", False)  # a file is already there; choosing another is optional
        rules = self._rules()
        if rules is not None:
            # For static/upload_limits.js: the file is checked where it is chosen, before the form is sent.
            kwargs.setdefault("data-max-bytes", int(self.limit_mb * MEGABYTE))
            kwargs.setdefault(
                "data-too-large",
                rules.messages["file_too_large"].format(name="{name}", n=format_amount(self.limit_mb, rules.lang)),
            )
        return super().__call__(**kwargs)


def _row_is_blank(entry: Any) -> bool:
    return all(field.is_blank() for field in entry.form)


class SchemaTableField(_SchemaField, FieldList):
    """Rows of a table. Rows left entirely empty are ignored, so the empty row offered for filling in costs nothing."""

    table_errors: list[str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.table_errors = []
        if self.ui.get("required"):
            self.flags.required = True

    def _extract_indices(self, prefix: str, formdata: Any) -> Any:
        # The stock version trusts str.isdigit(), which also accepts digits int() refuses (such as "²").
        start = prefix + self._separator
        for key in formdata:
            if isinstance(key, str) and key.startswith(start):
                index = key[len(start) :].split(self._field_separator, 1)[0]
                if index.isascii() and index.isdigit() and len(index) <= 6:
                    yield int(index)

    @property
    def filled_rows(self) -> list[Any]:
        return [entry for entry in self.entries if not _row_is_blank(entry)]

    @property
    def add_row_name(self) -> str:
        """The name of this table's "add row" submit button."""
        return f"{ADD_ROW_PREFIX}{self.name}"

    @property
    def can_add_row(self) -> bool:
        maximum = self.ui.get("max_rows")
        return not self.ui.get("readonly") and (maximum is None or len(self.entries) < maximum)

    def validate(self, form: Any, extra_validators: Any = ()) -> bool:
        messages = self.messages
        self.errors = []
        self.table_errors = []
        rows = self.filled_rows
        for entry in rows:
            if not entry.validate(form):
                self.errors.append(entry.errors)
        minimum = max(self.ui.get("min_rows") or 0, 1 if self.ui.get("required") else 0)
        maximum = self.ui.get("max_rows")
        if (rows or self.ui.get("required")) and len(rows) < minimum:
            self.table_errors.append(messages["min_rows"].format(n=format_amount(minimum, self.ui["lang"])))
        if maximum is not None and len(rows) > maximum:
            self.table_errors.append(messages["max_rows"].format(n=format_amount(maximum, self.ui["lang"])))
        if self.ui.get("unique") and not self.errors:
            seen = [
                json.dumps(_collect(entry.form, self.ui["columns_spec"], draft=False), sort_keys=True) for entry in rows
            ]
            if len(set(seen)) != len(seen):
                self.table_errors.append(messages["duplicate_rows"])
        self.errors.extend(self.table_errors)
        return not self.errors


# -- validators ------------------------------------------------------------------------------------------------------


class _Required:
    def __init__(self, message: str, *, flag: bool = True) -> None:
        self.message = message
        # The flag renders `required`; left off where the browser would apply it wrongly (each checkbox, table cells).
        self.field_flags = {"required": True} if flag else {}

    def __call__(self, form: Any, field: Any) -> None:
        if field.is_blank():
            raise StopValidation(self.message)


class _Length:
    def __init__(self, minimum: int | None, maximum: int | None, messages: Mapping[str, str], lang: str) -> None:
        self.minimum, self.maximum, self.messages, self.lang = minimum, maximum, messages, lang
        self.field_flags = {
            key: value for key, value in (("minlength", minimum), ("maxlength", maximum)) if value is not None
        }

    def __call__(self, form: Any, field: Any) -> None:
        if not field.data:
            return
        if self.maximum is not None and len(field.data) > self.maximum:
            raise ValidationError(self.messages["max_length"].format(n=format_amount(self.maximum, self.lang)))
        if self.minimum is not None and len(field.data) < self.minimum:
            raise ValidationError(self.messages["min_length"].format(n=format_amount(self.minimum, self.lang)))


class _Pattern:
    def __init__(self, pattern: str, message: str) -> None:
        # re.search, as jsonschema does: a JSON Schema pattern is not anchored.
        self.regex, self.message = re.compile(pattern), message

    def __call__(self, form: Any, field: Any) -> None:
        if field.data and not self.regex.search(field.data):
            raise ValidationError(self.message)


class _Email:
    def __init__(self, message: str) -> None:
        self.message = message

    def __call__(self, form: Any, field: Any) -> None:
        if field.data and not _EMAIL.fullmatch(field.data):
            raise ValidationError(self.message)


class _Bounds:
    def __init__(self, schema: Mapping[str, Any], messages: Mapping[str, str], lang: str) -> None:
        self.rules = [
            (keyword, schema[keyword], check, key)
            for keyword, check, key in (
                ("minimum", lambda v, n: v >= n, "minimum"),
                ("maximum", lambda v, n: v <= n, "maximum"),
                ("exclusiveMinimum", lambda v, n: v > n, "exclusive_minimum"),
                ("exclusiveMaximum", lambda v, n: v < n, "exclusive_maximum"),
            )
            if keyword in schema
        ]
        self.messages, self.lang = messages, lang
        # Both ends inclusive: a value outside says the whole range ("Nhập số từ 0 đến 100"), not only the end it
        # passed, so the person need not be refused twice to learn it (decision 0118).
        low, high = schema.get("minimum"), schema.get("maximum")
        self.range: str | None = None
        if low is not None and high is not None:
            key = "whole_range" if schema.get("type") == "integer" else "range"
            self.range = messages[key].format(low=format_amount(low, lang), high=format_amount(high, lang))

    def __call__(self, form: Any, field: Any) -> None:
        if field.data is None:
            return
        for keyword, limit, check, key in self.rules:
            if not check(field.data, limit):
                if self.range is not None and keyword in ("minimum", "maximum"):
                    raise ValidationError(self.range)
                raise ValidationError(self.messages[key].format(n=format_amount(limit, self.lang)))


class _Count:
    def __init__(self, minimum: int | None, maximum: int | None, messages: Mapping[str, str], lang: str) -> None:
        self.minimum, self.maximum, self.messages, self.lang = minimum, maximum, messages, lang

    def __call__(self, form: Any, field: Any) -> None:
        count = len(field.data or ())
        if count and self.minimum is not None and count < self.minimum:
            raise ValidationError(self.messages["min_choices"].format(n=format_amount(self.minimum, self.lang)))
        if self.maximum is not None and count > self.maximum:
            raise ValidationError(self.messages["max_choices"].format(n=format_amount(self.maximum, self.lang)))


def _upload_size(upload: FileStorage) -> int:
    stream = upload.stream
    try:
        position = stream.tell()
        stream.seek(0, os.SEEK_END)
        size = stream.tell()
        stream.seek(position)  # the view reads the file after validation
        return size
    except (AttributeError, OSError):
        return upload.content_length or 0


class _FileRules:
    def __init__(self, accept: str | None, max_size_mb: float, messages: Mapping[str, str], lang: str) -> None:
        self.tokens = [token.strip().lower() for token in (accept or "").split(",") if token.strip()]
        self.max_size_mb = max_size_mb
        self.messages, self.lang = messages, lang

    def _accepted(self, upload: FileStorage) -> bool:
        # Both the name and the declared type come from the client: this steers honest mistakes, it is no safeguard.
        extension = os.path.splitext(upload.filename or "")[1].lower()
        mimetype = (upload.mimetype or "").lower()
        for token in self.tokens:
            if token.startswith("."):
                if extension == token:
                    return True
            elif token.endswith("/*"):
                if mimetype.startswith(token[:-1]):
                    return True
            elif mimetype == token:
                return True
        return False

    def __call__(self, form: Any, field: Any) -> None:
        upload = field.data
        if upload is None:
            return
        if self.tokens and not self._accepted(upload):
            raise ValidationError(self.messages["file_type"].format(accept=", ".join(self.tokens)))
        if _upload_size(upload) > self.max_size_mb * 1024 * 1024:
            raise ValidationError(self.messages["file_size"].format(n=format_amount(self.max_size_mb, self.lang)))
        # The name passed; the content must be what the name says (a program renamed .pdf is not evidence).
        extension = os.path.splitext(upload.filename or "")[1].lower()
        if not content_matches(extension, upload.stream):
            raise ValidationError(
                self.messages["file_content"].format(name=upload.filename, type=extension.lstrip(".").upper() or "?")
            )


# -- building the form -----------------------------------------------------------------------------------------------


class SchemaForm(PageForm):
    """Base of the classes `build_form_class` makes. Pressing a table's "add row" button adds the row right here,
    while the form is read, so the view only has to show the form again (see `wants_more_rows`)."""

    _add_row_field: str | None = None
    _find_entries: bool = False

    def post_process(self, formdata: Any = None) -> None:
        super().post_process(formdata)
        if formdata is None:
            return
        # What each searched "planning_entry" cell's box holds (`offer_entry_search` lists what it finds), and
        # whether its "Find" button was pressed (the page without the script).
        for cell in _fields_of_kind(self, "planning_entry"):
            typed = formdata.get(f"{cell.name}{FIND_SUFFIX}")
            cell.ui["typed"] = _clean_text(typed)[:100] if isinstance(typed, str) else ""
        self._find_entries = FIND_ENTRIES in formdata
        if self._add_row_field is not None:
            return
        for field in self:
            if isinstance(field, SchemaTableField) and field.add_row_name in formdata:
                self._add_row_field = field.short_name
                add_row(self, field.short_name)
                return


def _unbound(spec: _Spec, lang: str, readonly: bool, *, in_row: bool) -> Any:
    messages = MESSAGES[lang]
    hints, schema, kind = spec.hints, spec.schema, spec.kind
    layout = {"boolean": "group", "radio": "group", "checkboxes": "group", "table": "table"}.get(kind, "single")
    ui: dict[str, Any] = {
        "kind": kind,
        "layout": layout,
        "required": spec.required,
        "readonly": readonly,
        "cell": in_row,
        "messages": messages,
        "lang": lang,
        "values": spec.values,
    }
    render_kw: dict[str, Any] = {}
    if readonly:
        render_kw["disabled"] = True
    if hints.get("placeholder"):
        render_kw["placeholder"] = hints["placeholder"]
    if hints.get("autofocus") and not in_row and not readonly:
        render_kw["autofocus"] = True
    validators: list[Any] = []
    if spec.required and kind != "table":
        validators.append(_Required(messages["required"], flag=not (in_row or readonly or kind == "checkboxes")))
    # A cell's help sits once in its column header, which the template points every cell of the column at.
    options: dict[str, Any] = {
        "label": spec.label,
        "description": "" if in_row else spec.help,
        "validators": validators,
        "ui": ui,
    }
    if "default" in schema and not in_row:
        default = _to_form_value(spec, schema["default"])
        if default is not None:
            options["default"] = default

    if kind in ("string", "cadre", "checklist", "textarea", "email"):
        if "minLength" in schema or "maxLength" in schema:
            validators.append(_Length(schema.get("minLength"), schema.get("maxLength"), messages, lang))
        if "pattern" in schema:
            validators.append(_Pattern(schema["pattern"], messages["pattern"]))
        if kind == "email":
            validators.append(_Email(messages["email"]))
        if kind == "textarea":
            render_kw["rows"] = hints.get("rows", 4)
        if kind == "cadre":
            render_kw["autocomplete"] = "off"
        if kind == "checklist":
            ui["empty"] = (hints.get("empty_en") if lang == "en" else None) or hints.get("empty")
            ui["pick_one"] = bool(hints.get("pick_one"))
            ui["none"] = (hints.get("none_en") if lang == "en" else None) or hints.get("none")
        field_class = {
            "string": SchemaTextField,
            "cadre": SchemaTextField,
            "checklist": SchemaChecklistField,
            "textarea": SchemaTextAreaField,
            "email": SchemaEmailField,
        }[kind]
        return field_class(render_kw=render_kw, **options)
    if kind == "date":
        return SchemaDateField(render_kw=render_kw, **options)
    if kind in ("integer", "position", "planning_entry", "number"):
        validators.append(_Bounds(schema, messages, lang))
        render_kw["inputmode"] = "decimal" if kind == "number" else "numeric"
        field_class = {
            "integer": SchemaIntegerField,
            "position": SchemaPositionField,
            "planning_entry": SchemaPlanningEntryField,
            "number": SchemaNumberField,
        }
        return field_class[kind](render_kw=render_kw, **options)
    if kind in ("boolean", "radio", "select"):
        choices = [SelectChoice(key, label) for key, _value, label in spec.choices]
        if kind == "select":
            choices.insert(0, SelectChoice("", messages["choose"]))
        field_class = SchemaSelectField if kind == "select" else SchemaRadioField
        return field_class(choices=choices, render_kw=render_kw, **options)
    if kind == "checkboxes":
        validators.append(_Count(schema.get("minItems"), schema.get("maxItems"), messages, lang))
        choices = [SelectChoice(key, label) for key, _value, label in spec.choices]
        return SchemaCheckboxesField(choices=choices, render_kw=render_kw, **options)
    if kind == "file":
        accept = hints.get("accept")
        if accept:
            render_kw["accept"] = accept
        validators.append(_FileRules(accept, hints.get("max_size_mb", DEFAULT_MAX_SIZE_MB), messages, lang))
        return SchemaFileField(render_kw=render_kw, **options)
    if kind == "table":
        row_class = type(
            "SchemaRowForm",
            (Form,),
            {column.name: _unbound(column, lang, readonly, in_row=True) for column in spec.columns},
        )
        ui.update(
            min_rows=schema.get("minItems"),
            max_rows=schema.get("maxItems"),
            unique=bool(schema.get("uniqueItems")),
            columns_spec=spec.columns,
            columns=[
                {
                    "name": column.name,
                    "label": column.label,
                    "help": column.help,
                    "required": column.required,
                    "below": _placed_below(column, spec.columns),
                }
                for column in spec.columns
            ],
        )
        options.pop("validators")
        return SchemaTableField(
            FormField(row_class, label=spec.label), min_entries=max(1, schema.get("minItems") or 0), **options
        )
    raise UnsupportedSchema(f"field {spec.name!r}: kind {kind!r} has no form field")  # pragma: no cover


def _placed_below(column: _Spec, columns: Sequence[_Spec]) -> bool:
    """Whether a table's cell sits on its row's second line, under the row's other cells, with its label beside it.

    In a wide table a file chooser or a sentence-long text is what pushed the last columns out of sight (a leader's
    reason for a change, in the ninth column, behind a sideways scroll): placed below, it has the table's whole width
    and the columns of numbers fit the page. A column says so itself with "x-ui.placement" ("below" or "column");
    otherwise files and long texts of a table of `WIDE_TABLE_COLUMNS` columns or more go below. The first column
    (the row's name) never does."""
    if column is columns[0]:
        return False
    placement = column.hints.get("placement")
    if placement is not None:
        return bool(placement == "below")
    is_long = column.kind == "file" or (
        column.kind in ("string", "textarea") and (column.schema.get("maxLength") or 0) >= LONG_TEXT_LENGTH
    )
    return is_long and len(columns) >= WIDE_TABLE_COLUMNS


def build_form_class(schema: dict[str, Any], *, locale: str = "vi", readonly: bool = False) -> type[PageForm]:
    """A FlaskForm class for the task form `schema`; labels and messages in `locale` ("vi" or "en").

    With `readonly`, every input is rendered disabled and no row can be added: for showing a task's data."""
    lang = _language(locale)
    attrs = {spec.name: _unbound(spec, lang, readonly, in_row=False) for spec in _specs(schema, lang)}
    return type("SchemaTaskForm", (SchemaForm,), attrs)


# -- reading the form back -------------------------------------------------------------------------------------------


def _field_json(field: Any, spec: _Spec, *, draft: bool, refused: set[str] | None = None, path: str = "") -> Any:
    kind = spec.kind
    if draft and kind not in ("table", "checkboxes", "file") and field.process_errors and field.raw_data:
        return str(field.raw_data[0])  # keep what was typed; it is checked when the form is submitted
    data = field.data
    if kind in ("string", "cadre", "checklist", "textarea", "email"):
        return data if isinstance(data, str) and data else _MISSING
    if kind == "date":
        if isinstance(data, date):
            return data.isoformat()
        return field.shown if draft and field.shown else _MISSING
    if kind in ("integer", "position", "planning_entry", "number"):
        if isinstance(data, int | float) and not isinstance(data, bool):
            return float(data) if kind == "number" else int(data)
        return field.shown if draft and field.shown else _MISSING
    if kind in ("boolean", "radio", "select"):
        return spec.values.get(data, _MISSING) if isinstance(data, str) else _MISSING
    if kind == "file":
        return field.existing if field.data is None and field.existing else _MISSING
    if kind == "checkboxes":
        values = [spec.values[key] for key in data or () if key in spec.values]
    else:
        values = [
            _collect(entry.form, spec.columns, draft=draft, refused=refused, prefix=f"{path}.{index}.")
            for index, entry in enumerate(field.filled_rows)
        ]
    # Nothing ticked (no row filled) is an answer, unless the schema's minimum makes [] invalid: then it is no answer.
    if not values and (spec.required or (spec.schema.get("minItems") or 0) > 0):
        return _MISSING
    return values


def _collect(
    form: Any, specs: Sequence[_Spec], *, draft: bool, refused: set[str] | None = None, prefix: str = ""
) -> dict[str, Any]:
    """The JSON of these fields. With `refused`, a field showing an error is left out and its path added to it (a
    table with a table error whole, else each cell with an error)."""
    data: dict[str, Any] = {}
    for spec in specs:
        field, path = form[spec.name], f"{prefix}{spec.name}"
        if refused is not None and (field.table_errors if spec.kind == "table" else field.own_errors()):
            refused.add(path)
            continue
        value = _field_json(field, spec, draft=draft, refused=refused, path=path)
        if value is not _MISSING:
            data[spec.name] = value
    return data


def form_to_data(form: Any, schema: dict[str, Any]) -> dict[str, Any]:
    """The JSON object for the engine, from a form that passed `validate()`.

    Unanswered optional fields are left out (the schema's types have no "empty"). Files are not in it: see
    `pending_uploads`; a file field keeps the reference it was pre-filled with when no new file came."""
    return _collect(form, _specs(schema), draft=False)


def form_to_checked_data(form: Any, schema: dict[str, Any]) -> tuple[dict[str, Any], frozenset[str]]:
    """`form_to_data` for a form after `validate()`, valid or not: the fields and table cells showing an error are
    left out and named as the engine names fields (`amount`, `products.2.completed`, the row counted among the rows
    filled in), so the engine can check the rest (`operations.complete_task(..., refused=...)`)."""
    refused: set[str] = set()
    data = _collect(form, _specs(schema), draft=False, refused=refused)
    return data, frozenset(refused)


def form_to_draft(form: Any, schema: dict[str, Any]) -> dict[str, Any]:
    """Like `form_to_data`, for a form that may not validate: what could not be read (a number typed as "abc", the
    date 31/02/2026) is kept as the text typed, so the draft shows it again. Not for the engine."""
    return _collect(form, _specs(schema), draft=True)


def _to_form_value(spec: _Spec, value: Any) -> Any:
    kind = spec.kind
    # Strings stay whatever they hold (a draft keeps unreadable input as typed); other JSON shapes cannot be shown.
    if kind in (
        "string",
        "cadre",
        "checklist",
        "textarea",
        "email",
        "date",
        "integer",
        "position",
        "planning_entry",
        "number",
        "file",
    ) and (isinstance(value, bool) or not isinstance(value, str | int | float)):
        return None
    if kind == "date" and isinstance(value, str):
        return parse_date(value) or value
    if kind in ("boolean", "radio", "select"):
        return _lookup_key(spec.values, value)
    if kind == "checkboxes":
        return [key for key in (_lookup_key(spec.values, v) for v in value) if key] if isinstance(value, list) else []
    if kind == "table":
        return (
            [_to_form(row, spec.columns) for row in value if isinstance(row, Mapping)]
            if isinstance(value, list)
            else []
        )
    return value


def _to_form(data: Any, specs: Sequence[_Spec]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if not isinstance(data, Mapping):
        return out
    for spec in specs:
        value = data.get(spec.name)
        if value is None:
            continue
        converted = _to_form_value(spec, value)
        if converted is not None:
            out[spec.name] = converted
    return out


def data_to_formdata(data: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Task data (or a draft from `form_to_draft`) as `data=` for the form class; keys the schema lacks are dropped."""
    return _to_form(data, _specs(schema))


def file_fields(schema: dict[str, Any]) -> list[str]:
    """Names of the file fields, a table's file columns as "table.column": the page needs
    enctype="multipart/form-data" when there are any."""
    names = []
    for spec in _specs(schema):
        if spec.kind == "file":
            names.append(spec.name)
        names.extend(f"{spec.name}.{column.name}" for column in spec.columns if column.kind == "file")
    return names


@dataclass(frozen=True)
class Upload:
    """A file chosen in this request: where its reference goes in the data (`path`: ("evidence",) or
    ("products", 1, "evidence"), the row counted as in the data, blank rows left out), and the field holding it."""

    path: tuple[str | int, ...]
    field: SchemaFileField

    @property
    def file(self) -> FileStorage:
        return self.field.data  # type: ignore[no-any-return]

    @property
    def name(self) -> str:
        return ".".join(str(step) for step in self.path)


def _file_cells(form: Any, schema: dict[str, Any]) -> list[tuple[tuple[str | int, ...], SchemaFileField]]:
    cells: list[tuple[tuple[str | int, ...], SchemaFileField]] = []
    for spec in _specs(schema):
        if spec.kind == "file":
            cells.append(((spec.name,), form[spec.name]))
        elif spec.kind == "table" and any(column.kind == "file" for column in spec.columns):
            for index, entry in enumerate(form[spec.name].filled_rows):
                cells.extend(
                    ((spec.name, index, column.name), entry.form[column.name])
                    for column in spec.columns
                    if column.kind == "file"
                )
    return cells


def pending_uploads(form: Any, schema: dict[str, Any]) -> list[Upload]:
    """Every file chosen in this request, top-level fields and table cells alike, in the schema's order."""
    return [Upload(path, field) for path, field in _file_cells(form, schema) if field.data is not None]


def kept_references(form: Any, schema: dict[str, Any]) -> list[tuple[SchemaFileField, str]]:
    """The references to files stored earlier that the form holds (pre-filled, or posted back), with their field."""
    return [(field, field.existing) for _path, field in _file_cells(form, schema) if field.existing]


def check_uploads(form: Any, schema: dict[str, Any]) -> bool:
    """Check the chosen files' type and size only (for a row added or a draft saved); False when one is refused."""
    return all([upload.field.check_upload() for upload in pending_uploads(form, schema)])


def place_reference(data: dict[str, Any], path: Sequence[str | int], reference: str) -> None:
    """Put the stored file's reference where `path` (an Upload's) says, in data made by `form_to_data`."""
    *steps, last = path
    node: Any = data
    for step in steps:
        node = node[step]
    node[last] = reference


def _fields_of_kind(form: Any, kind: str) -> list[Any]:
    """The fields drawn with this widget, a table's cells among them (each row of every table)."""
    found = []
    for field in form:
        if not isinstance(field, _SchemaField):
            continue
        if isinstance(field, SchemaTableField):
            found.extend(
                cell for entry in field.entries for cell in entry.form if getattr(cell, "ui", {}).get("kind") == kind
            )
        elif field.ui.get("kind") == kind:
            found.append(field)
    return found


def position_values(form: Any) -> set[int]:
    """The position ids the form's "position" fields and cells hold (posted, or drawn from the data)."""
    return {
        field.data
        for field in _fields_of_kind(form, "position")
        if isinstance(field.data, int) and not isinstance(field.data, bool)
    }


def offer_choices(form: Any, positions: Sequence[tuple[int, str] | tuple[int, str, str | None]]) -> None:
    """Draw every "position" field and cell as a select of these (id, label) or (id, label, group), in this order."""
    options = [(int(p[0]), str(p[1]), str(p[2]) if len(p) > 2 and p[2] is not None else None) for p in positions]
    for field in _fields_of_kind(form, "position"):
        field.ui["options"] = options


def planning_entry_values(form: Any) -> set[int]:
    """The entry ids the form's "planning_entry" fields and cells hold (posted, or drawn from the data)."""
    return {
        field.data
        for field in _fields_of_kind(form, "planning_entry")
        if isinstance(field.data, int) and not isinstance(field.data, bool)
    }


def offer_entries(
    form: Any, offered: Sequence[tuple[int, str, str | None]], pinned: Mapping[int, str] | None = None
) -> None:
    """Draw every "planning_entry" field and cell as a select: of `offered` (id, label, group), in this order; a
    cell holding an id of `pinned` offering only that entry, by its label there."""
    options = [(int(value), str(label), str(group) if group is not None else None) for value, label, group in offered]
    for field in _fields_of_kind(form, "planning_entry"):
        field.ui["options"] = options
        field.ui["pinned"] = {int(k): str(v) for k, v in (pinned or {}).items()}


def offer_entry_search(
    form: Any,
    url: str,
    pinned: Mapping[int, str],
    listed: Mapping[int, str],
    find: Callable[[str], Sequence[tuple[int, str, str | None]]],
    limit: int,
) -> None:
    """Draw every "planning_entry" field and cell as a searched select (a list too long for one; decision 0083): a
    cell holding an id of `pinned` offers only that entry, as with `offer_entries`; any other gets a search box and a
    select of the entry it holds (by its label in `listed`: the list's entries the form holds, decision 0088) and of
    what its box's text finds (`find`, at most `limit` shown; `limit` + 1 found says there are more). `url` is where
    static/entry_search.js asks as one types."""
    for field in _fields_of_kind(form, "planning_entry"):
        field.ui["pinned"] = {int(k): str(v) for k, v in pinned.items()}
        field.ui["options"] = []
        if field.pinned_label is not None:
            continue
        typed = str(field.ui.get("typed") or "")
        found = list(find(typed)) if typed else []
        held = field.data if isinstance(field.data, int) and not isinstance(field.data, bool) else None
        options = [(held, str(listed[held]), None)] if held is not None and held in listed else []
        options += [(int(value), str(label), None) for value, label, _group in found[:limit] if value != held]
        field.ui["options"] = options
        field.ui["search"] = {
            "url": url,
            "typed": typed,
            "found": min(len(found), limit) if typed else None,
            "more": len(found) > limit,
        }


def has_entry_search(form: Any) -> bool:
    """Whether a "planning_entry" cell of the form is drawn searched (the page then loads static/entry_search.js)."""
    return any("search" in field.ui for field in _fields_of_kind(form, "planning_entry"))


def wants_entry_search(form: Any) -> bool:
    """Whether the "Find" button of the searched entries was pressed (the page without the script): show the form
    again, each searched cell listing what its box finds, without validating it."""
    return bool(getattr(form, "_find_entries", False))


def checklist_values(form: Any) -> dict[str, list[str]]:
    """The values each "checklist" field holds (posted, or drawn from the data), by field name."""
    return {field.short_name: split_values(field.data or "") for field in _fields_of_kind(form, "checklist")}


def offer_checklists(form: Any, choices: Mapping[str, Sequence[tuple[str, str]]]) -> None:
    """Draw each "checklist" field named in `choices` as a checkbox per (value, label), in this order; the others
    stay text boxes."""
    for field in _fields_of_kind(form, "checklist"):
        if field.short_name in choices:
            field.ui["options"] = [(str(value), str(label)) for value, label in choices[field.short_name]]


def has_long_checklist(form: Any) -> bool:
    """Whether a "checklist" field of the form is drawn as checkboxes long enough for its filter box (the page then
    loads static/checklist_filter.js)."""
    return any(field.options is not None and field.filterable for field in _fields_of_kind(form, "checklist"))


def cadre_codes(form: Any) -> set[str]:
    """The codes the form's "cadre" fields and cells hold, for the names shown beside them."""
    return {
        field.data.strip() for field in _fields_of_kind(form, "cadre") if isinstance(field.data, str) and field.data
    }


def own_comment_field(schema: dict[str, Any] | None) -> str | None:
    """The field a form names in "x-comment-field" as its comment (the head's "Ý kiến của thủ trưởng"), or None.

    Such a form takes the place of the task page's own comment box, which the page then leaves out (decision 0091):
    two boxes for one opinion left people guessing which one counted."""
    name = (schema or {}).get(COMMENT_FIELD_KEY)
    return name if isinstance(name, str) else None


def has_kind(schema: dict[str, Any], kind: str) -> bool:
    """Whether a field, or a table's column, of the schema is drawn with this widget kind."""
    return any(spec.kind == kind or any(c.kind == kind for c in spec.columns) for spec in _specs(schema))


def wants_more_rows(form: Any) -> str | None:
    """The table whose "add row" button was pressed (the row is already added), or None.

    Show the form again without validating it; its other inputs keep what was typed."""
    return getattr(form, "_add_row_field", None)


def add_row(form: Any, name: str) -> bool:
    """Append an empty row to the table `name` and put the focus in it; False when its maxItems is reached."""
    field = form[name]
    if not isinstance(field, SchemaTableField) or not field.can_add_row:
        return False
    entry = field.append_entry()
    for other in form:
        if other.render_kw and "autofocus" in other.render_kw:
            other.render_kw = {k: v for k, v in other.render_kw.items() if k != "autofocus"}
    first = next(iter(entry.form), None)
    if first is not None:
        first.render_kw = {**(first.render_kw or {}), "autofocus": True}
    return True


@dataclass(frozen=True)
class InvalidEntry:
    """One error the form shows beside an input, for the summary above the form."""

    anchor: str  # the id of the input (or of the table, for a table's own error) the summary links to
    label: str
    message: str
    row: int | None = None  # a table cell's row as shown, from 1
    column: str | None = None


def invalid_entries(form: Any, skip: Sequence[str] = ()) -> list[InvalidEntry]:
    """Every error the form shows, in the page's order. A refused form opens again at its top, while the one cell
    marked may sit far down a table: the summary says what to fix and links to it (the error summary of GOV.UK's
    design system, which officials' other e-services follow)."""
    found: list[InvalidEntry] = []
    for field in form:
        if field.short_name in skip or not isinstance(field, _SchemaField):
            continue
        label = field.label.text
        if isinstance(field, SchemaTableField):
            for number, entry in enumerate(field.entries, start=1):
                for cell in entry.form:
                    if isinstance(cell, _SchemaField):
                        found.extend(
                            InvalidEntry(cell.id, label, message, row=number, column=cell.label.text)  # type: ignore[attr-defined]
                            for message in cell.own_errors()
                        )
        found.extend(InvalidEntry(field.id, label, message) for message in field.own_errors())
    return found
