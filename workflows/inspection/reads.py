"""The read log: every read of a personal record or of a procedure's history, by anyone, kept append-only
(record_views; PostgreSQL refuses UPDATE/DELETE) and listed to inspectors in their scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, bindparam, func, insert, or_, select
from sqlalchemy.orm import Session, aliased

from workflows.access import in_subtree
from workflows.clock import utcnow_naive
from workflows.exports import ListPage, audit_roots, count_rows
from workflows.models import RecordView
from workflows.prepared import fetch_rows, server_prepared
from workflows.registry.models import OrgUnit, User
from workflows.text import as_typed


class ViewedObject(StrEnum):
    INSTANCE = "instance"  # the instance page anyone in scope reads
    INSTANCE_HISTORY = "instance_history"  # the inspector's full history
    INSTANCE_EXPORT = "instance_export"  # the history downloaded as a file
    CADRE = "cadre"  # a personal record
    CADRE_HISTORY = "cadre_history"  # the inspector's timeline of a cadre's procedures
    # What leaves a procedure as a file of its own (decision 0143); the detail says which one.
    INSTANCE_FILE = "instance_file"  # a file attached to the dossier, downloaded
    INSTANCE_MINUTES = "instance_minutes"  # a ballot's tally minutes, as a page or a PDF
    INSTANCE_DIAGRAM = "instance_diagram"  # the diagram of where the procedure stands, opened on its own
    # Lists exported as files (decision 0137): many records at once, named by the filters in the log's detail.
    CADRE_LIST = "cadre_list"  # the cadre list (/registry/cadres) as .xlsx or .csv
    EVENT_LIST = "event_list"  # the audit log's search (/audit/events) as .xlsx or .csv
    PLAN_LIST = "plan_list"  # a unit's planning list (/planning), who is planned for which post
    EVALUATION_LIST = "evaluation_list"  # evaluation results by filters (/registry/evaluations)
    MONTH_RESULTS_LIST = "month_results_list"  # a unit's results of one month (/evaluation/results)
    ROLLUP_LIST = "rollup_list"  # a unit's results summed over a quarter or a year (/evaluation/rollup)
    FIGURE_LIST = "figure_list"  # the people behind one planning target's figure (/reports/targets/<key>)


# What a list's log row gives as its object: a list is no one record.
LIST_OBJECT_ID = 0
LIST_KINDS = frozenset(
    {
        ViewedObject.CADRE_LIST,
        ViewedObject.EVENT_LIST,
        ViewedObject.PLAN_LIST,
        ViewedObject.EVALUATION_LIST,
        ViewedObject.MONTH_RESULTS_LIST,
        ViewedObject.ROLLUP_LIST,
        ViewedObject.FIGURE_LIST,
    }
)
# The longest detail kept: a query string of every filter is far shorter; a longer one is cut, not refused.
DETAIL_LIMIT = 500


# Every page and API answer that shows a record or a history runs it: prepared on the connection (decision 0028).
_RECORD_VIEW = server_prepared(
    insert(RecordView).values(
        viewer_id=bindparam("viewer_id"),
        viewer_name=bindparam("viewer_name"),
        object_kind=bindparam("object_kind"),
        object_id=bindparam("object_id"),
        unit_id=bindparam("unit_id"),
        viewed_dt=bindparam("viewed_dt"),
        detail=bindparam("detail"),
    )
)


def record_view(
    session: Session, viewer: User, kind: ViewedObject, object_id: int, unit_id: int | None, detail: str | None = None
) -> None:
    """Log one read in the caller's transaction (`detail`: a list's format and filters)."""
    # On the Session's connection: through the Session an INSERT of a mapped class takes the ORM's bulk-insert path,
    # which cost more than the statement (issue #9).
    fetch_rows(
        session.connection(),
        _RECORD_VIEW,
        {
            "viewer_id": viewer.id,
            "viewer_name": viewer.username,
            "object_kind": str(kind),
            "object_id": object_id,
            "unit_id": unit_id,
            "viewed_dt": utcnow_naive(),
            "detail": detail[:DETAIL_LIMIT] if detail else None,
        },
    )


@dataclass(frozen=True)
class ViewFilters:
    viewer: str | None = None  # a user name or a full name
    kind: str | None = None
    object_id: int | None = None


def _views_query(session: Session, user: User, filters: ViewFilters) -> Select[Any]:
    query = select(RecordView)
    roots = audit_roots(session, user)
    if roots is not None:
        unit = aliased(OrgUnit)
        in_scope = select(unit.id).where(or_(*(in_subtree(unit, root) for root in roots)))
        query = query.where(RecordView.unit_id.in_(in_scope))
    if filters.viewer:
        # The user name recorded, or the reader's full name (case aside): inspectors know people by name.
        wanted = as_typed(filters.viewer).lower()
        named = select(User.id).where(func.lower(User.full_name) == wanted)
        query = query.where(or_(func.lower(RecordView.viewer_name) == wanted, RecordView.viewer_id.in_(named)))
    if filters.kind:
        query = query.where(RecordView.object_kind == filters.kind)
    if filters.object_id is not None:
        query = query.where(RecordView.object_id == filters.object_id)
    return query.order_by(RecordView.id.desc())


def _view_record(row: Any) -> dict[str, Any]:
    view: RecordView = row[0]
    return {
        "id": view.id,
        "viewer": view.viewer_name,
        "viewer_id": view.viewer_id,
        "kind": view.object_kind,
        "object_id": view.object_id,
        "viewed_dt": view.viewed_dt,
        "detail": view.detail,
    }


def views_page(session: Session, user: User, filters: ViewFilters, *, page: int, per_page: int) -> ListPage:
    """Reads of objects in this inspector's scope, newest first (the caller checked `can_view_audit`)."""
    query = _views_query(session, user, filters)
    total = count_rows(session, query)
    result = ListPage([], total, 1, per_page)
    result.page = min(max(1, page), result.pages)
    rows = session.execute(query.limit(per_page).offset((result.page - 1) * per_page))
    result.records = [_view_record(row) for row in rows]
    return result


def views_of(session: Session, kind: ViewedObject, object_id: int) -> list[tuple[str, datetime]]:
    """Who read one object, newest first."""
    rows = session.execute(
        select(RecordView.viewer_name, RecordView.viewed_dt)
        .where(RecordView.object_kind == str(kind), RecordView.object_id == object_id)
        .order_by(RecordView.id.desc())
    )
    return [(row.viewer_name, row.viewed_dt) for row in rows]
