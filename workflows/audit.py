"""Tamper-evident audit trail: append-only events, one SHA-256 hash chain per instance (and one for the system).

hash(event) = SHA-256(previous hash ⏎ canonical header ⏎ canonical payload). Changing, deleting or reordering any
stored event breaks the recomputation from that event on; the chain head (audit_chains) also catches a cut tail.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Integer, String, Table, bindparam, insert, null, select, tuple_, union_all, update
from sqlalchemy.orm import Session

from workflows.clock import utcnow_naive
from workflows.errors import N_
from workflows.models import AuditChain, AuditEvent, ProcessInstance
from workflows.prepared import server_prepared
from workflows.registry.models import User

if TYPE_CHECKING:
    from workflows.engine.store import InstanceSnapshot

GENESIS_HASH = "0" * 64
_audit_events = cast(Table, AuditEvent.__table__)
SYSTEM_CHAIN = "system"
SYSTEM_ACTOR = "system"


def instance_chain(instance_id: int) -> str:
    return f"instance:{instance_id}"


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


# One encoder for every call: json.dumps with options builds a new encoder each time, which verify would pay
# once per event.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default)


def canonical_json(value: Any) -> str:
    return _CANONICAL.encode(value)


def compute_hash(
    *,
    prev_hash: str,
    chain_key: str,
    seq: int,
    event_type: str,
    instance_id: int | None,
    human_task_id: int | None,
    actor_id: int | None,
    actor_name: str,
    occurred_dt: datetime,
    payload: str,
) -> str:
    header = canonical_json(
        [chain_key, seq, event_type, instance_id, human_task_id, actor_id, actor_name, occurred_dt.isoformat()]
    )
    return hashlib.sha256(f"{prev_hash}\n{header}\n{payload}".encode()).hexdigest()


@dataclass
class PendingEvent:
    event_type: str
    payload: dict[str, Any] = field(default_factory=dict)
    human_task_id: int | None = None


def _chain_rows(
    chain_key: str,
    events: list[PendingEvent],
    *,
    actor: User | None,
    instance_id: int | None,
    seq: int,
    prev_hash: str,
) -> tuple[list[dict[str, Any]], int, str]:
    occurred = utcnow_naive()
    actor_id = actor.id if actor is not None else None
    actor_name = actor.username if actor is not None else SYSTEM_ACTOR
    rows = []
    for event in events:
        seq += 1
        payload = canonical_json(event.payload)
        digest = compute_hash(
            prev_hash=prev_hash,
            chain_key=chain_key,
            seq=seq,
            event_type=event.event_type,
            instance_id=instance_id,
            human_task_id=event.human_task_id,
            actor_id=actor_id,
            actor_name=actor_name,
            occurred_dt=occurred,
            payload=payload,
        )
        rows.append(
            {
                "chain_key": chain_key,
                "seq": seq,
                "instance_id": instance_id,
                "human_task_id": event.human_task_id,
                "event_type": event.event_type,
                "actor_id": actor_id,
                "actor_name": actor_name,
                "occurred_dt": occurred,
                "payload": payload,
                "prev_hash": prev_hash,
                "hash": digest,
            }
        )
        prev_hash = digest
    return rows, seq, prev_hash


def instance_audit_rows(
    instance: InstanceSnapshot, events: list[PendingEvent], *, actor: User | None
) -> tuple[list[dict[str, Any]], int, str]:
    """Rows continuing an instance's chain, and the new head (seq, hash) the caller saves on the instance row,
    which it holds locked: the instance row is the chain head, so no separate head row is read or written."""
    return _chain_rows(
        instance_chain(instance.id),
        events,
        actor=actor,
        instance_id=instance.id,
        seq=instance.audit_seq,
        prev_hash=instance.audit_head,
    )


# A chain kept in audit_chains (a cadre's, the system's) takes its head, its event and its new head in three
# statements, built once and prepared on the connection: a cadre's record changes and every notice of the system
# chain go through them (the grade a monthly evaluation decides among them, issue #9).
_CHAIN_HEAD = server_prepared(
    select(AuditChain.last_seq, AuditChain.last_hash)
    .where(AuditChain.chain_key == bindparam("chain_key"))
    .with_for_update()
)
_MOVE_HEAD = server_prepared(
    update(AuditChain)
    .where(AuditChain.chain_key == bindparam("key"))
    .values(last_seq=bindparam("new_seq"), last_hash=bindparam("new_hash"))
)
_NEW_HEAD = server_prepared(
    insert(AuditChain).values(
        chain_key=bindparam("key"), last_seq=bindparam("new_seq"), last_hash=bindparam("new_hash")
    )
)
_ONE_EVENT = server_prepared(insert(_audit_events))


def insert_audit_rows(session: Session, rows: list[dict[str, Any]]) -> None:
    if len(rows) == 1:
        session.connection().execute(_ONE_EVENT, rows[0])  # one row: a prepared statement (several: executemany)
    elif rows:
        session.connection().execute(insert(_audit_events), rows)


def append_events(
    session: Session,
    chain_key: str,
    events: Iterable[PendingEvent],
    *,
    actor: User | None,
    instance_id: int | None = None,
) -> int:
    """Append to a chain whose head lives in audit_chains (the system chain); returns how many were written."""
    pending = list(events)
    if not pending:
        return 0
    head = session.execute(_CHAIN_HEAD, {"chain_key": chain_key}).first()
    rows, seq, last_hash = _chain_rows(
        chain_key,
        pending,
        actor=actor,
        instance_id=instance_id,
        seq=head.last_seq if head else 0,
        prev_hash=head.last_hash if head else GENESIS_HASH,
    )
    insert_audit_rows(session, rows)
    moved = {"key": chain_key, "new_seq": seq, "new_hash": last_hash}
    session.execute(_MOVE_HEAD if head else _NEW_HEAD, moved)
    return len(rows)


def append_event(
    session: Session,
    chain_key: str,
    event_type: str,
    payload: dict[str, Any],
    *,
    actor: User | None,
    instance_id: int | None = None,
    human_task_id: int | None = None,
) -> None:
    append_events(
        session, chain_key, [PendingEvent(event_type, payload, human_task_id)], actor=actor, instance_id=instance_id
    )


@dataclass(frozen=True)
class ChainBreak:
    chain_key: str
    seq: int | None
    event_id: int | None
    # One of the reasons below, in English (the CLI and the API say it so); pages translate it, then fill in
    # `reason_args`.
    reason: str
    # The chain's events and its head disagree on where it ends (or the head is missing): what an advance committed
    # between reading the one and the other also looks like (see verify_chains).
    head_mismatch: bool = False
    reason_args: dict[str, int] = field(default_factory=dict)

    @property
    def explained(self) -> str:
        return self.reason % self.reason_args

    def __str__(self) -> str:
        where = f"event id {self.event_id} (#{self.seq})" if self.event_id is not None else f"#{self.seq}"
        return f"chain {self.chain_key}, {where}: {self.explained}"


ANCHOR_BEYOND_END = N_("the anchored digest records #%(anchored)s, the chain ends sooner")
HEAD_MISSING = N_("chain head missing")
HEAD_ELSEWHERE = N_("events end at #%(last)s but the head records #%(head)s")
SEQ_GAP = N_("expected #%(expected)s, found #%(found)s (an event was deleted or reordered)")
LINK_BROKEN = N_("previous-hash link does not match (an event was deleted, inserted or reordered)")
ALTERED = N_("content does not match its hash (the event was altered)")
NOT_ANCHORED = N_("differs from the anchored digest (the chain was rewritten)")
EVENTS_GONE = N_("chain head exists but all its events are gone")
ANCHORED_CHAIN_GONE = N_("in the anchored digest but gone")


@dataclass
class VerifyReport:
    chains: int = 0
    events: int = 0
    breaks: list[ChainBreak] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks


# Plain column tuples, not ORM objects: verify reads every event, and entity construction would cost more than the
# hashing (the target is 50,000 events/s, bench/audit.py).
_VERIFY_COLUMNS = (
    AuditEvent.chain_key,
    AuditEvent.seq,
    AuditEvent.id,
    AuditEvent.event_type,
    AuditEvent.instance_id,
    AuditEvent.human_task_id,
    AuditEvent.actor_id,
    AuditEvent.actor_name,
    AuditEvent.occurred_dt,
    AuditEvent.payload,
    AuditEvent.prev_hash,
    AuditEvent.hash,
)


# A chain whose head records at most this many events is read in one statement; longer ones, and the whole log,
# through a server-side cursor a batch at a time.
READ_WHOLE_UP_TO = 5000


def _verify_row(event: AuditEvent) -> tuple[Any, ...]:
    return tuple(getattr(event, column.key) for column in _VERIFY_COLUMNS)


def _events_in_order(session: Session, chain_key: str | None, *, expected: int | None = None) -> Iterator[Any]:
    """`expected`: the events the chain's head records, when one chain is read."""
    query = select(*_VERIFY_COLUMNS).order_by(AuditEvent.chain_key, AuditEvent.seq)
    if chain_key is not None:
        query = query.where(AuditEvent.chain_key == chain_key)
    if expected is not None and expected <= READ_WHOLE_UP_TO:
        # A server-side cursor costs a DECLARE, a FETCH per batch and a CLOSE: four round trips more for an
        # instance's few dozen events on every history page (issue #9). One row past the head is enough to know
        # whether the chain holds more than it should; only then is it read the long way.
        rows = session.connection().execute(query.limit(expected + 1)).all()
        if len(rows) <= expected:
            yield from rows
            return
    # Core rows fetched a batch at a time, not the ORM's result processing: a third of the time per row.
    result = session.connection().execute(query.execution_options(yield_per=5000))
    for batch in result.partitions():
        yield from batch


def chain_heads(session: Session, chain_key: str | None) -> dict[str, tuple[int, str]]:
    """Every chain's head (seq, hash), or one chain's: the heads of audit_chains and those kept on the instances,
    in one statement."""
    chains = select(
        AuditChain.chain_key, AuditChain.last_seq, AuditChain.last_hash, null().cast(Integer).label("instance_id")
    )
    no_key = null().cast(String).label("chain_key")
    instances = select(no_key, ProcessInstance.audit_seq, ProcessInstance.audit_head, ProcessInstance.id).where(
        ProcessInstance.audit_seq > 0
    )
    if chain_key is not None:
        chains = chains.where(AuditChain.chain_key == chain_key)
        instance_id = int(chain_key.split(":", 1)[1]) if chain_key.startswith("instance:") else -1
        instances = instances.where(ProcessInstance.id == instance_id)
    heads: dict[str, tuple[int, str]] = {}
    kept_on_instances: dict[str, tuple[int, str]] = {}
    # One chain's heads are read by every history page: prepared (the text is the same for every chain).
    statement = union_all(chains, instances)
    if chain_key is not None:
        statement = server_prepared(statement)
    for key, seq, digest, instance_id in session.execute(statement):
        if instance_id is None:
            heads[key] = (seq, digest)
        else:
            kept_on_instances[instance_chain(instance_id)] = (seq, digest)
    heads.update(kept_on_instances)  # an instance's own head is the one its advances write
    return heads


# The heads and the events of the chains are read by separate statements; under PostgreSQL's READ COMMITTED an
# advance committed between them (every completion appends to its instance's chain) makes a sound chain's events
# and head disagree. A chain found so is read again on its own before its break is reported — a live chain moves
# on between two reads only by chance, a tampered one disagrees every time.
REREADS_OF_A_MOVED_CHAIN = 3


def verify_chains(
    session: Session,
    chain_key: str | None = None,
    *,
    anchored: dict[str, tuple[int, str]] | None = None,
    events: list[AuditEvent] | None = None,
) -> VerifyReport:
    """Recompute every chain (or one). Reports the first broken event of each broken chain.

    `anchored` (chain → (seq, hash), from a signed digest kept off the server) also checks that each chain still
    holds the anchored event: a chain rewritten consistently from its first event on, head included, verifies on its
    own but no longer passes through the anchored hash.
    `events`: the one chain's events, already read by the caller in seq order (the history page shows them), so as
    not to read them twice; a chain that seems to have moved is read again from the database all the same."""
    if events is not None and chain_key is None:
        raise ValueError("events are given for one chain")
    rows = None if events is None else [_verify_row(event) for event in events if event.chain_key == chain_key]
    report = _verify(session, chain_key, anchored, rows)
    moved = {chain_break.chain_key for chain_break in report.breaks if chain_break.head_mismatch}
    if not moved:
        return report
    reread: dict[str, list[ChainBreak]] = {}
    for key in sorted(moved):
        for _attempt in range(REREADS_OF_A_MOVED_CHAIN):
            breaks = _verify(session, key, anchored).breaks
            if not any(chain_break.head_mismatch for chain_break in breaks):
                break
        reread[key] = breaks
    kept = [chain_break for chain_break in report.breaks if chain_break.chain_key not in moved]
    report.breaks = kept + [chain_break for key in sorted(moved) for chain_break in reread[key]]
    return report


def _verify(
    session: Session,
    chain_key: str | None,
    anchored: dict[str, tuple[int, str]] | None,
    rows: list[tuple[Any, ...]] | None = None,
) -> VerifyReport:
    report = VerifyReport()
    heads = chain_heads(session, chain_key)
    anchors = anchored or {}

    current: str | None = None
    expected_seq, prev_hash, broken = 0, GENESIS_HASH, False
    anchor: tuple[int, str] | None = None
    seen: set[str] = set()

    def close_chain() -> None:
        if current is None or broken:
            return
        if anchor is not None and anchor[0] > expected_seq:
            report.breaks.append(
                ChainBreak(current, anchor[0], None, ANCHOR_BEYOND_END, reason_args={"anchored": anchor[0]})
            )
            return
        head = heads.get(current)
        if head is None:
            report.breaks.append(ChainBreak(current, expected_seq, None, HEAD_MISSING, head_mismatch=True))
        elif head != (expected_seq, prev_hash):
            found = {"last": expected_seq, "head": head[0]}
            report.breaks.append(ChainBreak(current, head[0], None, HEAD_ELSEWHERE, True, found))

    sha256 = hashlib.sha256
    expected = heads.get(chain_key, (0, ""))[0] if chain_key is not None else None
    for row in _events_in_order(session, chain_key, expected=expected) if rows is None else rows:
        key, seq, event_id, event_type, instance_id, task_id, actor_id, actor, occurred, payload, prev, digest = row
        if key != current:
            close_chain()
            current, expected_seq, prev_hash, broken = key, 0, GENESIS_HASH, False
            anchor = anchors.get(key)
            seen.add(key)
            report.chains += 1
        report.events += 1
        if broken:
            continue
        expected_seq += 1
        reason, reason_args = None, {}
        if seq != expected_seq:
            reason, reason_args = SEQ_GAP, {"expected": expected_seq, "found": seq}
        elif prev != prev_hash:
            reason = LINK_BROKEN
        else:
            # compute_hash, inlined: this loop is the whole cost of a verify.
            header = canonical_json([key, seq, event_type, instance_id, task_id, actor_id, actor, occurred.isoformat()])
            if sha256(f"{prev}\n{header}\n{payload}".encode()).hexdigest() != digest:
                reason = ALTERED
            elif anchor is not None and anchor[0] == seq and anchor[1] != digest:
                reason = NOT_ANCHORED
        if reason:
            report.breaks.append(ChainBreak(key, seq, event_id, reason, reason_args=reason_args))
            broken = True
            continue
        prev_hash = digest
    close_chain()
    for missing in sorted(set(heads) - seen):
        report.chains += 1
        report.breaks.append(ChainBreak(missing, 1, None, EVENTS_GONE))
    if chain_key is None:
        for lost in sorted(set(anchors) - seen - set(heads)):
            report.chains += 1
            report.breaks.append(ChainBreak(lost, anchors[lost][0], None, ANCHORED_CHAIN_GONE))
    return report


def check_events(session: Session, events: Sequence[AuditEvent]) -> dict[int, ChainBreak]:
    """Each of these events checked on its own, as a page of the log shows them (decision 0079): its stored content
    against its hash, and its previous-hash link against the hash stored on the event before it in its chain (the
    genesis for #1). The events found broken, by id, with the same reasons as `verify_chains` — an altered event, or
    the link to it broken when its predecessor was altered with its hash recomputed, deleted or reordered.

    One statement reads the hashes of the predecessors that are not among `events` (none when they all are), so the
    cost does not grow with the page. What only the whole chain shows — a tail cut off (its head), a chain rewritten
    whole (an anchored digest) — is `verify_chains`' to find."""
    shown = {(event.chain_key, event.seq): event.hash for event in events}
    wanted = {(event.chain_key, event.seq - 1) for event in events if event.seq > 1} - shown.keys()
    before = dict(shown)
    if wanted:
        rows = session.execute(
            select(AuditEvent.chain_key, AuditEvent.seq, AuditEvent.hash).where(
                tuple_(AuditEvent.chain_key, AuditEvent.seq).in_(sorted(wanted))
            )
        )
        before.update({(key, seq): digest for key, seq, digest in rows})
    broken: dict[int, ChainBreak] = {}
    for event in events:
        expected_prev = GENESIS_HASH if event.seq == 1 else before.get((event.chain_key, event.seq - 1))
        reason = None
        if event.prev_hash != expected_prev:
            reason = LINK_BROKEN
        elif (
            compute_hash(
                prev_hash=event.prev_hash,
                chain_key=event.chain_key,
                seq=event.seq,
                event_type=event.event_type,
                instance_id=event.instance_id,
                human_task_id=event.human_task_id,
                actor_id=event.actor_id,
                actor_name=event.actor_name,
                occurred_dt=event.occurred_dt,
                payload=event.payload,
            )
            != event.hash
        ):
            reason = ALTERED
        if reason is not None:
            broken[event.id] = ChainBreak(event.chain_key, event.seq, event.id, reason)
    return broken
