"""`workflows.rules.procedure_days` (decision 0136): a day recorded at a step against the procedure's own span — a
meeting or an arrival from the earliest day it may be to today, a decision's effective date from the procedure's
start to so many months after today — at each bound."""

from __future__ import annotations

from datetime import date

import pytest

from workflows.rules.procedure_days import DayBound, effective_day_bound, meeting_day_problem, past_day_bound

STARTED = date(2027, 3, 1)
TODAY = date(2027, 4, 15)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2020, 1, 1), DayBound.BEFORE),  # the finding: seven years before the procedure started
        (date(2027, 2, 28), DayBound.BEFORE),
        (STARTED, None),
        (TODAY, None),
        (date(2027, 4, 16), DayBound.AFTER_TODAY),
    ],
)
def test_something_done_is_dated_from_the_earliest_day_to_today(day: date, expected: DayBound | None) -> None:
    assert past_day_bound(day, earliest=STARTED, today=TODAY) is expected


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2019, 1, 1), 12, DayBound.BEFORE),  # the finding: a term already over written on the record
        (date(2027, 2, 28), 12, DayBound.BEFORE),
        (STARTED, 12, None),  # taking effect before it is entered, as long as the procedure had started
        (TODAY, 12, None),
        (date(2028, 4, 15), 12, None),
        (date(2028, 4, 16), 12, DayBound.TOO_FAR_AHEAD),
        (date(2028, 4, 16), 13, None),
        (date(2027, 5, 16), 1, DayBound.TOO_FAR_AHEAD),
    ],
)
def test_a_decision_takes_effect_from_the_start_to_so_many_months_ahead(
    day: date, months: int, expected: DayBound | None
) -> None:
    assert effective_day_bound(day, started_on=STARTED, today=TODAY, within_months=months) is expected


@pytest.mark.parametrize(
    ("day", "message"),
    [
        (None, "Enter the day of the meeting; it cannot be in the future."),
        (date(2027, 4, 16), "Enter the day of the meeting; it cannot be in the future."),
        (date(2020, 1, 1), "The meeting cannot have been held before the procedure started (%(day)s)."),
        (STARTED, None),
    ],
)
def test_a_meeting_day_is_refused_on_its_field_with_the_start_day(day: date | None, message: str | None) -> None:
    problem = meeting_day_problem(day, "held_on", started_on=STARTED, today=TODAY)
    if message is None:
        assert problem is None
    else:
        assert problem is not None and (problem.message, problem.field) == (message, "held_on")
        assert problem.message_args == ({"day": "01/03/2027"} if "%(day)s" in message else {})
