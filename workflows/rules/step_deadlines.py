"""A step's deadline: so many working days from the day it opens, never later than the procedure's own deadline.

The durations of single steps are not in any rule the domain reference verified (§3, §2.3: [U]), so each procedure's
policy holds them as a setting, `step_working_days` (step id → working days), with the defaults below. What a rule
does fix caps them: after the appointment policy, the whole process within 30 working days (NĐ 170 Điều 33 k1c,
[V] S34, `deadline_process`); a re-appointment decided at least 1 working day before the term ends (NĐ 138 Điều 49,
[V] S42, `deadline_reappointment`). A BPMN user task names its duration and caps in its `dueDate` property
(decision 0120), e.g. `step_deadline(policy["step_working_days"]["submission"], within=("deadline_process",))`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, tzinfo
from typing import Any

from workflows.errors import Problem
from workflows.rules.settings import is_whole
from workflows.rules.workdays import WorkCalendar

# The data key a procedure keeps its working-day calendar under (the window of WORK_CALENDAR from its start).
CALENDAR_KEY = "work_calendar"
# A procedure keeps the holidays of this many years from its start (its deadlines are weeks or months away).
CALENDAR_YEARS = 3

# A step longer than this is a typo, not a plan (about a year of working days).
MAX_STEP_WORKING_DAYS = 250

# [U] Appointment (NĐ 170/2025 Điều 33, 39): a conference is called and held within a week; an opinion asked of
# another body (political standard, residence cell, inspection committee) two weeks; a decision of one person three
# days. `policy_decision` has its own [V] 15 working days (a boundary timer) and is not listed.
APPOINTMENT_STEP_WORKING_DAYS: dict[str, int] = {
    "eligibility_policy": 5,
    "exception_policy": 10,
    "escalate_policy": 5,
    "escalate_process": 5,
    "escalate_reappointment": 1,
    "step1_conference": 5,
    "ballot_step2": 5,
    "ballot_step3": 5,
    "head_step3": 3,
    "ballot_step4": 5,
    "ext_consult_receiving": 5,
    "ballot_sending_unit": 5,
    "dossier_checklist": 5,
    "clearance_political": 10,
    "clearance_residence": 10,
    "clearance_inspection": 10,
    "clearance_resolution": 5,
    "eligibility_final": 3,
    "exception_final": 5,
    "ballot_step5": 5,
    "ballot_reappointment": 5,
    "head_final": 3,
    "submission": 3,
    "decision": 5,
    "self_report": 10,
    "ballot_confidence": 10,
    "head_proposal": 5,
    "confidence_low_review": 10,
    "confidence_dismissal_review": 10,
}

# [U] Planning review (QĐ 377 planning chapter; HD 16's steps, §2.3–2.4): no step has a verified duration; the whole
# review is yearly [V] S7. Two weeks a step, three for a conference of many people or the competent authority.
PLANNING_STEP_WORKING_DAYS: dict[str, int] = {
    "screening": 10,
    "confirm_removals": 10,
    "review_frame": 10,
    "approve_frame": 10,
    "nominate": 10,
    "ballot_key_cadres": 15,
    "ballot_leadership": 10,
    "ballot_committee": 15,
    "dossier": 10,
    "approval": 15,
}


# [U] Rotation (QĐ 65-QĐ/TW §4.4, NĐ 170 Điều 48–50): no step has a verified duration. Two weeks a step, one for the
# collective's proposal and vote; four for the end-of-rotation review and placement (the timer opens the review
# `review_lead_days` before the last day). The handover and the arrival wait for the decision's effective date, which
# may lie months ahead: they have no deadline of their own.
ROTATION_STEP_WORKING_DAYS: dict[str, int] = {
    "plan": 10,
    "plan_approval": 10,
    "propose": 10,
    "eligibility": 10,
    "exception": 10,
    "consult_sending": 10,
    "consult_receiving": 10,
    "meet_cadre": 10,
    "submission": 5,
    "ballot_collective": 5,
    "decision": 10,
    "review": 20,
    "placement": 20,
}


def step_deadline(
    opened_on: date, working_days: int, calendar: WorkCalendar, zone: tzinfo, latest: Iterable[str | None] = ()
) -> str:
    """The end (23:59:59 in `zone`) of the `working_days`-th working day after `opened_on`, or the earliest of
    `latest` (ISO date-times, None skipped) when that comes first; as an ISO date-time with its offset."""
    due = datetime.combine(calendar.add_working_days(opened_on, working_days), time(23, 59, 59), zone)
    for value in latest:
        if value is None:
            continue
        cap = datetime.fromisoformat(value)
        if cap.tzinfo is None:
            cap = cap.replace(tzinfo=zone)
        due = min(due, cap)
    return due.isoformat()


def merged_step_days(defaults: Mapping[str, int], given: Any) -> Any:
    """A setting naming some steps keeps the defaults of the others (so a province changes one step at a time)."""
    return {**defaults, **given} if isinstance(given, Mapping) else given


def step_days_problems(value: Any, known: Iterable[str], name: str = "step_working_days") -> list[Problem]:
    """Every step named is one of the procedure's, each a whole number of working days from 1 to 250."""
    if not isinstance(value, Mapping):
        return [Problem("expected an object of settings", field=name)]
    steps = set(known)
    problems: list[Problem] = []
    for step, days in value.items():
        where = f"{name}.{step}"
        if step not in steps:
            problems.append(Problem("unknown setting", field=where))
        elif not is_whole(days):
            problems.append(Problem("expected a whole number", field=where))
        elif not 1 <= days <= MAX_STEP_WORKING_DAYS:
            problems.append(Problem("the value is outside the allowed range", field=where))
    return problems
