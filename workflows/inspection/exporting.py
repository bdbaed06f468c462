"""An instance's full history as one self-contained file for an inspection, verifiable offline
(`canbo audit verify-export FILE --public-key KEY.pem`, decisions 0021, 0049 and 0077).

The JSON file holds the instance, its model version (and the hashes of its rule files), the ballot tallies, the
comments and files (names and SHA-256), and every event of its chain with the fields its hash covers, signed with
the server's Ed25519 private key (format 4; formats 2 and 3 were signed with the audit key, HMAC-SHA256, and still
verify with it). Verifying recomputes the chain from the genesis hash to the recorded head; holds what the chain
itself records against what the document says beside it (the tallies, the status, the model, the instance) — a
forged tally fails even without a key; checks the signature against a public key the verifier trusts, which covers
the rest (names, comments, files); and that the file is byte for byte the form it was written in: a change of any
single byte, whitespace included, fails. The HTML file is the same document made readable, with the JSON embedded;
it is verified by re-rendering the readable part from the embedded JSON and comparing the bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from html import escape, unescape
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.audit import GENESIS_HASH, canonical_json, compute_hash
from workflows.clock import utcnow_naive
from workflows.errors import N_, Problem
from workflows.inspection import signing
from workflows.inspection.anchors import SIGNATURE_ALGORITHM, key_id, sign
from workflows.inspection.history import ballot_tallies, model_version
from workflows.instances import instance_attachments, instance_comments
from workflows.models import AuditEvent, ProcessInstance
from workflows.registry.models import Cadre, OrgUnit, User
from workflows.states import EventType, InstanceStatus

EXPORT_FORMAT = "canbo-instance-history/4"  # signed with the server's Ed25519 key (decision 0077)
# Format 3 (decision 0075): the readable part worded, signed with the audit key (HMAC-SHA256), rendered as it was.
WORDED_FORMAT = "canbo-instance-history/3"
# Exported before the readable part was worded (decision 0075): signed, events shown as the chain records them.
SIGNED_FORMAT = "canbo-instance-history/2"
UNSIGNED_FORMAT = "canbo-instance-history/1"  # exported before decision 0049: no signature, still verifiable
FORMATS = (EXPORT_FORMAT, WORDED_FORMAT, SIGNED_FORMAT, UNSIGNED_FORMAT)
HMAC_FORMATS = (WORDED_FORMAT, SIGNED_FORMAT)  # checked with the audit key, as before decision 0077
# The readable part of a file (formats 3 and 4), worded by the caller (the web layer, in the reader's language) from the
# events read and the moment of the export: the zone times are shown in, the status, the start, the end and the
# export's moment as people read them, who exported (name and user name), each closed ballot's result in words, and
# for each event its number, local time, who acted, one sentence and its changes before → after. Signed with the rest.
Readable = Callable[[list[AuditEvent], datetime], dict[str, Any]]
_EMBEDDED_MARK = '<script type="application/json" id="canbo-export">'
_EMBEDDED = re.compile(re.escape(_EMBEDDED_MARK) + r"(.*?)</script>", re.DOTALL)
# How an export names its own hash: a JSON text that holds it and does not parse is an export that was damaged.
_DOCUMENT_HASH_KEY = '"document_sha256"'


def _carries_export_marks(text: str) -> bool:
    """An export's own marks (the HTML's embedded block, the document's hash): a file holding one that fails to read
    was an export, damaged or edited — not another file picked by mistake (decision 0130)."""
    return _EMBEDDED_MARK in text or _DOCUMENT_HASH_KEY in text


def export_instance(
    session: Session,
    instance: ProcessInstance,
    *,
    exported_by: User,
    signing_key: Ed25519PrivateKey,
    readable: Readable | None = None,
) -> dict[str, Any]:
    """Format 4, signed with `signing_key` (the server's Ed25519 key). `readable`: the words of the file's readable
    part; without it (a script's export) the file has the technical part only."""
    events = list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.chain_key == f"instance:{instance.id}").order_by(AuditEvent.seq)
        )
    )
    exported = utcnow_naive()
    subject = session.get(Cadre, instance.subject_cadre_id) if instance.subject_cadre_id is not None else None
    unit = session.get(OrgUnit, instance.unit_id) if instance.unit_id is not None else None
    model = model_version(instance.process_version)
    document: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "exported": exported.isoformat() + "Z",
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
    document["readable"] = readable(events, exported) if readable is not None else None
    document["document_sha256"] = document_hash(document)
    # The key is named by its fingerprint, never carried: a key in the file would prove nothing (anyone can make
    # one); the verifier's own copy of the server's public key is what the signature is checked against.
    document["signature"] = {
        "algorithm": signing.ALGORITHM,
        "key_id": signing.fingerprint(signing_key.public_key()),
        "value": signing.sign(signing_key, document),
    }
    return document


def document_hash(document: dict[str, Any]) -> str:
    body = {key: value for key, value in document.items() if key not in ("document_sha256", "signature")}
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def _signed_body(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "signature"}


def dumps_export(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, sort_keys=True, indent=1) + "\n"


# -- the readable file ------------------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    return escape("" if value is None else str(value))


def _signature_line(signature: Any) -> str:
    """Empty for an export made before exports were signed, so its file re-renders to the same bytes."""
    if not isinstance(signature, dict):
        return ""
    return (
        f"<dt>Chữ ký</dt><dd>{_cell(signature.get('algorithm'))}, khóa <code>{_cell(signature.get('key_id'))}</code>"
        f" — <code>{_cell(signature.get('value'))}</code></dd>"
    )


def render_export_html(document: dict[str, Any]) -> str:
    """Deterministic: the same document always gives the same bytes (verification re-renders and compares). A file
    of an earlier format is rendered as that format was, byte for byte: its readable part is what it was signed as."""
    if document.get("format") in (SIGNED_FORMAT, UNSIGNED_FORMAT):
        return _render_format_2(document)
    if document.get("format") == WORDED_FORMAT:
        return _render(document, signature_line=_signature_line(document.get("signature")), check_line=_CHECK_LINE_3)
    return _render(
        document, signature_line=_public_key_signature_line(document.get("signature")), check_line=_CHECK_LINE_4
    )


# How to check the file, as its last paragraph says it: format 3 with the audit key, format 4 with the public key.
_CHECK_LINE_3 = (
    "<p>Kiểm tra tệp này: tải lên trang “Kiểm tra tệp lịch sử đã xuất” của hệ thống (Nhật ký hệ thống › Kiểm tra "
    "tính toàn vẹn), hoặc ngoại tuyến: <code>canbo audit verify-export TỆP</code>.</p>\n"
)
_CHECK_LINE_4 = (
    "<p>Kiểm tra tệp này: tải lên trang “Kiểm tra tệp lịch sử đã xuất” của hệ thống (Nhật ký hệ thống › Kiểm tra "
    "tính toàn vẹn), hoặc ngoại tuyến, không cần máy chủ, với khóa công khai tải từ trang “Khóa công khai ký tệp "
    "xuất” (so dấu vân tay với dấu vân tay máy chủ công bố): "
    "<code>canbo audit verify-export TỆP --public-key KHÓA.pem</code>.</p>\n"
)


def _public_key_signature_line(signature: Any) -> str:
    """Format 4: the algorithm, the fingerprint of the key that signed, the signature."""
    if not isinstance(signature, dict):
        return ""
    return (
        f"<dt>Chữ ký</dt><dd>{_cell(signature.get('algorithm'))}, khóa công khai có dấu vân tay SHA-256 "
        f"<code>{_cell(signing.readable_fingerprint(str(signature.get('key_id'))))}</code>"
        f" — <code>{_cell(signature.get('value'))}</code></dd>"
    )


_STYLE = (
    "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
    "td,th{border:1px solid #999;padding:2px 6px;vertical-align:top}code{font-size:85%}</style>"
)


def _readable_rows(readable: dict[str, Any]) -> str:
    rows = []
    for event in readable["events"]:
        changes = "".join(f"<li>{_cell(change)}</li>" for change in event.get("changes") or [])
        rows.append(
            "<tr>"
            f"<td>{_cell(event['seq'])}</td><td>{_cell(event['when'])}</td><td>{_cell(event['who'])}</td>"
            f"<td>{_cell(event['what'])}{f'<ul>{changes}</ul>' if changes else ''}</td>"
            "</tr>"
        )
    return "\n".join(rows)


def _render(document: dict[str, Any], *, signature_line: str, check_line: str) -> str:
    """Formats 3 and 4: the readable part in the words and local time of the pages, the chain's own records (times
    in UTC, event codes, raw content, hashes) in a technical part after it. They differ in the signature's line and
    in how the file is checked, nothing else: a format-3 file re-renders to its bytes."""
    instance, model = document["instance"], document["model"]
    readable = document.get("readable")
    subject = instance.get("subject") or {}
    unit = instance.get("unit") or {}
    technical = []
    for event in document["events"]:
        technical.append(
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
    embedded = dumps_export(document).replace("</", "<\\/")
    rules = ", ".join(f"{_cell(name)} ({_cell(digest[:12])})" for name, digest in sorted(model["rule_files"].items()))
    raw_ballots = f"<h2>Kết quả kiểm phiếu</h2><ul>{ballots}</ul>\n" if ballots else ""
    if isinstance(readable, dict) and isinstance(readable.get("ballots"), list):
        worded = "".join(f"<li>{_cell(line)}</li>" for line in readable["ballots"])
        ballots_first = f"<h2>Kết quả kiểm phiếu</h2><ul>{worded}</ul>\n" if worded else ""
        raw_ballots = raw_ballots.replace("<h2>Kết quả kiểm phiếu</h2>", "<h3>Kết quả kiểm phiếu (dữ liệu gốc)</h3>")
    else:
        ballots_first, raw_ballots = raw_ballots, ""
    if isinstance(readable, dict):
        facts = (
            f"<dt>Trạng thái</dt><dd>{_cell(readable['status'])}</dd>"
            f"<dt>Bắt đầu</dt><dd>{_cell(readable['started'])}</dd>"
            + (f"<dt>Kết thúc</dt><dd>{_cell(readable['ended'])}</dd>" if readable.get("ended") else "")
            + f"<dt>Xuất lúc</dt><dd>{_cell(readable['exported'])} — {_cell(readable['exported_by'])}</dd>"
        )
        story = (
            f"<p>Thời gian theo {_cell(readable['zone'])}.</p>\n"
            "<h2>Diễn biến</h2>\n<table><thead><tr><th>#</th><th>Thời điểm</th><th>Người thực hiện</th>"
            "<th>Nội dung</th></tr></thead><tbody>\n" + _readable_rows(readable) + "\n</tbody></table>\n"
        )
    else:
        facts = (
            f"<dt>Trạng thái</dt><dd>{_cell(instance['status'])}</dd>"
            f"<dt>Xuất lúc</dt><dd>{_cell(document['exported'])} — {_cell(document['exported_by'])}</dd>"
        )
        story = ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="vi"><head><meta charset="utf-8">'
        f"<title>Lịch sử hồ sơ {_cell(instance['reference'])}</title>" + _STYLE + "</head><body>\n"
        f"<h1>Lịch sử hồ sơ {_cell(instance['reference'])}</h1>\n"
        "<dl>"
        f"<dt>Quy trình</dt><dd>{_cell(model['name'])} (v{_cell(model['version'])}, "
        f"{_cell(model['content_hash'][:12])})</dd>"
        f"<dt>Quy tắc</dt><dd>{rules or '—'}</dd>"
        f"<dt>Cán bộ</dt><dd>{_cell(subject.get('full_name'))} {_cell(subject.get('code'))}</dd>"
        f"<dt>Đơn vị</dt><dd>{_cell(unit.get('name'))}</dd>"
        + facts
        + "</dl>\n"
        + ballots_first
        + story
        + "<h2>Chi tiết kỹ thuật</h2>\n"
        "<p>Từng sự kiện đúng như chuỗi băm ghi lại (thời điểm theo UTC), và các mã băm để kiểm tra.</p>\n"
        "<dl>"
        f"<dt>Xuất lúc (UTC)</dt><dd>{_cell(document['exported'])} — {_cell(document['exported_by'])}</dd>"
        f"<dt>Mã băm cuối chuỗi</dt><dd><code>#{_cell(document['head']['seq'])} "
        f"{_cell(document['head']['hash'])}</code></dd>"
        f"<dt>Mã băm tài liệu</dt><dd><code>{_cell(document['document_sha256'])}</code></dd>"
        + signature_line
        + "</dl>\n"
        + raw_ballots
        + "<table><thead><tr><th>#</th><th>Thời điểm (UTC)</th><th>Người thực hiện</th>"
        "<th>Loại</th><th>Nội dung</th><th>Mã băm</th></tr></thead><tbody>\n"
        + "\n".join(technical)
        + "\n</tbody></table>\n"
        + check_line
        + f'<script type="application/json" id="canbo-export">{embedded}</script>\n'
        "</body></html>\n"
    )


def _render_format_2(document: dict[str, Any]) -> str:
    """Formats 1 and 2, unchanged: what their files were written as, so that they re-render to the same bytes.

    Its event rows and ballot lines repeat format 3's technical part on purpose: shared, a later change to format 3
    would silently change how every older file re-renders, and each would then fail its check."""
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
        + _signature_line(document.get("signature"))
        + "</dl>\n"
        + (f"<h2>Kết quả kiểm phiếu</h2><ul>{ballots}</ul>\n" if ballots else "")
        + "<h2>Sự kiện</h2>\n<table><thead><tr><th>#</th><th>Thời điểm (UTC)</th><th>Người thực hiện</th>"
        "<th>Loại</th><th>Nội dung</th><th>Mã băm</th></tr></thead><tbody>\n" + "\n".join(rows) + "\n</tbody></table>\n"
        "<p>Kiểm tra tệp này ngoại tuyến: <code>canbo audit verify-export TỆP</code>.</p>\n"
        f'<script type="application/json" id="canbo-export">{embedded}</script>\n'
        "</body></html>\n"
    )


# -- verifying ------------------------------------------------------------------------------------------------


class SignatureCheck(StrEnum):
    VALID = "valid"
    ALTERED = "altered"  # signed under the key given, and changed since
    OTHER_KEY = "other_key"  # formats 2, 3: signed under an audit key that is not the one given (a rotated-out key?)
    UNKNOWN_KEY = "unknown_key"  # format 4: signed by a key that is none of the public keys trusted
    NOT_CHECKED = "not_checked"  # no key given: the parts outside the chain are unproven
    UNSIGNED = "unsigned"  # exported before exports were signed (format 1)
    MISSING = "missing"  # a signed format without its signature: taken off


# The columns of the readable event table, in the order render_export_html draws them.
EVENT_FIELDS = ("seq", "occurred", "actor", "event_type", "payload", "hash")
ROW_COUNT = "rows"  # a ShownChange's field when the readable table has more or fewer rows than the data
MAX_SHOWN_CHANGES = 200
_BYTES_CHANGED = N_("the file differs from the form it was exported in (a byte was changed)")


@dataclass(frozen=True)
class ShownChange:
    """Where the readable part of an HTML export says something else than its embedded data renders to."""

    seq: str | None  # the event's number as the data has it; None for the facts above the table
    field: str  # an EVENT_FIELDS name for an event, ROW_COUNT, or a fact's label as the file writes it
    shown: str  # what the file shows
    signed: str  # what the embedded data says


@dataclass
class ExportReport:
    events: int = 0
    problems: list[Problem] = field(default_factory=list)  # English msgids with their values (N_)
    # False for a file that is no export at all (another file picked by mistake), which is not a sign of tampering.
    is_export: bool = True
    signature: SignatureCheck = SignatureCheck.NOT_CHECKED
    signed_key_id: str | None = None
    # Format 4, a valid signature: the trusted key that verified it (the current key, a retired one, a file given).
    signed_by: signing.TrustedKey | None = None
    format: str | None = None  # the file's format, once it is read as an export
    # An HTML file whose readable part is not what its embedded data renders to, and where they differ.
    readable_part_altered: bool = False
    shown_changes: list[ShownChange] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def only_readable_part_altered(self) -> bool:
        """Every check of the embedded data passed; only what the file shows to a reader was edited."""
        return self.readable_part_altered and all(problem.message == _BYTES_CHANGED for problem in self.problems)

    @property
    def public_key_signed(self) -> bool:
        """A format-4 file: signed with the server's public-key pair, not with the shared audit key."""
        return self.format == EXPORT_FORMAT

    @property
    def explained(self) -> list[str]:
        """The problems in English, their values filled in (the CLI's)."""
        return [problem.explained for problem in self.problems]


def verify_export(
    data: bytes, *, key: bytes | None = None, trusted: list[signing.TrustedKey] | None = None
) -> ExportReport:
    """Everything offline: needs neither the database nor, but for the signature, a key — the audit key (`key`) for
    formats 2 and 3, for format 4 the public keys the verifier trusts (`trusted`: the server's current and retired
    keys, or a PEM file an auditor took from the server)."""
    report = ExportReport()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        report.problems.append(Problem(N_("the file is not UTF-8 text")))
        # A changed byte can break a character: an export's marks still readable around it say it was one.
        report.is_export = _carries_export_marks(data.decode("utf-8", errors="replace"))
        return report
    is_html = not text.lstrip().startswith("{")
    raw = text
    if is_html:
        match = _EMBEDDED.search(text)
        if match is not None:
            raw = match.group(1)
        elif not _carries_export_marks(text):
            report.problems.append(Problem(N_("no embedded history found (neither an exported .json nor .html)")))
            report.is_export = False
            return report
        # Else an export whose first character or whose block's tags were changed: read as it is, it fails below.
    try:
        document = json.loads(raw)
    except ValueError as error:
        report.problems.append(
            Problem(N_("the embedded JSON cannot be read: %(detail)s"), message_args={"detail": str(error)})
        )
        # A changed byte can land on the JSON's syntax.
        report.is_export = _carries_export_marks(text)
        return report
    if not isinstance(document, dict) or document.get("format") not in FORMATS:
        report.problems.append(
            Problem(N_("not an instance history export (%(format)s)"), message_args={"format": EXPORT_FORMAT})
        )
        report.is_export = False
        return report
    report.format = document["format"]
    try:
        _check_chain(document, report)
        _check_against_chain(document, report)
        if document.get("document_sha256") != document_hash(document):
            report.problems.append(
                Problem(N_("the document's SHA-256 does not match its content (something was changed)"))
            )
        if document["format"] == EXPORT_FORMAT:
            _check_public_key_signature(document, trusted or [], report)
        else:
            _check_signature(document, key, report)
        rendered = render_export_html(document) if is_html else dumps_export(document)
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        report.problems.append(
            Problem(N_("the document is incomplete: %(detail)s"), message_args={"detail": repr(error)})
        )
        return report
    if rendered != text:
        report.problems.append(Problem(_BYTES_CHANGED))
        if is_html:
            report.readable_part_altered = True
            report.shown_changes = shown_changes(text, rendered)[:MAX_SHOWN_CHANGES]
    return report


_FACT = re.compile(r"<dt>(.*?)</dt><dd>(.*?)</dd>", re.DOTALL)
_ROW = re.compile(r"<tr>(.*?)</tr>", re.DOTALL)
_CELL = re.compile(r"<td>(.*?)</td>", re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


def _text(markup: str) -> str:
    return " ".join(unescape(_TAG.sub("", markup)).split())


# A readable table's column, by its heading as the file writes it, as a ShownChange names it; the readable
# "Diễn biến" table (format 3) and the chain's own "Sự kiện" table share these names.
_COLUMN_FIELDS = {
    "#": "seq",
    "Thời điểm": "occurred",
    "Thời điểm (UTC)": "occurred",
    "Người thực hiện": "actor",
    "Loại": "event_type",
    "Nội dung": "payload",
    "Mã băm": "hash",
}
_TABLE = re.compile(r"<thead>(.*?)</thead><tbody>(.*?)</tbody>", re.DOTALL)
_HEADING = re.compile(r"<th>(.*?)</th>", re.DOTALL)

EventTable = tuple[list[str], list[list[str]]]  # the columns' field names, and each row's cells as text


def _readable(page: str) -> tuple[list[tuple[str, str]], list[EventTable]]:
    """The facts (label, value) and the event tables (columns, rows' cells) of an export's readable part, as text:
    format 3 has the history in words and the chain's records, earlier formats the records alone."""
    page = page.split('<script type="application/json"', 1)[0]  # the embedded data is not what a reader sees
    facts = [(_text(label), _text(value)) for label, value in _FACT.findall(page)]
    tables = []
    for head, body in _TABLE.findall(page):
        columns = [_COLUMN_FIELDS.get(_text(heading), _text(heading)) for heading in _HEADING.findall(head)]
        tables.append((columns, [[_text(cell) for cell in _CELL.findall(row)] for row in _ROW.findall(body)]))
    return facts, tables


def shown_changes(shown_page: str, signed_page: str) -> list[ShownChange]:
    """What a reader of `shown_page` sees that `signed_page` (rendered from the embedded data) does not say.

    Both are read by the same rules, so an untouched readable part gives nothing; tables and their rows are matched
    by position (an event added or removed in the readable part is said as a different number of rows)."""
    shown_facts, shown_tables = _readable(shown_page)
    signed_facts, signed_tables = _readable(signed_page)
    changes = []
    for index, (label, value) in enumerate(signed_facts):
        seen_label, seen = shown_facts[index] if index < len(shown_facts) else ("", "")
        if (seen_label, seen) != (label, value):
            changes.append(ShownChange(None, label, seen if seen_label == label else f"{seen_label}: {seen}", value))
    for index, (columns, signed_rows) in enumerate(signed_tables):
        shown_rows = shown_tables[index][1] if index < len(shown_tables) else []
        if len(shown_rows) != len(signed_rows):
            changes.append(ShownChange(None, ROW_COUNT, str(len(shown_rows)), str(len(signed_rows))))
        for shown_row, signed_row in zip(shown_rows, signed_rows, strict=False):
            seq = signed_row[0] if signed_row else None
            for column, signed in enumerate(signed_row):
                seen = shown_row[column] if column < len(shown_row) else ""
                if seen != signed:
                    name = columns[column] if column < len(columns) else str(column)
                    changes.append(ShownChange(seq, name, seen, signed))
    return changes


def _check_public_key_signature(
    document: dict[str, Any], trusted: list[signing.TrustedKey], report: ExportReport
) -> None:
    """Format 4: the key the file names is looked up among the keys the verifier trusts; only such a key verifies."""
    signature = document.get("signature")
    if not isinstance(signature, dict) or not isinstance(signature.get("value"), str):
        report.signature = SignatureCheck.MISSING
        report.problems.append(Problem(N_("the signature was taken off the file")))
        return
    report.signed_key_id = str(signature.get("key_id"))
    if signature.get("algorithm") != signing.ALGORITHM:
        # A format-4 file is signed with the server's private key; a signature of another kind (an HMAC any holder
        # of the audit key can make) is not one the server wrote.
        report.signature = SignatureCheck.ALTERED
        report.problems.append(
            Problem(
                N_("the signature is not an %(algorithm)s signature, as this format's are: the server did not make it"),
                message_args={"algorithm": signing.ALGORITHM},
            )
        )
        return
    if not trusted:
        report.signature = SignatureCheck.NOT_CHECKED
        return
    found = signing.trusted_by_fingerprint(trusted).get(report.signed_key_id)
    if found is None:
        report.signature = SignatureCheck.UNKNOWN_KEY
        report.problems.append(
            Problem(
                N_(
                    "the file was signed with a key that is none of the trusted public keys (fingerprint %(signed)s): "
                    "it may come from another installation, or be forged; nothing outside the chain is proven"
                ),
                message_args={"signed": signing.readable_fingerprint(report.signed_key_id)},
            )
        )
    elif not signing.verifies(found.key, _signed_body(document), signature["value"]):
        report.signature = SignatureCheck.ALTERED
        report.problems.append(Problem(N_("the signature does not match the content (something was changed)")))
    else:
        report.signature = SignatureCheck.VALID
        report.signed_by = found


def _check_signature(document: dict[str, Any], key: bytes | None, report: ExportReport) -> None:
    signature = document.get("signature")
    if document["format"] == UNSIGNED_FORMAT and signature is None:
        report.signature = SignatureCheck.UNSIGNED
        return
    if not isinstance(signature, dict) or not isinstance(signature.get("value"), str):
        report.signature = SignatureCheck.MISSING
        report.problems.append(Problem(N_("the signature was taken off the file")))
        return
    report.signed_key_id = str(signature.get("key_id"))
    if key is None:
        report.signature = SignatureCheck.NOT_CHECKED
    elif signature.get("key_id") != key_id(key):
        report.signature = SignatureCheck.OTHER_KEY
        report.problems.append(
            Problem(
                N_(
                    "the file was signed with the key %(signed)s, not with the key given (%(given)s): verify it with "
                    "the key that signed it"
                ),
                message_args={"signed": report.signed_key_id, "given": key_id(key)},
            )
        )
    elif signature.get("algorithm") != SIGNATURE_ALGORITHM or not hmac.compare_digest(
        signature["value"], sign(key, _signed_body(document))
    ):
        report.signature = SignatureCheck.ALTERED
        report.problems.append(Problem(N_("the signature does not match the content (something was changed)")))
    else:
        report.signature = SignatureCheck.VALID


def _check_chain(document: dict[str, Any], report: ExportReport) -> None:
    prev_hash, expected_seq = GENESIS_HASH, 0
    for event in document["events"]:
        report.events += 1
        expected_seq += 1
        seq = event.get("seq")
        if event["seq"] != expected_seq:
            report.problems.append(
                Problem(
                    N_("event #%(seq)s: expected #%(expected)s (an event was removed or reordered)"),
                    message_args={"seq": seq, "expected": expected_seq},
                )
            )
            return
        if event["prev_hash"] != prev_hash:
            report.problems.append(
                Problem(N_("event #%(seq)s: the link to the previous event does not match"), message_args={"seq": seq})
            )
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
            report.problems.append(
                Problem(
                    N_("event #%(seq)s: content does not match its hash (the event was altered)"),
                    message_args={"seq": seq},
                )
            )
            return
        prev_hash = event["hash"]
    head = document["head"]
    if (head["seq"], head["hash"]) != (expected_seq, prev_hash):
        report.problems.append(
            Problem(
                N_("the events end at #%(seq)s but the head records #%(head)s"),
                message_args={"seq": expected_seq, "head": head["seq"]},
            )
        )


_STARTED_WITH_ANOTHER = {
    "process_id": N_("the procedure differs from the one the chain started with"),
    "business_key": N_("the business key differs from the one the chain started with"),
    "version": N_("the model version differs from the one the chain started with"),
    "content_hash": N_("the model's content hash differs from the one the chain started with"),
}


def _check_against_chain(document: dict[str, Any], report: ExportReport) -> None:
    """What the document says beside the chain must be what the chain records, so that a tally, the status or the
    model cannot be changed (and the document hash recomputed) to tell another story. Runs without a key."""
    instance, model = document["instance"], document["model"]
    chain_key = f"instance:{instance['id']}"
    for event in document["events"]:
        if event["chain_key"] != chain_key or event["instance_id"] != instance["id"]:
            report.problems.append(
                Problem(
                    N_("event #%(seq)s belongs to %(chain)s, not to %(expected)s"),
                    message_args={"seq": event["seq"], "chain": event["chain_key"], "expected": chain_key},
                )
            )
            return
    recorded: dict[str, list[dict[str, Any]]] = {}
    for event in document["events"]:
        recorded.setdefault(event["event_type"], []).append(json.loads(event["payload"]))

    started = recorded.get(EventType.INSTANCE_STARTED, [])
    if started:
        first = started[0]
        said = {
            "process_id": instance["process_id"],
            "business_key": instance["business_key"],
            "version": model["version"],
            "content_hash": model["content_hash"],
        }
        for name, value in said.items():
            if first.get(name) != value or (name == "process_id" and model["process_id"] != value):
                report.problems.append(Problem(_STARTED_WITH_ANOTHER[name]))

    ended = recorded.get(EventType.INSTANCE_COMPLETED) or recorded.get(EventType.INSTANCE_CANCELLED)
    if recorded.get(EventType.INSTANCE_CANCELLED):
        expected = InstanceStatus.CANCELLED
        if instance["cancel_reason"] != recorded[EventType.INSTANCE_CANCELLED][-1].get("reason"):
            report.problems.append(Problem(N_("the reason for cancelling differs from the one the chain records")))
    elif recorded.get(EventType.INSTANCE_COMPLETED):
        expected = InstanceStatus.COMPLETED
    else:
        expected = InstanceStatus.RUNNING
    if instance["status"] != expected or (instance["ended"] is None) != (ended is None):
        report.problems.append(
            Problem(
                N_("the status says %(status)s, the chain records %(expected)s"),
                message_args={"status": instance["status"], "expected": expected.value},
            )
        )

    readable = document.get("readable")
    if isinstance(readable, dict):
        # Its words are the signature's to prove; that it tells every event of the chain, once, in order, is not.
        listed = [event.get("seq") for event in readable.get("events") or [] if isinstance(event, dict)]
        if listed != [event["seq"] for event in document["events"]]:
            report.problems.append(Problem(N_("the readable part does not tell the chain's events one by one")))

    def counted(step: Any, tally: Any) -> str:
        return canonical_json([step, tally])

    exported = Counter(counted(ballot["step"], ballot["tally"]) for ballot in document["ballots"])
    closed = Counter(
        counted(payload.get("step_key"), payload.get("tally")) for payload in recorded.get("ballot_closed", [])
    )
    if exported != closed:
        report.problems.append(
            Problem(
                N_("the ballot results differ from the ones the chain records (%(count)d closed ballot(s))"),
                message_args={"count": sum(closed.values())},
            )
        )
