"""The task page: read the instructions and context, fill in the form, save a draft, submit / approve / return."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename
from werkzeug.wrappers import Response

from webapp.ballots.steps import OPEN_BALLOT_PAGES
from webapp.errors import csrf_refused
from webapp.evaluation.annual_panel import annual_rollup_panel
from webapp.evaluation.review_panel import review_notes
from webapp.extensions import db
from webapp.http import (
    act,
    flash_error,
    from_this_site,
    problem_text,
    process_engine,
    refusal_on_fields,
    status_for,
    translated,
    wants_json,
)
from webapp.instances.views import ROLE_LABELS, warn_of_untakeable
from webapp.number_fields import format_amount
from webapp.planning.live import live_structure_panel
from webapp.query_args import parse_id
from webapp.start_form import MAX_SEARCH_LENGTH, found_cadres_json
from webapp.tasks.decision_summary import decision_summary
from webapp.tasks.forms import ReassignForm, receiver_choices
from webapp.tasks.schema_forms import (
    FIND_ENTRIES,
    FIND_SUFFIX,
    Upload,
    build_form_class,
    cadre_codes,
    checklist_values,
    data_to_formdata,
    file_fields,
    form_to_checked_data,
    form_to_draft,
    has_entry_search,
    has_kind,
    has_long_checklist,
    invalid_entries,
    kept_references,
    offer_checklists,
    offer_choices,
    offer_entries,
    offer_entry_search,
    own_comment_field,
    pending_uploads,
    place_reference,
    planning_entry_values,
    position_values,
    wants_entry_search,
    wants_more_rows,
)
from webapp.text_fields import MAX_COMMENT, clean_text
from workflows.access import role_units
from workflows.assignment import is_own_case
from workflows.ballot_steps import task_ballot
from workflows.clock import utcnow_naive
from workflows.db import transaction
from workflows.engine import operations
from workflows.errors import Conflict, Invalid, NotAllowed, NotFound, Problem, ScriptFailure
from workflows.hooks import (
    checklist_choices,
    is_refused,
    planning_entry_choices,
    position_choices,
    search_planning_entries,
)
from workflows.instances import (
    ATTACHMENT_PREFIX,
    DataItem,
    data_summary,
    display_value,
    field_names,
    search_unit_cadres,
    sees_technical_data,
    unit_cadre_names,
)
from workflows.models import Attachment, Comment, HumanTask, TaskDraft
from workflows.reassignment import eligible_receivers, may_reassign, task_facts
from workflows.registry.models import OrgUnit, User
from workflows.registry.posts import position_labels
from workflows.rules.reassignment import REASSIGNING_ROLES, TaskFacts, can_reassign, transfer_refusal
from workflows.states import InstanceStatus, TaskStatus
from workflows.tasks import (
    TaskView,
    add_process_data,
    can_view,
    discard_own_draft,
    load_task_view,
    save_draft,
    taken_by_another,
)

bp = Blueprint("tasks", __name__, url_prefix="/tasks")

DECISIONS_NEEDING_COMMENT = ("return", "reject")
# From this many entries on, a row added to the removals searches the plan instead of offering it whole in one
# select (decision 0083): a province's plan runs to thousands. A search lists at most ENTRY_SEARCH_LIMIT entries.
ENTRY_SEARCH_FROM = 100
ENTRY_SEARCH_LIMIT = 20
# What stands for a file chosen with a submission the page refused itself (the engine then refuses it anyway, so the
# stand-in is never kept): the hooks see the field answered. The files are kept afterwards, as a draft keeps them
# (`_refused_submission`).
CHOSEN_FILE = "chosen:"


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


def _instance_files(view: TaskView, attachments: list[Attachment]) -> dict[str, dict[str, Any]]:
    """The files stored on this procedure by reference ("attachment:12"), for forms with file fields (or cells)."""
    if not view.schema or not file_fields(view.schema):
        return {}
    return {
        f"{ATTACHMENT_PREFIX}{attachment.id}": {
            "id": attachment.id,
            "filename": attachment.filename,
            "url": url_for("instances.download", attachment_id=attachment.id),
        }
        for attachment in attachments
    }


def _context_items(view: TaskView, attachments: list[Attachment]) -> list[DataItem]:
    """The procedure's data beside the form, named and laid out as on the instance page (not raw keys and lists)."""
    if not view.context:
        return []
    names = field_names(view.definition, str(get_locale() or "vi"))
    return data_summary(view.context, names, attachments)


def _closer_name(view: TaskView) -> str | None:
    if view.task.closed_by_id is None:
        return None
    return db.session.scalar(select(User.full_name).where(User.id == view.task.closed_by_id))


def _when(moment: dt.datetime | None) -> str:
    return str(current_app.jinja_env.filters["localdatetime"](moment))


def _closed_notice(view: TaskView) -> str | None:
    """What happened to a task that is no longer the reader's to act on: when and by whom it was handled, or why it
    was closed, or who holds it now. None while the reader may act on it."""
    task = view.task
    when = _when(task.closed_dt)
    if task.status == TaskStatus.COMPLETED:
        who = _closer_name(view)
        if who:
            return _("This task was already handled at %(when)s by %(who)s.", when=when, who=who)
        return _("This task was already handled at %(when)s.", when=when)
    if task.status == TaskStatus.CANCELLED:
        if view.instance.status == InstanceStatus.CANCELLED:
            return _(
                "This task was closed at %(when)s because the procedure was cancelled; nothing was submitted.",
                when=when,
            )
        return _(
            "This task was closed by the procedure at %(when)s (for example, its deadline passed); nothing was "
            "submitted.",
            when=when,
        )
    if view.can_act or not taken_by_another(db.session, current_user, task):
        return None
    holder = db.session.scalar(select(User.full_name).where(User.id == task.assignee_id))
    return _("This task is now with %(who)s: it was assigned to them or they took it meanwhile.", who=holder)


def _viewer_notice(view: TaskView) -> str | None:
    """Why an open task the reader may see is not theirs to act on — whom it is with, and how they could take it
    when their role allows — instead of a greyed form with no word. None when they may act on it."""
    task = view.task
    if view.can_act or task.status != TaskStatus.OPEN:
        return None
    if task.candidate_role is not None and is_own_case(current_user.cadre_id, task.subject_cadre_id):
        return _("This step is in a procedure about you: someone else must take it; you can only view it.")
    if task.assignee_id is not None:
        holder = db.session.scalar(select(User.full_name).where(User.id == task.assignee_id))
        if taken_by_another(db.session, current_user, task):  # a task of their group, held by someone else
            return _(
                "This task is with %(who)s; you can only view it. If they return it to the group, you can take it "
                "under “Group tasks” in your inbox.",
                who=holder,
            )
        return _("This task is assigned to %(who)s; you can only view it.", who=holder)
    if task.candidate_role is not None:
        unit = db.session.scalar(select(OrgUnit.name).where(OrgUnit.id == task.candidate_unit_id))
        role = ROLE_LABELS.get(task.candidate_role, task.candidate_role)
        return _("This task is for any %(role)s of %(unit)s; you can only view it.", role=role, unit=unit or "—")
    return _("This task is not assigned to anyone yet; you can only view it.")


# A task whose form draws at most this many fields (a decision, a short note) shows the procedure's information open:
# reading the request is the work of such a step (an approver decides on what was asked). A long form keeps it
# folded, so the fields to fill are not pushed down below the whole file; it is one click away.
SHORT_FORM_FIELDS = 3


def _context_open(view: TaskView) -> bool:
    properties = (view.schema or {}).get("properties") or {}
    drawn = [name for name in properties if name not in _drawn_apart(view.schema)]
    return len(drawn) <= SHORT_FORM_FIELDS


def _task_comments(view: TaskView) -> list[Comment]:
    """The comments written on a closed task whose form has no comment field (the box below the form keeps them
    apart from the task data)."""
    if view.task.status == TaskStatus.OPEN or "comment" in ((view.schema or {}).get("properties") or {}):
        return []
    return list(db.session.scalars(select(Comment).where(Comment.human_task_id == view.task.id).order_by(Comment.id)))


def _offer_positions(view: TaskView, form: Any) -> None:
    """The titles a "position" field offers by name: the procedure's list for this task (the frame, the unit's
    titles) when the task's data is read; else (a completed task, whose page shows what was sent) the titles of the
    ids the form holds, so each is read by its name all the same."""
    if form is None or not view.schema or not has_kind(view.schema, "position"):
        return
    listed = position_choices(db.session, view.schema, view.context) if view.context else None
    if listed is None:
        held = sorted(position_labels(db.session, position_values(form)).items(), key=lambda item: item[1])
        listed = [(position_id, label, None) for position_id, label in held]
    offer_choices(form, listed)


def _offer_checklists(view: TaskView, form: Any) -> None:
    """The choices a "checklist" field offers as checkboxes: the procedure's list for this task (the screening's
    cadres and their discipline records) when the task's data is read, else those the form holds, by name."""
    if form is None or not view.schema or not has_kind(view.schema, "checklist"):
        return
    offer_checklists(form, checklist_choices(db.session, view.schema, view.context, checklist_values(form)))


def _offer_entries(view: TaskView, form: Any) -> None:
    """The entries a "planning_entry" field offers by name: the procedure's list for this task (the plan of the
    review's unit and term, each proposal pinned to its row) when the task's data is read, else those the form
    holds, by name (a completed task: the entries it took off the plan are off it now). A list too long for one
    select is counted, not read: only the entries the form holds are (decision 0088)."""
    if form is None or not view.schema or not has_kind(view.schema, "planning_entry"):
        return
    held = planning_entry_values(form)
    choices = planning_entry_choices(db.session, view.schema, view.context, held, ENTRY_SEARCH_FROM)
    if choices is None:
        return
    if choices.is_whole or not view.can_act:  # read only: each row shows the entry it holds, by name
        offer_entries(form, choices.offered, choices.pinned)
    else:  # too long for one select: searched, by the page's "Find" button or static/entry_search.js (0083)

        def find(text: str) -> list[tuple[int, str, str | None]]:
            return search_planning_entries(db.session, view.schema, view.context, text, ENTRY_SEARCH_LIMIT + 1) or []

        url = url_for("tasks.search_entries", task_id=view.task.id)
        labels = {entry_id: label for entry_id, label, _group in choices.offered}  # the held entries of the plan
        offer_entry_search(form, url, choices.pinned, labels, find, ENTRY_SEARCH_LIMIT)


def _cadre_boxes(view: TaskView, form: Any) -> dict[str, Any]:
    """What a "cadre" field shows besides the code: the name of the cadre each code names in the procedure's unit,
    and, to whoever fills it in, where static/cadre_search.js searches the unit's cadres by code or name."""
    if form is None or not view.schema or not has_kind(view.schema, "cadre") or view.instance.unit_id is None:
        return {}
    return {
        "names": unit_cadre_names(db.session, view.instance.unit_id, cadre_codes(form)),
        "search_url": url_for("tasks.search_cadres", task_id=view.task.id) if view.can_act else None,
    }


def _render(  # type: ignore[no-untyped-def]
    view: TaskView,
    form: Any,
    status: int = 200,
    comment: str = "",
    comment_error: str | None = None,
    *,
    draft_saved: bool = False,
    files_kept: bool = False,
):
    attachments: list[Attachment] = []
    decisions = _decision_choices(view.schema)
    if view.context or (view.schema and file_fields(view.schema)):
        attachments = list(db.session.scalars(select(Attachment).where(Attachment.instance_id == view.instance.id)))
    _offer_positions(view, form)
    _offer_checklists(view, form)
    _offer_entries(view, form)
    context_items = _context_items(view, attachments)
    return (
        render_template(
            "tasks/show.html",
            view=view,
            form=form,
            files=_instance_files(view, attachments),
            cadres=_cadre_boxes(view, form),
            checklist_filter=form is not None and has_long_checklist(form),
            entry_search=form is not None and has_entry_search(form),
            context_items=context_items,
            summary=decision_summary(view, context_items, current_user) if view.context else None,
            show_technical=sees_technical_data(current_user),
            show_value=display_value,
            annual_rollup=annual_rollup_panel(view),
            review=review_notes(view),
            decisions=decisions,
            decision_labels=_decision_labels(view.schema),
            comment=comment,
            comment_error=comment_error,
            max_comment=MAX_COMMENT,
            live_score=_live_score(view),
            live_structure=live_structure_panel(view, form),
            invalid=invalid_entries(form, skip=_drawn_apart(view.schema)) if form is not None else [],
            drawn_apart=_drawn_apart(view.schema),
            own_comment=own_comment_field(view.schema),
            closed_notice=_closed_notice(view) if view.task.status != TaskStatus.OPEN else None,
            viewer_notice=_viewer_notice(view),
            context_open=_context_open(view),
            task_comments=_task_comments(view),
            draft_saved=draft_saved,
            files_kept=files_kept,
            ballot_link=_ballot_link(view),
            reassign_url=_reassign_url(view),
        ),
        status,
    )


def _reassign_url(view: TaskView) -> str | None:
    """ "Giao lại" for personnel and administrators over the task's unit, on an open task that may move."""
    if view.task.status != TaskStatus.OPEN or not any(
        role in REASSIGNING_ROLES for role, _unit in role_units(current_user)
    ):
        return None
    if not may_reassign(db.session, current_user, view.task):
        return None
    return url_for("tasks.reassign_form", task_id=view.task.id)


def _ballot_link(view: TaskView) -> str | None:
    """For who may run it: the ballot of this ballot step — its box once opened, else the page that opens it."""
    ballot = task_ballot(db.session, current_user, view.task, view.context)
    if ballot is None:
        return None
    if ballot.box_id is not None:
        return url_for("ballots.manage", box_id=ballot.box_id)
    page = OPEN_BALLOT_PAGES.get(view.task.process_id)
    return url_for(page, instance_id=view.instance.id) if page else None


def _entered_text(field: Any, value: Any) -> str:
    """One typed value as text to copy: a choice by its label, several joined; nothing for files and blanks."""
    if value is None or value is False or isinstance(value, FileStorage) or value == "":
        return ""
    if value is True:
        return _("Yes")
    if getattr(field, "options", None) is not None and hasattr(field, "boxes"):  # a checklist: what was ticked
        return "; ".join(label for _value, label, ticked in field.boxes() if ticked)
    labels: dict[str, str] = {}
    choices = getattr(field, "choices", None) or []
    for choice in choices:
        if isinstance(choice, (tuple, list)) and len(choice) >= 2:
            labels[str(choice[0])] = str(choice[1])
    if isinstance(value, (list, tuple)):
        return ", ".join(text for text in (_entered_text(field, item) for item in value) if text)
    if str(value) in labels:  # a choice (a title, an entry of the plan) by its name, not its id
        return labels[str(value)].strip()
    raw = getattr(field, "raw_data", None)
    if isinstance(value, int | float | Decimal) and raw and isinstance(raw[0], str) and raw[0].strip():
        return raw[0].strip()  # a number as it was typed ("40"), not as the field holds it ("40.0")
    return str(value).strip()


def _entered(form: Any) -> list[tuple[str, str]]:
    """What the person typed into a form that can no longer be submitted, label and text, to copy elsewhere."""
    entered: list[tuple[str, str]] = []
    if form is None:
        return entered
    for field in form:
        if field.name in ("csrf_token", "decision", "comment"):
            continue
        rows = getattr(field, "filled_rows", None)
        if rows is None:
            text = _entered_text(field, field.data)
            if text:
                entered.append((str(field.label.text), text))
            continue
        for number, row in enumerate(rows, start=1):
            for cell in row.form:
                text = _entered_text(cell, cell.data)
                if text:
                    label = _(
                        "%(table)s, row %(row)d, %(column)s",
                        table=str(field.label.text),
                        row=number,
                        column=str(cell.label.text),
                    )
                    entered.append((label, text))
    return entered


def _stale(task_id: int, form: Any, comment: str, reason: str | None = None):  # type: ignore[no-untyped-def]
    """A form posted for a task no longer the person's to act on (another tab submitted it, a deadline closed it,
    it was given to someone else): say what happened, when and by whom, and give back what they typed. 409: the
    task changed under the page, the person did nothing wrong."""
    db.session.rollback()  # a failed completion may leave the session expired
    view = _load(task_id, with_process_data=False)
    notice = _closed_notice(view) or reason or _("This task changed meanwhile. Open it again to see where it stands.")
    _offer_positions(view, form)  # a title given back by its name, as it was chosen
    _offer_checklists(view, form)  # so are the records and cadres ticked
    _offer_entries(view, form)  # and the entries of the plan
    return render_template("tasks/stale.html", view=view, notice=notice, entered=_entered(form), comment=comment), 409


def _drawn_apart(schema: dict[str, Any] | None) -> tuple[str, ...]:
    """The fields a deciding form does not draw as fields: its decision is the buttons, its comment the box below —
    unless the form names a comment field of its own, which it draws and the box gives way to (decision 0091)."""
    if not _decision_choices(schema):
        return ()
    return ("decision",) if own_comment_field(schema) else ("decision", "comment")


def _posted_comment(schema: dict[str, Any] | None) -> str:
    """The comment posted with a task: the page's comment box, or the form's own comment field when it names one."""
    return clean_text(request.form.get(own_comment_field(schema) or "comment_text") or "")


def _show_problem(form: Any, problem: Problem) -> bool:
    """Put a server problem on the field it names — `criteria_politics`, or the cell `products.2.completed` where 2
    counts the rows sent (blank rows are left out of the data) — and say whether there was such a field."""
    if form is None or not problem.field:
        return False
    message = problem_text(problem)
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


@bp.get("/<int:task_id>/cadres")
@login_required
def search_cadres(task_id: int) -> Response:
    """The cadres of the procedure's unit that `?q=` finds (code prefix, or name with marks and case ignored), for
    the "cadre" boxes of the task's form (JSON for static/cadre_search.js): only to whoever may fill the form in,
    and only among the people the procedure is about (404 for a task the reader cannot see, 403 if not theirs)."""
    view = _load(task_id, with_process_data=False)
    if not view.can_act or view.schema is None or not has_kind(view.schema, "cadre"):
        abort(403)
    if view.instance.unit_id is None:
        return jsonify({"cadres": []})
    typed = request.args.get("q", "")[:MAX_SEARCH_LENGTH]
    return found_cadres_json(search_unit_cadres(db.session, view.instance.unit_id, typed))


@bp.get("/<int:task_id>/planning-entries")
@login_required
def search_entries(task_id: int) -> Response:
    """The entries of the plan a row added to the task's form may take that `?q=` finds (every word typed in the
    cadre's name or code, the title or the unit, marks and case ignored), for static/entry_search.js (decision
    0083): the list the page's select would offer, searched, at most ENTRY_SEARCH_LIMIT (`more` says there are
    others: typing more narrows them). Only to whoever may fill the form in, as the cadre search (404 for a task
    the reader cannot see, 403 if not theirs to act on or its form has no such field)."""
    view = _load(task_id)  # the task's data says the review's unit, term and proposals
    if not view.can_act or view.schema is None or not has_kind(view.schema, "planning_entry"):
        abort(403)
    typed = request.args.get("q", "")[:MAX_SEARCH_LENGTH]
    found = search_planning_entries(db.session, view.schema, view.context, typed, ENTRY_SEARCH_LIMIT + 1) or []
    return jsonify(
        {
            "entries": [
                {"id": entry_id, "label": label, "unit": unit} for entry_id, label, unit in found[:ENTRY_SEARCH_LIMIT]
            ],
            "more": len(found) > ENTRY_SEARCH_LIMIT,
        }
    )


@bp.get("/<int:task_id>")
@login_required
def show(task_id: int):  # type: ignore[no-untyped-def]
    view = _load(task_id)
    if view.submitted is not None:  # completed: what was submitted, read-only
        return _render(view, _form(view, data=view.submitted))
    if view.task.status != TaskStatus.OPEN:  # cancelled: nothing was submitted, and no draft is left (decision 0085)
        return _render(view, None)
    initial = view.draft if view.draft is not None else {k: v for k, v in view.context.items()}
    return _render(view, _form(view, data=initial))


def _store_files(view: TaskView, uploads: list[Upload]) -> list[tuple[Upload, str]]:
    """Uploaded files go to the upload folder under their SHA-256; task data keeps only a reference, which the caller
    puts where each upload's path says (a top-level field, or a table row's cell)."""
    stored: list[tuple[Upload, str]] = []
    if not uploads:
        return stored
    folder = Path(current_app.config["UPLOAD_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    for upload in uploads:
        file = upload.file
        content = file.read()
        file.seek(0)  # a retried transaction reads it again
        digest = hashlib.sha256(content).hexdigest()
        (folder / digest).write_bytes(content)
        attachment = Attachment(
            instance_id=view.instance.id,
            human_task_id=view.task.id,
            field_name=upload.name[:120],
            filename=secure_filename(file.filename or "") or "file",
            content_type=(file.mimetype or "application/octet-stream")[:120],
            size=len(content),
            sha256=digest,
            uploaded_by_id=current_user.id,
            uploaded_dt=utcnow_naive(),
        )
        db.session.add(attachment)
        db.session.flush()
        stored.append((upload, f"{ATTACHMENT_PREFIX}{attachment.id}"))
    return stored


def _attachment_id(reference: str) -> int | None:
    """The id in "attachment:12"; None for anything no file can have (a number past MAX_ID must not reach the
    database, which fails on it)."""
    number = reference.removeprefix(ATTACHMENT_PREFIX)
    return parse_id(number) if number != reference and number == number.strip() else None


def _foreign_files(view: TaskView, form: Any) -> bool:
    """A reference posted back must name a file of this procedure: the page only hands those out. Anything else (a
    hand-made request) is refused on its field, and the field lets it go; says whether there was such a reference."""
    if form is None or not view.schema:
        return False
    kept = kept_references(form, view.schema)
    ids = {i for i in (_attachment_id(reference) for _field, reference in kept) if i is not None}
    known: set[int] = set()
    if ids:
        known = set(
            db.session.scalars(
                select(Attachment.id).where(Attachment.instance_id == view.instance.id, Attachment.id.in_(ids))
            )
        )
    foreign = False
    for field, reference in kept:
        if _attachment_id(reference) not in known:
            field.keep(None)
            field.errors = [*field.errors, _("This file is not attached to this procedure. Choose the file again.")]
            foreign = True
    return foreign


def _refuse_upload(upload: Upload) -> None:
    """A chosen file its field's rules refuse, left out of a draft or a row added: its field says which file was not
    kept and why, and holds again the file it held before (if any)."""
    name = upload.file.filename or ""
    reasons = upload.field.errors
    upload.field.errors = [_("“%(name)s” was not kept: %(reason)s", name=name, reason=str(r)) for r in reasons]
    upload.field.keep(upload.field.existing)


def _keep_chosen_files(view: TaskView, form: Any, then: Any = None) -> tuple[bool, bool]:
    """A row added or a draft saved: the files chosen so far are checked and stored now (a browser cannot show a
    chosen file again), each field then holding its reference. A file its field's rules refuse (type, size) is left
    out and said on its field; the rest is kept. With `then`, it runs in the same transaction.

    Returns (written, every file kept). Nothing is written when a reference is not this procedure's: the page only
    hands out its own, so that is a hand-made request."""
    if form is None or not view.schema:
        if then is not None:
            act(then)
        return True, True
    uploads = pending_uploads(form, view.schema)
    accepted = [upload for upload in uploads if upload.field.check_upload()]
    refused = [upload for upload in uploads if upload not in accepted]
    for upload in refused:
        _refuse_upload(upload)
    if _foreign_files(view, form):
        return False, False

    def work() -> None:
        for upload, reference in _store_files(view, accepted):
            upload.field.keep(reference)
        if then is not None:
            then()

    if accepted or then is not None:
        act(work)
    return True, not refused


def _refused_submission(  # type: ignore[no-untyped-def]
    view: TaskView, form: Any, comment: str, comment_error: str | None, *, keep_files: bool = True
):
    """A submission refused on what was entered (422): nothing is sent. A browser cannot show a chosen file again, so
    the files chosen with it are kept as "Save draft" keeps them — stored, each field holding its reference, the form
    saved as the person's draft with them — and the page says so (decision 0135). A file its field's rules refuse is
    said on its field, as for a draft; the problems found on the kept files' fields stay said. With no file to keep,
    nothing is saved, as before; nor when `keep_files` is false (a hand-made request)."""
    uploads = pending_uploads(form, view.schema) if keep_files and form is not None and view.schema else []
    found = {id(upload.field): list(upload.field.errors) for upload in uploads}
    files_kept = False
    if [upload for upload in uploads if upload.field.check_upload()]:

        def save() -> None:
            save_draft(db.session, current_user, view.task, _jsonable(form_to_draft(form, view.schema)))

        try:
            files_kept, _every = _keep_chosen_files(view, form, then=save)
        except NotAllowed:
            abort(403)
    for upload in uploads:
        if not upload.field.errors or not files_kept:  # what the check found on a kept file's field stays to correct
            upload.field.errors = found[id(upload.field)]
    return _render(_shown(view), form, 422, comment, comment_error, files_kept=files_kept)


@bp.post("/<int:task_id>")
@login_required
def submit(task_id: int):  # type: ignore[no-untyped-def]
    # Only the form is needed to take the answer; the rest of the page is read if it has to be shown again.
    try:
        view = load_task_view(db.session, process_engine(), current_user, task_id, with_process_data=False)
    except NotFound:
        return _gone()
    if not view.can_act:
        if _closed_notice(view) is None:
            abort(403)  # an open task never theirs to act on: the page offered them no form
        # The task changed since the page offering this form was opened (another tab, a deadline, taken by someone
        # else): say so, not "forbidden".
        if _in_background():
            return _background_answer(False, 409)
        return _stale(task_id, _typed_form(view), clean_text(request.form.get("comment_text") or ""))
    form = _form(view, submitted=True)
    own_comment = own_comment_field(view.schema)
    comment = _posted_comment(view.schema)
    action = request.form.get("action", "submit")
    if _in_background() and action != "draft":
        abort(400)  # the page only ever saves a draft by itself

    if form is not None and (wants_more_rows(form) or wants_entry_search(form)):
        _written, kept = _keep_chosen_files(view, form)
        return _render(_shown(view), form, 200 if kept else 422, comment=comment)

    if action == "draft":

        def save() -> None:
            data = form_to_draft(form, view.schema) if form is not None else {}
            save_draft(db.session, current_user, view.task, _jsonable(data))

        try:
            written, kept = _keep_chosen_files(view, form, then=save)
        except NotAllowed:
            abort(403)
        if _in_background():
            return _background_answer(written and kept, 200 if written and kept else 422)
        if not written:
            return _render(_shown(view), form, 422, comment=comment)
        flash(_("Draft saved. You can come back to it later."), "success")
        if not kept:  # saved without a refused file: the page says which, on its field, with what was typed
            return _render(_shown(view), form, 422, comment=comment, draft_saved=True)
        return redirect(url_for("tasks.show", task_id=task_id))

    decision = request.form.get("decision")
    comment_error = None
    if decision in DECISIONS_NEEDING_COMMENT and not comment:
        comment_error = _("Write a comment explaining why.")
    elif own_comment is None and len(comment) > MAX_COMMENT:  # a form's own field has its schema's maxLength
        comment_error = _("At most %(max)s characters.", max=format_amount(MAX_COMMENT))
    # What the page refuses itself does not stop the check there: the rest goes to the engine, which checks it by
    # the schema and the form's server hook and refuses the whole, so every problem shows at once (decision 0054).
    refused: frozenset[str] = frozenset({own_comment or "comment"} if comment_error else ())
    data: dict[str, Any] = {}
    uploads: list[Upload] = []
    foreign = False
    if form is not None:
        valid = form.validate()  # first: it starts every field's errors afresh
        if comment_error and own_comment:
            form[own_comment].errors.append(comment_error)  # said on the form's own comment field, not on a box
            comment_error = None
        foreign = _foreign_files(view, form)
        data, refused_fields = form_to_checked_data(form, view.schema)
        refused |= refused_fields
        if (foreign or not valid) and (not refused_fields or form.errors.get("csrf_token")):
            # Refused, but on no field of the data. A reference not this procedure's is a hand-made request: nothing
            # of it is kept.
            kept = not foreign and not form.errors.get("csrf_token")
            return _refused_submission(view, form, comment, comment_error, keep_files=kept)
        uploads = [u for u in pending_uploads(form, view.schema) if not is_refused(refused, u.name)]
    if decision and "decision" in ((view.schema or {}).get("properties") or {}):
        data["decision"] = decision
    if comment and not comment_error and "comment" in ((view.schema or {}).get("properties") or {}):
        data["comment"] = comment

    instance_id, task_name = view.instance.id, view.task.name  # the commit expires the ORM objects

    def complete() -> Any:
        submitted = copy.deepcopy(data)
        if refused:
            # Refused whatever else is found: a chosen file is not stored, it only stands where its reference would.
            for upload in uploads:
                place_reference(submitted, upload.path, f"{CHOSEN_FILE}{upload.name}")
        else:
            for upload, reference in _store_files(view, uploads):
                place_reference(submitted, upload.path, reference)
        if comment and own_comment is None:  # a form's own comment is kept in the data, with the rest of the form
            db.session.add(
                Comment(instance_id=instance_id, human_task_id=task_id, author_id=current_user.id, body=comment)
            )
        # The task's draft goes with the task's row leaving "open" (the database's trigger, decision 0085).
        return operations.complete_task(
            db.session,
            process_engine(),
            actor=current_user,
            task_id=task_id,
            data=submitted,
            refused=refused,
            find_untakeable=True,
        )

    try:
        advanced = act(complete, instance_id=instance_id)
    except Conflict as error:
        # Closed between the read above and the lock (another tab, a deadline): the same answer as a stale page;
        # the service's reason when the task still reads as open (a deadline that passed, its timer not yet run).
        return _stale(task_id, form, comment, translated(error))
    except Invalid as error:
        # With decision buttons, the decision and comment fields are not drawn as form fields: a problem on them
        # (e.g. "returned too many times") would be put on a field nobody sees.
        drawn_apart = _drawn_apart(view.schema)
        for problem in error.problems:
            if problem.field in drawn_apart or not _show_problem(form, problem):
                flash(problem_text(problem), "error")
        return _refused_submission(view, form, comment, comment_error, keep_files=not foreign)
    except ScriptFailure as error:
        flash_error(error)  # says nothing was lost and the administrators were told
        return _render(_shown(view), form, status_for(error), comment)
    except NotAllowed:
        abort(403)
    if data.get("decision") == "return":
        # Sent back, not forwarded: "Hoàn tất: đã gửi" read as if it had gone on.
        flash(_("Returned: “%(name)s” sent the case back to be redone.", name=task_name), "success")
    else:
        flash(_("Done: “%(name)s” was submitted.", name=task_name), "success")
    # Said to the sender now, while they can still ask for the role to be granted, not found later by nobody.
    warn_of_untakeable(advanced)
    return redirect(url_for("inbox.index"))


def _in_background() -> bool:
    """A draft the page saves by itself (webapp/static/task_draft.js: the person left the page or stopped typing
    with changes unsaved), not a button pressed: answered with a short status for the page, never a page or a flash
    (a flash would greet the person on whatever page they open next)."""
    return request.form.get("background") == "1"


def _background_answer(saved: bool, status: int = 200) -> Response:
    """What the page shows beside its buttons after saving by itself: when the draft was saved, or that it was not."""
    if saved:
        when = current_app.jinja_env.filters["localdatetime"](utcnow_naive(), "%H:%M")
        message = _("Draft saved at %(time)s.", time=when)
    else:
        message = _("The draft could not be saved by itself: press “Save draft”.")
    response = jsonify(saved=saved, message=message)
    response.status_code = status
    return response


def _gone():  # type: ignore[no-untyped-def]
    """A form posted for a task the person may no longer even see (given to someone outside their scope meanwhile),
    or that never existed: 404 as before — whether it exists is not theirs to learn — but what they typed is given
    back, as posted (without the form, its fields have no labels)."""
    skip = {"csrf_token", "action", "decision", "comment_text", FIND_ENTRIES}
    entered = [
        (key, text.strip())
        for key, text in request.form.items(multi=True)
        if key not in skip and not key.endswith(FIND_SUFFIX) and isinstance(text, str) and text.strip()
    ]
    notice = _("This task is not, or no longer, yours to see: it may have been given to someone else meanwhile.")
    comment = clean_text(request.form.get("comment_text") or "")
    return render_template("tasks/stale.html", view=None, notice=notice, entered=entered, comment=comment), 404


def _typed_form(view: TaskView) -> Any:
    """The posted form of a task the person may no longer act on, built as if they could: only to read back what
    they typed."""
    if view.schema is None:
        return None
    form_class = build_form_class(view.schema, locale=str(get_locale() or "vi"))
    return form_class()


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if not isinstance(v, FileStorage)}


@bp.post("/<int:task_id>/discard-draft")
@login_required
def discard_draft(task_id: int) -> Response:
    _load(task_id)
    with transaction(db.session):
        discard_own_draft(db.session, current_user, task_id)
    return redirect(url_for("tasks.show", task_id=task_id))


def _pressed(view: TaskView) -> str:
    """The label of the button that sent the refused form, as the page shows it."""
    if request.form.get("action") == "draft":
        return _("Save draft")
    decision = request.form.get("decision")
    if decision:
        shown = {"approve": _("Agree"), "return": _("Return for revision"), "reject": _("Reject")}
        return shown.get(decision) or _decision_labels(view.schema).get(decision) or _("Submit")
    return _("Submit")


@bp.errorhandler(CSRFError)
def expired_form(error: CSRFError):  # type: ignore[no-untyped-def]
    """A task form refused for its CSRF token (it expired, or the person signed in again elsewhere meanwhile): the
    task page again, 400, with what was posted in its fields and a fresh token, so the person checks it and sends it
    again. Nothing from the refused post is stored or acted on; the page is only shown. Anyone no longer signed in
    goes to the sign-in page (what they typed is not kept), and any other refused post gets the plain error page."""
    if request.endpoint != "tasks.submit" or wants_json() or not from_this_site():
        return csrf_refused()
    if _in_background():
        return _background_answer(False, 400)  # nothing to give back: the page still holds what was typed
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
    task_id = (request.view_args or {}).get("task_id")
    try:
        view = load_task_view(db.session, process_engine(), current_user, task_id, with_process_data=False)
    except NotFound:
        return _gone()
    comment = clean_text(request.form.get("comment_text") or "")
    if not view.can_act:
        if _closed_notice(view) is None:
            return csrf_refused()
        return _stale(task_id, _typed_form(view), comment)
    form = _form(view, submitted=True)
    flash(
        _(
            "This form had expired, so nothing was saved or sent. What you entered is kept below: check it and "
            "press “%(button)s” again.",
            button=_pressed(view),
        ),
        "error",
    )
    if any(file.filename for file in request.files.values()):
        flash(_("Choose the attached files again: a browser cannot keep them on a page shown again."), "error")
    return _render(_shown(view), form, 400, comment=comment)


# -- handing a task to another person (decision 0078) ----------------------------------------------------------


def _reassign_page(
    task: HumanTask, facts: TaskFacts, form: ReassignForm, *, status: int = 200, problems: list[str] | None = None
) -> Any:
    refusal = transfer_refusal(facts)
    people = eligible_receivers(db.session, facts) if refusal is None else []
    form.assignee.choices = receiver_choices(people)
    holder = db.session.scalar(select(User.full_name).where(User.id == task.assignee_id)) if task.assignee_id else None
    # Said before the hand-on: the draft goes with the step (decision 0084); its content is not shown here.
    draft_saved = db.session.scalar(select(TaskDraft.saved_dt).where(TaskDraft.human_task_id == task.id))
    candidate_unit = (
        db.session.scalar(select(OrgUnit.name).where(OrgUnit.id == task.candidate_unit_id))
        if task.candidate_unit_id
        else None
    )
    page = render_template(
        "tasks/reassign.html",
        task=task,
        form=form,
        holder=holder,
        candidate_unit=candidate_unit,
        role_labels=ROLE_LABELS,
        refusal=translated(Invalid(refusal)) if refusal is not None else None,
        nobody=refusal is None and not people,
        problems=problems or [],
        back_user=parse_id(form.from_user.data),
        draft_saved=draft_saved,
    )
    return page, status


def _reassign_target(task_id: int) -> tuple[HumanTask, TaskFacts]:
    """The task (404 unless the person may see it) and its facts (403 unless they may hand it on)."""
    task = db.session.get(HumanTask, task_id)
    if task is None or not can_view(db.session, current_user, task):
        abort(404)
    facts = task_facts(db.session, task)
    if not can_reassign(role_units(current_user), facts):
        abort(403)
    return task, facts


@bp.get("/<int:task_id>/reassign")
@login_required
def reassign_form(task_id: int) -> Any:
    task, facts = _reassign_target(task_id)
    form = ReassignForm(formdata=None, data={"from_user": request.args.get("from_user") or ""})
    return _reassign_page(task, facts, form)


@bp.post("/<int:task_id>/reassign")
@login_required
def reassign(task_id: int) -> Any:
    task, facts = _reassign_target(task_id)
    form = ReassignForm()
    if not form.validate_on_submit():
        return _reassign_page(task, facts, form, status=422, problems=[_("The form has expired; please try again.")])
    try:
        act(
            lambda: operations.reassign_task(
                db.session,
                actor=current_user,
                task_id=task_id,
                to_user_id=parse_id(form.assignee.data),
                reason=form.reason.data,
            )
        )
    except NotFound:
        abort(404)
    except NotAllowed:
        abort(403)
    except (Invalid, Conflict) as error:
        db.session.rollback()
        task, facts = _reassign_target(task_id)
        return _reassign_page(task, facts, form, status=status_for(error), problems=refusal_on_fields(form, error))
    task = db.session.get(HumanTask, task_id)
    assert task is not None
    receiver = db.session.scalar(select(User.full_name).where(User.id == task.assignee_id))
    flash(_("The step “%(name)s” was handed to %(who)s.", name=task.name, who=receiver), "success")
    back_user = parse_id(form.from_user.data)
    if back_user is not None:
        return redirect(url_for("accounts.show", user_id=back_user))
    return redirect(url_for("instances.show", instance_id=task.instance_id))
