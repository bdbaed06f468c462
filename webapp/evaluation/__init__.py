"""The monthly evaluation's pages (open a month, a unit's results, the roll-up, my history) and the policy in force."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, current_app

from webapp.config import ConfigError
from workflows.evaluation import PROCESS_ID
from workflows.evaluation.annual import PROCESS_ID as ANNUAL_PROCESS_ID
from workflows.evaluation.rollup import TaskGrouping
from workflows.rules.evaluation import EvaluationPolicy

POLICY_KEY = "canbo_evaluation_policy"


def evaluation_policy(app: Flask | None = None) -> EvaluationPolicy:
    """The EVALUATION_POLICY of the configuration, as checked when the app started."""
    return (app or current_app).extensions[POLICY_KEY]


def task_grouping(app: Flask | None = None) -> TaskGrouping:
    """The quota's task groups: EVALUATION_TASK_GROUPS maps position title codes to group names (NĐ 335 Điều 20,
    "nhóm có nhiệm vụ tương đồng"); unlisted title codes are their own group. The CLI, the roll-up page and the
    annual run read the same setting."""
    groups = (app or current_app).config.get("EVALUATION_TASK_GROUPS") or {}
    if not isinstance(groups, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in groups.items()):
        raise ConfigError("EVALUATION_TASK_GROUPS must map position title codes to group names")
    return TaskGrouping(dict(groups))


def reminder_leads(app: Flask | None = None) -> dict[str, timedelta]:
    """How long before a deadline the evaluation's tasks are reminded (the policy's reminder_days_before, §8), for
    the worker's notifications; other processes keep its default."""
    lead = timedelta(days=evaluation_policy(app).reminder_days_before)
    return {PROCESS_ID: lead, ANNUAL_PROCESS_ID: lead}
