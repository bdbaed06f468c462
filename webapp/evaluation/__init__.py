"""The monthly evaluation's pages (open a month, a unit's results, my history) and the policy in force."""

from __future__ import annotations

from flask import Flask, current_app

from workflows.rules.evaluation import EvaluationPolicy

POLICY_KEY = "canbo_evaluation_policy"


def evaluation_policy(app: Flask | None = None) -> EvaluationPolicy:
    """The EVALUATION_POLICY of the configuration, as checked when the app started."""
    return (app or current_app).extensions[POLICY_KEY]
