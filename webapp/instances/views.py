"""Procedure instances: the list in one's scope, one instance's page (diagram, history, comments, files),
starting a procedure and cancelling one."""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import re
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from webapp import display_zone
from webapp.audit.reads import read_logged
from webapp.extensions import db
from webapp.http import act, problem_text, process_engine, status_for, translated
from webapp.i18n import diagram_words
from webapp.instances.event_words import EventWords
from webapp.instances.forms import CancelForm, CommentForm, StartForm
from webapp.own_start_pages import own_page_links, own_start_page, refusal_message
from webapp.start_form import cadres_json, unit_tree
from workflows.access import holds_role_over_instance, visible_units
from workflows.engine import operations
from workflows.engine.store import InstanceSnapshot, UntakeableTask
from workflows.errors import Conflict, Invalid, NotAllowed, NotFound, ScriptFailure, WorkflowError
from workflows.exports import read_instance_filters
from workflows.inspection.reads import ViewedObject
from workflows.instances import (
    STARTING_ROLES,
    STATUSES,
    InstancePage,
    ProcessChoice,
    can_cancel_instance,
    can_comment,
    can_start_any,
    deployed_processes,
    diagram_for,
    display_value,
    find_cadre,
    instance_detail,
    instance_page,
    load_visible_attachment,
    load_visible_instance,
    parse_day,
    sees_technical_data,
    startable_processes,
    startable_subjects,
    untakeable_tasks,
)
from workflows.models import Comment, HumanTask, ProcessInstance
from workflows.reassignment import is_ballot_step
from workflows.registry.models import OrgUnit
from workflows.rules.reassignment import REASSIGNING_ROLES
from workflows.states import EventType, InstanceStatus, Outcome, Role

bp = Blueprint("instances", __name__)

STATUS_LABELS = {
    InstanceStatus.RUNNING: _l("In progress"),
    InstanceStatus.COMPLETED: _l("Completed"),
    InstanceStatus.CANCELLED: _l("Cancelled"),
}
# A completed instance as its end event says it ended (workflows.outcomes): only a reached result is a success.
OUTCOME_LABELS = {
    Outcome.ACHIEVED: _l("Completed"),
    Outcome.STOPPED: _l("Ended without its result"),
    Outcome.ESCALATED: _l("Ended after reporting upwards"),
    Outcome.ENDED: _l("Finished"),
}
ROLE_LABELS = {
    Role.OFFICER: _l("Officer"),
    Role.SUPERVISOR: _l("Direct supervisor"),
    Role.HEAD: _l("Head of unit"),
    Role.PERSONNEL: _l("Personnel officer"),
    Role.AUDITOR: _l("Inspector"),
    Role.ADMIN: _l("Administrator"),
}
SORT_LABELS = {
    "newest": _l("Newest first"),
    "oldest": _l("Oldest first"),
    "ended": _l("Recently ended"),
    "process": _l("Procedure"),
    "subject": _l("Person"),
}
# The app-wide policy (webapp._init_security_headers) plus the diagram's own styles, allowed by hash: the page
# still refuses any other inline style, and the SVG our renderer drew keeps its look.
PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src {styles}; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'self'"
)
SVG_POLICY = "default-src 'none'; style-src {styles}; frame-ancestors 'none'"
# An uploaded file is whatever its uploader sent; opened by mistake in the browser it must not run as our site.
DOWNLOAD_POLICY = "default-src 'none'; sandbox"
SHA256_HEX = re.compile(r"[0-9a-f]{64}")


@bp.context_processor
def labels() -> dict[str, Any]:
    return {
        "status_labels": STATUS_LABELS,
        "role_labels": ROLE_LABELS,
        "event_types": EventType,
        "show_value": display_value,
        "nobody_can_take": nobody_can_take,
        "outcome_labels": OUTCOME_LABELS,
    }


@bp.app_template_global()
def event_words(detail: Any) -> EventWords:
    """A page's events worded (decision 0100): `words.what(entry)`, `words.who(entry)`, once per row."""
    return EventWords.for_page(detail, ROLE_LABELS)


def nobody_can_take(task: HumanTask | UntakeableTask, unit_name: str) -> str:
    """The warning for a step waiting for a role nobody holds where it waits (workflows.instances.untakeable_tasks)."""
    role = task.candidate_role or ""
    return _(
        "Step “%(step)s” is waiting for a person with the role %(role)s at %(unit)s, but nobody holds this role yet. "
        "Ask an administrator to assign it.",
        step=task.name,
        role=ROLE_LABELS.get(role, role),
        unit=unit_name,
    )


def warn_if_nobody_can_take(instance_id: int) -> None:
    """After a start: flash a warning for each first step nobody can take, so the starter knows it will wait."""
    for task, unit_name in untakeable_tasks(db.session, instance_id=instance_id):
        flash(nobody_can_take(task, unit_name), "warning")


def warn_of_untakeable(advanced: InstanceSnapshot) -> None:
    """After a completion: the same warning for the steps it opened, as the advance found them (no read of its
    own: `complete_task(find_untakeable=True)`)."""
    for task in advanced.untakeable or ():
        flash(nobody_can_take(task, task.unit_name), "warning")


def _load(instance_id: int) -> ProcessInstance:
    try:
        return load_visible_instance(db.session, current_user, instance_id)
    except NotFound:
        abort(404)


# Keyed by the SVG's text: a drawing is the same string object while its version's cache holds it (its hash is
# kept, the lookup compares by identity first), and a new version or an instance moved on draws a new text. 128
# drawings: the versions in use times the progress states their instances stand at (decision 0093).
@functools.lru_cache(maxsize=128)
def _style_sources(svg: str) -> tuple[str, ...]:
    """CSP sources for exactly the styles inside an SVG drawn by workflows.diagram: found and hashed once per
    drawing, not on every view of the page that shows it."""
    hashes = {_csp_hash(css) for css in re.findall(r"<style>(.*?)</style>", svg, re.DOTALL)}
    attributes = {_csp_hash(value) for value in re.findall(r'\sstyle="([^"]*)"', svg)}
    if attributes:
        hashes |= attributes | {"'unsafe-hashes'"}
    return tuple(sorted(hashes))


def diagram_page_policy(svg: str) -> str:
    """The Content-Security-Policy of a page that shows this diagram inline."""
    return PAGE_POLICY.format(styles=" ".join(["'self'", *_style_sources(svg)]))


def page_with_diagram(page: str, status: int, svg: str | None) -> Response:
    """The response of a page that may show a diagram inline, with the policy that lets its styles through."""
    response = make_response(page, status)
    if svg:
        response.headers["Content-Security-Policy"] = diagram_page_policy(svg)
    return response


def _csp_hash(text: str) -> str:
    digest = hashlib.sha256(html.unescape(text).encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


# -- the list ---------------------------------------------------------------------------------------------------


def _date_inputs(errors: dict[str, str]) -> dict[str, str]:
    """Values for the date inputs: ISO when readable (what type=date expects), else what was typed."""
    values = {}
    for name in ("from", "to"):
        text = (request.args.get(name) or "").strip()
        values[name] = text if name in errors or not text else parse_day(text).isoformat()
    return values


@bp.get("/instances")
@login_required
def index() -> tuple[str, int]:
    processes = deployed_processes(db.session)
    units = visible_units(db.session, current_user)
    filters, problems = read_instance_filters(
        request.args,
        display_zone(current_app),
        latest_versions={p.process_id: p.version for p in processes},
        unit_ids={u.id for u in units},
    )
    # Filters that cannot be applied are refused as the audit log refuses them (decision 0112): an empty list
    # would read as "nothing matches".
    errors = {problem.field or "": problem_text(problem) for problem in problems}
    empty = InstancePage(rows=[], total=0, page=1, per_page=filters.per_page)
    return render_template(
        "instances/index.html",
        filters=filters,
        errors=errors,
        dates=_date_inputs(errors),
        version_input=(request.args.get("version") or "").strip()[:20],
        page=empty if errors else instance_page(db.session, current_user, filters),
        processes=processes,
        units=units,
        statuses=STATUSES,
        sort_labels=SORT_LABELS,
        can_start=can_start_any(db.session, current_user),
    ), (400 if errors else 200)


# -- one instance -----------------------------------------------------------------------------------------------


def _render_show(
    instance: ProcessInstance,
    *,
    comment_form: CommentForm | None = None,
    cancel_form: CancelForm | None = None,
    status: int = 200,
) -> Response:
    detail = instance_detail(
        db.session,
        process_engine(),
        current_user,
        instance,
        locale=str(get_locale() or "vi"),
        diagram_words=diagram_words(),
    )
    may_hand_on = any(
        holds_role_over_instance(db.session, current_user, role, detail.instance) for role in REASSIGNING_ROLES
    )
    page = render_template(
        "instances/show.html",
        detail=detail,
        instance=detail.instance,
        # "Giao lại" beside an open step (decision 0078): the page that opens checks everything again.
        may_hand_on=lambda task: may_hand_on and not is_ballot_step(task.process_id, task.task_key),
        show_technical=sees_technical_data(current_user),
        comment_form=comment_form or CommentForm(formdata=None),
        cancel_form=cancel_form or CancelForm(formdata=None),
    )
    return page_with_diagram(page, status, detail.diagram_svg)


@bp.get("/instances/<int:instance_id>")
@login_required
def show(instance_id: int) -> Response:
    found = _load(instance_id)
    with read_logged(ViewedObject.INSTANCE, found.id, found.unit_id):
        return _render_show(found)


@bp.get("/instances/<int:instance_id>/diagram.svg")
@login_required
def diagram(instance_id: int) -> Response:
    found = _load(instance_id)
    with read_logged(ViewedObject.INSTANCE_DIAGRAM, found.id, found.unit_id):
        svg = diagram_for(db.session, process_engine(), found, words=diagram_words())
        if svg is None:
            abort(404)  # nothing shown, nothing logged
    response = make_response(svg)
    response.mimetype = "image/svg+xml"
    response.headers["Content-Security-Policy"] = SVG_POLICY.format(styles=" ".join(_style_sources(svg)) or "'none'")
    response.cache_control.private = True
    response.cache_control.no_cache = True
    return response


@bp.get("/attachments/<int:attachment_id>")
@login_required
def download(attachment_id: int) -> Response:
    try:
        attachment = load_visible_attachment(db.session, current_user, attachment_id)
    except NotFound:
        abort(404)
    path = Path(current_app.config["UPLOAD_DIR"]) / attachment.sha256
    if not SHA256_HEX.fullmatch(attachment.sha256) or not path.is_file():
        abort(404)
    # A dossier's file is the most personal thing a procedure holds: its download is a read (decision 0143).
    instance = attachment.instance  # loaded by the scope check above: taken from the session, not read again
    with read_logged(ViewedObject.INSTANCE_FILE, instance.id, instance.unit_id, attachment.filename):
        response = send_file(
            path,
            mimetype=attachment.content_type or "application/octet-stream",
            as_attachment=True,
            download_name=attachment.filename,
            max_age=0,
        )
    response.headers["Content-Security-Policy"] = DOWNLOAD_POLICY
    response.cache_control.private = True
    return response


@bp.post("/instances/<int:instance_id>/comments")
@login_required
def comment(instance_id: int) -> Response:
    instance = _load(instance_id)
    if not can_comment(current_user):
        abort(403)
    form = CommentForm()
    if not form.validate():
        return _render_show(instance, comment_form=form, status=422)
    body = form.body.data or ""

    def add() -> None:
        db.session.add(Comment(instance_id=instance.id, author_id=current_user.id, body=body))

    act(add)
    flash(_("Your comment was added."), "success")
    return redirect(url_for("instances.show", instance_id=instance.id, _anchor="comments"))


@bp.post("/instances/<int:instance_id>/cancel")
@login_required
def cancel(instance_id: int) -> Response:
    instance = _load(instance_id)
    if not can_cancel_instance(db.session, current_user, instance):
        abort(403)
    form = CancelForm()
    if not form.validate():
        return _render_show(instance, cancel_form=form, status=422)
    reason = form.reason.data or ""
    try:
        act(
            lambda: operations.cancel_instance(
                db.session, process_engine(), actor=current_user, instance_id=instance.id, reason=reason
            )
        )
    except NotAllowed:
        abort(403)
    except Invalid as error:
        form.reason.errors = [*form.reason.errors, translated(error)]
        return _render_show(instance, cancel_form=form, status=422)
    except Conflict as error:
        flash(translated(error), "error")
        return redirect(url_for("instances.show", instance_id=instance.id))
    flash(_("The procedure was cancelled."), "success")
    return redirect(url_for("instances.show", instance_id=instance.id))


# -- starting -----------------------------------------------------------------------------------------------------


def _start_form(units: list[OrgUnit], processes: list[ProcessChoice]) -> StartForm:
    """Procedures with a page of their own (webapp/own_start_pages.py) are not offered: they are linked."""
    form = StartForm()
    form.process_id.choices = [("", _("Choose a procedure"))] + [
        (p.process_id, f"{p.name} (v{p.version})") for p in processes if own_start_page(p.process_id) is None
    ]
    form.unit.choices = [("", _("The unit of the person concerned"))] + [
        (str(u.id), label) for u, label in unit_tree(units)
    ]
    if request.method == "GET":
        form.process_id.data = request.args.get("process") or ""
        own = current_user.cadre
        starts_for_others = any(role in STARTING_ROLES for role in current_user.roles)
        form.subject.data = request.args.get("subject") or (
            own.code if own is not None and not starts_for_others else ""
        )
    return form


def _chosen_unit(form: StartForm, units: list[OrgUnit]) -> tuple[int | None, bool]:
    """(unit id or None for the subject's own unit, whether the choice is acceptable)."""
    raw = (form.unit.data or "").strip()
    if not raw:
        return None, True
    by_id = {str(u.id): u.id for u in units}
    return by_id.get(raw), raw in by_id


@bp.route("/instances/start", methods=["GET", "POST"])
@login_required
def start() -> Response:
    if not can_start_any(db.session, current_user):
        abort(403)
    units = visible_units(db.session, current_user, active_only=True)
    processes = startable_processes(db.session)
    form = _start_form(units, processes)
    problems: list[str] = []
    status = 422  # a refused start; a failed model script answers its own status
    own_page = own_start_page(request.form.get("process_id")) if request.method == "POST" else None
    if own_page is not None:
        # Started here it would lack the data its own page gathers: refused, nothing written.
        form.process_id.errors = [refusal_message(own_page)]
    elif form.validate_on_submit():
        cadre = find_cadre(db.session, current_user, form.subject.data or "")
        unit_id, unit_ok = _chosen_unit(form, units)
        if cadre is None:
            form.subject.errors = [*form.subject.errors, _("No cadre with this code in your units.")]
        if not unit_ok:
            form.unit.errors = [*form.unit.errors, _("Choose a unit from the list.")]
        if cadre is not None and unit_ok:
            process_id = form.process_id.data or ""
            try:
                started = act(
                    lambda: operations.start_instance(
                        db.session,
                        process_engine(),
                        actor=current_user,
                        process_id=process_id,
                        subject_cadre_id=cadre.id,
                        unit_id=unit_id,
                    )
                )
            except WorkflowError as error:
                problems.append(translated(error))
                if isinstance(error, ScriptFailure):
                    status = status_for(error)
            else:
                flash(_("The procedure was started for %(name)s.", name=cadre.full_name), "success")
                warn_if_nobody_can_take(started.id)
                return redirect(url_for("instances.show", instance_id=started.id))
    page = render_template(
        "instances/start.html",
        form=form,
        problems=problems,
        subjects=startable_subjects(db.session, current_user),
        own_pages=own_page_links(current_user, processes),
    )
    return make_response(page, status if request.method == "POST" else 200)


@bp.get("/instances/start/cadres")
@login_required
def search_cadres() -> Response:
    """The cadres `?q=` finds among the start page's suggestions (JSON for static/cadre_search.js)."""
    if not can_start_any(db.session, current_user):
        abort(403)
    return cadres_json()
