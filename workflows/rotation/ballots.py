"""The rotation's one ballot: where the rotation is also an appointment (a leadership post), the collective
leadership of the competent authority votes on it by secret ballot (QĐ 65 §4.4 step 4: > 50% of the members).

The mechanism is the appointment's (`workflows.ballot_steps`, decision 0016): the secretary's user task
`ballot_collective` opens a box of the competent authority's unit (`authority_unit_id`: the unit above the receiving
unit), the members vote on the ballot pages, the box is closed and completing the task copies the tally — never a
ballot — into the data, under a hidden key (§7: not announced).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from workflows.appointment.steps import Next, StepBallot, StepKind
from workflows.ballot_steps import SHARED_NOTE_KEY, USED_BOXES, BallotProcedure, closed_box
from workflows.ballots import Candidate
from workflows.errors import Invalid, Problem
from workflows.rotation import PROCESS_ID
from workflows.rules.ballots import BallotRules, Denominator, Outcome
from workflows.states import BodyKind

__all__ = ["ROTATION_BALLOTS", "STEPS", "after_collective_ballot", "take_tally"]

# QĐ 65 §4.4 step 4 [U], NĐ 170 Đ33 pattern [P]: more than half of all the collective's members; not announced.
STEPS: dict[str, StepBallot] = {
    "ballot_collective": StepBallot(
        "Tập thể lãnh đạo biểu quyết luân chuyển, bổ nhiệm {cadre} giữ chức vụ {position}",
        StepKind.FINAL,
        BallotRules(denominator=Denominator.MEMBERS, runoff_size=0, head_decides_at_threshold=False, announce=False),
        body=BodyKind.LEADERSHIP,
    ),
}


def _question(step: str, data: Mapping[str, Any]) -> str:
    return STEPS[step].question.format(
        cadre=data.get("cadre_name") or "", position=data.get("target_position_title") or ""
    )


def _candidates(session: Session, step: str, data: Mapping[str, Any], more_codes: Sequence[str]) -> list[Candidate]:
    if any(code.strip() for code in more_codes):
        raise Invalid(
            "The ballot cannot be opened.",
            [Problem("This step votes only on the nominees of the previous steps.", field="more_candidates")],
        )
    return [Candidate(str(n["key"]), str(n["name"])) for n in data.get("nominees") or []]


def _voting_unit(step: str, data: Mapping[str, Any]) -> int | None:
    unit = data.get("authority_unit_id")
    return int(unit) if unit is not None else None


def _note_key(step: str) -> str:
    # The one ballot step keeps `ballot_note`: no other step of the rotation writes it (decision 0053).
    return SHARED_NOTE_KEY


ROTATION_BALLOTS = BallotProcedure(PROCESS_ID, STEPS, _question, _candidates, _voting_unit, _note_key)


def after_collective_ballot(tally: Mapping[str, Any], subject_key: str) -> Next:
    """A missed quorum holds the vote again; the cadre chosen goes on to the decision; anything else stops."""
    outcome = tally.get("outcome")
    if outcome == Outcome.QUORUM_FAILED:
        return Next.REPEAT
    if outcome == Outcome.ELECTED and subject_key in (tally.get("elected") or ()):
        return Next.PROCEED
    return Next.STOP


def take_tally(session: Session, instance_id: int, data: Mapping[str, Any]) -> dict[str, Any]:
    """For the ballot task's hook: the closed box's tally (hidden key) and where to go next; `Invalid` until the
    box has been opened, voted and closed."""
    step, box = closed_box(session, ROTATION_BALLOTS, instance_id, data)
    assert box.tally is not None
    return {
        f"_tally_{step}": dict(box.tally),
        "ballot_next": str(after_collective_ballot(box.tally, str(data.get("cadre_code")))),
        USED_BOXES: [*(data.get(USED_BOXES) or []), box.id],
    }
