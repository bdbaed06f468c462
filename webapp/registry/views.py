from __future__ import annotations

import base64
import json
from dataclasses import replace
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select

from webapp.audit.reads import list_export_logged, read_logged
from webapp.data_labels import DATA_LABELS, RECORD_LABELS, RECORD_VALUES
from webapp.downloads import bad_filters, export_format, format_problems, send_table
from webapp.extensions import db
from webapp.http import Pagination, problem_text, translated
from webapp.i18n import data_text
from webapp.instances.views import OUTCOME_LABELS, STATUS_LABELS
from webapp.query_args import page_arg, page_within
from workflows.access import in_subtree, oversees_unit, role_units
from workflows.db import transaction
from workflows.errors import Invalid, WorkflowError
from workflows.exports import (
    EVALUATION_COLUMNS,
    EvaluationFilters,
    ListPage,
    cadre_records,
    count_rows,
    evaluation_count,
    evaluation_page,
    evaluation_records,
    full_names,
    parse_evaluation_filters,
)
from workflows.inspection.reads import ViewedObject
from workflows.instances import cadre_procedures
from workflows.models import AuditEvent
from workflows.registry.cadre_columns import CADRE_COLUMNS, CADRE_EXPORT_COLUMNS
from workflows.registry.importing import IMPORT_ROLES, ImportRefused, import_cadres
from workflows.registry.models import (
    Cadre,
    CadrePosition,
    EvaluationGrade,
    EvaluationResult,
    OrgUnit,
    PeriodKind,
    PlanningEntry,
    Position,
)
from workflows.registry.records import cadre_chain, local_today
from workflows.registry.search import cadre_match
from workflows.registry.tabular import (
    MEDIA_TYPES,
    ValidationReport,
    template,
    write_problem_report,
    write_rows_to_correct,
)
from workflows.states import Role

bp = Blueprint("registry", __name__, url_prefix="/registry")
READ_ROLES = (Role.SUPERVISOR, Role.HEAD, Role.PERSONNEL, Role.AUDITOR, Role.ADMIN)
PER_PAGE = 50
PERIOD_KINDS = {PeriodKind.MONTH: _l("Month"), PeriodKind.QUARTER: _l("Quarter"), PeriodKind.YEAR: _l("Year")}
GRADES = tuple(grade.value for grade in EvaluationGrade)


def _roots() -> list[int]:
    roots = sorted({unit for role, unit in role_units(current_user) if role in READ_ROLES})
    if not roots:
        abort(403)
    return roots


def _scoped_query(roots: list[int]) -> Any:
    query = (
        select(Cadre).join(OrgUnit, Cadre.unit_id == OrgUnit.id).where(or_(*(in_subtree(OrgUnit, r) for r in roots)))
    )
    match = cadre_match((request.args.get("q") or "")[:100])
    return query if match is None else query.where(match.either)


def _can_import() -> bool:
    return any(role in IMPORT_ROLES for role, _unit in role_units(current_user))


@bp.get("/cadres")
@login_required
def cadres() -> Any:
    roots = _roots()
    query = _scoped_query(roots)
    problems = format_problems()
    if problems:
        return bad_filters(problems)
    fmt = export_format()
    if fmt is not None:
        ordered = query.order_by(Cadre.code)
        # Every record of the list leaves in one file: a read like opening each, logged once (decision 0137).
        with list_export_logged(ViewedObject.CADRE_LIST, roots[0]):
            return send_table(
                cadre_records(db.session, ordered, local_today()),
                CADRE_EXPORT_COLUMNS,
                fmt,
                "can-bo",
                count=lambda: count_rows(db.session, ordered),
            )
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = page_within(page_arg(request.args), total, PER_PAGE)
    rows = db.session.scalars(query.order_by(Cadre.full_name, Cadre.code).limit(PER_PAGE).offset((page - 1) * PER_PAGE))
    return render_template(
        "registry/cadres.html", cadres=rows.all(), page=Pagination(page, total, PER_PAGE), can_import=_can_import()
    )


@bp.get("/evaluations")
@login_required
def evaluations() -> Any:
    """Evaluation results where the cadres were evaluated, in the reader's units; filters, pages, export."""
    roots = _roots()
    units = db.session.scalars(
        select(OrgUnit).where(or_(*(in_subtree(OrgUnit, r) for r in roots))).order_by(OrgUnit.path, OrgUnit.name)
    ).all()
    problems = format_problems()
    try:
        filters = parse_evaluation_filters(request.args, {unit.id for unit in units})
    except Invalid as invalid:
        problems = [*invalid.problems, *problems]
        filters = EvaluationFilters()
    context = {"units": units, "filters": filters, "kinds": PERIOD_KINDS, "grades": GRADES}
    if problems:
        errors = {problem.field: problem_text(problem) for problem in problems}
        empty = ListPage([], 0, 1, PER_PAGE)
        return render_template("registry/evaluations.html", page=empty, errors=errors, **context), 400
    fmt = export_format()
    if fmt is not None:
        # Each cadre's grades in one file: a logged read (decisions 0137, 0143), in the unit the filter narrowed to.
        with list_export_logged(ViewedObject.EVALUATION_LIST, filters.unit_id or roots[0]):
            return send_table(
                evaluation_records(db.session, filters, roots),
                EVALUATION_COLUMNS,
                fmt,
                "ket-qua-danh-gia",
                count=lambda: evaluation_count(db.session, filters, roots),
            )
    page = evaluation_page(db.session, filters, roots, page=page_arg(request.args), per_page=PER_PAGE)
    return render_template("registry/evaluations.html", page=page, errors={}, **context)


def _record_of(cadre_id: int) -> dict[str, Any]:
    """What the cadre's page shows beside the cadre: positions held, planning, monthly grades, record changes."""
    events = list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.chain_key == cadre_chain(cadre_id)).order_by(AuditEvent.seq)
        )
    )
    return {
        "positions": db.session.execute(
            select(CadrePosition, Position)
            .join(Position)
            .where(CadrePosition.cadre_id == cadre_id)
            .order_by(CadrePosition.started_on.desc())
        ).all(),
        "planning": db.session.execute(
            select(PlanningEntry, Position).join(Position).where(PlanningEntry.cadre_id == cadre_id)
        ).all(),
        "evaluations": db.session.scalars(
            select(EvaluationResult)
            .where(EvaluationResult.cadre_id == cadre_id)
            .order_by(EvaluationResult.period.desc())
        ).all(),
        "history": readable_history(events),
        "actors": full_names(db.session, {event.actor_id for event in events}),
    }


# The record's own fields in the reader's language (decision 0111). The import file's headers (CADRE_COLUMNS) are
# the file's own Vietnamese, which an import matches, so they are not the words of the page: each field is named
# here, in the Vietnamese of its header, and a test keeps every column named.
_FIELD_NAMES = {
    "code": _l("Cadre code"),
    "full_name": _l("Full name"),
    "birth_date": _l("Date of birth"),
    "gender": _l("Gender"),
    "ethnicity": _l("Ethnicity"),
    "hometown": _l("Hometown"),
    "hometown_unit_code": _l("Hometown unit code"),
    "unit_code": _l("Unit code"),
    "is_party_member": _l("Party member"),
    "party_joined_date": _l("Joined the Party on"),
    "education_level": _l("Education"),
    "education_field": _l("Field of study"),
    "is_science_technology": _l("Science and technology"),
    "political_theory": _l("Political theory"),
    "state_management_training": _l("State management training"),
    "email": _l("Email"),
    "unit_id": _l("Unit"),
    "hometown_unit_id": _l("Hometown unit"),
    "position_id": _l("Post"),
    "is_active": _l("In service"),
    "username": _l("Username"),  # an account's (decision 0086)
}
_CHOICE_NAMES = {
    column.key: {stored: shown for shown, stored in column.choices.items()}
    for column in CADRE_COLUMNS
    if column.choices
}


def _choice_label(name: str, value: str | None) -> str:
    """A coded field of the record (education level, political theory) by the label the import file uses: "Đại
    học", not "dai_hoc"."""
    if not value:
        return "—"
    return _CHOICE_NAMES.get(name, {}).get(value, value)


def _field_name(name: str) -> str:
    """A record field's name: the record's field names, else the record's own labels, else a procedure's."""
    if name in _FIELD_NAMES:
        return str(_FIELD_NAMES[name])
    label = RECORD_LABELS.get(name) or DATA_LABELS.get(name)
    return _(label) if label else name


def _payload(event: AuditEvent) -> dict[str, Any]:
    try:
        payload = json.loads(event.payload)
    except ValueError:
        return {}  # an altered row: the integrity check says so, the page still opens
    return payload if isinstance(payload, dict) else {}


def _changes(payload: dict[str, Any]) -> dict[str, Any]:
    """The fields an event changed, {field: {"from": …, "to": …}}: a record's and a unit's events say it so; an
    account's (user_details_changed, username_changed) keep "before" and "after" side by side."""
    if isinstance(payload.get("changes"), dict):
        return dict(payload["changes"])
    before, after = payload.get("before"), payload.get("after")
    if isinstance(before, dict) and isinstance(after, dict):
        return {name: {"from": before.get(name), "to": after.get(name)} for name in after}
    return {}


def readable_history(events: list[AuditEvent]) -> list[tuple[AuditEvent, dict[str, Any], list[tuple[str, str, str]]]]:
    """Each event of a cadre's record (or a unit's) with its changes as a person reads them: the field's name,
    choices and yes/no in words, dates as dd/mm/yyyy, units and posts by name — not `gender: male`, `unit_id: 4`.
    The record's history and the audit log (webapp/audit) say them alike."""
    payloads = [_payload(event) for event in events]
    changes = [_changes(payload) for payload in payloads]
    ids: dict[str, set[int]] = {"unit": set(), "post": set()}
    for fields in changes:
        for name, change in fields.items():
            kind = "post" if name == "position_id" else "unit" if name.endswith("unit_id") else None
            if kind and isinstance(change, dict):
                ids[kind].update(v for v in (change.get("from"), change.get("to")) if isinstance(v, int))
    units = dict(db.session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(ids["unit"]))).tuples().all())
    posts = dict(
        db.session.execute(select(Position.id, Position.title).where(Position.id.in_(ids["post"]))).tuples().all()
    )

    def shown(name: str, value: Any) -> str:
        if value is None or value == "":
            return "—"
        if name == "position_id":
            return str(posts.get(value, value))
        if name.endswith("unit_id"):
            return str(units.get(value, value))
        if isinstance(value, bool):
            return _("Yes") if value else _("No")
        if name in _CHOICE_NAMES:
            return _CHOICE_NAMES[name].get(str(value), str(value))
        if name in RECORD_VALUES and str(value) in RECORD_VALUES[name]:
            return _(RECORD_VALUES[name][str(value)])
        return str(data_text(value))  # days as dd/mm/yyyy, numbers the reader's way, as the procedure pages

    return [
        (
            event,
            payload,
            [
                (_field_name(name), shown(name, change.get("from")), shown(name, change.get("to")))
                for name, change in fields.items()
                if isinstance(change, dict)
            ],
        )
        for event, payload, fields in zip(events, payloads, changes, strict=True)
    ]


@bp.get("/cadres/<int:cadre_id>")
@login_required
def cadre(cadre_id: int) -> str:
    roots = _roots()
    found = db.session.get(Cadre, cadre_id)
    if found is None or not oversees_unit(db.session, current_user, found.unit_id, READ_ROLES) or not roots:
        abort(404)
    with read_logged(ViewedObject.CADRE, found.id, found.unit_id):
        return render_template(
            "registry/cadre.html",
            cadre=found,
            choice_label=_choice_label,
            procedures=cadre_procedures(db.session, current_user, cadre_id),
            status_labels=STATUS_LABELS,
            outcome_labels=OUTCOME_LABELS,
            **_record_of(cadre_id),
        )


@bp.get("/template.<fmt>")
@login_required
def download_template(fmt: str) -> Response:
    if fmt not in ("xlsx", "csv"):
        abort(404)
    return Response(
        template(CADRE_COLUMNS, fmt),  # type: ignore[arg-type]
        content_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="mau-nhap-can-bo.{fmt}"'},
    )


@bp.route("/import", methods=["GET", "POST"])
@login_required
def import_file() -> Any:
    if not _can_import():
        abort(403)
    if request.method == "GET":
        return render_template("registry/import.html", problems=None)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose an .xlsx or .csv file."), "error")
        return render_template("registry/import.html", problems=None), 422
    skip = request.form.get("skip_bad_rows") == "1"
    content = upload.read()
    try:
        with transaction(db.session):
            result = import_cadres(
                db.session,
                current_user,
                content,
                upload.filename,
                today=local_today(),
                skip_bad_rows=skip,
                explain=problem_text,
            )
    except ImportRefused as refused:
        return render_template("registry/import.html", problems=[str(p) for p in refused.report.problems]), 422
    except WorkflowError as error:
        flash(translated(error), "error")
        return render_template("registry/import.html", problems=None), 422
    imported = _(
        "Imported: %(created)d new, %(updated)d updated, %(unchanged)d unchanged.",
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
    )
    if result.email_rows:
        flash(_email_not_imported(result.email_rows), "warning")
    if result.skipped_rows:
        # The answer to the upload itself: a file download leaves the browser on the form, and a flash set beside it
        # only showed on whatever page came next.
        return render_template(
            "registry/import.html",
            problems=None,
            imported=imported,
            skipped=_skipped_rows(result.report),
            report=_data_url(write_problem_report(result.report, "xlsx"), MEDIA_TYPES["xlsx"]),
            to_correct=_data_url(write_rows_to_correct(content, upload.filename, result.report), MEDIA_TYPES["xlsx"]),
        )
    flash(imported, "success")
    return redirect(url_for("registry.cadres"))


def _email_not_imported(rows: list[int]) -> str:
    return _(
        "The Email column was not imported: an e-mail belongs to the person's sign-in account, and they change it "
        "on their own profile. Rows whose e-mail differs from the account: %(rows)s.",
        rows=", ".join(map(str, rows)),
    )


def _skipped_rows(report: ValidationReport) -> list[tuple[int, list[str]]]:
    """Each row left out, in order, with every reason (where in the row and what is wrong)."""
    reasons: dict[int, list[str]] = {}
    for problem in report.problems:
        if problem.row is not None:
            reasons.setdefault(problem.row, []).append(str(replace(problem, row=None)))
    return sorted(reasons.items())


def _data_url(content: bytes, media_type: str) -> str:
    """The report carried in the page itself (the link downloads it): nothing of it is kept on the server."""
    return f"data:{media_type};base64,{base64.b64encode(content).decode('ascii')}"
