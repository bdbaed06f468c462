"""What a task form's JSON Schema refuses, as problems whose message is a msgid and whose limits are arguments."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from workflows.engine.operations import validate_task_data
from workflows.engine.schema_messages import OTHER_RULE, schema_problem
from workflows.errors import Amount, Invalid, Problem

FORM: dict[str, Any] = {
    "type": "object",
    "required": ["title"],
    "additionalProperties": False,
    "properties": {
        "title": {"type": "string", "minLength": 2, "maxLength": 5, "pattern": "^[A-Z]"},
        "count": {"type": "integer", "minimum": 1, "maximum": 9},
        "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1.5},
        "on": {"type": "string", "format": "date"},
        "choice": {"type": "string", "oneOf": [{"const": "yes", "title": "Có"}, {"const": "no", "title": "Không"}]},
        "level": {"type": "string", "enum": ["low", "high"]},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2, "uniqueItems": True},
        "flag": {"type": "boolean"},
    },
}


def _problems(data: dict[str, Any]) -> list[Problem]:
    validator = Draft202012Validator(FORM, format_checker=FormatChecker())
    with pytest.raises(Invalid) as refused:
        validate_task_data(data, validator)
    return refused.value.problems


@pytest.mark.parametrize(
    ("data", "field", "explained"),
    [
        ({}, "title", "This field is required."),
        ({"title": "A"}, "title", "must be at least 2 characters long"),
        ({"title": "ABCDEF"}, "title", "must be at most 5 characters long"),
        ({"title": "ab"}, "title", "is not in the required format"),
        ({"title": 7}, "title", "must be text"),
        # Both ends given: the whole range, whichever was passed (decision 0118).
        ({"title": "AB", "count": 0}, "count", "Enter a whole number from 1 to 9."),
        ({"title": "AB", "count": 10}, "count", "Enter a whole number from 1 to 9."),
        ({"title": "AB", "count": 1.5}, "count", "must be a whole number"),
        ({"title": "AB", "ratio": 0}, "ratio", "must be greater than 0"),
        ({"title": "AB", "ratio": 1.5}, "ratio", "must be less than 1.5"),
        ({"title": "AB", "on": "31/12/2026"}, "on", "must be a date written yyyy-mm-dd"),
        ({"title": "AB", "choice": "maybe"}, "choice", "must be one of: yes, no"),
        ({"title": "AB", "level": "mid"}, "level", "must be one of: low, high"),
        ({"title": "AB", "tags": []}, "tags", "too few items: at least 1"),
        ({"title": "AB", "tags": ["a", "b", "c"]}, "tags", "too many items: at most 2"),
        ({"title": "AB", "tags": ["a", "a"]}, "tags", "must not list the same item twice"),
        ({"title": "AB", "flag": "yes"}, "flag", "must be yes or no (true or false)"),
        ({"title": "AB", "extra": 1}, None, "fields not accepted here: extra"),
    ],
)
def test_each_keyword_has_its_own_message_with_the_limit_as_an_argument(
    data: dict[str, Any], field: str | None, explained: str
) -> None:
    (problem,) = _problems(data)
    assert (problem.field, problem.explained) == (field, explained)
    # The msgid holds no value of the data or the schema: the catalogs can translate it.
    assert problem.message_args or "%(" not in problem.message
    for value in problem.message_args.values():
        assert str(value) not in problem.message


def test_a_limit_is_an_amount_each_reader_reads_their_way() -> None:
    """The web layer writes an `Amount` with the reader's marks ("10.000"); the English here is the plain number."""
    (problem,) = _problems({"title": "AB", "count": 10})
    assert problem.message_args == {"low": Amount(1), "high": Amount(9)}
    big = Draft202012Validator({"type": "object", "properties": {"n": {"type": "number", "maximum": 10000}}})
    (error,) = big.iter_errors({"n": 10001})
    assert schema_problem(error, "n").explained == "must be less than or equal to 10000"  # one end: said alone
    ranged = Draft202012Validator(
        {"type": "object", "properties": {"n": {"type": "number", "minimum": 0, "maximum": 100}}}
    )
    (below,) = ranged.iter_errors({"n": -1})
    assert schema_problem(below, "n").explained == "Enter a number from 0 to 100."


def test_a_keyword_without_a_message_of_its_own_is_named() -> None:
    validator = Draft202012Validator({"type": "object", "properties": {"n": {"multipleOf": 3}}})
    (error,) = validator.iter_errors({"n": 4})
    problem = schema_problem(error, "n")
    assert (problem.message, problem.message_args, problem.field) == (OTHER_RULE, {"rule": "multipleOf"}, "n")
    assert problem.explained == "is not accepted by the form's rule multipleOf"


def test_each_missing_field_is_named_on_its_own() -> None:
    """Two required fields left empty: one problem on each, not both on the first."""
    form = {**FORM, "required": ["title", "count", "on"]}
    validator = Draft202012Validator(form, format_checker=FormatChecker())
    with pytest.raises(Invalid) as refused:
        validate_task_data({"count": 3}, validator)
    assert [(p.field, p.explained) for p in refused.value.problems] == [
        ("title", "This field is required."),
        ("on", "This field is required."),
    ]
