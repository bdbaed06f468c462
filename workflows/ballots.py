"""Secret ballot boxes (issue #6): open a box for a step, record attendance, cast, close and count — online, or
from the paper tally minutes. Decision 0015 explains how a ballot is kept unlinkable to its voter.

What is stored where:
- `ballot_electors`: THAT a member was summoned, came and voted (public facts of the conference minutes);
- `ballots`: WHAT was marked — no voter (unless the voter signed a slip the box allows to be signed), no time, a
  random id; at the close every ballot of the box is rewritten in shuffled order under fresh random ids, so the
  stored order, the ids and (PostgreSQL) the writing transaction say nothing about the order of voting;
- the instance's audit chain: the opening, the attendance, each "a member voted" (no contents), and the tally.

Every function checks before it writes: a refusal raises a `workflows.errors` error and changes nothing (the
caller's transaction is rolled back anyway). Lock order everywhere: the box, then the instance.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from workflows.access import ancestry, oversees_unit
from workflows.audit import PendingEvent, instance_audit_rows
from workflows.clock import utcnow_naive
from workflows.engine.store import lock_instance, save_instance
from workflows.errors import Conflict, Invalid, NotAllowed, NotFound, Problem
from workflows.models import (
    Ballot,
    BallotBox,
    BallotBoxStatus,
    BallotElector,
    BallotMode,
    HumanTask,
    ProcessInstance,
    ProcessVersion,
)
from workflows.prepared import fetch_rows, server_prepared
from workflows.query_args import parse_id
from workflows.registry.cadre_columns import age_on
from workflows.registry.models import Cadre, CadrePosition, OrgUnit, Position, User
from workflows.rules.ballots import (
    BallotRules,
    CandidateCount,
    Mark,
    TallyResult,
    ballot_problems,
    closing_problems,
    count_ballots,
    is_own_ballot,
    members_count_problems,
    nobody_attended_problems,
    paper_count_problems,
    tally,
)
from workflows.states import InstanceStatus, Role

__all__ = [
    "BALLOT_EVENTS",
    "MANAGING_ROLES",
    "BallotToCast",
    "Candidate",
    "TallyMinutes",
    "ballots_to_cast",
    "can_manage_box",
    "can_see_result",
    "can_view_minutes",
    "cast_ballot",
    "close_box",
    "close_nobody_attended",
    "enter_paper_tally",
    "load_box",
    "mark_attendance",
    "open_box",
    "tally_minutes",
    "votes_on_self",
]

_ballots = cast(Table, Ballot.__table__)
_electors = cast(Table, BallotElector.__table__)

# The personnel body prepares and runs the conference; the head chairs it (NĐ 170 Đ33; domain rules §3.4).
MANAGING_ROLES = (Role.PERSONNEL, Role.HEAD)
# Who may read the tally minutes of a closed box: those who run it and the inspectors (§7: minutes go to the
# competent authority, never to the conference unless the step announces its result).
MINUTES_ROLES = (Role.PERSONNEL, Role.HEAD, Role.AUDITOR)

BALLOT_EVENTS = ("ballot_opened", "ballot_attendance", "ballot_cast", "ballot_closed")
MAX_CANDIDATES = 50
MAX_TEXT = 2000

_shuffle = random.SystemRandom().shuffle


@dataclass(frozen=True)
class Candidate:
    key: str
    name: str


# -- predicates -------------------------------------------------------------------------------------------------


def _box_units(session: Session, box: BallotBox) -> list[int]:
    instance_unit = session.scalar(select(ProcessInstance.unit_id).where(ProcessInstance.id == box.instance_id))
    return [unit for unit in (box.unit_id, instance_unit) if unit is not None]


def can_manage_box(session: Session, user: User, box: BallotBox) -> bool:
    """Attendance, close and paper tally: personnel or head over the voting unit or the procedure's unit."""
    return any(oversees_unit(session, user, unit, MANAGING_ROLES) for unit in _box_units(session, box))


def _elector(session: Session, box_id: int, user_id: int) -> BallotElector | None:
    return session.get(BallotElector, (box_id, user_id))


def votes_on_self(session: Session, user: User, box: BallotBox) -> bool:
    """Whether the user is the person the box's procedure is about (who never votes in it: `is_own_ballot`)."""
    subject = session.scalar(select(ProcessInstance.subject_cadre_id).where(ProcessInstance.id == box.instance_id))
    return is_own_ballot(user.cadre_id, subject)


def can_view_minutes(session: Session, user: User, box: BallotBox) -> bool:
    if box.is_open:
        return False
    return any(oversees_unit(session, user, unit, MINUTES_ROLES) for unit in _box_units(session, box))


def can_see_result(session: Session, user: User, box: BallotBox) -> bool:
    """Members see the result only of a closed box whose step announces it (§7)."""
    if box.is_open:
        return False
    if can_view_minutes(session, user, box):
        return True
    elector = _elector(session, box.id, user.id)
    return elector is not None and BallotRules.from_json(box.rules).announce


def load_box(session: Session, user: User, box_id: int) -> BallotBox:
    """The box if this user has any business with it (elector, or manager / inspector in scope), else NotFound."""
    box = session.get(BallotBox, box_id) if parse_id(box_id) is not None else None
    if box is None:
        raise NotFound(f"ballot box {box_id} does not exist")
    if _elector(session, box.id, user.id) is None and not (
        can_manage_box(session, user, box)
        or any(oversees_unit(session, user, unit, MINUTES_ROLES) for unit in _box_units(session, box))
    ):
        raise NotFound(f"ballot box {box_id} does not exist")
    return box


# -- audit ------------------------------------------------------------------------------------------------------


def _audit(session: Session, box: BallotBox, actor: User, event_type: str, payload: dict[str, Any]) -> None:
    """Append to the instance's chain; the instance row holds the chain head (workflows/audit.py)."""
    instance = lock_instance(session, box.instance_id)
    rows, seq, head = instance_audit_rows(instance, [PendingEvent(event_type, payload)], actor=actor)
    save_instance(session, instance, audit_rows=rows, audit_seq=seq, audit_head=head)


def _lock_box(session: Session, box_id: int) -> BallotBox:
    box = session.scalars(
        select(BallotBox).where(BallotBox.id == box_id).with_for_update().execution_options(populate_existing=True)
    ).one_or_none()
    if box is None:
        raise NotFound(f"ballot box {box_id} does not exist")
    return box


def _require_open(box: BallotBox) -> None:
    if not box.is_open:
        raise Conflict("This ballot is closed.")


# -- opening ----------------------------------------------------------------------------------------------------


def _in_unit(session: Session, unit_id: int, member_unit_id: int | None) -> bool:
    return member_unit_id is not None and unit_id in ancestry(session, member_unit_id)


def open_box(
    session: Session,
    *,
    actor: User,
    instance_id: int,
    step_key: str,
    question: str,
    candidates: Sequence[Candidate],
    elector_ids: Iterable[int],
    members_count: int,
    rules: BallotRules,
    mode: str = BallotMode.ONLINE,
    unit_id: int | None = None,
    is_signable: bool = False,
    wider_conference: bool = False,
    body_kind: str | None = None,
) -> BallotBox:
    """A box for one ballot of one step. Electors are the summoned members: users of the voting unit or below it
    (`unit_id`, by default the procedure's unit), never the person the procedure is about. `wider_conference`: the
    conference summons people beyond the collective, so the collective may be smaller than those summoned.
    `body_kind`: the unit's voting body the electors and the members count were taken from (decision 0122), named in
    the opening's event; None when the secretary chose them."""
    instance = session.get(ProcessInstance, instance_id)
    if instance is None:
        raise NotFound(f"instance {instance_id} does not exist")
    unit_id = unit_id if unit_id is not None else instance.unit_id
    if unit_id is None or session.get(OrgUnit, unit_id) is None:
        raise Invalid("The ballot needs the unit whose members vote.", [Problem("Choose a unit.", field="unit_id")])
    if not any(oversees_unit(session, actor, unit, MANAGING_ROLES) for unit in {unit_id, instance.unit_id}):
        raise NotAllowed("You may not open a ballot for this unit.")
    if instance.status != InstanceStatus.RUNNING:
        raise Conflict("The procedure is no longer running.")

    problems: list[Problem] = []
    if not step_key.strip() or len(step_key) > 120:
        problems.append(Problem("Name the step of the ballot.", field="step_key"))
    if not question.strip() or len(question) > MAX_TEXT:
        problems.append(Problem("Write the question of the ballot.", field="question"))
    keys = [c.key for c in candidates]
    if not candidates or len(candidates) > MAX_CANDIDATES:
        problems.append(Problem("A ballot needs between 1 and 50 candidates.", field="candidates"))
    if len(set(keys)) != len(keys) or any(not k.strip() or len(k) > 60 for k in keys):
        problems.append(Problem("Candidate keys must be unique and not empty.", field="candidates"))
    if any(not c.name.strip() or len(c.name) > 255 for c in candidates):
        problems.append(Problem("Every candidate needs a name.", field="candidates"))
    if isinstance(members_count, bool) or not isinstance(members_count, int) or members_count < 1:
        problems.append(Problem("The collective has at least one member.", field="members_count"))
    if mode not in set(BallotMode):
        problems.append(Problem("Choose online or paper ballots.", field="mode"))
    wanted = sorted(set(elector_ids))
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(wanted)))} if wanted else {}
    if not wanted:
        problems.append(Problem("Summon at least one member.", field="elector_ids"))
    for user_id in wanted:
        user = users.get(user_id)
        if user is None or not user.is_active:
            problems.append(Problem("No such active user.", field=f"elector:{user_id}"))
        elif not _in_unit(session, unit_id, user.unit_id):
            problems.append(Problem("Not a member of the unit holding this ballot.", field=f"elector:{user_id}"))
        elif is_own_ballot(user.cadre_id, instance.subject_cadre_id):
            problems.append(
                Problem("The person this procedure is about does not vote in its ballots.", field=f"elector:{user_id}")
            )
    if wanted and not isinstance(members_count, bool) and isinstance(members_count, int) and members_count >= 1:
        problems += members_count_problems(
            members=members_count, summoned=len(wanted), wider_conference=wider_conference
        )
    if problems:
        raise Invalid("The ballot cannot be opened.", problems)

    box = BallotBox(
        instance_id=instance.id,
        unit_id=unit_id,
        step_key=step_key.strip(),
        question=question.strip(),
        candidates=[{"key": c.key, "name": c.name.strip()} for c in candidates],
        rules=rules.to_json(),
        members_count=members_count,
        mode=str(mode),
        is_signable=is_signable,
        status=BallotBoxStatus.OPEN,
        opened_by_id=actor.id,
        opened_dt=utcnow_naive(),
    )
    session.add(box)
    session.flush()
    session.execute(
        insert(_electors),
        [
            {"box_id": box.id, "user_id": u, "is_summoned": True, "is_present": False, "has_voted": False}
            for u in wanted
        ],
    )
    payload = {
        "box_id": box.id,
        "step_key": box.step_key,
        "question": box.question,
        "candidates": box.candidates,
        "rules": box.rules,
        "members": members_count,
        "summoned": len(wanted),
        "mode": box.mode,
        "is_signable": is_signable,
    }
    if body_kind is not None:
        payload["body"] = str(body_kind)
    _audit(session, box, actor, "ballot_opened", payload)
    return box


# -- attendance -------------------------------------------------------------------------------------------------


def mark_attendance(session: Session, *, actor: User, box_id: int, present_ids: Iterable[int]) -> BallotBox:
    """Who is present (everyone else summoned is absent). A member who already voted cannot be marked absent."""
    box = _lock_box(session, box_id)
    if not can_manage_box(session, actor, box):
        raise NotAllowed("You may not manage this ballot.")
    _require_open(box)
    electors = {e.user_id: e for e in session.scalars(select(BallotElector).where(BallotElector.box_id == box.id))}
    present = set(present_ids)
    problems = [
        Problem("Not summoned to this ballot.", field=f"elector:{user_id}")
        for user_id in sorted(present)
        if user_id not in electors or not electors[user_id].is_summoned
    ]
    problems += [
        Problem("Has already voted and cannot be marked absent.", field=f"elector:{user_id}")
        for user_id, elector in sorted(electors.items())
        if elector.has_voted and user_id not in present
    ]
    if problems:
        raise Invalid("The attendance cannot be recorded.", problems)
    for user_id, elector in electors.items():
        elector.is_present = user_id in present
    session.flush()
    _audit(
        session, box, actor, "ballot_attendance", {"box_id": box.id, "present": sorted(present), "count": len(present)}
    )
    return box


# -- casting ----------------------------------------------------------------------------------------------------


def cast_ballot(session: Session, *, voter: User, box_id: int, contents: Mapping[str, Any], sign: bool = False) -> None:
    """One ballot of one present, summoned member. Stored without the voter (unless signed); the audit chain
    records only that the member voted."""
    box = _lock_box(session, box_id)
    _require_open(box)
    if box.mode != BallotMode.ONLINE:
        raise Conflict("This ballot is counted on paper; it cannot be cast online.")
    elector = _elector(session, box.id, voter.id)
    if elector is None or not elector.is_summoned:
        if not _in_unit(session, box.unit_id, voter.unit_id):
            raise NotAllowed("You are not a member of the unit holding this ballot.")
        raise NotAllowed("You are not summoned to this ballot.")
    if votes_on_self(session, voter, box):
        raise NotAllowed("This ballot is about you: you do not vote in it.")
    if not elector.is_present:
        raise NotAllowed("You are not recorded as present at the conference.")
    if elector.has_voted:
        raise Conflict("You have already voted in this ballot.")
    rules = BallotRules.from_json(box.rules)
    keys = [c["key"] for c in box.candidates]
    problems = ballot_problems(rules, keys, contents)
    if sign and not box.is_signable:
        problems.append(Problem("Ballots of this step are not signed.", field="sign"))
    if problems:
        raise Invalid("The ballot is not valid.", problems)
    # Only one of two concurrent submissions of the same member can flip the flag.
    flipped = session.connection().execute(
        update(_electors)
        .where(_electors.c.box_id == box.id, _electors.c.user_id == voter.id, _electors.c.has_voted.is_(False))
        .values(has_voted=True)
    )
    if flipped.rowcount != 1:
        raise Conflict("You have already voted in this ballot.")
    session.execute(
        insert(_ballots).values(
            id=str(uuid.uuid4()),
            box_id=box.id,
            contents={key: str(Mark(contents[key])) for key in keys},
            signed_by_id=voter.id if sign else None,
        )
    )
    session.expire(elector)
    _audit(session, box, voter, "ballot_cast", {"box_id": box.id})


# -- who the candidates are -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NomineeFacts:
    """What an elector reads about a candidate before marking them: the papers of the conference say it too."""

    unit_name: str
    posts: tuple[str, ...]  # "Phó Chủ tịch UBND (Ủy ban nhân dân xã Tân Phong)", held today
    age: int | None


def nominee_facts(session: Session, box: BallotBox, on: date) -> dict[str, NomineeFacts]:
    """By candidate key, for the candidates who are cadres of the register (their key is the cadre's code, as the
    steps open their boxes); a candidate named otherwise has nothing here. Two queries whatever the count."""
    codes = [str(candidate["key"]) for candidate in box.candidates]
    cadres = session.execute(
        select(Cadre.id, Cadre.code, Cadre.birth_date, OrgUnit.name)
        .join(OrgUnit, OrgUnit.id == Cadre.unit_id)
        .where(Cadre.code.in_(codes))
    ).all()
    held: dict[int, list[str]] = {}
    for cadre_id, title, unit_name in session.execute(
        select(CadrePosition.cadre_id, Position.title, OrgUnit.name)
        .join(Position, Position.id == CadrePosition.position_id)
        .join(OrgUnit, OrgUnit.id == Position.unit_id)
        .where(
            CadrePosition.cadre_id.in_([row.id for row in cadres]),
            CadrePosition.started_on <= on,
            or_(CadrePosition.ended_on.is_(None), CadrePosition.ended_on > on),
        )
        .order_by(CadrePosition.started_on, CadrePosition.id)
    ):
        held.setdefault(cadre_id, []).append(f"{title} ({unit_name})")
    return {
        code: NomineeFacts(unit_name, tuple(held.get(cadre_id, ())), age_on(birth, on) if birth else None)
        for cadre_id, code, birth, unit_name in cadres
    }


# -- the ballots a member still has to cast ---------------------------------------------------------------------


@dataclass(frozen=True)
class BallotToCast:
    box_id: int
    process_name: str
    step_name: str
    question: str
    is_present: bool  # False: the secretary has not recorded the member as present yet
    instance_id: int
    nominees: tuple[str, ...]  # the candidates' names, in ballot order
    opened_dt: datetime
    step_due_dt: datetime | None  # the conference step's deadline: nothing closes a box by the clock


# Every signed-in person's inbox asks this, so it is built once and prepared on the server (decision 0028).
_STEP_NAME = (
    select(HumanTask.name)
    .where(HumanTask.instance_id == BallotBox.instance_id, HumanTask.task_key == BallotBox.step_key)
    .order_by(HumanTask.id.desc())
    .limit(1)
    .scalar_subquery()
)
_STEP_DUE = (
    select(HumanTask.due_dt)
    .where(HumanTask.instance_id == BallotBox.instance_id, HumanTask.task_key == BallotBox.step_key)
    .order_by(HumanTask.id.desc())
    .limit(1)
    .scalar_subquery()
)


def awaited_votes(*columns: Any) -> Select[Any]:
    """`columns` of every (open online box, summoned elector who has not voted yet) pair, with the box's instance and
    its version joined: whom a ballot still waits for — the inbox's "ballots to cast" and the worker's notices. The
    nominee is in it; callers leave them out with `is_own_ballot`."""
    return (
        select(*columns)
        .select_from(BallotBox)
        .join(BallotElector, BallotElector.box_id == BallotBox.id)
        .join(ProcessInstance, ProcessInstance.id == BallotBox.instance_id)
        .join(ProcessVersion, ProcessVersion.id == ProcessInstance.process_version_id)
        .where(
            BallotElector.is_summoned.is_(True),
            BallotElector.has_voted.is_(False),
            BallotBox.status == BallotBoxStatus.OPEN,
            BallotBox.mode == BallotMode.ONLINE,
        )
    )


_BALLOTS_TO_CAST = server_prepared(
    awaited_votes(
        BallotBox.id,
        ProcessVersion.name,
        _STEP_NAME,
        BallotBox.question,
        BallotElector.is_present,
        ProcessInstance.subject_cadre_id,
        BallotBox.instance_id,
        BallotBox.candidates,
        BallotBox.opened_dt,
        _STEP_DUE,
    )
    .where(BallotElector.user_id == bindparam("user_id"))
    .order_by(BallotBox.id)
)
# How many of them the user may cast, for the menu's count (`is_own_ballot` in SQL: the nominee is left out).
BALLOTS_TO_CAST_COUNT = (
    awaited_votes(func.count())
    .join(User, User.id == BallotElector.user_id)
    .where(
        BallotElector.user_id == bindparam("user_id"),
        or_(
            User.cadre_id.is_(None),
            ProcessInstance.subject_cadre_id.is_(None),
            ProcessInstance.subject_cadre_id != User.cadre_id,
        ),
    )
)


def _json_list(value: Any) -> list[Any]:
    """A JSON column read straight from the driver: parsed by psycopg, text where a driver leaves it so."""
    return list(json.loads(value) if isinstance(value, str) else value or [])


def ballots_to_cast(session: Session, user: User) -> list[BallotToCast]:
    """The open online ballots the user is summoned to and has not voted in — facts of the minutes about the user
    alone (summoned, present, voted), never anything about a ballot's contents or anyone else's vote. A box of a
    procedure about the user is left out: they do not vote in it."""
    rows = fetch_rows(session.connection(), _BALLOTS_TO_CAST, {"user_id": user.id}).rows
    return [
        BallotToCast(
            box_id,
            process_name,
            name or question,
            question,
            bool(present),
            instance_id,
            tuple(str(candidate["name"]) for candidate in _json_list(candidates)),
            opened,
            due,
        )
        for box_id, process_name, name, question, present, subject, instance_id, candidates, opened, due in rows
        if not is_own_ballot(user.cadre_id, subject)
    ]


# -- closing and counting ---------------------------------------------------------------------------------------


def _attendance(session: Session, box: BallotBox) -> tuple[int, int]:
    row = session.execute(
        select(
            func.count().filter(BallotElector.is_summoned.is_(True)),
            func.count().filter(BallotElector.is_summoned.is_(True), BallotElector.is_present.is_(True)),
        ).where(BallotElector.box_id == box.id)
    ).one()
    return int(row[0]), int(row[1])


def _reseal(session: Session, box: BallotBox) -> list[dict[str, Any]]:
    """Rewrite every ballot of the box in a random order under fresh random ids, in the closing transaction, so
    neither the stored order, nor the ids seen while the box was open, nor the writing transaction can be matched
    to the order in which members voted (decision 0015). Returns the contents."""
    rows = [
        {"contents": r.contents, "signed_by_id": r.signed_by_id}
        for r in session.execute(
            select(_ballots.c.contents, _ballots.c.signed_by_id).where(_ballots.c.box_id == box.id)
        )
    ]
    session.execute(delete(_ballots).where(_ballots.c.box_id == box.id))
    _shuffle(rows)
    if rows:
        session.execute(insert(_ballots), [{"id": str(uuid.uuid4()), "box_id": box.id, **row} for row in rows])
    return [row["contents"] for row in rows]


def _finish(session: Session, box: BallotBox, actor: User, result: TallyResult) -> TallyResult:
    box.status = BallotBoxStatus.CLOSED
    box.closed_dt = utcnow_naive()
    box.closed_by_id = actor.id
    box.tally = result.to_json()
    session.flush()
    # The candidates' names with the count: the history words the result without reading the box (decision 0129).
    payload = {
        "box_id": box.id,
        "step_key": box.step_key,
        "mode": box.mode,
        "tally": box.tally,
        "candidates": box.candidates,
    }
    _audit(session, box, actor, "ballot_closed", payload)
    return result


def close_box(session: Session, *, actor: User, box_id: int) -> TallyResult:
    """Close an online box and count it by its rules."""
    box = _lock_box(session, box_id)
    if not can_manage_box(session, actor, box):
        raise NotAllowed("You may not manage this ballot.")
    _require_open(box)
    if box.mode != BallotMode.ONLINE:
        raise Conflict("This ballot is counted on paper: enter the counts of the tally minutes.")
    summoned, present = _attendance(session, box)
    problems = closing_problems(present=present)
    if problems:
        raise Invalid("The ballot cannot be closed yet.", problems)
    contents = _reseal(session, box)
    keys = [c["key"] for c in box.candidates]
    result = tally(
        BallotRules.from_json(box.rules),
        keys,
        count_ballots(keys, contents),
        members=box.members_count,
        summoned=summoned,
        present=present,
        issued=present,
        returned=len(contents),
        valid=len(contents),
    )
    return _finish(session, box, actor, result)


def close_nobody_attended(session: Session, *, actor: User, box_id: int, confirmed: bool) -> TallyResult:
    """Close a box, online or paper, whose conference nobody attended: the attendance of zero is recorded as the
    secretary's deliberate word (`nobody_attended` in the chain) and the tally is a missed quorum, so the procedure
    goes on as after any missed quorum (decision 0102). Refused while anyone is recorded present or unconfirmed."""
    box = _lock_box(session, box_id)
    if not can_manage_box(session, actor, box):
        raise NotAllowed("You may not manage this ballot.")
    _require_open(box)
    summoned, present = _attendance(session, box)
    problems = nobody_attended_problems(present=present, confirmed=confirmed)
    if problems:
        raise Invalid("The ballot cannot be closed as a conference nobody attended.", problems)
    # Nobody present: nobody could vote online (a member who voted cannot be marked absent), so no ballot exists.
    _audit(
        session, box, actor, "ballot_attendance", {"box_id": box.id, "present": [], "count": 0, "nobody_attended": True}
    )
    keys = [c["key"] for c in box.candidates]
    result = tally(
        BallotRules.from_json(box.rules),
        keys,
        {},
        members=box.members_count,
        summoned=summoned,
        present=0,
        issued=0,
        returned=0,
        valid=0,
    )
    return _finish(session, box, actor, result)


def enter_paper_tally(
    session: Session,
    *,
    actor: User,
    box_id: int,
    issued: int,
    returned: int,
    valid: int,
    counts: Mapping[str, CandidateCount],
) -> TallyResult:
    """The counts of the paper tally minutes (biên bản kiểm phiếu), checked, counted by the same rules and stored
    as the same tally record as an online ballot; the box is closed."""
    box = _lock_box(session, box_id)
    if not can_manage_box(session, actor, box):
        raise NotAllowed("You may not manage this ballot.")
    _require_open(box)
    if box.mode != BallotMode.PAPER:
        raise Conflict("This ballot is cast online; close it instead of entering counts.")
    rules = BallotRules.from_json(box.rules)
    keys = [c["key"] for c in box.candidates]
    summoned, present = _attendance(session, box)
    refused = closing_problems(present=present)
    if refused:
        raise Invalid("The ballot cannot be closed yet.", refused)
    problems = paper_count_problems(
        rules, keys, present=present, issued=issued, returned=returned, valid=valid, counts=counts
    )
    if problems:
        raise Invalid("The counts do not add up.", problems)
    result = tally(
        rules,
        keys,
        counts,
        members=box.members_count,
        summoned=summoned,
        present=present,
        issued=issued,
        returned=returned,
        valid=valid,
    )
    return _finish(session, box, actor, result)


# -- the tally minutes ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MinutesCandidate:
    key: str
    name: str
    yes: int
    no: int
    abstain: int
    percent: float
    passed: bool
    at_threshold: bool


@dataclass(frozen=True)
class TallyMinutes:
    """What a biên bản kiểm phiếu states (NĐ 170 Đ35 item 2; domain rules §9.1)."""

    box_id: int
    instance_reference: str
    process_name: str  # the procedure as people name it ("Bổ nhiệm cán bộ"), with `instance_id` its number
    instance_id: int
    unit_name: str
    subject_name: str | None
    step_key: str
    step_name: str  # the step's name in the model; the key when the model names none
    question: str
    mode: str
    opened_dt: datetime
    closed_dt: datetime | None
    secretary_name: str | None
    rules: BallotRules
    members: int
    summoned: int
    present: int
    absent: int
    issued: int
    returned: int
    valid: int
    invalid: int
    signed: int
    denominator: int
    quorum_met: bool
    outcome: str
    candidates: tuple[MinutesCandidate, ...]
    elected: tuple[str, ...]
    head_decides: tuple[str, ...]
    runoff: tuple[str, ...]
    present_names: tuple[str, ...] = field(default=())
    absent_names: tuple[str, ...] = field(default=())


def tally_minutes(session: Session, box: BallotBox, step_name: str | None = None) -> TallyMinutes:
    """The printable tally minutes of a closed box (attendance is public; ballots appear only as counts).
    `step_name`: the name the model gives the box's step (the caller reads the model); its key otherwise."""
    if box.tally is None:
        raise Conflict("The ballot is not counted yet.")
    record = box.tally
    names = {c["key"]: c["name"] for c in box.candidates}
    electors = session.execute(
        select(User.full_name, BallotElector.is_present)
        .join(BallotElector, BallotElector.user_id == User.id)
        .where(BallotElector.box_id == box.id, BallotElector.is_summoned.is_(True))
        .order_by(User.full_name)
    ).all()
    signed = session.scalar(
        select(func.count()).select_from(Ballot).where(Ballot.box_id == box.id, Ballot.signed_by_id.is_not(None))
    )
    secretary = session.get(User, box.closed_by_id) if box.closed_by_id else None
    instance = box.instance
    return TallyMinutes(
        box_id=box.id,
        instance_reference=instance.reference,
        process_name=instance.process_version.name,
        instance_id=instance.id,
        unit_name=box.unit.name,
        subject_name=instance.subject.full_name if instance.subject else None,
        step_key=box.step_key,
        step_name=step_name or box.step_key,
        question=box.question,
        mode=box.mode,
        opened_dt=box.opened_dt,
        closed_dt=box.closed_dt,
        secretary_name=secretary.full_name if secretary else None,
        rules=BallotRules.from_json(record["rules"]),
        members=record["members"],
        summoned=record["summoned"],
        present=record["present"],
        absent=record["summoned"] - record["present"],
        issued=record["issued"],
        returned=record["returned"],
        valid=record["valid"],
        invalid=record["invalid"],
        signed=int(signed or 0),
        denominator=record["denominator"],
        quorum_met=record["quorum_met"],
        outcome=record["outcome"],
        candidates=tuple(
            MinutesCandidate(
                key=c["key"],
                name=names.get(c["key"], c["key"]),
                yes=c["yes"],
                no=c["no"],
                abstain=c["abstain"],
                percent=c["percent"],
                passed=c["passed"],
                at_threshold=c["at_threshold"],
            )
            for c in record["candidates"]
        ),
        elected=tuple(names.get(k, k) for k in record["elected"]),
        head_decides=tuple(names.get(k, k) for k in record["head_decides"]),
        runoff=tuple(names.get(k, k) for k in record["runoff"]),
        present_names=tuple(name for name, is_present in electors if is_present),
        absent_names=tuple(name for name, is_present in electors if not is_present),
    )
