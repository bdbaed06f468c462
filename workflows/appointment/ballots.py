"""The ballot box of the step an appointment is at (the mechanism is `workflows.ballot_steps`, decision 0016).

A ballot step is a user task of the secretary (personnel body) named in `steps.STEPS`. While it is open, the secretary
opens the step's box here (the electors and mode are theirs to choose; the question, candidates, rules and whether slips
may be signed come from the step and the procedure's data), runs the vote on the ballot pages
(workflows/ballots.py) and closes it. Completing the task is refused until the box is closed; the form hook then
copies the tally — never a ballot — into the task data.

One box per activation of a step: a box already opened for it (open, or closed and not yet taken into the data)
refuses a second one, so a result cannot be voted again until it suits. A missed quorum routes back to the step,
which then takes a new box.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows import ballot_steps
from workflows.appointment import PROCESS_ID
from workflows.appointment.facts import planned_for_post
from workflows.appointment.steps import STEPS, ResultRow, VotingUnit, result_rows
from workflows.ballot_steps import USED_BOXES, BallotProcedure, OpenStep, boxes_of_step, pending_box, step_note_key
from workflows.ballots import Candidate
from workflows.engine.runtime import ProcessEngine
from workflows.errors import Invalid, Problem
from workflows.models import BallotBox, BallotMode, HumanTask
from workflows.registry.models import Cadre, User
from workflows.rules.appointment import AppointmentPolicy, nomination_pool

__all__ = [
    "APPOINTMENT_BALLOTS",
    "LEGACY_RESULT_MARK",
    "USED_BOXES",
    "EarlierResult",
    "OpenStep",
    "ResultRow",
    "boxes_of_step",
    "current_step",
    "earlier_results",
    "open_ballot_task",
    "open_step_ballot",
    "own_question",
    "pending_box",
]


def _pool(session: Session, data: Mapping[str, Any]) -> list[Candidate]:
    """The nomination slip's names (§3.4 step 2, decision 0121): the proposed nominee and the local-source cadres of
    the approved plan for the post (`rules.appointment.nomination_pool`, as the procedure's policy says)."""
    nominee = (str(data.get("cadre_code")), str(data.get("cadre_name")))
    position_id, unit_id = data.get("target_position_id"), data.get("target_unit_id")
    if position_id is None or unit_id is None:
        return [Candidate(*nominee)]
    planned, units = planned_for_post(session, int(position_id))
    policy = AppointmentPolicy.from_mapping(data.get("policy") or {})
    return [Candidate(code, name) for code, name in nomination_pool(nominee, planned, int(unit_id), units, policy)]


def _candidates(session: Session, step: str, data: Mapping[str, Any], more_codes: Sequence[str]) -> list[Candidate]:
    nominees = [Candidate(str(n["key"]), str(n["name"])) for n in data.get("nominees") or []]
    if STEPS[step].pool_from_plan:
        nominees = [*nominees, *(c for c in _pool(session, data) if c.key not in {n.key for n in nominees})]
    codes = [code.strip() for code in more_codes if code.strip()]
    if codes and not STEPS[step].accepts_more_candidates:
        raise Invalid(
            "The ballot cannot be opened.",
            [Problem("This step votes only on the nominees of the previous steps.", field="more_candidates")],
        )
    known = {c.key for c in nominees}
    problems = []
    for code in codes:
        cadre = session.scalar(select(Cadre).where(Cadre.code == code, Cadre.is_active))
        if cadre is None:
            problems.append(Problem("No active cadre has this code.", field=f"more_candidates:{code}"))
        elif cadre.code not in known:
            nominees.append(Candidate(cadre.code, cadre.full_name))
            known.add(cadre.code)
    if problems:
        raise Invalid("The ballot cannot be opened.", problems)
    return nominees


def _question(step: str, data: Mapping[str, Any]) -> str:
    # The earlier conference's result (§7) is not written into the question: the pages word it in the reader's
    # language from the earlier boxes (`earlier_results`, decision 0094).
    return STEPS[step].question.format(position=data.get("target_position_title") or "")


# Before decision 0094 the question carried the earlier result as a Vietnamese sentence ("…. Kết quả hội nghị trước:
# Lê Khánh Hồng: 3/3 (100.0%)"); those boxes and their audit events keep it as stored.
LEGACY_RESULT_MARK = ". Kết quả hội nghị trước: "


def own_question(question: str) -> str:
    """A box's question without the earlier result a box opened before decision 0094 appended to it."""
    return question.split(LEGACY_RESULT_MARK, 1)[0]


@dataclass(frozen=True)
class EarlierResult:
    """One earlier conference's result as a later conference is told it: the conference (its question up to the
    colon, "Hội nghị cán bộ chủ chốt") and each candidate's share."""

    conference: str
    rows: tuple[ResultRow, ...]


def earlier_results(session: Session, box: BallotBox) -> tuple[EarlierResult, ...]:
    """The results the box's step tells its conference (§7: step 3 is told step 2's; §3.4: step 5 analyses all of
    them, decision 0132): of each step it names, the tally of the last box closed before this one opened, in the
    steps' order; empty for any other step or procedure."""
    config = STEPS.get(box.step_key)
    if config is None or not config.shows_result_of or box.instance.process_id != PROCESS_ID:
        return ()
    closed = session.scalars(
        select(BallotBox)
        .where(
            BallotBox.instance_id == box.instance_id,
            BallotBox.step_key.in_(config.shows_result_of),
            BallotBox.closed_dt.is_not(None),
            BallotBox.closed_dt <= box.opened_dt,
        )
        .order_by(BallotBox.closed_dt.desc(), BallotBox.id.desc())
    ).all()
    last: dict[str, BallotBox] = {}
    for each in closed:
        last.setdefault(each.step_key, each)
    return tuple(
        EarlierResult(
            own_question(earlier.question).split(":", 1)[0].strip(),
            result_rows(earlier.tally, {str(c["key"]): str(c["name"]) for c in earlier.candidates}),
        )
        for step in config.shows_result_of
        if (earlier := last.get(step)) is not None and earlier.tally
    )


def _voting_unit(step: str, data: Mapping[str, Any]) -> int | None:
    if STEPS[step].voting_unit == VotingUnit.CADRE:
        unit = data.get("cadre_unit_id")
        return int(unit) if unit is not None else None
    return None


# Several ballot steps follow one another on each path: each has its own note (decision 0053).
APPOINTMENT_BALLOTS = BallotProcedure(PROCESS_ID, STEPS, _question, _candidates, _voting_unit, step_note_key)


def open_ballot_task(session: Session, instance_id: int) -> HumanTask | None:
    """The open ballot task of an appointment, if it is at one (ballot steps never run in parallel)."""
    return ballot_steps.open_ballot_task(session, instance_id, STEPS)


def current_step(session: Session, engine: ProcessEngine, instance_id: int) -> OpenStep:
    return ballot_steps.current_step(session, engine, APPOINTMENT_BALLOTS, instance_id)


def open_step_ballot(
    session: Session,
    engine: ProcessEngine,
    *,
    actor: User,
    instance_id: int,
    elector_ids: Iterable[int] | None = None,
    members_count: int | None = None,
    mode: str = BallotMode.ONLINE,
    more_candidates: Sequence[str] = (),
) -> BallotBox:
    """Open the box of the ballot step the appointment is at (`ballot_steps.open_step_ballot`; a kept voting body
    summons itself, decision 0122)."""
    return ballot_steps.open_step_ballot(
        session,
        engine,
        APPOINTMENT_BALLOTS,
        actor=actor,
        instance_id=instance_id,
        elector_ids=elector_ids,
        members_count=members_count,
        mode=mode,
        more_candidates=more_candidates,
    )
