"""What a task form's JSON Schema refuses in submitted data, said as a `Problem` the web layer can translate.

jsonschema words its errors itself, in English and with the value inside ("'x' is not one of ['a', 'b']"), so the
catalogs cannot hold them. Each keyword the task forms use (webapp/tasks/schema_forms.py lists what they may use) gets
its own msgid here, with the limit or the allowed values as arguments; a keyword without one is named as it is.
A limit is an `Amount`, so each reader reads it their way ("10.000" on a Vietnamese page).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from jsonschema import ValidationError

from workflows.errors import N_, Amount, Problem

_TYPES = {
    "string": N_("must be text"),
    "integer": N_("must be a whole number"),
    "number": N_("must be a number"),
    "boolean": N_("must be yes or no (true or false)"),
    "array": N_("must be a list"),
    "object": N_("must be an object"),
    "null": N_("must be empty (null)"),
}
_FORMATS = {
    "date": N_("must be a date written yyyy-mm-dd"),
    "email": N_("must be an email address"),
}
_LIMITS = {
    "minLength": N_("must be at least %(limit)s characters long"),
    "maxLength": N_("must be at most %(limit)s characters long"),
    "minimum": N_("must be greater than or equal to %(limit)s"),
    "maximum": N_("must be less than or equal to %(limit)s"),
    "exclusiveMinimum": N_("must be greater than %(limit)s"),
    "exclusiveMaximum": N_("must be less than %(limit)s"),
    "minItems": N_("too few items: at least %(limit)s"),
    "maxItems": N_("too many items: at most %(limit)s"),
}
REQUIRED = N_("This field is required.")
# Both ends inclusive: the whole range is said whichever end was passed (decision 0118).
IN_RANGE = N_("Enter a number from %(low)s to %(high)s.")
WHOLE_IN_RANGE = N_("Enter a whole number from %(low)s to %(high)s.")
ONE_OF = N_("must be one of: %(values)s")
OTHER_RULE = N_("is not accepted by the form's rule %(rule)s")


def schema_problem(error: ValidationError, field: str | None) -> Problem:
    """The problem a jsonschema error says about `field` (the path of the value, or the missing field)."""
    rule, expected = str(error.validator), error.validator_value
    if rule == "required":
        return Problem(REQUIRED, field=field)
    if rule == "type" and isinstance(expected, str) and expected in _TYPES:
        return Problem(_TYPES[expected], field=field)
    if rule in ("minimum", "maximum") and isinstance(error.schema, Mapping):
        low, high = error.schema.get("minimum"), error.schema.get("maximum")
        if _is_limit(low) and _is_limit(high):
            message = WHOLE_IN_RANGE if error.schema.get("type") == "integer" else IN_RANGE
            return Problem(message, field=field, message_args={"low": _limit(low), "high": _limit(high)})
    if rule in _LIMITS:
        return Problem(_LIMITS[rule], field=field, message_args={"limit": _limit(expected)})
    if rule == "enum" and isinstance(expected, list):
        return Problem(ONE_OF, field=field, message_args={"values": _listed(expected)})
    if rule == "const":
        return Problem(ONE_OF, field=field, message_args={"values": _shown(expected)})
    if rule == "oneOf" and isinstance(expected, list) and all(_is_const(option) for option in expected):
        return Problem(ONE_OF, field=field, message_args={"values": _listed([option["const"] for option in expected])})
    if rule == "pattern":
        return Problem(N_("is not in the required format"), field=field)
    if rule == "format" and expected in _FORMATS:
        return Problem(_FORMATS[str(expected)], field=field)
    if rule == "uniqueItems":
        return Problem(N_("must not list the same item twice"), field=field)
    if rule == "additionalProperties" and isinstance(error.instance, Mapping):
        properties = error.schema.get("properties") if isinstance(error.schema, Mapping) else None
        known = properties if isinstance(properties, Mapping) else {}
        extra = sorted(str(key) for key in error.instance if key not in known)
        return Problem(
            N_("fields not accepted here: %(fields)s"), field=field, message_args={"fields": ", ".join(extra)}
        )
    return Problem(OTHER_RULE, field=field, message_args={"rule": rule})


def _is_limit(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_const(option: Any) -> bool:
    return isinstance(option, Mapping) and "const" in option


def _limit(value: Any) -> Amount | str:
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    return Amount(value) if is_number else _shown(value)


def _shown(value: Any) -> str:
    """A limit or an allowed value as the form's schema writes it (a text without quotes)."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return json.dumps(value, ensure_ascii=False)


def _listed(values: list[Any]) -> str:
    return ", ".join(_shown(value) for value in values)
