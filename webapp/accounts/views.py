"""User accounts, for administrators: who can sign in, with which roles in which units (workflows/registry/accounts.py
checks and audits every change). A temporary password is shown once, on the page that answers the change, and is
never put in the session or a redirect."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select

from webapp.accounts.forms import DetailsForm, GrantForm, HandOnForm, NewUserForm, ReasonForm, RoleFields
from webapp.admin.views import admin_required
from webapp.extensions import db
from webapp.http import act, problem_text, refusal_on_fields, translated
from webapp.instances.views import ROLE_LABELS
from webapp.query_args import page_arg, parse_id
from webapp.start_form import unit_tree
from webapp.tasks.forms import receiver_choices
from workflows.access import units_under_roles
from workflows.engine import operations
from workflows.errors import Invalid, NotAllowed, NotFound, Problem, WorkflowError
from workflows.models import AuditEvent
from workflows.reassignment import clean_reason, hand_on_choices, open_tasks_of
from workflows.registry.accounts import (
    AccountFilters,
    UserEvent,
    account_page,
    can_manage_user,
    create_user,
    edit_details,
    grant_role,
    open_tasks_held,
    reset_password,
    revoke_role,
    set_active,
    user_chain,
)
from workflows.registry.models import OrgUnit, User
from workflows.states import Role

bp = Blueprint("accounts", __name__, url_prefix="/admin/users")

PER_PAGE = 50


def _event_labels() -> dict[str, str]:
    return {
        UserEvent.CREATED: _("Account created"),
        UserEvent.ROLE_GRANTED: _("Role granted"),
        UserEvent.ROLE_REVOKED: _("Role removed"),
        UserEvent.DEACTIVATED: _("Account deactivated"),
        UserEvent.ACTIVATED: _("Account reactivated"),
        UserEvent.PASSWORD_RESET: _("Password reset"),
        UserEvent.DETAILS_CHANGED: _("Name or e-mail changed"),
        UserEvent.USERNAME_CHANGED: _("Username changed"),
    }


def _managed_units(*, active_only: bool = False) -> list[OrgUnit]:
    """The units of the subtrees where the administrator holds the admin role."""
    return units_under_roles(db.session, current_user, (Role.ADMIN,), active_only=active_only)


def _role_choices() -> list[tuple[str, str]]:
    return [("", _("Choose a role"))] + [(role.value, str(label)) for role, label in ROLE_LABELS.items()]


def _fill_role_fields(form: RoleFields) -> None:
    form.role.choices = _role_choices()
    # The subtrees where the person holds admin: every unit of them is one they may grant in (the service checks).
    units = _managed_units(active_only=True)
    form.unit_id.choices = [("", _("Choose a unit"))] + [(str(u.id), label) for u, label in unit_tree(units)]


def _managed_user(user_id: int) -> User:
    """The account (404 unless it lies in the administrator's scope)."""
    user = db.session.get(User, user_id)
    if user is None or not can_manage_user(db.session, current_user, user):
        abort(404)
    return user


@bp.get("")
@admin_required
def index() -> Any:
    units = _managed_units()
    unit_ids = [u.id for u in units]
    filters = AccountFilters(
        search=" ".join((request.args.get("q") or "").split())[:80],
        unit_id=parse_id(request.args.get("unit")),
        role=request.args.get("role") or "",
        active=request.args.get("active") or "",
    )
    page = account_page(db.session, unit_ids, filters, page=page_arg(request.args), per_page=PER_PAGE)
    names = {u.id: u.name for u in units}
    return render_template(
        "accounts/index.html",
        users=page.users,
        page=page,
        search=filters.search,
        role=filters.role,
        unit_id=filters.unit_id,
        active=filters.active,
        unit_choices=unit_tree(units),
        role_labels=ROLE_LABELS,
        names=names,
    )


@bp.route("/new", methods=["GET", "POST"])
@admin_required
def new() -> Any:
    form = NewUserForm()
    _fill_role_fields(form)
    problems: list[str] = []
    if request.method == "POST":
        if not form.validate_on_submit():
            problems = [_("The form has expired; please try again.")]
        else:
            try:
                created, password = act(
                    lambda: create_user(
                        db.session,
                        current_user,
                        username=form.username.data,
                        full_name=form.full_name.data,
                        email=form.email.data,
                        cadre_code=form.cadre_code.data,
                        role=form.role.data,
                        unit_id=parse_id(form.unit_id.data),
                        reason=form.reason.data,
                    )
                )
            except (Invalid, NotAllowed) as error:
                problems = refusal_on_fields(form, error)
            else:
                # Answered here, not through a redirect: the password must not travel in the session cookie.
                return _render_user(created, new_password=password, created=True)
    page = render_template("accounts/new.html", form=form, problems=problems)
    return page, 422 if request.method == "POST" else 200


def _history(user_id: int) -> list[dict[str, Any]]:
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.chain_key == user_chain(user_id)).order_by(AuditEvent.seq)
    )
    return [
        {"type": e.event_type, "when": e.occurred_dt, "who": e.actor_name, "payload": json.loads(e.payload)}
        for e in events
    ]


def _render_user(
    user: User,
    *,
    status: int = 200,
    grant: GrantForm | None = None,
    details: DetailsForm | None = None,
    reason_form: ReasonForm | None = None,
    hand_on: HandOnForm | None = None,
    acting: str | None = None,
    problems: list[str] | None = None,
    new_password: str | None = None,
    created: bool = False,
) -> Any:
    if grant is None:
        grant = GrantForm(formdata=None)
    _fill_role_fields(grant)
    units = {
        u.id: u
        for u in db.session.scalars(
            select(OrgUnit).where(OrgUnit.id.in_([user.unit_id, *(a.unit_id for a in user.role_assignments)]))
        )
    }
    if details is None:
        details = DetailsForm(
            formdata=None, data={"username": user.username, "full_name": user.full_name, "email": user.email or ""}
        )
    # Only those the administrator may see: a task of a procedure outside their units is counted, not shown. The
    # tasks, their facts and the receivers are read in a few statements however many tasks the person holds.
    held = open_tasks_of(db.session, user.id, seen_by=current_user)
    choices = hand_on_choices(db.session, held)
    fixed = {task_id: _(why) for task_id, why in choices.unmovable.items()}
    hand_on = hand_on or HandOnForm(formdata=None)
    # The people at least one of the tasks may go to; each task is checked again when it is handed on.
    hand_on.assignee.choices = receiver_choices(choices.receivers)
    page = render_template(
        "accounts/user.html",
        user=user,
        units=units,
        grant=grant,
        details=details,
        reason_form=reason_form or ReasonForm(formdata=None),
        acting=acting,
        problems=problems or [],
        new_password=new_password,
        created=created,
        open_tasks=open_tasks_held(db.session, user.id),
        held_tasks=held,
        fixed_tasks=fixed,
        hand_on=hand_on,
        role_labels=ROLE_LABELS,
        history=_history(user.id),
        event_labels=_event_labels(),
        is_self=user.id == current_user.id,
    )
    if new_password is not None:
        return page, status, {"Cache-Control": "no-store"}  # the temporary password stays out of every cache
    return page, status


@bp.get("/<int:user_id>")
@admin_required
def show(user_id: int) -> Any:
    return _render_user(_managed_user(user_id))


def _refused(user: User, error: Invalid | NotAllowed, **forms: Any) -> Any:
    db.session.rollback()
    user = _managed_user(user.id)
    form = forms.get("grant") or forms.get("details") or forms.get("reason_form")
    return _render_user(user, status=422, problems=refusal_on_fields(form, error), **forms)


@bp.post("/<int:user_id>/roles")
@admin_required
def grant(user_id: int) -> Any:
    user = _managed_user(user_id)
    form = GrantForm()
    _fill_role_fields(form)
    if not form.validate_on_submit():
        return _render_user(user, status=422, grant=form, problems=[_("The form has expired; please try again.")])
    try:
        act(
            lambda: grant_role(
                db.session,
                current_user,
                user.id,
                role=form.role.data,
                unit_id=parse_id(form.unit_id.data),
                reason=form.reason.data,
            )
        )
    except (Invalid, NotAllowed) as error:
        return _refused(user, error, grant=form)
    flash(_("The role was granted."), "success")
    return redirect(url_for("accounts.show", user_id=user.id))


@bp.post("/<int:user_id>/details")
@admin_required
def details(user_id: int) -> Any:
    user = _managed_user(user_id)
    form = DetailsForm()
    if not form.validate_on_submit():
        return _render_user(user, status=422, details=form, problems=[_("The form has expired; please try again.")])
    try:
        act(
            lambda: edit_details(
                db.session,
                current_user,
                user.id,
                full_name=form.full_name.data,
                email=form.email.data,
                reason=form.reason.data,
                username=form.username.data,
            )
        )
    except (Invalid, NotAllowed) as error:
        return _refused(user, error, details=form)
    flash(_("The account's details were saved."), "success")
    return redirect(url_for("accounts.show", user_id=user.id))


def _reason_action(user_id: int, acting: str, work: Any, done: str) -> Any:
    user = _managed_user(user_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        return _render_user(
            user,
            status=422,
            reason_form=form,
            acting=acting,
            problems=[_("The form has expired; please try again.")],
        )
    try:
        result = act(lambda: work(user, form.reason.data))
    except NotFound:
        abort(404)
    except (Invalid, NotAllowed) as error:
        return _refused(user, error, reason_form=form, acting=acting)
    if acting == "password":
        return _render_user(_managed_user(user_id), new_password=result)
    flash(done, "success")
    return redirect(url_for("accounts.show", user_id=user_id))


@bp.post("/<int:user_id>/roles/<int:assignment_id>/revoke")
@admin_required
def revoke(user_id: int, assignment_id: int) -> Any:
    return _reason_action(
        user_id,
        f"revoke-{assignment_id}",
        lambda user, reason: revoke_role(db.session, current_user, user.id, assignment_id=assignment_id, reason=reason),
        _("The role was removed."),
    )


@bp.post("/<int:user_id>/deactivate")
@admin_required
def deactivate(user_id: int) -> Any:
    return _reason_action(
        user_id,
        "deactivate",
        lambda user, reason: set_active(db.session, current_user, user.id, active=False, reason=reason),
        _("The account was deactivated: the person can no longer sign in and their API tokens stop working."),
    )


@bp.post("/<int:user_id>/activate")
@admin_required
def activate(user_id: int) -> Any:
    return _reason_action(
        user_id,
        "activate",
        lambda user, reason: set_active(db.session, current_user, user.id, active=True, reason=reason),
        _("The account was reactivated."),
    )


@bp.post("/<int:user_id>/password")
@admin_required
def password(user_id: int) -> Any:
    return _reason_action(
        user_id,
        "password",
        lambda user, reason: reset_password(db.session, current_user, user.id, reason=reason),
        "",
    )


# -- handing the account's open tasks to other people (decision 0078) ------------------------------------------


@bp.post("/<int:user_id>/hand-on")
@admin_required
def hand_on(user_id: int) -> Any:
    """Every open task of the account to one person, each in its own transaction with the same checks and audit as
    a single hand-on: one refused (a ballot step, a role the person lacks, a unit outside the administrator's scope)
    does not stop the others, and each refused task is named with why."""
    user = _managed_user(user_id)
    form = HandOnForm()
    if not form.validate_on_submit():
        return _render_user(user, status=422, hand_on=form, problems=[_("The form has expired; please try again.")])
    problems: list[Problem] = []
    to_user_id = parse_id(form.assignee.data)
    if to_user_id is None:
        problems.append(Problem("choose the person to hand the task to", field="assignee"))
    clean_reason(form.reason.data, problems)
    if problems:
        return _render_user(
            user,
            status=422,
            hand_on=form,
            problems=refusal_on_fields(form, Invalid("the task was not handed on", problems)),
        )
    done, refused = 0, []
    for task in open_tasks_of(db.session, user.id):
        try:
            act(
                lambda task_id=task.id: operations.reassign_task(
                    db.session, actor=current_user, task_id=task_id, to_user_id=to_user_id, reason=form.reason.data
                )
            )
            done += 1
        except NotFound:
            # A procedure outside the administrator's scope: not named, as the inbox's bulk claim does not.
            refused.append(_("a task outside your scope"))
        except WorkflowError as error:
            why = (
                "; ".join(problem_text(problem) for problem in error.problems)
                if isinstance(error, Invalid) and error.problems
                else translated(error)
            )
            refused.append(f"#{task.instance_id} {task.name} ({why})")
    if done:
        receiver = db.session.scalar(select(User.full_name).where(User.id == to_user_id))
        flash(
            ngettext(
                "%(num)d task was handed to %(who)s.", "%(num)d tasks were handed to %(who)s.", done, who=receiver
            ),
            "success",
        )
    if refused:
        flash(_("Not handed on: %(list)s", list="; ".join(refused)), "error")
    elif not done:
        flash(_("The account holds no open task."), "info")
    return redirect(url_for("accounts.show", user_id=user.id))
