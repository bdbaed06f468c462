"""Logging reads of personal records and histories from the views that show them (workflows.inspection.reads)."""

from __future__ import annotations

from flask_login import current_user

from webapp.extensions import db
from workflows.db import transaction
from workflows.inspection.reads import ViewedObject, record_view


def log_read(kind: ViewedObject, object_id: int, unit_id: int | None) -> None:
    """Committed before the page is built: a read that was shown is a read that is logged. The page's objects,
    loaded a moment before, stay loaded (the log row changes none of them)."""
    with transaction(db.session, keep_loaded=True):
        record_view(db.session, current_user, kind, object_id, unit_id)
