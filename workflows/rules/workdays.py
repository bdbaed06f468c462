"""Working days (ngày làm việc): weekends, public holidays and swapped days, for the deadlines counted in working days.

Pure functions of dates; nothing reads the clock or the database. The appointment deadlines of NĐ 170/2025 Điều 33
(policy decision ≤ 15 working days, the whole process ≤ 30 working days after it, domain rules §3.3 and §8) and
QĐ 377's "90 ngày làm việc" re-appointment notice are counted with a `WorkCalendar`.

Counting convention: `add_working_days(start, n)` is the n-th working day *after* `start` (the day of receipt is
not counted, as "trong thời hạn 15 ngày làm việc kể từ ngày nhận" is read), and `working_days_between(start, end)`
counts the working days d with start < d ≤ end, so `working_days_between(s, add_working_days(s, n)) == n`.

Holidays are configuration, not code: the Labour Code fixes which days are holidays (Bộ luật Lao động 2019
Điều 112), but Tết and Giỗ Tổ follow the lunar calendar, and every year the Prime Minister decides which weekdays
are taken off and which Saturdays are worked instead (hoán đổi ngày làm việc). A province therefore replaces or
extends the list when the year's notice is published. The configuration format (`WorkCalendar.from_mapping`):

    {
      "holidays": ["2026-01-01", {"date": "2026-02-16", "name": "Tết Âm lịch"}, ...],   # days off, ISO dates
      "working_days": ["2026-01-10", ...],   # weekend days worked instead (hoán đổi); optional
      "weekend": [5, 6]                       # weekday numbers, Monday = 0; optional, Saturday and Sunday
    }

A holiday that falls on a weekend day may be listed or not: it changes nothing. A date both in "holidays" and in
"working_days" is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from workflows.errors import N_, Invalid, Problem

__all__ = [
    "DEFAULT_CALENDAR",
    "DEFAULT_CALENDAR_CONFIG",
    "FIXED_HOLIDAYS",
    "HOLIDAYS_2026",
    "HOLIDAYS_2027",
    "WORKING_WEEKEND_DAYS_2026",
    "Holiday",
    "WorkCalendar",
    "fixed_holidays",
]

MAX_SPAN_DAYS = 366 * 20  # a deadline further than 20 years away is a mistake, not a deadline


@dataclass(frozen=True)
class Holiday:
    day: date
    name: str


# Bộ luật Lao động 2019 Điều 112 k1: the holidays fixed in the solar calendar (1/1, 30/4, 1/5, 2/9); Tết (5 days),
# Giỗ Tổ Hùng Vương (10/3 âm lịch) and the day next to 2/9 move every year and come from the year's list.
FIXED_HOLIDAYS: tuple[tuple[int, int, str], ...] = (
    (1, 1, "Tết Dương lịch"),
    (4, 30, "Ngày Chiến thắng"),
    (5, 1, "Ngày Quốc tế lao động"),
    (9, 2, "Quốc khánh"),
)


def fixed_holidays(year: int, weekend: tuple[int, ...] = (5, 6)) -> tuple[Holiday, ...]:
    """The solar-calendar holidays of `year`, each on a weekend day followed by a compensating day off on the next
    working day (nghỉ bù, BLLĐ 2019 Điều 111 k3). For years whose official list is not configured yet: it knows
    nothing of Tết, Giỗ Tổ or the Prime Minister's swaps."""
    days = [Holiday(date(year, month, day), name) for month, day, name in FIXED_HOLIDAYS]
    taken = {h.day for h in days}
    result = list(days)
    for holiday in days:
        if holiday.day.weekday() in weekend:
            compensation = holiday.day + timedelta(days=1)
            while compensation.weekday() in weekend or compensation in taken:
                compensation += timedelta(days=1)
            taken.add(compensation)
            result.append(Holiday(compensation, f"Nghỉ bù {holiday.name}"))
    return tuple(sorted(result, key=lambda h: h.day))


def _days(first: date, last: date, name: str) -> list[Holiday]:
    return [Holiday(first + timedelta(days=n), name) for n in range((last - first).days + 1)]


# 2026, official. Sources:
# - Tết Dương lịch: 1/1 (Thu) to 4/1, Friday 2/1 swapped with Saturday 10/1 — Công văn 12729/VPCP-KGVX, 25/12/2025.
# - Tết Âm lịch Bính Ngọ: 14/2 (Sat, 27 tháng Chạp) to 22/2 (Sun, mùng 6), the five weekdays 16–20/2; Quốc khánh:
#   29/8 to 2/9, 1/9 and 2/9 the holidays, Monday 31/8 swapped with Saturday 22/8 — the Prime Minister's approval
#   of the Ministry of Home Affairs' proposal, VPCP, 13/10/2025 (thanhnien.vn/tet-binh-ngo-nghi-9-ngay-lien-tuc-
#   185251013200157051.htm; kienthuc.net.vn/chot-phuong-an-nghi-tet-am-lich-binh-ngo-va-quoc-khanh-nam-2026-
#   post1576857.html).
# - Giỗ Tổ Hùng Vương: 10/3 âm lịch = Sunday 26/4, compensated on Monday 27/4; 30/4 (Thu) and 1/5 (Fri) — BLLĐ 2019
#   Điều 111 k3, 112 (thanhnien.vn/gio-to-hung-vuong-304-15-quoc-khanh-29-nam-2026-duoc-nghi-may-ngay-
#   185260223083506397.htm: 25 days off in 2026 in all, weekends included).
# Not included: Ngày Văn hóa Việt Nam 24/11 (Nghị quyết 80-NQ/TW; a day off once the Labour Code is amended —
# Nghị quyết 30/NQ-CP, 02/2026): add it to the configuration when it is in force.
HOLIDAYS_2026: tuple[Holiday, ...] = (
    Holiday(date(2026, 1, 1), "Tết Dương lịch"),
    Holiday(date(2026, 1, 2), "Tết Dương lịch (hoán đổi với thứ Bảy 10/01/2026)"),
    *_days(date(2026, 2, 16), date(2026, 2, 20), "Tết Âm lịch Bính Ngọ"),
    Holiday(date(2026, 4, 26), "Giỗ Tổ Hùng Vương"),
    Holiday(date(2026, 4, 27), "Nghỉ bù Giỗ Tổ Hùng Vương"),
    Holiday(date(2026, 4, 30), "Ngày Chiến thắng"),
    Holiday(date(2026, 5, 1), "Ngày Quốc tế lao động"),
    Holiday(date(2026, 8, 31), "Quốc khánh (hoán đổi với thứ Bảy 22/08/2026)"),
    Holiday(date(2026, 9, 1), "Quốc khánh"),
    Holiday(date(2026, 9, 2), "Quốc khánh"),
)
WORKING_WEEKEND_DAYS_2026: tuple[date, ...] = (date(2026, 1, 10), date(2026, 8, 22))

# 2027, provisional: the statutory days of BLLĐ 2019 Điều 112 with the weekend compensation of Điều 111 k3, until the
# Prime Minister's notice for 2027 is published (then replace these by configuration). Lunar dates: mùng 1 Tết Đinh
# Mùi = Saturday 6/2/2027 (29 tháng Chạp = 5/2); 10/3 âm lịch = Friday 16/4/2027. Tết takes giao thừa and mùng
# 1–4 (5/2–9/2), the two weekend days compensated on 10/2 and 11/2; 1/5 is a Saturday, compensated on Monday 3/5;
# the day next to 2/9 (Thursday) is taken as Friday 3/9.
HOLIDAYS_2027: tuple[Holiday, ...] = (
    Holiday(date(2027, 1, 1), "Tết Dương lịch"),
    Holiday(date(2027, 2, 5), "Tết Âm lịch Đinh Mùi"),
    *_days(date(2027, 2, 8), date(2027, 2, 11), "Tết Âm lịch Đinh Mùi"),
    Holiday(date(2027, 4, 16), "Giỗ Tổ Hùng Vương"),
    Holiday(date(2027, 4, 30), "Ngày Chiến thắng"),
    Holiday(date(2027, 5, 3), "Nghỉ bù Ngày Quốc tế lao động"),
    Holiday(date(2027, 9, 2), "Quốc khánh"),
    Holiday(date(2027, 9, 3), "Quốc khánh"),
)

# The shipped default: 2026 and 2027 as above, then only the solar holidays until 2035 (Tết and Giỗ Tổ of those
# years must be added when announced).
DEFAULT_CALENDAR_CONFIG: dict[str, Any] = {
    "holidays": [
        {"date": h.day.isoformat(), "name": h.name}
        for h in (*HOLIDAYS_2026, *HOLIDAYS_2027, *(h for y in range(2028, 2036) for h in fixed_holidays(y)))
    ],
    "working_days": [d.isoformat() for d in WORKING_WEEKEND_DAYS_2026],
    "weekend": [5, 6],
}


@dataclass(frozen=True)
class WorkCalendar:
    """Which days are working days: not a weekend day, not a holiday, unless a swapped day makes a weekend day a
    working day. `weekend` holds weekday numbers (Monday = 0)."""

    holidays: frozenset[date]
    weekend: tuple[int, ...] = (5, 6)
    working_days: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        problems = _calendar_problems(self.holidays, self.weekend, self.working_days)
        if problems:
            raise Invalid("the working-day calendar is not valid", problems)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> WorkCalendar:
        """The configuration format of the module docstring; every bad entry is reported (field
        `holidays.<index>`, `working_days.<index>`, `weekend`, or the unknown key)."""
        if not isinstance(values, Mapping):
            raise Invalid("the working-day calendar is not valid", [Problem("expected an object of settings")])
        problems: list[Problem] = []
        for key in values:
            if key not in ("holidays", "working_days", "weekend"):
                problems.append(Problem("unknown setting", field=str(key)))
        holidays = _date_list(values.get("holidays", []), "holidays", problems, named=True)
        working = _date_list(values.get("working_days", []), "working_days", problems, named=False)
        weekend_raw = values.get("weekend", [5, 6])
        weekend: tuple[int, ...] = (5, 6)
        if not isinstance(weekend_raw, list | tuple) or not all(
            isinstance(d, int) and not isinstance(d, bool) for d in weekend_raw
        ):
            problems.append(Problem("expected a list of weekday numbers (Monday = 0)", field="weekend"))
        else:
            weekend = tuple(weekend_raw)
        if problems:
            raise Invalid("the working-day calendar is not valid", problems)
        return cls(holidays=frozenset(holidays), weekend=weekend, working_days=frozenset(working))

    def to_mapping(self) -> dict[str, Any]:
        return {
            "holidays": sorted(d.isoformat() for d in self.holidays),
            "working_days": sorted(d.isoformat() for d in self.working_days),
            "weekend": list(self.weekend),
        }

    def between(self, first: date, last: date) -> WorkCalendar:
        """The same calendar keeping only the listed days from `first` to `last`: what a procedure running in that
        window needs (a procedure keeps its calendar in its data, and the whole list would grow every state)."""
        return WorkCalendar(
            holidays=frozenset(d for d in self.holidays if first <= d <= last),
            weekend=self.weekend,
            working_days=frozenset(d for d in self.working_days if first <= d <= last),
        )

    def is_working_day(self, day: date) -> bool:
        if day in self.working_days:
            return True
        return day.weekday() not in self.weekend and day not in self.holidays

    def add_working_days(self, start: date, days: int) -> date:
        """The `days`-th working day after `start` (before it when negative); `start` itself when `days` is 0."""
        step = 1 if days >= 0 else -1
        left = abs(days)
        day = start
        while left:
            day += timedelta(days=step)
            if abs((day - start).days) > MAX_SPAN_DAYS:
                raise ValueError(f"no {days} working days within 20 years of {start.isoformat()}")
            if self.is_working_day(day):
                left -= 1
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """Working days d with start < d ≤ end; negative (the same count, reversed) when end is before start."""
        if end < start:
            return -self.working_days_between(end, start)
        if (end - start).days > MAX_SPAN_DAYS:
            raise ValueError("the dates are more than 20 years apart")
        return sum(1 for n in range(1, (end - start).days + 1) if self.is_working_day(start + timedelta(days=n)))

    def next_working_day(self, day: date) -> date:
        """`day` itself when it is a working day, else the first working day after it."""
        return day if self.is_working_day(day) else self.add_working_days(day, 1)


def _date_list(raw: Any, name: str, problems: list[Problem], *, named: bool) -> list[date]:
    if isinstance(raw, str | bytes) or not isinstance(raw, Iterable):
        problems.append(Problem("expected a list of dates (YYYY-MM-DD)", field=name))
        return []
    days: list[date] = []
    for index, entry in enumerate(raw):
        where = f"{name}.{index}"
        value = entry
        if named and isinstance(entry, Mapping):
            unknown = [k for k in entry if k not in ("date", "name")]
            if unknown:
                problems.append(Problem("unknown setting", field=f"{where}.{unknown[0]}"))
                continue
            if "name" in entry and not isinstance(entry["name"], str):
                problems.append(Problem("expected a text", field=f"{where}.name"))
                continue
            value = entry.get("date")
        if isinstance(value, date):
            days.append(value)
            continue
        if not isinstance(value, str):
            problems.append(Problem("expected a date (YYYY-MM-DD)", field=where))
            continue
        try:
            days.append(date.fromisoformat(value))
        except ValueError:
            problems.append(Problem("expected a date (YYYY-MM-DD)", field=where))
    return days


def _calendar_problems(holidays: Any, weekend: Any, working_days: Any) -> list[Problem]:
    problems: list[Problem] = []
    if not isinstance(holidays, frozenset) or not all(isinstance(d, date) for d in holidays):
        problems.append(Problem("expected a set of dates", field="holidays"))
    if not isinstance(working_days, frozenset) or not all(isinstance(d, date) for d in working_days):
        problems.append(Problem("expected a set of dates", field="working_days"))
    if (
        not isinstance(weekend, tuple)
        or not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 6 for d in weekend)
        or len(set(weekend)) != len(weekend)
        or len(weekend) > 6
    ):
        problems.append(
            Problem("expected distinct weekday numbers from 0 (Monday) to 6, not all seven", field="weekend")
        )
    elif isinstance(working_days, frozenset) and isinstance(holidays, frozenset):
        both = sorted(holidays & working_days)
        if both:
            message = N_("%(day)s is both a holiday and a working day")
            problems.append(Problem(message, field="working_days", message_args={"day": both[0].isoformat()}))
    return problems


DEFAULT_CALENDAR = WorkCalendar.from_mapping(DEFAULT_CALENDAR_CONFIG)
