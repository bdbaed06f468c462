"""Errors raised by the workflow services.

Each carries a message a person can read; the web layer maps the class to an HTTP status
(NotFound → 404, NotAllowed → 403, Conflict → 409, Invalid → 422; ScriptFailure → 500, since the model is at
fault, not the request).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

NO_ARGS: Mapping[str, Any] = MappingProxyType({})


def N_(message: str) -> str:
    """Marks a message for the catalogs where it is not written inside the error's own call (a variable, an argument
    handed on): `make translations` extracts it, and the web layer translates it when it shows the error."""
    return message


def NN_(singular: str, plural: str) -> tuple[str, str]:
    """`N_` for a message said of one and of several: extracted as one plural entry, translated with `ngettext`."""
    return singular, plural


@dataclass(frozen=True)
class Amount:
    """A number in a message — a limit, a maximum — that each reader reads their own way: the web layer writes
    10000 as "10.000" in Vietnamese and "10,000" in English (webapp/http.py `problem_text`); the English filled in
    here (`explained`, the CLI's) is the plain number. It goes in a `%(name)s` placeholder, never `%(name)d`."""

    value: int | float

    def __str__(self) -> str:
        value = self.value
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def fill_in(message: str, message_args: Mapping[str, Any]) -> str:
    """A message with its variable parts (`%(name)s`) filled in; one without arguments as it is (it may hold a `%`)."""
    return message % message_args if message_args else message


class WorkflowError(Exception):
    """Base class: something the caller asked for could not be done; nothing was changed.

    `message` is the msgid, in English; a message with variable parts names them (`%(count)d`) and `message_args`
    holds their values: `explained` is the English filled in (the CLI's), the web layer translates then fills in."""

    message_args: Mapping[str, Any] = NO_ARGS

    def __init__(self, message: str, message_args: Mapping[str, Any] | None = None) -> None:
        self.message = message
        self.message_args = dict(message_args or {})
        super().__init__(self.explained)

    @property
    def explained(self) -> str:
        return fill_in(self.message, self.message_args)


class NotFound(WorkflowError):
    pass


class NotAllowed(WorkflowError):
    pass


class Conflict(WorkflowError):
    """The object changed under the caller (task already completed, instance advanced meanwhile)."""


@dataclass(frozen=True)
class Problem:
    """One problem found in a model or in submitted data, located as precisely as we can.

    As for `WorkflowError`: `message` is the English msgid (marked with `N_` where it is not a literal of the call),
    `message_args` the values of its variable parts — an element id, a file name, a code —, `explained` the English
    filled in. The web layer translates `message`, then fills in the same values (webapp/http.py `problem_text`)."""

    message: str
    element_id: str | None = None
    line: int | None = None
    filename: str | None = None
    field: str | None = None
    message_args: Mapping[str, Any] = dataclasses.field(default_factory=dict, hash=False)
    column: int | None = None  # on `line`, where a parser says it (malformed XML)

    @property
    def explained(self) -> str:
        return fill_in(self.message, self.message_args)

    def __str__(self) -> str:
        where = []
        if self.filename:
            where.append(self.filename)
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column is not None:
            where.append(f"column {self.column}")
        if self.element_id:
            where.append(f"element {self.element_id}")
        if self.field:
            where.append(f"field {self.field}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.explained}" if prefix else self.explained


# A text longer than its column allows (or than a limit of ours): the one message, naming the maximum ("Tối đa 255 ký
# tự"), so a refused name says how long it may be rather than only that it is too long (decision 0118).
TOO_LONG = N_("At most %(max)s characters.")


def too_long(field: str | None, limit: int) -> Problem:
    return Problem(TOO_LONG, field=field, message_args={"max": Amount(limit)})


UNKNOWN_FIELD = N_("unknown field")


def unknown_fields(keys: Iterable[str], known: Container[str], *, within: str = "") -> list[Problem]:
    """A problem naming each key that is not among the known ones (`within`: the path the keys sit under, "a.0.")."""
    return [Problem(UNKNOWN_FIELD, field=f"{within}{key}") for key in keys if key not in known]


class Invalid(WorkflowError):
    """Input that cannot be accepted; `problems` lists every reason found, not only the first."""

    def __init__(
        self, message: str, problems: list[Problem] | None = None, message_args: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(message, message_args)
        self.problems: list[Problem] = list(problems or [])

    def __str__(self) -> str:
        if not self.problems:
            return self.explained
        return self.explained + "\n" + "\n".join(f"  - {p}" for p in self.problems)


@dataclass
class ScriptFailure(WorkflowError):
    """A script, condition or expression of a model failed (error, forbidden operation, or time limit)."""

    message: str
    element_id: str | None = None
    line: int | None = None
    details: dict = dataclasses.field(default_factory=dict)
    instance_id: int | None = None  # the instance it failed in, when the service knows it
    element_name: str | None = None  # the step's name as the model draws it, for the person who met the failure
    process_version_id: int | None = None  # the version it failed in: a start has no instance to note it on

    def __post_init__(self) -> None:
        Exception.__init__(self, self.message)

    def __str__(self) -> str:
        where = (
            f" (element {self.element_id}" + (f", line {self.line}" if self.line else "") + ")"
            if self.element_id
            else ""
        )
        return f"{self.message}{where}"
