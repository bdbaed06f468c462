"""Every end event of the shipped models is read as the outcome it stands for (decision 0064): a model that adds an
end event is classified here on purpose, not by accident."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from workflows.outcomes import Ending, end_outcome, ending_of
from workflows.states import EventType, Outcome

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
A, S, E = Outcome.ACHIEVED, Outcome.STOPPED, Outcome.ESCALATED
EXPECTED = {
    "annual_grading": {"end_done": A, "end_escalated_prepare": E, "end_escalated_confirm": E},
    "appointment": {
        "end_escalated_reappointment": E,
        "end_not_reappointed": S,
        "end_dismissal": S,
        "end_ineligible_policy": S,
        "end_escalated_policy": E,
        "end_policy_rejected": S,
        "end_escalated_process": E,
        "end_clearance_stopped": S,
        "end_ineligible_final": S,
        "end_not_nominated": S,
        "end_appointed": A,
        "end_rejected": S,
    },
    "monthly_evaluation": {
        "end_done": A,
        "end_escalated_self": E,
        "end_escalated_review": E,
        "end_escalated_decision": E,
    },
    "planning_review": {"end_approved": A, "end_rejected": S},
    "rotation": {
        "end_plan_rejected": S,
        "end_refused": S,
        "end_ineligible": S,
        "end_not_voted": S,
        "end_rejected": S,
        "end_done": A,
    },
    "sample_approval": {"end_approved": A, "end_rejected": S, "end_too_many_returns": S},
}


def _end_events(path: Path) -> list[str]:
    tree = etree.parse(str(path))
    return tree.xpath("//*[local-name()='endEvent']/@id")


@pytest.mark.parametrize("path", sorted(BPMN.glob("*.bpmn")), ids=lambda p: p.stem)
def test_every_shipped_end_event_has_the_outcome_it_stands_for(path: Path) -> None:
    assert {end: end_outcome(end) for end in _end_events(path)} == EXPECTED[path.stem]


def test_unknown_and_missing_ends_are_neutral() -> None:
    assert end_outcome(None) == end_outcome("") == end_outcome("end_published") == Outcome.ENDED
    # a word inside another word is not the word: "notified" is not "not"
    assert end_outcome("end_notified") == Outcome.ENDED


def test_the_ending_is_read_from_the_completed_event() -> None:
    events = [
        (EventType.INSTANCE_STARTED, {}),
        (EventType.TASK_COMPLETED, {"end_event": "end_done"}),
        (EventType.INSTANCE_COMPLETED, {"end_event": "end_ineligible", "end_name": "Dừng: không đủ điều kiện"}),
    ]
    assert ending_of(events) == Ending(Outcome.STOPPED, "Dừng: không đủ điều kiện")
    assert ending_of(events[:2]) is None
    assert ending_of([(EventType.INSTANCE_COMPLETED, {"end_event": 3, "end_name": " "})]) == Ending(Outcome.ENDED, None)
