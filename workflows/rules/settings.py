"""Reading a policy's settings from configuration (JSON) — the part every policy dataclass shares.

Each rules module keeps its own settings, defaults and checks (`problems_of`); this is only the reading: a mapping
is required, unknown names are reported, the given values are merged over the defaults (lists become tuples
unless a module converts a setting itself), and every problem is reported at once, never only the first.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from workflows.errors import Invalid, Problem

# Returned by a conversion that found the value unusable (its problems say why): the default stays in place.
KEEP_DEFAULT: Any = object()
# (setting name, given value, default value) -> (the value to keep or KEEP_DEFAULT, problems).
Convert = Callable[[str, Any, Any], tuple[Any, list[Problem]]]
ProblemsOf = Callable[[Mapping[str, Any]], list[Problem]]


def plain(name: str, value: Any, default: Any) -> tuple[Any, list[Problem]]:
    """JSON lists become tuples (the dataclasses' sequences are immutable); anything else is kept as given."""
    return (tuple(value) if isinstance(value, list) else value), []


def check_settings(policy: Any, problems_of: ProblemsOf, message: str) -> None:
    """For `__post_init__`: a policy built in code is held to the same checks as one read from configuration."""
    problems = problems_of({f.name: getattr(policy, f.name) for f in dataclasses.fields(policy)})
    if problems:
        raise Invalid(message, problems)


def merged_settings(
    defaults: Any, values: Any, problems_of: ProblemsOf, message: str, convert: Convert = plain
) -> dict[str, Any]:
    """The defaults with the given settings applied, checked; raises Invalid(message) listing every problem."""
    if not isinstance(values, Mapping):
        raise Invalid(message, [Problem("expected an object of settings")])
    fields = dataclasses.fields(defaults)
    names = {f.name for f in fields}
    merged: dict[str, Any] = {f.name: getattr(defaults, f.name) for f in fields}
    problems: list[Problem] = []
    for key, value in values.items():
        if key not in names:
            problems.append(Problem("unknown setting", field=str(key)))
            continue
        kept, found = convert(key, value, merged[key])
        problems.extend(found)
        if kept is not KEEP_DEFAULT:
            merged[key] = kept
    problems.extend(problems_of(merged))
    if problems:
        raise Invalid(message, problems)
    return merged


def is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def whole_setting(values: Mapping[str, Any], problems: list[Problem], name: str, low: int, high: int) -> bool:
    """A whole-number setting within [low, high]; a problem on the setting otherwise."""
    value = values[name]
    if not is_whole(value):
        problems.append(Problem("expected a whole number", field=name))
        return False
    if not low <= value <= high:
        problems.append(Problem("the value is outside the allowed range", field=name))
        return False
    return True
