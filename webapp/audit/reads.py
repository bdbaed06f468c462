"""Logging reads of personal records and histories from the views that show them (workflows.inspection.reads)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from urllib.parse import urlencode

from flask import request
from flask_login import current_user

from webapp.extensions import db
from workflows.db import transaction
from workflows.inspection.reads import LIST_OBJECT_ID, ViewedObject, record_view


@contextmanager
def read_logged(kind: ViewedObject, object_id: int, unit_id: int | None, detail: str | None = None) -> Iterator[None]:
    """The answer built inside the block is read in the transaction that logs the read, committed once the answer is
    built and before it is sent: a read that was shown is a read that is logged, and an answer whose log could not
    be committed is never sent (the failed commit answers 503). One transaction, where logging first and then
    reading was two (a BEGIN and a ROLLBACK more on every page, issue #9)."""
    session = db.session
    with transaction(session, keep_loaded=True):
        record_view(session, current_user, kind, object_id, unit_id, detail)
        # Only the log may be committed here: a change to what the page read is a bug, not something to save with
        # it. Without autoflush such a change stays pending, where it is seen, instead of being written unseen.
        with session.no_autoflush:
            yield
        if session.new or session.dirty or session.deleted:
            raise RuntimeError(f"building the answer for {kind} {object_id} changed what it read")


def list_export_logged(kind: ViewedObject, unit_id: int | None) -> AbstractContextManager[None]:
    """`read_logged` for a list exported as a file (decision 0137): the reader's query string, the page number left
    out, says which list it was; the rows are streamed after the log is committed."""
    shown = [(name, value) for name, value in request.args.items(multi=True) if name != "page"]
    return read_logged(kind, LIST_OBJECT_ID, unit_id, urlencode(shown))
