"""The one clock every workflow service reads.

Deadlines are the heart of these procedures, and tests must be able to move time forward: services,
the timer worker and SpiffWorkflow's timer evaluation all read `now()` from here. Production never sets it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, tzinfo

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer

_lock = threading.Lock()
_frozen_at: datetime | None = None


def now() -> datetime:
    """Aware UTC datetime."""
    frozen = _frozen_at
    return frozen if frozen is not None else datetime.now(UTC)


def utcnow_naive() -> datetime:
    """Naive UTC, as stored in database columns (SQLite keeps no time zone)."""
    return now().replace(tzinfo=None)


def set_now(moment: datetime | None) -> None:
    """Freeze the clock at `moment` (aware, or naive meaning UTC); None returns to real time."""
    global _frozen_at
    if moment is not None and moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    with _lock:
        _frozen_at = moment.astimezone(UTC) if moment is not None else None


def advance(delta: timedelta) -> datetime:
    """Move a frozen clock forward (freezing it at real time first if needed)."""
    set_now(now() + delta)
    return now()


@contextmanager
def frozen(moment: datetime) -> Iterator[None]:
    previous = _frozen_at
    set_now(moment)
    try:
        yield
    finally:
        set_now(previous)


class _ClockAwareDatetime(datetime):
    """SpiffWorkflow's timer module calls `datetime.now(timezone.utc)`; route that through our clock."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        current = now()
        if tz is None:
            return current.astimezone().replace(tzinfo=None)
        return current.astimezone(tz)


_spiff_timer.datetime = _ClockAwareDatetime
