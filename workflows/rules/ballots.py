"""Secret ballots at cadre conferences (issue #6): quorum, the denominator, the threshold and who is chosen.

Pure functions of plain data: nothing reads the database or the clock. Sources: NĐ 170/2025/NĐ-CP Điều 33 and 39,
QĐ 105/80 (the party pattern), QĐ 96-QĐ/TW (confidence votes) — domain rules §3.4, §3.5, §3.8, §3.9, §7, §9.
Everything the domain reference tags [P] or [U] is a field of `BallotRules` with a documented default, so each BPMN
step configures its own ballot; decision 0015 explains the choices.

A ballot marks every candidate yes / no / abstain (a nomination slip is a ballot whose "yes" names the person:
`seats` limits how many a slip may name). The tally counts yes per candidate against the denominator and decides:

1. quorum: those present ≥ `quorum` × those summoned, else `quorum_failed` and nobody is chosen;
2. a candidate passes with yes > `threshold` × denominator (strictly);
3. the passing candidates with the most yes fill the `seats` (all of them when `seats` is None); a tie at the last
   seat goes to the head;
4. seats still open: candidates at exactly the threshold go to the head (`head_decides`), else the top
   `runoff_size` per open seat carry forward (`runoff`), else `not_elected`.

An `advisory` ballot (the key cadres' opinion, a confidence vote) chooses nobody: with its quorum, each candidate's
share is recorded for the dossier (`opinion`), whatever it says.

Messages are English msgids, translated at display time (decision 0008).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from fractions import Fraction
from typing import Any

from workflows.errors import Amount, Invalid, Problem

__all__ = [
    "DEFAULT_RULES",
    "BallotRules",
    "CandidateCount",
    "CandidateResult",
    "Denominator",
    "Mark",
    "Outcome",
    "TallyResult",
    "ballot_problems",
    "count_ballots",
    "is_own_ballot",
    "members_count_problems",
    "nobody_attended_problems",
    "outsiders",
    "paper_count_problems",
    "quorum_met",
    "tally",
]


class Mark(StrEnum):
    YES = "yes"  # đồng ý / giới thiệu
    NO = "no"  # không đồng ý
    ABSTAIN = "abstain"  # để trống: counted as a valid ballot that does not support the candidate


class Denominator(StrEnum):
    """What a candidate's yes count is divided by (domain rules §9.1 `mau_so`)."""

    MEMBERS = "members"  # tổng số thành viên tập thể lãnh đạo — NĐ 170 Đ33 k2 step 5, QĐ 105 [P]
    SUMMONED = "summoned"  # tổng số người được triệu tập — NĐ 170 Đ33 k3 [V] S35, S41
    PRESENT = "present"  # those present at the conference — for rules that count the votes of attendees [U]


class Outcome(StrEnum):
    ELECTED = "elected"  # every seat is filled (or, seats=None, at least one candidate passed)
    HEAD_DECIDES = "head_decides"  # exactly at the threshold, or a tie at the last seat: a user task for the head
    RUNOFF = "runoff"  # nobody passed: the top candidates carry forward to the next step
    NOT_ELECTED = "not_elected"  # nobody passed and nobody carries forward (a single-person agreement vote)
    OPINION = "opinion"  # an advisory ballot with its quorum: the shares go with the dossier, nobody is chosen
    QUORUM_FAILED = "quorum_failed"  # fewer than the quorum present: the conference is not valid


def _fraction(value: Any, name: str) -> Fraction:
    try:
        result = Fraction(value) if not isinstance(value, float) else Fraction(value).limit_denominator(1000)
    except (TypeError, ValueError, ZeroDivisionError) as error:
        raise Invalid("The ballot rules are not valid.", [Problem("Not a fraction.", field=name)]) from error
    return result


@dataclass(frozen=True)
class BallotRules:
    """How one ballot is decided. Every default is the rule of the domain reference; steps override fields."""

    # A conference is valid with ≥ 2/3 of those summoned present — NĐ 170 Đ33 k2, QĐ 96 [V] S34, S47.
    quorum: Fraction = Fraction(2, 3)
    # "> 50% of those summoned" — NĐ 170 Đ33 k3 [V]; the final leadership vote uses MEMBERS [P].
    denominator: Denominator = Denominator.SUMMONED
    # Strictly more than half — NĐ 170 Đ33, Đ39; QĐ 105 [P].
    threshold: Fraction = Fraction(1, 2)
    # One person per post on a nomination slip — QĐ 105 step 2 [P]; None: every candidate is judged on its own.
    seats: int | None = 1
    # "If nobody passes 50%, the top 2 go to the next step" — QĐ 105 pattern [P] S43; 0 turns carry-forward off.
    runoff_size: int = 2
    # "Exactly 50%: the head decides" — NĐ 170 Đ33 k3 [V for the 3-step track, P for the 5-step track].
    head_decides_at_threshold: bool = True
    # Whether the result is announced to the conference — §7: step 2 no, step 3 yes, step 4 no, re-appointment no.
    announce: bool = False
    # An opinion that goes with the dossier and decides nothing — NĐ 170 Đ33 k2 step 4 [V] S34, QĐ 96 [V] S47.
    advisory: bool = False

    def __post_init__(self) -> None:
        problems = []
        if not 0 < self.quorum <= 1:
            problems.append(Problem("The quorum must be more than 0 and at most 1.", field="quorum"))
        if not 0 <= self.threshold < 1:
            problems.append(Problem("The threshold must be at least 0 and less than 1.", field="threshold"))
        if self.seats is not None and (isinstance(self.seats, bool) or self.seats < 1):
            problems.append(Problem("The number of seats must be at least 1.", field="seats"))
        if isinstance(self.runoff_size, bool) or self.runoff_size < 0:
            problems.append(Problem("The carry-forward size cannot be negative.", field="runoff_size"))
        if self.denominator not in set(Denominator):
            problems.append(Problem("Unknown denominator.", field="denominator"))
        if problems:
            raise Invalid("The ballot rules are not valid.", problems)

    def to_json(self) -> dict[str, Any]:
        return {
            "quorum": str(self.quorum),
            "denominator": str(self.denominator),
            "threshold": str(self.threshold),
            "seats": self.seats,
            "runoff_size": self.runoff_size,
            "head_decides_at_threshold": self.head_decides_at_threshold,
            "announce": self.announce,
            "advisory": self.advisory,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> BallotRules:
        """Rules from stored or configured JSON; a missing key takes its default, an unknown key is refused."""
        data = dict(data or {})
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise Invalid(
                "The ballot rules are not valid.", [Problem("Unknown setting.", field=name) for name in unknown]
            )
        values: dict[str, Any] = {}
        if "quorum" in data:
            values["quorum"] = _fraction(data["quorum"], "quorum")
        if "threshold" in data:
            values["threshold"] = _fraction(data["threshold"], "threshold")
        if "denominator" in data:
            try:
                values["denominator"] = Denominator(data["denominator"])
            except ValueError as error:
                raise Invalid(
                    "The ballot rules are not valid.", [Problem("Unknown denominator.", field="denominator")]
                ) from error
        for name in ("seats", "runoff_size"):
            if name in data:
                value = data[name]
                if not (value is None and name == "seats") and (not isinstance(value, int) or isinstance(value, bool)):
                    raise Invalid("The ballot rules are not valid.", [Problem("Not a whole number.", field=name)])
                values[name] = value
        for name in ("head_decides_at_threshold", "announce", "advisory"):
            if name in data:
                if not isinstance(data[name], bool):
                    raise Invalid("The ballot rules are not valid.", [Problem("Not true or false.", field=name)])
                values[name] = data[name]
        return cls(**values)


DEFAULT_RULES = BallotRules()


@dataclass(frozen=True)
class CandidateCount:
    yes: int = 0
    no: int = 0
    abstain: int = 0

    @property
    def total(self) -> int:
        return self.yes + self.no + self.abstain


def quorum_met(rules: BallotRules, *, summoned: int, present: int) -> bool:
    """Present ≥ quorum × summoned (NĐ 170 Đ33 k2: ≥ 2/3 of those summoned) — exact, no rounding."""
    return summoned > 0 and Fraction(present, summoned) >= rules.quorum


# NĐ 170 Đ33 k2: the quorum and the share are counted on those present, so no count before the attendance.
def attendance_recorded(present: int) -> bool:
    """Whether the secretary has recorded anyone present: until then the box has no conference to count — closing
    would write minutes of a void conference with 0 present."""
    return present > 0


def closing_problems(*, present: int) -> list[Problem]:
    """Why a box cannot be closed (online) or counted (paper) now; empty when it can."""
    if attendance_recorded(present):
        return []
    return [Problem("Nobody is recorded as present: record the attendance before closing the ballot.", field="present")]


# NĐ 170 Đ33 k2 (QĐ 96 for confidence votes): a conference is valid only with ≥ 2/3 of those summoned present, so one
# nobody attended is counted as a missed quorum — on the secretary's explicit word, never by a bare close (0102).
def nobody_attended_problems(*, present: int, confirmed: bool) -> list[Problem]:
    """Why the box cannot be closed as a conference nobody attended; empty when it can. Members recorded present
    are a conference to count (`closing_problems`), and without the confirmation nothing is recorded: closing cannot
    be undone, and a first click must not void a conference that is still gathering (decision 0094)."""
    problems = []
    if attendance_recorded(present):
        problems.append(
            Problem("Members are recorded as present: close the ballot with that attendance instead.", field="present")
        )
    if not confirmed:
        problems.append(Problem("Tick the box to confirm that nobody attended.", field="confirm_nobody"))
    return problems


def is_own_ballot(voter_cadre_id: int | None, subject_cadre_id: int | None) -> bool:
    """Whether a voter is the person the procedure is about. The domain rules name nobody who votes on their own
    appointment; a vote on oneself is a conflict of interest, so that person is never summoned and never votes."""
    return voter_cadre_id is not None and voter_cadre_id == subject_cadre_id


def members_count_problems(*, members: int, summoned: int, wider_conference: bool) -> list[Problem]:
    """At a conference of the collective itself every person summoned is one of its members, so the collective
    cannot be smaller than those summoned. A wider conference (the expanded leadership, the key cadres) summons
    people beyond the collective (domain rules §3.4 steps 2 and 4): there it may be."""
    if wider_conference or members >= summoned:
        return []
    return [
        Problem(
            "The collective has %(members)s members, fewer than the %(summoned)s people summoned.",
            field="members_count",
            message_args={"members": Amount(members), "summoned": Amount(summoned)},
        )
    ]


# A body's conference summons its members (NĐ 170 Đ33 k2, k3: "tổng số thành viên", "tổng số người được triệu tập");
# who sits on a body is [U] (domain rules §1, §3.4), so the unit keeps it and nobody outside it is summoned
# (decision 0122).
def outsiders(allowed: Iterable[int], chosen: Iterable[int]) -> list[int]:
    """The chosen ids that are not among the allowed, in order: whom a body's ballot or the body itself refuses."""
    members = set(allowed)
    return sorted({value for value in chosen if value not in members})


def ballot_problems(rules: BallotRules, candidates: Sequence[str], contents: Mapping[str, Any]) -> list[Problem]:
    """Why one ballot (candidate key → mark) cannot be accepted; empty when it is a valid ballot."""
    problems = []
    known = set(candidates)
    for key in sorted(set(contents) - known, key=str):
        problems.append(Problem("Not a candidate of this ballot.", field=str(key)))
    for key in candidates:
        if key not in contents:
            problems.append(Problem("Mark this candidate.", field=key))
        elif contents[key] not in set(Mark):
            problems.append(Problem("Choose yes, no or abstain.", field=key))
    yes = sum(1 for key in candidates if contents.get(key) == Mark.YES)
    if rules.seats is not None and yes > rules.seats:
        problems.append(Problem("This ballot marks yes for more people than there are seats.", field="seats"))
    return problems


def count_ballots(candidates: Sequence[str], ballots: Iterable[Mapping[str, Any]]) -> dict[str, CandidateCount]:
    """Per candidate: how many valid ballots marked yes / no / abstain."""
    counts = {key: [0, 0, 0] for key in candidates}
    slot = {Mark.YES: 0, Mark.NO: 1, Mark.ABSTAIN: 2}
    for contents in ballots:
        for key in candidates:
            counts[key][slot[Mark(contents[key])]] += 1
    return {key: CandidateCount(*values) for key, values in counts.items()}


def paper_count_problems(
    rules: BallotRules,
    candidates: Sequence[str],
    *,
    present: int,
    issued: int,
    returned: int,
    valid: int,
    counts: Mapping[str, Any],
) -> list[Problem]:
    """Why counts copied from a paper tally (biên bản kiểm phiếu) cannot be right; empty when they add up."""
    problems = []
    numbers = {"issued": issued, "returned": returned, "valid": valid}
    for name, value in numbers.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            problems.append(Problem("Enter a whole number, 0 or more.", field=name))
    for key in sorted(set(counts) - set(candidates), key=str):
        problems.append(Problem("Not a candidate of this ballot.", field=str(key)))
    for key in candidates:
        count = counts.get(key)
        if not isinstance(count, CandidateCount):
            problems.append(Problem("Enter the counts of this candidate.", field=key))
            continue
        for mark in Mark:
            value = getattr(count, mark.value)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                problems.append(Problem("Enter a whole number, 0 or more.", field=f"{key}.{mark.value}"))
    if problems:
        return problems
    if issued > present:
        problems.append(Problem("More ballots issued than members present.", field="issued"))
    if returned > present:
        problems.append(Problem("More ballots returned than members present.", field="returned"))
    elif returned > issued:
        problems.append(Problem("More ballots returned than issued.", field="returned"))
    if valid > returned:
        problems.append(Problem("More valid ballots than ballots returned.", field="valid"))
    for key in candidates:
        if counts[key].total != valid:
            problems.append(Problem("Yes, no and abstain must add up to the valid ballots.", field=key))
    if rules.seats is not None and sum(counts[key].yes for key in candidates) > valid * rules.seats:
        problems.append(Problem("More yes marks than the valid ballots allow.", field="counts"))
    return problems


@dataclass(frozen=True)
class CandidateResult:
    key: str
    yes: int
    no: int
    abstain: int
    share: Fraction  # yes / denominator
    no_share: Fraction  # no / denominator: confidence votes read "low confidence" from it (QĐ 96)
    passed: bool  # share > threshold (and the quorum was met)
    at_threshold: bool  # share == threshold exactly

    @property
    def percent(self) -> float:
        return round(float(self.share * 100), 2)

    @property
    def no_percent(self) -> float:
        return round(float(self.no_share * 100), 2)


@dataclass(frozen=True)
class TallyResult:
    outcome: Outcome
    rules: BallotRules
    members: int
    summoned: int
    present: int
    issued: int
    returned: int
    valid: int
    denominator: int
    is_quorum_met: bool
    candidates: tuple[CandidateResult, ...]
    elected: tuple[str, ...] = ()
    head_decides: tuple[str, ...] = ()
    runoff: tuple[str, ...] = ()

    @property
    def invalid(self) -> int:
        return self.returned - self.valid

    def candidate(self, key: str) -> CandidateResult:
        return next(c for c in self.candidates if c.key == key)

    def to_json(self) -> dict[str, Any]:
        """The tally record stored on the box and in the audit chain — the same for paper and online ballots."""
        return {
            "outcome": str(self.outcome),
            "rules": self.rules.to_json(),
            "members": self.members,
            "summoned": self.summoned,
            "present": self.present,
            "issued": self.issued,
            "returned": self.returned,
            "valid": self.valid,
            "invalid": self.invalid,
            "denominator": self.denominator,
            "quorum_met": self.is_quorum_met,
            "candidates": [
                {
                    "key": c.key,
                    "yes": c.yes,
                    "no": c.no,
                    "abstain": c.abstain,
                    "share": str(c.share),
                    "percent": c.percent,
                    "no_percent": c.no_percent,
                    "passed": c.passed,
                    "at_threshold": c.at_threshold,
                }
                for c in self.candidates
            ],
            "elected": list(self.elected),
            "head_decides": list(self.head_decides),
            "runoff": list(self.runoff),
        }


def _top_with_ties(ranked: Sequence[CandidateResult], size: int) -> list[CandidateResult]:
    """The first `size` of a list ranked by yes, plus everyone tied with the last of them."""
    if size <= 0 or not ranked:
        return []
    if len(ranked) <= size:
        return list(ranked)
    cut = ranked[size - 1].yes
    return [c for c in ranked if c.yes >= cut]


def tally(
    rules: BallotRules,
    candidates: Sequence[str],
    counts: Mapping[str, CandidateCount],
    *,
    members: int,
    summoned: int,
    present: int,
    issued: int,
    returned: int,
    valid: int,
) -> TallyResult:
    """Decide a ballot from its counts. `members`: of the collective; `issued`/`returned`/`valid`: ballots."""
    is_quorum_met = quorum_met(rules, summoned=summoned, present=present)
    denominator = {Denominator.MEMBERS: members, Denominator.SUMMONED: summoned, Denominator.PRESENT: present}[
        rules.denominator
    ]
    results = []
    for key in candidates:
        count = counts.get(key, CandidateCount())
        share = Fraction(count.yes, denominator) if denominator else Fraction(0)
        no_share = Fraction(count.no, denominator) if denominator else Fraction(0)
        results.append(
            CandidateResult(
                key=key,
                yes=count.yes,
                no=count.no,
                abstain=count.abstain,
                share=share,
                no_share=no_share,
                passed=is_quorum_met and denominator > 0 and share > rules.threshold,
                at_threshold=denominator > 0 and share == rules.threshold,
            )
        )
    base = TallyResult(
        outcome=Outcome.QUORUM_FAILED,
        rules=rules,
        members=members,
        summoned=summoned,
        present=present,
        issued=issued,
        returned=returned,
        valid=valid,
        denominator=denominator,
        is_quorum_met=is_quorum_met,
        candidates=tuple(results),
    )
    if not is_quorum_met or denominator <= 0:
        return base
    if rules.advisory:
        return replace(base, outcome=Outcome.OPINION)

    order = {key: index for index, key in enumerate(candidates)}
    ranked = sorted(results, key=lambda c: (-c.yes, order[c.key]))  # most yes first; ballot order among equals
    passing = [c for c in ranked if c.passed]
    at_threshold = [c for c in ranked if c.at_threshold] if rules.head_decides_at_threshold else []

    if rules.seats is None:  # every candidate judged on its own (agreement, confidence)
        elected = tuple(c.key for c in passing)
        head = tuple(c.key for c in at_threshold)
        outcome = Outcome.HEAD_DECIDES if head else Outcome.ELECTED if elected else Outcome.NOT_ELECTED
        return replace(base, outcome=outcome, elected=elected, head_decides=head)

    seats = rules.seats
    if len(passing) > seats and passing[seats - 1].yes == passing[seats].yes:
        # A tie for the last seat among passing candidates: no rule breaks it, the head decides [U].
        tie = passing[seats - 1].yes
        elected = tuple(c.key for c in passing if c.yes > tie)
        head = tuple(c.key for c in passing if c.yes == tie)
        return replace(base, outcome=Outcome.HEAD_DECIDES, elected=elected, head_decides=head)
    elected = tuple(c.key for c in passing[:seats])
    open_seats = seats - len(elected)
    if open_seats == 0:
        return replace(base, outcome=Outcome.ELECTED, elected=elected)
    if at_threshold:
        head = tuple(c.key for c in at_threshold)
        return replace(base, outcome=Outcome.HEAD_DECIDES, elected=elected, head_decides=head)
    others = [c for c in ranked if c.key not in elected and c.yes > 0]
    runoff = tuple(c.key for c in _top_with_ties(others, rules.runoff_size * open_seats))
    if runoff:
        return replace(base, outcome=Outcome.RUNOFF, elected=elected, runoff=runoff)
    return replace(base, outcome=Outcome.NOT_ELECTED, elected=elected)
