"""Appointment pages. Start: the personnel body over the post's unit; its "Check the conditions" button runs the
eligibility rules on the choice and starts nothing (refused and scoped as the start is). Open a ballot: personnel or
the head over the procedure's unit, while the procedure is at a ballot step. Each route loads (404 outside scope),
checks (403), calls one service and redirects."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from webapp.appointment import appointment_policy, work_calendar
from webapp.appointment.forms import StartForm
from webapp.appointment.preview import appointment_rows
from webapp.ballots.steps import load_instance, open_ballot_page
from webapp.eligibility import PreviewRow, warn_of_unmet_rules
from webapp.extensions import db
from webapp.http import act, process_engine, refusal_on_fields, running_case, status_for
from webapp.instances.views import warn_if_nobody_can_take
from webapp.start_form import cadre_suggestions, cadres_json, post_picker, posts_json, showing_posts
from workflows.access import role_units
from workflows.appointment import PROCESS_ID
from workflows.appointment.ballots import APPOINTMENT_BALLOTS
from workflows.appointment.service import STARTING_ROLES, preview_eligibility, start_appointment
from workflows.errors import WorkflowError
from workflows.instances import active_cadres_named
from workflows.registry.models import Cadre, Position
from workflows.rules.appointment import RuleResult

bp = Blueprint("appointment", __name__, url_prefix="/appointments")


def _may_start() -> bool:
    return any(role in STARTING_ROLES for role, _unit in role_units(current_user))


def _post_of_chosen_unit(form: StartForm) -> bool:
    """The post belongs to the unit chosen (no unit chosen, or no such post: the service answers)."""
    if form.unit.data is None:
        return True
    post = db.session.get(Position, form.position.data)
    return post is None or post.unit_id == form.unit.data


def _cadre_by_name(form: StartForm) -> str | None:
    """The picker's text when it is a name, not a code (typed without choosing a suggestion): one active cadre of
    that name stands for their code; several are named by code so the person can choose. Returns the page's
    message when the name cannot decide, else None (the code, or the name's one cadre, goes to the service)."""
    typed = (form.cadre.data or "").strip()
    if not typed or db.session.scalar(select(Cadre.id).where(Cadre.code == typed)) is not None:
        return None
    named = active_cadres_named(db.session, typed)
    if len(named) == 1:
        form.cadre.data = named[0].code
        return None
    if named:
        codes = ", ".join(cadre.code for cadre in named[:5])
        message = _("Several cadres are named %(name)s (%(codes)s): choose one from the list.", name=typed, codes=codes)
        form.cadre.errors = [*form.cadre.errors, message]
        return _("Check the fields marked below.")
    return None


@bp.route("/start", methods=["GET", "POST"])
@login_required
def start() -> Any:
    if not _may_start():
        abort(403)
    form = StartForm()
    errors: list[str] = []
    status = 200
    eligibility: list[PreviewRow] | None = None
    running: int | None = None
    if showing_posts():
        pass  # only the posts of the chosen unit: the page again, nothing started
    elif form.validate_on_submit():
        if (named := _cadre_by_name(form)) is not None:
            errors, status = [named], 422
        elif not _post_of_chosen_unit(form):
            # Without the script the unit may have been changed after its posts were shown: never start (nor check)
            # for a post of another unit than the one on the screen.
            form.position.errors = [*form.position.errors, _("This post is not one of the chosen unit's posts.")]
            errors, status = [_("Check the fields marked below.")], 422
        elif request.form.get("action") == "check":
            # The rules on the chosen cadre and post: the page again, nothing started (advice: the eligibility step
            # of the procedure decides); or, while a choice is not valid yet, what to put right first.
            try:
                eligibility = appointment_rows(_preview(form))
            except WorkflowError as error:
                errors, status = refusal_on_fields(form, error), status_for(error)
        else:
            # Run before the start, as the preview would have been: started, the procedure would count as the
            # cadre's other procedure under way.
            unmet = _eligibility_or_none(form)
            try:
                instance = act(
                    lambda: start_appointment(
                        db.session,
                        process_engine(),
                        actor=current_user,
                        cadre_code=form.cadre.data or "",
                        position_id=form.position.data or 0,
                        source=form.source.data or "",
                        policy=appointment_policy(),
                        calendar=work_calendar(),
                    )
                )
            except WorkflowError as error:
                errors, status, running = refusal_on_fields(form, error), status_for(error), running_case(error)
            else:
                flash(_("The appointment was started."), "success")
                warn_of_unmet_rules(unmet)
                warn_if_nobody_can_take(instance.id)
                return redirect(url_for("instances.show", instance_id=instance.id))
    elif form.is_submitted():
        errors, status = [_("Check the fields marked below.")], 422
    picker = post_picker(STARTING_ROLES, form.unit.raw_data[0] if form.unit.raw_data else request.args.get("unit"))
    if showing_posts() and picker.unit_id is None:
        form.unit.errors = [_("Choose a unit from the list.")]
        status = 422
    page = render_template(
        "appointment/start.html",
        form=form,
        errors=errors,
        picker=picker,
        subjects=cadre_suggestions(),
        eligibility=eligibility,
        running_case=running,
    )
    return page, status


def _preview(form: StartForm) -> list[RuleResult]:
    return preview_eligibility(
        db.session,
        actor=current_user,
        cadre_code=form.cadre.data or "",
        position_id=form.position.data or 0,
        source=form.source.data or "",
        policy=appointment_policy(),
    )


def _eligibility_or_none(form: StartForm) -> list[RuleResult] | None:
    """The rules' results to warn of once started; none while the request is refused (the start names why)."""
    try:
        return _preview(form)
    except WorkflowError:
        return None


@bp.get("/posts")
@login_required
def posts() -> Any:
    """The posts of a unit the person may start an appointment in (JSON for static/post_picker.js); 404 otherwise."""
    if not _may_start():
        abort(403)
    return posts_json(STARTING_ROLES)


@bp.get("/cadres")
@login_required
def search_cadres() -> Any:
    """The cadres `?q=` finds among those the person may start an appointment for (JSON for static/cadre_search.js)."""
    if not _may_start():
        abort(403)
    return cadres_json()


@bp.route("/<int:instance_id>/ballot", methods=["GET", "POST"])
@login_required
def open_ballot(instance_id: int) -> Any:
    return open_ballot_page(load_instance(instance_id, PROCESS_ID), APPOINTMENT_BALLOTS)
