"""A submission is checked whole (decision 0054): the form's schema and its server hook report every problem at once,
each on its own field; a hook rule that needs a refused value is skipped; nothing is written when anything is refused.
"""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.evaluation import MONTH, PRODUCTS
from tests.fixtures.evaluation import SELF_WITH_TWO_ROWS as SELF
from tests.fixtures.workflow_helpers import WorkflowDriver, everything_stored
from workflows.db import transaction
from workflows.engine import operations
from workflows.engine.schema_messages import REQUIRED
from workflows.errors import Invalid
from workflows.evaluation.opening import open_for_cadres, plan_month
from workflows.models import ProcessInstance
from workflows.registry.models import User
from workflows.rules.evaluation import DEFAULT_POLICY

pytestmark = pytest.mark.usefixtures("in_november")

TABLE_FORM: dict[str, Any] = {
    "type": "object",
    "required": ["title", "count", "rows"],
    "properties": {
        "title": {"type": "string", "maxLength": 5},
        "count": {"type": "integer", "minimum": 0, "maximum": 10},
        "ratio": {"type": "number"},
        "rows": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "amount"],
                "properties": {"name": {"type": "string"}, "amount": {"type": "number", "maximum": 100}},
            },
        },
    },
}
VALIDATOR = Draft202012Validator(TABLE_FORM, format_checker=FormatChecker())


def test_every_schema_problem_is_found_and_the_rest_of_the_data_kept() -> None:
    data = {
        "title": "quá dài",  # too long
        "count": 11,  # out of range
        "ratio": "abc",  # not a number
        "rows": [{"name": "a", "amount": "x"}, {"amount": 101}, {"name": "c", "amount": 3}],
    }
    checked = operations.check_task_data(data, VALIDATOR, TABLE_FORM)
    assert sorted(problem.field or "" for problem in checked.problems) == [
        "count",
        "ratio",
        "rows.0.amount",
        "rows.1.amount",
        "rows.1.name",  # the missing cell named, not its row
        "title",
    ]
    assert [p.message for p in checked.problems if p.field == "rows.1.name"] == [REQUIRED]
    assert checked.refused == {"count", "ratio", "rows.0.amount", "rows.1.amount", "rows.1.name", "title"}
    assert "count" in operations.check_task_data({"title": "ok", "rows": []}, VALIDATOR).refused  # missing: refused
    # The rows keep their numbers: a refused cell goes alone.
    assert checked.values == {"rows": [{"name": "a"}, {}, {"name": "c", "amount": 3}]}
    assert data["rows"][0] == {"name": "a", "amount": "x"}  # the caller's data is not touched


def test_fields_the_caller_refused_are_left_out_and_not_blamed_again() -> None:
    data = {"title": "ok", "count": 3, "rows": [{"name": "a", "amount": 5}]}
    checked = operations.check_task_data(data, VALIDATOR, TABLE_FORM, refused={"count", "rows.0.amount"})
    assert checked.problems == []  # "count" and "rows.0.amount" are missing now, but they were refused already
    assert checked.refused == {"count", "rows.0.amount"}
    assert checked.values == {"title": "ok", "rows": [{"name": "a"}]}


def test_a_problem_in_a_rows_shape_takes_its_whole_table() -> None:
    checked = operations.check_task_data({"title": "ok", "count": 1, "rows": ["not a row"]}, VALIDATOR, TABLE_FORM)
    assert [p.field for p in checked.problems] == ["rows.0"]
    assert checked.refused == {"rows", "rows.0"} and checked.values == {"title": "ok", "count": 1}


def _open_month(session_factory: sessionmaker[Session], driver: WorkflowDriver) -> int:
    with session_factory() as session, transaction(session):
        actor = session.scalar(select(User).where(User.username == "personnel1"))
        plan = plan_month(session, actor=actor, month=MONTH, unit_code="X001")
        open_for_cadres(session, driver.engine, actor=actor, plan=plan, cadres=plan.to_open, policy=DEFAULT_POLICY)
    with session_factory() as session:
        instance_id = session.scalar(
            select(ProcessInstance.id).where(ProcessInstance.business_key == f"{MONTH}/CB0001")
        )
        assert instance_id is not None
        return instance_id


def _refused(driver: WorkflowDriver, task_id: int, data: dict[str, Any], **options: Any) -> Invalid:
    with driver.session_factory() as session:
        actor = driver.user(session, "officer1" if "self" in options.pop("as_", "self") else "supervisor1")
        with pytest.raises(Invalid) as refused, transaction(session):
            operations.complete_task(session, driver.engine, actor=actor, task_id=task_id, data=data, **options)
    return refused.value


def test_a_type_error_and_a_rule_of_the_hook_are_reported_together(
    driver: WorkflowDriver, session_factory: sessionmaker[Session]
) -> None:
    """The walkthrough's case: a criterion typed as text and another above the policy's maximum (a rule of the
    server hook: the form states no maximum of its own), a completed count above its assigned one (the hook's), and
    a count above the form's maximum: one submission, every problem, on its own field."""
    instance_id = _open_month(session_factory, driver)
    task = driver.task(instance_id, "self_assessment")
    before = everything_stored(session_factory)
    data = {
        **SELF,
        "criteria_politics": "mười",
        "criteria_competence": 11,
        "products": [dict(PRODUCTS[0], completed=12), dict(PRODUCTS[1], assigned=20000)],
    }
    error = _refused(driver, task.id, data, form_fields_only=True)
    assert sorted((p.field, p.message) for p in error.problems) == [
        ("criteria_competence", "the score must be between 0 and %(maximum)s"),
        ("criteria_politics", "must be a number"),
        ("products.0.completed", "cannot exceed the amount assigned"),
        ("products.1.assigned", "Enter a number from %(low)s to %(high)s."),  # both ends named (0118)
    ]
    assert everything_stored(session_factory) == before
    assert driver.task(instance_id, "self_assessment").id == task.id


def test_a_rule_that_needs_a_refused_value_is_skipped(
    driver: WorkflowDriver, session_factory: sessionmaker[Session]
) -> None:
    """The assigned amount typed as text: "completed cannot exceed assigned" cannot be checked, and is not
    reported; the row's other rule (quality within completed) still is."""
    instance_id = _open_month(session_factory, driver)
    task = driver.task(instance_id, "self_assessment")
    row = dict(PRODUCTS[0], assigned="mười", completed=12, completed_quality=13)
    error = _refused(driver, task.id, {**SELF, "products": [row, PRODUCTS[1]]})
    assert sorted((p.field, p.message) for p in error.problems) == [
        ("products.0.assigned", "must be a number"),
        ("products.0.completed_quality", "cannot exceed the amount completed"),
    ]


def test_the_review_reports_its_reasons_with_the_tables_problems(
    driver: WorkflowDriver, session_factory: sessionmaker[Session]
) -> None:
    """The manager changes two rows without a reason and mistypes a third value: the reasons missing on the rows
    that can be read, and the mistyped value, at once; a value that cannot be read asks for no reason."""
    instance_id = _open_month(session_factory, driver)
    driver.complete("officer1", driver.task(instance_id, "self_assessment").id, SELF)
    review = driver.task(instance_id, "manager_review")
    before = everything_stored(session_factory)
    changed = [dict(PRODUCTS[0], completed_on_time=8), dict(PRODUCTS[1], completed="hai mươi", delays=1)]
    error = _refused(driver, review.id, {**SELF, "products": changed, "decision": "submit"}, as_="manager")
    assert sorted((p.field, p.message) for p in error.problems) == [
        ("products.0.reason", "give the reason for this change"),
        ("products.1.completed", "must be a number"),
        ("products.1.reason", "give the reason for this change"),  # for the delays, which can be read
    ]
    # The decision itself refused: whether to return or to adjust is unknown, so neither path's rules are checked.
    error = _refused(driver, review.id, {**SELF, "products": changed, "decision": "later"}, as_="manager")
    assert sorted(p.field or "" for p in error.problems) == ["decision", "products.1.completed"]
    assert everything_stored(session_factory) == before


def test_what_the_caller_refused_never_completes_and_the_rest_is_checked(
    driver: WorkflowDriver, session_factory: sessionmaker[Session]
) -> None:
    """The web page's own checks refused a field: the engine checks the rest by the schema and the hook, and refuses
    the submission even when the rest is fine."""
    instance_id = _open_month(session_factory, driver)
    task = driver.task(instance_id, "self_assessment")
    before = everything_stored(session_factory)
    valid = {key: value for key, value in SELF.items() if key != "criteria_politics"}
    error = _refused(driver, task.id, valid, refused={"criteria_politics"})
    assert error.problems == []
    error = _refused(driver, task.id, {**valid, "criteria_competence": 11}, refused={"criteria_politics"})
    assert [(p.field, p.message) for p in error.problems] == [
        ("criteria_competence", "the score must be between 0 and %(maximum)s")
    ]
    assert everything_stored(session_factory) == before
    driver.complete("officer1", task.id, SELF)  # and the same task completes once nothing is refused
