"""gunicorn settings used by `canbo serve` (the command line there sets workers and bind)."""

from __future__ import annotations

import gc
import os
from typing import Any

from gunicorn.glogging import Logger

# Our own JSON request line replaces gunicorn's access log (CANBO_LOG_FORMAT=json).
accesslog = None


class WithoutAccessLines(Logger):
    """gunicorn's logger, minus the access line. The app writes its own line for every request (request id, user,
    instance, CPU); gunicorn's would be a second one. With a `logconfig_dict` set, gunicorn also built that line on
    every request (its atoms and a log record) only for no handler to write it: 1.4 % of the workers' time in the
    load's mix (decision 0124)."""

    @property
    def access_log_enabled(self) -> bool:
        return False

    def access(self, resp: Any, req: Any, environ: Any, request_time: Any) -> None:
        return None


logger_class = WithoutAccessLines


def _log_config(log_format: str) -> dict[str, Any]:
    """gunicorn's own lines (its master and workers: starting, a worker booted, timed out, replaced) as the app's JSON
    lines on stderr, so that every line `canbo serve` writes is one JSON object (decision 0108). Empty: gunicorn's
    plain text (CANBO_LOG_FORMAT=text)."""
    if log_format not in ("", "json"):
        return {}
    stderr = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "workflows.production.logs.JsonLineFormatter"}},
        "handlers": {"stderr": stderr},
        "root": {"level": "INFO", "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {
                "level": "INFO",
                "handlers": ["stderr"],
                "propagate": False,
                "qualname": "gunicorn.error",
            },
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False, "qualname": "gunicorn.access"},
        },
    }


logconfig_dict = _log_config(os.environ.get("CANBO_LOG_FORMAT", "json"))
# A completion is short; a worker stuck this long is killed and replaced by the master.
timeout = 60
graceful_timeout = 30
# Restart workers now and then so a slow leak cannot grow without bound; jitter keeps them from restarting together.
max_requests = 20000
max_requests_jitter = 2000
# The app is loaded once, in the master, and every worker is forked from it (decision 0041): the workers share the
# memory of what it loaded (four workers: 220 MB in all instead of 470), a replacement worker serves at once instead
# of importing the app again, and the same CPU answered 2-4 % more requests (old and new measured at once). New code
# therefore needs a restart of the service; SIGHUP only replaces the workers.
preload_app = True


def when_ready(server: Any) -> None:
    """In the master, once the app is loaded and before the first worker is forked."""
    app = server.app.wsgi()
    log_configuration_warnings(app)
    prepare_for_fork(app)


def log_configuration_warnings(app: Any) -> None:
    """Once per start of the service, in its log: a setting whose absence makes a feature refuse later (decision 0082:
    exports without the signing key), so the operator reads it before an auditor meets the refusal."""
    import logging

    from webapp.audit.signing import missing_key_warning

    with app.app_context():
        if warning := missing_key_warning():
            logging.getLogger("webapp.audit.signing").warning(warning.removeprefix("warning: "))


def prepare_for_fork(app: Any) -> None:
    """Leave the master's copy of the app as every worker should start from it: templates compiled, no database
    connection (loading may have used one, to deploy the bundled procedures: a connection shared by two processes
    mixes their conversations with the server), and what was loaded frozen out of the collector's reach, so that
    a collection in a worker does not touch — and so copy — the pages it shares with the master."""
    from webapp.extensions import db

    compile_templates(app)
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()
    gc.collect()
    gc.freeze()


def post_fork(server: Any, worker: Any) -> None:
    """A worker opens its own connections: forget, without closing them, any the master's pool still held."""
    from webapp.extensions import db

    with worker.app.wsgi().app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)


def post_worker_init(worker: Any) -> None:
    app = getattr(worker, "wsgi", None)
    if app is not None:
        compile_templates(app)
    # The app, its models and its libraries are loaded by now and live as long as the worker. Frozen, they are left
    # out of every later collection: a full collection of a warmed worker walked them all, 130-240 ms that a request
    # waited through (decision 0031). The master froze what it loaded before forking; this takes what the worker's
    # own start added.
    gc.collect()
    gc.freeze()


def compile_templates(app: Any) -> None:
    """Every page template compiled before the worker serves: otherwise the first request for each page in each
    worker compiles it (60 templates, 0.3 s of a worker's CPU, again after every restart), and the compiled code
    would be left out of the freeze below."""
    environment = app.jinja_env
    for name in environment.list_templates(filter_func=lambda name: name.endswith(".html")):
        environment.get_template(name)


def child_exit(server: Any, worker: Any) -> None:
    # A dead worker's live gauges must stop counting; its counters and histograms stay summed.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
