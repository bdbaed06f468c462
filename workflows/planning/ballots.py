"""The ballot steps of the planning review, on the shared mechanism of `workflows.ballot_steps` (decision 0019):
the candidates are the nominations still in the list, the members of the procedure's unit vote."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from workflows.ballot_steps import BallotProcedure, step_note_key
from workflows.ballots import Candidate
from workflows.errors import Invalid, Problem
from workflows.planning import PROCESS_ID
from workflows.planning.steps import STEPS, voters_of

__all__ = ["PLANNING_BALLOTS", "candidate_name"]


def candidate_name(nominee: Mapping[str, Any]) -> str:
    return f"{nominee.get('cadre_name')} — {nominee.get('title')}"[:255]


def _candidates(session: Session, step: str, data: Mapping[str, Any], more_codes: Sequence[str]) -> list[Candidate]:
    if any(code.strip() for code in more_codes):
        raise Invalid(
            "The ballot cannot be opened.",
            [Problem("This step votes only on the nominees of the previous steps.", field="more_candidates")],
        )
    return [Candidate(str(n["key"]), candidate_name(n)) for n in voters_of(step, data.get("nominees") or [])]


def _question(step: str, data: Mapping[str, Any]) -> str:
    scope = f"{data.get('unit_name') or ''}, nhiệm kỳ {data.get('term') or ''}"
    return STEPS[step].question.format(scope=scope)


def _voting_unit(step: str, data: Mapping[str, Any]) -> int | None:
    return None  # the members of the procedure's unit


# Three ballot steps, each with its own note (decision 0053).
PLANNING_BALLOTS = BallotProcedure(PROCESS_ID, STEPS, _question, _candidates, _voting_unit, step_note_key)
