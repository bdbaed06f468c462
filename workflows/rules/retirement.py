"""Statutory retirement: the required age, the retirement date and the months left, as pure functions of dates.

Ages are counted in whole months. The schedule is data (`RetirementSchedule`): the domain rules tag it [P], so a
province replaces it by configuration, and stored retirement dates are recomputed when it changes
(`workflows.registry.records.recompute_retirement_dates`).

Conventions:
- The required age is the one in force in the calendar year in which the person reaches it. A man born in
  October 1961 is 60y3m in January 2022, but 2022 requires 60y6m, which he reaches in April 2022: he retires at 60y6m.
  This is how Appendix I of NĐ 135/2020 maps months of birth to ages.
- A person who reached the previous age (60 / 55) before the schedule started keeps that age.
- `retirement_date` is the first day of the month after the month in which the required age is reached: the
  retirement moment is the end of that month's last day, and the pension runs from the next day.
- `months_until_retirement` is HD 06's "retirement age minus current age", both in completed months.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date

MALE = "male"
FEMALE = "female"


def add_months(day: date, months: int) -> date:
    """`day` moved by whole months; a day that the target month lacks becomes that month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def age_in_months(birth_date: date, on: date) -> int:
    """Completed months of age on `on` (negative before birth). A month completes on the birth day-of-month, or on
    the last day of a month too short to have it (born on the 31st: one month old on 28 or 29 February)."""
    months = (on.year - birth_date.year) * 12 + (on.month - birth_date.month)
    if on.day < birth_date.day and on.day < calendar.monthrange(on.year, on.month)[1]:
        months -= 1
    return months


@dataclass(frozen=True)
class AgeRise:
    """One gender's required age, in months: `previous` before the schedule, `first` in its first year, then
    `step` more each following year until `final`."""

    previous: int
    first: int
    step: int
    final: int

    def for_year(self, years_since_start: int) -> int:
        return min(self.first + self.step * years_since_start, self.final)


@dataclass(frozen=True)
class RetirementSchedule:
    start_year: int
    men: AgeRise
    women: AgeRise

    def rise_for(self, gender: str) -> AgeRise:
        if gender == MALE:
            return self.men
        if gender == FEMALE:
            return self.women
        raise ValueError(f"gender must be {MALE!r} or {FEMALE!r}, not {gender!r}")


# Bộ luật Lao động 2019 Điều 169 k2 and NĐ 135/2020/NĐ-CP Điều 4 (ages by year) and Điều 3 (retirement moment).
DEFAULT_SCHEDULE = RetirementSchedule(
    start_year=2021,
    men=AgeRise(previous=60 * 12, first=60 * 12 + 3, step=3, final=62 * 12),
    women=AgeRise(previous=55 * 12, first=55 * 12 + 4, step=4, final=60 * 12),
)


def required_age_months(birth_date: date, gender: str, schedule: RetirementSchedule = DEFAULT_SCHEDULE) -> int:
    rise = schedule.rise_for(gender)
    if add_months(birth_date, rise.previous) < date(schedule.start_year, 1, 1):
        return rise.previous
    year = schedule.start_year
    while True:
        # Ages never fall, so the first year whose age is reached within that same year is the one that applies;
        # once the final age is in force the loop ends by the year the person reaches it.
        age = rise.for_year(year - schedule.start_year)
        if add_months(birth_date, age).year <= year:
            return age
        year += 1


def retirement_date(birth_date: date, gender: str, schedule: RetirementSchedule = DEFAULT_SCHEDULE) -> date:
    reached = add_months(birth_date, required_age_months(birth_date, gender, schedule))
    return add_months(reached.replace(day=1), 1)


def months_until_retirement(
    birth_date: date, gender: str, on: date, schedule: RetirementSchedule = DEFAULT_SCHEDULE
) -> int:
    """Zero or negative once the required age is reached. HD 06-HD/BTCTW compares this with the term (60 months for
    a 5-year post), taking `on` as the day the personnel body received the complete dossier."""
    return required_age_months(birth_date, gender, schedule) - age_in_months(birth_date, on)
