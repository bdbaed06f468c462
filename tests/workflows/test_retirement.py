"""Retirement ages by month of birth (BLLĐ 2019 Điều 169, NĐ 135/2020), retirement dates and months left (HD 06)."""

from __future__ import annotations

from datetime import date

import pytest

from workflows.rules.retirement import (
    DEFAULT_SCHEDULE,
    AgeRise,
    RetirementSchedule,
    add_months,
    age_in_months,
    months_until_retirement,
    required_age_months,
    retirement_date,
)


def years(y: int, m: int = 0) -> int:
    return y * 12 + m


@pytest.mark.parametrize(
    ("birth", "gender", "age", "retires"),
    [
        # Reached the old ages (60 / 55) before 2021: the schedule does not apply.
        (date(1960, 12, 5), "male", years(60), date(2021, 1, 1)),
        (date(1960, 6, 15), "female", years(55), date(2015, 7, 1)),
        (date(1965, 12, 31), "female", years(55), date(2021, 1, 1)),
        # Men: 60y3m in 2021, +3 months a year.
        (date(1961, 1, 10), "male", years(60, 3), date(2021, 5, 1)),
        (date(1961, 9, 1), "male", years(60, 3), date(2022, 1, 1)),
        (date(1961, 10, 1), "male", years(60, 6), date(2022, 5, 1)),  # 60y3m would fall in 2022, which asks 60y6m
        (date(1962, 6, 30), "male", years(60, 6), date(2023, 1, 1)),
        (date(1962, 7, 1), "male", years(60, 9), date(2023, 5, 1)),
        (date(1964, 9, 3), "male", years(61, 3), date(2026, 1, 1)),  # pension from January 2026, as the press lists
        (date(1966, 3, 1), "male", years(61, 9), date(2028, 1, 1)),
        (date(1966, 4, 1), "male", years(62), date(2028, 5, 1)),  # the first men at the final age
        (date(1970, 5, 20), "male", years(62), date(2032, 6, 1)),
        (date(1990, 1, 31), "male", years(62), date(2052, 2, 1)),
        # Women: 55y4m in 2021, +4 months a year.
        (date(1966, 1, 10), "female", years(55, 4), date(2021, 6, 1)),
        (date(1966, 8, 15), "female", years(55, 4), date(2022, 1, 1)),
        (date(1966, 9, 1), "female", years(55, 8), date(2022, 6, 1)),
        (date(1969, 4, 30), "female", years(56, 8), date(2026, 1, 1)),  # pension from January 2026 too
        (date(1970, 5, 20), "female", years(57, 4), date(2027, 10, 1)),
        (date(1975, 4, 1), "female", years(59, 8), date(2035, 1, 1)),
        (date(1975, 5, 1), "female", years(60), date(2035, 6, 1)),  # the first women at the final age
        (date(1980, 2, 29), "female", years(60), date(2040, 3, 1)),
    ],
)
def test_required_age_and_retirement_date(birth: date, gender: str, age: int, retires: date) -> None:
    assert required_age_months(birth, gender) == age
    assert retirement_date(birth, gender) == retires
    assert retirement_date(birth, gender, DEFAULT_SCHEDULE) == retires


@pytest.mark.parametrize(
    ("birth", "gender", "on", "months"),
    [
        (date(1970, 5, 20), "male", date(2026, 3, 15), 75),  # 62y − 55y9m
        (date(1970, 5, 20), "male", date(2026, 3, 20), 74),  # a month of age completes on the birth day
        (date(1966, 4, 1), "male", date(2023, 4, 1), 60),  # exactly one 5-year term left (HD 06)
        (date(1966, 4, 1), "male", date(2023, 4, 2), 60),
        (date(1966, 4, 1), "male", date(2023, 5, 1), 59),
        (date(1970, 5, 20), "male", date(2032, 5, 20), 0),  # the day the age is reached
        (date(1970, 5, 20), "male", date(2032, 6, 20), -1),
        (date(1960, 12, 5), "male", date(2026, 1, 1), -60),  # retired five years ago
        (date(1975, 5, 1), "female", date(2030, 5, 1), 60),
        (date(1966, 9, 1), "female", date(2021, 1, 1), 16),  # 55y8m − 54y4m
    ],
)
def test_months_until_retirement(birth: date, gender: str, on: date, months: int) -> None:
    assert months_until_retirement(birth, gender, on, DEFAULT_SCHEDULE) == months


@pytest.mark.parametrize(
    ("birth", "on", "months"),
    [
        (date(1990, 1, 31), date(1990, 2, 27), 0),
        (date(1990, 1, 31), date(1990, 2, 28), 1),  # February has no 31st: its last day completes the month
        (date(1990, 1, 31), date(1990, 3, 30), 1),
        (date(1990, 1, 31), date(1990, 3, 31), 2),
        (date(1988, 2, 29), date(1989, 2, 28), 12),
        (date(1970, 5, 20), date(1970, 5, 19), -1),
    ],
)
def test_age_in_months(birth: date, on: date, months: int) -> None:
    assert age_in_months(birth, on) == months


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 1, 15), -1, date(2025, 12, 15)),
    ],
)
def test_add_months(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


def test_a_configured_schedule_replaces_the_statutory_one() -> None:
    schedule = RetirementSchedule(
        start_year=2030,
        men=AgeRise(previous=years(62), first=years(62, 6), step=6, final=years(65)),
        women=AgeRise(previous=years(60), first=years(60, 6), step=6, final=years(62)),
    )
    assert required_age_months(date(1967, 12, 1), "male", schedule) == years(62)  # 62 in 2029, before the start
    assert required_age_months(date(1968, 1, 1), "male", schedule) == years(62, 6)
    assert retirement_date(date(1968, 1, 1), "male", schedule) == date(2030, 8, 1)
    assert required_age_months(date(1990, 1, 1), "female", schedule) == years(62)
    assert months_until_retirement(date(1990, 1, 1), "female", date(2050, 1, 1), schedule) == 24


def test_an_unknown_gender_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="gender"):
        retirement_date(date(1970, 1, 1), "nam")
