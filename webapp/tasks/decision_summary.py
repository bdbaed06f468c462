"""At the top of the step where the competent authority decides, what it decides on (decision 0109): the post and
the nominee, whether the conditions are met, each conference's secret ballot with its result and a link to its
minutes, and the submission (tờ trình). The procedure's whole data stays below, folded.

Nothing is worked out here that the other pages do not already: the items are the task page's own data items (named
and worded by the forms and `webapp/data_labels.py`), the ballots are the instance's closed boxes as the inspection
history reads them (`ballot_tallies`), each result worded as a conference is told the earlier one
(`webapp.ballots.wording.result_text`), its outcome as its minutes word it (`OUTCOME_LABELS`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import url_for

from webapp.ballots.views import OUTCOME_LABELS
from webapp.ballots.wording import result_text
from webapp.extensions import db
from workflows import ballots
from workflows.appointment.steps import result_rows
from workflows.inspection.history import ballot_tallies
from workflows.instances import DataItem
from workflows.models import BallotBox
from workflows.registry.models import User
from workflows.tasks import TaskView

# The deciding step of each procedure (process id → task key) and the data its summary shows, in this order: the post
# and the nominee(s), the conditions, the submission.
DECISION_STEPS: dict[tuple[str, str], tuple[str, ...]] = {
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
    by_key = {item.key: item for item in items}
    return DecisionSummary([by_key[key] for key in keys if key in by_key], _ballots(view, reader))


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
                result=result_text(result_rows(tally.tally, tally.candidate_names)),
                outcome=str(OUTCOME_LABELS[outcome]) if outcome in OUTCOME_LABELS else "",
                minutes_url=url_for("ballots.minutes", box_id=tally.box_id),
            )
        )
    return results
