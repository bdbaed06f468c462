"""Beside the monthly evaluation's numbers, what the other side of the review wrote.

- **The cadre's returned self-assessment**: the direct leader's return comment at the top of the form, and beside
  each value he questioned, her own value (still in the field: a return keeps her numbers, decision 0105), the one
  he proposes and his reason, marked (the review writes them as `review_changes`,
  workflows.evaluation.hooks.review_changes).
- **The direct leader's review**: beside each value he may adjust, the cadre's own, so that it stays in sight once
  he has typed his.

Server-rendered: `notes` maps a field's path as the engine names it (`criteria_politics`, `products.1.completed`)
to what is shown under its input (tasks/_fields.html)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from webapp.i18n import data_text
from workflows.evaluation import PROCESS_ID
from workflows.evaluation.hooks import CRITERIA_FIELDS
from workflows.states import TaskStatus
from workflows.tasks import TaskView

SELF_ASSESSMENT, REVIEW = "self_assessment", "manager_review"
# The product columns the direct leader may adjust (forms/evaluation_review.json, `reason` aside).
ADJUSTABLE_COLUMNS = (
    "name",
    "assigned",
    "completed",
    "completed_quality",
    "completed_on_time",
    "major_errors",
    "delays",
)


def _text(value: Any) -> str:
    shown = data_text(value)
    return "—" if shown is None or shown == "" else str(shown)


def _returned(context: Mapping[str, Any]) -> dict[str, Any]:
    changes = context.get("review_changes")
    fields: dict[str, dict[str, Any]] = {}
    for path, change in (changes if isinstance(changes, Mapping) else {}).items():
        if isinstance(change, Mapping):
            fields[str(path)] = {
                "before": _text(change.get("before")),
                "after": _text(change.get("after")),
                "reason": str(change.get("reason") or "") or None,
            }
    comment = context.get("comment")
    return {"comment": comment if isinstance(comment, str) and comment.strip() else None, "fields": fields}


def _own_values(context: Mapping[str, Any]) -> dict[str, Any]:
    fields: dict[str, dict[str, Any]] = {name: {"own": _text(context.get(name))} for name in CRITERIA_FIELDS}
    products = context.get("products")
    for index, row in enumerate(products if isinstance(products, list) else []):
        if isinstance(row, Mapping):
            for column in ADJUSTABLE_COLUMNS:
                fields[f"products.{index}.{column}"] = {"own": _text(row.get(column))}
    return {"comment": None, "fields": fields}


def review_notes(view: TaskView) -> dict[str, Any] | None:
    """What the page shows beside the fields of an open monthly self-assessment that was returned, or of an open
    review; None for any other task."""
    if view.task.process_id != PROCESS_ID or view.task.status != TaskStatus.OPEN or not view.can_act:
        return None
    if view.task.task_key == SELF_ASSESSMENT and view.context.get("decision") == "return":
        return _returned(view.context)
    if view.task.task_key == REVIEW:
        return _own_values(view.context)
    return None
