"""Planning pages. Start: the personnel body over the unit. The plan: whoever oversees the unit (404 outside
scope), with each addition and removal linked to its procedure, the structure against its targets, and the export.
Open a ballot: personnel or the head over the review's unit, while the review is at a ballot step."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from webapp.appointment import work_calendar
from webapp.audit.reads import list_export_logged
from webapp.ballots.steps import load_instance, messages, open_ballot_page
from webapp.downloads import export_format, format_problems, send_table
from webapp.extensions import db
from webapp.http import act, problem_text, process_engine, running_case, status_for
from webapp.instances.views import warn_if_nobody_can_take
from webapp.planning import planning_policy
from webapp.planning.forms import StartForm
from workflows.access import OVERSEEING_ROLES, oversees_unit, role_units
from workflows.engine.runtime import instance_data
from workflows.errors import NotFound, Problem, WorkflowError
from workflows.inspection.reads import ViewedObject
from workflows.models import ProcessInstance
from workflows.planning import PROCESS_ID
from workflows.planning.ballots import PLANNING_BALLOTS
from workflows.planning.live import cadre_flags, review_policy
from workflows.planning.plan import (
    PLAN_COLUMNS,
    STATUS_LABELS,
    can_read_plans,
    default_plan_unit,
    history,
    plan_records,
    plan_rows,
    plan_structure,
    plan_terms,
    plan_unit,
    plan_units,
)
from workflows.planning.service import STARTING_ROLES, start_planning, startable_units
from workflows.registry.models import OrgUnit
from workflows.registry.records import TERM_PATTERN, local_today

bp = Blueprint("planning", __name__, url_prefix="/planning")


def _may_start() -> bool:
    return any(role in STARTING_ROLES for role, _unit in role_units(current_user))


@bp.route("/start", methods=["GET", "POST"])
@login_required
def start() -> Any:
    if not _may_start():
        abort(403)
    form = StartForm()
    units = startable_units(db.session, current_user)
    codes = {unit.code for unit, _depth in units}
    form.unit.choices = [("", _("Choose a unit")), *((u.code, "— " * depth + u.name) for u, depth in units)]
    if not form.is_submitted() and request.args.get("unit") in codes:
        form.unit.data = request.args.get("unit")  # from the plan page's link: the unit shown there
    errors: list[str] = []
    status = 200
    running: int | None = None
    if form.is_submitted():
        valid = form.validate()
        if form.unit.data and form.unit.data not in codes:
            # Not one of the units offered: unknown, merged or dissolved, or outside the person's scope.
            refusal = _("Choose a unit from the list: a planning review may be started only for a unit in your scope.")
            form.unit.errors = [*form.unit.errors, refusal]
            valid = False
        if not valid:
            errors, status = [_("Check the fields marked below.")], 422
        else:
            try:
                instance = act(
                    lambda: start_planning(
                        db.session,
                        process_engine(),
                        actor=current_user,
                        unit_code=form.unit.data or "",
                        term=form.term.data or "",
                        variant=form.variant.data or "",
                        policy=planning_policy(),
                        calendar=work_calendar(),
                    )
                )
            except WorkflowError as error:
                errors, status, running = messages(error), status_for(error), running_case(error)
            else:
                flash(_("The planning review was started."), "success")
                warn_if_nobody_can_take(instance.id)
                return redirect(url_for("instances.show", instance_id=instance.id))
    return render_template("planning/start.html", form=form, errors=errors, running_case=running), status


def _unit(units: list[OrgUnit]) -> OrgUnit:
    code = (request.args.get("unit") or "").strip()
    if not code:
        unit = default_plan_unit(current_user, units)
        if unit is None:
            abort(404)
        return unit
    try:
        return plan_unit(db.session, current_user, code)
    except NotFound:
        abort(404)


@bp.get("")
@login_required
def plan() -> Any:
    tree = plan_units(db.session, current_user)
    units = [unit for unit, _depth in tree]
    unit = _unit(units)
    term = (request.args.get("term") or "").strip()
    problems = format_problems()
    if term and TERM_PATTERN.fullmatch(term) is None:
        problems.append(Problem("a term is written like 2026-2031", field="term"))
    context: dict[str, Any] = {
        "units": [(u, "— " * depth + u.name) for u, depth in tree],
        "unit": unit,
        "term": term,
        "terms": plan_terms(db.session),
        "status_labels": STATUS_LABELS,
        "may_start": _may_start(),
    }
    if problems:
        errors = {problem.field: problem_text(problem) for problem in problems}
        return render_template("planning/plan.html", rows=[], events=[], figures=[], errors=errors, **context), 400
    rows = plan_rows(db.session, unit.id, term or None)
    fmt = export_format()
    if fmt is not None:
        # Who is planned for which post, as a file: a logged read (decisions 0137, 0143).
        with list_export_logged(ViewedObject.PLAN_LIST, unit.id):
            return send_table(
                plan_records(rows), PLAN_COLUMNS, fmt, f"quy-hoach-{unit.code}{'-' + term if term else ''}"
            )
    figures = plan_structure(db.session, rows, local_today(), planning_policy())
    return render_template("planning/plan.html", rows=rows, events=history(rows), figures=figures, errors={}, **context)


@bp.route("/<int:instance_id>/ballot", methods=["GET", "POST"])
@login_required
def open_ballot(instance_id: int) -> Any:
    return open_ballot_page(load_instance(instance_id, PROCESS_ID), PLANNING_BALLOTS)


@bp.get("/<int:instance_id>/structure-facts")
@login_required
def structure_facts(instance_id: int) -> Any:
    """Each cadre's part in the four structure figures, for the live panel of the nominations form: the codes of
    `?codes=a,b` that are active cadres of the review's unit (or below it), under the review's policy, today.
    404 for a review outside the user's units."""
    instance = db.session.get(ProcessInstance, instance_id)
    if (
        instance is None
        or instance.process_id != PROCESS_ID
        or not oversees_unit(db.session, current_user, instance.unit_id, OVERSEEING_ROLES)
    ):
        abort(404)
    assert instance.unit_id is not None  # oversees_unit refuses a unit-less instance
    engine = process_engine()
    workflow = engine.load(engine.definition(db.session, instance.process_version_id), instance)
    data = instance_data(workflow)
    codes = (request.args.get("codes") or "").split(",")
    facts = cadre_flags(db.session, instance.unit_id, codes, on=local_today(), policy=review_policy(data))
    return jsonify({"facts": facts})


def nav_items(user: Any) -> list[dict[str, Any]]:
    """The plan's link in the main menu, for those who oversee a unit."""
    if not can_read_plans(user):
        return []
    return [{"url": url_for("planning.plan"), "label": _("Planning"), "prefix": "planning."}]


__all__ = ["bp", "nav_items"]
