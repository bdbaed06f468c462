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
    # The app, its models and its libraries are loaded by now and live as long as the worker. Frozen, they are left
    # out of every later collection: a full collection of a warmed worker walked them all, 130-240 ms that a request
    # waited through (decision 0031).
    gc.collect()
    gc.freeze()


def child_exit(server: Any, worker: Any) -> None:
    # A dead worker's live gauges must stop counting; its counters and histograms stay summed.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
