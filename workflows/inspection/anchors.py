"""Anchoring the audit trail (docs/decisions/0022): a digest of the head (seq, hash) of every chain, signed with
HMAC-SHA256 under a key from the configuration, written daily by the worker and exported to be kept off the server.

A chain rewritten consistently from its first event — hashes and head recomputed, by someone holding the whole
database — verifies on its own; it no longer passes through the hash the digest recorded for it, which
`verify_chains(anchored=…)` checks. The signature shows the digest itself was not edited to match.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from workflows.audit import canonical_json, chain_heads
from workflows.clock import utcnow_naive
from workflows.db import transaction
from workflows.errors import Invalid, Problem
from workflows.models import AuditAnchor
from workflows.registry.records import local_today

ANCHOR_FORMAT = "canbo-audit-anchor/1"
SIGNATURE_ALGORITHM = "HMAC-SHA256"
MIN_KEY_BYTES = 16


def sign(key: bytes, body: dict[str, Any]) -> str:
    """HMAC-SHA256 of the canonical JSON of `body`: the anchors' signature, and the exports' (decision 0049)."""
    return hmac.new(checked_key(key), canonical_json(body).encode(), hashlib.sha256).hexdigest()


def key_id(key: bytes) -> str:
    """Names the key without revealing it, so a file signed under a rotated-out key is told from an altered one."""
    return hmac.new(checked_key(key), b"canbo signing key id", hashlib.sha256).hexdigest()[:16]


def checked_key(key: bytes) -> bytes:
    if len(key) < MIN_KEY_BYTES:
        raise Invalid("the anchor key is too short", [Problem("AUDIT_ANCHOR_KEY needs at least 16 bytes.")])
    return key


def build_digest(heads: dict[str, tuple[int, str]], *, key: bytes, anchored_on: date) -> str:
    """The signed digest as exported: one JSON document, chains sorted, the signature over the canonical body."""
    body = {
        "format": ANCHOR_FORMAT,
        "anchored_on": anchored_on.isoformat(),
        "created": utcnow_naive().isoformat() + "Z",
        "events": sum(seq for seq, _hash in heads.values()),
        "chains": {chain: [seq, digest] for chain, (seq, digest) in sorted(heads.items())},
    }
    signed = {**body, "signature": {"algorithm": SIGNATURE_ALGORITHM, "value": sign(key, body)}}
    return json.dumps(signed, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"


def write_anchor(session: Session, *, key: bytes, anchored_on: date | None = None) -> AuditAnchor:
    """Anchor the current heads, in the caller's transaction."""
    heads = chain_heads(session, None)
    day = anchored_on or local_today()
    document = build_digest(heads, key=key, anchored_on=day)
    anchor = AuditAnchor(
        anchored_on=day.isoformat(),
        created_dt=utcnow_naive(),
        chains=len(heads),
        events=sum(seq for seq, _hash in heads.values()),
        document=document,
    )
    session.add(anchor)
    session.flush()
    return anchor


def write_daily_anchor(
    session_factory: sessionmaker[Session], *, key: bytes, today: date | None = None
) -> AuditAnchor | None:
    """The worker loop's call: one anchor per local day; None when today's exists already."""
    day = today or local_today()
    with session_factory() as session, transaction(session):
        if session.scalar(select(AuditAnchor.id).where(AuditAnchor.anchored_on == day.isoformat()).limit(1)):
            return None
        return write_anchor(session, key=key, anchored_on=day)


@dataclass(frozen=True)
class Digest:
    anchored_on: str
    created: str
    chains: dict[str, tuple[int, str]]


def read_digest(text: str | bytes, *, key: bytes) -> Digest:
    """A digest file, its signature checked under `key`; Invalid says what is wrong with it."""
    try:
        document = json.loads(text)
    except (ValueError, UnicodeDecodeError) as error:
        raise Invalid("the digest file is not valid JSON", [Problem(str(error))]) from error
    if not isinstance(document, dict) or document.get("format") != ANCHOR_FORMAT:
        raise Invalid("this is not an audit anchor digest", [Problem(f"expected format {ANCHOR_FORMAT}")])
    signature = document.pop("signature", None)
    value = signature.get("value") if isinstance(signature, dict) else None
    if not isinstance(value, str) or not hmac.compare_digest(value, sign(key, document)):
        raise Invalid(
            "the digest's signature does not match",
            [Problem("The file was changed, or it was signed with another key than AUDIT_ANCHOR_KEY.")],
        )
    raw_chains = document.get("chains")
    chains: dict[str, tuple[int, str]] = {}
    if isinstance(raw_chains, dict):
        for chain, head in raw_chains.items():
            if isinstance(head, list) and len(head) == 2 and isinstance(head[0], int) and isinstance(head[1], str):
                chains[str(chain)] = (head[0], head[1])
    if not isinstance(raw_chains, dict) or len(chains) != len(raw_chains):
        raise Invalid("the digest's chains cannot be read", [Problem("each chain is [seq, hash]")])
    return Digest(str(document.get("anchored_on")), str(document.get("created")), chains)


def recent_anchors(session: Session, limit: int = 30) -> list[AuditAnchor]:
    return list(session.scalars(select(AuditAnchor).order_by(AuditAnchor.id.desc()).limit(limit)))
