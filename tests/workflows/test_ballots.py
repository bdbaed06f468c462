"""Ballot boxes (issue #6): open, attendance, cast, close, paper counts, tally minutes — and secrecy."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.ballots import CANDIDATES, ballot_tables, collective, open_test_box, unit_id, user
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows import ballots
from workflows.audit import instance_chain, verify_chains
from workflows.db import transaction
from workflows.errors import Conflict, Invalid, NotAllowed, NotFound, WorkflowError
from workflows.models import AuditEvent, Ballot, BallotBox, BallotElector, BallotMode
from workflows.rules.ballots import BallotRules, CandidateCount, Denominator

YES_A = {"a": "yes", "b": "no"}
YES_B = {"a": "no", "b": "yes"}


@pytest.fixture
def members(session_factory: sessionmaker[Session], demo_users: dict) -> dict[str, int]:
    return collective(session_factory)


@pytest.fixture
def instance_id(driver: WorkflowDriver) -> int:
    # About personnel1 (CB0006, of T01-BTC), who runs the box and is not one of X001's collective voting in it: the
    # person a procedure is about never votes in its ballots.
    return driver.start("sample_approval", as_user="personnel1", subject="CB0006")


def _act(session_factory: sessionmaker[Session], work: Callable[[Session], Any]) -> Any:
    with session_factory() as s, transaction(s):
        return work(s)


def _attend(session_factory: sessionmaker[Session], box_id: int, ids: list[int], by: str = "personnel1") -> None:
    _act(session_factory, lambda s: ballots.mark_attendance(s, actor=user(s, by), box_id=box_id, present_ids=ids))


def _cast(
    session_factory: sessionmaker[Session], box_id: int, username: str, contents: dict, sign: bool = False
) -> None:
    _act(
        session_factory,
        lambda s: ballots.cast_ballot(s, voter=user(s, username), box_id=box_id, contents=contents, sign=sign),
    )


def _close(session_factory: sessionmaker[Session], box_id: int, by: str = "personnel1") -> Any:
    return _act(session_factory, lambda s: ballots.close_box(s, actor=user(s, by), box_id=box_id))


def _paper(session_factory: sessionmaker[Session], box_id: int, by: str = "personnel1", **values: Any) -> Any:
    return _act(session_factory, lambda s: ballots.enter_paper_tally(s, actor=user(s, by), box_id=box_id, **values))


def _refused(
    session_factory: sessionmaker[Session], error: type[WorkflowError], action: Callable[[], Any], message: str = ""
) -> WorkflowError:
    """The action raises `error` (naming `message`) and no ballot table, audit event or chain head changed."""
    before = ballot_tables(session_factory)
    with pytest.raises(error) as caught:
        action()
    assert message in caught.value.message
    assert ballot_tables(session_factory) == before
    return caught.value


@pytest.fixture
def open_box(session_factory: sessionmaker[Session], members: dict[str, int], instance_id: int) -> int:
    """Seven summoned, the first six present."""
    box_id = open_test_box(session_factory, instance_id, list(members.values()))
    _attend(session_factory, box_id, list(members.values())[:6])
    return box_id


# -- opening ----------------------------------------------------------------------------------------------------


def test_open_box_summons_electors_and_records_the_opening(
    session_factory: sessionmaker[Session], members: dict[str, int], instance_id: int
) -> None:
    box_id = open_test_box(session_factory, instance_id, list(members.values()))
    with session_factory() as s:
        box = s.get(BallotBox, box_id)
        assert box is not None and box.is_open and box.tally is None and box.unit_id == unit_id(s, "X001")
        electors = s.scalars(select(BallotElector).where(BallotElector.box_id == box_id)).all()
        assert sorted(e.user_id for e in electors) == sorted(members.values())
        assert not any(e.is_present or e.has_voted for e in electors)
        event = s.scalars(select(AuditEvent).where(AuditEvent.event_type == "ballot_opened")).one()
        assert event.chain_key == instance_chain(instance_id)
        assert json.loads(event.payload)["summoned"] == 7
        assert verify_chains(s).ok


@pytest.mark.parametrize(
    ("by", "electors", "error", "message"),
    [
        ("officer1", ["officer2"], NotAllowed, "may not open"),
        ("personnel1", ["officer3"], Invalid, "cannot be opened"),  # officer3 belongs to ward X002
        ("personnel1", [], Invalid, "cannot be opened"),
    ],
)
def test_open_box_refusals_change_nothing(
    session_factory: sessionmaker[Session],
    demo_users: dict,
    instance_id: int,
    by: str,
    electors: list[str],
    error: type[WorkflowError],
    message: str,
) -> None:
    ids = [demo_users[name].id for name in electors]
    _refused(session_factory, error, lambda: open_test_box(session_factory, instance_id, ids, by=by), message)


def test_open_box_names_the_member_of_another_unit(
    session_factory: sessionmaker[Session], demo_users: dict, instance_id: int
) -> None:
    with pytest.raises(Invalid) as caught:
        open_test_box(session_factory, instance_id, [demo_users["officer1"].id, demo_users["officer3"].id])
    assert [p.field for p in caught.value.problems] == [f"elector:{demo_users['officer3'].id}"]
    assert "Not a member" in caught.value.problems[0].message


# -- attendance -------------------------------------------------------------------------------------------------


def test_attendance_refusals_change_nothing(
    session_factory: sessionmaker[Session], members: dict[str, int], open_box: int, demo_users: dict
) -> None:
    _cast(session_factory, open_box, "officer1", YES_A)
    everyone_but_officer1 = [i for name, i in members.items() if name != "officer1"]
    _refused(
        session_factory,
        Invalid,
        lambda: _attend(session_factory, open_box, everyone_but_officer1),
        "cannot be recorded",
    )
    outsider = demo_users["officer3"].id
    _refused(
        session_factory,
        Invalid,
        lambda: _attend(session_factory, open_box, [*members.values(), outsider]),
        "cannot be recorded",
    )
    _refused(
        session_factory,
        NotAllowed,
        lambda: _attend(session_factory, open_box, list(members.values()), by="officer2"),
        "may not manage",
    )
    _close(session_factory, open_box)
    _refused(session_factory, Conflict, lambda: _attend(session_factory, open_box, list(members.values())), "closed")


# -- casting ----------------------------------------------------------------------------------------------------


def test_cast_records_that_the_member_voted_not_what(
    session_factory: sessionmaker[Session], members: dict[str, int], open_box: int
) -> None:
    _cast(session_factory, open_box, "officer1", YES_A)
    with session_factory() as s:
        elector = s.get(BallotElector, (open_box, members["officer1"]))
        assert elector is not None and elector.has_voted
        (stored,) = s.scalars(select(Ballot)).all()
        assert stored.contents == YES_A and stored.signed_by_id is None
        event = s.scalars(select(AuditEvent).where(AuditEvent.event_type == "ballot_cast")).one()
        assert event.actor_id == members["officer1"]
        assert json.loads(event.payload) == {"box_id": open_box}


@pytest.mark.parametrize(
    ("voter", "contents", "error", "message"),
    [
        ("officer3", YES_A, NotAllowed, "not a member of the unit"),  # ward X002, another unit
        ("admin", YES_A, NotAllowed, "not a member of the unit"),
        ("member3", YES_A, NotAllowed, "not recorded as present"),  # summoned, absent
        ("officer1", {"a": "yes", "b": "yes"}, Invalid, "not valid"),  # two names for one seat
        ("officer1", {"a": "yes"}, Invalid, "not valid"),
        ("officer1", {"a": "yes", "b": "no", "c": "no"}, Invalid, "not valid"),
        ("officer1", {"a": "perhaps", "b": "no"}, Invalid, "not valid"),
    ],
)
def test_cast_refusals_change_nothing(
    session_factory: sessionmaker[Session], open_box: int, voter: str, contents: dict, error: type, message: str
) -> None:
    _refused(session_factory, error, lambda: _cast(session_factory, open_box, voter, contents), message)


def test_cast_refused_when_not_summoned(
    session_factory: sessionmaker[Session], members: dict[str, int], instance_id: int
) -> None:
    """A member of the unit who was not summoned (member3 here) is told so."""
    box_id = open_test_box(session_factory, instance_id, [i for n, i in members.items() if n != "member3"])
    _refused(session_factory, NotAllowed, lambda: _cast(session_factory, box_id, "member3", YES_A), "not summoned")


def test_cast_twice_is_refused(session_factory: sessionmaker[Session], open_box: int) -> None:
    _cast(session_factory, open_box, "officer1", YES_A)
    _refused(session_factory, Conflict, lambda: _cast(session_factory, open_box, "officer1", YES_B), "already voted")


def test_cast_after_close_is_refused(session_factory: sessionmaker[Session], open_box: int) -> None:
    _cast(session_factory, open_box, "officer1", YES_A)
    _close(session_factory, open_box)
    _refused(session_factory, Conflict, lambda: _cast(session_factory, open_box, "officer2", YES_A), "closed")


def test_signing_only_where_the_box_allows_it(
    session_factory: sessionmaker[Session], members: dict[str, int], instance_id: int, open_box: int
) -> None:
    _refused(
        session_factory, Invalid, lambda: _cast(session_factory, open_box, "officer1", YES_A, sign=True), "not valid"
    )
    signable = open_test_box(session_factory, instance_id, list(members.values()), is_signable=True)
    _attend(session_factory, signable, list(members.values()))
    _cast(session_factory, signable, "officer1", YES_A, sign=True)
    _cast(session_factory, signable, "officer2", YES_B)
    _close(session_factory, signable)
    with session_factory() as s:
        signed = {b.signed_by_id for b in s.scalars(select(Ballot).where(Ballot.box_id == signable))}
        assert signed == {members["officer1"], None}
        assert ballots.tally_minutes(s, s.get(BallotBox, signable)).signed == 1  # type: ignore[arg-type]


def test_paper_box_takes_no_online_ballot(
    session_factory: sessionmaker[Session], members: dict[str, int], instance_id: int
) -> None:
    box_id = open_test_box(session_factory, instance_id, list(members.values()), mode=BallotMode.PAPER)
    _attend(session_factory, box_id, list(members.values()))
    _refused(session_factory, Conflict, lambda: _cast(session_factory, box_id, "officer1", YES_A), "on paper")
    _refused(session_factory, Conflict, lambda: _close(session_factory, box_id), "on paper")


# -- closing ----------------------------------------------------------------------------------------------------


def test_close_counts_by_the_rules_and_chains_only_the_tally(
    session_factory: sessionmaker[Session], members: dict[str, int], open_box: int
) -> None:
    for name in ["officer1", "officer2", "supervisor1", "head1"]:
        _cast(session_factory, open_box, name, YES_A)
    _cast(session_factory, open_box, "member1", YES_B)
    result = _close(session_factory, open_box)
    assert result.outcome == "elected" and result.elected == ("a",)  # 4 of 7 summoned = 57%
    with session_factory() as s:
        box = s.get(BallotBox, open_box)
        assert box is not None and not box.is_open and box.closed_dt is not None
        assert box.tally == result.to_json()
        assert (box.tally["summoned"], box.tally["present"], box.tally["returned"]) == (7, 6, 5)
        closed = s.scalars(select(AuditEvent).where(AuditEvent.event_type == "ballot_closed")).one()
        assert json.loads(closed.payload)["tally"] == box.tally
        assert verify_chains(s).ok


def test_close_refusals_change_nothing(session_factory: sessionmaker[Session], open_box: int) -> None:
    _refused(session_factory, NotAllowed, lambda: _close(session_factory, open_box, by="officer1"), "may not manage")
    _refused(session_factory, NotAllowed, lambda: _close(session_factory, open_box, by="auditor1"), "may not manage")
    _refused(session_factory, NotFound, lambda: _close(session_factory, 999_999))
    _close(session_factory, open_box)
    _refused(session_factory, Conflict, lambda: _close(session_factory, open_box), "closed")


def test_quorum_failure_is_the_tally(
    session_factory: sessionmaker[Session], members: dict[str, int], instance_id: int
) -> None:
    box_id = open_test_box(session_factory, instance_id, list(members.values()))
    _attend(session_factory, box_id, list(members.values())[:4])  # 4 of 7 < 2/3
    for name in ["officer1", "officer2", "supervisor1", "head1"]:
        _cast(session_factory, box_id, name, YES_A)
    result = _close(session_factory, box_id)
    assert result.outcome == "quorum_failed" and result.elected == ()


def test_members_denominator_and_the_head(
    session_factory: sessionmaker[Session], members: dict[str, int], instance_id: int
) -> None:
    """Six summoned out of a collective of eight; three yes is exactly half of... the summoned, not the members."""
    ids = list(members.values())[:6]
    rules = BallotRules(denominator=Denominator.SUMMONED)
    box_id = open_test_box(session_factory, instance_id, ids, rules=rules, members_count=8)
    _attend(session_factory, box_id, ids)
    for name in ["officer1", "officer2", "supervisor1"]:
        _cast(session_factory, box_id, name, YES_A)
    result = _close(session_factory, box_id)
    assert result.outcome == "head_decides" and result.head_decides == ("a",)


# -- a conference nobody attended (decision 0102) ---------------------------------------------------------------


def _nobody(session_factory: sessionmaker[Session], box_id: int, by: str = "personnel1", confirmed: bool = True) -> Any:
    return _act(
        session_factory,
        lambda s: ballots.close_nobody_attended(s, actor=user(s, by), box_id=box_id, confirmed=confirmed),
    )


@pytest.mark.parametrize("mode", [BallotMode.ONLINE, BallotMode.PAPER])
def test_a_conference_nobody_attended_closes_as_a_missed_quorum_and_is_audited(
    session_factory: sessionmaker[Session], members: dict[str, int], instance_id: int, mode: str
) -> None:
    box_id = open_test_box(session_factory, instance_id, list(members.values()), mode=mode)
    result = _nobody(session_factory, box_id)
    assert result.outcome == "quorum_failed" and result.elected == () and result.present == 0
    with session_factory() as s:
        box = s.get(BallotBox, box_id)
        assert box is not None and not box.is_open and box.closed_by_id == user(s, "personnel1").id
        assert box.tally == result.to_json() and (box.tally["summoned"], box.tally["present"]) == (7, 0)
        events = s.scalars(
            select(AuditEvent).where(AuditEvent.instance_id == instance_id).order_by(AuditEvent.id.desc()).limit(2)
        ).all()
        closed, attendance = events
        assert attendance.event_type == "ballot_attendance" and closed.event_type == "ballot_closed"
        assert json.loads(attendance.payload) == {"box_id": box_id, "present": [], "count": 0, "nobody_attended": True}
        assert json.loads(closed.payload)["tally"] == box.tally
        assert verify_chains(s).ok


def test_nobody_attended_is_refused_while_anyone_is_present_or_unconfirmed(
    session_factory: sessionmaker[Session], members: dict[str, int], instance_id: int, open_box: int
) -> None:
    _refused(session_factory, Invalid, lambda: _nobody(session_factory, open_box), "nobody attended")
    empty = open_test_box(session_factory, instance_id, list(members.values()))
    error = _refused(session_factory, Invalid, lambda: _nobody(session_factory, empty, confirmed=False))
    assert [p.field for p in error.problems] == ["confirm_nobody"]  # type: ignore[attr-defined]
    _refused(session_factory, NotAllowed, lambda: _nobody(session_factory, empty, by="officer1"), "may not manage")
    _refused(session_factory, NotFound, lambda: _nobody(session_factory, 999_999))
    # The bare close stays refused before the attendance (decision 0094): only the explicit word closes it.
    _refused(session_factory, Invalid, lambda: _close(session_factory, empty), "cannot be closed yet")
    _nobody(session_factory, empty)
    _refused(session_factory, Conflict, lambda: _nobody(session_factory, empty), "closed")


# -- paper ------------------------------------------------------------------------------------------------------


PAPER_COUNTS = {"a": CandidateCount(4, 1, 0), "b": CandidateCount(1, 4, 0)}


@pytest.fixture
def paper_box(session_factory: sessionmaker[Session], members: dict[str, int], instance_id: int) -> int:
    box_id = open_test_box(session_factory, instance_id, list(members.values()), mode=BallotMode.PAPER)
    _attend(session_factory, box_id, list(members.values())[:6])
    return box_id


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"issued": 7, "returned": 7, "valid": 5}, "returned"),  # more ballots than the six present
        ({"issued": 6, "returned": 6, "valid": -1}, "valid"),
        (
            {"issued": 6, "returned": 5, "valid": 5, "counts": {"a": CandidateCount(-1, 6, 0), "b": PAPER_COUNTS["b"]}},
            "a.yes",
        ),
        ({"issued": 6, "returned": 5, "valid": 5, "counts": {"a": PAPER_COUNTS["a"]}}, "b"),
    ],
)
def test_paper_tally_refusals_change_nothing(
    session_factory: sessionmaker[Session], paper_box: int, values: dict, field: str
) -> None:
    values.setdefault("counts", PAPER_COUNTS)
    error = _refused(session_factory, Invalid, lambda: _paper(session_factory, paper_box, **values), "do not add up")
    assert field in [p.field for p in error.problems]  # type: ignore[attr-defined]


def test_paper_tally_other_refusals(session_factory: sessionmaker[Session], paper_box: int, open_box: int) -> None:
    values = {"issued": 6, "returned": 5, "valid": 5, "counts": PAPER_COUNTS}
    _refused(
        session_factory, NotAllowed, lambda: _paper(session_factory, paper_box, by="officer1", **values), "may not"
    )
    _refused(session_factory, Conflict, lambda: _paper(session_factory, open_box, **values), "cast online")
    _paper(session_factory, paper_box, **values)
    _refused(session_factory, Conflict, lambda: _paper(session_factory, paper_box, **values), "closed")


def test_paper_mode_gives_the_same_tally_as_online(
    session_factory: sessionmaker[Session], members: dict[str, int], open_box: int, paper_box: int
) -> None:
    """The same five ballots (four for a, one for b; six present of seven), cast online and counted on paper."""
    for name in ["officer1", "officer2", "supervisor1", "head1"]:
        _cast(session_factory, open_box, name, YES_A)
    _cast(session_factory, open_box, "member1", YES_B)
    online = _close(session_factory, open_box)
    paper = _paper(session_factory, paper_box, issued=6, returned=5, valid=5, counts=PAPER_COUNTS)
    assert paper.to_json() == online.to_json()
    with session_factory() as s:
        stored = {b.mode: b.tally for b in s.scalars(select(BallotBox))}
        assert stored[BallotMode.PAPER] == stored[BallotMode.ONLINE]


# -- tally minutes ----------------------------------------------------------------------------------------------


def test_tally_minutes(session_factory: sessionmaker[Session], members: dict[str, int], open_box: int) -> None:
    for name in ["officer1", "officer2", "supervisor1", "head1"]:
        _cast(session_factory, open_box, name, YES_A)
    with session_factory() as s:
        box = s.get(BallotBox, open_box)
        assert box is not None
        with pytest.raises(Conflict):
            ballots.tally_minutes(s, box)
    _close(session_factory, open_box)
    with session_factory() as s:
        box = s.get(BallotBox, open_box)
        assert box is not None
        minutes = ballots.tally_minutes(s, box)
    assert (minutes.summoned, minutes.present, minutes.absent) == (7, 6, 1)
    assert (minutes.issued, minutes.returned, minutes.valid, minutes.invalid) == (6, 4, 4, 0)
    assert [(c.name, c.yes, c.no, c.percent, c.passed) for c in minutes.candidates] == [
        (CANDIDATES[0].name, 4, 0, 57.14, True),
        (CANDIDATES[1].name, 0, 4, 0.0, False),
    ]
    assert minutes.elected == (CANDIDATES[0].name,)
    assert minutes.absent_names == ("Ủy viên member 3",)
    assert minutes.secretary_name == "Đỗ Thị Hoa"


# -- secrecy ----------------------------------------------------------------------------------------------------

VOTERS = ["officer1", "officer2", "supervisor1", "head1", "member1", "member2"]


def test_secrecy_no_ballot_row_can_be_linked_to_a_voter(
    session_factory: sessionmaker[Session], db_engine: Any, members: dict[str, int], instance_id: int
) -> None:
    """Given the whole database and the audit log, a ballot row of an unsigned box cannot be tied to its voter:
    the table has no column that names a voter or a time, the audit log holds no contents, and after the close
    neither the stored order, nor the ids, nor (PostgreSQL) the writing transaction follow the order of voting."""
    # 1. The schema: no time column at all, the only user reference is the signature of a signed slip.
    columns = {c["name"]: c for c in inspect(db_engine).get_columns("ballots")}
    assert set(columns) == {"id", "box_id", "contents", "signed_by_id"}
    assert not any("DATE" in str(c["type"]).upper() or "TIME" in str(c["type"]).upper() for c in columns.values())
    foreign = {
        fk["constrained_columns"][0]: fk["referred_table"] for fk in inspect(db_engine).get_foreign_keys("ballots")
    }
    assert foreign == {"box_id": "ballot_boxes", "signed_by_id": "users"}

    # 2. Six members vote, each a different ballot (candidate a's mark tells them apart), in a known order.
    box_id = open_test_box(
        session_factory,
        instance_id,
        list(members.values()),
        rules=BallotRules(seats=None),
        members_count=7,
    )
    _attend(session_factory, box_id, [members[name] for name in VOTERS])
    marks = ["yes", "no", "abstain", "yes", "no", "abstain"]
    cast_order = []
    for voter, (mark_a, mark_b) in zip(VOTERS, zip(marks, ["yes", "yes", "yes", "no", "no", "no"], strict=True)):
        contents = {"a": mark_a, "b": mark_b}
        _cast(session_factory, box_id, voter, contents)
        cast_order.append(contents)
    with session_factory() as s:
        ids_while_open = set(s.scalars(select(Ballot.id)))
    _close(session_factory, box_id)

    with session_factory() as s:
        rows = s.execute(text("SELECT * FROM ballots")).mappings().all()
        # No voter on unsigned ballots; nothing else in a row besides its contents and its box.
        assert all(r["signed_by_id"] is None for r in rows)
        assert sorted(
            json.dumps(r["contents"] if isinstance(r["contents"], dict) else json.loads(r["contents"]), sort_keys=True)
            for r in rows
        ) == sorted(json.dumps(c, sort_keys=True) for c in cast_order)
        # Fresh ids at the close: an id noticed while the box was open (next to a vote) no longer exists.
        assert ids_while_open.isdisjoint({r["id"] for r in rows})
        # The audit log: who voted (that is public) but never what: no event carries a ballot's marks.
        events = s.scalars(select(AuditEvent).where(AuditEvent.event_type == "ballot_cast")).all()
        assert [e.actor_id for e in events] == [members[name] for name in VOTERS]
        assert all(json.loads(e.payload) == {"box_id": box_id} for e in events)
        assert s.scalar(select(BallotBox.closed_dt).where(BallotBox.id == box_id)) is not None
        if s.get_bind().dialect.name == "postgresql":
            # Every ballot was written by the closing transaction, none by a voter's transaction.
            writers = s.execute(text("SELECT DISTINCT xmin::text FROM ballots")).scalars().all()
            assert len(writers) == 1
            closing = s.execute(text("SELECT xmin::text FROM ballot_boxes WHERE id = :id"), {"id": box_id}).scalar_one()
            assert writers == [closing]
        else:
            # SQLite keeps no hidden insertion-ordered rowid for this table.
            with pytest.raises(OperationalError):
                s.execute(text("SELECT rowid FROM ballots"))


def test_secrecy_storage_order_is_shuffled(
    session_factory: sessionmaker[Session], members: dict[str, int], instance_id: int
) -> None:
    """The order ballots are stored in after the close is a fresh random permutation: over several closes of the
    same votes, it is not always the casting order (the chance that 4 shuffles of 6 distinct ballots all keep the
    casting order is 1 in 720⁴)."""
    voters = VOTERS
    kept_order = []
    for _round in range(4):
        box_id = open_test_box(
            session_factory, instance_id, list(members.values()), rules=BallotRules(seats=None), members_count=7
        )
        _attend(session_factory, box_id, [members[name] for name in voters])
        cast = []
        for index, voter in enumerate(voters):
            contents = {"a": ["yes", "no", "abstain"][index % 3], "b": ["yes", "no"][index // 3]}
            _cast(session_factory, box_id, voter, contents)
            cast.append(contents)
        _close(session_factory, box_id)
        with session_factory() as s:
            order_clause = "ctid" if s.get_bind().dialect.name == "postgresql" else "id"  # physical / key order
            stored = (
                s.execute(
                    text(f"SELECT contents FROM ballots WHERE box_id = :b ORDER BY {order_clause}"), {"b": box_id}
                )
                .scalars()
                .all()
            )
        stored = [c if isinstance(c, dict) else json.loads(c) for c in stored]
        assert sorted(map(str, stored)) == sorted(map(str, cast))
        kept_order.append(stored == cast)
    assert not all(kept_order)
