"""The health report behind GET /healthz: the database answers, its schema is at the code's migration head, and a
worker has beaten recently. Each part is reported on its own so an operator sees which one failed."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from workflows.migrate import alembic_config
from workflows.production.figures import read_figures
from workflows.production.heartbeat import FORGET_AFTER

log = logging.getLogger(__name__)

DATABASE = "database"
MIGRATIONS = "migrations"
WORKER = "worker"
ALL_CHECKS = (DATABASE, MIGRATIONS, WORKER)


@dataclass
class HealthReport:
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(check["ok"] for check in self.checks.values())

    def as_json(self) -> dict[str, Any]:
        return {"status": "ok" if self.ok else "fail", "checks": self.checks}


@cache
def migration_heads() -> tuple[str, ...]:
    """The heads of the code's migration scripts; they never change while the process runs."""
    from alembic.script import ScriptDirectory  # not at import: only /healthz and the schema checks read it

    return tuple(sorted(ScriptDirectory.from_config(alembic_config()).get_heads()))


def health(
    session: Session,
    now: datetime,
    *,
    worker_max_age: float,
    worker_forget_after: timedelta = FORGET_AFTER,
    checks: tuple[str, ...] = ALL_CHECKS,
) -> HealthReport:
    report = HealthReport()
    try:
        session.execute(text("SELECT 1"))
    except Exception as error:  # any failure to reach the database is the answer, not a crash of the check
        try:
            session.rollback()
        except Exception:  # the connection is gone; the session is discarded at the end of the request anyway
            log.debug("rollback after a failed health query failed too", exc_info=True)
        report.checks[DATABASE] = {"ok": False, "error": type(error).__name__}
        for name in checks:
            if name != DATABASE:
                report.checks[name] = {"ok": False, "error": "database unreachable"}
        return report
    if DATABASE in checks:
        report.checks[DATABASE] = {"ok": True}
    if MIGRATIONS in checks:
        # Read directly: alembic's MigrationContext logs two lines per call, too chatty for a probe every few seconds.
        current = tuple(session.scalars(text("SELECT version_num FROM alembic_version")))
        heads = migration_heads()
        report.checks[MIGRATIONS] = {
            "ok": tuple(sorted(current)) == heads,
            "current": list(current),
            "head": list(heads),
        }
    if WORKER in checks:
        figures = read_figures(session, now, worker_forget_after)
        age = figures.freshest_worker_age()
        report.checks[WORKER] = {
            "ok": age is not None and age <= worker_max_age,
            "heartbeat_age_seconds": None if age is None else round(age, 1),
            "max_age_seconds": worker_max_age,
            "workers_seen": len(figures.workers),
        }
    session.rollback()
    return report
