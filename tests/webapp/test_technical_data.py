"""Decision 0095: the model's working data (ids and keys of other rows, settings objects) is for the administrator and
the auditor; the personnel officer and the heads read the procedure's facts in words, on the instance page and the
task page alike."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from lxml import html as lxml_html
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.app import AuthActions, raw_data_words
from tests.fixtures.appointment import NOMINEE, setup_appointment, today_text
from tests.fixtures.workflow_helpers import WorkflowDriver

# What the appointment keeps for its own working (workflows/appointment/hooks.py) and a reviewer found on the pages.
WORKING_KEYS = ("appointment_key", "cadre_unit_id", "target_position_id", "min_months_in_post")


@pytest.fixture
def appointment(auth: AuthActions, driver: WorkflowDriver, session_factory: sessionmaker[Session]) -> int:
    """An appointment past its eligibility check, waiting for the head's policy decision."""
    world: dict[str, Any] = setup_appointment(session_factory)
    assert auth.login("personnel1").status_code == 302
    with auth.client.application.app_context():
        from webapp.extensions import db
        from workflows.registry.models import Position

        post = db.session.get(Position, world["post_id"])
        assert post is not None
        unit_id = post.unit_id
    chosen = {"cadre": NOMINEE, "unit": str(unit_id), "position": str(world["post_id"])}
    started = auth.post("/appointments/start", {**chosen, "source": "internal"}, page="/appointments/start")
    assert started.status_code == 302, started.get_data(as_text=True)
    match = re.search(r"/instances/(\d+)", started.headers["Location"])
    assert match
    instance_id = int(match.group(1))
    task = driver.task(instance_id, "eligibility_policy")
    submitted = auth.post(
        f"/tasks/{task.id}", {"dossier_received_on": today_text(), "action": "submit"}, page=f"/tasks/{task.id}"
    )
    assert submitted.status_code == 302, submitted.get_data(as_text=True)
    return instance_id


def _as(auth: AuthActions, username: str) -> None:
    auth.logout()
    assert auth.login(username).status_code == 302


def _technical(page: str) -> list[Any]:
    return lxml_html.fromstring(page).xpath('//details[contains(@class, "technical-data")]')


def test_the_personnel_officer_and_the_head_read_no_working_keys(
    auth: AuthActions, client: FlaskClient, driver: WorkflowDriver, appointment: int
) -> None:
    pages = {"personnel1": client.get(f"/instances/{appointment}")}
    _as(auth, "leader1")
    task = driver.task(appointment, "policy_decision")
    pages["leader1 (task)"] = client.get(f"/tasks/{task.id}")
    pages["leader1 (instance)"] = client.get(f"/instances/{appointment}")
    for who, response in pages.items():
        assert response.status_code == 200, who
        page = response.get_data(as_text=True)
        assert _technical(page) == [], who
        for key in WORKING_KEYS:
            assert key not in page, (who, key)
        if "instance" in who or who == "personnel1":
            assert raw_data_words(page) == [], who
        # What the officer follows stays in words: the post, the eligibility check with its thresholds.
        text = lxml_html.fromstring(page).text_content()
        assert "Phó Chủ tịch UBND xã (Xã An Phú)" in text and "đủ ít nhất 60 tháng" in text, who


@pytest.mark.parametrize("username", ["admin", "auditor1"])
def test_the_administrator_and_the_auditor_unfold_the_working_data(
    auth: AuthActions, client: FlaskClient, appointment: int, username: str
) -> None:
    _as(auth, username)
    response = client.get(f"/instances/{appointment}")
    assert response.status_code == 200
    (technical,) = _technical(response.get_data(as_text=True))
    shown = technical.text_content()
    for key in ("appointment_key", "cadre_unit_id", "target_position_id", "min_months_in_post"):
        assert key in lxml_html.tostring(technical, encoding="unicode"), key
    assert "min_months_in_post" in shown


def test_the_appointments_diagram_names_its_flows_by_their_steps(client: FlaskClient, appointment: int) -> None:
    """A reviewer read 45 "Flow_step1_done — Đã đi qua" on an appointment's diagram: its hover texts name steps."""
    doc = lxml_html.fromstring(client.get(f"/instances/{appointment}").get_data(as_text=True))
    hover = [title.text_content() for title in doc.xpath('//figure[@class="diagram"]//*[local-name()="title"]')]
    flows = [text for text in hover if "→" in text]
    assert flows and any(text.endswith(" — Đã đi qua") for text in flows)
    assert not [text for text in hover if re.search(r"\b(Flow|Gateway|Event|Activity)_|_di\b", text)]
