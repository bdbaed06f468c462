"""Appointment pages: start an appointment, open the ballot box of the step an appointment is at; the policy and
the working-day calendar in force (APPOINTMENT_POLICY, WORK_CALENDAR: checked when the app starts)."""

from __future__ import annotations

from flask import Flask, current_app

from workflows.rules.appointment import AppointmentPolicy
from workflows.rules.workdays import WorkCalendar

POLICY_KEY = "canbo_appointment_policy"
CALENDAR_KEY = "canbo_work_calendar"


def appointment_policy(app: Flask | None = None) -> AppointmentPolicy:
    """The APPOINTMENT_POLICY of the configuration, as checked when the app started."""
    return (app or current_app).extensions[POLICY_KEY]


def work_calendar(app: Flask | None = None) -> WorkCalendar:
    """The WORK_CALENDAR of the configuration (the shipped calendar when blank), as checked when the app started."""
    return (app or current_app).extensions[CALENDAR_KEY]
