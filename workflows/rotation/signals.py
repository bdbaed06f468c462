"""Proactive rotation signals for personnel officers, in their scope: the registry read, the rules applied
(`workflows.rules.rotation_signals`). Read-only.

Only posts held today are considered. The spans that make a run are read for the cadres concerned only: heads'
spans in head posts of the same unit, personnel staff's spans in the same post.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session, sessionmaker

from workflows.access import in_subtree, role_units
from workflows.appointment.facts import position_label
from workflows.db import transaction
from workflows.models import Notification, WorkerCursor
from workflows.registry.models import Cadre, CadrePosition, OrgUnit, Position, RoleAssignment, User
from workflows.registry.records import local_today
from workflows.reports import UnitIndex
from workflows.rotation.service import STARTING_ROLES
from workflows.rules.rotation_signals import (
    DEFAULT_SIGNAL_POLICY,
    SIGNAL_HEAD_TERMS,
    SIGNAL_LOCAL_KEY_POST,
    SIGNAL_PERSONNEL_YEARS,
    SignalPolicy,
    SignalReason,
    Span,
    continuous_since,
    head_term_reason,
    local_key_post_reason,
    personnel_years_reason,
)
from workflows.states import Role

__all__ = [
    "RotationSignal",
    "cadre_signals",
    "can_see_signals",
    "notify_signals_weekly",
    "rotation_signals",
    "signal_scope",
]


@dataclass(frozen=True)
class RotationSignal:
    kind: str  # SIGNAL_HEAD_TERMS, SIGNAL_PERSONNEL_YEARS, SIGNAL_LOCAL_KEY_POST
    cadre_id: int
    cadre_code: str
    cadre_name: str
    post: str
    reason: SignalReason  # worded by the reader's language on the page, in Vietnamese by the engine (`vietnamese()`)


def signal_scope(user: User) -> list[int]:
    """The units whose cadres the user may propose for rotation (personnel or administrator roles)."""
    return sorted({unit for role, unit in role_units(user) if role in STARTING_ROLES})


def can_see_signals(user: User) -> bool:
    """Personnel officers and administrators (the roles that start rotations), each in their own scope."""
    return bool(signal_scope(user))


def _spans(rows: Iterable[tuple[date, date | None]]) -> list[Span]:
    return [Span(start, end) for start, end in rows]


def rotation_signals(
    session: Session,
    roots: Iterable[int],
    *,
    today: date | None = None,
    policy: SignalPolicy = DEFAULT_SIGNAL_POLICY,
) -> list[RotationSignal]:
    """Every signal for cadres working in the units under `roots`, ordered by kind, then name."""
    roots = list(roots)
    if not roots:
        return []
    return _signals(session, or_(*(in_subtree(OrgUnit, root) for root in roots)), today or local_today(), policy)


def cadre_signals(
    session: Session,
    cadre_id: int,
    *,
    today: date | None = None,
    policy: SignalPolicy = DEFAULT_SIGNAL_POLICY,
) -> list[RotationSignal]:
    """The signals of one cadre, by the same rules and in the same order as the signals page: what the deciding
    step of the cadre's rotation names as the reasons to rotate them (decision 0119)."""
    return _signals(session, Cadre.id == cadre_id, today or local_today(), policy)


def _signals(session: Session, scope: ColumnElement[bool], day: date, policy: SignalPolicy) -> list[RotationSignal]:
    suffixes = [OrgUnit.code.like(f"%{suffix}") for suffix in policy.personnel_unit_suffixes]
    post_unit = select(OrgUnit.id, OrgUnit.code)
    personnel_units = {uid for uid, _ in session.execute(post_unit.where(or_(*suffixes)))} if suffixes else set()
    concerned = (
        Position.title_code.in_(sorted({*policy.head_titles, *policy.non_local_titles}))
        | Position.requires_non_local.is_(True)
        | Position.unit_id.in_(sorted(personnel_units) or [-1])
    )
    held = session.execute(
        select(CadrePosition, Position, Cadre)
        .join(Position, Position.id == CadrePosition.position_id)
        .join(Cadre, Cadre.id == CadrePosition.cadre_id)
        .join(OrgUnit, OrgUnit.id == Cadre.unit_id)
        .where(
            scope,
            Cadre.is_active.is_(True),
            CadrePosition.ended_on.is_(None),
            CadrePosition.started_on <= day,
            concerned,
        )
        .order_by(Cadre.full_name, Cadre.id, CadrePosition.id)
    ).all()
    if not held:
        return []
    cadre_ids = sorted({cadre.id for _, _, cadre in held})
    history: dict[int, list[tuple[CadrePosition, Position]]] = defaultdict(list)
    for row, position in session.execute(
        select(CadrePosition, Position)
        .join(Position, Position.id == CadrePosition.position_id)
        .where(CadrePosition.cadre_id.in_(cadre_ids))
    ):
        history[row.cadre_id].append((row, position))
    units = UnitIndex(session)
    found: list[RotationSignal] = []
    seen: set[tuple[str, int, int]] = set()

    def add(kind: str, cadre: Cadre, place_id: int, post: str, reason: SignalReason | None) -> None:
        if reason is not None and (kind, cadre.id, place_id) not in seen:
            seen.add((kind, cadre.id, place_id))
            found.append(RotationSignal(kind, cadre.id, cadre.code, cadre.full_name, post, reason))

    for _held, position, cadre in held:
        post = position_label(position, position.unit)
        if position.title_code in policy.head_titles:
            spans = _spans(
                (r.started_on, r.ended_on)
                for r, p in history[cadre.id]
                if p.unit_id == position.unit_id and p.title_code in policy.head_titles
            )
            since = continuous_since(spans, day)
            if since is not None:
                reason = head_term_reason(since, day, position.term_years, position.unit.name, policy)
                add(SIGNAL_HEAD_TERMS, cadre, position.unit_id, post, reason)
        if position.unit_id in personnel_units:
            since = continuous_since(
                _spans((r.started_on, r.ended_on) for r, p in history[cadre.id] if p.id == position.id), day
            )
            if since is not None:
                add(SIGNAL_PERSONNEL_YEARS, cadre, position.id, post, personnel_years_reason(since, day, post, policy))
        reason = local_key_post_reason(
            position.title_code,
            bool(position.requires_non_local),
            units.current_commune(cadre.hometown_unit_id, day),
            units.commune_of(position.unit_id),
            post,
            cadre.hometown,
            policy,
        )
        add(SIGNAL_LOCAL_KEY_POST, cadre, position.id, post, reason)
    order = {SIGNAL_HEAD_TERMS: 0, SIGNAL_PERSONNEL_YEARS: 1, SIGNAL_LOCAL_KEY_POST: 2}
    return sorted(found, key=lambda s: (order[s.kind], s.cadre_name, s.cadre_code))


# -- the weekly notification ---------------------------------------------------------------------------------------

WEEKLY_CURSOR = "rotation_signals_week"
SIGNAL_NOTIFICATION = "rotation_signals"


def notify_signals_weekly(
    session_factory: sessionmaker[Session],
    *,
    today: date | None = None,
    policy: SignalPolicy = DEFAULT_SIGNAL_POLICY,
) -> int:
    """The worker loop's call: once a week (a worker cursor holds the Monday of the last week done), each active
    personnel officer with signals in their scope gets one in-app notification (e-mailed like the others) counting
    them. The notification, the count and the cursor commit together: a second worker finds the week done."""
    day = today or local_today()
    monday = (day - timedelta(days=day.weekday())).toordinal()
    with session_factory() as session:  # the cheap read every poll; the write lock only once a week
        done = session.get(WorkerCursor, WEEKLY_CURSOR)
        if done is not None and done.position >= monday:
            return 0
    with session_factory() as session, transaction(session):
        cursor = session.get(WorkerCursor, WEEKLY_CURSOR, with_for_update=True)
        if cursor is not None and cursor.position >= monday:
            return 0
        if cursor is None:
            session.add(WorkerCursor(name=WEEKLY_CURSOR, position=monday))
        else:
            cursor.position = monday
        officers = session.scalars(
            select(User)
            .join(RoleAssignment, RoleAssignment.user_id == User.id)
            .where(User.is_active, RoleAssignment.role == Role.PERSONNEL)
            .distinct()
            .order_by(User.id)
        ).all()
        sent = 0
        for officer in officers:
            found = rotation_signals(session, signal_scope(officer), today=day, policy=policy)
            if not found:
                continue
            lines = [f"{s.cadre_name} ({s.cadre_code}): {s.reason.vietnamese()}" for s in found[:20]]
            session.add(
                Notification(
                    user_id=officer.id,
                    kind=SIGNAL_NOTIFICATION,
                    title=f"{len(found)} cán bộ cần xem xét luân chuyển (tuần từ {date.fromordinal(monday):%d/%m/%Y})",
                    body="\n".join(lines),
                )
            )
            sent += 1
        return sent
