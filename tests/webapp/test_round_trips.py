"""What one request costs the database on PostgreSQL (issue #9 load test): statements and transactions per request.

A completion over the API was 14 statements in 4 transactions (the token, its user and roles, each re-read after
every commit; the task loaded for the visibility check, then locked again; the reply rebuilt from ORM objects after
the commit). These pin what is left, so that a change which adds a round trip to the hot paths is seen: the engine's
own share is the locking read and the write (tests/workflows/test_store.py, docs/decisions/0017).
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from werkzeug.test import TestResponse

from bench.floor import KINDS
from tests.fixtures.app import AuthActions
from tests.fixtures.evaluation import MONTH, SELF_ASSESSMENT
from tests.fixtures.statements import Sent, statements_sent
from tests.fixtures.workflow_helpers import WorkflowDriver
from webapp.extensions import db
from workflows.clock import utcnow_naive
from workflows.db import transaction
from workflows.evaluation.opening import open_for_cadres, plan_month
from workflows.models import ProcessInstance
from workflows.registry.models import ApiToken, Cadre, EvaluationResult, User
from workflows.registry.tokens import LAST_USE_PRECISION, create_token
from workflows.rules.evaluation import DEFAULT_POLICY

REQUEST = {"subject_line": "Đề nghị cấp phòng họp", "amount": 1}
FORM = {key: str(value) for key, value in REQUEST.items()}


@pytest.fixture
def engine(app: Flask) -> Engine:
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("round trips are PostgreSQL's cost; SQLite has none to save")
        return db.engine


@pytest.fixture
def officer_token(app: Flask) -> str:
    with app.app_context():
        officer = db.session.scalars(select(User).where(User.username == "officer1")).one()
        token = create_token(db.session, officer, "round trips")
        db.session.commit()
        return token


def _requests(driver: WorkflowDriver, count: int) -> list[tuple[int, int]]:
    """(instance id, id of its open request step) of `count` new sample_approval procedures of officer1."""
    instances = [driver.start("sample_approval", as_user="officer1", subject="CB0001") for _ in range(count)]
    return [(instance_id, driver.task(instance_id, "submit_request").id) for instance_id in instances]


def _after_a_first_completion(
    app: Flask, token: str, driver: WorkflowDriver
) -> tuple[FlaskClient, dict[str, str], int]:
    """An API client whose first completion has recorded the token's use and prepared the hot path's statements on
    the connection; its headers, and the id of a second open request step."""
    api = app.test_client(use_cookies=False)
    headers = {"Authorization": f"Bearer {token}"}
    (_, warm_up), (_, task_id) = _requests(driver, 2)
    assert api.post(f"/api/v1/tasks/{warm_up}/complete", json=REQUEST, headers=headers).status_code == 200
    return api, headers, task_id


def test_an_api_completion_is_three_statements_in_one_transaction(
    app: Flask, engine: Engine, officer_token: str, driver: WorkflowDriver
) -> None:
    api, headers, task_id = _after_a_first_completion(app, officer_token, driver)

    with statements_sent(engine) as sent:
        response = api.post(f"/api/v1/tasks/{task_id}/complete", json=REQUEST, headers=headers)

    assert response.status_code == 200
    answer = response.get_json()
    assert [t["task_key"] for t in answer["open_tasks"]] == ["review_request"]
    assert answer["instance"]["subject"]["code"] == "CB0001" and answer["instance"]["started_by"] == "officer1"
    # The token with its user and roles; the engine's locking read (who may see the task is decided on it, and the
    # answer's labels come with it) and its one write, which answers with the tasks left open: nothing is read
    # after it.
    assert len(sent.statements) == 3, str(sent)
    assert "api_tokens" in sent.statements[0] and "role_assignments" in sent.statements[0], str(sent)
    assert "org_units" not in sent.statements[0], str(sent)  # scope checks need a role's unit id, not its row
    assert "FOR UPDATE" in sent.statements[1] and "task_unit.path" in sent.statements[1], str(sent)
    assert "process_versions.name" in sent.statements[1] and "starter.username" in sent.statements[1], str(sent)
    write = sent.statements[2]
    assert "UPDATE process_instances" in write and "FROM advance_saved LEFT OUTER JOIN human_tasks" in write, str(sent)
    assert sent.commits == 1
    # … and every one of them is a statement prepared on the connection: none is parsed or planned again.
    assert all(s.startswith("EXECUTE canbo_") for s in sent.executed), str(sent)


def test_recording_the_tokens_use_does_not_read_the_user_again(
    app: Flask, engine: Engine, officer_token: str, driver: WorkflowDriver
) -> None:
    """Once a minute a request also writes the token's last use and commits it; what it loaded stays loaded."""
    api, headers, task_id = _after_a_first_completion(app, officer_token, driver)
    with app.app_context():
        db.session.execute(update(ApiToken).values(last_used_dt=utcnow_naive() - LAST_USE_PRECISION))
        db.session.commit()

    with statements_sent(engine) as sent:
        response = api.post(f"/api/v1/tasks/{task_id}/complete", json=REQUEST, headers=headers)

    assert response.status_code == 200
    assert len(sent.statements) == 4 and "UPDATE api_tokens" in sent.statements[1], str(sent)
    assert sum("users.password_hash" in s for s in sent.statements) == 1, str(sent)  # the token's own read
    assert sent.commits == 2
    # The last use is a prepared UPDATE of its own, not an object flushed by the ORM.
    assert all(s.startswith("EXECUTE canbo_") for s in sent.executed), str(sent)


def test_an_api_inbox_read_is_two_statements_and_no_commit(
    app: Flask, engine: Engine, officer_token: str, driver: WorkflowDriver
) -> None:
    _requests(driver, 3)
    api = app.test_client(use_cookies=False)
    headers = {"Authorization": f"Bearer {officer_token}"}
    assert api.get("/api/v1/tasks", headers=headers).status_code == 200

    with statements_sent(engine) as sent:
        response = api.get("/api/v1/tasks", headers=headers)

    assert response.status_code == 200 and response.get_json()["total"] == 3
    assert len(sent.statements) == 2, str(sent)  # the token with user and roles; the page with its total
    assert sent.commits == 0


def test_the_token_floor_is_the_token_read_alone(app: Flask, engine: Engine, officer_token: str) -> None:
    """bench/floor.py's api_token request reads the token with its user and roles and is refused: nothing else of
    an API request's own work, so its cost is what every API request pays before it."""
    path, status = KINDS["api_token"]
    api = app.test_client(use_cookies=False)
    headers = {"Authorization": f"Bearer {officer_token}", "Accept": "application/json"}
    assert api.get(path, headers=headers).status_code == status  # the token's first use is written here

    with statements_sent(engine) as sent:
        assert api.get(path, headers=headers).status_code == status

    assert len(sent.statements) == 1, str(sent)
    assert sent.commits == 0


def test_an_api_list_of_instances_is_one_statement_for_its_page_however_long(
    app: Flask, engine: Engine, officer_token: str, driver: WorkflowDriver
) -> None:
    """The page's instances, its total and each one's labels and open tasks come in one statement: a longer page
    sends no more (nothing per item); a unit filter adds the read of the caller's units."""
    api = app.test_client(use_cookies=False)
    headers = {"Authorization": f"Bearer {officer_token}"}

    def second_read(query: str) -> tuple[dict, Sent]:
        assert api.get(f"/api/v1/instances{query}", headers=headers).status_code == 200
        with statements_sent(engine) as sent:
            response = api.get(f"/api/v1/instances{query}", headers=headers)
        assert response.status_code == 200
        return response.get_json(), sent

    _requests(driver, 1)
    one, one_sent = second_read("")
    _requests(driver, 4)
    five, five_sent = second_read("")
    assert (one["total"], len(five["items"])) == (1, 5)
    assert len(one_sent.statements) == len(five_sent.statements) == 2, str(five_sent)  # the token; the page
    assert five_sent.commits == 0
    by_unit, unit_sent = second_read("?unit=X001&per_page=2")
    assert (by_unit["total"], by_unit["next_page"]) == (5, 2)
    assert len(unit_sent.statements) == 3 and "org_units" in unit_sent.statements[1], str(unit_sent)


def test_the_html_inbox_loads_the_user_once_with_the_roles(
    engine: Engine, auth: AuthActions, client: FlaskClient, driver: WorkflowDriver
) -> None:
    _requests(driver, 3)
    auth.login("officer1")
    assert client.get("/inbox").status_code == 200

    with statements_sent(engine) as sent:
        response = client.get("/inbox")

    assert response.status_code == 200
    users = [s for s in sent.statements if re.search(r"\bFROM users\b", s)]
    assert len(users) == 1 and "role_assignments" in users[0], str(sent)
    assert not any(re.search(r"\bFROM role_assignments\b", s) for s in sent.statements), str(sent)
    # the user; the units (the filter's choices, and what a unit filter is checked against: decision 0112); the step
    # filters with their counts; the page; the ballots waiting for the person's vote (decisions 0058, 0114,
    # prepared); the menu (the group count, the unread notifications and whether anything is deployed, in one
    # statement: workflows/navigation.py). The deployed procedures are read only when a procedure filter is asked.
    assert len(sent.statements) == 6, str(sent)
    assert sum("FROM org_units" in s and "human_tasks" not in s for s in sent.statements) == 1, str(sent)
    (menu,) = [s for s in sent.statements if "FROM notifications" in s]
    assert "FROM human_tasks" in menu and "FROM process_versions" in menu, str(sent)
    assert sent.commits == 0


def test_a_task_form_post_is_four_statements_in_one_transaction(
    engine: Engine, auth: AuthActions, client: FlaskClient, driver: WorkflowDriver
) -> None:
    (_, warm_up), (instance_id, task_id) = _requests(driver, 2)
    auth.login("officer1")
    csrf = auth.csrf_token(f"/tasks/{task_id}")
    assert client.post(f"/tasks/{warm_up}", data={**FORM, "csrf_token": csrf}).status_code == 302

    with statements_sent(engine) as sent:
        response = client.post(f"/tasks/{task_id}", data={**FORM, "csrf_token": csrf})

    assert response.status_code == 302
    assert driver.task(instance_id, "review_request").status == "open"
    # the user with roles; the task with its instance (not the workflow state: the form needs none of it); the
    # engine's locking read and its one write — which also takes the task's draft away (its trigger, decision 0085)
    # and answers which steps it opened wait for a role nobody holds (the flash of decision 0106)
    assert len(sent.statements) == 4, str(sent)
    assert "untakeable" in sent.statements[-1], str(sent)
    assert not any("task_drafts" in s for s in sent.statements), str(sent)
    assert not any("process_instances.state" in s for s in sent.statements[:2]), str(sent)
    assert sent.commits == 1


def test_the_task_list_total_rides_in_the_page_and_survives_a_page_past_the_end(
    app: Flask, officer_token: str, driver: WorkflowDriver
) -> None:
    """The total comes with the rows (a window count); a page past the end has no row to carry it and counts."""
    _requests(driver, 3)
    api = app.test_client(use_cookies=False)
    headers = {"Authorization": f"Bearer {officer_token}"}
    pages = [api.get(f"/api/v1/tasks?per_page=2&page={n}", headers=headers).get_json() for n in (1, 2, 9)]
    assert [len(page["items"]) for page in pages] == [2, 1, 0]
    assert [page["total"] for page in pages] == [3, 3, 3]
    overdue = api.get("/api/v1/tasks?overdue=true&page=2", headers=headers).get_json()
    assert (overdue["items"], overdue["total"]) == ([], 0)


def _second_view(
    engine: Engine, auth: AuthActions, client: FlaskClient, driver: WorkflowDriver, username: str, page: str
) -> tuple[TestResponse, Sent]:
    """What the second view of an instance's page (`page`, with {id}) sends, the instance's request submitted."""
    ((instance_id, task_id),) = _requests(driver, 1)
    driver.complete("officer1", task_id, REQUEST)
    auth.login(username)
    assert client.get(page.format(id=instance_id)).status_code == 200
    with statements_sent(engine) as sent:
        return client.get(page.format(id=instance_id)), sent


def test_an_instance_page_reads_the_user_and_the_instance_once(
    engine: Engine, auth: AuthActions, client: FlaskClient, driver: WorkflowDriver
) -> None:
    """The page logs its read in the transaction it reads in, committed once the page is built (one BEGIN and one
    COMMIT, no ROLLBACK); it does not read the signed-in user, the instance, its version or its subject twice, nor
    ask per open task whether the reader may open it."""
    page, sent = _second_view(engine, auth, client, driver, "supervisor1", "/instances/{id}")

    assert page.status_code == 200 and "record_views" in " ".join(sent.statements)
    assert (sent.begins, sent.commits, sent.rollbacks) == (1, 1, 0)
    assert len([s for s in sent.statements if re.search(r"\bFROM users\b", s) and "password_hash" in s]) == 1, str(sent)
    instance_reads = [s for s in sent.statements if "process_instances.state" in s]
    assert len(instance_reads) == 1, str(sent)
    assert all(table in instance_reads[0] for table in ("process_versions", "cadres", "org_units")), str(sent)
    assert not any(re.match(r"SELECT (process_versions|cadres|org_units)\.id AS", s) for s in sent.statements)
    # the open step's units come with it; whether the supervisor may see the procedure and whether they may cancel
    # it are decided on the unit loaded with the instance: no unit path is read on its own, nor the instance again
    assert any("FROM human_tasks" in s and "open_task_unit.path" in s for s in sent.statements), str(sent)
    paths = [s for s in sent.statements if re.match(r"SELECT org_units.path\s+FROM org_units", s)]
    assert paths == [], paths
    assert not any(s.startswith("SELECT process_instances.id \nFROM process_instances") for s in sent.statements)
    _all_prepared(sent)


def _all_prepared(sent: Sent) -> None:
    """Every statement of the page is prepared on the connection (decisions 0028, 0037): the names the events
    mention included, looked up by arrays of ids rather than IN lists whose length changes with the page."""
    unprepared = [
        statement
        for executed, statement in zip(sent.executed, sent.statements, strict=True)
        if not executed.startswith("EXECUTE canbo_")
    ]
    assert unprepared == [], unprepared
    assert any("= ANY (" in statement and "org_units" in statement for statement in sent.statements), str(sent)


def test_an_instance_history_is_one_transaction_without_a_server_side_cursor(
    engine: Engine, auth: AuthActions, client: FlaskClient, driver: WorkflowDriver
) -> None:
    """The inspector's history page verifies the instance's chain: its few events are read in one statement, not
    through a server-side cursor (a DECLARE, two FETCHes and a CLOSE more), and the read is logged in the page's
    own transaction."""
    page, sent = _second_view(engine, auth, client, driver, "auditor1", "/audit/instances/{id}")

    assert page.status_code == 200 and "record_views" in " ".join(sent.statements)
    assert 'data-intact="yes"' in page.get_data(as_text=True)
    assert sent.server_cursors == 0, str(sent)
    assert (sent.begins, sent.commits, sent.rollbacks) == (1, 1, 0)
    _all_prepared(sent)


@pytest.mark.usefixtures("in_november")
def test_recording_a_months_grade_reads_the_cadre_once_and_not_its_unit(
    app: Flask, engine: Engine, driver: WorkflowDriver
) -> None:
    """The head's decision ends the procedure and records the grade on the cadre's record (50,000 of them a month in a
    province): the cadre's row is read once, locked, and its own unit — which a foreign key vouches for — not at all;
    nor is the instance being completed checked for existence, nor the cadre's user read before telling them."""
    with driver.session_factory() as session, transaction(session):
        personnel = session.scalars(select(User).where(User.username == "personnel1")).one()
        plan = plan_month(session, actor=personnel, month=MONTH, unit_code="X001")
        cadres = [cadre for cadre in plan.to_open if cadre.code == "CB0001"]
        open_for_cadres(session, driver.engine, actor=personnel, plan=plan, cadres=cadres, policy=DEFAULT_POLICY)
        instance_id = session.scalars(
            select(ProcessInstance.id).where(ProcessInstance.business_key == f"{MONTH}/CB0001")
        ).one()
        head = session.scalars(select(User).where(User.username == "head1")).one()
        token = create_token(session, head, "round trips")
    driver.complete("officer1", driver.task(instance_id, "self_assessment").id, SELF_ASSESSMENT)
    driver.complete(
        "supervisor1", driver.task(instance_id, "manager_review").id, {**SELF_ASSESSMENT, "decision": "submit"}
    )
    api = app.test_client(use_cookies=False)
    headers = {"Authorization": f"Bearer {token}"}

    with statements_sent(engine) as sent:
        response = api.post(
            f"/api/v1/tasks/{driver.task(instance_id, 'head_decision').id}/complete",
            json={"grade": "HTXSNV"},
            headers=headers,
        )

    assert response.status_code == 200 and response.get_json()["instance"]["status"] == "completed"
    cadre_reads = [s for s in sent.statements if re.match(r"SELECT cadres\.id( AS cadres_id)?, cadres\.code", s)]
    assert len(cadre_reads) == 1 and "FOR UPDATE" in cadre_reads[0], str(sent)
    assert not any(re.match(r"SELECT org_units\.id( AS org_units_id)?, ", s) for s in sent.statements), str(sent)
    assert not any(re.match(r"SELECT process_instances\.id( AS \w+)? FROM", s) for s in sent.statements), str(sent)
    assert not any(re.match(r"SELECT users\.id( AS \w+)? FROM users", s) for s in sent.statements), str(sent)
    (told,) = [s for s in sent.statements if s.startswith("INSERT INTO notifications")]
    assert "SELECT users.id" in told, str(sent)
    with app.app_context():
        result = db.session.scalars(select(EvaluationResult).join(Cadre).where(Cadre.code == "CB0001")).one()
        cadre_unit = db.session.scalar(select(Cadre.unit_id).where(Cadre.code == "CB0001"))
        assert (result.grade, result.unit_id, result.source_instance_id) == ("HTXSNV", cadre_unit, instance_id)


def test_the_list_of_procedures_reads_how_they_ended_in_its_own_read(
    engine: Engine, auth: AuthActions, client: FlaskClient, driver: WorkflowDriver
) -> None:
    """How each completed procedure ended (decision 0064) is a column of the page's read of its rows, not a read of
    the audit events of its own, nor one per row: a page with more completed rows sends the same statements."""

    def second_view() -> Sent:
        assert client.get("/instances").status_code == 200
        with statements_sent(engine) as sent:
            assert client.get("/instances").status_code == 200
        return sent

    finished = _requests(driver, 3)
    driver.complete("officer1", finished[0][1], REQUEST)
    auth.login("supervisor1")
    driver.complete("supervisor1", driver.task(finished[0][0], "review_request").id, {"decision": "reject"})
    one_completed = second_view()
    for instance_id, task_id in finished[1:]:
        driver.complete("officer1", task_id, REQUEST)
        driver.complete("supervisor1", driver.task(instance_id, "review_request").id, {"decision": "approve"})
    three_completed = second_view()

    assert len(three_completed.statements) == len(one_completed.statements), str(three_completed)
    assert not any(re.match(r"SELECT audit_events\.", s) for s in three_completed.statements), str(three_completed)
    (page_read,) = [s for s in three_completed.statements if "audit_events" in s]
    assert "FROM process_instances" in page_read and "LIMIT" in page_read, str(three_completed)
