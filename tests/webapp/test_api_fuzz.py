"""Schemathesis sends what the OpenAPI document allows (and what it does not) to the real app, as two demo users.

The bar is "never a server error": every request ends in a documented answer, whatever its content. Generation is
derandomized and small, so the suite stays stable and well under a minute.

The schema is loaded from `openapi_document()` at import time and each call goes to the test's own app through
the WSGI transport (`app=`). Schemathesis 4.32's fixture-loaded schemas (`schemathesis.pytest.from_fixture`) read
`Node._nodeid`, which pytest 9 no longer has; test_openapi.py checks that the app serves this same document.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.fixtures.workflow_helpers import WorkflowDriver
from webapp.api.openapi import openapi_document
from webapp.extensions import db
from workflows import clock
from workflows.registry.models import User
from workflows.registry.tokens import create_token

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)

schema = schemathesis.openapi.from_dict(openapi_document())


@pytest.fixture
def seeded(driver: WorkflowDriver) -> None:
    """A few instances in two communes, so that small generated ids name real tasks and instances."""
    clock.set_now(T0)
    for officer, cadre in (("officer1", "CB0001"), ("officer3", "CB0005"), ("officer2", "CB0002")):
        instance_id = driver.start("sample_approval", as_user=officer, subject=cadre)
        driver.complete(officer, driver.task(instance_id, "submit_request").id, {"subject_line": "Đề nghị"})
        driver.start("sample_approval", as_user=officer, subject=cadre)


@pytest.fixture(params=["officer1", "supervisor1"])
def bearer(request: pytest.FixtureRequest, app: Flask, seeded: None) -> dict[str, str]:
    with app.app_context():
        user = db.session.query(User).filter_by(username=request.param).one()
        token = create_token(db.session, user, "fuzz")
        db.session.commit()
    return {"Authorization": f"Bearer {token}"}


@schema.parametrize()
@settings(
    max_examples=15,
    derandomize=True,
    database=None,
    deadline=None,
    # Examples share one database per operation on purpose (claims and completions change what later ones see);
    # a request runs real workflow steps, which Hypothesis's timing heuristics do not expect.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_operation_answers_with_a_server_error(case: schemathesis.Case, app: Flask, bearer: dict[str, str]) -> None:
    case.call_and_validate(app=app, headers=bearer, checks=[not_a_server_error])
