"""The JSON API through the real app: bearer tokens only, org scope on every object, every status code it promises."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from werkzeug.test import TestResponse

from tests.fixtures.app import AuthActions
from tests.fixtures.evaluation import PRODUCT, SELF_ASSESSMENT
from tests.fixtures.models import parallel_model, script_model
from tests.fixtures.reads import logged_reads
from tests.fixtures.tampering import bypass_append_only
from tests.fixtures.workflow_helpers import WorkflowDriver, everything_stored
from webapp.extensions import db
from workflows import clock
from workflows.db import transaction
from workflows.deployment.operations import deploy_bundle, retire_process
from workflows.evaluation.opening import open_for_cadres, plan_month
from workflows.models import AuditEvent, HumanTask, ProcessInstance, ProcessVersion, RecordView
from workflows.registry.models import ApiToken, User
from workflows.registry.tokens import create_token, revoke_token
from workflows.rules.evaluation import DEFAULT_POLICY as EVALUATION_POLICY
from workflows.states import InstanceStatus

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bpmn"


class Api:
    """A client that sends a demo user's bearer token and no cookie."""

    def __init__(self, client: FlaskClient, tokens: dict[str, str]) -> None:
        self.client = client
        self.tokens = tokens

    def call(self, method: str, path: str, as_user: str | None, **kwargs: Any) -> TestResponse:
        headers = dict(kwargs.pop("headers", {}))
        if as_user is not None:
            headers["Authorization"] = f"Bearer {self.tokens[as_user]}"
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def get(self, path: str, as_user: str | None, **kwargs: Any) -> TestResponse:
        return self.call("GET", path, as_user, **kwargs)

    def post(self, path: str, as_user: str | None, **kwargs: Any) -> TestResponse:
        return self.call("POST", path, as_user, **kwargs)

    def user_id(self, username: str) -> int:
        return self.get("/api/v1/me", username).get_json()["id"]


@pytest.fixture
def tokens(app: Flask) -> dict[str, str]:
    """One bearer token per demo user."""
    with app.app_context():
        issued = {user.username: create_token(db.session, user, "tests") for user in db.session.scalars(select(User))}
        db.session.commit()
    return issued


@pytest.fixture
def api(app: Flask, tokens: dict[str, str]) -> Api:
    return Api(app.test_client(use_cookies=False), tokens)


def _submitted(driver: WorkflowDriver, officer: str, cadre: str) -> int:
    instance_id = driver.start("sample_approval", as_user=officer, subject=cadre)
    driver.complete(officer, driver.task(instance_id, "submit_request").id, {"subject_line": "Đề nghị"})
    return instance_id


@pytest.fixture
def two_communes(driver: WorkflowDriver) -> dict[str, int]:
    """A request waiting for review in each commune, and one not yet submitted (as in test_inbox)."""
    clock.set_now(T0)
    return {
        "x001_review": _submitted(driver, "officer1", "CB0001"),
        "x002_review": _submitted(driver, "officer3", "CB0005"),
        "x001_draft": driver.start("sample_approval", as_user="officer2", subject="CB0002"),
    }


def _nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


def _problem_fields(response: TestResponse) -> set[str | None]:
    body = response.get_json()
    assert body["status"] == response.status_code
    return {p["field"] for p in body["problems"]}


# -- authentication ----------------------------------------------------------------------------------------


def _api_routes(app: Flask) -> list[tuple[str, str]]:
    """Every route of the app under /api/v1, with 1 for each id."""
    return [
        (method, re.sub(r"<[^<>]+>", "1", rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    ]


@pytest.mark.parametrize(
    ("authorization", "challenge"),
    [
        (None, 'Bearer realm="canbo"'),
        ("Bearer not-a-token", 'Bearer realm="canbo", error="invalid_token"'),
        ("Basic b2ZmaWNlcjE6ZGVtbw==", 'Bearer realm="canbo"'),  # officer1:demo — passwords are not accepted
        ("Bearer ", 'Bearer realm="canbo"'),
    ],
)
def test_every_route_needs_a_valid_bearer_token(
    app: Flask, api: Api, authorization: str | None, challenge: str
) -> None:
    routes = _api_routes(app)
    assert len(routes) == 18
    headers = {"Authorization": authorization} if authorization is not None else {}
    for method, path in routes:
        response = api.call(method, path, None, headers=headers, json={})
        assert response.status_code == 401, (method, path)
        assert response.headers["WWW-Authenticate"] == challenge
        body = response.get_json()
        assert set(body) == {"error", "status"} and body["status"] == 401 and body["error"]


def test_the_openapi_document_needs_no_token(api: Api) -> None:
    assert api.get("/api/openapi.json", None).status_code == 200


def test_a_revoked_token_is_refused(app: Flask, api: Api) -> None:
    assert api.get("/api/v1/me", "officer1").status_code == 200
    with app.app_context():
        user = db.session.scalars(select(User).where(User.username == "officer1")).one()
        token = db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).one()
        revoke_token(db.session, user, token.id)
        db.session.commit()
    response = api.get("/api/v1/me", "officer1")
    assert response.status_code == 401 and 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_a_deactivated_users_token_is_refused(app: Flask, api: Api) -> None:
    with app.app_context():
        db.session.execute(update(User).where(User.username == "officer2").values(is_active=False))
        db.session.commit()
    assert api.get("/api/v1/me", "officer2").status_code == 401


def test_the_session_cookie_alone_is_not_accepted(
    auth: AuthActions, client: FlaskClient, two_communes: dict, driver: WorkflowDriver
) -> None:
    assert auth.login("officer2").status_code == 302
    assert client.get("/inbox").status_code == 200  # signed in for the web pages
    assert client.get("/api/v1/me").status_code == 401
    task = driver.task(two_communes["x001_draft"], "submit_request")
    refused = client.post(f"/api/v1/tasks/{task.id}/complete", json={"subject_line": "qua cookie"})
    assert refused.status_code == 401
    assert driver.task(two_communes["x001_draft"], "submit_request").id == task.id  # still open
    with driver.session_factory() as s:
        before = s.scalar(select(func.count()).select_from(ProcessInstance))
    assert client.post("/api/v1/instances", json={"process": "sample_approval"}).status_code == 401
    with driver.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(ProcessInstance)) == before


def test_with_a_cookie_and_a_token_the_token_decides(auth: AuthActions, client: FlaskClient, tokens: dict) -> None:
    auth.login("officer1")
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {tokens['supervisor1']}"})
    assert response.get_json()["username"] == "supervisor1"


def test_token_use_is_recorded(app: Flask, api: Api) -> None:
    clock.set_now(T0)
    api.get("/api/v1/me", "auditor1")
    with app.app_context():
        user = db.session.scalars(select(User).where(User.username == "auditor1")).one()
        token = db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).one()
        assert token.last_used_dt == T0.replace(tzinfo=None)


def test_unknown_api_paths_answer_json(api: Api) -> None:
    response = api.get("/api/v1/nothing-here", "officer1")
    assert response.status_code == 404 and response.get_json()["status"] == 404
    assert api.get("/api/v1/tasks/99999999999", "officer1").status_code == 404  # beyond any id: no database error


def test_api_answers_are_not_cached(api: Api) -> None:
    assert api.get("/api/v1/me", "officer1").headers["Cache-Control"] == "no-store"


# -- me ----------------------------------------------------------------------------------------------------


def test_me_describes_the_tokens_user(api: Api) -> None:
    body = api.get("/api/v1/me", "head1").get_json()
    assert body["username"] == "head1" and body["full_name"] == "Phạm Quốc Dũng"
    assert body["unit"] == {"code": "X001", "name": "Xã An Phú"}
    assert body["cadre"]["code"] == "CB0004"
    assert {(r["role"], r["unit"]["code"]) for r in body["roles"]} == {("head", "X001"), ("supervisor", "X001")}
    assert body["locale"] == "vi"


def test_province_wide_roles_name_the_province(api: Api) -> None:
    body = api.get("/api/v1/me", "admin").get_json()
    assert body["roles"] == [{"role": "admin", "unit": {"code": "T01", "name": "Tỉnh Sơn Hà (demo)"}}]
    assert body["cadre"] is None


# -- the task list -----------------------------------------------------------------------------------------


def test_my_tasks_and_group_tasks(api: Api, two_communes: dict, driver: WorkflowDriver) -> None:
    draft = driver.task(two_communes["x001_draft"], "submit_request")
    mine = api.get("/api/v1/tasks", "officer2").get_json()
    assert [t["id"] for t in mine["items"]] == [draft.id]
    item = mine["items"][0]
    assert item["subject"] == {"code": "CB0002", "name": "Trần Văn Hùng"}
    assert item["unit"] == {"code": "X001", "name": "Xã An Phú"}
    assert item["process_id"] == "sample_approval" and item["task_key"] == "submit_request"
    assert item["instance_id"] == two_communes["x001_draft"] and item["due"] is None and item["overdue"] is False
    assert mine["total"] == 1 and mine["page"] == 1 and mine["per_page"] == 25
    assert api.get("/api/v1/tasks?scope=group", "officer2").get_json()["items"] == []

    review = driver.task(two_communes["x001_review"], "review_request")
    group = api.get("/api/v1/tasks?scope=group", "supervisor1").get_json()
    assert [t["id"] for t in group["items"]] == [review.id]  # not X002's review
    assert group["items"][0]["due"] == "2026-11-05T08:00:00Z" and group["items"][0]["assignee_id"] is None
    province = api.get("/api/v1/tasks?scope=group", "auditor1").get_json()
    assert province["items"] == []  # overseeing is not acting: no review task waits for an auditor
    assert {item["reopened"] for item in mine["items"] + group["items"]} == {False}


def test_a_step_returned_for_changes_is_listed_as_reopened(
    api: Api, two_communes: dict, driver: WorkflowDriver
) -> None:
    """As the inbox page marks it: the officer's request sent back is the same step open again, not a new one."""
    review = driver.task(two_communes["x001_review"], "review_request")
    driver.complete("supervisor1", review.id, {"decision": "return", "comment": "Bổ sung số tiền"})
    driver.start("sample_approval", as_user="officer1", subject="CB0001")  # a first draft beside it
    items = api.get("/api/v1/tasks", "officer1").get_json()["items"]
    again = driver.task(two_communes["x001_review"], "submit_request").id
    assert sorted((item["id"] == again, item["reopened"]) for item in items) == [(False, False), (True, True)]


def test_overdue_filter(api: Api, two_communes: dict) -> None:
    clock.set_now(T0 + timedelta(days=3, hours=2))  # past the 3-day review deadline; the worker has not run
    overdue = api.get("/api/v1/tasks?scope=group&overdue=true", "supervisor1").get_json()
    assert [t["task_key"] for t in overdue["items"]] == ["review_request"] and overdue["items"][0]["overdue"]
    assert api.get("/api/v1/tasks?scope=group&overdue=false", "supervisor1").get_json()["total"] == 0
    assert api.get("/api/v1/tasks?overdue=false", "officer2").get_json()["total"] == 1  # no deadline: not overdue
    assert api.get("/api/v1/tasks?overdue=true", "officer2").get_json()["total"] == 0


def test_process_filter_and_paging(api: Api, driver: WorkflowDriver) -> None:
    started = [driver.start("sample_approval", as_user="officer1", subject="CB0001") for _ in range(3)]
    first = api.get("/api/v1/tasks?per_page=2&process=sample_approval", "officer1").get_json()
    second = api.get("/api/v1/tasks?per_page=2&page=2&process=sample_approval", "officer1").get_json()
    assert first["total"] == second["total"] == 3 and (first["page"], second["page"]) == (1, 2)
    assert [t["instance_id"] for t in first["items"] + second["items"]] == started
    assert api.get("/api/v1/tasks?process=other_process", "officer1").get_json()["total"] == 0
    assert api.get("/api/v1/tasks?page=9", "officer1").get_json()["items"] == []


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("per_page=101", {"per_page"}),
        ("per_page=0", {"per_page"}),
        ("page=0&per_page=x", {"page", "per_page"}),
        ("page=-1", {"page"}),
        ("page=99999999999999999999", {"page"}),
        ("scope=watching", {"scope"}),
        ("overdue=yes", {"overdue"}),
        ("process=%00", {"process"}),
        ("process=", {"process"}),
        (
            "scope=everyone&overdue=1&page=abc&per_page=1000&process=a%20b",
            {"scope", "overdue", "page", "per_page", "process"},
        ),
    ],
)
def test_bad_task_list_parameters_are_422_naming_every_field(api: Api, query: str, fields: set[str]) -> None:
    response = api.get(f"/api/v1/tasks?{query}", "officer1")
    assert response.status_code == 422
    assert _problem_fields(response) == fields


# -- one task ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "instance_key", "task_key", "status"),
    [
        ("officer1", "x001_review", "review_request", 404),  # own request, manager's step
        ("officer3", "x001_review", "review_request", 404),  # another commune
        ("supervisor1", "x002_review", "review_request", 404),  # another commune's supervisor
        ("officer2", "x001_review", "review_request", 404),
        ("supervisor1", "x001_review", "review_request", 200),
        ("head1", "x001_review", "review_request", 200),
        ("personnel1", "x001_review", "review_request", 200),  # province-wide oversight, read-only
        ("auditor1", "x002_review", "review_request", 200),
        ("admin", "x002_review", "review_request", 200),
        ("officer2", "x001_draft", "submit_request", 200),
        ("officer1", "x001_draft", "submit_request", 404),
    ],
)
def test_task_scope(
    api: Api, two_communes: dict, driver: WorkflowDriver, username: str, instance_key: str, task_key: str, status: int
) -> None:
    task = driver.task(two_communes[instance_key], task_key)
    response = api.get(f"/api/v1/tasks/{task.id}", username)
    assert response.status_code == status
    if status == 404:
        assert set(response.get_json()) == {"error", "status"}  # nothing about the task


def test_task_detail_has_form_schema_instructions_and_context(
    api: Api, two_communes: dict, driver: WorkflowDriver
) -> None:
    review = driver.task(two_communes["x001_review"], "review_request")
    body = api.get(f"/api/v1/tasks/{review.id}", "supervisor1").get_json()
    assert body["status"] == "open" and body["can_act"] is True and body["lane"] == "Lãnh đạo trực tiếp"
    assert body["form_schema"]["properties"]["decision"]["enum"] == ["approve", "return", "reject"]
    assert body["instructions"].startswith("Xem xét đề nghị")
    assert body["context"]["subject_line"] == "Đề nghị" and body["context"]["return_count"] == 0
    assert body["process_version"] == 1 and body["opened"] == "2026-11-02T08:00:00Z" and body["closed"] is None
    overseer = api.get(f"/api/v1/tasks/{review.id}", "personnel1").get_json()
    assert overseer["can_act"] is False


def test_a_task_without_a_form_has_a_null_form_schema(api: Api) -> None:
    upload = _upload(api, "admin", "two_versions_v1.bpmn")
    assert upload.status_code == 201
    started = api.post("/api/v1/instances", "officer1", json={"process": "versioned"})
    (task,) = started.get_json()["open_tasks"]
    assert api.get(f"/api/v1/tasks/{task['id']}", "officer1").get_json()["form_schema"] is None


# -- claim -------------------------------------------------------------------------------------------------


def test_claim(api: Api, two_communes: dict, driver: WorkflowDriver) -> None:
    review = driver.task(two_communes["x001_review"], "review_request")
    path = f"/api/v1/tasks/{review.id}/claim"
    assert api.post(path, "officer3").status_code == 404  # another commune: not even there
    assert api.post(path, "auditor1").status_code == 403  # sees it, may not take it
    claimed = api.post(path, "supervisor1")
    assert claimed.status_code == 200
    assert claimed.get_json()["assignee_id"] == api.user_id("supervisor1") and claimed.get_json()["can_act"]
    assert api.post(path, "supervisor1").status_code == 200  # claiming one's own task again changes nothing
    assert api.post(path, "head1").status_code == 409  # already taken by someone else
    assert [t["id"] for t in api.get("/api/v1/tasks", "supervisor1").get_json()["items"]] == [review.id]
    assert api.get("/api/v1/tasks?scope=group", "head1").get_json()["items"] == []


def test_claiming_a_closed_task_is_a_conflict(api: Api, two_communes: dict, driver: WorkflowDriver) -> None:
    review = driver.task(two_communes["x001_review"], "review_request")
    driver.complete("supervisor1", review.id, {"decision": "approve"})
    assert api.post(f"/api/v1/tasks/{review.id}/claim", "head1").status_code == 409


# -- complete ----------------------------------------------------------------------------------------------


def test_invalid_data_is_422_naming_the_fields(api: Api, two_communes: dict, driver: WorkflowDriver) -> None:
    draft = driver.task(two_communes["x001_draft"], "submit_request")
    response = api.post(
        f"/api/v1/tasks/{draft.id}/complete",
        "officer2",
        json={"amount": -1, "needed_by": "next week", "_hidden": 1},
    )
    assert response.status_code == 422
    assert _problem_fields(response) == {"subject_line", "amount", "needed_by", "_hidden"}
    assert all(p["message"] for p in response.get_json()["problems"])
    assert driver.task(two_communes["x001_draft"], "submit_request").id == draft.id  # still open


@pytest.mark.parametrize("typed", ["1e3", "0x10", "1_000", "1.000", " 12 "])
def test_a_whole_number_sent_as_text_is_refused_as_the_page_refuses_what_it_cannot_read(
    api: Api, two_communes: dict, driver: WorkflowDriver, typed: str
) -> None:
    """The API takes JSON numbers (decision 0054): text is no number, whatever int() or float() would make of it."""
    draft = driver.task(two_communes["x001_draft"], "submit_request")
    body = {"subject_line": "Đề nghị", "amount": typed}
    response = api.post(f"/api/v1/tasks/{draft.id}/complete", "officer2", json=body)
    assert response.status_code == 422
    assert {p["field"]: p["message"] for p in response.get_json()["problems"]} == {"amount": "Phải là một số nguyên"}
    assert driver.task(two_communes["x001_draft"], "submit_request").id == draft.id  # still open


def test_what_the_form_schema_refuses_is_said_in_the_token_users_language(
    api: Api, two_communes: dict, driver: WorkflowDriver
) -> None:
    draft = driver.task(two_communes["x001_draft"], "submit_request")
    body = {"subject_line": "x" * 501, "amount": -1, "needed_by": "next week", "details": 5}

    def messages() -> dict[str | None, str]:
        response = api.post(f"/api/v1/tasks/{draft.id}/complete", "officer2", json=body)
        assert response.status_code == 422
        return {p["field"]: p["message"] for p in response.get_json()["problems"]}

    assert messages() == {
        "subject_line": "Tối đa 500 ký tự",
        "amount": "Phải lớn hơn hoặc bằng 0",
        "needed_by": "Phải là ngày, viết theo dạng yyyy-mm-dd",
        "details": "Phải là văn bản",
    }
    with driver.session_factory() as s, transaction(s):
        s.execute(update(User).where(User.username == "officer2").values(locale="en"))
    assert messages() == {
        "subject_line": "must be at most 500 characters long",
        "amount": "must be greater than or equal to 0",
        "needed_by": "must be a date written yyyy-mm-dd",
        "details": "must be text",
    }
    del body["subject_line"]
    assert messages()["subject_line"] == "This field is required."


def _stored(driver: WorkflowDriver, instance_id: int) -> tuple[Any, ...]:
    """What a completion writes: the instance's row (its state and chain head), its task rows, every audit event."""
    with driver.session_factory() as s:
        instance = s.execute(select(ProcessInstance.__table__).where(ProcessInstance.id == instance_id)).one()
        tasks = s.execute(
            select(HumanTask.__table__).where(HumanTask.instance_id == instance_id).order_by(HumanTask.id)
        ).all()
        events = s.execute(select(AuditEvent.__table__).order_by(AuditEvent.id)).all()
    return instance, tasks, events


def test_keys_that_are_not_fields_of_the_form_are_refused_by_name_and_nothing_is_written(
    api: Api, driver: WorkflowDriver
) -> None:
    """The tester's report: the request's form has a subject line, an amount, details and a date; a body that also
    set the process's own data (the reviewer's decision, the return counter) or anything at all reached the next
    step. Refused the way the start refuses a key that is not its own, every such key named."""
    clock.set_now(T0)
    started = api.post("/api/v1/instances", "officer1", json={"process": "sample_approval"}).get_json()
    instance_id = started["instance"]["id"]
    (submit,) = started["open_tasks"]
    path = f"/api/v1/tasks/{submit['id']}/complete"
    before = _stored(driver, instance_id)

    body = {"subject_line": "x", "return_count": 99, "decision": "approve", "hacker": "<b>1</b>"}
    refused = api.post(path, "officer1", json=body)

    assert refused.status_code == 422
    assert _problem_fields(refused) == {"return_count", "decision", "hacker"}
    assert _stored(driver, instance_id) == before
    # The same problem, word for word, as the start's for a key that is not its own.
    start = api.post("/api/v1/instances", "officer1", json={"process": "sample_approval", "hacker": 1})
    assert start.status_code == 422
    [unknown] = start.get_json()["problems"]
    assert unknown["message"] == "Trường không xác định"
    problems = sorted(refused.get_json()["problems"], key=lambda problem: problem["field"])
    assert problems == [{**unknown, "field": field} for field in ("decision", "hacker", "return_count")]

    # The form's own fields go through, and nothing else reaches the next step.
    submitted = api.post(path, "officer1", json={"subject_line": "x", "amount": 2})
    assert submitted.status_code == 200
    (review,) = submitted.get_json()["open_tasks"]
    context = api.get(f"/api/v1/tasks/{review['id']}", "supervisor1").get_json()["context"]
    assert context["subject_line"] == "x" and context["return_count"] == 0  # the model's own counter
    assert "decision" not in context and "hacker" not in context


def _officer1s_self_assessment(api: Api, driver: WorkflowDriver) -> dict[str, Any]:
    """November's evaluation opened for CB0001 (officer1) alone; its first task as officer1's inbox lists it."""
    with driver.session_factory() as s, transaction(s):
        personnel = s.scalars(select(User).where(User.username == "personnel1")).one()
        plan = plan_month(s, actor=personnel, month="2026-11", unit_code="X001")
        own = [cadre for cadre in plan.to_open if cadre.code == "CB0001"]
        open_for_cadres(s, driver.engine, actor=personnel, plan=plan, cadres=own, policy=EVALUATION_POLICY)
    [task] = [t for t in api.get("/api/v1/tasks", "officer1").get_json()["items"] if t["task_key"] == "self_assessment"]
    return task


@pytest.mark.usefixtures("in_november")
def test_only_the_fields_of_an_evaluation_form_and_of_its_table_rows_are_accepted(
    api: Api, driver: WorkflowDriver
) -> None:
    """A form with a server hook and a table: the score the server computes, a column the rows do not have, and, at
    the leader's review, the cadre's own report and proposed grade are not fields of the form."""
    task = _officer1s_self_assessment(api, driver)
    instance_id, path = task["instance_id"], f"/api/v1/tasks/{task['id']}/complete"
    before = _stored(driver, instance_id)

    forged = {**SELF_ASSESSMENT, "products": [{**PRODUCT, "note": "x"}, PRODUCT], "self_score": 100, "score": 100}
    refused = api.post(path, "officer1", json=forged)

    assert refused.status_code == 422
    assert _problem_fields(refused) == {"products.0.note", "self_score", "score"}
    assert _stored(driver, instance_id) == before

    submitted = api.post(path, "officer1", json=SELF_ASSESSMENT)
    assert submitted.status_code == 200
    [review] = submitted.get_json()["open_tasks"]
    assert review["task_key"] == "manager_review"
    path = f"/api/v1/tasks/{review['id']}/complete"
    reviewed = ("products", "criteria_politics", "criteria_competence", "criteria_innovation")
    figures = {**{key: SELF_ASSESSMENT[key] for key in reviewed}, "decision": "submit"}
    before = _stored(driver, instance_id)
    rewritten = api.post(path, "supervisor1", json={**figures, "self_report": "Sửa", "proposed_grade": "HTT"})
    assert rewritten.status_code == 422
    assert _problem_fields(rewritten) == {"self_report", "proposed_grade"}
    assert _stored(driver, instance_id) == before
    accepted = api.post(path, "supervisor1", json=figures)
    assert accepted.status_code == 200
    assert [t["task_key"] for t in accepted.get_json()["open_tasks"]] == ["head_decision"]


@pytest.mark.usefixtures("in_november")
def test_a_completion_is_refused_with_the_forms_and_the_servers_problems_at_once(
    api: Api, driver: WorkflowDriver
) -> None:
    """A criterion sent as text (the schema's), another above the policy's maximum and a row's completed count above
    its assigned one (the server hook's), a count above the form's limit (the schema's): one 422 with all four, in
    Vietnamese with the numbers written the Vietnamese way, and nothing stored; the API still takes JSON numbers only
    ("1.000" is text)."""
    task = _officer1s_self_assessment(api, driver)
    path = f"/api/v1/tasks/{task['id']}/complete"
    before = everything_stored(driver.session_factory)
    body = {
        **SELF_ASSESSMENT,
        "criteria_politics": "1.000",
        "criteria_competence": 11,
        "products": [{**PRODUCT, "completed": 12}, {**PRODUCT, "assigned": 20000}],
    }
    refused = api.post(path, "officer1", json=body)
    assert refused.status_code == 422
    problems = {problem["field"]: problem["message"] for problem in refused.get_json()["problems"]}
    assert set(problems) == {"criteria_politics", "criteria_competence", "products.0.completed", "products.1.assigned"}
    assert problems["criteria_politics"] == "Phải là một số"
    assert problems["criteria_competence"] == "Điểm phải từ 0 đến 10"  # the policy's maximum, named
    assert problems["products.0.completed"] == "Không được vượt quá số lượng được giao"
    # The form's range, both ends, as Vietnamese writes them (decision 0118).
    assert problems["products.1.assigned"] == "Nhập số từ 0 đến 10.000."
    assert everything_stored(driver.session_factory) == before


@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"[1, 2]", b'"text"', b"null", b'{"subject_line": NaN}', b"[" * 5000 + b"]" * 5000],
)
def test_a_body_that_is_not_a_json_object_is_422(
    api: Api, two_communes: dict, driver: WorkflowDriver, body: bytes
) -> None:
    draft = driver.task(two_communes["x001_draft"], "submit_request")
    response = api.post(
        f"/api/v1/tasks/{draft.id}/complete", "officer2", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    (problem,) = response.get_json()["problems"]
    assert problem["field"] is None and problem["message"]


@pytest.mark.parametrize("number", [b"1e400", b"-1e400", b"1.5e309"])
def test_a_number_beyond_what_can_be_stored_is_422(
    api: Api, two_communes: dict, driver: WorkflowDriver, number: bytes
) -> None:
    """Valid JSON, but it would come back as Infinity, which no JSON reader accepts: refused, nothing stored."""
    draft = driver.task(two_communes["x001_draft"], "submit_request")
    body = b'{"subject_line": "ok", "amount": ' + number + b"}"
    response = api.post(
        f"/api/v1/tasks/{draft.id}/complete", "officer2", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    (problem,) = response.get_json()["problems"]
    assert problem["message"] == f"Số quá lớn, không thể lưu: {number.decode()}"
    assert driver.task(two_communes["x001_draft"], "submit_request").id == draft.id  # still open
    started = api.post(
        "/api/v1/instances",
        "officer2",
        data=b'{"process": "sample_approval", "data": {"x": 1e999}}',
        headers={"Content-Type": "application/json"},
    )
    assert started.status_code == 422


def test_a_method_not_allowed_names_the_allowed_ones(api: Api) -> None:
    response = api.call("DELETE", "/api/v1/me", "officer1")
    assert response.status_code == 405 and response.get_json()["status"] == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "HEAD", "OPTIONS"}
    assert response.mimetype == "application/json"


def test_a_missing_object_is_answered_in_the_users_language(api: Api, app: Flask) -> None:
    """The service's message names the id ("task 99 does not exist") and so has no translation: the answer is the
    general one, in Vietnamese by default and in English for a user who chose it."""
    answer = api.get("/api/v1/tasks/99999", "officer1").get_json()
    assert answer["error"] == "Trang hoặc đối tượng này không tồn tại, hoặc nằm ngoài phạm vi của bạn."
    with app.app_context():
        db.session.execute(update(User).where(User.username == "officer1").values(locale="en"))
        db.session.commit()
    assert api.get("/api/v1/tasks/99999", "officer1").get_json()["error"] == "task 99999 does not exist"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"subject_line": "a\u0000b"}, "subject_line"),
        ({"subject_line": "ok", "details": {"a": [{"b": "\ud800"}]}}, "details.a.0.b"),
        ({"subject_line": "ok", "details": _nested(40)}, "details.0.0"),  # where it got too deep
    ],
)
def test_text_that_cannot_be_stored_is_422(
    api: Api, two_communes: dict, driver: WorkflowDriver, data: dict, field: str
) -> None:
    draft = driver.task(two_communes["x001_draft"], "submit_request")
    response = api.post(f"/api/v1/tasks/{draft.id}/complete", "officer2", json=data)
    assert response.status_code == 422
    (problem,) = _problem_fields(response)
    assert problem is not None and problem.startswith(field)


def test_complete_scope_and_rights(api: Api, two_communes: dict, driver: WorkflowDriver) -> None:
    review = driver.task(two_communes["x001_review"], "review_request")
    path = f"/api/v1/tasks/{review.id}/complete"
    assert api.post(path, "officer3", json={"decision": "approve"}).status_code == 404
    assert api.post(path, "officer1", json={"decision": "approve"}).status_code == 404  # own request, not their step
    assert api.post(path, "personnel1", json={"decision": "approve"}).status_code == 403  # oversees, cannot act
    assert api.post(path, "auditor1", json={"decision": "approve"}).status_code == 403
    assert driver.instance(two_communes["x001_review"]).status == InstanceStatus.RUNNING


def test_double_completion_is_a_conflict(api: Api, two_communes: dict, driver: WorkflowDriver) -> None:
    draft = driver.task(two_communes["x001_draft"], "submit_request")
    path = f"/api/v1/tasks/{draft.id}/complete"
    assert api.post(path, "officer2", json={"subject_line": "Lần một"}).status_code == 200
    again = api.post(path, "officer2", json={"subject_line": "Lần hai"})
    assert again.status_code == 409 and again.get_json()["status"] == 409
    task = api.get(f"/api/v1/tasks/{draft.id}", "officer2").get_json()
    assert task["status"] == "completed" and task["can_act"] is False


def test_an_api_completion_takes_the_tasks_draft_away(api: Api, two_communes: dict, driver: WorkflowDriver) -> None:
    """A draft saved on the page does not outlive a completion through the API (decision 0085); another task's
    draft stays."""
    review = driver.task(two_communes["x001_review"], "review_request")
    other = driver.task(two_communes["x001_draft"], "submit_request")
    driver.save_draft("supervisor1", review.id, {"decision": "reject"})
    driver.save_draft("officer2", other.id, {"subject_line": "Còn đang viết"})
    response = api.post(f"/api/v1/tasks/{review.id}/complete", "supervisor1", json={"decision": "approve"})
    assert response.status_code == 200
    assert driver.drafts() == {other.id: "open"}


def test_a_failed_script_is_500_in_vietnamese_and_noted_on_the_instance(api: Api, driver: WorkflowDriver) -> None:
    with driver.session_factory() as session, transaction(session):
        deploy_bundle(session, [script_model("failing", "result = 1 / value")], actor=None, forms_dir=None)
    instance_id = driver.start("failing", as_user="officer1", subject="CB0001")
    task = driver.task(instance_id, "enter_data")
    before = driver.instance(instance_id)

    refused = api.post(f"/api/v1/tasks/{task.id}/complete", "officer1", json={"value": 0})

    # The model is at fault, not the request (decision 0073): a server error, said without the engine's words.
    assert refused.status_code == 500 and refused.get_json()["status"] == 500
    assert "lỗi kỹ thuật ở bước “Tính toán”" in refused.get_json()["error"]
    assert "ZeroDivisionError" not in refused.get_json()["error"]
    after = driver.instance(instance_id)
    assert after.state == before.state and driver.task(instance_id, "enter_data").status == "open"
    # Recorded after the rollback, on the instance the service named: administrators see what failed and where.
    assert "compute" in (after.last_error or "")


def test_a_completions_answer_is_the_instance_as_read_afterwards(api: Api, driver: WorkflowDriver) -> None:
    """The answer is built from what the completion read with its lock and its write (no query of its own): it must
    say what a read of the instance says — a branch still open beside the one completed, the step after both, and
    none once the procedure has ended."""
    clock.set_now(T0)
    with driver.session_factory() as session, transaction(session):
        deploy_bundle(session, [parallel_model("two_branches")], actor=None, forms_dir=None)
    started = api.post("/api/v1/instances", "officer1", json={"process": "two_branches"}).get_json()
    instance_id = started["instance"]["id"]
    branches = {task["task_key"]: task["id"] for task in started["open_tasks"]}
    assert set(branches) == {"left", "right"}

    answers = []
    for key in ("right", "left", "after"):
        task_id = branches.get(key) or next(t["id"] for t in answers[-1]["open_tasks"] if t["task_key"] == key)
        completed = api.post(f"/api/v1/tasks/{task_id}/complete", "officer1", json={})
        assert completed.status_code == 200
        answers.append(completed.get_json())
        assert answers[-1] == api.get(f"/api/v1/instances/{instance_id}", "officer1").get_json()

    assert [[t["task_key"] for t in answer["open_tasks"]] for answer in answers] == [["left"], ["after"], []]
    last = answers[-1]["instance"]
    assert last["status"] == "completed" and last["ended"] == "2026-11-02T08:00:00Z"
    assert last["process_name"] == "two_branches" and last["started_by"] == "officer1"
    assert last["subject"]["code"] == "CB0001" and last["unit"]["code"] == "X001"


# -- a whole procedure -------------------------------------------------------------------------------------


def test_full_approval_through_the_api(api: Api) -> None:
    clock.set_now(T0)
    started = api.post("/api/v1/instances", "officer1", json={"process": "sample_approval"})
    assert started.status_code == 201
    instance = started.get_json()["instance"]
    assert started.headers["Location"].endswith(f"/api/v1/instances/{instance['id']}")
    assert instance["subject"]["code"] == "CB0001" and instance["unit"]["code"] == "X001"  # the caller's own
    assert instance["started_by"] == "officer1" and instance["status"] == "running" and instance["version"] == 1
    (submit,) = started.get_json()["open_tasks"]
    assert submit["task_key"] == "submit_request" and submit["assignee_id"] == api.user_id("officer1")

    submitted = api.post(f"/api/v1/tasks/{submit['id']}/complete", "officer1", json={"subject_line": "Xin cấp máy"})
    assert submitted.status_code == 200
    (review,) = submitted.get_json()["open_tasks"]
    assert review["task_key"] == "review_request" and review["assignee_id"] is None

    assert [t["id"] for t in api.get("/api/v1/tasks?scope=group", "supervisor1").get_json()["items"]] == [review["id"]]
    assert api.post(f"/api/v1/tasks/{review['id']}/claim", "supervisor1").status_code == 200
    approved = api.post(f"/api/v1/tasks/{review['id']}/complete", "supervisor1", json={"decision": "approve"})
    assert approved.status_code == 200
    assert approved.get_json()["instance"]["status"] == "completed" and approved.get_json()["open_tasks"] == []
    assert approved.get_json()["instance"]["ended"] == "2026-11-02T08:00:00Z"

    history = api.get(f"/api/v1/instances/{instance['id']}/history", "officer1").get_json()
    assert history["intact"] is True and history["instance_id"] == instance["id"]
    events = history["events"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    types = [e["type"] for e in events]
    assert types[0] == "instance_started" and types[-1] == "instance_completed"
    assert {"task_completed", "task_claimed", "data_changed"} <= set(types)
    assert all(e["time"] == "2026-11-02T08:00:00Z" for e in events)
    claimed = next(e for e in events if e["type"] == "task_claimed")
    assert claimed["actor"] == "supervisor1" and claimed["payload"]["task_key"] == "review_request"
    assert claimed["task_id"] == review["id"]
    verified = api.get("/api/v1/audit/verify", "auditor1").get_json()
    assert verified["ok"] is True and verified["breaks"] == [] and verified["events"] >= len(events)


# -- processes ---------------------------------------------------------------------------------------------


def _upload(api: Api, as_user: str, *names: str, extra: Iterable[tuple[bytes, str]] = ()) -> TestResponse:
    files = [(io.BytesIO((FIXTURES / name).read_bytes()), name) for name in names]
    files += [(io.BytesIO(content), name) for content, name in extra]
    return api.post("/api/v1/processes", as_user, data={"files": files}, content_type="multipart/form-data")


def _versions(driver: WorkflowDriver) -> list[tuple[str, int]]:
    with driver.session_factory() as s:
        return [(v.process_id, v.version) for v in s.scalars(select(ProcessVersion).order_by(ProcessVersion.id))]


def test_list_processes(api: Api) -> None:
    body = api.get("/api/v1/processes", "officer1").get_json()
    sample = next(item for item in body["items"] if item["process_id"] == "sample_approval")
    assert sample == {
        "process_id": "sample_approval",
        "name": "Phê duyệt đề nghị (mẫu)",
        "version": 1,
        "versions": [1],
        "deployed": sample["deployed"],
        "withdrawn": None,
    }
    assert sample["deployed"].endswith("Z")
    assert sorted(item["process_id"] for item in body["items"]) == [
        "annual_grading",
        "appointment",
        "monthly_evaluation",
        "planning_review",
        "rotation",
        "sample_approval",
    ]


def test_a_withdrawn_procedure_is_listed_as_such_and_refuses_starts(api: Api, driver: WorkflowDriver) -> None:
    with driver.session_factory() as s, transaction(s):
        admin = s.scalars(select(User).where(User.username == "admin")).one()
        retire_process(s, actor=admin, process_id="sample_approval", reason="Thay thế")
    listed = {p["process_id"]: p for p in api.get("/api/v1/processes", "officer1").get_json()["items"]}
    assert listed["sample_approval"]["withdrawn"].endswith("Z") and listed["rotation"]["withdrawn"] is None
    refused = api.post("/api/v1/instances", "officer1", json={"process": "sample_approval"})
    assert refused.status_code == 409, refused.get_json()
    assert "đã ngừng sử dụng" in refused.get_json()["error"]


def test_admin_deploys_a_valid_model(api: Api, driver: WorkflowDriver) -> None:
    response = _upload(api, "admin", "two_versions_v1.bpmn")
    assert response.status_code == 201
    assert response.get_json() == {"deployed": [{"process_id": "versioned", "version": 1, "created": True}]}
    again = _upload(api, "admin", "two_versions_v1.bpmn")
    assert again.status_code == 201 and again.get_json()["deployed"][0]["created"] is False
    second = _upload(api, "admin", "two_versions_v2.bpmn")
    assert second.get_json()["deployed"] == [{"process_id": "versioned", "version": 2, "created": True}]
    listed = {p["process_id"]: p for p in api.get("/api/v1/processes", "officer1").get_json()["items"]}
    assert listed["versioned"]["version"] == 2 and listed["versioned"]["versions"] == [1, 2]
    assert ("versioned", 2) in _versions(driver)


def test_an_administrator_uses_an_earlier_version_again(api: Api, driver: WorkflowDriver) -> None:
    _upload(api, "admin", "two_versions_v1.bpmn")
    _upload(api, "admin", "two_versions_v2.bpmn")
    path = "/api/v1/processes/versioned/rollback"
    response = api.post(path, "admin", json={"version": 1, "reason": "Phiên bản 2 sai bước duyệt"})
    assert response.status_code == 201, response.get_json()
    assert response.get_json() == {
        "process_id": "versioned",
        "version": 3,
        "restored_version": 1,
        "replaced_version": 2,
        "withdrawn": False,
    }
    listed = {p["process_id"]: p for p in api.get("/api/v1/processes", "officer1").get_json()["items"]}
    assert listed["versioned"]["version"] == 3
    started = api.post("/api/v1/instances", "personnel1", json={"process": "versioned", "subject": "CB0001"})
    assert started.status_code == 201 and started.get_json()["instance"]["version"] == 3
    with driver.session_factory() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.event_type == "process_rolled_back")).one()
        assert event.actor_name == "admin" and json.loads(event.payload)["reason"] == "Phiên bản 2 sai bước duyệt"


def test_using_an_earlier_version_again_refuses_bad_requests_and_changes_nothing(
    api: Api, driver: WorkflowDriver
) -> None:
    _upload(api, "admin", "two_versions_v1.bpmn")
    _upload(api, "admin", "two_versions_v2.bpmn")
    before = everything_stored(driver.session_factory)
    path = "/api/v1/processes/versioned/rollback"
    good = {"version": 1, "reason": "Sai bước duyệt"}
    for username in ("officer1", "supervisor1", "personnel1", "auditor1"):
        assert api.post(path, username, json=good).status_code == 403
    refusals = [
        ({"version": 1}, {"reason"}),
        ({"version": 1, "reason": "  "}, {"reason"}),
        ({"version": "1", "reason": "x"}, {"version"}),
        ({"version": True, "reason": "x"}, {"version"}),
        ({"version": 0, "reason": "x"}, {"version"}),
        ({"version": 9, "reason": "x"}, {"version"}),  # the procedure has no version 9
        ({**good, "force": True}, {"force"}),
    ]
    for body, fields in refusals:
        refused = api.post(path, "admin", json=body)
        assert refused.status_code == 422, body
        assert _problem_fields(refused) == fields, body
    assert api.post(path, "admin", json={"version": 2, "reason": "x"}).status_code == 409  # the one in use
    unknown = api.post("/api/v1/processes/no_such_process/rollback", "admin", json=good)
    assert unknown.status_code == 404 and set(unknown.get_json()) == {"error", "status"}
    assert api.post(path, "admin", data="[1]", content_type="application/json").status_code == 422
    assert everything_stored(driver.session_factory) == before


def _withdrawn(api: Api, process_id: str) -> str | None:
    listed = {p["process_id"]: p for p in api.get("/api/v1/processes", "officer1").get_json()["items"]}
    withdrawn: str | None = listed[process_id]["withdrawn"]
    return withdrawn


def test_an_administrator_withdraws_a_procedure_and_puts_it_back_in_use(api: Api, driver: WorkflowDriver) -> None:
    withdrawn = api.post(
        "/api/v1/processes/sample_approval/withdraw", "admin", json={"reason": "  Thay  bằng mẫu mới "}
    )
    assert withdrawn.status_code == 200, withdrawn.get_json()
    body = withdrawn.get_json()
    assert body["process_id"] == "sample_approval" and body["version"] == 1
    assert body["withdrawn"].endswith("Z") and body["reason"] == "Thay bằng mẫu mới"
    assert _withdrawn(api, "sample_approval") == body["withdrawn"]
    assert api.post("/api/v1/instances", "officer1", json={"process": "sample_approval"}).status_code == 409
    again = api.post("/api/v1/processes/sample_approval/withdraw", "admin", json={"reason": "Lần nữa"})
    assert again.status_code == 409 and "đã ngừng sử dụng" in again.get_json()["error"]

    reinstated = api.post(
        "/api/v1/processes/sample_approval/reinstate", "admin", json={"reason": " Mẫu mới  chưa ban hành "}
    )
    assert reinstated.status_code == 200, reinstated.get_json()
    assert reinstated.get_json() == {"process_id": "sample_approval", "version": 1, "withdrawn": None, "reason": None}
    assert _withdrawn(api, "sample_approval") is None
    assert api.post("/api/v1/instances", "officer1", json={"process": "sample_approval"}).status_code == 201
    in_use = api.post("/api/v1/processes/sample_approval/reinstate", "admin", json={"reason": "Lần nữa"})
    assert in_use.status_code == 409
    with driver.session_factory() as s:
        events = s.scalars(
            select(AuditEvent)
            .where(AuditEvent.event_type.in_(["process_retired", "process_reinstated"]))
            .order_by(AuditEvent.id)
        ).all()
        assert [(e.event_type, e.actor_name) for e in events] == [
            ("process_retired", "admin"),
            ("process_reinstated", "admin"),
        ]
        assert json.loads(events[0].payload)["reason"] == "Thay bằng mẫu mới"
        assert json.loads(events[1].payload)["reason"] == "Mẫu mới chưa ban hành"


def test_withdrawing_and_reinstating_refuse_bad_requests_and_change_nothing(api: Api, driver: WorkflowDriver) -> None:
    before = everything_stored(driver.session_factory)
    withdraw, reinstate = "/api/v1/processes/rotation/withdraw", "/api/v1/processes/rotation/reinstate"
    for username in ("officer1", "supervisor1", "personnel1", "auditor1"):
        assert api.post(withdraw, username, json={"reason": "x"}).status_code == 403
        assert api.post(reinstate, username, json={"reason": "x"}).status_code == 403
    refusals = [
        ({}, {"reason"}),
        ({"reason": "   "}, {"reason"}),
        ({"reason": 5}, {"reason"}),
        ({"reason": "x" * 501}, {"reason"}),
        ({"reason": "x", "force": True}, {"force"}),
    ]
    for path in (withdraw, reinstate):  # reinstating asks why as withdrawing does (decision 0059)
        for body, fields in refusals:
            refused = api.post(path, "admin", json=body)
            assert refused.status_code == 422, (path, body)
            assert _problem_fields(refused) == fields, (path, body)
        assert api.post(path, "admin", data="[1]", content_type="application/json").status_code == 422
        assert api.post(path, "admin").status_code == 422  # no body at all
    assert api.post(reinstate, "admin", json={"reason": "x"}).status_code == 409  # the procedure is in use
    for path in ("/api/v1/processes/no_such_process/withdraw", "/api/v1/processes/no_such_process/reinstate"):
        unknown = api.post(path, "admin", json={"reason": "x"})
        assert unknown.status_code == 404 and set(unknown.get_json()) == {"error", "status"}
    assert _withdrawn(api, "rotation") is None
    assert everything_stored(driver.session_factory) == before


def test_forms_can_be_uploaded_with_the_model(api: Api) -> None:
    form = b'{"type": "object", "properties": {"note": {"type": "string"}}}'
    response = _upload(api, "admin", "missing_form.bpmn", extra=[(form, "does_not_exist.json")])
    assert response.status_code == 201, response.get_json()


def test_an_invalid_model_lists_every_problem_and_stores_nothing(api: Api, driver: WorkflowDriver) -> None:
    before = _versions(driver)
    response = _upload(api, "admin", "xsd_error.bpmn", "missing_form.bpmn", extra=[(b"{}", "readme.txt")])
    assert response.status_code == 422
    problems = response.get_json()["problems"]
    assert {p["file"] for p in problems} == {"xsd_error.bpmn", "missing_form.bpmn", "readme.txt"}
    flow = next(p for p in problems if p["element"] == "Flow_2")
    # The API speaks the token user's language, as everywhere else: the administrator's is Vietnamese.
    assert flow["line"] > 1 and flow["message"].startswith(
        "Không đúng lược đồ (XSD). Chi tiết kỹ thuật: Element 'bpmn:sequenceFlow'"
    )
    assert any(
        p["element"] == "task_with_missing_form" and p["message"] == "Không tìm thấy biểu mẫu does_not_exist.json"
        for p in problems
    )
    assert _versions(driver) == before


def test_a_models_problems_are_said_in_the_token_users_language(api: Api, driver: WorkflowDriver) -> None:
    response = _upload(api, "admin", "with_dmn.bpmn")
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "Mô hình quy trình không hợp lệ: phát hiện 1 lỗi"
    (problem,) = body["problems"]
    assert (problem["file"], problem["line"], problem["element"]) == ("with_dmn.bpmn", 7, "compute_grade")
    assert problem["message"] == (
        "Quyết định (decision) 'grade_decision' không được định nghĩa trong tệp DMN nào của gói triển khai "
        "(gói không có quyết định nào)"
    )
    with driver.session_factory() as s, transaction(s):
        s.execute(update(User).where(User.username == "admin").values(locale="en"))
    body = _upload(api, "admin", "with_dmn.bpmn").get_json()
    assert body["error"] == "the process model is not valid: 1 problem found"
    assert body["problems"][0]["message"] == (
        "decision 'grade_decision' is not defined in any DMN file of the bundle (decisions available: none)"
    )


def test_a_file_that_is_not_xml_is_located_to_its_line_and_column(api: Api, driver: WorkflowDriver) -> None:
    before = _versions(driver)
    response = _upload(api, "admin", "malformed.bpmn")
    assert response.status_code == 422
    (problem,) = response.get_json()["problems"]
    assert (problem["file"], problem["line"], problem["column"], problem["element"]) == ("malformed.bpmn", 8, 1, None)
    assert problem["message"] == ("Tệp BPMN không phải XML hợp lệ. Chi tiết kỹ thuật: AttValue: ' expected")
    assert _versions(driver) == before


def test_duplicate_form_files_are_reported_with_the_other_problems(api: Api, driver: WorkflowDriver) -> None:
    before = _versions(driver)
    response = _upload(api, "admin", "xsd_error.bpmn", extra=[(b"{}", "a.json"), (b"{}", "a.json")])
    assert response.status_code == 422
    files = [p["file"] for p in response.get_json()["problems"]]
    assert "a.json" in files and "xsd_error.bpmn" in files
    assert _versions(driver) == before


def test_deploying_needs_files_and_an_administrator(api: Api, driver: WorkflowDriver) -> None:
    before = _versions(driver)
    for username in ("officer1", "supervisor1", "personnel1", "auditor1"):
        assert _upload(api, username, "two_versions_v1.bpmn").status_code == 403
    empty = api.post("/api/v1/processes", "admin", data={}, content_type="multipart/form-data")
    assert empty.status_code == 422 and _problem_fields(empty) == {"files"}
    assert _versions(driver) == before


def test_an_upload_over_the_limit_is_413_as_documented(app: Flask, api: Api, driver: WorkflowDriver) -> None:
    before = _versions(driver)
    app.config["MAX_CONTENT_LENGTH"] = 4096
    response = _upload(api, "admin", extra=[(b"<bpmn/>" + b" " * 8192, "big.bpmn")])
    assert response.status_code == 413
    assert response.get_json() == {"error": "Tệp tải lên quá lớn.", "status": 413}
    documented = api.get("/api/openapi.json", None).get_json()["paths"]["/api/v1/processes"]["post"]["responses"]
    assert "413" in documented
    assert _versions(driver) == before


# -- instances ---------------------------------------------------------------------------------------------


def test_start_for_someone_else_needs_the_personnel_role(api: Api) -> None:
    colleague = api.post("/api/v1/instances", "officer1", json={"process": "sample_approval", "subject": "CB0002"})
    assert colleague.status_code == 403
    staff = api.post("/api/v1/instances", "supervisor1", json={"process": "sample_approval", "subject": "CB0001"})
    assert staff.status_code == 403
    started = api.post("/api/v1/instances", "personnel1", json={"process": "sample_approval", "subject": "CB0005"})
    assert started.status_code == 201
    instance = started.get_json()["instance"]
    assert instance["subject"]["code"] == "CB0005" and instance["unit"]["code"] == "X002"  # the subject's unit
    with_unit = api.post(
        "/api/v1/instances", "admin", json={"process": "sample_approval", "unit": "X001", "data": {"source": "api"}}
    )
    assert with_unit.status_code == 201
    assert with_unit.get_json()["instance"]["subject"] is None
    assert with_unit.get_json()["instance"]["unit"]["code"] == "X001"


def test_inspectors_do_not_start_procedures(api: Api) -> None:
    assert api.post("/api/v1/instances", "auditor1", json={"process": "sample_approval"}).status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"process": "sample_approval", "subject": "CB0005"}, "subject"),  # another commune's cadre
        ({"process": "sample_approval", "unit": "X002"}, "unit"),  # another commune
        ({"process": "sample_approval", "unit": "T01"}, "unit"),  # above the caller's units
    ],
)
def test_references_outside_the_callers_units_read_as_unknown(api: Api, body: dict, field: str) -> None:
    outside = api.post("/api/v1/instances", "officer1", json=body)
    unknown = api.post("/api/v1/instances", "officer1", json=body | {field: "NO_SUCH_CODE"})
    assert outside.status_code == unknown.status_code == 422
    assert outside.get_json() == unknown.get_json()
    assert (
        api.post("/api/v1/instances", "officer1", json={"process": "sample_approval", "unit": "X001"}).status_code
        == 201
    )


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"process": "no_such_process"}, {"process"}),
        ({"process": "sample_approval", "subject": "CB9999"}, {"subject"}),
        ({"process": "sample_approval", "unit": "X999"}, {"unit"}),
        ({"process": "nope", "subject": "nope", "unit": "nope"}, {"process", "subject", "unit"}),
        ({}, {"process"}),
        (
            {"process": 7, "subject": 1, "unit": "", "data": [], "extra": 1},
            {"process", "subject", "unit", "data", "extra"},
        ),
        ({"process": "sample_approval", "data": {"_private": 1, "class": 2}}, {"_private", "class"}),
    ],
)
def test_start_with_unknown_references_or_bad_fields_is_422(api: Api, body: dict, fields: set[str]) -> None:
    response = api.post("/api/v1/instances", "personnel1", json=body)
    assert response.status_code == 422
    assert _problem_fields(response) == fields


@pytest.mark.parametrize(
    ("process_id", "page"), [("appointment", "/appointments/start"), ("monthly_evaluation", "/evaluation/open")]
)
def test_a_procedure_with_its_own_start_page_is_refused_here(
    api: Api, driver: WorkflowDriver, process_id: str, page: str
) -> None:
    """Started without the data its page gathers it would fail at its first gateway: 422, nothing written."""
    with driver.session_factory() as s:
        before = s.scalar(select(func.count()).select_from(ProcessInstance))
    response = api.post("/api/v1/instances", "personnel1", json={"process": process_id, "subject": "CB0001"})
    assert response.status_code == 422
    [problem] = response.get_json()["problems"]
    assert problem["field"] == "process" and page in problem["message"]
    with driver.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(ProcessInstance)) == before


@pytest.mark.parametrize(
    ("username", "instance_key", "status"),
    [
        ("officer1", "x001_review", 200),  # about them, and they started it
        ("officer2", "x001_review", 404),  # a colleague's request
        ("officer3", "x001_review", 404),  # another commune
        ("supervisor1", "x001_review", 200),
        ("supervisor1", "x002_review", 404),
        ("head1", "x001_review", 200),
        ("personnel1", "x002_review", 200),
        ("auditor1", "x001_review", 200),
        ("admin", "x002_review", 200),
    ],
)
@pytest.mark.parametrize("suffix", ["", "/data", "/history", "/diagram.svg"])
def test_instance_scope(
    api: Api, two_communes: dict, username: str, instance_key: str, status: int, suffix: str
) -> None:
    response = api.get(f"/api/v1/instances/{two_communes[instance_key]}{suffix}", username)
    assert response.status_code == status
    if status == 404:
        assert response.mimetype == "application/json" and set(response.get_json()) == {"error", "status"}


def _object_routes(task_id: int, instance_id: int) -> list[tuple[str, str, Any]]:
    return [
        ("GET", f"/api/v1/tasks/{task_id}", None),
        ("POST", f"/api/v1/tasks/{task_id}/claim", None),
        ("POST", f"/api/v1/tasks/{task_id}/complete", {"decision": "approve"}),
        ("POST", f"/api/v1/tasks/{task_id}/complete", ["not", "an", "object"]),
        ("GET", f"/api/v1/instances/{instance_id}", None),
        ("GET", f"/api/v1/instances/{instance_id}/data", None),
        ("GET", f"/api/v1/instances/{instance_id}/history", None),
        ("GET", f"/api/v1/instances/{instance_id}/diagram.svg", None),
    ]


def test_forged_ids_from_another_unit_are_404_like_missing_ones(
    api: Api, two_communes: dict, driver: WorkflowDriver
) -> None:
    review = driver.task(two_communes["x001_review"], "review_request")
    instance_id = two_communes["x001_review"]
    forged = _object_routes(review.id, instance_id)
    missing = _object_routes(987654, 987655)
    for (method, path, body), (_, missing_path, _) in zip(forged, missing, strict=True):
        response = api.call(method, path, "officer3", json=body)
        absent = api.call(method, missing_path, "officer3", json=body)
        assert response.status_code == absent.status_code == 404, path
        assert set(response.get_json()) == set(absent.get_json()) == {"error", "status"}
    assert driver.task(instance_id, "review_request").assignee_id is None
    assert driver.instance(instance_id).status == InstanceStatus.RUNNING


def test_instance_and_its_open_tasks(api: Api, two_communes: dict, driver: WorkflowDriver) -> None:
    body = api.get(f"/api/v1/instances/{two_communes['x001_review']}", "supervisor1").get_json()
    assert body["instance"]["reference"] == f"sample_approval#{two_communes['x001_review']}"
    assert body["instance"]["process_name"] == "Phê duyệt đề nghị (mẫu)" and body["instance"]["ended"] is None
    assert [t["task_key"] for t in body["open_tasks"]] == ["review_request"]


# -- the list of instances ---------------------------------------------------------------------------------


def _listed(api: Api, username: str, query: str = "") -> dict[str, Any]:
    response = api.get(f"/api/v1/instances{query}", username)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.mark.parametrize(
    "username", ["officer1", "officer2", "officer3", "supervisor1", "head1", "personnel1", "auditor1", "admin"]
)
def test_the_list_of_instances_is_what_the_caller_may_open_each_answered_as_alone(
    api: Api, two_communes: dict, username: str
) -> None:
    """The web list's scope: exactly the instances whose own answer is not 404, newest first, each item the same
    answer as `GET /instances/<id>` (its open tasks included)."""
    body = _listed(api, username)
    openable = sorted(
        (i for i in two_communes.values() if api.get(f"/api/v1/instances/{i}", username).status_code == 200),
        reverse=True,  # started at the same moment: the newest is the last started
    )
    assert [item["instance"]["id"] for item in body["items"]] == openable
    assert body["items"] == [api.get(f"/api/v1/instances/{i}", username).get_json() for i in openable]
    assert (body["total"], body["page"], body["per_page"], body["next_page"]) == (len(openable), 1, 50, None)


def test_the_list_filters_by_subject_process_status_and_unit_with_its_subtree(
    api: Api, two_communes: dict, driver: WorkflowDriver
) -> None:
    def ids(query: str, username: str = "personnel1") -> list[int]:
        return [item["instance"]["id"] for item in _listed(api, username, query)["items"]]

    everything = sorted(two_communes.values(), reverse=True)
    assert ids("?subject=CB0005") == [two_communes["x002_review"]]
    assert ids("?subject=cb0005") == [] and ids("?subject=NOBODY") == []  # a code is matched exactly
    assert ids("?process=sample_approval") == everything and ids("?process=other_process") == []
    assert ids("?unit=X001") == [two_communes["x001_draft"], two_communes["x001_review"]]
    assert ids("?unit=T01") == everything  # the province: its communes' procedures too
    assert ids("?unit=X001&subject=CB0002&status=running") == [two_communes["x001_draft"]]

    draft = two_communes["x001_draft"]
    driver.complete("officer2", driver.task(draft, "submit_request").id, {"subject_line": "Đề nghị"})
    driver.complete("supervisor1", driver.task(draft, "review_request").id, {"decision": "reject"})
    assert ids("?status=completed") == [draft] and ids("?status=cancelled") == []
    assert ids("?status=running") == [two_communes["x002_review"], two_communes["x001_review"]]
    (completed,) = _listed(api, "officer2", "?status=completed")["items"]
    assert completed["instance"]["status"] == "completed" and completed["open_tasks"] == []


def test_a_unit_outside_the_callers_units_reads_as_unknown(api: Api, two_communes: dict) -> None:
    for username, code in (("supervisor1", "X002"), ("personnel1", "NO-SUCH-UNIT")):
        response = api.get(f"/api/v1/instances?unit={code}", username)
        assert response.status_code == 422
        assert response.get_json()["problems"][0]["message"] == "Không có đơn vị nào mang mã này"
        assert _problem_fields(response) == {"unit"}


def test_the_list_pages_with_its_total_and_the_next_page(api: Api, two_communes: dict) -> None:
    everything = sorted(two_communes.values(), reverse=True)
    first = _listed(api, "personnel1", "?per_page=2")
    second = _listed(api, "personnel1", "?per_page=2&page=2")
    past = _listed(api, "personnel1", "?per_page=2&page=9")
    assert [item["instance"]["id"] for item in first["items"] + second["items"]] == everything
    assert [(page["total"], page["next_page"]) for page in (first, second, past)] == [(3, 2), (3, None), (3, None)]
    assert past["items"] == [] and past["page"] == 9
    assert _listed(api, "personnel1", "?status=cancelled&page=2")["total"] == 0


def test_an_instance_with_parallel_steps_is_one_item_with_all_its_open_tasks(api: Api, driver: WorkflowDriver) -> None:
    with driver.session_factory() as session, transaction(session):
        deploy_bundle(session, [parallel_model("two_branches")], actor=None, forms_dir=None)
    for _ in range(3):
        assert api.post("/api/v1/instances", "officer1", json={"process": "two_branches"}).status_code == 201
    body = _listed(api, "officer1", "?process=two_branches&per_page=2")
    assert body["total"] == 3 and len(body["items"]) == 2 and body["next_page"] == 2
    for item in body["items"]:
        assert sorted(task["task_key"] for task in item["open_tasks"]) == ["left", "right"]
        assert all(task["instance_id"] == item["instance"]["id"] for task in item["open_tasks"])


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("per_page=201", {"per_page"}),
        ("per_page=0&page=0", {"page", "per_page"}),
        ("status=done", {"status"}),
        ("process=a%20b", {"process"}),
        ("subject=&unit=", {"subject", "unit"}),
        (f"subject={'C' * 41}", {"subject"}),
        ("subject=CB%00&unit=X%00", {"subject", "unit"}),
        ("cadre=CB0001&sort=oldest", {"cadre", "sort"}),  # a misspelt filter is not ignored
    ],
)
def test_bad_instance_list_parameters_are_422_naming_every_field(api: Api, query: str, fields: set[str]) -> None:
    response = api.get(f"/api/v1/instances?{query}", "personnel1")
    assert response.status_code == 422 and response.mimetype == "application/json"
    assert _problem_fields(response) == fields


def test_listing_instances_is_not_logged_as_reading_each(api: Api, two_communes: dict, driver: WorkflowDriver) -> None:
    """Like the web list: what the list shows (who, which procedure, its open steps) is no record's content."""
    with driver.session_factory() as s:
        before = s.scalar(select(func.count()).select_from(RecordView))
    assert _listed(api, "head1")["total"] > 0
    with driver.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(RecordView)) == before


def test_instance_data_is_the_procedures_values_with_their_titles(
    api: Api, two_communes: dict, driver: WorkflowDriver
) -> None:
    instance_id = two_communes["x001_review"]
    response = api.get(f"/api/v1/instances/{instance_id}/data", "supervisor1")
    assert response.status_code == 200
    body = response.get_json()
    assert (body["instance_id"], body["reference"], body["status"]) == (
        instance_id,
        f"sample_approval#{instance_id}",
        "running",
    )
    assert body["data"]["subject_line"] == "Đề nghị" and body["titles"]["subject_line"] == "Nội dung đề nghị"
    # The review's answer shows up once it is given.
    driver.complete("supervisor1", driver.task(instance_id, "review_request").id, {"decision": "approve"})
    after = api.get(f"/api/v1/instances/{instance_id}/data", "officer1").get_json()
    assert after["status"] == "completed" and after["data"]["decision"] == "approve"
    assert after["data"]["subject_line"] == "Đề nghị"


def test_reading_an_instances_data_is_logged_as_a_read_of_the_instance(
    api: Api, two_communes: dict, driver: WorkflowDriver
) -> None:
    instance_id = two_communes["x001_review"]
    with driver.session_factory() as s:
        before = s.scalar(select(func.count()).select_from(RecordView).where(RecordView.object_id == instance_id))
    assert api.get(f"/api/v1/instances/{instance_id}/data", "head1").status_code == 200
    with driver.session_factory() as s:
        views = s.scalars(select(RecordView).where(RecordView.object_id == instance_id)).all()
    assert len(views) == before + 1
    assert (views[-1].object_kind, views[-1].viewer_name) == ("instance", "head1")


def test_diagram_shows_progress(api: Api, app: Flask, two_communes: dict, driver: WorkflowDriver) -> None:
    response = api.get(f"/api/v1/instances/{two_communes['x001_review']}/diagram.svg", "officer1")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    svg = response.get_data(as_text=True)
    assert "<svg" in svg and "current" in svg and "completed" in svg
    assert "script-src" not in response.headers["Content-Security-Policy"]
    assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "Xem xét, phê duyệt — Đang thực hiện" in svg  # the diagram's own words in the user's language
    with app.app_context():
        db.session.execute(update(User).where(User.username == "officer1").values(locale="en"))
        db.session.commit()
    english = api.get(f"/api/v1/instances/{two_communes['x001_review']}/diagram.svg", "officer1").get_data(as_text=True)
    assert "Xem xét, phê duyệt — In progress" in english and "Đang thực hiện" not in english
    reads = logged_reads(driver.session_factory, "instance_diagram")
    assert [read[:2] for read in reads] == [("officer1", two_communes["x001_review"])] * 2


# -- audit -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "status"),
    [("auditor1", 200), ("admin", 200), ("officer1", 403), ("supervisor1", 403), ("head1", 403), ("personnel1", 403)],
)
def test_only_auditors_and_admins_verify_the_audit_trail(
    api: Api, two_communes: dict, username: str, status: int
) -> None:
    response = api.get("/api/v1/audit/verify", username)
    assert response.status_code == status
    if status == 200:
        assert response.get_json()["ok"] is True and response.get_json()["chains"] >= 3


def test_tampering_is_reported(api: Api, two_communes: dict, driver: WorkflowDriver) -> None:
    instance_id = two_communes["x001_review"]
    with driver.session_factory() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.instance_id == instance_id, AuditEvent.seq == 2)).one()
        bypass_append_only(s)
        s.execute(update(AuditEvent).where(AuditEvent.id == event.id).values(payload='{"forged": true}'))
        s.commit()
    report = api.get("/api/v1/audit/verify", "auditor1").get_json()
    assert report["ok"] is False
    assert report["breaks"] == [
        {
            "chain": f"instance:{instance_id}",
            "seq": 2,
            "event_id": event.id,
            "reason": "content does not match its hash (the event was altered)",
        }
    ]
    history = api.get(f"/api/v1/instances/{instance_id}/history", "officer1").get_json()
    assert history["intact"] is False and history["events"][1]["payload"] == {"forged": True}
