from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from webapp.audit.reads import list_export_logged
from webapp.downloads import send_table
from webapp.http import Pagination, trusted_svg
from webapp.i18n import chart_words, format_share, target_text
from webapp.query_args import page_arg, page_within
from webapp.reports.replica import reports_session
from workflows import clock
from workflows.charts import bar_chart, stacked_bar
from workflows.inspection.reads import ViewedObject
from workflows.instances import deployed_processes
from workflows.planning.plan import scope_structure
from workflows.registry.records import local_today
from workflows.registry.tabular import Column
from workflows.reports import (
    COUNTED_FILTERS,
    UnitIndex,
    can_view_dashboard,
    dashboard_roots,
    figure_counts,
    figure_rows,
    latest_month,
    month_grade_counts,
    task_rows,
)
from workflows.rules.evaluation import month_text
from workflows.rules.targets import (
    FIGURE_KEYS,
    HTTNV,
    HTXSNV,
    Figure,
    Shortfall,
    TargetDefinition,
    average_step_durations,
    figure_from_counts,
    grade_distribution_from_counts,
    htxsnv_quota_check,
    overdue_by_unit,
    people_short,
    resolve_definitions,
)
from workflows.text import slug

bp = Blueprint("reports", __name__, url_prefix="/reports")

DRILLDOWN_COLUMNS = [
    Column("code", "Mã cán bộ", "text"),
    Column("full_name", "Họ và tên", "text"),
    Column("unit_name", "Đơn vị", "text"),
    Column("counted", "Được tính vào tử số", "text"),
    Column("basis", "Căn cứ tính", "text"),
]
PER_PAGE = 100


def _scope() -> list[int]:
    if not can_view_dashboard(current_user):
        abort(403)
    return dashboard_roots(current_user)


def _definitions() -> dict[str, TargetDefinition]:
    return resolve_definitions(current_app.config.get("TARGETS", {}) or {})


@bp.get("/targets")
@login_required
def targets() -> str:
    roots = _scope()
    today = local_today()  # the province's day: after 17:00 UTC it is already tomorrow in Vietnam
    definitions = _definitions()
    reads = reports_session()  # the figures come from the reports replica when there is one
    index = UnitIndex(reads)
    counts = figure_counts(reads, roots, today, definitions, index)
    figures = [figure_from_counts(definitions[key], counts.total(key)) for key in FIGURE_KEYS]
    shortfalls = {key: people_short(definitions[key], counts.total(key)) for key in FIGURE_KEYS}
    overview = trusted_svg(
        bar_chart(
            [(definitions[f.key].label_vi, f.percent) for f in figures],
            words=chart_words(),
            title=_("The targets against their goals"),
            targets=[definitions[f.key].reference_value for f in figures],
            target_label=_("Dashed mark: each figure's target"),
        )
    )
    month = latest_month(reads)
    grades_chart, quota_rows = None, []
    if month:
        distribution = grade_distribution_from_counts(month_grade_counts(reads, month, roots, index))
        ordered = sorted(distribution.items(), key=lambda item: index.name(item[0]))
        checks = [htxsnv_quota_check(grades) for _commune, grades in ordered]
        if ordered:
            grades_chart = trusted_svg(
                stacked_bar(
                    [(index.name(commune), grades) for commune, grades in ordered],
                    words=chart_words(),
                    title=_("Grades, month %(month)s", month=month_text(month)),
                    row_notes=[
                        _("HTXSNV over the quota: %(count)d", count=c.over_by) if c.over_by else None for c in checks
                    ],
                )
            )
        for (commune, grades), check in zip(ordered, checks, strict=True):
            quota_rows.append((index.name(commune), grades.get(HTXSNV, 0), grades.get(HTTNV, 0), check))
    now = clock.utcnow_naive()
    tasks = task_rows(reads, roots, now - timedelta(days=90))
    steps = average_step_durations(
        [(t.process_id, t.name, t.opened_dt, t.closed_dt) for t in tasks if t.closed_dt is not None]
    )
    overdue = [
        (index.name(o.unit_id), o.process_id, o.open_count, o.overdue_count)
        for o in overdue_by_unit([(t.id, t.unit_id, t.process_id, t.due_dt, t.closed_dt) for t in tasks], now)
        if o.open_count
    ]
    planning_term, planning_figures = scope_structure(reads, roots, today)
    return render_template(
        "reports/targets.html",
        planning_term=planning_term,
        planning_figures=planning_figures,
        figures=figures,
        shortfalls=shortfalls,
        definitions=definitions,
        overview=overview,
        month=month,
        grades_chart=grades_chart,
        quota_rows=quota_rows,
        steps=steps,
        overdue=overdue,
        process_names={choice.process_id: choice.name for choice in deployed_processes(reads)},
        cadre_count=counts.cadres,
    )


@bp.get("/targets/<key>")
@login_required
def figure(key: str) -> Any:
    roots = _scope()
    if key not in FIGURE_KEYS:
        abort(404)
    today = local_today()  # the province's day: after 17:00 UTC it is already tomorrow in Vietnam
    definitions = _definitions()
    definition = definitions[key]
    reads = reports_session()  # the figures come from the reports replica when there is one
    index = UnitIndex(reads)
    counted = request.args.get("counted")
    if counted not in COUNTED_FILTERS:
        counted = None
    counts = figure_counts(reads, roots, today, definitions, index, keys=[key])
    result = figure_from_counts(definition, counts.total(key))
    shortfall = people_short(definition, counts.total(key))
    fmt = request.args.get("format")
    if fmt in ("xlsx", "csv"):
        everyone, _total = figure_rows(reads, roots, today, definitions, index, key, counted=counted)
        records = [
            {
                "code": r.code,
                "full_name": r.full_name,
                "unit_name": r.unit_name,
                "counted": "Có" if r.counted else ("Không" if r.counted is False else "Chưa rõ"),
                "basis": r.basis,
            }
            for r in everyone
        ]
        title_rows = _export_title(result, shortfall, counted, [index.name(root) for root in roots], today)
        # The people behind a figure, by name, as a file: a logged read (decisions 0137, 0143). The log is written to
        # the primary; the rows were read from the reports replica, if there is one.
        with list_export_logged(ViewedObject.FIGURE_LIST, min(roots) if roots else None):
            return send_table(records, DRILLDOWN_COLUMNS, fmt, slug(definition.label_vi), title_rows=title_rows)

    def rows_of(page: int) -> tuple[Any, int]:
        return figure_rows(
            reads,
            roots,
            today,
            definitions,
            index,
            key,
            counted=counted,
            limit=PER_PAGE,
            offset=(page - 1) * PER_PAGE,
        )

    page = page_arg(request.args)
    rows, total = rows_of(page)
    if page != page_within(page, total, PER_PAGE):
        # Past the last page shows the last, as every list does (the total is only known once read).
        page = page_within(page, total, PER_PAGE)
        rows, total = rows_of(page)
    per_commune = [
        (index.name(commune), figure_from_counts(definition, by_key[key]).percent)
        for commune, by_key in counts.by_commune.items()
        if commune is not None
    ]
    chart = trusted_svg(
        bar_chart(
            sorted(per_commune, key=lambda item: item[0]),
            words=chart_words(),
            title=definition.label_vi,
            target=definition.reference_value,
            target_label=_("Target %(target)s", target=target_text(definition)),
        )
    )
    return render_template(
        "reports/figure.html",
        figure=result,
        shortfall=shortfall,
        definition=definition,
        rows=rows,
        chart=chart,
        counted=counted,
        page=Pagination(page, total, PER_PAGE),
    )


def _counted_filter_text(counted: str | None) -> str:
    return {
        None: _("everyone"),
        "yes": _("in the numerator"),
        "no": _("not in the numerator"),
        "unknown": _("unknown"),
    }[counted]


def _export_title(
    figure: Figure, shortfall: Shortfall, counted: str | None, scope: list[str], today: date
) -> list[str]:
    """The lines above the drill-down table in its .xlsx: what the figure is, where it stands, as of when, and
    which people the file lists."""
    definition = figure.target
    # As the page writes it (`format_share`): a line of text in the reader's language, so its number is written
    # their way too, not as a number cell (decision 0104).
    value = (
        f"{format_share(figure.percent)} ({figure.numerator}/{figure.denominator})"
        if figure.percent is not None
        else "—"
    )
    if figure.unknown:
        value += " · " + _("unknown: %(n)d", n=figure.unknown)
    return [
        definition.label_vi,
        _("Value: %(value)s", value=value),
        _("Target: %(target)s · short by: %(short)s", target=target_text(definition), short=shortfall.text),
        _("Computed on: %(day)s", day=f"{today:%d/%m/%Y}"),
        _("Listed: %(who)s · scope: %(units)s", who=_counted_filter_text(counted), units=", ".join(scope)),
        _("Source: %(source)s", source=definition.source),
    ]
