"""A unit's voting bodies (decision 0122): the collective leadership, the expanded leadership conference, the key
cadres conference and the party committee, each a set of the unit's accounts.

Who sits on them is [U] in the domain rules (§1, §3.4 steps 2 and 4), so it is not worked out from titles: the unit's
personnel officer or administrator keeps each body from the unit's accounts, and every change is an event on the
unit's audit chain (`unit:<id>`, as its renames and mergers are). A ballot step names the body it summons
(`workflows.ballot_steps`): the box then summons that body's members and counts its size as the members of the
collective, so the quorum's denominator is a number someone kept and the log can show, not one typed at the
conference. A body with no active member is "not configured": the ballot falls back to the secretary's choice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, delete, insert, select
from sqlalchemy.orm import Session

from workflows.access import in_subtree, oversees_unit
from workflows.audit import PendingEvent, append_events
from workflows.clock import utcnow_naive
from workflows.errors import Conflict, Invalid, NotAllowed, NotFound, Problem
from workflows.query_args import parse_id
from workflows.registry.models import OrgUnit, User, VotingBodyMember
from workflows.registry.units import org_unit_chain
from workflows.rules.ballots import outsiders
from workflows.states import BodyKind, Role

__all__ = [
    "BODY_CHANGED",
    "EDITING_ROLES",
    "BodyChange",
    "BodyMember",
    "VotingBody",
    "body_candidates",
    "body_kind",
    "can_edit_voting_bodies",
    "seed_voting_body",
    "set_body_members",
    "voting_bodies",
    "voting_body",
]

BODY_CHANGED = "voting_body_changed"
# The personnel body keeps the unit's cadre records and prepares its conferences (domain rules §1); an administrator
# keeps the unit itself. Both over the unit or a unit above it.
EDITING_ROLES = (Role.PERSONNEL, Role.ADMIN)
MAX_MEMBERS = 500

_members_table = cast(Table, VotingBodyMember.__table__)


@dataclass(frozen=True)
class BodyMember:
    user_id: int
    full_name: str
    cadre_id: int | None


@dataclass(frozen=True)
class VotingBody:
    unit_id: int
    kind: BodyKind
    members: tuple[BodyMember, ...]  # active accounts only, by name

    @property
    def size(self) -> int:
        """The members of the body as the rules count them ("tổng số thành viên")."""
        return len(self.members)

    @property
    def member_ids(self) -> frozenset[int]:
        return frozenset(m.user_id for m in self.members)


@dataclass(frozen=True)
class BodyChange:
    added: tuple[BodyMember, ...]
    removed: tuple[BodyMember, ...]
    size: int

    @property
    def is_change(self) -> bool:
        return bool(self.added or self.removed)


def can_edit_voting_bodies(session: Session, user: User, unit_id: int | None) -> bool:
    """The unit's personnel officer or administrator (held in the unit or above it)."""
    return oversees_unit(session, user, unit_id, EDITING_ROLES)


def body_kind(value: object) -> BodyKind | None:
    try:
        return BodyKind(str(value))
    except ValueError:
        return None


def body_candidates(session: Session, unit_id: int) -> list[User]:
    """Whom a body of the unit may hold: the active accounts of the unit and the units under it — the people a ballot
    held in the unit may summon (`ballots.open_box`)."""
    return list(
        session.scalars(
            select(User)
            .join(OrgUnit, OrgUnit.id == User.unit_id)
            .where(User.is_active, in_subtree(OrgUnit, unit_id))
            .order_by(User.full_name, User.id)
        )
    )


def _rows(session: Session, unit_id: int, kind: str, *, active_only: bool) -> list[BodyMember]:
    query = (
        select(User.id, User.full_name, User.cadre_id)
        .join(VotingBodyMember, VotingBodyMember.user_id == User.id)
        .where(VotingBodyMember.unit_id == unit_id, VotingBodyMember.body_kind == str(kind))
        .order_by(User.full_name, User.id)
    )
    if active_only:
        query = query.where(User.is_active)
    return [BodyMember(*row) for row in session.execute(query)]


def voting_body(session: Session, unit_id: int | None, kind: BodyKind | str | None) -> VotingBody | None:
    """The unit's body of this kind with its active members; None when it has none (not configured)."""
    checked = body_kind(kind)
    if unit_id is None or checked is None:
        return None
    members = _rows(session, unit_id, checked, active_only=True)
    return VotingBody(unit_id, checked, tuple(members)) if members else None


def voting_bodies(session: Session, unit_id: int) -> dict[BodyKind, tuple[BodyMember, ...]]:
    """Every kind of body of the unit with its active members (empty: not configured), in `BodyKind` order."""
    return {kind: tuple(_rows(session, unit_id, kind, active_only=True)) for kind in BodyKind}


def _names(members: Sequence[BodyMember]) -> list[dict[str, object]]:
    return [{"id": m.user_id, "name": m.full_name} for m in members]


def set_body_members(
    session: Session, actor: User, unit_id: int, kind: object, user_ids: Iterable[object]
) -> BodyChange:
    """Make the unit's body of `kind` exactly `user_ids`: each must be an active account of the unit or a unit under
    it. Refused whole (nothing written) otherwise. A change is one `voting_body_changed` event on the unit's chain
    naming who joined and who left and the size after it; no change writes nothing."""
    unit = session.get(OrgUnit, unit_id) if parse_id(unit_id) is not None else None
    if unit is None:
        raise NotFound("the org unit does not exist")
    checked = body_kind(kind)
    if checked is None:
        raise NotFound("no such voting body")
    if not can_edit_voting_bodies(session, actor, unit.id):
        raise NotAllowed("You may not change the voting bodies of this unit.")
    if not unit.is_active:
        raise Conflict("The unit is no longer active; its voting bodies stay as they were.")
    wanted_raw = list(user_ids)
    wanted = [parse_id(value) for value in wanted_raw]
    problems: list[Problem] = []
    if any(value is None for value in wanted):
        problems.append(Problem("Choose members from the list.", field="members"))
    chosen = {value for value in wanted if value is not None}
    if len(chosen) > MAX_MEMBERS:
        problems.append(Problem("A voting body has at most 500 members.", field="members"))
    eligible = {user.id: user for user in body_candidates(session, unit.id)}
    problems += [
        Problem("Not an active account of this unit or a unit under it.", field=f"member:{user_id}")
        for user_id in outsiders(eligible.keys(), chosen)
    ]
    if problems:
        raise Invalid("The voting body cannot be saved.", problems)

    return _write(session, actor, unit.id, checked, {i: eligible[i] for i in chosen})


def _write(session: Session, actor: User | None, unit_id: int, kind: BodyKind, chosen: dict[int, User]) -> BodyChange:
    """Make the body exactly `chosen` (checked by the caller) and chain the change on the unit's log."""
    before = {m.user_id: m for m in _rows(session, unit_id, kind, active_only=False)}
    added_ids = sorted(chosen.keys() - before.keys())
    removed_ids = sorted(before.keys() - chosen.keys())
    added = tuple(
        sorted(
            (BodyMember(i, chosen[i].full_name, chosen[i].cadre_id) for i in added_ids),
            key=lambda m: (m.full_name, m.user_id),
        )
    )
    removed = tuple(before[i] for i in sorted(removed_ids, key=lambda i: (before[i].full_name, i)))
    if removed_ids:
        session.execute(
            delete(_members_table).where(
                _members_table.c.unit_id == unit_id,
                _members_table.c.body_kind == str(kind),
                _members_table.c.user_id.in_(removed_ids),
            )
        )
    if added_ids:
        now = utcnow_naive()
        session.execute(
            insert(_members_table),
            [
                {
                    "unit_id": unit_id,
                    "body_kind": str(kind),
                    "user_id": i,
                    "added_dt": now,
                    "added_by_id": actor.id if actor is not None else None,
                }
                for i in added_ids
            ],
        )
    change = BodyChange(added, removed, len(chosen))
    if change.is_change:
        payload = {"body": str(kind), "added": _names(added), "removed": _names(removed), "members": change.size}
        append_events(session, org_unit_chain(unit_id), [PendingEvent(BODY_CHANGED, payload)], actor=actor)
    session.flush()
    return change


def seed_voting_body(session: Session, unit_id: int, kind: BodyKind, users: Iterable[User]) -> bool:
    """The demo's bodies (`canbo demo load`): written by the system, chained as any change, and only into a body
    that has never had a member, so a load run again leaves what a personnel officer changed."""
    exists = session.scalar(
        select(VotingBodyMember.user_id)
        .where(VotingBodyMember.unit_id == unit_id, VotingBodyMember.body_kind == str(kind))
        .limit(1)
    )
    chosen = {user.id: user for user in users if user.is_active}
    if exists is not None or not chosen:
        return False
    _write(session, None, unit_id, kind, chosen)
    return True
