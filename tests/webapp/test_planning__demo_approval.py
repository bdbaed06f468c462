"""A commune's planning review on the demo province, walked through HTTP by the demo logins as a new user would:
the competent authority's approval reaches a person who holds its role (the provincial party secretary, `head8`),
who completes it; the review then reads as approved. When nobody active holds the next step's role where it waits,
the person who sends the step before it is told so on the spot, in Vietnamese."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.app import AuthActions
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows.models import ProcessInstance
from workflows.registry.demo import PLANNING_TERM, load_demo_province
from workflows.registry.models import OrgUnit, Position, User
from workflows.registry.records import local_today
from workflows.states import InstanceStatus, TaskStatus

APPROVER = "head8"  # bí thư Tỉnh ủy: the head of the province, the unit above a commune
NOBODY_WARNING = "Bước “Phê duyệt quy hoạch” đang chờ người có vai trò"


@pytest.fixture
def province(app: Flask, driver: WorkflowDriver, session_factory: sessionmaker[Session]) -> dict[str, Any]:
    with session_factory() as s:
        load_demo_province(s, cadres=300, today=local_today())
        s.commit()
        vice_chair = s.scalars(
            select(Position.id)
            .join(OrgUnit, OrgUnit.id == Position.unit_id)
            .where(OrgUnit.code == "X001-UB", Position.title == "Phó Chủ tịch UBND")
        ).one()
    return {"vice_chair": vice_chair}


def _as(auth: AuthActions, username: str) -> None:
    if auth.client.get("/inbox").status_code == 200:
        auth.logout()
    assert auth.login(username).status_code == 302


def _submit(auth: AuthActions, driver: WorkflowDriver, instance_id: int, key: str, username: str, data: dict) -> Any:
    _as(auth, username)
    task = driver.task(instance_id, key)
    sent = auth.post(f"/tasks/{task.id}", {**data, "action": "submit"}, page=f"/tasks/{task.id}")
    assert sent.status_code == 302, sent.get_data(as_text=True)
    return sent


def _to_the_approval(
    auth: AuthActions, client: FlaskClient, driver: WorkflowDriver, vice_chair: int
) -> tuple[int, str]:
    """personnel1 starts a new term's plan of Xã An Phú and sends every step up to the approval (one title in the
    frame, nobody nominated); returns the instance and the page personnel1 lands on after sending the dossier."""
    _as(auth, "personnel1")
    started = auth.post(
        "/planning/start", {"unit": "X001", "term": PLANNING_TERM, "variant": "term"}, page="/planning/start"
    )
    assert started.status_code == 302, started.get_data(as_text=True)
    match = re.search(r"/instances/(\d+)", started.headers["Location"])
    assert match
    instance_id = int(match.group(1))
    _submit(auth, driver, instance_id, "review_frame", "personnel1", {"frame_titles-0-position_id": str(vice_chair)})
    _submit(auth, driver, instance_id, "approve_frame", "head1", {"frame_decision": "approve"})
    _submit(auth, driver, instance_id, "nominate", "personnel1", {})
    sent = _submit(auth, driver, instance_id, "dossier", "personnel1", {"submission_number": "12/TTr-BTCTU"})
    return instance_id, client.get(sent.headers["Location"]).get_data(as_text=True)


def test_a_communes_plan_reaches_the_provinces_head_who_approves_it(
    client: FlaskClient, auth: AuthActions, driver: WorkflowDriver, session_factory, province: dict[str, Any]
) -> None:
    instance_id, landed = _to_the_approval(auth, client, driver, province["vice_chair"])
    assert NOBODY_WARNING not in landed

    approval = driver.task(instance_id, "approval")
    assert approval.assignment_problem is None
    # In the approver's inbox, and the step opens for them; a head elsewhere (Sở Nội vụ) still does not see it.
    _as(auth, APPROVER)
    assert f"/tasks/{approval.id}" in client.get("/inbox?scope=group").get_data(as_text=True)
    assert client.get(f"/tasks/{approval.id}").status_code == 200
    _as(auth, "head3")
    assert client.get(f"/tasks/{approval.id}").status_code == 404

    _submit(auth, driver, instance_id, "approval", APPROVER,
            {"approval_decision": "approve", "decision_number": "310-QĐ/TU"})  # fmt: skip
    with session_factory() as s:
        instance = s.get(ProcessInstance, instance_id)
        assert instance is not None and instance.status == InstanceStatus.COMPLETED
    _as(auth, APPROVER)
    page = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert 'data-outcome="achieved"' in page and "Đã phê duyệt quy hoạch" in page


def test_the_sender_is_told_when_nobody_holds_the_next_steps_role(
    client: FlaskClient, auth: AuthActions, driver: WorkflowDriver, session_factory, province: dict[str, Any]
) -> None:
    with session_factory() as s:
        s.execute(update(User).where(User.username == APPROVER).values(is_active=False))
        s.commit()
    instance_id, landed = _to_the_approval(auth, client, driver, province["vice_chair"])
    assert NOBODY_WARNING in landed and "Tỉnh Sơn Hà (demo)" in landed
    # Told, not stopped: the step is open, waiting for the role to be granted.
    assert driver.task(instance_id, "approval").status == TaskStatus.OPEN
