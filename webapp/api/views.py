"""The JSON API for other software: the inbox, tasks, processes, instances and the audit trail.

Only a bearer token authenticates (`Authorization: Bearer …`); the session cookie is never read, so the blueprint
is exempt from CSRF without a signed-in browser being able to use it. Each view loads (404 outside the caller's
scope, as if the object did not exist), checks (403), validates (422) and makes one call into `workflows`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request, url_for
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response

from webapp.api import inputs, payloads, queries
from webapp.api.openapi import openapi_document
from webapp.audit.reads import read_logged
from webapp.extensions import db, login_manager
from webapp.http import act, process_engine, status_for, translated
from webapp.i18n import diagram_words
from webapp.own_start_pages import own_start_page, refusal_message
from workflows.access import visible_units
from workflows.audit import instance_chain, verify_chains
from workflows.clock import utcnow_naive
from workflows.db import commit_keeping_loaded
from workflows.deployment.operations import (
    can_deploy,
    can_retire,
    can_roll_back,
    deploy_bundle,
    reinstate_process,
    retire_process,
    roll_back_process,
)
from workflows.deployment.validation import BundleFile, split_uploads, validate_bundle
from workflows.engine import operations
from workflows.engine.store import InstanceSnapshot
from workflows.errors import UNKNOWN_FIELD, Invalid, NotAllowed, NotFound, Problem, WorkflowError
from workflows.inspection.reads import ViewedObject
from workflows.instances import (
    InstanceFilters,
    diagram_for,
    find_cadre,
    instance_variables,
    is_read_only,
    load_visible_instance,
)
from workflows.query_args import MAX_ID
from workflows.registry.models import User
from workflows.registry.tokens import user_for_token
from workflows.tasks import load_task_view, visible_task_instance

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# Primary keys are 32-bit on PostgreSQL: a larger number cannot name anything, and sent to the database it would
# fail as an out-of-range parameter instead of simply not matching.
ID = f"int(min=1, max={MAX_ID})"
OPENAPI_PATH = "/api/openapi.json"
PUBLIC_ENDPOINTS = frozenset({"api.openapi"})
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"


# -- authentication and errors -------------------------------------------------------------------------


def _bearer_token() -> str | None:
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _unauthorized(token_given: bool) -> Response:
    response = jsonify(payloads.error(401, _("A valid API token is required: send Authorization: Bearer <token>.")))
    response.status_code = 401
    challenge = 'Bearer realm="canbo"'
    if token_given:
        challenge += ', error="invalid_token"'  # RFC 6750: tells a client its token was refused, not missing
    response.headers["WWW-Authenticate"] = challenge
    return response


@bp.before_request
def authenticate() -> Response | None:
    # Flask-Login takes the user from g before it looks at the session cookie. Pinning it here, for every API
    # request, means nothing that runs for the API (locale selection included) can pick up a signed-in browser.
    g._login_user = login_manager.anonymous_user()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    token = _bearer_token()
    user = None
    if token is not None:
        # Usually a plain read: the request's own work goes on in the same transaction (no COMMIT and no fresh
        # BEGIN between them). Only when the token's last use is due to be written (once a minute) is it committed.
        try:
            use = user_for_token(db.session, token)
            if use is not None:
                user = use.user
                if use.recorded:
                    commit_keeping_loaded(db.session)  # the user and roles just read stay loaded
        except BaseException:
            db.session.rollback()
            raise
    if user is None:
        return _unauthorized(token is not None)
    g.api_user = g._login_user = user
    return None


@bp.after_request
def no_store(response: Response) -> Response:
    response.headers.setdefault("Cache-Control", "no-store")  # answers carry personal data
    return response


@bp.errorhandler(WorkflowError)
def workflow_error(error: WorkflowError) -> ResponseReturnValue:
    # The app-wide handler gives problems only a field and a message; uploaded models need file, line and element.
    problems = error.problems if isinstance(error, Invalid) else None
    status = status_for(error)
    return jsonify(payloads.error(status, translated(error), problems)), status


def _user() -> User:
    user: User = g.api_user  # set by authenticate() for every endpoint that is not public
    return user


# -- loaders: the object, or NotFound when it is missing or outside the caller's scope -------------------


def _visible_task_instance(task_id: int) -> int:
    """The task's instance id, or NotFound when the task is missing or outside the caller's scope."""
    instance_id = visible_task_instance(db.session, _user(), task_id)
    if instance_id is None:
        raise NotFound(f"task {task_id} does not exist")
    return instance_id


def _instance_with_tasks(instance_id: int) -> dict[str, Any]:
    rows = queries.instance_with_open_tasks(db.session, instance_id)
    assert rows  # just written or checked in this request
    return payloads.instance_reply(rows, utcnow_naive())


# -- the caller and their inbox ------------------------------------------------------------------------


@bp.get("/me")
def me() -> ResponseReturnValue:
    return jsonify(payloads.me(_user()))


@bp.get("/tasks")
def list_tasks() -> ResponseReturnValue:
    query = inputs.task_query(request.args)
    now = utcnow_naive()
    rows, total = queries.task_page(db.session, _user(), query, now)
    return jsonify(
        {
            "items": [
                payloads.task_list_item(task, subject, unit, reopened, now) for task, subject, unit, reopened in rows
            ],
            "total": total,
            "page": query.page,
            "per_page": query.per_page,
        }
    )


@bp.get(f"/tasks/<{ID}:task_id>")
def show_task(task_id: int) -> ResponseReturnValue:
    view = load_task_view(db.session, process_engine(), _user(), task_id)
    return jsonify(payloads.task_detail(view, utcnow_naive()))


@bp.post(f"/tasks/<{ID}:task_id>/claim")
def claim_task(task_id: int) -> ResponseReturnValue:
    _visible_task_instance(task_id)
    act(lambda: operations.claim_task(db.session, actor=_user(), task_id=task_id))
    return show_task(task_id)


@bp.post(f"/tasks/<{ID}:task_id>/reassign")
def reassign_task(task_id: int) -> ResponseReturnValue:
    """Hand an open task to another person (decision 0078): the same service, checks and audit as the page."""
    _visible_task_instance(task_id)
    body = inputs.json_object(request.get_data())
    unknown = sorted(str(key) for key in body if key not in ("assignee", "reason"))
    problems = [Problem(UNKNOWN_FIELD, field=key) for key in unknown]
    assignee = body.get("assignee")
    receiver = (
        db.session.scalar(select(User).where(User.username == assignee.strip().lower()))
        if isinstance(assignee, str) and assignee.strip()
        else None
    )
    if receiver is None:
        problems.append(Problem("no account has this username", field="assignee"))
    if problems:
        raise Invalid("the task was not handed on", problems)
    assert receiver is not None
    act(
        lambda: operations.reassign_task(
            db.session, actor=_user(), task_id=task_id, to_user_id=receiver.id, reason=body.get("reason")
        )
    )
    return show_task(task_id)


@bp.post(f"/tasks/<{ID}:task_id>/complete")
def complete_task(task_id: int) -> ResponseReturnValue:
    try:
        data = inputs.json_object(request.get_data())
    except Invalid:
        _visible_task_instance(task_id)  # a task outside the caller's scope is not there, whatever was sent
        raise
    user = _user()
    reply: dict[str, Any] = {}

    def complete() -> InstanceSnapshot:
        # The service answers NotFound for a task outside the caller's scope, decided on the row it locks, and
        # refuses a key that is not a field of the task's form (as the start refuses one that is not its own). The
        # answer is what the completion read with its lock and its write: no query of its own.
        advanced = operations.complete_task(
            db.session,
            process_engine(),
            actor=user,
            task_id=task_id,
            data=data,
            read_open_tasks=True,
            form_fields_only=True,
        )
        reply.update(payloads.advance_reply(advanced, utcnow_naive()))
        return advanced

    act(complete)
    return jsonify(reply)


# -- process definitions -------------------------------------------------------------------------------


@bp.get("/processes")
def list_processes() -> ResponseReturnValue:
    return jsonify(payloads.processes(queries.latest_versions(db.session)))


def _uploaded_bundle(forms_dir: Path) -> tuple[list[BundleFile], dict[str, bytes]]:
    uploads = [upload for upload in request.files.getlist("files") if upload.filename]
    if not uploads:
        raise Invalid("no files were uploaded", [Problem(_("upload at least one .bpmn file"), field="files")])
    files, forms, problems = split_uploads((str(upload.filename), upload.read()) for upload in uploads)
    if problems:
        try:
            validate_bundle(files, forms_dir, forms)
        except Invalid as error:
            problems.extend(error.problems)
        raise Invalid("the model bundle is not valid", problems)
    return files, forms


@bp.post("/processes")
def deploy() -> ResponseReturnValue:
    user = _user()
    if not can_deploy(user):
        raise NotAllowed("only administrators may deploy processes")
    forms_dir = Path(current_app.config["FORMS_DIR"])
    files, forms = _uploaded_bundle(forms_dir)
    results = act(lambda: deploy_bundle(db.session, files, actor=user, forms_dir=forms_dir, extra_forms=forms))
    return jsonify(payloads.deployed(results)), 201


@bp.post("/processes/<process_id>/rollback")
def roll_back(process_id: str) -> ResponseReturnValue:
    user = _user()
    if not can_roll_back(user):
        raise NotAllowed("only administrators may use an earlier version of a procedure again")
    asked = inputs.rollback_request(inputs.json_object(request.get_data()))
    result = act(
        lambda: roll_back_process(
            db.session, actor=user, process_id=process_id, version=asked.version, reason=asked.reason
        )
    )
    return jsonify(payloads.rolled_back(result)), 201


@bp.post("/processes/<process_id>/withdraw")
def withdraw(process_id: str) -> ResponseReturnValue:
    user = _user()
    if not can_retire(user):
        raise NotAllowed("only administrators may withdraw a procedure from use")
    reason = inputs.withdraw_request(inputs.json_object(request.get_data()))
    version = act(lambda: retire_process(db.session, actor=user, process_id=process_id, reason=reason))
    return jsonify(payloads.in_use(version))


@bp.post("/processes/<process_id>/reinstate")
def reinstate(process_id: str) -> ResponseReturnValue:
    user = _user()
    if not can_retire(user):
        raise NotAllowed("only administrators may put a procedure back in use")
    reason = inputs.reinstate_request(inputs.json_object(request.get_data()))
    version = act(lambda: reinstate_process(db.session, actor=user, process_id=process_id, reason=reason))
    return jsonify(payloads.in_use(version))


# -- process instances ---------------------------------------------------------------------------------


@bp.get("/instances")
def list_instances() -> ResponseReturnValue:
    """The procedures in the caller's scope — the web list's scope, filters and order (newest first) — each as
    `GET /instances/<id>` answers it. A list, like the web one, is not a read of each record: not logged."""
    user = _user()
    query = inputs.instance_query(request.args)
    unit_id = None
    if query.unit_code is not None:
        # The units the web list offers to filter by (their subtrees, merged units included); any other code reads
        # like one that does not exist, as a start's does.
        units = {unit.code: unit.id for unit in visible_units(db.session, user)}
        unit_id = units.get(query.unit_code)
        if unit_id is None:
            raise Invalid("the query parameters are not valid", [Problem(_("no org unit has this code"), field="unit")])
    filters = InstanceFilters(
        status=query.status,
        process_id=query.process_id,
        unit_id=unit_id,
        subject_code=query.subject_code,
        page=query.page,
        per_page=query.per_page,
    )
    pages, total = queries.instance_list_page(db.session, user, filters)
    now = utcnow_naive()
    return jsonify(
        {
            "items": [payloads.instance_reply(rows, now) for rows in pages],
            "total": total,
            "page": query.page,
            "per_page": query.per_page,
            "next_page": query.page + 1 if query.page * query.per_page < total else None,
        }
    )


@bp.post("/instances")
def start_instance() -> ResponseReturnValue:
    user = _user()
    if is_read_only(user):
        raise NotAllowed("you may not start this procedure for that unit or person")  # inspectors only follow
    start = inputs.start_request(inputs.json_object(request.get_data()))
    # A code outside the caller's units reads exactly like one that does not exist (as a forged id answers 404).
    problems: list[Problem] = []
    own_page = own_start_page(start.process_id)
    if not queries.is_deployed(db.session, start.process_id):
        problems.append(Problem(_("no process with this id is deployed"), field="process"))
    elif own_page is not None:
        # It would lack the data its page gathers and fail at its first gateway (webapp/own_start_pages.py).
        problems.append(Problem(refusal_message(own_page), field="process"))
    subject_id, unit_id = user.cadre_id, None
    if start.subject_code is not None:
        cadre = find_cadre(db.session, user, start.subject_code)
        if cadre is None:
            problems.append(Problem(_("no cadre has this code"), field="subject"))
        subject_id = cadre.id if cadre is not None else None
    if start.unit_code is not None:
        units = {unit.code: unit.id for unit in visible_units(db.session, user, active_only=True)}
        unit_id = units.get(start.unit_code)
        if unit_id is None:
            problems.append(Problem(_("no org unit has this code"), field="unit"))
    if problems:
        raise Invalid("the request body is not valid", problems)
    if subject_id is None and unit_id is None:
        unit_id = user.unit_id  # with a subject, start_instance takes the subject's unit
    snapshot = act(
        lambda: operations.start_instance(
            db.session,
            process_engine(),
            actor=user,
            process_id=start.process_id,
            data=start.data,
            subject_cadre_id=subject_id,
            unit_id=unit_id,
        )
    )
    response = jsonify(_instance_with_tasks(snapshot.id))
    response.status_code = 201
    response.headers["Location"] = url_for("api.show_instance", instance_id=snapshot.id)
    return response


@bp.get(f"/instances/<{ID}:instance_id>")
def show_instance(instance_id: int) -> ResponseReturnValue:
    found = load_visible_instance(db.session, _user(), instance_id)
    with read_logged(ViewedObject.INSTANCE, found.id, found.unit_id):
        return jsonify(_instance_with_tasks(instance_id))


@bp.get(f"/instances/<{ID}:instance_id>/data")
def instance_data(instance_id: int) -> ResponseReturnValue:
    found = load_visible_instance(db.session, _user(), instance_id)
    with read_logged(ViewedObject.INSTANCE, found.id, found.unit_id):
        variables = instance_variables(db.session, process_engine(), found, locale=str(get_locale() or "vi"))
        return jsonify(payloads.instance_variables(found, variables))


@bp.get(f"/instances/<{ID}:instance_id>/history")
def history(instance_id: int) -> ResponseReturnValue:
    found = load_visible_instance(db.session, _user(), instance_id)
    with read_logged(ViewedObject.INSTANCE_HISTORY, found.id, found.unit_id):
        chain = instance_chain(instance_id)
        events = queries.instance_events(db.session, chain)
        report = verify_chains(db.session, chain, events=events)  # verifies the events it answers with
        return jsonify(payloads.history(instance_id, events, report.ok))


@bp.get(f"/instances/<{ID}:instance_id>/diagram.svg")
def diagram(instance_id: int) -> ResponseReturnValue:
    instance = load_visible_instance(db.session, _user(), instance_id)
    with read_logged(ViewedObject.INSTANCE_DIAGRAM, instance.id, instance.unit_id):
        svg = diagram_for(db.session, process_engine(), instance, words=diagram_words())
        if svg is None:
            raise NotFound("this process has no diagram")
    response = Response(svg, mimetype="image/svg+xml")
    # Opened on its own, the drawing needs its inline <style>; nothing in it may run or be framed.
    response.headers["Content-Security-Policy"] = SVG_POLICY
    return response


# -- audit ---------------------------------------------------------------------------------------------


@bp.get("/audit/verify")
def verify_audit() -> ResponseReturnValue:
    if not queries.can_verify_audit(_user()):
        raise NotAllowed("only auditors and administrators may verify the audit trail")
    return jsonify(payloads.verify_report(verify_chains(db.session)))


# -- the description of all of the above ---------------------------------------------------------------


def openapi() -> ResponseReturnValue:
    return jsonify(openapi_document())


@bp.record_once
def _add_openapi_route(state: BlueprintSetupState) -> None:
    # The document describes every version of the API, so it sits above /api/v1; its endpoint stays in this
    # blueprint ("api.") so the blueprint's hooks and error handlers apply to it too.
    state.app.add_url_rule(OPENAPI_PATH, "api.openapi", openapi, methods=["GET"])
