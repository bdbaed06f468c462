"""A unit's voting bodies (decision 0122): kept by the unit's personnel officer or administrator from the unit's
accounts, each change chained on the unit's audit log, refused whole on bad input; a ballot step whose body is kept
summons it and counts its size, one whose body is not kept behaves as before."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.appointment import NOMINEE, open_ballot, setup_appointment, start, today_text
from tests.fixtures.ballots import add_members, unit_id, user
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows.appointment.ballots import open_step_ballot
from workflows.audit import verify_chains
from workflows.db import transaction
from workflows.errors import Conflict, Invalid, NotAllowed, NotFound
from workflows.models import AuditEvent, BallotBox, BallotElector
from workflows.registry.models import Cadre, OrgUnit, User, VotingBodyMember
from workflows.registry.units import org_unit_chain
from workflows.registry.voting_bodies import (
    BODY_CHANGED,
    can_edit_voting_bodies,
    seed_voting_body,
    set_body_members,
    voting_bodies,
    voting_body,
)
from workflows.states import BodyKind


def _ids(s: Session, *names: str) -> list[int]:
    return [user(s, name).id for name in names]


def _rows(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as s:
        return s.scalar(select(func.count()).select_from(VotingBodyMember)) or 0


def _events(session_factory: sessionmaker[Session], unit: str) -> list[dict[str, Any]]:
    with session_factory() as s:
        chain = org_unit_chain(unit_id(s, unit))
        rows = s.scalars(select(AuditEvent).where(AuditEvent.chain_key == chain, AuditEvent.event_type == BODY_CHANGED))
        return [json.loads(row.payload) | {"actor": row.actor_name} for row in rows]


@pytest.mark.parametrize(
    ("username", "allowed"),
    [("admin", True), ("personnel1", True), ("head1", False), ("officer1", False), ("auditor1", False)],
)
def test_only_the_units_personnel_officer_or_administrator_keeps_its_bodies(
    demo_users: Any, session_factory: sessionmaker[Session], username: str, allowed: bool
) -> None:
    with session_factory() as s:
        assert can_edit_voting_bodies(s, user(s, username), unit_id(s, "X001")) is allowed


def test_a_body_is_kept_and_each_change_is_chained_on_the_units_log(
    demo_users: Any, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as s, transaction(s):
        x001 = unit_id(s, "X001")
        change = set_body_members(
            s, user(s, "personnel1"), x001, "leadership", _ids(s, "head1", "supervisor1", "officer1")
        )
        assert change.is_change and change.size == 3 and not change.removed
    with session_factory() as s, transaction(s):
        body = voting_body(s, x001, BodyKind.LEADERSHIP)
        assert body is not None and body.size == 3
        assert voting_body(s, x001, BodyKind.KEY_CADRES) is None  # not configured
        assert len(voting_bodies(s, x001)[BodyKind.LEADERSHIP]) == 3
        # The same set again writes nothing; a new set says who joined and who left.
        same = set_body_members(s, user(s, "admin"), x001, "leadership", _ids(s, "head1", "supervisor1", "officer1"))
        assert not same.is_change
        changed = set_body_members(s, user(s, "admin"), x001, "leadership", _ids(s, "head1", "officer2"))
        assert [m.full_name for m in changed.added] == ["Trần Văn Hùng"]
        assert sorted(m.full_name for m in changed.removed) == ["Lê Văn Minh", "Nguyễn Thị Lan"]
    events = _events(session_factory, "X001")
    assert [(e["body"], e["members"], e["actor"]) for e in events] == [
        ("leadership", 3, "personnel1"),
        ("leadership", 2, "admin"),
    ]
    assert [m["name"] for m in events[1]["added"]] == ["Trần Văn Hùng"]
    with session_factory() as s:
        assert verify_chains(s).ok


def test_an_inactive_member_is_not_counted(demo_users: Any, session_factory: sessionmaker[Session]) -> None:
    with session_factory() as s, transaction(s):
        x001 = unit_id(s, "X001")
        set_body_members(s, user(s, "admin"), x001, BodyKind.LEADERSHIP, _ids(s, "head1", "officer1"))
        user(s, "officer1").is_active = False
    with session_factory() as s:
        body = voting_body(s, x001, BodyKind.LEADERSHIP)
        assert body is not None and [m.full_name for m in body.members] == ["Phạm Quốc Dũng"]


@pytest.mark.parametrize(
    ("members", "field"),
    [
        (["officer3"], "member:"),  # an account of another commune
        (["head1", "personnel1"], "member:"),  # of the province's personnel body, not of the commune
        (["head1", "x"], "members"),  # not an id
        (["head1", -4], "members"),
        (["head1", 999999], "member:999999"),
    ],
)
def test_a_member_outside_the_unit_is_refused_and_nothing_is_written(
    demo_users: Any, session_factory: sessionmaker[Session], members: list[Any], field: str
) -> None:
    with session_factory() as s:
        known = {u.username: u.id for u in s.scalars(select(User))}
        x001, actor = unit_id(s, "X001"), user(s, "admin")
        with pytest.raises(Invalid) as refused:
            set_body_members(s, actor, x001, BodyKind.LEADERSHIP, [known.get(str(m), m) for m in members])
        s.rollback()
    assert any(p.field.startswith(field) for p in refused.value.problems)
    assert _rows(session_factory) == 0 and _events(session_factory, "X001") == []


def test_a_stranger_an_unknown_body_and_a_closed_unit_are_refused(
    demo_users: Any, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as s:
        x001 = unit_id(s, "X001")
        with pytest.raises(NotAllowed):
            set_body_members(s, user(s, "head1"), x001, BodyKind.LEADERSHIP, _ids(s, "head1"))
        with pytest.raises(NotFound):
            set_body_members(s, user(s, "admin"), x001, "presidium", _ids(s, "head1"))
        with pytest.raises(NotFound):
            set_body_members(s, user(s, "admin"), 999999, BodyKind.LEADERSHIP, [])
        s.get(OrgUnit, x001).is_active = False  # type: ignore[union-attr]
        with pytest.raises(Conflict):
            set_body_members(s, user(s, "admin"), x001, BodyKind.LEADERSHIP, _ids(s, "head1"))
        s.rollback()
    assert _rows(session_factory) == 0


def test_a_seeded_body_is_written_once_and_a_kept_body_is_left_alone(
    demo_users: Any, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as s, transaction(s):
        x001 = unit_id(s, "X001")
        assert seed_voting_body(s, x001, BodyKind.KEY_CADRES, [user(s, "head1"), user(s, "officer1")])
        assert not seed_voting_body(s, x001, BodyKind.KEY_CADRES, [user(s, "officer2")])
    assert [(e["members"], e["actor"]) for e in _events(session_factory, "X001")] == [(2, "system")]


# -- a ballot step summons its body ------------------------------------------------------------------------------


@pytest.fixture
def at_step2(driver: WorkflowDriver, session_factory: sessionmaker[Session]) -> dict[str, Any]:
    """An appointment at its step 2 ballot (the expanded leadership conference, held in X001)."""
    world = setup_appointment(session_factory)
    instance_id = start(session_factory, driver.engine, world["post_id"])
    for key, username, data in (
        ("eligibility_policy", "personnel1", {"dossier_received_on": today_text()}),
        ("policy_decision", "leader1", {"policy_decision": "approve"}),
        ("step1_conference", "personnel1", {"held_on": today_text(), "minutes_summary": "x"}),
    ):
        driver.complete(username, driver.task(instance_id, key).id, data)
    return world | {"instance_id": instance_id}


def _keep_body(session_factory: sessionmaker[Session], kind: BodyKind, *names: str) -> list[int]:
    with session_factory() as s, transaction(s):
        ids = _ids(s, *names)
        set_body_members(s, user(s, "personnel1"), unit_id(s, "X001"), kind, ids)
        return ids


def _open(driver: WorkflowDriver, session_factory: sessionmaker[Session], instance_id: int, **kwargs: Any) -> int:
    with session_factory() as s, transaction(s):
        box = open_step_ballot(s, driver.engine, actor=user(s, "personnel1"), instance_id=instance_id, **kwargs)
        return box.id


def test_a_kept_body_is_summoned_whole_and_its_size_is_the_members_count(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], at_step2: dict[str, Any]
) -> None:
    # The nominee (officer2, CB0002) sits on the body: counted as a member, never summoned to vote.
    body = _keep_body(
        session_factory, BodyKind.EXPANDED_LEADERSHIP, "head1", "supervisor1", "officer1", "officer2", "member1"
    )
    box_id = _open(driver, session_factory, at_step2["instance_id"])
    with session_factory() as s:
        box = s.get(BallotBox, box_id)
        assert box is not None and box.members_count == 5
        electors = set(s.scalars(select(BallotElector.user_id).where(BallotElector.box_id == box_id)))
        nominee = s.scalars(select(User.id).join(Cadre, Cadre.id == User.cadre_id).where(Cadre.code == NOMINEE)).one()
        assert electors == set(body) - {nominee}
        opened = s.scalars(
            select(AuditEvent).where(
                AuditEvent.instance_id == at_step2["instance_id"], AuditEvent.event_type == "ballot_opened"
            )
        ).one()
        payload = json.loads(opened.payload)
        assert (payload["body"], payload["members"], payload["summoned"]) == ("expanded_leadership", 5, 4)


@pytest.mark.parametrize("outsider", ["extra1", "member2"])
def test_an_outsider_or_another_members_count_is_refused_when_the_body_is_kept(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], at_step2: dict[str, Any], outsider: str
) -> None:
    body = _keep_body(session_factory, BodyKind.EXPANDED_LEADERSHIP, "head1", "supervisor1", "officer1", "member1")
    with session_factory() as s:
        stranger = user(s, outsider).id
    with pytest.raises(Invalid) as refused:
        _open(driver, session_factory, at_step2["instance_id"], elector_ids=[*body, stranger])
    assert [p.field for p in refused.value.problems] == [f"elector:{stranger}"]
    with pytest.raises(Invalid) as miscounted:
        _open(driver, session_factory, at_step2["instance_id"], elector_ids=body, members_count=9)
    assert [p.field for p in miscounted.value.problems] == ["members_count"]
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(BallotBox)) == 0
    # The body's own members and size are taken as they are.
    assert _open(driver, session_factory, at_step2["instance_id"], elector_ids=body[:2], members_count=4)


def test_a_body_that_is_not_kept_leaves_the_choice_to_the_secretary(
    driver: WorkflowDriver, session_factory: sessionmaker[Session], at_step2: dict[str, Any]
) -> None:
    # Another kind of body kept, or the body of another unit, changes nothing for this step.
    _keep_body(session_factory, BodyKind.LEADERSHIP, "head1", "supervisor1")
    add_members(session_factory, "X002", 1, prefix="other")
    members = at_step2["members"]
    box_id = open_ballot(session_factory, driver.engine, at_step2["instance_id"], members.values(), members_count=9)
    with session_factory() as s:
        box = s.get(BallotBox, box_id)
        assert box is not None and box.members_count == 9
        assert s.scalar(select(func.count()).where(BallotElector.box_id == box_id)) == len(members)
