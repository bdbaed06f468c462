"""How a completed instance ended, read from the end event it reached (recorded on its `instance_completed` audit
event). A procedure that stops because its subject is ineligible, or whose proposal is refused, is completed for the
engine but not a success for the people waiting on it: the instance page must not show it as one (decision 0064).

The models name their end events by one convention, which this module reads (an end event's id, not its display
name, so a reworded name changes nothing):

- `end_escalated…`: the step was overdue and the procedure ended by reporting it upwards;
- an id with one of STOPPED_WORDS as a word (`end_rejected`, `end_ineligible_final`, `end_not_voted`,
  `end_clearance_stopped`, …): the procedure stopped without its result;
- ACHIEVED_ENDS (`end_done`, `end_approved`, `end_appointed`): it reached its result;
- anything else: ended, with no judgement either way (a planning review ended so until it gained `end_approved`
  and `end_rejected`, decision 0106; its older versions still do).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from workflows.states import EventType, Outcome

ACHIEVED_ENDS = frozenset({"end_done", "end_approved", "end_appointed"})
STOPPED_WORDS = frozenset(
    {"rejected", "ineligible", "refused", "not", "stopped", "dismissal", "too", "failed", "withdrawn", "cancelled"}
)


@dataclass(frozen=True)
class Ending:
    outcome: Outcome
    name: str | None  # the end event's name in the model ("Dừng: không đủ điều kiện"), None when not recorded


def end_outcome(end_event: str | None) -> Outcome:
    """The outcome an end event's id stands for, by the convention above."""
    if not end_event:
        return Outcome.ENDED
    if end_event in ACHIEVED_ENDS:
        return Outcome.ACHIEVED
    words = end_event.lower().split("_")
    if words[:2] == ["end", "escalated"]:
        return Outcome.ESCALATED
    if STOPPED_WORDS.intersection(words):
        return Outcome.STOPPED
    return Outcome.ENDED


def ending_of(events: Iterable[tuple[str, dict[str, Any]]]) -> Ending | None:
    """The ending recorded among an instance's (event type, payload) pairs, the last if several; None while none."""
    found = None
    for event_type, payload in events:
        if event_type == EventType.INSTANCE_COMPLETED:
            end_event, end_name = payload.get("end_event"), payload.get("end_name")
            found = Ending(
                end_outcome(end_event if isinstance(end_event, str) else None),
                end_name if isinstance(end_name, str) and end_name.strip() else None,
            )
    return found
