"""Waiting for a database that is away: `canbo worker` at start and at every poll, `canbo serve` before it listens
(docs/deploy.md, "When the database goes away"; decisions 0046, 0108)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

T = TypeVar("T")

# Between tries while the database is away: doubling from the poll interval up to this, so a long outage costs a
# log line a minute, and the process is back within a minute of the database.
RETRY_CAP_SECONDS = 60.0


def database_away(error: DBAPIError) -> bool:
    """A database restarting, failing over or unreachable, or SQLite locked by a long import: worth waiting for. A
    worker that exits instead stops every deadline, escalation and notification, and nobody is told. A missing
    schema is not waited for: only an operator fixes that."""
    if error.connection_invalidated:
        return True
    said = str(error.orig)
    return isinstance(error, OperationalError) and "no such table" not in said


def first_line(error: DBAPIError) -> str:
    said = str(error.orig).strip()
    return said.splitlines()[0] if said else type(error.orig).__name__


class DatabaseWait:
    """Counts the failed tries of one outage and says each, with the wait before the next: twice `interval`, doubling
    up to RETRY_CAP_SECONDS."""

    def __init__(self, interval: float, say: Callable[[str], None]) -> None:
        self.interval = interval
        self.say = say
        self.failures = 0

    def failed(self, error: DBAPIError) -> float:
        """The seconds to wait before the next try; `error` is said."""
        self.failures += 1
        delay = min(self.interval * 2 ** min(self.failures, 10), RETRY_CAP_SECONDS)
        self.say(f"database unavailable ({first_line(error)}): try {self.failures} failed, the next in {delay:.1f} s")
        return delay

    def succeeded(self) -> None:
        if self.failures:
            plural = "y" if self.failures == 1 else "ies"
            self.say(f"database available again after {self.failures} failed tr{plural}")
            self.failures = 0


def until_reached(attempt: Callable[[], T], wait: DatabaseWait) -> T:
    """What `attempt` returns once the database lets it run; an error that is not the database being away is raised."""
    while True:
        try:
            result = attempt()
        except DBAPIError as error:
            if not database_away(error):
                raise
            time.sleep(wait.failed(error))
            continue
        wait.succeeded()
        return result
