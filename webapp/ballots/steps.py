"""The page that opens the ballot box of the step a procedure is at, for every procedure with ballot steps
(`workflows.ballot_steps`; the appointment and the planning review). Personnel or the head over the procedure's
unit; 404 outside scope, 409 when the procedure is not at a ballot step."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from webapp.appointment.forms import OpenBallotForm, OpenBodyBallotForm
from webapp.extensions import db
from webapp.http import act, problem_text, process_engine, status_for, translated
from webapp.units.voting_bodies import BODY_LABELS
from workflows.access import OVERSEEING_ROLES, in_subtree, oversees_unit
from workflows.ballot_steps import (
    BallotProcedure,
    body_electors,
    current_step,
    open_ballot_task,
    open_step_ballot,
    step_body,
    step_candidates,
)
from workflows.ballots import MANAGING_ROLES
from workflows.errors import Invalid, WorkflowError
from workflows.models import ProcessInstance
from workflows.registry.models import Cadre, OrgUnit, User
from workflows.registry.voting_bodies import can_edit_voting_bodies
from workflows.rules.ballots import is_own_ballot

__all__ = ["load_instance", "messages", "open_ballot_page"]


# The page that opens a ballot step's box, per procedure with ballot steps (the task page and the instance page link
# to it).
OPEN_BALLOT_PAGES = {
    "appointment": "appointment.open_ballot",
    "planning_review": "planning.open_ballot",
    "rotation": "rotation.open_ballot",
}


def messages(error: WorkflowError) -> list[str]:
    found = [translated(error)]
    if isinstance(error, Invalid):
        found += [problem_text(problem) for problem in error.problems]
    return found


def load_instance(instance_id: int, process_id: str) -> ProcessInstance:
    """The instance if the user oversees its unit (404 otherwise) and may run its ballots (403 otherwise)."""
    instance = db.session.get(ProcessInstance, instance_id)
    if (
        instance is None
        or instance.process_id != process_id
        or not oversees_unit(db.session, current_user, instance.unit_id, OVERSEEING_ROLES)
    ):
        abort(404)
    if not oversees_unit(db.session, current_user, instance.unit_id, MANAGING_ROLES):
        abort(403)
    return instance


def _members(unit_id: int | None, subject_cadre_id: int | None) -> list[User]:
    """Who may be summoned: the active users of the voting unit, but not the person the procedure is about."""
    if unit_id is None:
        return []
    users = db.session.scalars(
        select(User)
        .join(OrgUnit, OrgUnit.id == User.unit_id)
        .where(User.is_active, in_subtree(OrgUnit, unit_id))
        .order_by(User.full_name)
    )
    return [user for user in users if not is_own_ballot(user.cadre_id, subject_cadre_id)]


def open_ballot_page(instance: ProcessInstance, procedure: BallotProcedure) -> Any:
    """When the step's voting body is configured (decision 0122) its members are summoned and counted, and the page
    lists them; otherwise the secretary ticks the electors and types the members count, and the page says that the
    body is not configured (linking to its page for whom may keep it)."""
    task = open_ballot_task(db.session, instance.id, procedure.steps)
    context: dict[str, Any] = {"instance": instance, "task": task, "form": None, "errors": [], "nominee": None}
    if task is None:
        return render_template("appointment/ballot.html", **context), 409
    step = current_step(db.session, process_engine(), procedure, instance.id)
    found = step_body(db.session, procedure, step)
    body = found.body
    form: OpenBodyBallotForm = OpenBodyBallotForm() if body is not None else OpenBallotForm()
    members: list[User] = []
    electors_unit = None
    if isinstance(form, OpenBallotForm):
        members = _members(found.unit_id, instance.subject_cadre_id)
        # An empty list says why: the electors are the users of this unit and the units under it.
        electors_unit = db.session.get(OrgUnit, found.unit_id) if found.unit_id is not None and not members else None
        form.electors.choices = [SelectChoice(member.id, member.full_name) for member in members]
    errors: list[str] = []
    status = 200
    if form.validate_on_submit():
        more = [code for code in (form.more_candidates.data or "").split(",") if code.strip()]
        chosen = (form.electors.data or []) if isinstance(form, OpenBallotForm) else None
        count = (form.members_count.data or 0) if isinstance(form, OpenBallotForm) else None
        try:
            box = act(
                lambda: open_step_ballot(
                    db.session,
                    process_engine(),
                    procedure,
                    actor=current_user,
                    instance_id=instance.id,
                    elector_ids=chosen,
                    members_count=count,
                    mode=form.mode.data or "",
                    more_candidates=more,
                )
            )
        except WorkflowError as error:
            errors, status = messages(error), status_for(error)
            if isinstance(error, Invalid) and isinstance(form, OpenBallotForm):
                for problem in error.problems:  # a count the service refused is shown at its field
                    if problem.field == "members_count":
                        form.members_count.errors = [*form.members_count.errors, problem_text(problem)]
        else:
            flash(_("The ballot is open."), "success")
            return redirect(url_for("ballots.manage", box_id=box.id))
    elif form.is_submitted():
        errors, status = [_("Check the fields marked below.")], 422
    nominee = db.session.get(Cadre, instance.subject_cadre_id) if instance.subject_cadre_id else None
    summoned = set(body_electors(body, instance.subject_cadre_id)) if body is not None else set()
    context.update(
        form=form,
        errors=errors,
        nominee=nominee,
        electors_unit=electors_unit,
        candidates=step_candidates(db.session, procedure, step),
        body=body,
        body_kind=found.kind,
        body_labels=BODY_LABELS,
        body_unit=db.session.get(OrgUnit, found.unit_id) if found.kind is not None and found.unit_id else None,
        body_summoned=summoned,
        may_edit_body=found.unit_id is not None and can_edit_voting_bodies(db.session, current_user, found.unit_id),
    )
    return render_template("appointment/ballot.html", **context), status
