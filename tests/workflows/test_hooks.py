"""`workflows.hooks`: what a task hook is told about the values its form refused, and hooks that skip the rules
needing one of them (decision 0054) — called here directly, as the engine calls them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from workflows.appointment import hooks as appointment
from workflows.errors import Invalid
from workflows.hooks import TaskHook, is_refused, refused_within
from workflows.planning import hooks as planning
from workflows.registry.records import local_today
from workflows.rotation import hooks as rotation


@pytest.mark.parametrize(
    ("refused", "field", "at", "within"),
    [
        ({"products"}, "products", True, True),
        ({"products"}, "products.2.completed", True, False),  # its whole table went
        ({"products.2.completed"}, "products.2.completed", True, True),
        ({"products.2.completed"}, "products", False, True),  # the table holds a refused cell
        ({"products.2.completed"}, "products.2.name", False, False),
        ({"products_note"}, "products", False, False),  # a name that only starts the same
        (set(), "grade", False, False),
    ],
)
def test_a_refused_field_and_what_lies_in_it(refused: set[str], field: str, at: bool, within: bool) -> None:
    assert is_refused(refused, field) is at
    assert refused_within(refused, field) is within


@pytest.mark.parametrize(
    ("hook", "decision", "reason"),
    [
        (appointment.policy, "policy_decision", "policy_reason"),
        (appointment.decision, "final_decision", "decision_reason"),
        (planning.approval, "approval_decision", "decision_reason"),
        (rotation.plan_approval, "plan_decision", "plan_decision_reason"),
        (rotation.decision, "final_decision", "decision_reason"),
    ],
)
def test_a_refused_decision_skips_the_rules_of_both_branches(
    session: Session, hook: TaskHook, decision: str, reason: str
) -> None:
    """Approved or refused is not known: neither "a refusal needs a reason" nor the approval's own rules apply."""
    with pytest.raises(Invalid) as refused:
        hook(session, {}, {}, frozenset())  # no decision sent at all: read as a refusal, whose reason is missing
    assert [p.field for p in refused.value.problems] == [reason]
    assert hook(session, {}, {}, frozenset({decision})) == {}


def _dossier(received: list[str], **files: Any) -> dict[str, Any]:
    today = local_today().isoformat()
    return {"documents_received": received, "photo_taken_on": today, "health_certificate_on": today, **files}


def test_a_dossier_is_not_called_incomplete_for_an_upload_the_form_refused(session: Session) -> None:
    all_but_cv = [item for item in appointment.DOSSIER_ITEMS if item != "cv"]
    with pytest.raises(Invalid) as refused:
        appointment.dossier(session, _dossier(all_but_cv), {}, frozenset())
    assert [p.field for p in refused.value.problems] == ["documents_received"]
    # The CV's upload was refused (its type, its size): whether the dossier is complete is not known yet.
    assert appointment.dossier(session, _dossier(all_but_cv), {}, frozenset({"file_cv"}))["dossier_checked_on"]
    # Another upload refused says nothing about the CV.
    with pytest.raises(Invalid):
        appointment.dossier(session, _dossier(all_but_cv), {}, frozenset({"file_minutes"}))
    # The dates are checked whatever the list: one refused, the other still.
    data = _dossier(list(appointment.DOSSIER_ITEMS))
    data["health_certificate_on"] = (local_today() + timedelta(days=1)).isoformat()
    del data["photo_taken_on"]
    with pytest.raises(Invalid) as refused:
        appointment.dossier(session, data, {}, frozenset({"photo_taken_on"}))
    assert {p.field for p in refused.value.problems} == {"photo_taken_on", "health_certificate_on"}
