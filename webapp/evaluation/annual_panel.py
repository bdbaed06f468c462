"""The roll-up beside the head's confirmation of the annual grading run ("x-annual-rollup": true on the form): the
task's data holds the roll-up as JSON (workflows.evaluation.annual.rollup_data); the page shows it as a table, one
row per cadre: name, annual score, proposed grade, the grade on the record for the year (if any) and whether the
cadre is over the HTXSNV quota."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from webapp.extensions import db
from workflows.registry.models import EvaluationResult
from workflows.rules.evaluation import GRADE_LABELS
from workflows.tasks import TaskView

FLAG = "x-annual-rollup"


def _score(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return f"{value:.2f}"


def annual_rollup_panel(view: TaskView) -> dict[str, Any] | None:
    """What the table needs, for a form that asks for it and task data that holds a roll-up."""
    if not (view.schema or {}).get(FLAG):
        return None
    if not isinstance(view.context.get("cadres"), list):
        return None
    cadres = [row for row in view.context["cadres"] if isinstance(row, Mapping)]
    over = {str(code) for code in view.context.get("over_quota") or []}
    year = str(view.context.get("year") or "")
    ids = [row["cadre_id"] for row in cadres if isinstance(row.get("cadre_id"), int)]
    recorded: dict[int, str] = {}
    if ids and year:
        found = db.session.execute(
            select(EvaluationResult.cadre_id, EvaluationResult.grade).where(
                EvaluationResult.cadre_id.in_(ids),
                EvaluationResult.period_kind == "year",
                EvaluationResult.period == year,
            )
        )
        recorded = {cadre_id: grade for cadre_id, grade in found}
    rows = [
        {
            "code": str(row.get("code") or ""),
            "full_name": str(row.get("full_name") or ""),
            "unit_code": str(row.get("unit_code") or ""),
            # a run started before the roll-up carried unit names shows the code
            "unit_name": str(row.get("unit_name") or row.get("unit_code") or ""),
            "task_group": str(row.get("task_group") or ""),
            "months_worked": row.get("months_worked"),
            "score": _score(row.get("annual_score")),
            "proposed_grade": row.get("proposed_grade") if isinstance(row.get("proposed_grade"), str) else None,
            "recorded_grade": recorded.get(row["cadre_id"]) if isinstance(row.get("cadre_id"), int) else None,
            "over_quota": str(row.get("code")) in over,
        }
        for row in cadres
    ]
    return {"year": year, "rows": rows, "labels": GRADE_LABELS, "over_count": len(over)}
