"""Org units: the tree a person can see; administrators create, rename and merge units in their subtree."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Collection, Iterable
from datetime import date
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, select
from wtforms.fields.choices import SelectChoice

from webapp.extensions import db
from webapp.http import act, problem_text, refusal_on_fields, status_for, translated
from webapp.query_args import parse_id
from webapp.start_form import unit_tree
from webapp.units import unit_policy
from webapp.units.forms import MergeForm, NewUnitForm, UnitForm
from webapp.units.voting_bodies import BODY_HELP, BODY_LABELS, VotingBodyForm
from workflows.access import visible_units
from workflows.errors import Invalid, NotAllowed, NotFound, WorkflowError
from workflows.models import AuditEvent
from workflows.registry.models import Cadre, OrgUnit, UnitType, User
from workflows.registry.units import UnitEvent, can_manage_unit, create_unit, merge_unit, org_unit_chain, update_unit
from workflows.registry.voting_bodies import (
    BODY_CHANGED,
    body_candidates,
    body_kind,
    can_edit_voting_bodies,
    set_body_members,
    voting_bodies,
)
from workflows.rules.units import UnitPolicy, child_types
from workflows.states import BodyKind

bp = Blueprint("units", __name__, url_prefix="/units")

UNIT_TYPES = {
    UnitType.PROVINCE: _l("Province"),
    UnitType.COMMUNE: _l("Commune"),
    UnitType.WARD: _l("Ward"),
    UnitType.SPECIAL_ZONE: _l("Special zone"),
    UnitType.PARTY_COMMITTEE: _l("Party committee"),
    UnitType.PEOPLES_COMMITTEE: _l("People's committee"),
    UnitType.DEPARTMENT: _l("Department"),
    UnitType.MASS_ORGANISATION: _l("Mass organisation"),
    UnitType.PARTY_BODY: _l("Party body"),
}


EVENT_LABELS = {
    UnitEvent.CREATED: _l("Created"),
    UnitEvent.UPDATED: _l("Changed"),
    UnitEvent.MERGED: _l("Merged"),
    BODY_CHANGED: _l("Voting body changed"),
}


def _in_scope(unit_id: int) -> tuple[OrgUnit, list[OrgUnit]]:
    """The unit (404 unless the person can see it) and every unit they can see."""
    units = visible_units(db.session, current_user)
    unit = next((u for u in units if u.id == unit_id), None)
    if unit is None:
        abort(404)
    return unit, units


def _type_choices(kinds: Collection[str] | None = None) -> list[tuple[str, str]]:
    """The unit types of the list, in its order; only `kinds` when given."""
    return [(value.value, str(label)) for value, label in UNIT_TYPES.items() if kinds is None or value in kinds]


def _type_rules(parents: list[OrgUnit], policy: UnitPolicy) -> str:
    """What static/unit_type_picker.js needs to offer the types the chosen unit above may hold (the same table the
    service checks, `workflows.rules.units`): each unit's type, the policy's tree, the type names in list order."""
    kinds = {u.unit_type for u in parents}
    rules = {
        "parents": {str(u.id): u.unit_type for u in parents},
        "allowed": {kind: [value for value, _label in _type_choices(child_types(kind, policy))] for kind in kinds},
        "labels": _type_choices(),
    }
    return json.dumps(rules, ensure_ascii=False, separators=(",", ":"))


# The service names unit types by their codes ("province"); these arguments of its messages are shown by name.
_TYPE_ARGS = ("unit_type", "parent_type")


def _refusal(form: Any, error: WorkflowError) -> list[str]:
    """`refusal_on_fields`, the unit types in the problems named as the type list names them (Tỉnh, Xã)."""
    if isinstance(error, Invalid):
        error.problems = [
            dataclasses.replace(
                problem,
                message_args={
                    key: str(UNIT_TYPES.get(value, value)) if key in _TYPE_ARGS else value
                    for key, value in problem.message_args.items()
                },
            )
            for problem in error.problems
        ]
    return refusal_on_fields(form, error)


@bp.get("")
@login_required
def index() -> str:
    """The top of the tree in scope (two levels), or every unit matching a search; a unit's page lists the rest."""
    units = visible_units(db.session, current_user)
    search = " ".join((request.args.get("q") or "").split())[:80]
    if search:
        needle = search.casefold()
        shown = [u for u in units if needle in u.name.casefold() or needle in u.code.casefold()]
    else:
        top = min((u.path.count("/") for u in units), default=0)
        shown = [u for u in units if u.path.count("/") <= top + 1]
    return render_template(
        "units/index.html",
        units=shown,
        search=search,
        depth={u.id: 0 if search else u.path.count("/") - 1 for u in shown},
        people=_people(u.id for u in shown),
        names={u.id: u.name for u in units},
        types=UNIT_TYPES,
        can_add=any(can_manage_unit(db.session, current_user, u.id) for u in units if u.is_active),
    )


def _people(unit_ids: Iterable[int]) -> dict[int, int]:
    """Active cadres per unit."""
    return dict(
        db.session.execute(
            select(Cadre.unit_id, func.count())
            .where(Cadre.is_active, Cadre.unit_id.in_(list(unit_ids)))
            .group_by(Cadre.unit_id)
        )
        .tuples()
        .all()
    )


def _history(unit_id: int) -> list[dict[str, Any]]:
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.chain_key == org_unit_chain(unit_id)).order_by(AuditEvent.seq)
    )
    return [
        {"type": e.event_type, "when": e.occurred_dt, "who": e.actor_name, "payload": json.loads(e.payload)}
        for e in events
    ]


def _render_unit(
    unit: OrgUnit, units: list[OrgUnit], form: UnitForm, merge: MergeForm, problems: list[str], status: int = 200
) -> Any:
    children = [u for u in units if u.parent_id == unit.id]
    page = render_template(
        "units/unit.html",
        unit=unit,
        form=form,
        merge=merge,
        problems=problems,
        history=_history(unit.id),
        event_labels=EVENT_LABELS,
        body_labels=BODY_LABELS,
        types=UNIT_TYPES,
        names={u.id: u.name for u in units},
        can_manage=can_manage_unit(db.session, current_user, unit.id),
        people=db.session.scalar(select(func.count()).where(Cadre.unit_id == unit.id, Cadre.is_active)),
        children=children,
        children_people=_people(u.id for u in children),
    )
    return page, status


def _forms(unit: OrgUnit, units: list[OrgUnit]) -> tuple[UnitForm, MergeForm]:
    form = UnitForm(prefix="unit")
    form.unit_type.choices = _type_choices()
    merge = MergeForm(prefix="merge")
    targets = [u for u in units if u.is_active and u.id != unit.id and f"/{unit.id}/" not in u.path]
    merge.into_id.choices = [("", _("Choose a unit"))] + [(str(u.id), label) for u, label in unit_tree(targets)]
    if request.method == "GET":
        form.name.data, form.unit_type.data = unit.name, unit.unit_type
    return form, merge


@bp.get("/<int:unit_id>")
@login_required
def show(unit_id: int) -> Any:
    unit, units = _in_scope(unit_id)
    form, merge = _forms(unit, units)
    return _render_unit(unit, units, form, merge, [])


@bp.post("/<int:unit_id>")
@login_required
def edit(unit_id: int) -> Any:
    unit, units = _in_scope(unit_id)
    if not can_manage_unit(db.session, current_user, unit.id):
        abort(403)
    form, merge = _forms(unit, units)
    if not form.validate_on_submit():
        return _render_unit(unit, units, form, merge, [_("The form has expired; please try again.")], 422)
    try:
        act(
            lambda: update_unit(
                db.session,
                current_user,
                unit.id,
                name=form.name.data,
                unit_type=form.unit_type.data,
                policy=unit_policy(),
            )
        )
    except (Invalid, NotAllowed) as error:
        db.session.refresh(unit)
        return _render_unit(unit, units, form, merge, _refusal(form, error), 422)
    flash(_("The unit was saved."), "success")
    return redirect(url_for("units.show", unit_id=unit.id))


def _merge_day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat((raw or "").strip())
    except ValueError:
        return None


@bp.post("/<int:unit_id>/merge")
@login_required
def merge(unit_id: int) -> Any:
    unit, units = _in_scope(unit_id)
    if not can_manage_unit(db.session, current_user, unit.id):
        abort(403)
    form, merge_form = _forms(unit, units)
    if not merge_form.validate_on_submit():
        return _render_unit(unit, units, form, merge_form, [_("The form has expired; please try again.")], 422)
    merged_on = _merge_day(merge_form.merged_on.data)
    if merged_on is None and (merge_form.merged_on.data or "").strip():
        merge_form.merged_on.errors = [_("Enter a date as dd/mm/yyyy.")]
        return _render_unit(unit, units, form, merge_form, [], 422)
    if not merge_form.confirm.data:
        merge_form.confirm.errors = [_("Tick the box to confirm the merger.")]
        return _render_unit(unit, units, form, merge_form, [], 422)
    # Not an id, or a unit out of scope: none chosen (the service asks for one).
    into_id = parse_id(merge_form.into_id.data)
    if into_id is not None and not any(u.id == into_id for u in units):
        into_id = None
    try:
        act(lambda: merge_unit(db.session, current_user, unit.id, into_id=into_id, merged_on=merged_on))
    except (Invalid, NotAllowed) as error:
        db.session.refresh(unit)
        return _render_unit(unit, units, form, merge_form, refusal_on_fields(merge_form, error), 422)
    flash(_("The unit was merged; its history stays readable here."), "success")
    return redirect(url_for("units.show", unit_id=unit.id))


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    units = [u for u in visible_units(db.session, current_user, active_only=True)]
    parents = [u for u in units if can_manage_unit(db.session, current_user, u.id)]
    if not parents:
        abort(403)
    form = NewUnitForm()
    form.parent_id.choices = [("", _("Choose a unit"))] + [(str(u.id), label) for u, label in unit_tree(parents)]
    if request.method == "GET":
        form.parent_id.data = request.args.get("parent_id", "")
    # A unit the person may not add to is no choice: the service reports it with the form's other problems.
    parent = next((u for u in parents if str(u.id) == form.parent_id.data), None)
    # The unit above known (asked for, or posted): only the types it may hold are offered; the script narrows the
    # list as another is chosen. The service checks the pair whatever is posted.
    policy = unit_policy()
    form.unit_type.choices = _type_choices(child_types(parent.unit_type, policy) if parent is not None else None)
    problems: list[str] = []
    if request.method == "POST":
        if not form.validate_on_submit():
            problems = [_("The form has expired; please try again.")]
        else:
            try:
                created = act(
                    lambda: create_unit(
                        db.session,
                        current_user,
                        parent_id=parent.id if parent is not None else None,
                        code=form.code.data,
                        name=form.name.data,
                        unit_type=form.unit_type.data,
                        policy=policy,
                    )
                )
            except (Invalid, NotAllowed, NotFound) as error:
                problems = _refusal(form, error)
            else:
                flash(_("The unit was created."), "success")
                return redirect(url_for("units.show", unit_id=created.id))
    page = render_template(
        "units/new.html",
        form=form,
        problems=problems,
        type_rules=_type_rules(parents, policy),
        holds_nothing=parent is not None and not form.unit_type.choices,
    )
    return page, 422 if request.method == "POST" else 200


# -- voting bodies (decision 0122) --------------------------------------------------------------------------------


def _messages(error: WorkflowError) -> list[str]:
    found = [translated(error)]
    if isinstance(error, Invalid):
        found += [problem_text(problem) for problem in error.problems]
    return found


def _body_forms(unit: OrgUnit, candidates: list[User]) -> dict[BodyKind, VotingBodyForm]:
    choices = [SelectChoice(user.id, user.full_name) for user in candidates]
    forms = {}
    for kind in BodyKind:
        form = VotingBodyForm(prefix=str(kind), formdata=None)
        form.members.choices = choices
        forms[kind] = form
    return forms


def _render_bodies(unit: OrgUnit, forms: dict[BodyKind, VotingBodyForm], problems: list[str], status: int = 200) -> Any:
    bodies = voting_bodies(db.session, unit.id)
    for kind, form in forms.items():
        if form.members.data is None:
            form.members.data = [member.user_id for member in bodies[kind]]
    page = render_template(
        "units/voting_bodies.html",
        unit=unit,
        forms=forms,
        bodies=bodies,
        labels=BODY_LABELS,
        help=BODY_HELP,
        problems=problems,
        can_edit=unit.is_active and can_edit_voting_bodies(db.session, current_user, unit.id),
    )
    return page, status


@bp.get("/<int:unit_id>/voting-bodies")
@login_required
def voting_bodies_page(unit_id: int) -> Any:
    unit, _units = _in_scope(unit_id)
    return _render_bodies(unit, _body_forms(unit, body_candidates(db.session, unit.id)), [])


@bp.post("/<int:unit_id>/voting-bodies/<kind>")
@login_required
def save_voting_body(unit_id: int, kind: str) -> Any:
    unit, _units = _in_scope(unit_id)
    body = body_kind(kind)
    if body is None:
        abort(404)
    if not can_edit_voting_bodies(db.session, current_user, unit.id):
        abort(403)
    forms = _body_forms(unit, body_candidates(db.session, unit.id))
    form = VotingBodyForm(prefix=str(body))
    form.members.choices = forms[body].members.choices
    forms[body] = form
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            return _render_bodies(unit, forms, [_("The form has expired; please try again.")], 400)
        form.members.errors = [_("Choose members from the list.")]
        return _render_bodies(unit, forms, [_("The voting body was not saved.")], 422)
    chosen = list(form.members.data or [])
    try:
        change = act(lambda: set_body_members(db.session, current_user, unit.id, body, chosen))
    except WorkflowError as error:
        db.session.expire_all()
        return _render_bodies(unit, forms, _messages(error), status_for(error))
    if change.is_change:
        flash(
            _("%(body)s saved: %(count)d members.", body=BODY_LABELS[body], count=change.size),
            "success",
        )
    else:
        flash(_("Nothing changed."), "info")
    return redirect(url_for("units.voting_bodies_page", unit_id=unit.id) + f"#body-{body}")
