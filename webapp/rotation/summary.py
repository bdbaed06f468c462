"""What the rotation's deciding step ("Quyết định luân chuyển") says beyond the data its steps wrote (decision 0119):
the post the cadre leaves, how long the rotation lasts and the rotation signals that concern the cadre. The rest of
its summary — whom, from which unit to which post, the purpose, the dates, each earlier step's outcome, the
submission and the collective's ballot — is the task page's own data and ballots (`webapp.tasks.decision_summary`,
decision 0109).

Each fact is worked out by the function the procedure already has for it: the post left as the eligibility check
reads it (`current_post`), the months as the duration rule counts them (`rotation_months`), the signals by the
signals page's rules (`cadre_signals`)."""

from __future__ import annotations

from datetime import UTC, date

from flask_babel import gettext as _
from flask_babel import ngettext

from webapp.extensions import db
from webapp.i18n import signal_reason
from workflows.appointment.facts import position_label
from workflows.errors import N_
from workflows.instances import DataItem
from workflows.registry.records import VIETNAM_TZ
from workflows.rotation.facts import current_post
from workflows.rotation.signals import cadre_signals
from workflows.rules.rotation import RotationPolicy, rotation_months
from workflows.rules.rotation_signals import SIGNAL_HEAD_TERMS, SIGNAL_LOCAL_KEY_POST, SIGNAL_PERSONNEL_YEARS
from workflows.tasks import TaskView

# A signal's kind as the signals page and the deciding step name it.
SIGNAL_KINDS = {
    SIGNAL_HEAD_TERMS: N_("Head: consecutive terms in one place"),
    SIGNAL_PERSONNEL_YEARS: N_("Personnel staff: years in one post"),
    SIGNAL_LOCAL_KEY_POST: N_("Local person in a non-local post"),
}

# The keys of the items below, named through webapp/data_labels.py as any key of the data.
CURRENT_POST, DURATION, SIGNALS = "current_post", "rotation_duration", "rotation_signals"


def _day(value: object) -> date | None:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def rotation_items(view: TaskView) -> list[DataItem]:
    """The post left, the duration and the signals, as data items the summary places among the others.

    The post left is the one held on the day the rotation was proposed, as the proposal named it (the planned first
    day may already have passed, and the arrival ends that post). The signals are the registry's today, as the
    signals page says them: the decision is taken now, on the posts held now."""
    data = view.context
    cadre_id = view.instance.subject_cadre_id
    items: list[DataItem] = []
    if cadre_id is not None:
        proposed_on = view.instance.started_dt.replace(tzinfo=UTC).astimezone(VIETNAM_TZ).date()
        policy = RotationPolicy.from_mapping(data.get("policy") or {})
        post = current_post(db.session, cadre_id, proposed_on, policy)
        items.append(DataItem(CURRENT_POST, CURRENT_POST, position_label(*post) if post else None))
    starts, ends = _day(data.get("starts_on")), _day(data.get("planned_end_on"))
    if starts is not None and ends is not None and starts <= ends:
        months = rotation_months(starts, ends)
        items.append(DataItem(DURATION, DURATION, ngettext("%(num)d month", "%(num)d months", months)))
    if cadre_id is not None:
        found = cadre_signals(db.session, cadre_id)
        reasons = [f"{_(SIGNAL_KINDS[signal.kind])}: {signal_reason(signal.reason)}" for signal in found]
        items.append(DataItem(SIGNALS, SIGNALS, reasons or _("No rotation signal concerns this cadre.")))
    return items
