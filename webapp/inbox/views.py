from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from webapp.ballots.wording import box_question
from webapp.downloads import export_format, format_problems, send_table
from webapp.extensions import db
from webapp.http import act, flash_error, problem_text, process_engine, translated
from webapp.query_args import parse_id, safe_next
from workflows.access import visible_units
from workflows.ballots import BallotToCast, ballots_to_cast
from workflows.engine import operations
from workflows.errors import Problem, WorkflowError
from workflows.exports import TASK_COLUMNS, inbox_task_count, inbox_task_records, read_inbox_filters
from workflows.inbox import (
    InboxFilters,
    InboxPage,
    facet_summary,
    group_task_labels,
    inbox_facets,
    inbox_page,
    watched_instances,
)
from workflows.instances import deployed_processes
from workflows.models import BallotBox, HumanTask
from workflows.registry.models import OrgUnit
from workflows.states import TaskStatus

bp = Blueprint("inbox", __name__)


def _filters(units: list[OrgUnit]) -> tuple[InboxFilters, list[Problem]]:
    """The list's filters from the query, checked against what may be chosen (decision 0112); the deployed
    procedures are read only when one is asked for: the inbox is every person's first page."""
    asked = request.args.get("process", "").strip()
    processes = deployed_processes(db.session) if asked else []
    return read_inbox_filters(
        request.args, process_ids={p.process_id for p in processes}, unit_ids={u.id for u in units}
    )


@bp.get("/")
@login_required
def home() -> Response:
    return redirect(url_for("inbox.index"))


@bp.get("/inbox")
@login_required
def index() -> Any:
    units = visible_units(db.session, current_user)  # the filter's choices, and what it may be set to
    filters, problems = _filters(units)
    problems = [*problems, *format_problems()]
    errors = {problem.field or "": problem_text(problem) for problem in problems}
    fmt = export_format()
    if fmt is not None and not errors:
        if filters.scope == "watching":
            abort(404)  # a list of procedures, not tasks: the instances page exports nothing of it
        return send_table(
            inbox_task_records(db.session, current_user, filters),
            TASK_COLUMNS,
            fmt,
            "cong-viec",
            count=lambda: inbox_task_count(db.session, current_user, filters),
        )
    if filters.scope == "watching" and not errors:
        instances, total = watched_instances(db.session, current_user, page=filters.page)
        return render_template("inbox/watching.html", filters=filters, instances=instances, total=total)
    facets = inbox_facets(db.session, current_user, filters.scope)
    in_scope = sum(count for *_names, count in facets)
    if errors:
        # Refused as the audit log refuses them (decision 0112): silently dropped, they showed another list.
        page = InboxPage([], 0, 1, filters.per_page)
    else:
        page = inbox_page(db.session, current_user, filters, known_total=in_scope)
    to_cast = ballots_to_cast(db.session, current_user) if filters.scope == "mine" else []
    # The navigation shows the same numbers for this scope: no need to count them again.
    g.inbox_counts = {filters.scope: in_scope, **({"ballots": len(to_cast)} if filters.scope == "mine" else {})}
    # A checkbox only where the bulk approval would agree: elsewhere it would only invite a refusal.
    approvable: set[int] = set()
    if filters.scope == "mine":
        engine = process_engine()
        approvable = {
            row.task_id
            for row in page.rows
            if operations.is_bulk_approvable_step(db.session, engine, row.version_id, row.form_filename)
        }
    return render_template(
        "inbox/index.html",
        filters=filters,
        page=page,
        facets=facets,
        summary=facet_summary(facets),
        units=units,
        approvable=approvable,
        to_cast=to_cast,
        questions=_ballot_questions(to_cast),
        errors=errors,
    ), (400 if errors else 200)


def _ballot_questions(to_cast: list[BallotToCast]) -> dict[int, str]:
    """Each ballot's question as its vote page words it: step 3's carries step 2's result (§7, decision 0102)."""
    if not to_cast:
        return {}
    boxes = db.session.scalars(select(BallotBox).where(BallotBox.id.in_([ballot.box_id for ballot in to_cast])))
    return {box.id: box_question(box) for box in boxes}


def _back() -> Response:
    return redirect(safe_next(request.form.get("next")))


@bp.post("/inbox/tasks/<int:task_id>/claim")
@login_required
def claim(task_id: int) -> Response:
    try:
        act(lambda: operations.claim_task(db.session, actor=current_user, task_id=task_id))
    except WorkflowError as error:
        flash_error(error)
        return _back()
    flash(_("The task is now in your inbox."), "success")
    return redirect(url_for("tasks.show", task_id=task_id))  # taking a task is the first step of doing it


def _selected_task_ids() -> list[int]:
    # Text that is not an id names no task: it is left out like an id that does not exist (the rest go on).
    return [task_id for task_id in map(parse_id, request.form.getlist("task_id")) if task_id is not None][:200]


@bp.post("/inbox/claim")
@login_required
def bulk_claim() -> Response:
    """Take several group tasks at once; each is claimed (checked and audited) on its own, as a single claim is."""
    task_ids = list(dict.fromkeys(_selected_task_ids()))
    done, refused = 0, []
    for task_id in task_ids:
        try:
            act(lambda task_id=task_id: operations.claim_task(db.session, actor=current_user, task_id=task_id))
            done += 1
        except WorkflowError as error:
            refused.append((task_id, translated(error)))
    if done:
        flash(
            ngettext(
                "%(num)d task taken: it is now in your inbox.", "%(num)d tasks taken: they are now in your inbox.", done
            ),
            "success",
        )
    if refused:
        labels = group_task_labels(db.session, current_user, [task_id for task_id, _reason in refused])
        unnamed = _("a task outside your scope")
        named = [
            f"#{labels[task_id][0]} {labels[task_id][1]} ({reason})" if task_id in labels else f"{unnamed} ({reason})"
            for task_id, reason in refused
        ]
        flash(_("Not taken: %(list)s", list="; ".join(named)), "error")
    elif not task_ids:
        flash(_("No task was selected."), "error")
    return _back()


@bp.post("/inbox/tasks/<int:task_id>/release")
@login_required
def release(task_id: int) -> Response:
    try:
        act(lambda: operations.release_task(db.session, actor=current_user, task_id=task_id))
        flash(_("The task was returned to the group."), "success")
    except WorkflowError as error:
        flash_error(error)
    return _back()


@bp.post("/inbox/bulk-approve")
@login_required
def bulk_approve() -> Response:
    """Agree to several identical approval tasks at once; each is completed (and audited) on its own."""
    task_ids = _selected_task_ids()
    engine = process_engine()
    approvable = operations.bulk_approvable_tasks(db.session, engine, task_ids)
    done, refused = 0, []
    reasons: dict[int, str] = {}  # why a step that could be approved was refused (e.g. the case is one's own)
    own: dict[int, tuple[int, str]] = {}
    for task_id in task_ids:
        task = db.session.get(HumanTask, task_id)
        if task is None:
            refused.append(task_id)
            continue
        if task.assignee_id == current_user.id:
            own[task_id] = (task.instance_id, task.name)
        if task.status != TaskStatus.OPEN or task_id not in approvable:
            refused.append(task_id)
            continue
        instance_id = task.instance_id
        try:
            act(
                lambda task_id=task_id: operations.complete_task(
                    db.session, engine, actor=current_user, task_id=task_id, data={"decision": "approve"}
                ),
                instance_id=instance_id,
            )
            done += 1
        except WorkflowError as error:
            refused.append(task_id)
            reasons[task_id] = translated(error)
    if done:
        flash(ngettext("%(num)d task approved.", "%(num)d tasks approved.", done), "success")
    if refused:
        # Named only where the person may see the task (theirs, or one their role could take), as a refused claim is:
        # a forged id must not tell them the case number and step of someone else's task.
        others = [task_id for task_id in refused if task_id not in own]
        labels = own | group_task_labels(db.session, current_user, others)
        named = [
            f"#{labels[task_id][0]} {labels[task_id][1]}" + (f" ({reasons[task_id]})" if task_id in reasons else "")
            for task_id in refused
            if task_id in labels
        ]
        if unseen := sum(task_id not in labels for task_id in refused):
            named.append(ngettext("%(num)d task outside your scope", "%(num)d tasks outside your scope", unseen))
        flash(_("Not approved (not an approval step, or no longer open): %(list)s", list=", ".join(named)), "error")
    return _back()
