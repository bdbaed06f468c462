"""The ballots of the appointment procedure, by the BPMN user task that holds them, and where the procedure goes
after each tally. Pure: no database, no clock.

Publicity per §7 of the domain rules: step 2 not announced, step 3 announced (and shows step 2's result), step 4 not
announced (slips may be signed), the re-appointment confidence ballot not announced. A result that is not announced
goes into the task data under a key starting with "_", which task pages never show; the tally minutes stay with
those who run the ballot and the inspectors (workflows/ballots.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from workflows.rules.appointment import DEFAULT_POLICY, AppointmentPolicy
from workflows.rules.appointment import Confidence as Confidence  # re-exported: the confidence step's levels
from workflows.rules.appointment import confidence_level as rules_confidence_level
from workflows.rules.ballots import BallotRules, Denominator, Outcome
from workflows.states import BodyKind


class StepKind(StrEnum):
    POOL = "pool"  # a nomination whose result feeds the next step (step 2)
    CHOOSE = "choose"  # picks the nominee(s) for the next steps (step 3)
    OPINION = "opinion"  # an opinion that goes with the dossier (step 4, the re-appointment confidence ballot)
    FINAL = "final"  # decides whether the nominee goes to the competent authority


class Next(StrEnum):
    """`ballot_next` in the task data: the gateways after a ballot route on it."""

    PROCEED = "proceed"
    REPEAT = "repeat"  # the quorum was missed: the conference is held again (a new box)
    HEAD = "head"  # exactly at the threshold, or tied: the head decides
    STOP = "stop"  # the nominee was not chosen


class VotingUnit(StrEnum):
    PROCEDURE = "procedure"  # the unit where the post is (the instance's unit)
    CADRE = "cadre"  # the unit where the nominee works now (external source, NĐ 170 Đ33 k3 step 2)


@dataclass(frozen=True)
class StepBallot:
    question: str
    kind: StepKind
    rules: BallotRules
    is_signable: bool = False
    voting_unit: VotingUnit = VotingUnit.PROCEDURE
    accepts_more_candidates: bool = False  # a nomination may name others than the nominee
    # The earlier steps whose results the conference is told (§7: step 3 announces step 2's; §3.4 step 5 analyses all
    # results, decision 0132), in the order they ran.
    shows_result_of: tuple[str, ...] = ()
    # The conference summons more than the collective (§3.4 steps 2 and 4), so the collective may be the smaller.
    wider_conference: bool = False
    # The slip offers the approved plan's people for the post beside the nominee (§3.4 step 2, decision 0121;
    # `rules.appointment.nomination_pool`, switched off by the policy's `nomination_pool_from_plan`).
    pool_from_plan: bool = False
    # The voting unit's body the step summons (decision 0122): its members are the electors and its size the members
    # count; None, or a body the unit has not configured: the secretary chooses as before.
    body: BodyKind | None = None


# Rules per step: domain rules §3.4 (NĐ 170 Đ33 k2, QĐ 105 pattern), §3.5 (Đ33 k3), §3.8 (Đ39), §7.
STEPS: dict[str, StepBallot] = {
    "ballot_step2": StepBallot(
        "Hội nghị tập thể lãnh đạo mở rộng: giới thiệu nhân sự bổ nhiệm {position}",
        StepKind.POOL,
        BallotRules(announce=False),
        accepts_more_candidates=True,
        wider_conference=True,
        pool_from_plan=True,
        body=BodyKind.EXPANDED_LEADERSHIP,
    ),
    "ballot_step3": StepBallot(
        "Hội nghị tập thể lãnh đạo (lần 2): giới thiệu nhân sự bổ nhiệm {position}",
        StepKind.CHOOSE,
        BallotRules(announce=True),
        accepts_more_candidates=True,
        shows_result_of=("ballot_step2",),
        body=BodyKind.LEADERSHIP,
    ),
    "ballot_step4": StepBallot(
        "Hội nghị cán bộ chủ chốt: lấy ý kiến về nhân sự bổ nhiệm {position}",
        StepKind.OPINION,
        BallotRules(seats=None, runoff_size=0, head_decides_at_threshold=False, announce=False, advisory=True),
        is_signable=True,
        wider_conference=True,
        body=BodyKind.KEY_CADRES,
    ),
    "ballot_step5": StepBallot(
        "Hội nghị tập thể lãnh đạo (lần 3): biểu quyết bổ nhiệm {position}",
        StepKind.FINAL,
        BallotRules(denominator=Denominator.MEMBERS, runoff_size=0, announce=False),
        shows_result_of=("ballot_step2", "ballot_step3", "ballot_step4"),
        body=BodyKind.LEADERSHIP,
    ),
    "ballot_sending_unit": StepBallot(
        "Tập thể lãnh đạo nơi cán bộ đang công tác: lấy phiếu về việc bổ nhiệm {position}",
        StepKind.FINAL,
        BallotRules(denominator=Denominator.SUMMONED, runoff_size=0, announce=False),
        voting_unit=VotingUnit.CADRE,
        body=BodyKind.LEADERSHIP,
    ),
    "ballot_confidence": StepBallot(
        "Hội nghị cán bộ chủ chốt: tín nhiệm bổ nhiệm lại {position}",
        StepKind.OPINION,
        BallotRules(seats=None, runoff_size=0, head_decides_at_threshold=False, announce=False, advisory=True),
        wider_conference=True,
        body=BodyKind.KEY_CADRES,
    ),
    "ballot_reappointment": StepBallot(
        "Tập thể lãnh đạo biểu quyết bổ nhiệm lại {position}",
        StepKind.FINAL,
        BallotRules(denominator=Denominator.MEMBERS, runoff_size=0, announce=False),
        body=BodyKind.LEADERSHIP,
    ),
}


def tally_key(step: str) -> str:
    """Where a step's tally goes in the task data; hidden ("_") unless the step announces its result."""
    return f"tally_{step}" if STEPS[step].rules.announce else f"_tally_{step}"


@dataclass(frozen=True)
class AfterBallot:
    next: Next
    nominees: tuple[str, ...]  # candidate keys the next steps vote on
    head_candidates: tuple[str, ...] = ()


def after_ballot(step: str, tally: Mapping[str, Any], subject_key: str, nominees: Sequence[str]) -> AfterBallot:
    """Where the procedure goes after the tally of `step`; `subject_key` is the nominee the procedure is about."""
    kind = STEPS[step].kind
    outcome = tally.get("outcome")
    current = tuple(nominees)
    if outcome == Outcome.QUORUM_FAILED:
        return AfterBallot(Next.REPEAT, current)
    if kind == StepKind.POOL:
        return AfterBallot(Next.PROCEED, carried_forward(tally, subject_key))
    if kind == StepKind.OPINION:
        return AfterBallot(Next.PROCEED, current)
    elected = tuple(tally.get("elected") or ())
    if outcome == Outcome.HEAD_DECIDES:
        head = tuple(tally.get("head_decides") or ())
        if subject_key in elected:
            return AfterBallot(Next.PROCEED, (subject_key,))
        if subject_key not in head:
            return AfterBallot(Next.STOP, current)
        return AfterBallot(Next.HEAD, current, head)
    if outcome == Outcome.ELECTED:
        if subject_key in elected:
            return AfterBallot(Next.PROCEED, (subject_key,))
        return AfterBallot(Next.STOP, current)
    if outcome == Outcome.RUNOFF and kind == StepKind.CHOOSE:
        runoff = tuple(tally.get("runoff") or ())
        if subject_key in runoff:
            return AfterBallot(Next.PROCEED, runoff)
        return AfterBallot(Next.STOP, current)
    return AfterBallot(Next.STOP, current)


# NĐ 170 Điều 33 k2 step 3 [V] S34, QĐ 105 [P] S43: the leadership nominates from step 2's pool or others qualified.
def carried_forward(tally: Mapping[str, Any], subject_key: str) -> tuple[str, ...]:
    """Whom a nomination slip's tally hands to the next conference: the one chosen (most votes above the threshold),
    else those tied at it for the head, else the top ones carried forward (`runoff`) — then the proposed nominee,
    if not among them: step 2 decides nothing (it is not announced), so the procedure about the nominee reaches the
    step that does (decision 0121). A tally without any of these (nobody named) hands on the nominee alone."""
    result = [*(tally.get("elected") or ()), *(tally.get("head_decides") or ()), *(tally.get("runoff") or ())]
    keys = list(dict.fromkeys(str(key) for key in result))
    if subject_key not in keys:
        keys.append(subject_key)
    return tuple(keys)


def after_head_choice(choice: str | None, subject_key: str) -> Next:
    return Next.PROCEED if choice == subject_key else Next.STOP


@dataclass(frozen=True)
class ResultRow:
    """One candidate of an earlier conference's result as the next conference is told it (§7: step 3 shows step
    2's): structured, for the pages to word in the reader's language (decision 0094)."""

    name: str
    yes: int
    denominator: int
    percent: float


def result_rows(tally: Mapping[str, Any], names: Mapping[str, str]) -> tuple[ResultRow, ...]:
    """Each candidate of a tally: name, votes in favour, the denominator and the share in percent."""
    return tuple(
        ResultRow(
            str(names.get(c["key"], c["key"])),
            int(c.get("yes") or 0),
            int(tally.get("denominator") or 0),
            float(c.get("percent") or 0),
        )
        for c in tally.get("candidates") or []
    )


# QĐ 96-QĐ/TW [V] S47 through rules.appointment.confidence_level: > 1/2 low confidence, ≥ 2/3 dismissal.
def confidence_level(
    tally: Mapping[str, Any], subject_key: str, policy: AppointmentPolicy = DEFAULT_POLICY
) -> Confidence:
    """The level of the subject's row in a confidence ballot's tally (NORMAL when the subject is not on it)."""
    row = next((c for c in tally.get("candidates") or [] if c.get("key") == subject_key), None)
    if row is None:
        return Confidence.NORMAL
    return rules_confidence_level(
        int(row.get("no") or 0),
        int(tally.get("denominator") or 0),
        quorum_met=bool(tally.get("quorum_met")),
        policy=policy,
    )
