"""Where the report pages read: a PostgreSQL streaming replica when REPORTS_DATABASE_URL names one, else the app's
own database (decision 0125).

The targets dashboard, its drill-downs and their exports count over every cadre, task and result in the reader's
units: the heaviest reads of the app, and none of them urgent — a figure a few seconds behind the primary is the
same figure. On a replica they take nothing from the completions on the primary. Everything else of a report page
stays on the primary: the signed-in user, the menu, the sign-in itself (it counts failed attempts) — a hot standby
refuses every write, so only what reads nothing but figures goes there. The replica's session is read-only on our
side too (`default_transaction_read_only`), so a report that began to write would fail on a primary given as the
replica as it would on the replica itself.
"""

from __future__ import annotations

from contextlib import suppress

from flask import Flask, current_app, g
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

from webapp.config import ConfigError, database_url
from webapp.extensions import db

REPORTS_BIND = "reports"
_SESSION = "_reports_session"


def init_app(app: Flask) -> None:
    """Before `db.init_app`: the replica becomes one of Flask-SQLAlchemy's binds (its own engine and pool)."""
    given = str(app.config.get("REPORTS_DATABASE_URL") or "").strip()
    if not given:
        return
    url = database_url(given, "REPORTS_DATABASE_URL")
    if not url.startswith("postgresql"):
        raise ConfigError("REPORTS_DATABASE_URL must name a PostgreSQL streaming replica of DATABASE_URL's database")
    options = app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {})
    app.config["SQLALCHEMY_BINDS"] = {
        **app.config.get("SQLALCHEMY_BINDS", {}),
        REPORTS_BIND: {
            "url": url,
            **options,
            "connect_args": {**options.get("connect_args", {}), "options": "-c default_transaction_read_only=on"},
        },
    }
    app.teardown_appcontext(_close)


def _has_replica() -> bool:
    return REPORTS_BIND in current_app.config.get("SQLALCHEMY_BINDS", {})


def reports_session() -> Session:
    """The session the report queries run in: the replica's (one per request), or the app's own session."""
    if not _has_replica():
        return db.session  # type: ignore[return-value]
    session: Session | None = g.get(_SESSION)
    if session is None:
        session = Session(db.engines[REPORTS_BIND], expire_on_commit=False)
        setattr(g, _SESSION, session)
    return session


def _close(_error: BaseException | None) -> None:
    session: Session | None = g.pop(_SESSION, None)
    if session is None:
        return
    # The replica went away after the answer was built: its connection is discarded, and nothing was written.
    with suppress(OperationalError, InterfaceError):
        session.close()
