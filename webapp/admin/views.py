from __future__ import annotations

import re
from functools import wraps
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from webapp.admin.forms import ReinstateForm, RollbackForm, WithdrawForm
from webapp.audit.signing import key_missing as export_key_missing
from webapp.extensions import db
from webapp.http import act, translated
from webapp.i18n import diagram_words
from webapp.instances.views import DOWNLOAD_POLICY, ROLE_LABELS, page_with_diagram
from workflows.deployment.comparison import changes_from_previous, load_version, version_models
from workflows.deployment.operations import (
    deploy_bundle,
    reinstate_process,
    retire_process,
    roll_back_process,
    unsafe_versions_in_use,
    version_history,
)
from workflows.deployment.validation import split_uploads
from workflows.diagram import render_svg
from workflows.engine.operations import start_failures
from workflows.engine.runtime import defining_bpmn_file
from workflows.errors import Conflict, Invalid, NotAllowed, NotFound
from workflows.instances import deployed_processes, untakeable_tasks
from workflows.models import HumanTask, ProcessInstance, ProcessVersion
from workflows.states import InstanceStatus, Role, TaskStatus

bp = Blueprint("admin", __name__, url_prefix="/admin")

# What each kind of step is called where a version is compared with the one before it.
STEP_KIND_LABELS = {
    "task": _l("Task"),
    "userTask": _l("User task"),
    "manualTask": _l("Manual task"),
    "scriptTask": _l("Script task"),
    "businessRuleTask": _l("Business rule task"),
    "serviceTask": _l("Service task"),
    "sendTask": _l("Send task"),
    "receiveTask": _l("Receive task"),
    "subProcess": _l("Sub-process"),
    "transaction": _l("Sub-process"),
    "adHocSubProcess": _l("Sub-process"),
    "callActivity": _l("Call activity"),
    "startEvent": _l("Start event"),
    "endEvent": _l("End event"),
    "intermediateCatchEvent": _l("Intermediate event"),
    "intermediateThrowEvent": _l("Intermediate event"),
    "boundaryEvent": _l("Boundary event"),
    "exclusiveGateway": _l("Exclusive gateway"),
    "parallelGateway": _l("Parallel gateway"),
    "inclusiveGateway": _l("Inclusive gateway"),
    "eventBasedGateway": _l("Event-based gateway"),
    "complexGateway": _l("Complex gateway"),
}


def admin_required(view: Any) -> Any:
    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.has_role(Role.ADMIN):
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def _versions() -> list[Any]:
    return list(
        db.session.execute(
            select(
                ProcessVersion.process_id,
                ProcessVersion.name,
                ProcessVersion.version,
                ProcessVersion.deployed_dt,
                ProcessVersion.content_hash,
                ProcessVersion.retired_dt,
                ProcessVersion.retired_reason,
            ).order_by(ProcessVersion.process_id, ProcessVersion.version.desc())
        )
    )


def _process_names() -> dict[str, str]:
    """Each procedure's name as its latest version has it: what an administrator calls it, not its model id."""
    return {process.process_id: process.name for process in deployed_processes(db.session)}


@bp.get("")
@admin_required
def index() -> str:
    return _render()


def _render(
    problems: list[Any] | None = None,
    status: int = 200,
    *,
    withdraw_form: WithdrawForm | None = None,
    withdrawing: str | None = None,
    reinstate_form: ReinstateForm | None = None,
    reinstating: str | None = None,
) -> Any:
    unassigned = db.session.scalars(
        select(HumanTask)
        .where(HumanTask.status == TaskStatus.OPEN, HumanTask.assignment_problem.is_not(None))
        .order_by(HumanTask.opened_dt)
        .limit(100)
    ).all()
    untakeable = untakeable_tasks(db.session)
    failing = db.session.execute(  # (instance, its procedure's name as its version has it)
        select(ProcessInstance, ProcessVersion.name)
        .join(ProcessVersion, ProcessInstance.process_version_id == ProcessVersion.id)
        .where(ProcessInstance.status == InstanceStatus.RUNNING, ProcessInstance.last_error.is_not(None))
        .order_by(ProcessInstance.id)
        .limit(100)
    ).all()
    page = render_template(
        "admin/index.html",
        failed_starts=start_failures(db.session),
        export_key_missing=export_key_missing(),  # exports refused until it is set (decision 0082)
        unsafe_versions=unsafe_versions_in_use(db.session),
        versions=_versions(),
        unassigned=unassigned,
        untakeable=untakeable,
        role_labels=ROLE_LABELS,
        failing=failing,
        deploy_problems=problems or [],
        withdraw_form=withdraw_form or WithdrawForm(formdata=None),
        withdrawing=withdrawing,
        reinstate_form=reinstate_form or ReinstateForm(formdata=None),
        reinstating=reinstating,
    )
    return page, status


@bp.post("/processes")
@admin_required
def deploy() -> Any:
    """Upload BPMN/DMN files, with the form files they name; every problem is listed and nothing is stored."""
    files, forms, problems = split_uploads(
        (upload.filename, upload.read()) for upload in request.files.getlist("files") if upload and upload.filename
    )
    if problems:
        flash(_("The model was refused; nothing was stored."), "error")
        return _render(problems, status=422)
    if not files:
        flash(_("Choose at least one .bpmn file."), "error")
        return _render(status=422)
    try:
        results = act(
            lambda: deploy_bundle(
                db.session,
                files,
                actor=current_user,
                forms_dir=Path(current_app.config["FORMS_DIR"]),
                extra_forms=forms,
            )
        )
    except Invalid as error:
        flash(_("The model was refused; nothing was stored."), "error")
        return _render(error.problems, status=422)
    except NotAllowed:
        abort(403)
    names = _process_names()
    earlier = None
    for result in results:
        name = names.get(result.process_id, result.process_id)
        if result.created:
            flash(_("Deployed %(process)s version %(version)d.", process=name, version=result.version), "success")
        elif result.is_earlier:
            earlier = earlier or result.process_id
            flash(
                _(
                    "%(process)s: this content is version %(version)d, an earlier version; nothing changed and new "
                    "procedures still start on version %(current)d. To start them on version %(version)d again, "
                    "choose “Use this version again” on the procedure's page and say why.",
                    process=name,
                    version=result.version,
                    current=result.current_version,
                ),
                "warning",
            )
        else:
            flash(
                _(
                    "%(process)s version %(version)d is identical; nothing changed.",
                    process=name,
                    version=result.version,
                ),
                "info",
            )
    if earlier is not None:  # where the version can be used again
        return redirect(url_for("admin.show_process", process_id=earlier))
    return redirect(url_for("admin.index"))


@bp.post("/processes/<process_id>/withdraw")
@admin_required
def withdraw(process_id: str) -> Any:
    """Nothing new starts from the procedure; what runs goes on (decision 0050)."""
    form = WithdrawForm()
    if not form.validate():
        return _render(status=422, withdraw_form=form, withdrawing=process_id)
    reason = form.reason.data or ""
    try:
        act(lambda: retire_process(db.session, actor=current_user, process_id=process_id, reason=reason))
    except NotFound:
        abort(404)
    except NotAllowed:
        abort(403)
    except Invalid as error:
        form.reason.errors = [*form.reason.errors, translated(error)]
        return _render(status=422, withdraw_form=form, withdrawing=process_id)
    except Conflict as error:
        flash(translated(error), "error")
        return redirect(url_for("admin.index", _anchor="processes"))
    name = _process_names().get(process_id, process_id)
    flash(_("%(process)s is withdrawn from use: nothing new starts from it.", process=name), "success")
    return redirect(url_for("admin.index", _anchor="processes"))


@bp.post("/processes/<process_id>/reinstate")
@admin_required
def reinstate(process_id: str) -> Any:
    """New procedures may start from it again; why is recorded, as for withdrawing (decision 0059)."""
    form = ReinstateForm()
    # Posted from the procedure's own page, its answer is that page: a fixed value, never a URL to follow.
    from_process_page = request.form.get("back") == "process"

    def refused() -> Any:
        if from_process_page:
            if not version_history(db.session, process_id):
                abort(404)
            return _render_process(process_id, 422, reinstate_form=form)
        return _render(status=422, reinstate_form=form, reinstating=process_id)

    if not form.validate():
        return refused()
    reason = form.reason.data or ""
    back = (
        url_for("admin.show_process", process_id=process_id)
        if from_process_page
        else url_for("admin.index", _anchor="processes")
    )
    try:
        act(lambda: reinstate_process(db.session, actor=current_user, process_id=process_id, reason=reason))
    except NotFound:
        abort(404)
    except NotAllowed:
        abort(403)
    except Invalid as error:
        if any(problem.field != "reason" for problem in error.problems):
            # The version itself is refused (decision 0073): what is wrong, and where, as a deployment lists it.
            flash(translated(error), "error")
            return _render(error.problems, status=422)
        form.reason.errors = [*form.reason.errors, translated(error)]
        return refused()
    except Conflict as error:
        flash(translated(error), "error")
        return redirect(back)
    flash(_("%(process)s is in use again.", process=_process_names().get(process_id, process_id)), "success")
    return redirect(back)


# -- a procedure's versions; using an earlier one again (decision 0055) -------------------------------------------


@bp.get("/processes/<process_id>")
@admin_required
def show_process(process_id: str) -> Any:
    return _render_process(process_id)


def _render_process(
    process_id: str,
    status: int = 200,
    *,
    rollback_form: RollbackForm | None = None,
    reinstate_form: ReinstateForm | None = None,
    error: str | None = None,
    problems: list[Any] | None = None,
) -> Any:
    versions = version_history(db.session, process_id)
    if not versions:
        abort(404)
    form = rollback_form or RollbackForm(formdata=None)
    shown = {entry.version for entry in versions if not entry.holds_current_content}
    page = render_template(
        "admin/process.html",
        process_id=process_id,
        versions=versions,
        current=versions[0],
        rollback_form=form,
        # The row whose form was posted opens with its errors; a version not offered gets them above the table.
        rolling_back=form.version.data if form.version.data in shown else None,
        error=error,
        problems=problems or [],
        reinstate_form=reinstate_form or ReinstateForm(formdata=None),
        reinstate_posted=reinstate_form is not None,
        models=version_models(db.session, process_id),
        kind_labels=STEP_KIND_LABELS,
    )
    return page, status


@bp.post("/processes/<process_id>/rollback")
@admin_required
def roll_back(process_id: str) -> Any:
    """New instances start on an earlier version again: its content is deployed anew as the next version; running
    instances stay on theirs, a withdrawn procedure stays withdrawn (decision 0055)."""
    form = RollbackForm()
    if not form.validate():
        return _render_process(process_id, 422, rollback_form=form)
    version, reason = form.version.data or 0, form.reason.data or ""
    try:
        result = act(
            lambda: roll_back_process(
                db.session, actor=current_user, process_id=process_id, version=version, reason=reason
            )
        )
    except NotFound:
        abort(404)
    except NotAllowed:
        abort(403)
    except Invalid as error:
        fields = {problem.field for problem in error.problems}
        if "reason" in fields:
            form.reason.errors = [*form.reason.errors, translated(error)]
            return _render_process(process_id, 422, rollback_form=form)
        if "version" in fields:
            form.version.errors = [*form.version.errors, translated(error)]
            return _render_process(process_id, 422, rollback_form=form)
        return _render_process(process_id, 422, rollback_form=form, error=translated(error), problems=error.problems)
    except Conflict as error:
        return _render_process(process_id, 409, rollback_form=form, error=translated(error))
    name = _process_names().get(process_id, process_id)
    flash(
        _(
            "%(process)s: version %(version)d, with the content of version %(restored)d, is the one new procedures "
            "start on; running ones stay on their own version.",
            process=name,
            version=result.version,
            restored=result.restored_version,
        ),
        "success",
    )
    if result.is_withdrawn:
        flash(
            _("%(process)s is still withdrawn from use: put it back in use to start it again.", process=name),
            "warning",
        )
    return redirect(url_for("admin.show_process", process_id=process_id))


# -- one version: its diagram, its files, what changed since the one before -------------------------------------


@bp.get("/processes/<process_id>/versions/<int:version>")
@admin_required
def show_version(process_id: str, version: int) -> Response:
    try:
        found = load_version(db.session, process_id, version)
    except NotFound:
        abort(404)
    source = defining_bpmn_file(found)
    # Drawn without any instance's progress: every step is shown as not yet reached.
    title = f"{found.name} v{found.version}"
    svg = render_svg(source, process_id, title=title, words=diagram_words()) if source is not None else None
    page = render_template(
        "admin/version.html",
        process_id=process_id,
        version=found,
        diagram_svg=svg,
        files=sorted(found.files),
        forms=sorted(found.forms or {}),
        changes=changes_from_previous(db.session, found),
        kind_labels=STEP_KIND_LABELS,
    )
    return page_with_diagram(page, 200, svg)


@bp.get("/processes/<process_id>/versions/<int:version>/files/<filename>")
@admin_required
def download_file(process_id: str, version: int, filename: str) -> Response:
    """A file the version was deployed from (BPMN, DMN) or a form it stores, as it was stored."""
    try:
        found = load_version(db.session, process_id, version)
    except NotFound:
        abort(404)
    stored = {**(found.forms or {}), **found.files}
    if filename not in stored:
        abort(404)
    response = make_response(stored[filename].encode("utf-8"))
    response.mimetype = "application/json" if filename.endswith(".json") else "application/xml"
    response.headers["Content-Security-Policy"] = DOWNLOAD_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    # The name as deployed, prefixed by what it is part of; an ASCII stand-in for clients that do not read
    # filename*, since a process id or a file name may hold Vietnamese letters and a header is Latin-1.
    name = f"{process_id}-v{found.version}-{filename}"
    plain = re.sub(r"[^A-Za-z0-9._-]", "_", name)
    response.headers["Content-Disposition"] = f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name)}"
    response.headers["Cache-Control"] = "private, no-store"
    return response
