"""Ballot rules (NĐ 170 Điều 33, 39; QĐ 105 pattern; QĐ 96; domain rules §3.4–§3.9, §7), boundary by boundary."""

from __future__ import annotations

from fractions import Fraction

import pytest

from workflows.errors import Invalid
from workflows.rules.ballots import (
    DEFAULT_RULES,
    BallotRules,
    CandidateCount,
    Denominator,
    Outcome,
    ballot_problems,
    count_ballots,
    outsiders,
    paper_count_problems,
    quorum_met,
    tally,
)


def _tally(rules: BallotRules, yes: dict[str, int], *, members: int = 9, summoned: int = 9, present: int = 9):
    """Every present member returns a valid ballot; who did not mark yes marked no."""
    counts = {key: CandidateCount(yes=n, no=present - n) for key, n in yes.items()}
    return tally(
        rules,
        list(yes),
        counts,
        members=members,
        summoned=summoned,
        present=present,
        issued=present,
        returned=present,
        valid=present,
    )


# -- quorum: ≥ 2/3 of those summoned (NĐ 170 Đ33 k2) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("summoned", "present", "met"),
    [
        (9, 6, True),  # exactly 2/3
        (9, 5, False),
        (10, 7, True),  # 70% ≥ 66.7%
        (10, 6, False),  # 60%
        (7, 5, True),  # 71.4%
        (7, 4, False),  # 57.1%
        (3, 2, True),
        (1, 1, True),
        (1, 0, False),
        (0, 0, False),  # nobody summoned is never a valid conference
    ],
)
def test_quorum_is_two_thirds_of_those_summoned(summoned: int, present: int, met: bool) -> None:
    assert quorum_met(DEFAULT_RULES, summoned=summoned, present=present) is met


def test_quorum_failure_chooses_nobody_even_with_a_clear_majority() -> None:
    result = _tally(DEFAULT_RULES, {"a": 5}, summoned=9, present=5)
    assert result.outcome == Outcome.QUORUM_FAILED
    assert not result.is_quorum_met
    assert result.elected == () and result.runoff == () and result.head_decides == ()
    assert not result.candidate("a").passed


def test_quorum_is_configurable() -> None:
    rules = BallotRules(quorum=Fraction(1, 2))
    assert quorum_met(rules, summoned=10, present=5)
    assert not quorum_met(rules, summoned=10, present=4)


# -- threshold: > 50% of the denominator ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("yes", "outcome", "elected", "head"),
    [
        (6, Outcome.ELECTED, ("a",), ()),  # 6/10 > 50%
        (5, Outcome.HEAD_DECIDES, (), ("a",)),  # exactly 50%: the head decides
        (4, Outcome.NOT_ELECTED, (), ()),  # below half, and nothing carries forward
    ],
)
def test_single_candidate_agreement_vote(yes: int, outcome: Outcome, elected: tuple, head: tuple) -> None:
    rules = BallotRules(runoff_size=0)
    result = _tally(rules, {"a": yes}, summoned=10, present=10)
    assert (result.outcome, result.elected, result.head_decides) == (outcome, elected, head)


def test_exactly_half_without_the_head_rule_is_not_elected() -> None:
    rules = BallotRules(head_decides_at_threshold=False, runoff_size=0)
    result = _tally(rules, {"a": 5}, summoned=10, present=10)
    assert result.outcome == Outcome.NOT_ELECTED
    assert result.candidate("a").at_threshold and not result.candidate("a").passed


def test_odd_denominator_has_no_exact_half() -> None:
    result = _tally(DEFAULT_RULES, {"a": 5, "b": 4}, summoned=9, present=9)
    assert result.outcome == Outcome.ELECTED and result.elected == ("a",)  # 5/9 = 55.6%
    assert result.candidate("a").percent == 55.56


# -- the denominator: members vs summoned vs present -----------------------------------------------------------


@pytest.mark.parametrize(
    ("denominator", "expected_denominator", "outcome"),
    [
        # 11 members of the collective, 10 summoned, 8 present; candidate a has 5 yes.
        (Denominator.MEMBERS, 11, Outcome.RUNOFF),  # 5/11 = 45%: nobody passes, a carries forward
        (Denominator.SUMMONED, 10, Outcome.HEAD_DECIDES),  # 5/10 = exactly 50%
        (Denominator.PRESENT, 8, Outcome.ELECTED),  # 5/8 = 62.5%
    ],
)
def test_denominator_decides_the_same_votes_differently(
    denominator: Denominator, expected_denominator: int, outcome: Outcome
) -> None:
    rules = BallotRules(denominator=denominator)
    result = _tally(rules, {"a": 5, "b": 3}, members=11, summoned=10, present=8)
    assert result.denominator == expected_denominator
    assert result.outcome == outcome


def test_percent_is_of_the_denominator_not_of_the_valid_ballots() -> None:
    rules = BallotRules(denominator=Denominator.MEMBERS)
    counts = {"a": CandidateCount(yes=6, no=1, abstain=0)}
    result = tally(rules, ["a"], counts, members=13, summoned=12, present=9, issued=9, returned=8, valid=7)
    assert result.candidate("a").percent == 46.15  # 6/13, although 6 of the 7 valid ballots said yes
    assert result.invalid == 1
    assert not result.candidate("a").passed


# -- choosing among several: highest above 50%, top two, ties ------------------------------------------------


@pytest.mark.parametrize(
    ("yes", "outcome", "elected", "head", "runoff"),
    [
        ({"a": 7, "b": 2, "c": 1}, Outcome.ELECTED, ("a",), (), ()),
        # Nobody above 50%: the top two go on.
        ({"a": 4, "b": 3, "c": 2}, Outcome.RUNOFF, (), (), ("a", "b")),
        # Nobody above 50%, a tie for second place: every tied candidate goes on (no rule picks one).
        ({"a": 4, "b": 2, "c": 2}, Outcome.RUNOFF, (), (), ("a", "b", "c")),
        # Only one candidate got any vote: only they go on.
        ({"a": 4, "b": 0, "c": 0}, Outcome.RUNOFF, (), (), ("a",)),
        # Nobody got any vote: nobody goes on.
        ({"a": 0, "b": 0}, Outcome.NOT_ELECTED, (), (), ()),
        # Exactly 50% for one, the rest below: the head decides.
        ({"a": 5, "b": 3}, Outcome.HEAD_DECIDES, (), ("a",), ()),
        # Two at exactly 50%: the head decides between them.
        ({"a": 5, "b": 5}, Outcome.HEAD_DECIDES, (), ("a", "b"), ()),
        # One passes and one is at exactly 50%: the seat is filled.
        ({"a": 6, "b": 5}, Outcome.ELECTED, ("a",), (), ()),
        # Two pass with the same count for one seat: the head decides.
        ({"a": 7, "b": 7, "c": 1}, Outcome.HEAD_DECIDES, (), ("a", "b"), ()),
    ],
)
def test_one_seat(yes: dict, outcome: Outcome, elected: tuple, head: tuple, runoff: tuple) -> None:
    result = _tally(DEFAULT_RULES, yes, summoned=10, present=10)
    assert (result.outcome, result.elected, result.head_decides, result.runoff) == (outcome, elected, head, runoff)


def test_two_seats_partly_filled_carry_forward_for_the_open_seat() -> None:
    rules = BallotRules(seats=2)
    result = _tally(rules, {"a": 7, "b": 4, "c": 3, "d": 2}, summoned=10, present=10)
    assert result.outcome == Outcome.RUNOFF
    assert result.elected == ("a",)
    assert result.runoff == ("b", "c")


def test_highest_among_those_above_half_fill_the_seats() -> None:
    """Slips naming two people each: three pass 50%, the two with the most votes are chosen."""
    rules = BallotRules(seats=2)
    result = _tally(rules, {"a": 6, "b": 8, "c": 7}, summoned=10, present=10)
    assert result.outcome == Outcome.ELECTED
    assert result.elected == ("b", "c")
    assert all(result.candidate(key).passed for key in "abc")


def test_two_seats_tie_below_an_elected_one() -> None:
    rules = BallotRules(seats=2)
    result = _tally(rules, {"a": 8, "b": 6, "c": 6}, summoned=10, present=10)
    assert result.outcome == Outcome.HEAD_DECIDES
    assert result.elected == ("a",) and result.head_decides == ("b", "c")


def test_carry_forward_size_is_configurable() -> None:
    result = _tally(BallotRules(runoff_size=3), {"a": 4, "b": 3, "c": 2, "d": 1}, summoned=10, present=10)
    assert result.runoff == ("a", "b", "c")
    result = _tally(BallotRules(runoff_size=0), {"a": 4, "b": 3}, summoned=10, present=10)
    assert result.outcome == Outcome.NOT_ELECTED


def test_every_candidate_on_their_own() -> None:
    """Seats=None: a confidence or agreement vote on several people at once."""
    rules = BallotRules(seats=None)
    result = _tally(rules, {"a": 6, "b": 7, "c": 2}, summoned=10, present=10)
    assert result.outcome == Outcome.ELECTED and result.elected == ("b", "a")
    result = _tally(rules, {"a": 6, "b": 5}, summoned=10, present=10)
    assert result.outcome == Outcome.HEAD_DECIDES and result.elected == ("a",) and result.head_decides == ("b",)
    result = _tally(rules, {"a": 2}, summoned=10, present=10)
    assert result.outcome == Outcome.NOT_ELECTED


# -- an advisory ballot chooses nobody (NĐ 170 Đ33 k2 step 4, QĐ 96; decision 0131) ------------------------------


@pytest.mark.parametrize("yes", [{"a": 9}, {"a": 5, "b": 4}, {"a": 0}])
def test_an_advisory_ballot_records_the_shares_and_chooses_nobody(yes: dict[str, int]) -> None:
    rules = BallotRules(seats=None, runoff_size=0, head_decides_at_threshold=False, advisory=True)
    result = _tally(rules, yes)
    assert result.outcome == Outcome.OPINION
    assert (result.elected, result.head_decides, result.runoff) == ((), (), ())
    # Each share is still judged against the threshold: whether the opinion was a majority in favour.
    assert [c.passed for c in result.candidates] == [n > 4.5 for n in yes.values()]


def test_an_advisory_ballot_without_its_quorum_is_still_a_failed_conference() -> None:
    result = _tally(BallotRules(seats=None, advisory=True), {"a": 5}, summoned=9, present=5)
    assert result.outcome == Outcome.QUORUM_FAILED


def test_no_percent_for_confidence_votes() -> None:
    """QĐ 96: low confidence > 1/2 or ≥ 2/3 leads to different paths; the tally gives the share of "no"."""
    counts = {"a": CandidateCount(yes=3, no=6, abstain=0)}
    result = tally(DEFAULT_RULES, ["a"], counts, members=9, summoned=9, present=9, issued=9, returned=9, valid=9)
    assert result.candidate("a").no_percent == 66.67
    assert result.candidate("a").no_share == Fraction(2, 3)


# -- announce flag (§7) and the stored record ------------------------------------------------------------------


@pytest.mark.parametrize(("announce",), [(True,), (False,)])
def test_announce_flag_travels_with_the_record(announce: bool) -> None:
    result = _tally(BallotRules(announce=announce), {"a": 6}, summoned=10, present=10)
    assert result.to_json()["rules"]["announce"] is announce


def test_default_is_not_announced() -> None:
    assert DEFAULT_RULES.announce is False


def test_record_json() -> None:
    record = _tally(DEFAULT_RULES, {"a": 6, "b": 4}, summoned=10, present=10).to_json()
    assert record["outcome"] == "elected"
    assert record["rules"]["advisory"] is False
    assert record["candidates"][0] == {
        "key": "a",
        "yes": 6,
        "no": 4,
        "abstain": 0,
        "share": "3/5",
        "percent": 60.0,
        "no_percent": 40.0,
        "passed": True,
        "at_threshold": False,
    }
    assert (record["summoned"], record["present"], record["valid"], record["invalid"]) == (10, 10, 10, 0)


# -- rules from JSON -------------------------------------------------------------------------------------------


def test_rules_round_trip() -> None:
    rules = BallotRules(
        quorum=Fraction(3, 4), denominator=Denominator.MEMBERS, seats=None, runoff_size=0, announce=True, advisory=True
    )
    assert BallotRules.from_json(rules.to_json()) == rules
    assert BallotRules.from_json({}) == DEFAULT_RULES


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"quorum": "0"}, "quorum"),
        ({"quorum": "3/2"}, "quorum"),
        ({"quorum": "two thirds"}, "quorum"),
        ({"threshold": "1"}, "threshold"),
        ({"seats": 0}, "seats"),
        ({"seats": "1"}, "seats"),
        ({"runoff_size": -1}, "runoff_size"),
        ({"denominator": "everyone"}, "denominator"),
        ({"announce": "yes"}, "announce"),
        ({"advisory": 1}, "advisory"),
        ({"secret": True}, "secret"),
    ],
)
def test_bad_rules_are_refused(data: dict, field: str) -> None:
    with pytest.raises(Invalid) as caught:
        BallotRules.from_json(data)
    assert field in [p.field for p in caught.value.problems]


# -- one ballot, counting, paper counts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("contents", "fields"),
    [
        ({"a": "yes", "b": "no"}, []),
        ({"a": "abstain", "b": "abstain"}, []),
        ({"a": "yes", "b": "yes"}, ["seats"]),  # one seat: one name per slip
        ({"a": "yes"}, ["b"]),
        ({"a": "yes", "b": "maybe"}, ["b"]),
        ({"a": "yes", "b": "no", "z": "no"}, ["z"]),
    ],
)
def test_ballot_problems(contents: dict, fields: list[str]) -> None:
    assert [p.field for p in ballot_problems(DEFAULT_RULES, ["a", "b"], contents)] == fields


def test_count_ballots() -> None:
    ballots = [{"a": "yes", "b": "no"}, {"a": "no", "b": "yes"}, {"a": "yes", "b": "abstain"}]
    assert count_ballots(["a", "b"], ballots) == {
        "a": CandidateCount(yes=2, no=1, abstain=0),
        "b": CandidateCount(yes=1, no=1, abstain=1),
    }


def _paper(**changes):
    values = {
        "present": 7,
        "issued": 7,
        "returned": 7,
        "valid": 6,
        "counts": {"a": CandidateCount(4, 1, 1), "b": CandidateCount(2, 3, 1)},
    }
    values.update(changes)
    return [p.field for p in paper_count_problems(DEFAULT_RULES, ["a", "b"], **values)]


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({}, []),
        ({"returned": 8, "issued": 8}, ["issued", "returned"]),  # more ballots than attendees
        ({"returned": 8}, ["returned"]),
        ({"issued": 6}, ["returned"]),  # returned 7 of 6 issued
        ({"valid": 8, "returned": 7}, ["valid", "a", "b"]),
        ({"valid": -1}, ["valid"]),
        ({"issued": True}, ["issued"]),
        ({"counts": {"a": CandidateCount(4, 1, 1), "b": CandidateCount(-1, 6, 1)}}, ["b.yes"]),
        ({"counts": {"a": CandidateCount(4, 1, 1)}}, ["b"]),
        ({"counts": {"a": CandidateCount(4, 1, 1), "b": CandidateCount(2, 3, 1), "c": CandidateCount()}}, ["c"]),
        ({"counts": {"a": CandidateCount(4, 1, 0), "b": CandidateCount(2, 3, 1)}}, ["a"]),  # 5 ≠ 6 valid
        ({"counts": {"a": CandidateCount(4, 1, 1), "b": CandidateCount(3, 2, 1)}}, ["counts"]),  # 7 yes, 6 slips
    ],
)
def test_paper_count_problems(changes: dict, fields: list[str]) -> None:
    assert _paper(**changes) == fields


def test_a_box_is_closed_only_once_someone_is_recorded_present() -> None:
    from workflows.rules.ballots import attendance_recorded, closing_problems

    assert not attendance_recorded(0) and attendance_recorded(1)
    [problem] = closing_problems(present=0)
    assert problem.field == "present"
    assert closing_problems(present=3) == []


@pytest.mark.parametrize(
    ("present", "confirmed", "fields"),
    [
        (0, True, []),
        (0, False, ["confirm_nobody"]),  # a first click records nothing: the secretary says so (decision 0094)
        (1, True, ["present"]),  # someone came: that conference is counted with its attendance
        (2, False, ["present", "confirm_nobody"]),
    ],
)
def test_a_conference_nobody_attended_is_closed_only_on_the_secretarys_word(
    present: int, confirmed: bool, fields: list[str]
) -> None:
    from workflows.rules.ballots import nobody_attended_problems

    assert [p.field for p in nobody_attended_problems(present=present, confirmed=confirmed)] == fields


def test_a_conference_nobody_attended_is_a_missed_quorum() -> None:
    """What the box records when nobody came: the same tally as any conference below its quorum, nobody chosen."""
    result = tally(DEFAULT_RULES, ["a"], {}, members=5, summoned=5, present=0, issued=0, returned=0, valid=0)
    assert result.outcome == Outcome.QUORUM_FAILED and not result.is_quorum_met and result.elected == ()


@pytest.mark.parametrize(
    ("allowed", "chosen", "refused"),
    [
        ([1, 2, 3], [1, 2, 3], []),
        ([1, 2, 3], [], []),
        ([1, 2, 3], [3, 1], []),
        ([1, 2, 3], [4, 1, 4], [4]),
        ([], [2, 1], [1, 2]),
    ],
)
def test_only_the_bodys_members_are_summoned(allowed: list[int], chosen: list[int], refused: list[int]) -> None:
    """Decision 0122: a kept body summons its own members; anyone else is named, once, in order."""
    assert outsiders(allowed, chosen) == refused
