"""Request input for the API: query strings and JSON bodies become plain values, or `Invalid` listing every problem.

Text that cannot be stored is refused here, before it reaches a query: PostgreSQL rejects NUL characters in text
and no database driver can encode a lone UTF-16 surrogate, so either would otherwise surface as a server error.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from webapp.api.queries import TaskQuery
from workflows.errors import Invalid, Problem, unknown_fields
from workflows.instances import STATUSES
from workflows.query_args import MAX_ID

MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 25
# A page of instances: a document system reads a unit's procedures in a few calls (each item is one instance with its
# open tasks, read in one statement whatever the page's length).
MAX_INSTANCES_PER_PAGE = 200
DEFAULT_INSTANCES_PER_PAGE = 50
MAX_CODE_LENGTH = 40  # cadre and unit codes (String(40))
MAX_PAGE = 100_000  # keeps OFFSET within what SQLite and PostgreSQL accept
MAX_JSON_DEPTH = 32
PROCESS_ID_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,119}")
_DIGITS_RE = re.compile(r"[0-9]{1,9}")
_SCOPES = ("mine", "group")
_BOOLEANS = {"true": True, "false": False}


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return _("must not contain NUL characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _("must be valid Unicode text")
    return None


def _positive_int(args: Mapping[str, str], name: str, default: int, maximum: int, problems: list[Problem]) -> int:
    raw = args.get(name)
    if raw is None:
        return default
    if _DIGITS_RE.fullmatch(raw) and 1 <= int(raw) <= maximum:
        return int(raw)
    problems.append(Problem(_("must be a whole number from 1 to %(max)d", max=maximum), field=name))
    return default


def task_query(args: Mapping[str, str]) -> TaskQuery:
    problems: list[Problem] = []
    scope = args.get("scope", "mine")
    if scope not in _SCOPES:
        problems.append(Problem(_("must be one of: %(values)s", values=", ".join(_SCOPES)), field="scope"))
    process_id = args.get("process")
    if process_id is not None and not PROCESS_ID_RE.fullmatch(process_id):
        problems.append(Problem(_("is not a process id"), field="process"))
    overdue_text = args.get("overdue")
    if overdue_text is not None and overdue_text not in _BOOLEANS:
        problems.append(Problem(_("must be true or false"), field="overdue"))
    page = _positive_int(args, "page", 1, MAX_PAGE, problems)
    per_page = _positive_int(args, "per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE, problems)
    if problems:
        raise Invalid("the query parameters are not valid", problems)
    return TaskQuery(
        scope=scope,
        process_id=process_id,
        overdue=_BOOLEANS[overdue_text] if overdue_text is not None else None,
        page=page,
        per_page=per_page,
    )


@dataclass(frozen=True)
class InstanceQuery:
    subject_code: str | None
    process_id: str | None
    status: str | None
    unit_code: str | None
    page: int
    per_page: int


INSTANCE_QUERY_PARAMETERS = ("subject", "process", "status", "unit", "page", "per_page")


def _code(args: Mapping[str, str], name: str, problems: list[Problem]) -> str | None:
    code = args.get(name)
    if code is None:
        return None
    problem = _text_problem(code)
    if problem is None and not 0 < len(code) <= MAX_CODE_LENGTH:
        problem = _("must be a code of at most %(max)d characters", max=MAX_CODE_LENGTH)
    if problem is not None:
        problems.append(Problem(problem, field=name))
        return None
    return code


def instance_query(args: Mapping[str, str]) -> InstanceQuery:
    """`GET /api/v1/instances`: every filter checked, and a parameter the list does not know refused by name (a
    misspelt filter would otherwise answer the whole scope as if it had matched)."""
    unknown = sorted(set(args) - set(INSTANCE_QUERY_PARAMETERS))
    problems = [Problem(_("the list has no such parameter"), field=name) for name in unknown]
    subject_code = _code(args, "subject", problems)
    unit_code = _code(args, "unit", problems)
    process_id = args.get("process")
    if process_id is not None and not PROCESS_ID_RE.fullmatch(process_id):
        problems.append(Problem(_("is not a process id"), field="process"))
    status = args.get("status")
    if status is not None and status not in STATUSES:
        problems.append(Problem(_("must be one of: %(values)s", values=", ".join(STATUSES)), field="status"))
    page = _positive_int(args, "page", 1, MAX_PAGE, problems)
    per_page = _positive_int(args, "per_page", DEFAULT_INSTANCES_PER_PAGE, MAX_INSTANCES_PER_PAGE, problems)
    if problems:
        raise Invalid("the query parameters are not valid", problems)
    return InstanceQuery(subject_code, process_id, status, unit_code, page, per_page)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class _NumberOutOfRange(ValueError):
    pass


def _finite_float(text: str) -> float:
    # 1e400 is valid JSON but becomes infinity, which no JSON answer, audit payload or state could carry back.
    value = float(text)
    if not math.isfinite(value):
        raise _NumberOutOfRange(text)
    return value


def _storable_problems(value: Any) -> list[Problem]:
    """Walk the document without recursion (its depth is what is being checked)."""
    problems: list[Problem] = []
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return [Problem(_("is nested too deeply (at most %(max)d levels)", max=MAX_JSON_DEPTH), field=path or None)]
        if isinstance(item, str):
            message = _text_problem(item)
            if message:
                problems.append(Problem(message, field=path or None))
        elif isinstance(item, dict):
            for key, child in item.items():
                child_path = f"{path}.{key}" if path else str(key)
                message = _text_problem(key)
                if message:
                    problems.append(Problem(message, field=path or None))
                    continue
                stack.append((child, child_path, depth + 1))
        elif isinstance(item, list):
            stack.extend(
                (child, f"{path}.{index}" if path else str(index), depth + 1) for index, child in enumerate(item)
            )
    return problems


def json_object(body: bytes) -> dict[str, Any]:
    """The request body as a JSON object whose every string can be stored."""
    try:
        value = json.loads(body, parse_constant=_refuse_constant, parse_float=_finite_float)
    except _NumberOutOfRange as error:
        problem = Problem(_("a number is too large to be stored: %(number)s", number=str(error)[:40]))
        raise Invalid("the request body is not valid", [problem]) from error
    except (ValueError, RecursionError):
        value = None  # "not JSON" and "not an object" get the same answer
    if not isinstance(value, dict):
        raise Invalid("the request body must be a JSON object", [Problem(_("expected a JSON object"))])
    problems = _storable_problems(value)
    if problems:
        raise Invalid("the request body is not valid", problems)
    return value


@dataclass(frozen=True)
class StartRequest:
    process_id: str
    subject_code: str | None
    unit_code: str | None
    data: dict[str, Any]


_START_FIELDS = {"process", "subject", "unit", "data"}


def start_request(body: dict[str, Any]) -> StartRequest:
    problems = unknown_fields(body, _START_FIELDS)
    process_id = body.get("process")
    if not isinstance(process_id, str) or not PROCESS_ID_RE.fullmatch(process_id):
        problems.append(Problem(_("a deployed process id is required"), field="process"))
    codes: dict[str, str | None] = {}
    for name in ("subject", "unit"):
        code = body.get(name)
        if code is not None and not (isinstance(code, str) and 0 < len(code) <= 40):
            problems.append(Problem(_("must be a code of at most 40 characters, or null"), field=name))
            code = None
        codes[name] = code
    data = body.get("data", {})
    if not isinstance(data, dict):
        problems.append(Problem(_("must be an object"), field="data"))
    if problems:
        raise Invalid("the request body is not valid", problems)
    return StartRequest(str(process_id), codes["subject"], codes["unit"], data)


@dataclass(frozen=True)
class RollbackRequest:
    version: int
    reason: str


_ROLLBACK_FIELDS = {"version", "reason"}


def rollback_request(body: dict[str, Any]) -> RollbackRequest:
    """`{"version": 1, "reason": "…"}`: the earlier version to use again and why (the service checks the reason's
    content and length, as the administration page's)."""
    problems = unknown_fields(body, _ROLLBACK_FIELDS)
    version = body.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or not 0 < version <= MAX_ID:
        problems.append(Problem(_("must be the number of an earlier version"), field="version"))
    reason = _reason(body, problems)
    if problems:
        raise Invalid("the request body is not valid", problems)
    return RollbackRequest(version, reason)


def _reason(body: dict[str, Any], problems: list[Problem]) -> str:
    """The body's "reason" as given (the service tidies it and checks it is there and not too long); a problem is
    added when it is not storable text."""
    reason = body.get("reason")
    if not isinstance(reason, str):
        problems.append(Problem(_("must be text"), field="reason"))
        return ""
    if (problem := _text_problem(reason)) is not None:
        problems.append(Problem(problem, field="reason"))
    return reason


def withdraw_request(body: dict[str, Any]) -> str:
    """`{"reason": "…"}`: why nothing new may start from the procedure (the service checks its content and length,
    as the administration page's)."""
    return _reason_only(body)


def reinstate_request(body: dict[str, Any]) -> str:
    """`{"reason": "…"}`: why the procedure is put back in use — asked as withdrawing asks (decision 0059)."""
    return _reason_only(body)


def _reason_only(body: dict[str, Any]) -> str:
    problems = unknown_fields(body, {"reason"})
    reason = _reason(body, problems)
    if problems:
        raise Invalid("the request body is not valid", problems)
    return reason
