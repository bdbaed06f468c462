"""Prometheus metrics. Two sources:

* per process (request latency, task completions): prometheus_client counters; under `canbo serve` every gunicorn
  worker writes them to PROMETHEUS_MULTIPROC_DIR and a scrape of any worker sums them all;
* from the database (open tasks by process, overdue tasks, due timers and their lag, worker heartbeats): read at
  scrape time, so every app host answers the same figures (workflows/production/figures.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from workflows.production.figures import Figures

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# The views whose success means tasks were completed (one per advanced instance).
COMPLETION_ENDPOINTS = frozenset({"tasks.submit", "api.complete_task", "inbox.bulk_approve"})


class DatabaseCollector:
    def __init__(self, read: Callable[[], Figures], *, email_configured: bool = False) -> None:
        self._read = read
        self._email_configured = email_configured

    def describe(self) -> list[Metric]:
        return []  # figures are read at scrape time only, never at registration

    def collect(self) -> Iterator[Metric]:
        figures = self._read()
        open_tasks = GaugeMetricFamily("canbo_open_tasks", "Open inbox tasks by process.", labels=["process"])
        for process_id, count in figures.open_tasks_by_process.items():
            open_tasks.add_metric([process_id], count)
        yield open_tasks
        yield GaugeMetricFamily("canbo_overdue_tasks", "Open tasks past their due time.", value=figures.overdue_tasks)
        yield GaugeMetricFamily(
            "canbo_due_timers", "Running instances whose next timer is due.", value=figures.due_timers
        )
        yield GaugeMetricFamily(
            "canbo_timer_lag_seconds",
            "How long the oldest due timer has waited for a worker.",
            value=figures.timer_lag_seconds,
        )
        age = GaugeMetricFamily(
            "canbo_worker_heartbeat_age_seconds", "Seconds since each worker's last poll.", labels=["worker"]
        )
        jobs = CounterMetricFamily("canbo_worker_jobs", "Jobs each worker has done.", labels=["worker"])
        for worker in figures.workers:
            age.add_metric([worker.worker_id], worker.age_seconds)
            jobs.add_metric([worker.worker_id], worker.jobs)
        yield age
        yield jobs
        # Without SMTP every notification waits for e-mail (sent once it is set up): an alert on the backlog is
        # conditioned on this, so an install meant to notify in the app only does not page anyone.
        yield GaugeMetricFamily(
            "canbo_email_configured",
            "1 when SMTP_HOST is set and notifications are e-mailed, 0 when they wait (in-app notifications only).",
            value=1 if self._email_configured else 0,
        )
        yield GaugeMetricFamily(
            "canbo_emails_pending", "Notifications waiting to be e-mailed.", value=figures.emails_pending
        )
        yield GaugeMetricFamily(
            "canbo_emails_retrying",
            "Notifications whose e-mail failed at least once and will be tried again (SMTP unreachable or refusing).",
            value=figures.emails_retrying,
        )
        yield GaugeMetricFamily(
            "canbo_email_oldest_pending_age_seconds",
            "How long the oldest notification waiting to be e-mailed has waited.",
            value=figures.email_oldest_pending_seconds,
        )
        yield CounterMetricFamily(
            "canbo_emails_failed",
            "Notifications whose e-mail was given up after every try.",
            value=figures.emails_failed,
        )


class AppMetrics:
    def __init__(self, read_figures: Callable[[], Figures], *, email_configured: bool = False) -> None:
        multiprocess_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        self.registry = CollectorRegistry()
        # In multiprocess mode the values live in files shared by the workers; the registry sums them at scrape time.
        own = None if multiprocess_dir else self.registry
        self.request_seconds = Histogram(
            "canbo_http_request_duration_seconds",
            "Time to answer a request, by view.",
            ["endpoint", "method"],
            buckets=LATENCY_BUCKETS,
            registry=own,
        )
        # Summed per view, divided by the latency histogram's count: the CPU one request of that view costs.
        self.request_cpu_seconds = Counter(
            "canbo_http_request_cpu_seconds",
            "CPU time the app worker spent answering requests, by view.",
            ["endpoint"],
            registry=own,
        )
        self.completions = Counter(
            "canbo_task_completions", "Tasks completed through the app, by process.", ["process"], registry=own
        )
        if multiprocess_dir:
            os.makedirs(multiprocess_dir, exist_ok=True)
            MultiProcessCollector(self.registry, path=multiprocess_dir)
        self.registry.register(DatabaseCollector(read_figures, email_configured=email_configured))  # type: ignore[arg-type]

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
