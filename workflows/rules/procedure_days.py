"""The days a step records — a meeting held, a cadre's arrival, a decision taking effect — against the procedure's
own span (decision 0136). Pure functions of dates: the hooks give them the day the procedure started (in Vietnam's
time) and today.

No rule the domain reference read dates these days [U]; a day outside the span can only be mistyped ("2020-01-01" for
a conference of a procedure started in 2027), and a mistyped effective date is written to the cadre's record with a
term already over. Each function returns which bound the day breaks (`BEFORE`, `AFTER_TODAY`, `TOO_FAR_AHEAD`), or
None when it may be recorded; the hooks word the problem on the field.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from enum import StrEnum

from workflows.errors import N_, Problem
from workflows.rules.retirement import add_months

__all__ = ["DayBound", "effective_day_bound", "meeting_day_problem", "past_day_bound", "start_day"]


def start_day(started_dt: datetime, zone: tzinfo) -> date:
    """The day a procedure started (its `started_dt`, stored in UTC without a zone) in the province's time."""
    return started_dt.replace(tzinfo=UTC).astimezone(zone).date()


class DayBound(StrEnum):
    BEFORE = "before"  # before the earliest day it may be (the procedure's start, a decision's effective date)
    AFTER_TODAY = "after_today"  # a day that has not come yet, for something already done
    TOO_FAR_AHEAD = "too_far_ahead"  # further ahead of today than the setting allows


# [U] Something done (a meeting held, an arrival) is dated from the earliest day it may be to today.
def past_day_bound(day: date, *, earliest: date, today: date) -> DayBound | None:
    if day > today:
        return DayBound.AFTER_TODAY
    if day < earliest:
        return DayBound.BEFORE
    return None


# [U] A decision takes effect on or after the day its procedure started, and at most `within_months` after today
# (AppointmentPolicy.decision_effective_within_months): no rule bounds it; the window catches a mistyped year.
def effective_day_bound(day: date, *, started_on: date, today: date, within_months: int) -> DayBound | None:
    if day < started_on:
        return DayBound.BEFORE
    if day > add_months(today, within_months):
        return DayBound.TOO_FAR_AHEAD
    return None


def meeting_day_problem(day: date | None, field: str, *, started_on: date, today: date) -> Problem | None:
    """What is wrong with the day a meeting of the procedure was held (a conference, a talk with the cadre), on its
    field: missing or still to come, or before the procedure started; None when it may be recorded."""
    bound = None if day is None else past_day_bound(day, earliest=started_on, today=today)
    if day is None or bound == DayBound.AFTER_TODAY:
        return Problem("Enter the day of the meeting; it cannot be in the future.", field=field)
    if bound == DayBound.BEFORE:
        return Problem(
            N_("The meeting cannot have been held before the procedure started (%(day)s)."),
            field=field,
            message_args={"day": started_on.strftime("%d/%m/%Y")},
        )
    return None
