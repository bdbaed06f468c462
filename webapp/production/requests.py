"""Per request: an id (the caller's X-Request-Id when it is sane, else a new one, echoed back), one JSON log line
(request id, user id, instance id, status, duration, CPU), the latency histogram, the CPU counter and the completion
counter; and a database that cannot be reached answers 503 instead of 500 (the pool reconnects on the next request).

The CPU is the worker process's own (`time.process_time`) from the request's start to its answer: what sizing needs
(the app is CPU-bound, decision 0039), where the duration also counts the waits for the database and for a core."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from flask import Flask, g, request
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import inspect
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.wrappers import Response

from webapp.extensions import db
from webapp.production.metrics import COMPLETION_ENDPOINTS, AppMetrics
from webapp.production.views import METRICS_KEY
from workflows.engine.store import InstanceSnapshot
from workflows.errors import N_

log = logging.getLogger("canbo.request")

_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
UNAVAILABLE = N_("The service is temporarily unavailable. Please try again shortly.")


def note_advance(result: Any, instance_id: int | None) -> None:
    """Called by webapp.http.act after a commit: which instance the request moved (for the log and the counter)."""
    if isinstance(result, InstanceSnapshot):
        g.setdefault("advanced", []).append((result.id, result.process_id))
    elif instance_id is not None:
        g.setdefault("advanced", []).append((instance_id, None))


def _user_id(user: Any) -> int | None:
    """The signed-in user's id without touching the database: after a rollback the object is expired and reading
    its attributes would query (and fail again while the database is away)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    identity = inspect(user).identity
    return int(identity[0]) if identity else None


def init_app(app: Flask) -> None:
    from workflows.clock import utcnow_naive
    from workflows.production.figures import read_figures
    from workflows.production.heartbeat import worker_forget_after

    metrics = AppMetrics(
        lambda: read_figures(db.session, utcnow_naive(), worker_forget_after(app.config)),
        email_configured=bool(app.config.get("SMTP_HOST")),
    )
    app.extensions[METRICS_KEY] = metrics

    @app.before_request
    def start() -> None:
        g.request_started = time.perf_counter()
        g.request_cpu_started = time.process_time()
        given = request.headers.get("X-Request-Id", "")
        g.request_id = given if _SANE_REQUEST_ID.match(given) else uuid.uuid4().hex

    @app.after_request
    def finish(response: Response) -> Response:
        # The request and g once, not through their proxies at each use: every request passes here (decision 0101).
        current = request._get_current_object()  # type: ignore[attr-defined]
        state = g._get_current_object()  # type: ignore[attr-defined]
        started = state.get("request_started")
        if started is None:
            return response
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - state.request_cpu_started
        endpoint = current.endpoint or "unmatched"
        method, path, status = current.method, current.path, response.status_code
        metrics.request_seconds.labels(endpoint, method).observe(seconds)
        metrics.request_cpu_seconds.labels(endpoint).inc(cpu_seconds)
        advanced = state.get("advanced", [])
        if endpoint in COMPLETION_ENDPOINTS and status < 400:
            for _instance_id, process_id in advanced:
                metrics.completions.labels(process_id or "unknown").inc()
        user_id = _user_id(state.get("_login_user"))
        instance_id = advanced[0][0] if advanced else (current.view_args or {}).get("instance_id")
        response.headers["X-Request-Id"] = state.request_id
        log.info(
            "%s %s %s",
            method,
            path,
            status,
            extra={
                "event": "request",
                "request_id": state.request_id,
                "method": method,
                "path": path,
                "endpoint": endpoint,
                "status": status,
                "user_id": user_id,
                "instance_id": instance_id,
                "process_id": advanced[0][1] if advanced else None,
                "duration_ms": round(seconds * 1000, 2),
                "cpu_ms": round(cpu_seconds * 1000, 2),
            },
        )
        return response

    def unavailable(error: Exception) -> Any:
        from webapp.errors import _respond as respond
        from webapp.errors import wants_json

        # The connection is gone or the server is restarting: nothing was committed. SQLAlchemy has already
        # invalidated the pool's connections, so the next request connects afresh.
        try:
            db.session.rollback()
        except Exception:  # the rollback on a dead connection can fail too; the session is discarded anyway
            db.session.remove()
        # Nothing below may touch the database: not the signed-in user (expired by the rollback, or never loaded),
        # whose language the message would otherwise be chosen by, nor the page's navigation counts. A query here
        # fails again and turns the 503 into a 500 (tests/resilience/test_database_restart.py).
        g.database_unavailable = True
        log.warning("database unavailable: %s", type(error).__name__, extra={"error": str(error).splitlines()[0]})
        message = _(UNAVAILABLE)
        if wants_json():
            answer, _status = respond(503, message)  # the JSON answer reads nothing from the database
        else:
            # Straight from the Jinja environment: Flask's context processors (navigation counts, the user's
            # menus) would query the database.
            locale = str(get_locale() or "vi")
            answer = app.jinja_env.get_template("errors/unavailable.html").render(message=message, locale=locale)
        response = app.make_response((answer, 503))
        response.headers["Retry-After"] = "5"
        return response

    @app.teardown_appcontext
    def close_session(_error: BaseException | None) -> None:
        # Runs before Flask-SQLAlchemy's own teardown. A connection cut after the response was built makes the
        # session's closing ROLLBACK fail; that must not turn a finished answer into a 500 (nothing is committed
        # by a rollback anyway, and the pool discards the dead connection).
        try:
            db.session.remove()
        except (OperationalError, InterfaceError) as error:
            log.warning("connection lost while closing the session", extra={"error": str(error).splitlines()[0]})
            db.session.registry.clear()

    # OperationalError: connection refused or cut, server shutting down, lock timeouts; InterfaceError: a
    # connection already closed under us. Programming and integrity errors stay 500s: retrying would not help.
    app.register_error_handler(OperationalError, unavailable)
    app.register_error_handler(InterfaceError, unavailable)
