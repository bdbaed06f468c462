"""An instance's full history as one self-contained file for an inspection, verifiable offline
(`canbo audit verify-export FILE`, decision 0021).

The JSON file holds the instance, its model version (and the hashes of its rule files), the ballot tallies, the
comments and files (names and SHA-256), and every event of its chain with the fields its hash covers. Verifying
recomputes the chain from the genesis hash to the recorded head, the document's own SHA-256 (which covers what the
chain does not), and that the file is byte for byte the form it was written in: a change of any single byte,
whitespace included, fails. The HTML file is the same document made readable, with the JSON embedded; it is
verified by re-rendering the readable part from the embedded JSON and comparing the bytes.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.audit import GENESIS_HASH, canonical_json, compute_hash
from workflows.clock import utcnow_naive
from workflows.inspection.history import ballot_tallies, model_version
from workflows.instances import instance_attachments, instance_comments
from workflows.models import AuditEvent, ProcessInstance
from workflows.registry.models import Cadre, OrgUnit, User

EXPORT_FORMAT = "canbo-instance-history/1"
_EMBEDDED = re.compile(r'<script type="application/json" id="canbo-export">(.*?)</script>', re.DOTALL)


def export_instance(session: Session, instance: ProcessInstance, *, exported_by: User) -> dict[str, Any]:
    events = session.scalars(
        select(AuditEvent).where(AuditEvent.chain_key == f"instance:{instance.id}").order_by(AuditEvent.seq)
    )
    subject = session.get(Cadre, instance.subject_cadre_id) if instance.subject_cadre_id is not None else None
    unit = session.get(OrgUnit, instance.unit_id) if instance.unit_id is not None else None
    model = model_version(instance.process_version)
    document: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "exported": utcnow_naive().isoformat() + "Z",
        "exported_by": exported_by.username,
        "instance": {
            "id": instance.id,
            "reference": instance.reference,
            "process_id": instance.process_id,
            "business_key": instance.business_key,
            "status": instance.status,
            "subject": {"code": subject.code, "full_name": subject.full_name} if subject else None,
            "unit": {"code": unit.code, "name": unit.name} if unit else None,
            "started": instance.started_dt.isoformat(),
            "ended": instance.ended_dt.isoformat() if instance.ended_dt else None,
            "cancel_reason": instance.cancel_reason,
        },
        "model": {
            "process_id": model.process_id,
            "name": model.name,
            "version": model.version,
            "content_hash": model.content_hash,
            "rule_files": {rule.name: rule.sha256 for rule in model.rule_files},
        },
        "head": {"seq": instance.audit_seq, "hash": instance.audit_head},
        "events": [
            {
                "chain_key": e.chain_key,
                "seq": e.seq,
                "event_type": e.event_type,
                "instance_id": e.instance_id,
                "human_task_id": e.human_task_id,
                "actor_id": e.actor_id,
                "actor_name": e.actor_name,
                "occurred": e.occurred_dt.isoformat(),
                "payload": e.payload,
                "prev_hash": e.prev_hash,
                "hash": e.hash,
            }
            for e in events
        ],
        "ballots": [
            {"step": t.step_key, "question": t.question, "closed": t.closed_dt.isoformat(), "tally": t.tally}
            for t in ballot_tallies(session, instance.id)
            if t.closed_dt is not None
        ],
        "comments": [
            {"author": row.author_name, "created": row.comment.created_dt.isoformat(), "body": row.comment.body}
            for row in instance_comments(session, instance.id)
        ],
        "attachments": [
            {
                "filename": row.attachment.filename,
                "sha256": row.attachment.sha256,
                "size": row.attachment.size,
                "uploaded": row.attachment.uploaded_dt.isoformat(),
            }
            for row in instance_attachments(session, instance.id)
        ],
    }
    document["document_sha256"] = _document_hash(document)
    return document


def _document_hash(document: dict[str, Any]) -> str:
    body = {key: value for key, value in document.items() if key != "document_sha256"}
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def dumps_export(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, sort_keys=True, indent=1) + "\n"


# -- the readable file ------------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    return escape("" if value is None else str(value))


def render_export_html(document: dict[str, Any]) -> str:
    """Deterministic: the same document always gives the same bytes (verification re-renders and compares)."""
    instance, model = document["instance"], document["model"]
    subject = instance.get("subject") or {}
    unit = instance.get("unit") or {}
    rows = []
    for event in document["events"]:
        rows.append(
            "<tr>"
            f"<td>{_cell(event['seq'])}</td><td>{_cell(event['occurred'])}Z</td><td>{_cell(event['actor_name'])}</td>"
            f"<td>{_cell(event['event_type'])}</td><td><code>{_cell(event['payload'])}</code></td>"
            f"<td><code>{_cell(event['hash'][:16])}…</code></td>"
            "</tr>"
        )
    ballots = "".join(
        f"<li>{_cell(b['step'])}: {_cell(b['tally'].get('outcome'))} — "
        + ", ".join(
            f"{_cell(c.get('key'))} {_cell(c.get('yes'))}/{_cell(b['tally'].get('denominator'))}"
            for c in b["tally"].get("candidates") or []
        )
        + "</li>"
        for b in document["ballots"]
    )
    embedded = dumps_export(document).replace("</", "<\\/")  # "<\/" is "</" to JSON, and cannot close the script
    rules = ", ".join(f"{_cell(name)} ({_cell(digest[:12])})" for name, digest in sorted(model["rule_files"].items()))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="vi"><head><meta charset="utf-8">'
        f"<title>Lịch sử hồ sơ {_cell(instance['reference'])}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #999;padding:2px 6px;vertical-align:top}code{font-size:85%}</style>"
        "</head><body>\n"
        f"<h1>Lịch sử hồ sơ {_cell(instance['reference'])}</h1>\n"
        "<dl>"
        f"<dt>Quy trình</dt><dd>{_cell(model['name'])} (v{_cell(model['version'])}, "
        f"{_cell(model['content_hash'][:12])})</dd>"
        f"<dt>Quy tắc</dt><dd>{rules or '—'}</dd>"
        f"<dt>Cán bộ</dt><dd>{_cell(subject.get('full_name'))} {_cell(subject.get('code'))}</dd>"
        f"<dt>Đơn vị</dt><dd>{_cell(unit.get('name'))}</dd>"
        f"<dt>Trạng thái</dt><dd>{_cell(instance['status'])}</dd>"
        f"<dt>Xuất lúc</dt><dd>{_cell(document['exported'])} — {_cell(document['exported_by'])}</dd>"
        f"<dt>Mã băm cuối chuỗi</dt><dd><code>#{_cell(document['head']['seq'])} "
        f"{_cell(document['head']['hash'])}</code></dd>"
        f"<dt>Mã băm tài liệu</dt><dd><code>{_cell(document['document_sha256'])}</code></dd>"
        "</dl>\n"
        + (f"<h2>Kết quả kiểm phiếu</h2><ul>{ballots}</ul>\n" if ballots else "")
        + "<h2>Sự kiện</h2>\n<table><thead><tr><th>#</th><th>Thời điểm (UTC)</th><th>Người thực hiện</th>"
        "<th>Loại</th><th>Nội dung</th><th>Mã băm</th></tr></thead><tbody>\n" + "\n".join(rows) + "\n</tbody></table>\n"
        "<p>Kiểm tra tệp này ngoại tuyến: <code>canbo audit verify-export TỆP</code>.</p>\n"
        f'<script type="application/json" id="canbo-export">{embedded}</script>\n'
        "</body></html>\n"
    )


# -- verifying ------------------------------------------------------------------------------------------------


@dataclass
class ExportReport:
    events: int = 0
    problems: list[str] = field(default_factory=list)
    # False for a file that is no export at all (another file picked by mistake), which is not a sign of tampering.
    is_export: bool = True

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_export(data: bytes) -> ExportReport:
    """Everything offline: needs neither the database nor a key."""
    report = ExportReport()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        report.problems.append("the file is not UTF-8 text")
        report.is_export = False
        return report
    is_html = not text.lstrip().startswith("{")
    raw = text
    if is_html:
        match = _EMBEDDED.search(text)
        if match is None:
            report.problems.append("no embedded history found (neither an exported .json nor .html)")
            report.is_export = False
            return report
        raw = match.group(1)
    try:
        document = json.loads(raw)
    except ValueError as error:
        report.problems.append(f"the embedded JSON cannot be read: {error}")
        report.is_export = False
        return report
    if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
        report.problems.append(f"not an instance history export ({EXPORT_FORMAT})")
        report.is_export = False
        return report
    try:
        _check_chain(document, report)
        if document.get("document_sha256") != _document_hash(document):
            report.problems.append("the document's SHA-256 does not match its content (something was changed)")
        rendered = render_export_html(document) if is_html else dumps_export(document)
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        report.problems.append(f"the document is incomplete: {error!r}")
        return report
    if rendered != text:
        report.problems.append("the file differs from the form it was exported in (a byte was changed)")
    return report


def _check_chain(document: dict[str, Any], report: ExportReport) -> None:
    prev_hash, expected_seq = GENESIS_HASH, 0
    for event in document["events"]:
        report.events += 1
        expected_seq += 1
        where = f"event #{event.get('seq')}"
        if event["seq"] != expected_seq:
            report.problems.append(f"{where}: expected #{expected_seq} (an event was removed or reordered)")
            return
        if event["prev_hash"] != prev_hash:
            report.problems.append(f"{where}: the link to the previous event does not match")
            return
        digest = compute_hash(
            prev_hash=event["prev_hash"],
            chain_key=event["chain_key"],
            seq=event["seq"],
            event_type=event["event_type"],
            instance_id=event["instance_id"],
            human_task_id=event["human_task_id"],
            actor_id=event["actor_id"],
            actor_name=event["actor_name"],
            occurred_dt=datetime.fromisoformat(event["occurred"]),
            payload=event["payload"],
        )
        if digest != event["hash"]:
            report.problems.append(f"{where}: content does not match its hash (the event was altered)")
            return
        prev_hash = event["hash"]
    head = document["head"]
    if (head["seq"], head["hash"]) != (expected_seq, prev_hash):
        report.problems.append(f"the events end at #{expected_seq} but the head records #{head['seq']}")
