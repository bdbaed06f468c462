"""The audit trail is a hash chain per instance: any edit, deletion or reordering of a stored event is detected."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from tests.fixtures.tampering import bypass_append_only
from workflows.audit import (
    GENESIS_HASH,
    SYSTEM_CHAIN,
    PendingEvent,
    append_event,
    append_events,
    check_events,
    instance_chain,
    verify_chains,
)
from workflows.models import AuditChain, AuditEvent


def _chain_with_events(session: Session, chain: str, count: int) -> list[AuditEvent]:
    append_events(
        session,
        chain,
        [PendingEvent("data_changed", {"n": i, "text": f"thay đổi {i}"}) for i in range(count)],
        actor=None,
    )
    session.commit()
    return list(session.scalars(select(AuditEvent).where(AuditEvent.chain_key == chain).order_by(AuditEvent.seq)))


def test_events_link_to_previous_hash_from_genesis(session: Session) -> None:
    events = _chain_with_events(session, "instance:1", 3)
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].prev_hash == GENESIS_HASH
    assert events[1].prev_hash == events[0].hash and events[2].prev_hash == events[1].hash
    head = session.get(AuditChain, "instance:1")
    assert head is not None and (head.last_seq, head.last_hash) == (3, events[2].hash)
    report = verify_chains(session)
    assert report.ok and report.chains == 1 and report.events == 3


def test_appends_continue_an_existing_chain(session: Session) -> None:
    _chain_with_events(session, SYSTEM_CHAIN, 2)
    append_event(session, SYSTEM_CHAIN, "process_deployed", {"process_id": "x"}, actor=None)
    session.commit()
    assert verify_chains(session).ok
    assert session.get(AuditChain, SYSTEM_CHAIN).last_seq == 3


def test_chains_are_independent(session: Session) -> None:
    _chain_with_events(session, instance_chain(1), 2)
    _chain_with_events(session, instance_chain(2), 2)
    bypass_append_only(session)
    session.execute(
        update(AuditEvent).where(AuditEvent.chain_key == "instance:2", AuditEvent.seq == 2).values(payload="{}")
    )
    session.commit()
    report = verify_chains(session)
    assert [b.chain_key for b in report.breaks] == ["instance:2"]
    assert verify_chains(session, "instance:1").ok


def test_altered_payload_is_named(session: Session) -> None:
    events = _chain_with_events(session, "instance:7", 4)
    bypass_append_only(session)
    session.execute(update(AuditEvent).where(AuditEvent.id == events[1].id).values(payload='{"n":99}'))
    session.commit()
    report = verify_chains(session)
    assert not report.ok
    (broken,) = report.breaks
    assert broken.event_id == events[1].id and broken.seq == 2
    assert "altered" in broken.reason


@pytest.mark.parametrize("column", ["actor_name", "event_type", "occurred_dt"])
def test_altered_header_is_detected(session: Session, column: str) -> None:
    events = _chain_with_events(session, "instance:8", 3)
    value = {
        "actor_name": "someone_else",
        "event_type": "task_completed",
        "occurred_dt": events[0].occurred_dt.replace(year=2000),
    }[column]
    bypass_append_only(session)
    session.execute(update(AuditEvent).where(AuditEvent.id == events[0].id).values({column: value}))
    session.commit()
    (broken,) = verify_chains(session).breaks
    assert broken.event_id == events[0].id


def test_deleted_middle_event_is_detected(session: Session) -> None:
    events = _chain_with_events(session, "instance:3", 4)
    bypass_append_only(session)
    session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": events[1].id})
    session.commit()
    (broken,) = verify_chains(session).breaks
    assert broken.seq == 3 and "deleted" in broken.reason


def test_deleted_last_event_is_detected_by_the_head(session: Session) -> None:
    events = _chain_with_events(session, "instance:4", 3)
    bypass_append_only(session)
    session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": events[2].id})
    session.commit()
    (broken,) = verify_chains(session).breaks
    assert "head records #3" in broken.explained


def test_deleting_a_whole_chain_is_detected(session: Session) -> None:
    _chain_with_events(session, "instance:5", 2)
    bypass_append_only(session)
    session.execute(text("DELETE FROM audit_events WHERE chain_key = 'instance:5'"))
    session.commit()
    (broken,) = verify_chains(session).breaks
    assert broken.chain_key == "instance:5" and "gone" in broken.reason


def test_swapped_events_are_detected(session: Session) -> None:
    events = _chain_with_events(session, "instance:6", 4)
    first, second = events[1], events[2]
    # Swap the contents of two rows (what a reordering by an attacker with SQL access looks like).
    bypass_append_only(session)
    for target, source in ((first.id, second), (second.id, first)):
        session.execute(
            update(AuditEvent)
            .where(AuditEvent.id == target)
            .values(payload=source.payload, hash=source.hash, prev_hash=source.prev_hash, seq=-target)
        )
    session.execute(update(AuditEvent).where(AuditEvent.id == first.id).values(seq=2))
    session.execute(update(AuditEvent).where(AuditEvent.id == second.id).values(seq=3))
    session.commit()
    (broken,) = verify_chains(session).breaks
    assert broken.seq == 2 and broken.event_id == first.id


def _page(session: Session, *ids: int) -> list[AuditEvent]:
    """Events as a page of the log holds them: read afresh, in the order asked."""
    session.expire_all()
    found = {e.id: e for e in session.scalars(select(AuditEvent).where(AuditEvent.id.in_(ids)))}
    return [found[event_id] for event_id in ids]


def test_rows_checked_alone_name_the_altered_one_and_the_one_after_a_rewritten_or_deleted_one(
    session: Session,
) -> None:
    """check_events (the log's page, decision 0079): each event against its hash and its predecessor's stored hash,
    whether or not the predecessor is among the events given."""
    events = _chain_with_events(session, "instance:9", 6)
    others = _chain_with_events(session, "instance:10", 2)
    ids = [e.id for e in events]
    assert check_events(session, _page(session, *ids)) == {}
    assert check_events(session, _page(session, ids[3], others[1].id, ids[1])) == {}

    bypass_append_only(session)
    # #2 edited in place; #4 given another hash (as a rewrite that recomputes it: #5's link no longer matches);
    # #3 deleted (#4's link has nothing to match).
    session.execute(update(AuditEvent).where(AuditEvent.id == ids[1]).values(payload='{"n":99}'))
    session.execute(update(AuditEvent).where(AuditEvent.id == ids[3]).values(hash="f" * 64))
    session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": ids[2]})
    session.commit()

    shown = _page(session, ids[4], ids[1], ids[0], others[1].id)  # newest first, another chain between
    broken = check_events(session, shown)
    assert sorted(broken) == sorted([ids[1], ids[4]])
    assert "altered" in broken[ids[1]].reason and broken[ids[1]].seq == 2
    assert "previous-hash link" in broken[ids[4]].reason
    # #4 itself: its content no longer matches the hash put on it; the deleted #3 shows at #4's link.
    alone = check_events(session, _page(session, ids[3]))
    assert list(alone) == [ids[3]] and "previous-hash link" in alone[ids[3]].reason


def test_canonical_payload_keeps_vietnamese_text(session: Session) -> None:
    events = _chain_with_events(session, "instance:9", 1)
    assert "thay đổi 0" in events[0].payload
