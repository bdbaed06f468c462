from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_login import current_user, login_required

from webapp.extensions import db
from webapp.http import trusted_svg
from workflows import clock
from workflows.charts import bar_chart, stacked_bar
from workflows.registry.tabular import MEDIA_TYPES, Column, write_table
from workflows.reports import (
    UnitIndex,
    cadre_facts,
    can_view_dashboard,
    dashboard_roots,
    latest_month,
    month_grades,
    task_rows,
)
from workflows.rules.targets import (
    FIGURE_KEYS,
    HTTNV,
    HTXSNV,
    average_step_durations,
    compute_all,
    compute_figure,
    drilldown,
    grade_distribution,
    htxsnv_quota_check,
    overdue_by_unit,
    resolve_definitions,
)

bp = Blueprint("reports", __name__, url_prefix="/reports")

DRILLDOWN_COLUMNS = [
    Column("code", "Mã cán bộ", "text"),
    Column("full_name", "Họ và tên", "text"),
    Column("unit_name", "Đơn vị", "text"),
    Column("counted", "Được tính vào tử số", "text"),
]


def _scope() -> list[int]:
    if not can_view_dashboard(current_user):
        abort(403)
    return dashboard_roots(current_user)


def _config() -> dict[str, Any]:
    return current_app.config.get("TARGETS", {}) or {}


@bp.get("/targets")
@login_required
def targets() -> str:
    roots = _scope()
    today = clock.now().date()
    index = UnitIndex(db.session)
    facts = cadre_facts(db.session, roots, index)
    figures = compute_all(facts, today, _config())
    definitions = resolve_definitions(_config())
    overview = trusted_svg(
        bar_chart(
            [(definitions[f.key].label_vi, f.percent) for f in figures],
            title="Các chỉ tiêu so với mục tiêu",
        )
    )
    month = latest_month(db.session)
    grades_chart, quota_rows = None, []
    if month:
        distribution = grade_distribution(month_grades(db.session, month, roots, index))
        ordered = sorted(distribution.items(), key=lambda item: index.name(item[0]))
        checks = [htxsnv_quota_check(counts) for _commune, counts in ordered]
        if ordered:
            grades_chart = trusted_svg(
                stacked_bar(
                    [(index.name(commune), counts) for commune, counts in ordered],
                    title=f"Xếp loại tháng {month}",
                    row_notes=[f"Vượt tỷ lệ HTXSNV: {c.over_by}" if c.over_by else None for c in checks],
                )
            )
        for (commune, counts), check in zip(ordered, checks, strict=True):
            quota_rows.append((index.name(commune), counts.get(HTXSNV, 0), counts.get(HTTNV, 0), check))
    now = clock.utcnow_naive()
    tasks = task_rows(db.session, roots, index, now - timedelta(days=90))
    steps = average_step_durations(
        [(t.process_id, t.name, t.opened_dt, t.closed_dt) for t in tasks if t.closed_dt is not None]
    )
    overdue = [
        (index.name(o.unit_id), o.process_id, o.open_count, o.overdue_count)
        for o in overdue_by_unit([(t.id, t.unit_id, t.process_id, t.due_dt, t.closed_dt) for t in tasks], now)
        if o.open_count
    ]
    return render_template(
        "reports/targets.html",
        figures=figures,
        definitions=definitions,
        overview=overview,
        month=month,
        grades_chart=grades_chart,
        quota_rows=quota_rows,
        steps=steps,
        overdue=overdue,
        cadre_count=len(facts),
    )


@bp.get("/targets/<key>")
@login_required
def figure(key: str) -> Any:
    roots = _scope()
    if key not in FIGURE_KEYS:
        abort(404)
    today = clock.now().date()
    index = UnitIndex(db.session)
    facts = cadre_facts(db.session, roots, index)
    result = compute_figure(key, facts, today, _config())
    definition = resolve_definitions(_config())[key]
    rows = drilldown(result, facts)
    fmt = request.args.get("format")
    if fmt in ("xlsx", "csv"):
        records = [
            {
                "code": r.code,
                "full_name": r.full_name,
                "unit_name": r.unit_name,
                "counted": "Có" if r.counted else ("Không" if r.counted is False else "Chưa rõ"),
            }
            for r in rows
        ]
        content = write_table(records, DRILLDOWN_COLUMNS, fmt)  # type: ignore[arg-type]
        return Response(
            content,
            mimetype=MEDIA_TYPES[fmt],
            headers={"Content-Disposition": f'attachment; filename="{key}.{fmt}"'},
        )
    by_commune: dict[int, list[Any]] = {}
    for fact in facts:
        if fact.commune_id is not None:
            by_commune.setdefault(fact.commune_id, []).append(fact)
    per_commune = [
        (index.name(c), compute_figure(key, group, today, _config()).percent) for c, group in by_commune.items()
    ]
    chart = trusted_svg(
        bar_chart(
            sorted(per_commune),
            title=definition.label_vi,
            target=definition.reference_value,
            target_label=f"Mục tiêu {definition.target_text}",
        )
    )
    return render_template("reports/figure.html", figure=result, definition=definition, rows=rows, chart=chart)
