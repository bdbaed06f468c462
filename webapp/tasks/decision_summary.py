"""At the top of the step where the competent authority decides, what it decides on (decision 0109): the post and
the nominee, whether the conditions are met, each conference's secret ballot with its result and a link to its
minutes, and the submission (tờ trình). The procedure's whole data stays below, folded.

Nothing is worked out here that the other pages do not already: the items are the task page's own data items (named
and worded by the forms and `webapp/data_labels.py`), the ballots are the instance's closed boxes as the inspection
history reads them (`ballot_tallies`), each result worded as a conference is told the earlier one
(`webapp.ballots.wording.result_text`), its outcome as its minutes word it (`OUTCOME_LABELS`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from flask import url_for

from webapp.ballots.views import OUTCOME_LABELS
from webapp.ballots.wording import result_text
from webapp.extensions import db
from webapp.i18n import tally_results
from webapp.rotation.summary import CURRENT_POST, DURATION, SIGNALS, rotation_items
from workflows import ballots
from workflows.appointment.steps import result_rows
from workflows.inspection.history import ballot_tallies
from workflows.instances import DataItem
from workflows.models import BallotBox
from workflows.registry.models import User
from workflows.tasks import TaskView

# The deciding step of each procedure (process id → task key) and the data its summary shows, in this order: the post
# and the nominee(s), the conditions, the submission. A key given with a step's key is labelled with the step's name
# before the form's title: out of its form, "Ý kiến" or "Cán bộ" does not say whose opinion or what about the cadre.
DECISION_STEPS: dict[tuple[str, str], tuple[str | tuple[str, str], ...]] = {
    ("appointment", "decision"): (
        "target_position_title",
        "cadre_name",
        "cadre_code",
        "source",
        "eligible",
        "eligibility_failed",
        "eligibility_exceptions",
        "submission_summary",
    ),
    ("planning_review", "approval"): (
        "unit_name",
        "term",
        "variant",
        "nominees",
        "removals_confirmed",
        "submission_number",
    ),
    # Decision 0119: whom the rotation moves, from where to where, why and for how long, the signals that concern
    # them, then each earlier step's outcome in the procedure's order (the plan, the eligibility check and any
    # condition set aside, the two units' opinions, the meeting with the cadre) and the submission.
    ("rotation", "decision"): (
        "cadre_name",
        "cadre_code",
        CURRENT_POST,
        "sending_unit_name",
        "target_position_title",
        "to_unit_name",
        "purpose_label",
        "purpose_note",
        "starts_on",
        "planned_end_on",
        DURATION,
        SIGNALS,
        "plan_reference",
        ("plan_decision", "plan_approval"),
        ("plan_decision_reason", "plan_approval"),
        "proposal_summary",
        "eligible",
        "eligibility_failed",
        "eligibility_exceptions",
        ("sending_opinion", "consult_sending"),
        ("sending_note", "consult_sending"),
        ("receiving_opinion", "consult_receiving"),
        ("receiving_note", "consult_receiving"),
        ("met_on", "meet_cadre"),
        ("cadre_agrees", "meet_cadre"),
        ("cadre_opinion", "meet_cadre"),
        "submission_summary",
    ),
}

# What a deciding step says beyond its data (process id, task key → the items it adds, by the keys above): facts
# the steps did not write but the decision turns on, worked out where the procedure's own rules are.
DERIVED_ITEMS: dict[tuple[str, str], Callable[[TaskView], list[DataItem]]] = {
    ("rotation", "decision"): rotation_items,
}


@dataclass(frozen=True)
class BallotResult:
    """One conference's secret ballot as the one deciding reads it."""

    step_name: str
    closed_dt: datetime | None
    result: str  # "Lê Khánh Hồng: 2/3 (66,67%)"
    outcome: str
    minutes_url: str


@dataclass(frozen=True)
class DecisionSummary:
    items: list[DataItem]
    ballots: list[BallotResult]


def decision_summary(view: TaskView, items: list[DataItem], reader: User) -> DecisionSummary | None:
    """The summary of a deciding step, from the task page's data items; None for any other step."""
    keys = DECISION_STEPS.get((view.task.process_id, view.task.task_key))
    if keys is None:
        return None
    derived = DERIVED_ITEMS.get((view.task.process_id, view.task.task_key))
    by_key = {item.key: item for item in [*items, *(derived(view) if derived else [])]}
    picked = []
    for entry in keys:
        key, step = (entry, None) if isinstance(entry, str) else entry
        if key not in by_key:
            continue
        item = by_key[key]
        picked.append(replace(item, label=f"{view.definition.step_name(step)}: {item.label}") if step else item)
    return DecisionSummary(picked, _ballots(view, reader))


def _each_with_its_result(tally: dict[str, Any], names: dict[str, str]) -> str:
    """Each candidate's share followed by their own result ("A: 3/3 (100,00%) — trúng cử; B: 0/3 (0,00%) — không
    trúng cử"): the ballot's outcome after the last share read as if it were the last candidate's."""
    results = tally_results(tally)
    keys = [str(c.get("key")) for c in tally.get("candidates") or []]
    rows = result_rows(tally, names)
    return "; ".join(
        result_text([row]) + (f" — {results[key]}" if key in results else "")
        for row, key in zip(rows, keys, strict=True)
    )


def _ballots(view: TaskView, reader: User) -> list[BallotResult]:
    """The instance's counted boxes in the order they were opened, each one the reader may read the minutes of (§7:
    the minutes go to the competent authority; a member of a conference reads none here)."""
    results = []
    for tally in ballot_tallies(db.session, view.instance.id):
        box = db.session.get(BallotBox, tally.box_id)  # already loaded by ballot_tallies
        if box is None or not tally.tally or not ballots.can_view_minutes(db.session, reader, box):
            continue
        outcome = tally.tally.get("outcome")
        results.append(
            BallotResult(
                step_name=view.definition.step_name(tally.step_key),
                closed_dt=tally.closed_dt,
                result=_each_with_its_result(tally.tally, tally.candidate_names),
                outcome=str(OUTCOME_LABELS[outcome]) if outcome in OUTCOME_LABELS else "",
                minutes_url=url_for("ballots.minutes", box_id=tally.box_id),
            )
        )
    return results
