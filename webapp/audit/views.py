"""The auditor workspace: the audit log and its search, an instance's full history (and its export), a cadre's
procedures, the integrity check and the anchors, the read log, and the inspection note — the one write."""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from werkzeug.wrappers import Response

from webapp import display_zone, display_zone_label
from webapp.audit.anchoring import anchor_key, existing_anchor_key
from webapp.audit.forms import DigestForm, ExportCheckForm, NoteForm
from webapp.audit.payloads import payload_summary
from webapp.audit.reads import list_export_logged, read_logged
from webapp.audit.signing import SigningKeyMissing, signing_key, trusted_keys
from webapp.downloads import export_format, format_problems, send_table
from webapp.extensions import db
from webapp.http import act, problem_text, process_engine, translated
from webapp.i18n import diagram_words, tally_text
from webapp.instances.event_words import EventWords
from webapp.instances.views import ROLE_LABELS, STATUS_LABELS, labels, page_with_diagram
from webapp.query_args import id_arg, page_arg
from webapp.registry.views import readable_history
from workflows import ballots
from workflows.access import visible_units
from workflows.audit import check_events, verify_chains
from workflows.clock import utcnow_naive
from workflows.errors import Invalid, NotFound
from workflows.exports import (
    AUDIT_COLUMNS,
    AUDIT_EVENT_TYPES,
    AuditFilters,
    ListPage,
    audit_count,
    audit_names,
    audit_page,
    audit_records,
    audit_roots,
    audit_scope,
    can_view_audit,
    full_names,
    parse_audit_filters,
)
from workflows.inspection.anchors import read_digest, recent_anchors
from workflows.inspection.exporting import Readable, dumps_export, export_instance, render_export_html, verify_export
from workflows.inspection.history import ballot_tallies, instance_history, load_cadre, load_cadre_history
from workflows.inspection.notes import add_note, can_add_note
from workflows.inspection.reads import LIST_KINDS, ViewedObject, ViewFilters, views_page
from workflows.inspection.signing import TrustedKey, public_pem, readable_fingerprint
from workflows.instances import (
    STATUSES,
    TimelineEntry,
    deployed_processes,
    event_entries,
    instance_attachments,
    load_visible_instance,
    sees_errors,
)
from workflows.models import AuditAnchor, AuditEvent, BallotBox, ProcessInstance

bp = Blueprint("audit", __name__, url_prefix="/audit")
bp.add_app_template_filter(payload_summary, "payload_summary")
PER_PAGE = 50


@bp.app_context_processor
def inspection_links() -> dict[str, Any]:
    """Pages outside the workspace (an instance, a cadre's record) link to its view for inspectors."""

    def can_inspect() -> bool:
        return bool(current_user.is_authenticated and can_view_audit(current_user))

    return {"can_inspect": can_inspect}


def _require_reader() -> None:
    if not can_view_audit(current_user):
        abort(403)


def _load_instance(instance_id: int) -> ProcessInstance:
    _require_reader()
    try:
        return load_visible_instance(db.session, current_user, instance_id)
    except NotFound:
        abort(404)


def _require_whole_trail() -> None:
    """The integrity check and the anchors cover every chain: readers at the top of the tree only."""
    _require_reader()
    if audit_roots(db.session, current_user) is not None:
        abort(403)


# -- the log and its search -------------------------------------------------------------------------------------


@bp.get("/events")
@login_required
def events() -> Any:
    _require_reader()
    scope = audit_scope(db.session, current_user)
    processes = deployed_processes(db.session)
    units = visible_units(db.session, current_user)
    problems = format_problems()
    try:
        filters = parse_audit_filters(
            request.args,
            display_zone(current_app),
            process_ids={p.process_id for p in processes},
            unit_ids={u.id for u in units},
        )
    except Invalid as invalid:
        problems = [*invalid.problems, *problems]
        filters = AuditFilters()
    context = {
        "filters": filters,
        "event_types": AUDIT_EVENT_TYPES,
        "processes": processes,
        "units": units,
        "outcomes": STATUSES,
        # The integrity check covers every chain: offered to readers at the top of the tree (_require_whole_trail).
        "whole_trail": audit_roots(db.session, current_user) is None,
        **labels(),
    }
    if problems:
        errors = {problem.field: problem_text(problem) for problem in problems}
        return render_template("audit/events.html", page=ListPage([], 0, 1, PER_PAGE), errors=errors, **context), 400
    fmt = export_format()
    if fmt is not None:
        roots = audit_roots(db.session, current_user)
        with list_export_logged(ViewedObject.EVENT_LIST, min(roots) if roots else None):
            return send_table(
                audit_records(db.session, filters, scope),
                AUDIT_COLUMNS,
                fmt,
                "nhat-ky",
                count=lambda: audit_count(db.session, filters, scope),
            )
    page = audit_page(db.session, filters, scope, page=page_arg(request.args), per_page=PER_PAGE)
    names = audit_names(db.session, page.records)
    # The rows shown, each checked against its hash and the one before it in its chain: one statement, not one per
    # row (decision 0079); the whole chain's check stays the integrity page's and the history page's.
    altered = check_events(db.session, [record["event"] for record in page.records])
    return render_template(
        "audit/events.html", page=page, errors={}, names=names, altered=altered, **_worded(page), **context
    )


def _worded(page: ListPage) -> dict[str, Any]:
    """Each event of the page in the words of the inspector's history (an instance's) or of a record's history (a
    cadre's, a unit's, the system's): one wording for an event wherever it is read."""
    events = [record["event"] for record in page.records]
    outside = [event for event in events if event.instance_id is None]
    return {
        "entries": {
            entry.event.id: entry
            for entry in event_entries(db.session, events, process_engine(), locale=str(get_locale() or "vi"))
        },
        "record_changes": {event.id: changes for event, _payload, changes in readable_history(outside)}
        if outside
        else {},
        # The history macros' view of "the instance" (instances/_history.html): none here, as many as the page has.
        "detail": SimpleNamespace(sees_errors=sees_errors(current_user), definition=None),
    }


# -- one instance -------------------------------------------------------------------------------------------------


def _render_history(instance: ProcessInstance, *, note_form: NoteForm | None = None, status: int = 200) -> Response:
    history = instance_history(
        db.session,
        process_engine(),
        current_user,
        instance,
        locale=str(get_locale() or "vi"),
        diagram_words=diagram_words(),
    )
    # The printable minutes of each counted box, where the reader's roles reach its units (as the task pages link them).
    minutes_of = {
        tally.box_id
        for tally in history.tallies
        if not tally.is_open
        and (box := db.session.get(BallotBox, tally.box_id)) is not None
        and ballots.can_view_minutes(db.session, current_user, box)
    }
    page = render_template(
        "audit/instance.html",
        history=history,
        detail=history.detail,
        instance=instance,
        minutes_of=minutes_of,
        note_form=note_form or NoteForm(formdata=None),
        can_note=can_add_note(db.session, current_user, instance),
        **labels(),
    )
    return page_with_diagram(page, status, history.detail.diagram_svg)


@bp.get("/instances/<int:instance_id>")
@login_required
def instance(instance_id: int) -> Response:
    found = _load_instance(instance_id)
    with read_logged(ViewedObject.INSTANCE_HISTORY, found.id, found.unit_id):
        return _render_history(found)


@bp.get("/instances/<int:instance_id>/export")
@login_required
def export(instance_id: int) -> Response:
    found = _load_instance(instance_id)
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "html"):
        abort(400)
    try:
        key = signing_key()
    except SigningKeyMissing:
        # Production without its configured key: nothing leaves signed with a key made up on one host.
        message = _(
            "This server has no key to sign exports with yet, so nothing was exported: an administrator must set "
            "CANBO_EXPORT_SIGNING_KEY_FILE (docs/deploy.md)."
        )
        back = url_for("audit.instance", instance_id=found.id)
        return make_response(render_template("errors/error.html", status=503, message=message, back=back), 503)
    with read_logged(ViewedObject.INSTANCE_EXPORT, found.id, found.unit_id):
        document = export_instance(
            db.session, found, exported_by=current_user, signing_key=key, readable=_export_words(found)
        )
    if fmt == "json":
        response = make_response(dumps_export(document))
        response.mimetype = "application/json"
    else:
        response = make_response(render_export_html(document))
        response.mimetype = "text/html"
        # Opened from the disk or the browser, the file must not run anything: it has no script to run.
        response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    filename = f"lich-su-ho-so-{found.id}.{fmt}"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _export_words(instance: ProcessInstance) -> Readable:
    """The readable part of an export in the history page's words (webapp/instances/event_words.py, and
    instances/_history.html for the data changes), the pages' local time with its zone named, people by full name
    with their user names: what the inspector read on the screen."""

    def words(events: list[AuditEvent], exported: datetime) -> dict[str, Any]:
        engine, locale = process_engine(), str(get_locale() or "vi")
        entries = event_entries(db.session, events, engine, locale=locale)
        # The procedure's files name the file a data change refers to ("attachment:12"), as on the history page.
        detail = SimpleNamespace(
            sees_errors=sees_errors(current_user),
            definition=engine.definition(db.session, instance.process_version_id),
            attachments=instance_attachments(db.session, instance.id),
        )
        macros = current_app.jinja_env.get_template("audit/_export_words.html").make_module(
            {**labels(), "detail": detail}
        )
        event_words = EventWords.for_page(detail, ROLE_LABELS)
        local = current_app.jinja_env.filters["localdatetime"]

        def who(entry: TimelineEntry) -> str:
            if entry.event.actor_id is None and not entry.actor_full_name:
                return _("System") if entry.event.actor_name == "system" else entry.event.actor_name
            return f"{entry.actor_full_name or entry.event.actor_name} ({entry.event.actor_name})"

        def plain(markup: Any) -> str:
            # A macro's output is markup: its text, entities read back (the file escapes it again where it lays it).
            return markup.striptags() if isinstance(markup, Markup) else str(markup)

        status = STATUS_LABELS.get(instance.status)
        return {
            "zone": display_zone_label(current_app),
            "status": str(status) if status is not None else instance.status,
            "started": local(instance.started_dt),
            "ended": local(instance.ended_dt) if instance.ended_dt else None,
            "exported": local(exported),
            "exported_by": f"{current_user.full_name} ({current_user.username})",
            # As the history page's tallies read: the question, the step, each candidate by name, the outcome.
            "ballots": [
                f"{box.question} ({detail.definition.step_name(box.step_key)}): "
                + tally_text(box.tally, box.candidate_names)
                for box in ballot_tallies(db.session, instance.id)
                if box.closed_dt is not None
            ],
            "events": [
                {
                    "seq": entry.event.seq,
                    "when": local(entry.event.occurred_dt),
                    "who": who(entry),
                    "what": plain(event_words.what(entry)),
                    "changes": [text for c in entry.changes if (text := plain(macros.change(c)))],  # type: ignore[attr-defined]
                }
                for entry in entries
            ],
        }

    return words


@bp.post("/instances/<int:instance_id>/notes")
@login_required
def note(instance_id: int) -> Response:
    found = _load_instance(instance_id)
    if not can_add_note(db.session, current_user, found):
        abort(403)
    form = NoteForm()
    if not form.validate():
        return _render_history(found, note_form=form, status=422)
    body = form.body.data or ""
    try:
        act(lambda: add_note(db.session, current_user, found.id, body))
    except Invalid as error:
        form.body.errors = [*form.body.errors, translated(error)]
        return _render_history(found, note_form=form, status=422)
    flash(_("Your inspection note was added to the history."), "success")
    return redirect(url_for("audit.instance", instance_id=found.id, _anchor="notes"))


# -- one cadre ----------------------------------------------------------------------------------------------------


@bp.get("/cadres/<int:cadre_id>")
@login_required
def cadre(cadre_id: int) -> str:
    _require_reader()
    try:
        found = load_cadre(db.session, current_user, cadre_id)
    except NotFound:
        abort(404)
    with read_logged(ViewedObject.CADRE_HISTORY, found.id, found.unit_id):
        history = load_cadre_history(db.session, current_user, cadre_id)
        events = [item.event for item in history.items if item.event is not None]
        return render_template(
            "audit/cadre.html",
            history=history,
            # A record's changes and who made them, worded as the record's page and the audit log word them.
            record_changes={event.id: changes for event, _payload, changes in readable_history(events)},
            actors=full_names(db.session, {event.actor_id for event in events}),
            **labels(),
        )


# -- integrity ------------------------------------------------------------------------------------------------


@bp.route("/integrity", methods=["GET", "POST"])
@login_required
def integrity() -> Response:
    """GET recomputes every chain; POST does the same against an uploaded anchor digest (nothing is written)."""
    _require_whole_trail()
    form = DigestForm()
    against = None
    problems: list[str] = []
    status = 200
    if request.method == "POST":
        upload = form.digest.data if form.validate_on_submit() else None
        if upload is None:
            problems.append(_("Choose an anchor digest file."))
        else:
            try:
                against = read_digest(upload.read(), key=anchor_key())
            except Invalid as error:
                problems.append(translated(error))
        status = 422 if problems else 200
    report = verify_chains(db.session, anchored=against.chains if against else None)
    db.session.rollback()
    page = render_template(
        "audit/integrity.html",
        report=report,
        checked_at=utcnow_naive(),
        against=against,
        problems=problems,
        form=form,
        anchors=recent_anchors(db.session),
    )
    return make_response(page, status)


@bp.route("/exports/verify", methods=["GET", "POST"])
@login_required
def verify_export_file() -> Response:
    """An exported history checked here, with this installation's audit key, as `canbo audit verify-export` does
    offline: for inspectors who were handed a file. Nothing is written, nothing of the database is read."""
    _require_reader()
    form = ExportCheckForm()
    report, filename, problems, status = None, None, [], 200
    if request.method == "POST":
        upload = form.export.data if form.validate_on_submit() else None
        if upload is None:
            problems.append(_("Choose an exported history file (.json or .html)."))
        else:
            filename = upload.filename
            # Formats 2 and 3 with the audit key, format 4 with this server's public keys, current and retired.
            report = verify_export(upload.read(), key=existing_anchor_key(), trusted=trusted_keys())
        # A file that is intact or not is an answer; no file, or a file that is no export, is a wrong request.
        status = 422 if problems or (report is not None and not report.is_export) else 200
    page = render_template(
        "audit/verify_export.html",
        form=form,
        report=report,
        filename=filename,
        problems=problems,
        fingerprint=readable_fingerprint,
    )
    return make_response(page, status)


def _public_keys() -> list[TrustedKey]:
    """This server's public keys: the current one (on one machine made now if it has none yet) and the retired."""
    with suppress(SigningKeyMissing):  # production without its key: the page says so
        signing_key()
    return trusted_keys()


@bp.get("/export-keys")
@login_required
def export_keys() -> str:
    """The public keys exports are checked with offline, each with its fingerprint to compare by phone or on paper
    with the one the server's administrators publish (decision 0077)."""
    _require_reader()
    return render_template("audit/export_keys.html", keys=_public_keys(), fingerprint=readable_fingerprint)


@bp.get("/export-keys/<fingerprint>.pem")
@login_required
def export_key(fingerprint: str) -> Response:
    _require_reader()
    found = next((key for key in _public_keys() if key.fingerprint == fingerprint), None)
    if found is None:
        abort(404)
    response = make_response(public_pem(found.key))
    response.mimetype = "application/x-pem-file"
    response.headers["Content-Disposition"] = f'attachment; filename="canbo-export-key-{fingerprint[:16]}.pem"'
    return response


@bp.get("/anchors/<int:anchor_id>.json")
@login_required
def anchor(anchor_id: int) -> Response:
    _require_whole_trail()
    found = db.session.get(AuditAnchor, anchor_id)  # the URL's int converter already stops at MAX_ID
    if found is None:
        abort(404)
    response = make_response(found.document)
    response.mimetype = "application/json"
    response.headers["Content-Disposition"] = f'attachment; filename="neo-nhat-ky-{found.anchored_on}.json"'
    return response


# -- who read what ----------------------------------------------------------------------------------------------


@bp.get("/reads")
@login_required
def reads() -> str:
    _require_reader()
    kind = request.args.get("kind") or None
    filters = ViewFilters(
        viewer=(request.args.get("viewer") or "").strip()[:80] or None,
        kind=kind if kind in set(ViewedObject) else None,
        # Like an unknown kind, text that is not an id (or one past the largest) filters nothing.
        object_id=id_arg(request.args, "object"),
    )
    page = views_page(db.session, current_user, filters, page=page_arg(request.args), per_page=PER_PAGE)
    read = [
        {
            "chain_key": f"{'instance' if view['kind'].startswith('instance') else 'cadre'}:{view['object_id']}",
            "actor": view["viewer"],
            "actor_id": view["viewer_id"],
        }
        for view in page.records
    ]
    names = audit_names(db.session, read)
    return render_template(
        "audit/reads.html", page=page, filters=filters, kinds=list(ViewedObject), names=names, list_kinds=LIST_KINDS
    )
