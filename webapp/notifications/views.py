from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select, update
from werkzeug.wrappers import Response

from webapp.extensions import db
from webapp.http import Pagination
from webapp.notifications import DIGEST_ANCHOR, DIGEST_ENDPOINT
from webapp.query_args import page_arg, page_within
from workflows.clock import utcnow_naive
from workflows.db import transaction
from workflows.errors import NotFound
from workflows.models import Notification
from workflows.notifications import BALLOT_OPENED, mark_read
from workflows.overdue_digest import OVERDUE_DIGEST
from workflows.reports import can_view_dashboard

bp = Blueprint("notifications", __name__, url_prefix="/notifications")
PER_PAGE = 30


@bp.get("")
@login_required
def index() -> str:
    query = select(Notification).where(Notification.user_id == current_user.id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    # Past the last page shows the last page (a huge number must not reach the database as an offset).
    page = page_within(page_arg(request.args), total, PER_PAGE)
    items = db.session.scalars(
        query.order_by(Notification.read_dt.is_not(None), Notification.created_dt.desc(), Notification.id.desc())
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    ).all()
    return render_template("notifications/index.html", items=items, page=Pagination(page, total, PER_PAGE))


@bp.post("/<int:notification_id>/open")
@login_required
def open_(notification_id: int) -> Response:
    """Mark as read and go to the task it is about."""
    try:
        with transaction(db.session):
            mark_read(db.session, current_user, notification_id)
    except NotFound:
        abort(404)
    item = db.session.get(Notification, notification_id)
    if item is not None and item.human_task_id:
        return redirect(url_for("tasks.show", task_id=item.human_task_id))
    if item is not None and item.kind == BALLOT_OPENED:  # the inbox lists the ballots still to cast
        return redirect(url_for("inbox.index"))
    if item is not None and item.kind == OVERDUE_DIGEST and can_view_dashboard(current_user):
        return redirect(url_for(DIGEST_ENDPOINT, _anchor=DIGEST_ANCHOR))
    return redirect(url_for("notifications.index"))


@bp.post("/read-all")
@login_required
def read_all() -> Response:
    with transaction(db.session):
        db.session.execute(
            update(Notification)
            .where(Notification.user_id == current_user.id, Notification.read_dt.is_(None))
            .values(read_dt=utcnow_naive())
        )
    return redirect(url_for("notifications.index"))
