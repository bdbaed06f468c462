"""Appointment pages. Start: the personnel body over the post's unit. Open a ballot: personnel or the head over the
procedure's unit, while the procedure is at a ballot step. Each route loads (404 outside scope), checks (403), calls
one service and redirects."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from webapp.appointment import appointment_policy, work_calendar
from webapp.appointment.forms import OpenBallotForm, StartForm
from webapp.extensions import db
from webapp.http import act, process_engine, status_for, translated
from workflows.access import OVERSEEING_ROLES, in_subtree, oversees_unit, role_units
from workflows.appointment import PROCESS_ID
from workflows.appointment.ballots import open_ballot_task, open_step_ballot
from workflows.appointment.service import STARTING_ROLES, start_appointment
from workflows.appointment.steps import STEPS, VotingUnit
from workflows.ballots import MANAGING_ROLES
from workflows.errors import Invalid, WorkflowError
from workflows.models import ProcessInstance
from workflows.registry.models import Cadre, OrgUnit, User

bp = Blueprint("appointment", __name__, url_prefix="/appointments")


def _messages(error: WorkflowError) -> list[str]:
    messages = [translated(error)]
    if isinstance(error, Invalid):
        messages += [_(problem.message) for problem in error.problems]
    return messages


@bp.route("/start", methods=["GET", "POST"])
@login_required
def start() -> Any:
    if not any(role in STARTING_ROLES for role, _unit in role_units(current_user)):
        abort(403)
    form = StartForm()
    errors: list[str] = []
    status = 200
    if form.validate_on_submit():
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
            errors, status = _messages(error), status_for(error)
        else:
            flash(_("The appointment was started."), "success")
            return redirect(url_for("instances.show", instance_id=instance.id))
    elif form.is_submitted():
        errors, status = [_("Check the fields marked below.")], 422
    return render_template("appointment/start.html", form=form, errors=errors), status


def _load(instance_id: int) -> ProcessInstance:
    instance = db.session.get(ProcessInstance, instance_id)
    if (
        instance is None
        or instance.process_id != PROCESS_ID
        or not oversees_unit(db.session, current_user, instance.unit_id, OVERSEEING_ROLES)
    ):
        abort(404)
    if not oversees_unit(db.session, current_user, instance.unit_id, MANAGING_ROLES):
        abort(403)
    return instance


def _voting_unit(instance: ProcessInstance, step: str) -> int | None:
    if STEPS[step].voting_unit == VotingUnit.CADRE and instance.subject is not None:
        return instance.subject.unit_id
    return instance.unit_id


def _members(unit_id: int | None) -> list[User]:
    if unit_id is None:
        return []
    return list(
        db.session.scalars(
            select(User)
            .join(OrgUnit, OrgUnit.id == User.unit_id)
            .where(User.is_active, in_subtree(OrgUnit, unit_id))
            .order_by(User.full_name)
        )
    )


@bp.route("/<int:instance_id>/ballot", methods=["GET", "POST"])
@login_required
def open_ballot(instance_id: int) -> Any:
    instance = _load(instance_id)
    task = open_ballot_task(db.session, instance.id)
    if task is None:
        return render_template("appointment/ballot.html", instance=instance, task=None, form=None, errors=[]), 409
    form = OpenBallotForm()
    members = _members(_voting_unit(instance, task.task_key))
    form.electors.choices = [SelectChoice(member.id, member.full_name) for member in members]
    errors: list[str] = []
    status = 200
    if form.validate_on_submit():
        more = [code for code in (form.more_candidates.data or "").split(",") if code.strip()]
        try:
            box = act(
                lambda: open_step_ballot(
                    db.session,
                    process_engine(),
                    actor=current_user,
                    instance_id=instance.id,
                    elector_ids=form.electors.data or [],
                    members_count=form.members_count.data or 0,
                    mode=form.mode.data or "",
                    more_candidates=more,
                )
            )
        except WorkflowError as error:
            errors, status = _messages(error), status_for(error)
        else:
            flash(_("The ballot is open."), "success")
            return redirect(url_for("ballots.manage", box_id=box.id))
    elif form.is_submitted():
        errors, status = [_("Check the fields marked below.")], 422
    nominee = db.session.get(Cadre, instance.subject_cadre_id) if instance.subject_cadre_id else None
    context = {"instance": instance, "task": task, "form": form, "errors": errors, "nominee": nominee}
    return render_template("appointment/ballot.html", **context), status
