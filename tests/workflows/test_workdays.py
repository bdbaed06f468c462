"""Working days (NĐ 170 Điều 33 deadlines, domain rules §3.3, §8): weekends, holidays, swapped Saturdays."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from workflows.errors import Invalid
from workflows.rules.workdays import (
    DEFAULT_CALENDAR,
    DEFAULT_CALENDAR_CONFIG,
    HOLIDAYS_2026,
    HOLIDAYS_2027,
    WorkCalendar,
    fixed_holidays,
)

PLAIN = WorkCalendar(holidays=frozenset())


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 1, 1), False),  # Tết Dương lịch, Thursday
        (date(2026, 1, 2), False),  # Friday swapped …
        (date(2026, 1, 10), True),  # … with Saturday 10/1, worked
        (date(2026, 1, 11), False),  # an ordinary Sunday
        (date(2026, 1, 5), True),
        (date(2026, 2, 13), True),  # the Friday before Tết
        (date(2026, 2, 16), False),  # Tết Bính Ngọ, Monday to Friday
        (date(2026, 2, 20), False),
        (date(2026, 2, 23), True),
        (date(2026, 4, 26), False),  # Giỗ Tổ on a Sunday …
        (date(2026, 4, 27), False),  # … compensated on Monday
        (date(2026, 4, 28), True),
        (date(2026, 4, 30), False),
        (date(2026, 5, 1), False),
        (date(2026, 8, 22), True),  # Saturday worked for Monday 31/8
        (date(2026, 8, 31), False),
        (date(2026, 9, 1), False),
        (date(2026, 9, 2), False),
        (date(2026, 9, 3), True),
        (date(2027, 1, 1), False),
        (date(2027, 2, 5), False),  # giao thừa Đinh Mùi (provisional)
        (date(2027, 2, 11), False),
        (date(2027, 2, 12), True),
        (date(2027, 4, 16), False),  # Giỗ Tổ 2027, a Friday
        (date(2027, 5, 3), False),  # 1/5 on a Saturday, compensated on Monday
        (date(2028, 1, 3), False),  # beyond the lists: 1/1/2028 is a Saturday, compensated
        (date(2028, 1, 4), True),
    ],
)
def test_is_working_day(day: date, working: bool) -> None:
    assert DEFAULT_CALENDAR.is_working_day(day) is working


@pytest.mark.parametrize(
    ("start", "days", "deadline"),
    [
        (date(2026, 2, 12), 0, date(2026, 2, 12)),
        (date(2026, 2, 12), 1, date(2026, 2, 13)),
        (date(2026, 2, 12), 2, date(2026, 2, 23)),  # across the nine days of Tết
        (date(2026, 2, 12), 3, date(2026, 2, 24)),
        (date(2026, 2, 14), 1, date(2026, 2, 23)),  # received during Tết
        (date(2025, 12, 31), 1, date(2026, 1, 5)),
        (date(2026, 1, 9), 1, date(2026, 1, 10)),  # the swapped Saturday counts
        (date(2026, 4, 24), 1, date(2026, 4, 28)),
        (date(2026, 4, 29), 1, date(2026, 5, 4)),
        # The policy decision, 15 working days from a request received on Monday 9/2/2026 (NĐ 170 Đ33 k1b):
        # 10–13/2 (4), Tết, 23–27/2 (9), 2–6/3 (14), 9/3 (15).
        (date(2026, 2, 9), 15, date(2026, 3, 9)),
        # The whole process, 30 working days from Thursday 20/8/2026 (Đ33 k1c): 21/8, Saturday 22/8, 24–28/8 (7),
        # 31/8–2/9 off, 3–4/9 (9), four full weeks (29), Monday 5/10 (30).
        (date(2026, 8, 20), 30, date(2026, 10, 5)),
        (date(2026, 2, 23), -1, date(2026, 2, 13)),  # backwards across Tết
        (date(2026, 1, 5), -1, date(2025, 12, 31)),
    ],
)
def test_add_working_days(start: date, days: int, deadline: date) -> None:
    assert DEFAULT_CALENDAR.add_working_days(start, days) == deadline
    assert DEFAULT_CALENDAR.working_days_between(start, deadline) == days


def test_working_days_between_inverts_add_working_days() -> None:
    start = date(2025, 12, 20)
    for offset in range(0, 420, 7):
        day = start + timedelta(days=offset)
        for days in (0, 1, 5, 15, 30):
            deadline = DEFAULT_CALENDAR.add_working_days(day, days)
            assert DEFAULT_CALENDAR.working_days_between(day, deadline) == days
            assert DEFAULT_CALENDAR.is_working_day(deadline) or days == 0


@pytest.mark.parametrize(
    ("start", "end", "count"),
    [
        (date(2026, 2, 13), date(2026, 2, 13), 0),
        (date(2026, 2, 13), date(2026, 2, 22), 0),  # all of Tết
        (date(2026, 2, 13), date(2026, 2, 23), 1),
        (date(2026, 2, 23), date(2026, 2, 13), -1),
        (date(2026, 1, 1), date(2026, 1, 31), 21),  # 22 weekdays less 1/1 (the start) and 2/1, plus 10/1
    ],
)
def test_working_days_between(start: date, end: date, count: int) -> None:
    assert DEFAULT_CALENDAR.working_days_between(start, end) == count


@pytest.mark.parametrize(
    ("first", "last"),
    [
        # The 2026 breaks as announced: 4 + 9 + 3 + 4 + 5 = 25 days off, weekends included.
        (date(2026, 1, 1), date(2026, 1, 4)),
        (date(2026, 2, 14), date(2026, 2, 22)),
        (date(2026, 4, 25), date(2026, 4, 27)),
        (date(2026, 4, 30), date(2026, 5, 3)),
        (date(2026, 8, 29), date(2026, 9, 2)),
    ],
)
def test_the_2026_breaks_are_exactly_the_announced_ones(first: date, last: date) -> None:
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    assert not any(DEFAULT_CALENDAR.is_working_day(d) for d in days)
    assert DEFAULT_CALENDAR.is_working_day(first - timedelta(days=1))
    assert DEFAULT_CALENDAR.is_working_day(last + timedelta(days=1))


def test_the_lists_hold_the_statutory_number_of_weekday_holidays() -> None:
    """BLLĐ 2019 Điều 112: 11 days a year (1 + 5 + 1 + 1 + 1 + 2); a weekend holiday moves to a weekday."""
    weekdays_2026 = {h.day for h in HOLIDAYS_2026 if h.day.weekday() < 5}
    weekdays_2027 = {h.day for h in HOLIDAYS_2027 if h.day.weekday() < 5}
    assert len(weekdays_2026) == 11 + 2  # + Friday 2/1 and Monday 31/8, swapped with Saturdays
    assert len(weekdays_2027) == 11
    assert all(h.day.year == 2026 for h in HOLIDAYS_2026)
    assert all(h.day.year == 2027 for h in HOLIDAYS_2027)


def test_a_plain_calendar_and_other_weekends() -> None:
    friday = date(2026, 2, 13)
    assert PLAIN.add_working_days(friday, 1) == date(2026, 2, 16)  # no holidays: Tết is a working week
    assert PLAIN.add_working_days(friday, 5) == date(2026, 2, 20)
    sunday_only = WorkCalendar(holidays=frozenset(), weekend=(6,))
    assert sunday_only.add_working_days(friday, 1) == date(2026, 2, 14)
    assert sunday_only.add_working_days(friday, 2) == date(2026, 2, 16)
    assert PLAIN.next_working_day(date(2026, 2, 14)) == date(2026, 2, 16)
    assert PLAIN.next_working_day(friday) == friday


def test_a_holiday_on_a_weekend_changes_nothing() -> None:
    saturday = date(2026, 2, 14)
    calendar = WorkCalendar(holidays=frozenset({saturday}))
    assert calendar.add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 16)


@pytest.mark.parametrize(
    ("year", "expected"),
    [
        # 1/1/2028 Saturday → Monday 3/1; 30/4 Sunday → Tuesday 2/5 (Monday 1/5 is itself a holiday); 2/9 Saturday
        # → Monday 4/9.
        (
            2028,
            [(1, 1), (1, 3), (4, 30), (5, 1), (5, 2), (9, 2), (9, 4)],
        ),
        (2029, [(1, 1), (4, 30), (5, 1), (9, 2), (9, 3)]),  # 2/9/2029 is a Sunday
    ],
)
def test_fixed_holidays_compensate_weekends(year: int, expected: list[tuple[int, int]]) -> None:
    assert [(h.day.month, h.day.day) for h in fixed_holidays(year)] == expected


def test_configuration_round_trip_and_default() -> None:
    calendar = WorkCalendar.from_mapping(DEFAULT_CALENDAR_CONFIG)
    assert calendar == DEFAULT_CALENDAR
    assert WorkCalendar.from_mapping(calendar.to_mapping()) == calendar
    custom = WorkCalendar.from_mapping({"holidays": ["2026-11-24"]})  # a province adds Ngày Văn hóa Việt Nam
    assert not custom.is_working_day(date(2026, 11, 24))
    assert DEFAULT_CALENDAR.is_working_day(date(2026, 11, 24))


@pytest.mark.parametrize(
    ("values", "fields"),
    [
        ({"holidays": ["2026-02-30"]}, ["holidays.0"]),
        ({"holidays": ["2026-01-01", 20260101]}, ["holidays.1"]),
        ({"holidays": [{"date": "2026-01-01", "kind": "x"}]}, ["holidays.0.kind"]),
        ({"holidays": "2026-01-01"}, ["holidays"]),
        ({"working_days": ["10/01/2026"]}, ["working_days.0"]),
        ({"weekend": [5, 7]}, ["weekend"]),
        ({"weekend": [0, 1, 2, 3, 4, 5, 6]}, ["weekend"]),
        ({"weekend": "sat"}, ["weekend"]),
        ({"holidays": ["2026-01-10"], "working_days": ["2026-01-10"]}, ["working_days"]),
        ({"holiday": []}, ["holiday"]),
    ],
)
def test_bad_configuration_is_refused_with_every_problem(values: dict[str, Any], fields: list[str]) -> None:
    with pytest.raises(Invalid) as caught:
        WorkCalendar.from_mapping(values)
    assert [p.field for p in caught.value.problems] == fields


def test_bad_configuration_reports_all_problems_at_once() -> None:
    with pytest.raises(Invalid) as caught:
        WorkCalendar.from_mapping({"holidays": ["x", "2026-01-01", "y"], "working_days": ["z"], "extra": 1})
    assert sorted(p.field or "" for p in caught.value.problems) == [
        "extra",
        "holidays.0",
        "holidays.2",
        "working_days.0",
    ]


def test_a_window_of_the_calendar_counts_the_same_inside_it() -> None:
    window = DEFAULT_CALENDAR.between(date(2026, 1, 1), date(2027, 12, 31))
    assert date(2026, 2, 16) in window.holidays and all(d.year in (2026, 2027) for d in window.holidays)
    assert window.add_working_days(date(2026, 2, 10), 15) == DEFAULT_CALENDAR.add_working_days(date(2026, 2, 10), 15)
    assert WorkCalendar.from_mapping(window.to_mapping()) == window
