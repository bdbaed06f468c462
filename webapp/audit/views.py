from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from webapp import display_zone
from webapp.downloads import export_format, format_problems, send_table
from webapp.extensions import db
from workflows.errors import Invalid
from workflows.exports import (
    AUDIT_COLUMNS,
    AUDIT_EVENT_TYPES,
    AuditFilters,
    ListPage,
    audit_count,
    audit_page,
    audit_records,
    audit_scope,
    can_view_audit,
    parse_audit_filters,
)

bp = Blueprint("audit", __name__, url_prefix="/audit")
PER_PAGE = 50


@bp.get("/events")
@login_required
def events() -> Any:
    if not can_view_audit(current_user):
        abort(403)
    scope = audit_scope(db.session, current_user)
    problems = format_problems()
    try:
        filters = parse_audit_filters(request.args, display_zone(current_app))
    except Invalid as invalid:
        problems = [*invalid.problems, *problems]
        filters = AuditFilters()
    context = {"filters": filters, "event_types": AUDIT_EVENT_TYPES}
    if problems:
        errors = {problem.field: _(problem.message) for problem in problems}
        return render_template("audit/events.html", page=ListPage([], 0, 1, PER_PAGE), errors=errors, **context), 400
    fmt = export_format()
    if fmt is not None:
        return send_table(
            audit_records(db.session, filters, scope),
            AUDIT_COLUMNS,
            fmt,
            "nhat-ky",
            count=lambda: audit_count(db.session, filters, scope),
        )
    page = audit_page(db.session, filters, scope, page=request.args.get("page", 1, type=int) or 1, per_page=PER_PAGE)
    return render_template("audit/events.html", page=page, errors={}, **context)
