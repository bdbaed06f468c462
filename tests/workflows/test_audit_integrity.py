"""Proving the record was not rewritten: tampering caught by the chains, a whole chain rewritten caught by a signed
anchor digest kept off the server, the PostgreSQL triggers, and an instance export verified offline."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, event, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.inspection import build_story
from tests.fixtures.statements import statement_behind
from tests.fixtures.tampering import bypass_append_only
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows.audit import GENESIS_HASH, compute_hash, instance_chain, verify_chains
from workflows.db import transaction
from workflows.errors import Invalid
from workflows.inspection import signing
from workflows.inspection.anchors import build_digest, key_id, read_digest, sign, write_anchor, write_daily_anchor
from workflows.inspection.exporting import (
    EXPORT_FORMAT,
    UNSIGNED_FORMAT,
    WORDED_FORMAT,
    SignatureCheck,
    document_hash,
    dumps_export,
    export_instance,
    render_export_html,
    verify_export,
)
from workflows.inspection.notes import add_note
from workflows.inspection.signing import TrustedKey
from workflows.models import AuditAnchor, AuditEvent, ProcessInstance, RecordView
from workflows.registry.models import User

KEY = b"k" * 32  # the audit key (HMAC) the anchors and the kept files of formats 2 and 3 are signed with
SIGNING_KEY = signing.new_private_key()  # the server's export signing key (Ed25519, decision 0077)
TRUSTED = [TrustedKey(SIGNING_KEY.public_key(), "current", is_current=True)]


def _rewrite_chain(session: Session, chain_key: str, new_payload: str) -> None:
    """What an attacker holding the whole database does: change the first event, then recompute every hash after
    it and the head, so the chain verifies on its own."""
    bypass_append_only(session)
    events = list(session.scalars(select(AuditEvent).where(AuditEvent.chain_key == chain_key).order_by(AuditEvent.seq)))
    prev = GENESIS_HASH
    for index, stored in enumerate(events):
        payload = new_payload if index == 0 else stored.payload
        digest = compute_hash(
            prev_hash=prev,
            chain_key=stored.chain_key,
            seq=stored.seq,
            event_type=stored.event_type,
            instance_id=stored.instance_id,
            human_task_id=stored.human_task_id,
            actor_id=stored.actor_id,
            actor_name=stored.actor_name,
            occurred_dt=stored.occurred_dt,
            payload=payload,
        )
        session.execute(
            update(AuditEvent).where(AuditEvent.id == stored.id).values(payload=payload, prev_hash=prev, hash=digest)
        )
        prev = digest
    instance_id = int(chain_key.split(":")[1])
    session.execute(
        update(ProcessInstance)
        .where(ProcessInstance.id == instance_id)
        .values(audit_head=prev, lock_version=ProcessInstance.lock_version + 1)
    )
    session.commit()


def test_a_whole_chain_rewritten_is_caught_only_by_the_anchored_digest(driver: WorkflowDriver) -> None:
    story = build_story(driver)
    chain = instance_chain(story["eventful"])
    with driver.session_factory() as s, s.begin():
        anchor = write_anchor(s, key=KEY, anchored_on=date(2026, 11, 7))
        document = anchor.document
    with driver.session_factory() as s:
        _rewrite_chain(s, chain, '{"process_id":"sample_approval","version":99}')
        assert verify_chains(s).ok  # consistent on its own: the chains alone cannot tell
        digest = read_digest(document, key=KEY)
        report = verify_chains(s, anchored=digest.chains)
        assert [b.chain_key for b in report.breaks] == [chain]
        assert "anchored digest" in report.breaks[0].reason
        # The chains the attacker left alone still pass through their anchored hashes.
        assert verify_chains(s, instance_chain(story["completed"]), anchored=digest.chains).ok


def test_a_chain_cut_below_its_anchor_or_removed_is_caught(driver: WorkflowDriver) -> None:
    story = build_story(driver)
    with driver.session_factory() as s, s.begin():
        digest = read_digest(write_anchor(s, key=KEY).document, key=KEY)
    chain = instance_chain(story["completed"])
    with driver.session_factory() as s:
        bypass_append_only(s)
        s.execute(delete(AuditEvent).where(AuditEvent.chain_key == chain))
        s.execute(update(ProcessInstance).where(ProcessInstance.id == story["completed"]).values(audit_seq=0))
        s.commit()
        assert verify_chains(s).ok  # the instance now looks like one that never had events
        (broken,) = verify_chains(s, anchored=digest.chains).breaks
        assert broken.chain_key == chain and "gone" in broken.reason


def test_a_digest_edited_or_signed_with_another_key_is_refused(driver: WorkflowDriver) -> None:
    build_story(driver)
    with driver.session_factory() as s, s.begin():
        document = write_anchor(s, key=KEY).document
    edited = json.loads(document)
    first = next(iter(edited["chains"]))
    edited["chains"][first][1] = "f" * 64
    with pytest.raises(Invalid, match="signature"):
        read_digest(json.dumps(edited), key=KEY)
    with pytest.raises(Invalid, match="signature"):
        read_digest(document, key=b"another key of 32 bytes........")
    with pytest.raises(Invalid, match="not an audit anchor"):
        read_digest('{"format": "something"}', key=KEY)
    with pytest.raises(Invalid, match="too short"):
        build_digest({}, key=b"short", anchored_on=date(2026, 11, 7))


def test_the_worker_writes_one_anchor_a_day(driver: WorkflowDriver) -> None:
    build_story(driver)
    factory = driver.session_factory
    first = write_daily_anchor(factory, key=KEY, today=date(2026, 11, 7))
    assert first is not None and first.chains >= 3 and first.events > 15
    assert write_daily_anchor(factory, key=KEY, today=date(2026, 11, 7)) is None
    assert write_daily_anchor(factory, key=KEY, today=date(2026, 11, 8)) is not None
    with factory() as s:
        assert s.scalars(select(AuditAnchor.anchored_on).order_by(AuditAnchor.id)).all() == [
            "2026-11-07",
            "2026-11-08",
        ]


# -- the database refuses ---------------------------------------------------------------------------------------


def _is_postgres(factory: sessionmaker[Session]) -> bool:
    with factory() as s:
        return s.get_bind().dialect.name == "postgresql"


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET payload = '{}' WHERE id = (SELECT min(id) FROM audit_events)",
        "DELETE FROM audit_events WHERE id = (SELECT max(id) FROM audit_events)",
        "UPDATE record_views SET viewer_name = 'someone'",
        "DELETE FROM record_views",
        "DELETE FROM process_instances WHERE id = (SELECT min(id) FROM process_instances)",
    ],
)
def test_postgresql_refuses_changes_to_the_audit_tables(driver: WorkflowDriver, statement: str) -> None:
    if not _is_postgres(driver.session_factory):
        pytest.skip("the append-only triggers are PostgreSQL's (SQLite has no database users to keep out)")
    story = build_story(driver)
    with driver.session_factory() as s, s.begin():
        auditor = s.scalars(select(User).where(User.username == "auditor1")).one()
        s.add(RecordView(viewer_id=auditor.id, viewer_name="auditor1", object_kind="instance", object_id=1))
    with driver.session_factory() as s:
        before = s.scalar(select(AuditEvent.payload).order_by(AuditEvent.id).limit(1))
        with pytest.raises(DBAPIError, match="append-only"):
            s.execute(text(statement))
        s.rollback()
        assert s.scalar(select(AuditEvent.payload).order_by(AuditEvent.id).limit(1)) == before
        assert s.get(ProcessInstance, story["eventful"]) is not None
        assert verify_chains(s).ok


# -- the export -------------------------------------------------------------------------------------------------


def _export(driver: WorkflowDriver, instance_id: int) -> dict:
    with driver.session_factory() as s:
        auditor = s.scalars(select(User).where(User.username == "auditor1")).one()
        instance = s.get(ProcessInstance, instance_id)
        assert instance is not None
        return export_instance(s, instance, exported_by=auditor, signing_key=SIGNING_KEY)


@pytest.mark.parametrize("render", [dumps_export, render_export_html], ids=["json", "html"])
def test_an_export_verifies_offline_and_fails_after_any_one_byte_change(driver: WorkflowDriver, render) -> None:  # type: ignore[no-untyped-def]
    story = build_story(driver)
    document = _export(driver, story["eventful"])
    assert {e["event_type"] for e in document["events"]} >= {"ballot_closed", "inspection_note"}
    assert document["ballots"][0]["tally"]["candidates"][0]["yes"] == 2
    assert '"contents"' not in dumps_export(document)  # tallies only, never what a ballot marked
    data = render(document).encode()
    assert document["format"] == EXPORT_FORMAT and document["signature"]["algorithm"] == "Ed25519"
    report = verify_export(data, trusted=TRUSTED)
    assert report.ok, report.explained
    assert report.events == len(document["events"]) > 15
    assert report.signature is SignatureCheck.VALID and report.signed_by == TRUSTED[0]
    keyless = verify_export(data)
    assert keyless.ok and keyless.signature is SignatureCheck.NOT_CHECKED and keyless.signed_key_id

    # A change of one byte anywhere fails: in an event, in the metadata, in the layout.
    for needle in (
        b"Xin ngh",
        b"sample_approval",
        b"supervisor1",
        b"  ",
        b"</td>" if render is render_export_html else b"\n",
    ):
        position = data.find(needle)
        assert position >= 0, needle
        for changed in (
            data[:position] + bytes([data[position] ^ 1]) + data[position + 1 :],
            data[:position] + data[position + 1 :],
        ):
            assert not verify_export(changed).ok, needle

    # A byte that breaks the JSON's syntax or a character's UTF-8 is an export damaged, never another file picked.
    opening = data.find(b"{", data.find(b'id="canbo-export">') + 1 if render is render_export_html else 0)
    first_multibyte = next(i for i, byte in enumerate(data) if byte >= 0xC0)
    for damaged, said in (
        (data[:opening] + b"[" + data[opening + 1 :], "the embedded JSON cannot be read"),
        (data[:first_multibyte] + b"\xff" + data[first_multibyte + 1 :], "the file is not UTF-8 text"),
    ):
        report = verify_export(damaged)
        assert report.is_export and not report.ok and said in report.explained[0], report.explained
    for other_file in (b'{"a": 1', b"<html><body>a page</body></html>", "Lịch sử".encode("utf-16")):
        assert not verify_export(other_file).is_export


def _resealed(document: dict) -> bytes:
    """What someone editing the file does beyond the chain: change a part, then recompute the document's SHA-256,
    which needs no key."""
    document["document_sha256"] = document_hash(document)
    return dumps_export(document).encode()


def test_a_forged_tally_or_status_fails_even_without_the_key(driver: WorkflowDriver) -> None:
    """The parts beside the chain are held against what the chain records (decision 0049): a tally turned around,
    a cancelled procedure shown as completed, another model version — each with the document hash recomputed."""
    story = build_story(driver)
    forged = _export(driver, story["eventful"])
    candidate = forged["ballots"][0]["tally"]["candidates"][0]
    candidate["yes"], candidate["no"] = candidate.get("no", 0), candidate["yes"]
    report = verify_export(_resealed(forged))
    assert not report.ok and any("ballot results differ" in problem for problem in report.explained)

    dropped = _export(driver, story["eventful"])
    dropped["ballots"] = []
    assert any("ballot results differ" in problem for problem in verify_export(_resealed(dropped)).explained)

    cancelled = _export(driver, story["eventful"])
    assert cancelled["instance"]["status"] == "cancelled"
    cancelled["instance"]["status"] = "completed"
    assert any("the chain records cancelled" in p for p in verify_export(_resealed(cancelled)).explained)
    reason = _export(driver, story["eventful"])
    reason["instance"]["cancel_reason"] = "Theo đề nghị của cán bộ"
    assert any("reason for cancelling" in p for p in verify_export(_resealed(reason)).explained)

    model = _export(driver, story["completed"])
    model["model"]["version"] += 1
    assert any("version differs" in p for p in verify_export(_resealed(model)).explained)
    foreign = _export(driver, story["completed"])
    foreign["instance"]["id"] = story["eventful"]
    assert any("belongs to instance:" in p for p in verify_export(_resealed(foreign)).explained)


def test_what_the_chain_does_not_record_is_proven_by_the_signature(driver: WorkflowDriver) -> None:
    """A comment or a name is not in the chain: without a public key such a change is not caught — and the report
    says the signature was not checked —, with the server's public key it is; a key the verifier does not trust
    proves nothing, whatever the file says about it (decision 0077)."""
    story = build_story(driver)
    document = _export(driver, story["eventful"])
    document["exported_by"] = "someone_else"
    data = _resealed(document)
    unchecked = verify_export(data)
    assert unchecked.ok and unchecked.signature is SignatureCheck.NOT_CHECKED
    altered = verify_export(data, trusted=TRUSTED)
    assert not altered.ok and altered.signature is SignatureCheck.ALTERED
    assert verify_export(data, key=KEY).signature is SignatureCheck.NOT_CHECKED  # the audit key checks no format 4

    intact = dumps_export(_export(driver, story["eventful"])).encode()
    other = verify_export(intact, trusted=[TrustedKey(signing.new_private_key().public_key(), "other.pem")])
    assert other.signature is SignatureCheck.UNKNOWN_KEY and not other.ok
    assert any(signing.readable_fingerprint(TRUSTED[0].fingerprint) in problem for problem in other.explained)

    # Someone with a key of their own signs a forged file: it names their key, which nobody trusts.
    forger = signing.new_private_key()
    document["signature"] = {
        "algorithm": "Ed25519",
        "key_id": signing.fingerprint(forger.public_key()),
        "value": signing.sign(forger, {k: v for k, v in document.items() if k != "signature"}),
    }
    forged = verify_export(dumps_export(document).encode(), trusted=TRUSTED)
    assert forged.signature is SignatureCheck.UNKNOWN_KEY and not forged.ok
    # ... or names the server's key beside a signature of their own: it does not verify under the trusted key.
    document["signature"]["key_id"] = TRUSTED[0].fingerprint
    assert verify_export(dumps_export(document).encode(), trusted=TRUSTED).signature is SignatureCheck.ALTERED
    # ... or signs it with the audit key everyone who checks older files holds: not the kind format 4 is signed with.
    document["signature"] = {"algorithm": "HMAC-SHA256", "key_id": key_id(KEY), "value": sign(KEY, document)}
    downgraded = verify_export(dumps_export(document).encode(), key=KEY, trusted=TRUSTED)
    assert downgraded.signature is SignatureCheck.ALTERED and not downgraded.ok

    stripped = _export(driver, story["eventful"])
    del stripped["signature"]
    report = verify_export(_resealed(stripped), trusted=TRUSTED)
    assert report.signature is SignatureCheck.MISSING and not report.ok


def test_a_file_signed_before_a_key_rotation_verifies_with_the_retired_key(driver: WorkflowDriver) -> None:
    story = build_story(driver)
    data = render_export_html(_export(driver, story["completed"])).encode()
    rotated = [
        TrustedKey(signing.new_private_key().public_key(), "current", is_current=True),
        TrustedKey(SIGNING_KEY.public_key(), "export-key-2026.pem"),
    ]
    report = verify_export(data, trusted=rotated)
    assert report.ok and report.signature is SignatureCheck.VALID, report.explained
    assert report.signed_by is not None and report.signed_by.source == "export-key-2026.pem"
    assert not report.signed_by.is_current
    assert verify_export(data, trusted=rotated[:1]).signature is SignatureCheck.UNKNOWN_KEY  # the old key dropped


def test_an_audit_key_signed_file_is_still_checked_with_the_audit_key() -> None:
    """Formats 2 and 3 keep their HMAC check (decision 0049): altered, and signed under another audit key."""
    document = json.loads((EXPORTS / "format-3.json").read_bytes())
    assert document["format"] == WORDED_FORMAT
    assert verify_export(dumps_export(document).encode(), trusted=TRUSTED).signature is SignatureCheck.NOT_CHECKED
    other = verify_export(dumps_export(document).encode(), key=b"o" * 32)
    assert other.signature is SignatureCheck.OTHER_KEY and not other.ok
    document["exported_by"] = "someone_else"
    altered = verify_export(_resealed(document), key=KEY)
    assert altered.signature is SignatureCheck.ALTERED and not altered.ok


@pytest.mark.parametrize("render", [dumps_export, render_export_html], ids=["json", "html"])
def test_an_export_made_before_exports_were_signed_still_verifies(driver: WorkflowDriver, render) -> None:  # type: ignore[no-untyped-def]
    story = build_story(driver)
    document = _export(driver, story["eventful"])
    del document["signature"]
    document["format"] = UNSIGNED_FORMAT
    document["document_sha256"] = document_hash(document)
    data = render(document).encode()
    assert "Chữ ký" not in data.decode()  # the readable part as format 1 wrote it
    report = verify_export(data, key=KEY, trusted=TRUSTED)
    assert report.ok, report.explained
    assert report.signature is SignatureCheck.UNSIGNED


EXPORTS = Path(__file__).parent / "exports"


@pytest.mark.parametrize("name", ["format-1.html", "format-2.html", "format-2.json", "format-3.html", "format-3.json"])
def test_files_of_the_earlier_formats_still_verify_byte_for_byte(name: str) -> None:
    """Files written before the readable part was worded (decision 0075) and before exports were signed with a
    public key (decision 0077), kept as they were exported: they verify, and their HTML re-renders to exactly their
    bytes — the readable part they were signed with, not today's."""
    data = (EXPORTS / name).read_bytes()
    report = verify_export(data, key=KEY)
    assert report.ok, report.explained
    assert report.signature is (SignatureCheck.UNSIGNED if name.startswith("format-1") else SignatureCheck.VALID)
    if name == "format-3.html":
        embedded = re.search(rb'id="canbo-export">(.*?)</script>', data, re.DOTALL)
        assert embedded is not None
        assert render_export_html(json.loads(embedded.group(1))).encode() == data
        assert "Chi tiết kỹ thuật".encode() in data
    elif name.endswith(".html"):
        embedded = re.search(rb'id="canbo-export">(.*?)</script>', data, re.DOTALL)
        assert embedded is not None
        document = json.loads(embedded.group(1))
        assert "readable" not in document and render_export_html(document).encode() == data
        assert b"<td>task_opened</td>" in data and b"Chi ti\xe1\xba\xbft k\xe1\xbb\xb9 thu\xe1\xba\xadt" not in data
    position = data.find(b"supervisor1")
    assert not verify_export(data[:position] + b"S" + data[position + 1 :], key=KEY).ok


def test_a_file_of_this_format_without_its_readable_words_has_the_technical_part_only(
    driver: WorkflowDriver,
) -> None:
    story = build_story(driver)
    document = _export(driver, story["completed"])
    assert document["format"] == EXPORT_FORMAT and document["readable"] is None
    html = render_export_html(document)
    assert "Diễn biến" not in html and "Chi tiết kỹ thuật" in html
    assert verify_export(html.encode(), trusted=TRUSTED).ok


def test_an_export_names_what_was_altered(driver: WorkflowDriver) -> None:
    story = build_story(driver)
    document = _export(driver, story["completed"])
    document["events"][1]["actor_name"] = "someone"
    report = verify_export(dumps_export(document).encode(), trusted=TRUSTED)
    assert any("event #2" in problem and "altered" in problem for problem in report.explained)
    document = _export(driver, story["completed"])
    del document["events"][2]
    report = verify_export(dumps_export(document).encode())
    assert any("event #4" in problem for problem in report.explained)
    assert not verify_export(b"\xff\xfe").ok and not verify_export(b"<html></html>").ok
    assert datetime.fromisoformat(document["events"][0]["occurred"])  # times are ISO, as hashed


def test_a_chain_moving_on_while_it_is_verified_is_not_reported_broken(driver: WorkflowDriver, db_engine) -> None:  # type: ignore[no-untyped-def]
    """Inspectors verify while procedures go on. An event committed between the reading of a chain's head and of
    its events (PostgreSQL reads each statement at its own moment) is the chain moving on, not a break — for one
    chain (the history page) as for all of them (`canbo audit verify`)."""
    if not _is_postgres(driver.session_factory):
        pytest.skip("on SQLite a verify holds the write lock from its first statement: nothing commits during it")
    instance_id = build_story(driver)["completed"]
    appended: list[str] = []

    def note_after_the_heads_are_read(_conn, _cursor, statement: str, *_args) -> None:  # type: ignore[no-untyped-def]
        statement = statement_behind(statement)  # one chain's heads are read by a prepared statement
        if appended or "process_instances.audit_head" not in statement or "audit_chains" not in statement:
            return
        appended.append(statement)
        with driver.session_factory() as other, transaction(other):
            auditor = other.scalars(select(User).where(User.username == "auditor1")).one()
            add_note(other, auditor, instance_id, "Ghi chú trong lúc kiểm tra")

    event.listen(db_engine, "after_cursor_execute", note_after_the_heads_are_read)
    try:
        with driver.session_factory() as s:
            one = verify_chains(s, instance_chain(instance_id))
        assert len(appended) == 1
        appended.clear()
        with driver.session_factory() as s:
            every = verify_chains(s)
        assert len(appended) == 1
    finally:
        event.remove(db_engine, "after_cursor_execute", note_after_the_heads_are_read)
    assert one.ok, one.breaks
    assert every.ok, every.breaks
    with driver.session_factory() as s:
        assert s.get(ProcessInstance, instance_id).audit_seq == one.events + 1  # the second note  # type: ignore[union-attr]


def test_a_chain_whose_head_disagrees_every_time_is_reported(driver: WorkflowDriver) -> None:
    """Reading a chain again forgives only a chain that moved on: a head that does not match its events on every
    reading is a break."""
    instance_id = build_story(driver)["completed"]
    with driver.session_factory() as s:
        bypass_append_only(s)
        s.execute(
            update(ProcessInstance)
            .where(ProcessInstance.id == instance_id)
            .values(audit_seq=ProcessInstance.audit_seq + 1, lock_version=ProcessInstance.lock_version + 1)
        )
        s.commit()
    with driver.session_factory() as s:
        one = verify_chains(s, instance_chain(instance_id))
        every = verify_chains(s)
    assert [(b.chain_key, b.head_mismatch) for b in one.breaks] == [(instance_chain(instance_id), True)]
    assert [b.chain_key for b in every.breaks] == [instance_chain(instance_id)]


def test_a_file_of_the_current_format_verifies_byte_for_byte_with_the_public_key_alone() -> None:
    """A format-4 file kept as exported, with the public key of the (discarded) key that signed it: the committee's
    situation — no database, no secret; only that key proves the signature (decision 0077)."""
    public_key = signing.load_public_key((EXPORTS / "format-4-public-key.pem").read_bytes())
    trusted = [TrustedKey(public_key, "format-4-public-key.pem")]
    for name in ("format-4.html", "format-4.json"):
        data = (EXPORTS / name).read_bytes()
        report = verify_export(data, trusted=trusted)
        assert report.ok and report.signature is SignatureCheck.VALID, report.explained
        assert report.signed_key_id == signing.fingerprint(public_key)
        assert verify_export(data).signature is SignatureCheck.NOT_CHECKED
        assert verify_export(data, key=KEY).signature is SignatureCheck.NOT_CHECKED
        unknown = verify_export(data, trusted=TRUSTED)
        assert unknown.signature is SignatureCheck.UNKNOWN_KEY and not unknown.ok
        position = data.find(b"supervisor1")
        assert not verify_export(data[:position] + b"S" + data[position + 1 :], trusted=trusted).ok
    html = (EXPORTS / "format-4.html").read_bytes()
    embedded = re.search(rb'id="canbo-export">(.*?)</script>', html, re.DOTALL)
    assert embedded is not None
    document = json.loads(embedded.group(1))
    assert document["format"] == EXPORT_FORMAT and render_export_html(document).encode() == html
    assert "--public-key" in html.decode() and "Ed25519" in html.decode()
