"""Planning pages: start a planning review (personnel, scoped), the plan of a unit with its history and structure
(.xlsx/.csv export), and the page that opens the ballot box of the step a review is at; the policy in force
(PLANNING_POLICY, checked when the app starts)."""

from __future__ import annotations

from flask import Flask, current_app

from workflows.rules.planning import PlanningPolicy

POLICY_KEY = "canbo_planning_policy"


def planning_policy(app: Flask | None = None) -> PlanningPolicy:
    """The PLANNING_POLICY of the configuration, as checked when the app started."""
    return (app or current_app).extensions[POLICY_KEY]
