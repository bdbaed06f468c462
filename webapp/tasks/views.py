"""The task page: read the instructions and context, fill in the form, save a draft, submit / approve / return."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename
from werkzeug.wrappers import Response

from webapp.extensions import db
from webapp.http import act, flash_error, process_engine
from webapp.planning.live import live_structure_panel
from webapp.tasks.schema_forms import (
    build_form_class,
    data_to_formdata,
    form_to_data,
    form_to_draft,
    uploaded_files,
    wants_more_rows,
)
from workflows.clock import utcnow_naive
from workflows.db import transaction
from workflows.engine import operations
from workflows.errors import Conflict, Invalid, NotAllowed, NotFound, Problem, ScriptFailure
from workflows.models import Attachment, Comment
from workflows.tasks import TaskView, add_process_data, discard_drafts, load_task_view, save_draft

bp = Blueprint("tasks", __name__, url_prefix="/tasks")

DECISIONS_NEEDING_COMMENT = ("return", "reject")


def _load(task_id: int, *, with_process_data: bool = True) -> TaskView:
    try:
        return load_task_view(db.session, process_engine(), current_user, task_id, with_process_data=with_process_data)
    except NotFound:
        abort(404)


def _shown(view: TaskView) -> TaskView:
    """A posted form shown again: now it needs what the page shows besides the form."""
    return add_process_data(db.session, process_engine(), current_user, view)


def _decision_choices(schema: dict[str, Any] | None) -> list[str]:
    decision = ((schema or {}).get("properties") or {}).get("decision") or {}
    return list(decision.get("enum") or [o.get("const") for o in decision.get("oneOf", [])])


def _form(view: TaskView, *, submitted: bool = False, data: dict[str, Any] | None = None) -> Any:
    if view.schema is None:
        return None
    form_class = build_form_class(view.schema, locale=str(get_locale() or "vi"), readonly=not view.can_act)
    if submitted:
        return form_class()  # Flask-WTF reads request.form and request.files itself
    return form_class(data=data_to_formdata(data or {}, view.schema))


def _decision_labels(schema: dict[str, Any] | None) -> dict[str, str]:
    decision = ((schema or {}).get("properties") or {}).get("decision") or {}
    return {str(o.get("const")): str(o.get("title") or o.get("const")) for o in decision.get("oneOf", [])}


def _live_score(view: TaskView) -> dict[str, Any] | None:
    """What the live score of an evaluation form needs: the policy the instance was opened with."""
    if not view.can_act or not (view.schema or {}).get("x-live-score"):
        return None
    policy = view.context.get("policy")
    return {"policy": policy if isinstance(policy, dict) else {}, "is_leader": bool(view.context.get("is_leader"))}


def _render(view: TaskView, form: Any, status: int = 200, comment: str = "", comment_error: str | None = None):  # type: ignore[no-untyped-def]
    return (
        render_template(
            "tasks/show.html",
            view=view,
            form=form,
            decisions=_decision_choices(view.schema),
            decision_labels=_decision_labels(view.schema),
            comment=comment,
            comment_error=comment_error,
            live_score=_live_score(view),
            live_structure=live_structure_panel(view, form),
        ),
        status,
    )


def _show_problem(form: Any, problem: Problem) -> bool:
    """Put a server problem on the field it names — `criteria_politics`, or the cell `products.2.completed` where 2
    counts the rows sent (blank rows are left out of the data) — and say whether there was such a field."""
    if form is None or not problem.field:
        return False
    message = _(problem.message)
    head, *rest = problem.field.split(".")
    field = getattr(form, head, None)
    if field is not None and rest:
        rows = getattr(field, "filled_rows", None)
        if rows is None or not rest[0].isdigit() or int(rest[0]) >= len(rows) or len(rest) > 2:
            return False
        if len(rest) == 1:  # the row as a whole: said under the table
            message = _("Row %(row)d: %(message)s", row=int(rest[0]) + 1, message=message)
        else:
            field = rows[int(rest[0])].form._fields.get(rest[1])
    if field is None:
        return False
    field.errors = [*field.errors, message]
    return True


@bp.get("/<int:task_id>")
@login_required
def show(task_id: int):  # type: ignore[no-untyped-def]
    view = _load(task_id)
    initial = view.draft if view.draft is not None else {k: v for k, v in view.context.items()}
    return _render(view, _form(view, data=initial))


def _store_files(view: TaskView, form: Any) -> dict[str, str]:
    """Uploaded files go to the upload folder under their SHA-256; task data keeps only a reference."""
    stored: dict[str, str] = {}
    folder = Path(current_app.config["UPLOAD_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    if form is None:
        return stored
    for name, upload in uploaded_files(form, view.schema or {}).items():
        content = upload.read()
        digest = hashlib.sha256(content).hexdigest()
        (folder / digest).write_bytes(content)
        attachment = Attachment(
            instance_id=view.instance.id,
            human_task_id=view.task.id,
            field_name=name,
            filename=secure_filename(upload.filename) or "file",
            content_type=upload.mimetype or "application/octet-stream",
            size=len(content),
            sha256=digest,
            uploaded_by_id=current_user.id,
            uploaded_dt=utcnow_naive(),
        )
        db.session.add(attachment)
        db.session.flush()
        stored[name] = f"attachment:{attachment.id}"
    return stored


@bp.post("/<int:task_id>")
@login_required
def submit(task_id: int):  # type: ignore[no-untyped-def]
    # Only the form is needed to take the answer; the rest of the page is read if it has to be shown again.
    view = _load(task_id, with_process_data=False)
    if not view.can_act:
        abort(403)
    form = _form(view, submitted=True)
    comment = (request.form.get("comment_text") or "").strip()
    action = request.form.get("action", "submit")

    if form is not None and wants_more_rows(form):
        return _render(_shown(view), form, comment=comment)

    if action == "draft":
        data = form_to_draft(form, view.schema) if form is not None else {}
        try:
            act(lambda: save_draft(db.session, current_user, view.task, _jsonable(data)))
        except NotAllowed:
            abort(403)
        flash(_("Draft saved. You can come back to it later."), "success")
        return redirect(url_for("tasks.show", task_id=task_id))

    decision = request.form.get("decision")
    if decision in DECISIONS_NEEDING_COMMENT and not comment:
        if form is not None:
            form.validate()
        return _render(_shown(view), form, 422, comment, _("Write a comment explaining why."))
    if form is not None and not form.validate():
        return _render(_shown(view), form, 422, comment)

    data = form_to_data(form, view.schema) if form is not None else {}
    if decision and "decision" in ((view.schema or {}).get("properties") or {}):
        data["decision"] = decision
    if comment and "comment" in ((view.schema or {}).get("properties") or {}):
        data["comment"] = comment

    instance_id, task_name = view.instance.id, view.task.name  # the commit expires the ORM objects

    def complete() -> Any:
        data.update(_store_files(view, form))
        # Drafts belong to the web form; the hot path of the engine does not pay for them.
        discard_drafts(db.session, task_id)
        if comment:
            db.session.add(
                Comment(instance_id=instance_id, human_task_id=task_id, author_id=current_user.id, body=comment)
            )
        return operations.complete_task(db.session, process_engine(), actor=current_user, task_id=task_id, data=data)

    try:
        act(complete, instance_id=instance_id)
    except Conflict as error:
        flash(_(error.message), "error")
        return redirect(url_for("inbox.index"))
    except Invalid as error:
        # With decision buttons, the decision and comment fields are not drawn as form fields: a problem on them
        # (e.g. "returned too many times") would be put on a field nobody sees.
        drawn_apart = ("decision", "comment") if _decision_choices(view.schema) else ()
        for problem in error.problems:
            if problem.field in drawn_apart or not _show_problem(form, problem):
                flash(_(problem.message), "error")
        return _render(_shown(view), form, 422, comment)
    except ScriptFailure as error:
        flash_error(error)
        flash(_("Nothing was saved. The administrators have been shown the problem."), "error")
        return _render(_shown(view), form, 422, comment)
    except NotAllowed:
        abort(403)
    flash(_("Done: “%(name)s” was submitted.", name=task_name), "success")
    return redirect(url_for("inbox.index"))


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if not isinstance(v, FileStorage)}


@bp.post("/<int:task_id>/discard-draft")
@login_required
def discard_draft(task_id: int) -> Response:
    _load(task_id)
    with transaction(db.session):
        discard_drafts(db.session, task_id)
    return redirect(url_for("tasks.show", task_id=task_id))
