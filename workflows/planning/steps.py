"""The ballots of the planning review, by the BPMN user task that holds them, and who goes on after each tally.
Pure: no database, no clock.

Each candidate of a planning ballot is one nomination — a cadre for a title (key `<cadre code>@<position id>`) — judged
on its own (`seats=None`): several people are planned for one title and one person for several titles.

- The key cadres conference (hội nghị cán bộ chủ chốt) nominates by secret ballot; its result is not announced and
  goes on to the collective leadership as a reference (QĐ 377-QĐ/TW, domain rules §2.3–2.4): everyone proceeds.
- The collective leadership nominates by secret ballot: a nomination proceeds with more than 50% of the members of
  the collective (denominator MEMBERS, threshold 1/2, strictly more).
- The party committee votes on the committee titles only, by the same rule against its members.
A missed quorum holds the conference again (a new box). None of these results is announced (§7).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from workflows.rules.ballots import BallotRules, Denominator, Outcome
from workflows.states import BodyKind

__all__ = [
    "COMMITTEE_TITLE_CODES",
    "STEPS",
    "AfterBallot",
    "Next",
    "PlanningStep",
    "StepKind",
    "after_ballot",
    "committee_titles_at",
    "is_nomination_key",
    "nomination_key",
    "tally_key",
]


class StepKind(StrEnum):
    REFERENCE = "reference"  # the key cadres conference: a reference for the collective, nobody is dropped
    NOMINATE = "nominate"  # the collective leadership: only those above the threshold go on
    COMMITTEE = "committee"  # the party committee: the same, for committee titles only


class Next(StrEnum):
    PROCEED = "proceed"
    REPEAT = "repeat"  # the quorum was missed: the conference is held again (a new box)


@dataclass(frozen=True)
class PlanningStep:
    question: str
    kind: StepKind
    rules: BallotRules
    is_signable: bool = False
    wider_conference: bool = False  # the key cadres conference summons more than the collective
    body: BodyKind | None = None  # the voting unit's body the step summons (decision 0122)


# QĐ 377-QĐ/TW (domain rules §2.3): > 50% of the members of the collective / the committee [V]; the quorum (2/3 of
# those summoned) is the ballots' default [V]. Each nomination judged on its own, no carry-forward, no head's choice.
_EACH_ON_ITS_OWN = {"seats": None, "runoff_size": 0, "head_decides_at_threshold": False, "announce": False}
STEPS: dict[str, PlanningStep] = {
    "ballot_key_cadres": PlanningStep(
        "Hội nghị cán bộ chủ chốt: giới thiệu nhân sự quy hoạch {scope}",
        StepKind.REFERENCE,
        BallotRules(denominator=Denominator.SUMMONED, advisory=True, **_EACH_ON_ITS_OWN),  # type: ignore[arg-type]
        wider_conference=True,
        body=BodyKind.KEY_CADRES,
    ),
    "ballot_leadership": PlanningStep(
        "Tập thể lãnh đạo: giới thiệu nhân sự quy hoạch {scope}",
        StepKind.NOMINATE,
        BallotRules(denominator=Denominator.MEMBERS, **_EACH_ON_ITS_OWN),  # type: ignore[arg-type]
        body=BodyKind.LEADERSHIP,
    ),
    "ballot_committee": PlanningStep(
        "Cấp ủy: biểu quyết quy hoạch chức danh cấp ủy {scope}",
        StepKind.COMMITTEE,
        BallotRules(denominator=Denominator.MEMBERS, **_EACH_ON_ITS_OWN),  # type: ignore[arg-type]
        body=BodyKind.PARTY_COMMITTEE,
    ),
}

# The titles the party committee votes on (chức danh cấp ủy) [U]: the start copies them into the data, so a province
# that counts others changes this list and only new reviews see it.
COMMITTEE_TITLE_CODES: tuple[str, ...] = (
    "commune_party_secretary",
    "commune_deputy_party_secretary",
    "party_committee_member",
    "province_party_secretary",
    "province_deputy_party_secretary",
)


def committee_titles_at(commune_level: bool) -> list[str]:
    """The committee titles a review's committee votes on: a commune-level review (a commune, ward or special zone,
    or a unit of one) votes on the commune's party committee, never the Tỉnh ủy's, and a provincial review the other
    way round; a party committee member may be of either (two-level local government, domain rules §0)."""
    other_level = "province_" if commune_level else "commune_"
    return [code for code in COMMITTEE_TITLE_CODES if not code.startswith(other_level)]


def nomination_key(cadre_code: str, position_id: int) -> str:
    return f"{cadre_code}@{position_id}"


def is_nomination_key(value: Any) -> bool:
    """Whether a value is a `nomination_key`: a cadre code, "@", a title's id."""
    if not isinstance(value, str):
        return False
    code, at, position_id = value.rpartition("@")
    return bool(code and at and position_id.isdigit())


def tally_key(step: str) -> str:
    """Where a step's tally goes in the task data: hidden ("_"), as no planning ballot is announced."""
    return f"tally_{step}" if STEPS[step].rules.announce else f"_tally_{step}"


def voters_of(step: str, nominees: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The nominations a step votes on: the committee votes on committee titles only."""
    if STEPS[step].kind == StepKind.COMMITTEE:
        return [n for n in nominees if n.get("committee")]
    return list(nominees)


@dataclass(frozen=True)
class AfterBallot:
    next: Next
    nominees: tuple[Mapping[str, Any], ...]
    dropped: tuple[Mapping[str, Any], ...] = ()


def after_ballot(step: str, tally: Mapping[str, Any], nominees: Sequence[Mapping[str, Any]]) -> AfterBallot:
    """Who goes on after the tally of `step` (nominations as the data holds them, each with its "key")."""
    current = tuple(nominees)
    if tally.get("outcome") == Outcome.QUORUM_FAILED:
        return AfterBallot(Next.REPEAT, current)
    kind = STEPS[step].kind
    if kind == StepKind.REFERENCE:
        return AfterBallot(Next.PROCEED, current)
    elected = set(tally.get("elected") or ())
    voted = {str(n["key"]) for n in voters_of(step, current)}
    kept = tuple(n for n in current if str(n["key"]) not in voted or str(n["key"]) in elected)
    dropped = tuple(n for n in current if str(n["key"]) in voted and str(n["key"]) not in elected)
    return AfterBallot(Next.PROCEED, kept, dropped)
