"""The weekly digest's schedule and text (workflows/rules/overdue_digest.py): plain data, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from workflows.errors import Invalid
from workflows.rules.overdue_digest import DigestSchedule, OverdueTask, days_overdue, digest_text, week_run

VIETNAM = timezone(timedelta(hours=7))


@pytest.mark.parametrize(
    ("now_utc", "week", "run_at"),
    [
        # Monday 9 November 2026, 07:00 in Vietnam is 00:00 UTC: the run of that week from then on.
        (datetime(2026, 11, 9, 0, 0), date(2026, 11, 9), datetime(2026, 11, 9, 0, 0)),
        (datetime(2026, 11, 11, 12, 0), date(2026, 11, 9), datetime(2026, 11, 9, 0, 0)),
        (datetime(2026, 11, 15, 23, 30), date(2026, 11, 9), datetime(2026, 11, 9, 0, 0)),  # Monday 06:30 local
        # A minute before: still the week before.
        (datetime(2026, 11, 8, 23, 59), date(2026, 11, 2), datetime(2026, 11, 2, 0, 0)),
        # Sunday 8 November 18:00 UTC is Monday 01:00 in Vietnam: the local day counts, not the UTC one.
        (datetime(2026, 11, 8, 18, 0), date(2026, 11, 2), datetime(2026, 11, 2, 0, 0)),
    ],
)
def test_the_week_is_named_by_its_last_run_in_local_time(now_utc: datetime, week: date, run_at: datetime) -> None:
    assert week_run(now_utc, VIETNAM) == (week, run_at)
    assert week_run(now_utc.replace(tzinfo=UTC), VIETNAM) == (week, run_at)  # an aware moment reads the same


@pytest.mark.parametrize(
    ("schedule", "now_utc", "week"),
    [
        (DigestSchedule(weekday=4, hour=16), datetime(2026, 11, 13, 9, 0), date(2026, 11, 13)),  # Friday 16:00
        (DigestSchedule(weekday=4, hour=16), datetime(2026, 11, 13, 8, 59), date(2026, 11, 6)),
        (DigestSchedule(weekday=6, hour=0), datetime(2026, 11, 7, 17, 0), date(2026, 11, 8)),  # Sunday midnight
        (DigestSchedule(weekday=0, hour=23), datetime(2026, 11, 9, 15, 59), date(2026, 11, 2)),
    ],
)
def test_the_weekday_and_hour_are_configurable(schedule: DigestSchedule, now_utc: datetime, week: date) -> None:
    assert week_run(now_utc, VIETNAM, schedule)[0] == week


def test_a_zone_with_summer_time_runs_at_the_local_hour() -> None:
    paris = ZoneInfo("Europe/Paris")
    assert week_run(datetime(2026, 7, 6, 5, 0), paris)[1] == datetime(2026, 7, 6, 5, 0)  # 07:00 CEST
    assert week_run(datetime(2026, 12, 7, 6, 0), paris)[1] == datetime(2026, 12, 7, 6, 0)  # 07:00 CET


@pytest.mark.parametrize(
    ("weekday", "hour", "fields"),
    [
        ("0", "7", None),
        (6, 23, None),
        (" 3 ", "0", None),
        ("7", "7", ["weekday"]),
        ("mon", "24", ["weekday", "hour"]),
        (True, -1, ["weekday", "hour"]),
        ("", "7", ["weekday"]),
    ],
)
def test_the_schedule_from_settings(weekday: object, hour: object, fields: list[str] | None) -> None:
    if fields is None:
        schedule = DigestSchedule.from_values(weekday, hour)
        assert (schedule.weekday, schedule.hour) == (int(str(weekday)), int(str(hour)))
        return
    with pytest.raises(Invalid) as raised:
        DigestSchedule.from_values(weekday, hour)
    assert [p.field for p in raised.value.problems] == fields


NOW = datetime(2026, 11, 9, 0, 0)


def _task(task_id: int, days_late: float, person: str | None = "Nguyễn Thị Lan") -> OverdueTask:
    return OverdueTask(
        task_id, f"Bước {task_id}", person, "Phê duyệt đề nghị", 100 + task_id, NOW - timedelta(days_late)
    )


@pytest.mark.parametrize(
    ("late", "days"), [(timedelta(hours=3), 0), (timedelta(days=1), 1), (timedelta(days=9, hours=23), 9)]
)
def test_days_overdue_counts_whole_days(late: timedelta, days: int) -> None:
    assert days_overdue(NOW - late, NOW) == days


def test_the_digest_lists_the_longest_overdue_first_and_counts_the_rest() -> None:
    tasks = [_task(n, n) for n in range(1, 13)] + [_task(13, 0.1, person=None)]
    title, body = digest_text(tasks, NOW)
    assert title == "Việc quá hạn trong đơn vị tuần này: 13 việc"
    lines = body.splitlines()
    assert len(lines) == 11
    assert lines[0] == "- Bước 12 — Nguyễn Thị Lan — Phê duyệt đề nghị, hồ sơ số 112 — quá hạn 12 ngày"
    assert lines[9].startswith("- Bước 3 ")
    assert lines[10] == "… và 3 việc khác"


def test_a_short_digest_has_no_remainder_line() -> None:
    title, body = digest_text([_task(1, 0.1, person=None)], NOW)
    assert title == "Việc quá hạn trong đơn vị tuần này: 1 việc"
    assert body == "- Bước 1 — chưa có người nhận — Phê duyệt đề nghị, hồ sơ số 101 — quá hạn chưa đến 1 ngày"
