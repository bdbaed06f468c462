"""A cadre's history of months (`workflows.evaluation.results.monthly_history`): each decided month names the
evaluation behind it only to a viewer who may open that evaluation, by the instance page's own rule."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.evaluation import MONTH
from tests.fixtures.evaluation import SELF_WITH_TWO_ROWS as SELF
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows.access import can_view_instance
from workflows.db import transaction
from workflows.evaluation.opening import open_for_cadres, plan_month
from workflows.evaluation.results import monthly_history
from workflows.models import ProcessInstance
from workflows.registry.models import Cadre, User
from workflows.registry.records import record_evaluation
from workflows.rules.evaluation import DEFAULT_POLICY

pytestmark = pytest.mark.usefixtures("in_november")


def _decided_month(driver: WorkflowDriver) -> int:
    """officer1's (CB0001) evaluation of MONTH, opened by personnel and decided by the head."""
    with driver.session_factory() as session, transaction(session):
        actor = session.scalars(select(User).where(User.username == "personnel1")).one()
        plan = plan_month(session, actor=actor, month=MONTH, unit_code="X001", include_subunits=False)
        cadres = [cadre for cadre in plan.to_open if cadre.code == "CB0001"]
        open_for_cadres(session, driver.engine, actor=actor, plan=plan, cadres=cadres, policy=DEFAULT_POLICY)
    with driver.session_factory() as session:
        instance_id = session.scalar(
            select(ProcessInstance.id).where(ProcessInstance.business_key == f"{MONTH}/CB0001")
        )
    assert instance_id is not None
    driver.complete("officer1", driver.task(instance_id, "self_assessment").id, SELF)
    driver.complete("supervisor1", driver.task(instance_id, "manager_review").id, {**SELF, "decision": "submit"})
    driver.complete("head1", driver.task(instance_id, "head_decision").id, {"grade": "HTXSNV"})
    return instance_id


def _history(session_factory: sessionmaker[Session], viewer: str | None) -> dict[str, int | None]:
    with session_factory() as session:
        cadre_id = session.scalars(select(Cadre.id).where(Cadre.code == "CB0001")).one()
        user = session.scalars(select(User).where(User.username == viewer)).one() if viewer else None
        return {row.period: row.instance_id for row in monthly_history(session, cadre_id, viewer=user)}


@pytest.mark.parametrize(
    ("viewer", "linked"),
    [
        ("officer1", True),  # her own evaluation
        ("head1", True),  # the head of her commune oversees its procedures (and decided it)
        ("personnel1", True),  # personnel opened the month for the province
        ("officer2", False),  # a colleague of the same commune: never a colleague's evaluation
        ("auditor1", True),  # the province's auditors inspect every procedure
        ("officer3", False),  # an officer of another commune
        (None, False),  # nobody named: no link
    ],
)
def test_a_decided_month_names_its_evaluation_to_whoever_may_open_it(
    driver: WorkflowDriver, viewer: str | None, linked: bool
) -> None:
    instance_id = _decided_month(driver)
    assert _history(driver.session_factory, viewer)[MONTH] == (instance_id if linked else None)
    if viewer is not None:  # the same answer as the instance page's own check
        with driver.session_factory() as session:
            user = session.scalars(select(User).where(User.username == viewer)).one()
            instance = session.get(ProcessInstance, instance_id)
            assert instance is not None
            assert can_view_instance(session, user, instance) is linked


def test_an_imported_month_names_no_evaluation(driver: WorkflowDriver) -> None:
    """A grade recorded without a procedure (an import, the demo's past months) has nothing to open."""
    _decided_month(driver)
    with driver.session_factory() as session, transaction(session):
        cadre = session.scalars(select(Cadre).where(Cadre.code == "CB0001")).one()
        record_evaluation(session, None, cadre, period_kind="month", period="2026-10", grade="HTTNV", score=85)
    history = _history(driver.session_factory, "officer1")
    assert list(history) == ["2026-10", MONTH]  # oldest first
    assert history["2026-10"] is None and history[MONTH] is not None
