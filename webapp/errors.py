"""Error pages and JSON errors: a person sees a Vietnamese page, other software a JSON object."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from flask import Flask, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from webapp.http import NOT_FOUND, problem_text, status_for, translated, wants_json
from webapp.number_fields import format_amount
from webapp.query_args import safe_next
from webapp.upload_limits import megabytes, request_limit
from workflows.errors import N_, Invalid, WorkflowError

MESSAGES = {
    400: N_("The request could not be understood."),
    403: N_("You do not have permission to do this."),
    404: NOT_FOUND,
    405: N_("This action is not allowed here."),
    409: N_("Someone else changed this meanwhile. Reload the page and try again."),
    413: N_("The upload is too large."),
    422: N_("The submitted data is not valid."),
    429: N_("Too many attempts. Please wait and try again."),
    500: N_("Something went wrong on our side. Nothing was saved; please try again."),
    503: N_("The service is temporarily unavailable. Please try again shortly."),
}
# What a person reads when a form's CSRF token is refused: most often a page left open past its sign-in.
FORM_EXPIRED = N_(
    "The form had expired or the page had been open too long; nothing was saved. Go back, reload the page and send "
    "it again."
)


def _respond(  # type: ignore[no-untyped-def]
    status: int, message: str, problems: list[dict[str, str | None]] | None = None, back: str | None = None
):
    if wants_json():
        body: dict[str, object] = {"error": message, "status": status}
        if problems:
            body["problems"] = problems
        return jsonify(body), status
    return render_template("errors/error.html", status=status, message=message, back=back), status


def page_left() -> str | None:
    """The page a refused form was sent from, as a local path to link back to; None unless the Referer is a page of
    this very site that answers GET (a form's own POST-only address would only answer 405)."""
    parts = urlsplit(request.referrer or "")
    root = request.script_root
    if parts.scheme not in ("http", "https") or parts.netloc != request.host or not parts.path.startswith(f"{root}/"):
        return None
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    if safe_next(target) != target:
        return None
    try:
        current_app.url_map.bind(request.host, script_name=root or None).match(
            unquote(parts.path[len(root) :]), method="GET"
        )
    except HTTPException:  # no such page, not one to GET, or only by a redirect
        return None
    return target


def csrf_refused():  # type: ignore[no-untyped-def]
    """A form refused for its CSRF token (expired, from another sign-in, or not from this site): nothing was done,
    for Flask-WTF refuses it before any view runs. The page says so in plain words and links back to the page the
    form was on when that is a page of this site (else to the inbox); other software gets the JSON error (decision
    0061)."""
    return _respond(400, _(FORM_EXPIRED), back=None if wants_json() else page_left())


def upload_too_large():  # type: ignore[no-untyped-def]
    """A form sent with more than the server accepts (MAX_CONTENT_LENGTH): nothing of it was read or saved. The page
    says the limit and leads back to the form, whose typed values the browser's history keeps (decision 0110)."""
    limit = request_limit()
    size = format_amount(megabytes(limit)) if limit else "?"
    return render_template("errors/upload_too_large.html", size=size, back=page_left()), 413


def init_app(app: Flask) -> None:
    @app.errorhandler(WorkflowError)
    def workflow_error(error: WorkflowError):  # type: ignore[no-untyped-def]
        problems = None
        if isinstance(error, Invalid):
            problems = [{"field": p.field, "message": problem_text(p)} for p in error.problems]
        return _respond(status_for(error), translated(error), problems)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):  # type: ignore[no-untyped-def]
        return csrf_refused()

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        status = error.code or 500
        if status == 413 and not wants_json():
            return upload_too_large()
        body, status = _respond(status, _(MESSAGES.get(status, error.description or "Error")))
        # What the exception says in headers stays said: a 405's Allow (RFC 9110 requires it), a 429's Retry-After.
        headers = [(name, value) for name, value in error.get_headers() if name.lower() != "content-type"]
        return body, status, headers

    @app.errorhandler(Exception)
    def unexpected(error: Exception):  # type: ignore[no-untyped-def]
        if app.testing:
            raise error  # let tests see the real failure
        app.logger.exception("unhandled error")
        return _respond(500, _(MESSAGES[500]))
