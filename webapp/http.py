"""Shared view plumbing: the process engine, one transaction per action, workflow errors → HTTP answers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import abort, current_app, flash, request
from flask_babel import force_locale, get_locale, gettext
from markupsafe import Markup

from webapp.extensions import db
from webapp.number_fields import format_amount
from workflows.db import transaction
from workflows.engine import operations
from workflows.engine.runtime import ProcessEngine
from workflows.errors import (
    N_,
    Amount,
    Conflict,
    Invalid,
    NotAllowed,
    NotFound,
    Problem,
    ScriptFailure,
    WorkflowError,
    fill_in,
)
from workflows.query_args import page_count, page_within

T = TypeVar("T")

STATUS_BY_ERROR: dict[type[WorkflowError], int] = {
    NotFound: 404,
    NotAllowed: 403,
    Conflict: 409,
    Invalid: 422,
    # The model is at fault, not what the person sent: a server error, which monitoring counts (decision 0073).
    ScriptFailure: 500,
}


def process_engine() -> ProcessEngine:
    return current_app.extensions["canbo_engine"]


def status_for(error: WorkflowError) -> int:
    for cls, status in STATUS_BY_ERROR.items():
        if isinstance(error, cls):
            return status
    return 400


# The answer for anything missing or outside the person's scope (errors.py's 404 page says the same).
NOT_FOUND = N_("This page or object does not exist, or is outside your scope.")


def shown_args(message_args: Mapping[str, Any]) -> Mapping[str, Any]:
    """A message's variable parts as the reader writes them: an `Amount` (a limit, a maximum) with the locale's marks,
    10000 as "10.000" in Vietnamese; every other value as it is."""
    if not any(isinstance(value, Amount) for value in message_args.values()):
        return message_args
    return {
        key: format_amount(value.value) if isinstance(value, Amount) else value for key, value in message_args.items()
    }


# What the person who met a failed model script reads: the engine's own words (English, technical) are for the
# administrators, who find them under "Needs attention" and in the audit log.
SCRIPT_FAILED = N_(
    "The procedure has a technical problem at the step “%(step)s”; the administrators have been told. Nothing was lost."
)


def translated(error: WorkflowError) -> str:
    """The service's message in the user's language (service messages are msgids in the catalogs), its variable
    parts (`message_args`) filled in the reader's way (`shown_args`)."""
    if isinstance(error, ScriptFailure):
        return gettext(SCRIPT_FAILED, step=error.element_name or error.element_id or "?")
    message = gettext(error.message)
    if isinstance(error, NotFound) and message == error.message and str(get_locale() or "vi") != "en":
        # It names the id asked for ("task 9 does not exist"), so the catalogs cannot hold it: the person gets the
        # general answer in their language, which says no more about what exists than the message did.
        return gettext(NOT_FOUND)
    return fill_in(message, shown_args(error.message_args))


def script_failure_text(failure: ScriptFailure) -> str:
    """A failed model script for a command's operator: the sentence the person at the page reads (Vietnamese: the
    step, the administrators told — the caller went through `act`, which noted it for "Cần xử lý"), then the
    engine's own words, which the operator may act on."""
    with force_locale("vi"):
        return f"{translated(failure)}\n{failure}"


def problem_text(problem: Problem) -> str:
    """A problem's message in the user's language, its variable parts (an element id, a name, a code, a limit)
    filled in the reader's way (`shown_args`)."""
    return fill_in(gettext(problem.message), shown_args(problem.message_args))


_IN_FILE = N_("file %(file)s")
_AT_LINE = N_("line %(line)d")
_AT_COLUMN = N_("column %(column)d")
_AT_ELEMENT = N_("element %(element)s")
_IN_FIELD = N_("field %(field)s")


def located_problem_text(problem: Problem) -> str:
    """`problem_text` after where the problem is — file, line, column, element, field — as `Problem.__str__` says it in
    English (a model's problems on the deploy page)."""
    where = []
    if problem.filename:
        where.append(gettext(_IN_FILE, file=problem.filename))
    if problem.line is not None:
        where.append(gettext(_AT_LINE, line=problem.line))
    if problem.column is not None:
        where.append(gettext(_AT_COLUMN, column=problem.column))
    if problem.element_id:
        where.append(gettext(_AT_ELEMENT, element=problem.element_id))
    if problem.field:
        where.append(gettext(_IN_FIELD, field=problem.field))
    text = problem_text(problem)
    return f"{', '.join(where)}: {text}" if where else text


def act(work: Callable[[], T], *, instance_id: int | None = None) -> T:
    """Run one service call in its own transaction. A failed model script is recorded on the instance after the
    rollback, so administrators see it even though the person's action did not go through (the instance is
    `instance_id`, else the one the failure names); a failed start, which leaves no instance, on the system audit
    chain against its version."""
    try:
        with transaction(db.session):
            result = work()
    except ScriptFailure as failure:
        failed = instance_id if instance_id is not None else failure.instance_id
        if failed is not None:
            with transaction(db.session):
                operations.record_failure(db.session, actor=None, instance_id=failed, error=failure)
        elif failure.process_version_id is not None:  # a start: no instance, noted against its version
            with transaction(db.session):
                operations.record_start_failure(db.session, actor=None, error=failure)
        raise
    from webapp.production.requests import note_advance

    note_advance(result, instance_id)  # committed: the request log and the completion counter may count it
    return result


def flash_error(error: WorkflowError) -> None:
    flash(translated(error), "error")


def get_or_404(model: type[Any], object_id: int) -> Any:
    found = db.session.get(model, object_id)
    if found is None:
        abort(404)
    return found


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def from_this_site() -> bool:
    """The post came from a page of this site, by its Origin (or, without one, its Referer): a form given back
    with a fresh token must not be one another site filled in."""
    source = request.headers.get("Origin") or request.referrer or ""
    return bool(source) and source != "null" and urlsplit(source).netloc == request.host


def trusted_svg(svg: str) -> Markup:
    """SVG from our own renderers (workflows/diagram.py, workflows/charts.py), which escape every text they draw:
    safe to inline in a page."""
    return Markup(svg)  # noqa: S704


class Pagination:
    """What templates/_pagination.html needs: the page shown, how many pages, how many rows in all."""

    def __init__(self, page: int, total: int, per_page: int) -> None:
        self.page, self.total = page_within(page, total, per_page), total
        self.pages = page_count(total, per_page)


def refusal_on_fields(form: Any, error: WorkflowError) -> list[str]:
    """A refused request shown where it belongs: each problem on the form field it names. Returns what goes at the
    top of the page: the refusal itself and the problems that name no field of this form."""
    top = [translated(error)]
    if isinstance(error, Invalid):
        for problem in error.problems:
            field = getattr(form, problem.field or "", None)
            if field is not None and hasattr(field, "errors"):
                field.errors = [*field.errors, problem_text(problem)]
            else:
                top.append(problem_text(problem))
    return top


def running_case(error: WorkflowError) -> int | None:
    """The case a start was refused for, when the refusal is "one is already running": the page links to it, so the
    officer opens that case instead of looking for it."""
    found = error.message_args.get("instance_id") if isinstance(error, Conflict) else None
    return found if isinstance(found, int) else None
