"""A step's deadline (rules/step_deadlines.py): so many working days from the day it opens, on the procedure's
calendar, never past the procedure's own deadline; and the setting that holds the durations."""

from __future__ import annotations

from datetime import date, timedelta, timezone
from pathlib import Path

import pytest
from lxml import etree

from workflows.errors import Invalid
from workflows.rules.appointment import AppointmentPolicy
from workflows.rules.planning import PlanningPolicy
from workflows.rules.rotation import RotationPolicy
from workflows.rules.step_deadlines import (
    APPOINTMENT_STEP_WORKING_DAYS,
    PLANNING_STEP_WORKING_DAYS,
    ROTATION_STEP_WORKING_DAYS,
    step_deadline,
)
from workflows.rules.workdays import WorkCalendar

VN = timezone(timedelta(hours=7))
# Monday 2026-04-27; Thursday 30/4 and Friday 1/5 are holidays.
CALENDAR = WorkCalendar(holidays=frozenset({date(2026, 4, 30), date(2026, 5, 1)}))
MONDAY = date(2026, 4, 27)


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (1, "2026-04-28T23:59:59+07:00"),
        (2, "2026-04-29T23:59:59+07:00"),
        (3, "2026-05-04T23:59:59+07:00"),  # over the two holidays and the weekend
        (5, "2026-05-06T23:59:59+07:00"),
    ],
)
def test_a_step_has_so_many_working_days_from_the_day_it_opens(days: int, expected: str) -> None:
    assert step_deadline(MONDAY, days, CALENDAR, VN) == expected


@pytest.mark.parametrize(
    ("latest", "expected"),
    [
        (["2026-04-29T23:59:59+07:00"], "2026-04-29T23:59:59+07:00"),  # the procedure's deadline comes first
        (["2026-06-30T23:59:59+07:00"], "2026-05-06T23:59:59+07:00"),  # the step's own comes first
        ([None, "2026-05-05T10:00:00+07:00"], "2026-05-05T10:00:00+07:00"),  # no cap is no cap; the earliest wins
        ([], "2026-05-06T23:59:59+07:00"),
    ],
)
def test_no_step_is_due_after_the_procedures_own_deadline(latest: list[str | None], expected: str) -> None:
    assert step_deadline(MONDAY, 5, CALENDAR, VN, latest) == expected


def test_every_user_step_of_the_procedures_has_a_default() -> None:
    bpmn = Path(__file__).resolve().parents[2] / "bpmn"
    ns = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
    for name, defaults, timed in (
        ("appointment.bpmn", APPOINTMENT_STEP_WORKING_DAYS, {"policy_decision"}),
        ("planning_review.bpmn", PLANNING_STEP_WORKING_DAYS, set()),
        # The handover and the arrival wait for the decision's effective date (decision 0139).
        ("rotation.bpmn", ROTATION_STEP_WORKING_DAYS, {"handover", "arrival"}),
    ):
        steps = {t.get("id") for t in etree.parse(str(bpmn / name)).getroot().iter(f"{ns}userTask")}
        assert set(defaults) == steps - timed, name


@pytest.mark.parametrize("policy", [AppointmentPolicy, PlanningPolicy, RotationPolicy])
def test_a_province_sets_one_steps_duration_and_keeps_the_others(policy: type) -> None:
    step = "approval" if policy is PlanningPolicy else "decision"
    configured = policy.from_mapping({"step_working_days": {step: 20}})
    default = policy()
    assert configured.step_working_days[step] == 20
    assert {k: v for k, v in configured.step_working_days.items() if k != step} == {
        k: v for k, v in default.step_working_days.items() if k != step
    }
    assert policy.from_mapping(configured.to_mapping()) == configured


@pytest.mark.parametrize(
    ("policy", "step"), [(AppointmentPolicy, "submission"), (PlanningPolicy, "dossier"), (RotationPolicy, "placement")]
)
def test_a_wrong_duration_is_refused_naming_the_step(policy: type, step: str) -> None:
    with pytest.raises(Invalid) as refused:
        policy.from_mapping({"step_working_days": {"no_such_step": 5, step: 0}})
    assert {(p.field, p.message) for p in refused.value.problems} == {
        ("step_working_days.no_such_step", "unknown setting"),
        (f"step_working_days.{step}", "the value is outside the allowed range"),
    }
    with pytest.raises(Invalid) as refused:
        policy.from_mapping({"step_working_days": {step: "5"}})
    assert [(p.field, p.message) for p in refused.value.problems] == [
        (f"step_working_days.{step}", "expected a whole number")
    ]
    with pytest.raises(Invalid):
        policy.from_mapping({"step_working_days": [5]})


@pytest.mark.parametrize("policy", [AppointmentPolicy, PlanningPolicy, RotationPolicy])
def test_the_policy_kept_by_a_procedure_started_before_the_setting_reads_with_the_defaults(policy: type) -> None:
    kept = {name: value for name, value in policy().to_mapping().items() if name != "step_working_days"}
    assert policy.from_mapping(kept) == policy()
