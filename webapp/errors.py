"""Error pages and JSON errors: a person sees a Vietnamese page, other software a JSON object."""

from __future__ import annotations

from flask import Flask, jsonify, render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from webapp.http import NOT_FOUND, problem_text, status_for, translated, wants_json
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


def _respond(status: int, message: str, problems: list[dict[str, str | None]] | None = None):  # type: ignore[no-untyped-def]
    if wants_json():
        body: dict[str, object] = {"error": message, "status": status}
        if problems:
            body["problems"] = problems
        return jsonify(body), status
    return render_template("errors/error.html", status=status, message=message), status


def csrf_refused():  # type: ignore[no-untyped-def]
    """A form refused for its CSRF token (expired, from another sign-in, or not from this site): nothing was done."""
    return _respond(400, _("The form expired or did not come from this site. Reload the page and try again."))


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
