"""Rotation pages. Start: the personnel body over both the cadre's and the receiving unit (a receiving unit outside
the officer's scope is refused with the form's message, nothing written). Signals: personnel officers (and
administrators), in their scope. Ballot: the collective's vote where the rotation is also an appointment, on the
shared ballot-step page. Each route loads (404 outside scope), checks (403), calls one service and redirects."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from webapp.appointment import work_calendar
from webapp.ballots.steps import load_instance, open_ballot_page
from webapp.eligibility import PreviewRow, blocking_lines, warn_of_unmet_rules
from webapp.extensions import db
from webapp.http import act, process_engine, refusal_on_fields, running_case, status_for
from webapp.instances.views import warn_if_nobody_can_take
from webapp.rotation import rotation_policy
from webapp.rotation.forms import StartRotationForm
from webapp.rotation.preview import rotation_rows
from webapp.rotation.summary import SIGNAL_KINDS
from webapp.start_form import cadre_suggestions, cadres_json, post_picker, posts_json, showing_posts
from workflows.access import role_units
from workflows.errors import WorkflowError
from workflows.rotation import PROCESS_ID
from workflows.rotation.ballots import ROTATION_BALLOTS
from workflows.rotation.service import (
    CERTAIN_TO_STOP,
    STARTING_ROLES,
    RotationRequest,
    preview_eligibility,
    start_rotation,
)
from workflows.rotation.signals import can_see_signals, rotation_signals, signal_scope
from workflows.rules.appointment import RuleResult
from workflows.rules.rotation import RotationPolicy, start_blockers

bp = Blueprint("rotation", __name__, url_prefix="/rotations")


def _may_start() -> bool:
    return any(role in STARTING_ROLES for role, _unit in role_units(current_user))


@bp.route("/start", methods=["GET", "POST"])
@login_required
def start() -> Any:
    if not _may_start():
        abort(403)
    policy = rotation_policy()
    form = StartRotationForm()
    form.purpose.choices = [SelectChoice(key, label) for key, label in policy.purposes.items()]
    if request.method == "GET" and request.args.get("cadre"):
        form.cadre.data = request.args.get("cadre", "")[:40]
    errors: list[str] = []
    status = 200
    eligibility: list[PreviewRow] | None = None
    running: int | None = None
    if showing_posts():
        pass  # only the posts of the chosen unit: the page again, nothing started
    elif form.validate_on_submit():
        rotation = RotationRequest(
            cadre_code=form.cadre.data or "",
            to_unit_id=form.to_unit.data,
            position_id=form.position.data,
            starts_on=form.starts_on.data,
            planned_end_on=form.planned_end_on.data,
            purpose=form.purpose.data or "",
            purpose_note=form.purpose_note.data or "",
        )
        if request.form.get("action") == "check":
            # The rules on the chosen cadre and post (QĐ 65-QĐ/TW): the page again, nothing started; or, while a
            # choice is not valid yet, what to put right before they can be run.
            try:
                eligibility = rotation_rows(
                    preview_eligibility(db.session, actor=current_user, request=rotation, policy=policy), policy
                )
            except WorkflowError as error:
                errors, status = refusal_on_fields(form, error), status_for(error)
        elif blocked := start_blockers(unmet := _eligibility_if_valid(rotation, policy), policy):
            # Certain to stop at the eligibility check (decision 0136): refused as the service refuses it, each rule
            # named as the preview names it, the table beside; the form kept, nothing written.
            errors, status = [_(CERTAIN_TO_STOP), *blocking_lines(blocked)], 422
            eligibility = rotation_rows(unmet, policy)
        else:
            try:
                instance = act(
                    lambda: start_rotation(
                        db.session,
                        process_engine(),
                        actor=current_user,
                        request=rotation,
                        policy=policy,
                        calendar=work_calendar(),
                    )
                )
            except WorkflowError as error:
                errors, status, running = refusal_on_fields(form, error), status_for(error), running_case(error)
                eligibility = rotation_rows(unmet, policy) if unmet else None
            else:
                flash(_("The rotation was started."), "success")
                warn_of_unmet_rules(unmet)
                warn_if_nobody_can_take(instance.id)
                return redirect(url_for("instances.show", instance_id=instance.id))
    elif form.is_submitted():
        errors, status = [_("Check the fields marked below.")], 422
    chosen = form.to_unit.raw_data[0] if form.to_unit.raw_data else request.args.get("unit")
    picker = post_picker(STARTING_ROLES, chosen)
    if showing_posts() and picker.unit_id is None:
        form.to_unit.errors = [_("Choose a unit from the list.")]
        status = 422
    page = render_template(
        "rotation/start.html",
        form=form,
        errors=errors,
        picker=picker,
        subjects=cadre_suggestions(),
        eligibility=eligibility,
        running_case=running,
    )
    return page, status


def _eligibility_if_valid(rotation: RotationRequest, policy: RotationPolicy) -> list[RuleResult]:
    """The rules' results to refuse a start certain to stop or to warn of once started; none (empty) while the
    request is refused (the start names why)."""
    try:
        return preview_eligibility(db.session, actor=current_user, request=rotation, policy=policy)
    except WorkflowError:
        return []


@bp.get("/posts")
@login_required
def posts() -> Any:
    """The posts of a unit the person may receive a rotation in (JSON for static/post_picker.js); 404 otherwise."""
    if not _may_start():
        abort(403)
    return posts_json(STARTING_ROLES)


@bp.get("/cadres")
@login_required
def search_cadres() -> Any:
    """The cadres `?q=` finds among those the person may start a rotation for (JSON for static/cadre_search.js)."""
    if not _may_start():
        abort(403)
    return cadres_json()


@bp.route("/signals")
@login_required
def signals() -> Any:
    if not can_see_signals(current_user):
        abort(403)
    found = rotation_signals(db.session, signal_scope(current_user))
    return render_template("rotation/signals.html", signals=found, kinds=SIGNAL_KINDS)


@bp.route("/<int:instance_id>/ballot", methods=["GET", "POST"])
@login_required
def open_ballot(instance_id: int) -> Any:
    return open_ballot_page(load_instance(instance_id, PROCESS_ID), ROTATION_BALLOTS)


def nav_items(user: Any) -> list[dict[str, Any]]:
    if not can_see_signals(user):
        return []
    return [{"url": url_for("rotation.signals"), "label": _("Rotation"), "prefix": "rotation."}]
