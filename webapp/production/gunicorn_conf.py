"""gunicorn settings used by `canbo serve` (the command line there sets workers and bind)."""

from __future__ import annotations

import gc
from typing import Any

# Our own JSON request line replaces gunicorn's access log (CANBO_LOG_FORMAT=json).
accesslog = None
# A completion is short; a worker stuck this long is killed and replaced by the master.
timeout = 60
graceful_timeout = 30
# Restart workers now and then so a slow leak cannot grow without bound; jitter keeps them from restarting together.
max_requests = 20000
max_requests_jitter = 2000


def post_worker_init(worker: Any) -> None:
    app = getattr(worker, "wsgi", None)
    if app is not None:
        compile_templates(app)
    # The app, its models and its libraries are loaded by now and live as long as the worker. Frozen, they are left
    # out of every later collection: a full collection of a warmed worker walked them all, 130-240 ms that a request
    # waited through (decision 0031).
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
