"""Schemathesis sends what the OpenAPI document allows (and what it does not) to the real app, as two demo users.

The bar is "never a server error", and every answer is one the document describes, whatever the request held.
Generation is derandomized and small, so the suite stays stable and well under a minute.

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
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from tests.fixtures.workflow_helpers import WorkflowDriver
from webapp.api.openapi import openapi_document
from webapp.extensions import db
from workflows import clock
from workflows.registry.models import User
from workflows.registry.tokens import create_token

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)

schema = schemathesis.openapi.from_dict(openapi_document())
# Beyond "no 5xx": every answer is one the document lists, with the body and media type it describes.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def seeded(driver: WorkflowDriver) -> None:
    """A few instances in two communes, so that small generated ids name real tasks and instances."""
    clock.set_now(T0)
    for officer, cadre in (("officer1", "CB0001"), ("officer3", "CB0005"), ("officer2", "CB0002")):
        instance_id = driver.start("sample_approval", as_user=officer, subject=cadre)
        driver.complete(officer, driver.task(instance_id, "submit_request").id, {"subject_line": "Đề nghị"})
        driver.start("sample_approval", as_user=officer, subject=cadre)


@pytest.fixture
def bearers(app: Flask, seeded: None) -> dict[str, dict[str, str]]:
    """An Authorization header per demo user: an officer and the supervisor of the same commune."""
    headers = {}
    with app.app_context():
        for username in ("officer1", "supervisor1"):
            user = db.session.scalars(select(User).where(User.username == username)).one()
            headers[username] = {"Authorization": f"Bearer {create_token(db.session, user, 'fuzz')}"}
        db.session.commit()
    return headers


@schema.parametrize()
@settings(
    max_examples=12,
    derandomize=True,
    database=None,
    deadline=None,
    # Examples share one database per operation on purpose (claims and completions change what later ones see);
    # a request runs real workflow steps, which Hypothesis's timing heuristics do not expect.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_operation_answers_as_documented(
    case: schemathesis.Case, app: Flask, bearers: dict[str, dict[str, str]]
) -> None:
    # Both users get every case on one database: half the app set-ups of a parametrized fixture.
    for username, headers in bearers.items():
        try:
            case.call_and_validate(app=app, headers=headers, checks=CHECKS)
        except Exception as failure:
            failure.add_note(f"sent as {username}")  # the reproduction hides the token
            raise
