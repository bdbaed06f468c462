"""The weekly digest of what is overdue in a leader's unit (decision 0066). Pure: plain data in, dates and text out.

The worker sends it once a week, at a configurable weekday and local hour (default Monday 07:00 in the app's time
zone). A week is named by the local date of its scheduled run: the worker sends a week once, the first time it
polls at or after that moment — a worker that was stopped over the run catches up when it comes back, but only
with the latest week, never with several.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from workflows.errors import Invalid, Problem
from workflows.rules.settings import is_whole

__all__ = [
    "DEFAULT_SCHEDULE",
    "DIGEST_LIMIT",
    "DigestSchedule",
    "OverdueTask",
    "days_overdue",
    "digest_text",
    "week_run",
]

# How many tasks the notification lists; the rest are counted ("… và M việc khác").
DIGEST_LIMIT = 10


@dataclass(frozen=True)
class DigestSchedule:
    weekday: int = 0  # Monday = 0 … Sunday = 6, as date.weekday()
    hour: int = 7  # local hour, 0–23

    @classmethod
    def from_values(cls, weekday: object, hour: object) -> DigestSchedule:
        """The schedule from settings (ints, or their text from the environment); Invalid names every problem."""
        problems: list[Problem] = []
        day = _whole(weekday, 0, 6, "weekday", problems)
        at = _whole(hour, 0, 23, "hour", problems)
        if problems:
            raise Invalid("the overdue digest's schedule is not valid", problems)
        return cls(weekday=day, hour=at)


DEFAULT_SCHEDULE = DigestSchedule()


def _whole(value: object, low: int, high: int, field: str, problems: list[Problem]) -> int:
    text = value.strip() if isinstance(value, str) else None
    number = int(text) if text is not None and text.isascii() and text.isdigit() else value
    if not is_whole(number):
        problems.append(Problem("expected a whole number", field=field))
        return low
    assert isinstance(number, int)
    if not low <= number <= high:
        problems.append(Problem("the value is outside the allowed range", field=field))
        return low
    return number


def week_run(now: datetime, zone: tzinfo, schedule: DigestSchedule = DEFAULT_SCHEDULE) -> tuple[date, datetime]:
    """The latest scheduled run at or before `now` (aware, or naive UTC): its local date, which names the week, and
    the moment itself in naive UTC (as the database stores times)."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    local = now.astimezone(zone)
    day = local.date() - timedelta(days=(local.weekday() - schedule.weekday) % 7)
    run_at = datetime.combine(day, time(schedule.hour), zone)
    if run_at > local:
        day -= timedelta(days=7)
        run_at = datetime.combine(day, time(schedule.hour), zone)
    return day, run_at.astimezone(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class OverdueTask:
    task_id: int
    name: str
    person: str | None  # who holds it; None: nobody has taken it from the group yet
    process_name: str
    instance_id: int
    due_dt: datetime  # naive UTC


def days_overdue(due_dt: datetime, now: datetime) -> int:
    """Whole days past the deadline (both naive UTC); 0 while less than a day late."""
    return max(0, (now - due_dt).days)


def digest_text(tasks: Sequence[OverdueTask], now: datetime, *, limit: int = DIGEST_LIMIT) -> tuple[str, str]:
    """Title and body: the count, then the longest overdue first, at most `limit` of them, and how many more."""
    ordered = sorted(tasks, key=lambda t: (t.due_dt, t.task_id))
    title = f"Việc quá hạn trong đơn vị tuần này: {len(ordered)} việc"
    lines = [_line(task, now) for task in ordered[:limit]]
    if len(ordered) > limit:
        lines.append(f"… và {len(ordered) - limit} việc khác")
    return title, "\n".join(lines)


def _line(task: OverdueTask, now: datetime) -> str:
    days = days_overdue(task.due_dt, now)
    late = f"quá hạn {days} ngày" if days else "quá hạn chưa đến 1 ngày"
    person = task.person or "chưa có người nhận"
    return f"- {task.name} — {person} — {task.process_name}, hồ sơ số {task.instance_id} — {late}"
