"""The live structure panel beside the nominations form ("x-live-structure": true, issue #7), built like the
evaluation's live score: the page carries the figures as the server computes them (so they are there without
JavaScript), and static/planning_structure.js adds what each typed cadre code contributes.

The script gets a candidate's facts from GET /planning/<id>/structure-facts, asked for the codes in the rows only,
rather than from the page: the eligible cadres of a unit (a province's subtree) can run to thousands, and the
page would otherwise carry the sex, age and ethnicity of everyone in the unit to whoever opens the form."""

from __future__ import annotations

from typing import Any

from flask import url_for

from webapp.extensions import db
from webapp.i18n import chart_words, format_share, structure_name, target_text
from workflows.planning.live import live_structure
from workflows.registry.records import local_today
from workflows.tasks import TaskView

TABLE, CODE = "nominations", "cadre_code"


def row_codes(form: Any) -> list[str]:
    """The cadre codes typed in the table's rows, as the form holds them (posted or drawn from the data)."""
    table = getattr(form, TABLE, None) if form is not None else None
    if table is None:
        return []
    codes = []
    for entry in table.entries:
        cell = getattr(entry.form, CODE, None) if hasattr(entry, "form") else None
        value = str(getattr(cell, "data", None) or "").strip()
        if value:
            codes.append(value)
    return codes


def live_structure_panel(view: TaskView, form: Any) -> dict[str, Any] | None:
    """What the panel needs, for a form that asks for it and a person who can act on the task.

    A figure's share is given twice (decision 0118): `percent`, the plain number (one decimal, or None when nobody
    is counted), for whatever computes with it, and `percent_text`, the label the page shows — written as the
    targets pages write a share ("76,0%" in Vietnamese, "76.0%" in English, "—"). The script writes its recount
    the same way with `decimal_mark`."""
    if not view.can_act or not (view.schema or {}).get("x-live-structure"):
        return None
    if "unit_id" not in view.context or "term" not in view.context:
        return None
    live = live_structure(db.session, view.context, row_codes(form), on=local_today())
    return {
        "figures": [
            {
                "key": f.key,
                "label": structure_name(f.key),
                "count": f"{f.numerator}/{f.denominator}",
                "percent": None if f.percent is None else round(f.percent, 1),
                "percent_text": format_share(f.percent),
                "unknown": f.unknown,
                "target": target_text(f.target) if f.target is not None else None,
                "meets": f.meets_target,
            }
            for f in live.figures
        ],
        "plan": live.plan,
        "targets": live.targets,
        "decimal_mark": chart_words().decimal_mark,
        "facts_url": url_for("planning.structure_facts", instance_id=view.instance.id),
    }
