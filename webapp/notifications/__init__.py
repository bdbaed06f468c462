"""In-app notifications: new tasks, returns for revision, deadlines, the leaders' weekly digest of overdue work;
its schedule (OVERDUE_DIGEST_WEEKDAY, OVERDUE_DIGEST_HOUR: checked when the app starts)."""

from __future__ import annotations

from flask import Flask, current_app

from workflows.rules.overdue_digest import DigestSchedule

DIGEST_SCHEDULE_KEY = "canbo_overdue_digest_schedule"


def digest_schedule(app: Flask | None = None) -> DigestSchedule:
    """When the worker sends the weekly digest of overdue work, as checked when the app started."""
    return (app or current_app).extensions[DIGEST_SCHEDULE_KEY]
