"""Monthly evaluation pages: open a month for a unit, a unit's results of a month (chart, list, export), the
quarterly and annual roll-up with the HTXSNV quota (list, export), and the signed-in cadre's own history of monthly
scores."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import or_, select

from webapp.audit.reads import list_export_logged
from webapp.downloads import export_format, format_problems, send_table
from webapp.evaluation import evaluation_policy, task_grouping
from webapp.evaluation.forms import AnnualRunForm, OpenMonthForm
from webapp.evaluation.opening import OpeningPreview, OpeningSummary, open_month, preview_month, shown_codes
from webapp.extensions import db
from webapp.http import act, problem_text, process_engine, refusal_on_fields, status_for, translated, trusted_svg
from webapp.i18n import chart_words, task_group_name
from webapp.instances.views import STATUS_LABELS
from webapp.query_args import page_arg
from webapp.start_form import unit_tree
from workflows.access import in_subtree, role_units, visible_instance_ids
from workflows.charts import bar_chart, stacked_bar
from workflows.errors import Invalid, NotAllowed, NotFound, WorkflowError
from workflows.evaluation.annual import PROCESS_ID as ANNUAL_PROCESS_ID
from workflows.evaluation.annual import business_key as annual_business_key
from workflows.evaluation.annual import start_annual_run
from workflows.evaluation.opening import OPENING_ROLES
from workflows.evaluation.products import read_assigned_products
from workflows.evaluation.results import (
    FULL,
    RESULT_COLUMNS,
    STAGES,
    MonthQuery,
    iter_month_results,
    latest_month,
    month_page,
    month_problems,
    monthly_history,
    period_history,
    read_month,
    result_access,
    result_records,
    result_units,
)
from workflows.evaluation.rollup import (
    PERIODS,
    ROLLUP_COLUMNS,
    VIEW_ROLES,
    YEAR_PERIOD,
    build_rollup,
    period_problems,
    period_records,
    period_rollup,
    year_problems,
)
from workflows.exports import ListPage
from workflows.inspection.reads import ViewedObject
from workflows.models import ProcessInstance
from workflows.registry.models import OrgUnit
from workflows.registry.records import local_today
from workflows.reports import can_view_dashboard
from workflows.rules.evaluation import GRADE_LABELS, month_text

bp = Blueprint("evaluation", __name__, url_prefix="/evaluation")


@bp.context_processor
def _tabs() -> dict[str, Any]:
    signed_in = current_user.is_authenticated
    return {
        "can_open_evaluations": signed_in and can_open_any(current_user),
        "can_view_rollups": signed_in and can_view_rollups(current_user),
        # The registry's list of every result (months, quarters, years) across the units in scope.
        "can_list_all_results": signed_in and can_view_dashboard(current_user),
    }


def can_open_any(user: Any) -> bool:
    return any(role in OPENING_ROLES for role, _unit in role_units(user))


def can_view_rollups(user: Any) -> bool:
    return any(role in VIEW_ROLES for role, _unit in role_units(user))


def _units_under(roles: tuple[str, ...], *, open_only: bool = False) -> list[OrgUnit]:
    """The units in the subtrees where the signed-in person holds one of `roles`; with `open_only`, only those that
    still stand today (not merged, not dissolved)."""
    roots = {unit_id for role, unit_id in role_units(current_user) if role in roles}
    if not roots:
        return []
    query = select(OrgUnit).where(or_(*(in_subtree(OrgUnit, r) for r in roots)))
    if open_only:
        today = local_today()
        query = query.where(
            OrgUnit.is_active,
            OrgUnit.merged_into_id.is_(None),
            or_(OrgUnit.active_to.is_(None), OrgUnit.active_to >= today),
        )
    return list(db.session.scalars(query.order_by(OrgUnit.path, OrgUnit.name)))


def _refusal_on_form(form: Any, error: WorkflowError) -> list[str]:
    """As `refusal_on_fields`, and a unit out of reach is said on the unit field."""
    if isinstance(error, NotFound | NotAllowed):
        form.unit.errors = [*form.unit.errors, translated(error)]
        return []
    return refusal_on_fields(form, error)


# -- opening a month -------------------------------------------------------------------------------------------------


def _assigned_products(form: OpenMonthForm) -> dict[str, list[dict[str, Any]]] | None:
    """The uploaded file of the month's assigned work products, checked whole; None when none was sent. A file that
    cannot be used puts every problem (by row and column) on the field, and nothing is opened."""
    upload = form.products.data
    if not upload or not getattr(upload, "filename", ""):
        return None
    try:
        return read_assigned_products(upload.read(), upload.filename)
    except Invalid as error:
        form.products.errors = [translated(error), *(problem_text(problem) for problem in error.problems)]
        return None


@bp.route("/open", methods=["GET", "POST"])
@login_required
def open_page() -> Any:
    """Two steps, nothing written by the first: the month and the unit give a preview (how many would be opened,
    how many of those cadres have no login); the preview's confirm button opens, skipping or including the cadres
    without a login as chosen."""
    if not can_open_any(current_user):
        abort(403)
    units = _units_under(OPENING_ROLES, open_only=True)
    form = OpenMonthForm()
    form.unit.choices = [(unit.code, label) for unit, label in unit_tree(units)]
    if request.method == "GET":
        form.month.data = form.month.data or f"{local_today():%Y-%m}"
    problems: list[str] = []
    preview: OpeningPreview | None = None
    status = 200
    if request.method == "POST":
        status = 422
        valid = form.validate_on_submit()
        confirmed = valid and form.confirm.data == "1"
        products = _assigned_products(form) if confirmed else None
        if valid:
            actor = current_user._get_current_object()
            choice = {
                "actor": actor,
                "month": form.month.data or "",
                "unit_code": form.unit.data or "",
                "include_subunits": bool(form.include_subunits.data),
            }
            try:
                if not confirmed or form.products.errors:
                    preview = preview_month(**choice)
                    status = 422 if form.products.errors else 200
                else:
                    summary = open_month(
                        **choice, skip_without_account=form.without_account.data != "open", products=products
                    )
            except WorkflowError as error:
                preview = None
                status = status_for(error)
                problems = _refusal_on_form(form, error)
            else:
                if preview is None:
                    _flash_opened(summary)
                    # The results as opened: with the units below when they were included, else the 62 just opened
                    # would not be on the page.
                    subunits = {"subunits": "1"} if form.include_subunits.data else {}
                    return redirect(
                        url_for("evaluation.results", unit=summary.unit_code, month=summary.month, **subunits)
                    )
    page = render_template("evaluation/open.html", form=form, problems=problems, units=units, preview=preview)
    return page, status


def _flash_opened(summary: OpeningSummary) -> None:
    """What the opening did, the cadres without a login said once: those skipped (the default), or those opened
    with nobody to receive their form (when the person chose to open theirs too)."""
    flash(
        _(
            "Month %(month)s, %(unit)s: %(opened)s evaluations opened, %(already)s already open.",
            month=month_text(summary.month),
            unit=summary.unit_name,
            opened=summary.opened,
            already=summary.already_open,
        ),
        "success",
    )
    if summary.skipped_without_account:
        flash(
            _(
                "%(count)s cadres without a login were not opened. Once the administrator has given them a login, "
                "open the month again: only they will be opened.",
                count=summary.skipped_without_account,
            ),
            "warning",
        )
    elif summary.without_account:
        flash(
            _(
                "Of the evaluations opened, %(count)s are for cadres without a login: they reach nobody's inbox "
                "until the administrator assigns them from the unassigned list.",
                count=summary.without_account,
            ),
            "warning",
        )
    if summary.products_not_used:
        shown, more = shown_codes(summary.products_not_used)
        flash(
            _(
                "The assigned products file has rows for %(count)s cadres this opening did not open "
                "(unknown code, outside the unit, no longer active, or already open): those rows were "
                "not used. %(codes)s",
                count=len(summary.products_not_used),
                codes=_("%(codes)s and %(more)s more", codes=shown, more=more) if more else shown,
            ),
            "warning",
        )
    for reason, codes in summary.refused_by_reason().items():
        shown, more = shown_codes(codes)
        flash(
            _(
                "%(count)s evaluations were not opened, as starting each of them on its own would be refused: "
                "“%(reason)s”. %(codes)s",
                count=len(codes),
                reason=_(reason),
                codes=_("%(codes)s and %(more)s more", codes=shown, more=more) if more else shown,
            ),
            "warning",
        )
    for step, codes in summary.failed_by_step().items():
        shown, more = shown_codes(codes)
        flash(
            _(
                "%(count)s evaluations could not be opened: the procedure has a technical problem at the step "
                "“%(step)s” for these cadres; the administrators have been told. Open the month again once it is "
                "fixed: only they will be opened. %(codes)s",
                count=len(codes),
                step=step,
                codes=_("%(codes)s and %(more)s more", codes=shown, more=more) if more else shown,
            ),
            "error",
        )


# -- the annual grading run ------------------------------------------------------------------------------------------


@bp.route("/annual", methods=["GET", "POST"])
@login_required
def annual_page() -> Any:
    """Personnel officers start a unit's annual grading run (before 15/12); the run itself is an ordinary process
    whose tasks reach the inbox: prepare (personnel), confirm and resolve the HTXSNV quota (the head)."""
    if not can_open_any(current_user):
        abort(403)
    units = _units_under(OPENING_ROLES)
    form = AnnualRunForm()
    form.unit.choices = [(unit.code, label) for unit, label in unit_tree(units)]
    if request.method == "GET":
        form.year.data = form.year.data or f"{local_today():%Y}"
    problems: list[str] = []
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            actor = current_user._get_current_object()
            try:
                instance_id = act(
                    lambda: start_annual_run(
                        db.session,
                        process_engine(),
                        actor=actor,
                        unit_code=form.unit.data or "",
                        year=form.year.data or "",
                        include_subunits=bool(form.include_subunits.data),
                        grouping=task_grouping(),
                        policy=evaluation_policy(),
                    )
                )
            except WorkflowError as error:
                status = status_for(error)
                problems = _refusal_on_form(form, error)
            else:
                flash(_("The annual grading run has started; its first task is in the inbox."), "success")
                return redirect(url_for("instances.show", instance_id=instance_id))
    return render_template("evaluation/annual.html", form=form, problems=problems), status


# -- a unit's results ------------------------------------------------------------------------------------------------


def _results_unit(units: list[OrgUnit]) -> OrgUnit:
    code = (request.args.get("unit") or "").strip()
    if not code:
        if not units:
            abort(404)
        own = next((unit for unit in units if unit.id == current_user.unit_id), None)
        return own or units[0]
    unit = db.session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    if unit is None:
        abort(404)
    return unit


RESULTS_PER_PAGE = 100


@bp.get("/results")
@login_required
def results() -> Any:
    published = evaluation_policy().results_published_in_unit
    units = result_units(db.session, current_user, published_in_unit=published)
    if not units and not request.args.get("unit"):
        return redirect(url_for("evaluation.mine"))  # results not published in the unit: their own, on their page
    unit = _results_unit(units)
    access = result_access(db.session, current_user, unit.id, published_in_unit=published)
    if access is None:
        abort(404)  # outside scope: as if the unit did not exist
    # "11/2026", "tháng 11/2026" or "2026-11"; the box keeps what was typed, the page reads the month it names.
    typed = (request.args.get("month") or "").strip()
    month = read_month(typed) if typed else latest_month(db.session, unit.id) or f"{local_today():%Y-%m}"
    # The units below are for those who oversee the unit; its own people see what is published in their unit only.
    include_subunits = request.args.get("subunits") == "1" and access == FULL
    problems = month_problems(month) + format_problems()
    context: dict[str, Any] = {
        "units": units,
        "unit": unit,
        "month": month,
        "month_typed": typed or month_text(month),  # as the box's example writes it, not the stored "2026-11"
        "access": access,
        "include_subunits": include_subunits,
    }
    if problems:
        errors = {problem.field: problem_text(problem) for problem in problems}
        return render_template("evaluation/results.html", page=None, errors=errors, chart=None, **context), 400
    query = MonthQuery(unit.id, month, access, include_subunits)
    fmt = export_format()
    if fmt is not None:
        records = result_records(iter_month_results(db.session, query))
        suffix = "-va-don-vi-truc-thuoc" if include_subunits else ""
        # Each cadre's grade of the month, as a file: a logged read (decisions 0137, 0143).
        with list_export_logged(ViewedObject.MONTH_RESULTS_LIST, unit.id):
            return send_table(records, RESULT_COLUMNS, fmt, f"ket-qua-danh-gia-{unit.code}{suffix}-{month}")
    # The progress summary's links narrow the list to a stage (only those who see the evaluations under way).
    stage = request.args.get("stage") if access == FULL else None
    page = month_page(db.session, query, page=page_arg(request.args), per_page=RESULTS_PER_PAGE, stage=stage)
    # A name links to its evaluation only when the instance page would open for this reader (a unit head's
    # evaluation runs in the unit above: the unit's supervisor cannot open it).
    readable = visible_instance_ids(db.session, current_user, (row.instance_id for row in page.rows))
    shown_month = month_text(month)
    title = (
        _("Grades of %(month)s: %(unit)s and the units below", month=shown_month, unit=unit.name)
        if include_subunits
        else _("Grades of %(month)s: %(unit)s", month=shown_month, unit=unit.name)
    )
    chart = trusted_svg(
        stacked_bar([(unit.name, page.counts)] if any(page.counts.values()) else [], title=title, words=chart_words())
    )
    return render_template(
        "evaluation/results.html",
        page=page,
        errors={},
        chart=chart,
        labels=GRADE_LABELS,
        stages=STAGES,
        readable=readable,
        **context,
    )


# -- the quarterly and annual roll-up --------------------------------------------------------------------------------

ROLLUP_PER_PAGE = 100


@bp.get("/rollup")
@login_required
def rollup() -> Any:
    """A unit's year or quarter from the monthly results: each cadre's score and proposed grade, what is recorded,
    and the HTXSNV quota per (unit, task group) with who is over it; the same list as .xlsx/.csv."""
    if not can_view_rollups(current_user):
        abort(403)
    units = _units_under(VIEW_ROLES)
    code = (request.args.get("unit") or "").strip()
    unit = next((u for u in units if u.code == code), None) if code else (units[0] if units else None)
    if unit is None:
        abort(404)  # unknown, or outside the units this person oversees: the same answer
    year = (request.args.get("year") or "").strip() or f"{local_today():%Y}"
    period = (request.args.get("period") or "").strip() or YEAR_PERIOD
    include_subunits = request.args.get("subunits") == "1"
    context: dict[str, Any] = {
        "units": units,
        "unit": unit,
        "year": year,
        "period": period,
        "periods": PERIODS,
        "include_subunits": include_subunits,
        "labels": GRADE_LABELS,
    }
    problems = year_problems(year, local_today()) + period_problems(period) + format_problems()
    if problems:
        errors = {problem.field: problem_text(problem) for problem in problems}
        return render_template("evaluation/rollup.html", view=None, errors=errors, **context), 400
    actor = current_user._get_current_object()
    try:
        built = build_rollup(
            db.session,
            actor=actor,
            unit_code=unit.code,
            year=year,
            include_subunits=include_subunits,
            grouping=task_grouping(),
            policy=evaluation_policy(),
        )
        view = period_rollup(db.session, built, period)
    except (NotFound, NotAllowed):
        abort(404)
    fmt = export_format()
    if fmt is not None:
        label = view.period.replace("-", "")
        # The task groups by name, as the page shows them (the unit by name and code: period_records)
        records = ({**record, "task_group": task_group_name(record["task_group"])} for record in period_records(view))
        with list_export_logged(ViewedObject.ROLLUP_LIST, unit.id):  # each cadre's grades of the period
            return send_table(records, ROLLUP_COLUMNS, fmt, f"tong-hop-danh-gia-{unit.code}-{label}")
    number = page_arg(request.args)
    page = ListPage([], len(view.rows), 1, ROLLUP_PER_PAGE)
    page.page = min(max(1, number), page.pages)
    start = (page.page - 1) * ROLLUP_PER_PAGE
    annual_run = db.session.scalar(
        select(ProcessInstance).where(
            ProcessInstance.process_id == ANNUAL_PROCESS_ID,
            ProcessInstance.business_key == annual_business_key(built.year, unit.code),
        )
    )
    return render_template(
        "evaluation/rollup.html",
        view=view,
        rows=view.rows[start : start + ROLLUP_PER_PAGE],
        page=page,
        annual_run=annual_run,
        status_labels=STATUS_LABELS,
        errors={},
        **context,
    )


# -- my history ------------------------------------------------------------------------------------------------------


@bp.get("/mine")
@login_required
def mine() -> str:
    history = (
        monthly_history(db.session, current_user.cadre_id, viewer=current_user)
        if current_user.cadre_id is not None
        else []
    )
    periods = period_history(db.session, current_user.cadre_id) if current_user.cadre_id is not None else []
    chart = None
    if history:
        chart = trusted_svg(
            bar_chart(
                [(month_text(row.period), row.score) for row in history],
                words=chart_words(),
                title=_("My monthly scores"),
                unit=_("points"),
                max_value=100,
                target=90,
                target_label=_("90 points and above: HTXSNV"),
            )
        )
    return render_template(
        "evaluation/mine.html",
        history=list(reversed(history)),
        periods=periods,
        chart=chart,
        labels=GRADE_LABELS,
        has_cadre=current_user.cadre_id is not None,
    )


def nav_items(user: Any) -> list[dict[str, Any]]:
    """The evaluation's link in the main menu; its pages link to each other by role (evaluation/_tabs.html)."""
    return [{"url": url_for("evaluation.results"), "label": _("Monthly evaluation"), "prefix": "evaluation."}]


__all__ = ["bp", "can_open_any", "can_view_rollups", "nav_items"]
