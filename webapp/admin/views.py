from __future__ import annotations

from functools import wraps
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from webapp.admin.forms import WithdrawForm
from webapp.extensions import db
from webapp.http import act, translated
from workflows.deployment.operations import deploy_bundle, reinstate_process, retire_process
from workflows.deployment.validation import split_uploads
from workflows.errors import Conflict, Invalid, NotAllowed, NotFound
from workflows.instances import deployed_processes
from workflows.models import HumanTask, ProcessInstance, ProcessVersion
from workflows.states import InstanceStatus, Role, TaskStatus

bp = Blueprint("admin", __name__, url_prefix="/admin")


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
) -> Any:
    unassigned = db.session.scalars(
        select(HumanTask)
        .where(HumanTask.status == TaskStatus.OPEN, HumanTask.assignment_problem.is_not(None))
        .order_by(HumanTask.opened_dt)
        .limit(100)
    ).all()
    failing = db.session.scalars(
        select(ProcessInstance)
        .where(ProcessInstance.status == InstanceStatus.RUNNING, ProcessInstance.last_error.is_not(None))
        .order_by(ProcessInstance.id)
        .limit(100)
    ).all()
    page = render_template(
        "admin/index.html",
        versions=_versions(),
        unassigned=unassigned,
        failing=failing,
        deploy_problems=problems or [],
        withdraw_form=withdraw_form or WithdrawForm(formdata=None),
        withdrawing=withdrawing,
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
    for result in results:
        name = names.get(result.process_id, result.process_id)
        if result.created:
            flash(_("Deployed %(process)s version %(version)d.", process=name, version=result.version), "success")
        else:
            flash(
                _(
                    "%(process)s version %(version)d is identical; nothing changed.",
                    process=name,
                    version=result.version,
                ),
                "info",
            )
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
    try:  # no field to check: CSRFProtect has checked the token of every form posted
        act(lambda: reinstate_process(db.session, actor=current_user, process_id=process_id))
    except NotFound:
        abort(404)
    except NotAllowed:
        abort(403)
    except Conflict as error:
        flash(translated(error), "error")
        return redirect(url_for("admin.index", _anchor="processes"))
    flash(_("%(process)s is in use again.", process=_process_names().get(process_id, process_id)), "success")
    return redirect(url_for("admin.index", _anchor="processes"))
