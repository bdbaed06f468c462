"""The live structure panel of the planning review's nominations form (issue #7), through HTTP: the figures the
server draws follow the rows of the form when the page is drawn again, and the facts the panel's script asks for
are those of cadres of the review's unit only, for people who oversee it (404 otherwise)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask import Flask, template_rendered
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.app import AuthActions
from tests.fixtures.planning import NEW_SECRETARY, NEW_VICE, NEW_VICE_2, setup_planning
from tests.fixtures.workflow_helpers import WorkflowDriver
from tests.webapp.test_planning import _as, _instance_id, _rows, _start, _through_frame


@pytest.fixture
def world(app: Flask, driver: WorkflowDriver, session_factory: sessionmaker[Session]) -> dict[str, Any]:
    return setup_planning(session_factory)


def _figure(html: str, key: str) -> tuple[str, str, str]:
    """(percent, count, verdict: yes / no / open / none) of one figure of the panel; the verdict is read from its
    data attribute, the words being the translators'."""
    found = []
    for part in ("percent", "count"):
        match = re.search(rf'data-out="{key}-{part}"[^>]*>([^<]*)<', html)
        assert match, (key, part)
        found.append(match.group(1))
    verdict = re.search(rf'data-out="{key}-verdict" data-verdict="([a-z]+)"', html)
    assert verdict, (key, "verdict")
    return found[0], found[1], verdict.group(1)


def _nominating(auth: AuthActions, driver: WorkflowDriver, world: dict[str, Any]) -> tuple[int, int]:
    instance_id = _instance_id(_start(auth))
    _through_frame(auth, driver, instance_id, world)
    _as(auth, "personnel1")
    return instance_id, driver.task(instance_id, "nominate").id


def test_the_panel_counts_the_kept_plan_and_the_rows_of_the_form(
    client: FlaskClient, auth: AuthActions, driver: WorkflowDriver, world: dict[str, Any]
) -> None:
    _instance_id, task_id = _nominating(auth, driver, world)
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert "data-live-structure" in page and "planning_structure.js" in page
    # The kept plan: QH01 (man), QH02 (woman), QH03 (man, Thái); the two removals confirmed are left out.
    assert _figure(page, "women") == ("33,3%", "1/3", "yes")
    assert _figure(page, "ethnic_minority")[:2] == ("33,3%", "1/3")

    # A row added (the "add row" button draws the page again without submitting): QH06, a woman, counts.
    rows = _rows("nominations", [{"cadre_code": NEW_VICE, "position_id": world["vice"]}])
    again = auth.post(f"/tasks/{task_id}", {**rows, "add_row__nominations": "1"}, page=f"/tasks/{task_id}")
    assert again.status_code == 200
    html = again.get_data(as_text=True)
    assert _figure(html, "women")[:2] == ("50,0%", "2/4")
    assert _figure(html, "ethnic_minority")[:2] == ("25,0%", "1/4")

    # Kept as a draft, the page drawn from it shows the same; a code typed twice or unknown counts once or not.
    rows = _rows(
        "nominations",
        [
            {"cadre_code": NEW_VICE, "position_id": world["vice"]},
            {"cadre_code": NEW_VICE, "position_id": world["secretary"]},
            {"cadre_code": "NOPE", "position_id": world["vice"]},
            {"cadre_code": NEW_VICE_2, "position_id": world["vice"]},
        ],
    )
    saved = auth.post(f"/tasks/{task_id}", {**rows, "action": "draft"}, page=f"/tasks/{task_id}")
    assert saved.status_code == 302
    drafted = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert _figure(drafted, "women")[:2] == ("40,0%", "2/5")
    assert _figure(drafted, "ethnic_minority")[:2] == ("40,0%", "2/5")


def test_the_panel_carries_a_plain_number_and_the_pages_label_in_the_readers_language(
    app: Flask, client: FlaskClient, auth: AuthActions, driver: WorkflowDriver, world: dict[str, Any]
) -> None:
    """Decision 0118: the panel's figures carry `percent`, a plain number, and `percent_text`, the label as the
    targets pages write a share ("33,3%" / "33.3%"); the script writes its recount with the same decimal mark."""
    _instance_id, task_id = _nominating(auth, driver, world)
    panels: list[dict[str, Any]] = []

    def keep(sender: Any, template: Any, context: dict[str, Any], **extra: Any) -> None:
        if context.get("live_structure"):
            panels.append(context["live_structure"])

    with template_rendered.connected_to(keep, app):
        page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
        assert 'data-decimal-mark=","' in page and _figure(page, "women")[0] == "33,3%"
        auth.post("/auth/language", {"locale": "en", "next": f"/tasks/{task_id}"}, page=f"/tasks/{task_id}")
        english = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert 'data-decimal-mark="."' in english and _figure(english, "women")[0] == "33.3%"
    vietnamese, in_english = ({f["key"]: f for f in panel["figures"]} for panel in (panels[0], panels[-1]))
    assert vietnamese["women"]["percent"] == in_english["women"]["percent"] == 33.3
    assert (vietnamese["women"]["percent_text"], in_english["women"]["percent_text"]) == ("33,3%", "33.3%")
    assert isinstance(vietnamese["women"]["percent"], float)
    assert json.loads(json.dumps(panels[0]["figures"]))[0]["percent"] is not None  # JSON as it stands


def test_structure_facts_answer_for_cadres_of_the_unit_only(
    client: FlaskClient, auth: AuthActions, driver: WorkflowDriver, world: dict[str, Any]
) -> None:
    instance_id, _task_id = _nominating(auth, driver, world)
    url = f"/planning/{instance_id}/structure-facts"
    # CB0005 works in X002, outside the review's unit: left out like a code nobody has.
    answer = client.get(f"{url}?codes={NEW_VICE},{NEW_VICE_2}, {NEW_SECRETARY},CB0005,NOPE")
    assert answer.status_code == 200
    facts = answer.get_json()["facts"]
    assert set(facts) == {NEW_VICE, NEW_VICE_2, NEW_SECRETARY}
    assert facts[NEW_VICE]["women"] is True and facts[NEW_VICE]["ethnic_minority"] is False
    assert facts[NEW_VICE_2] == {
        "women": False,
        "young": facts[NEW_VICE_2]["young"],
        "ethnic_minority": True,
        "science_technology": True,
    }
    assert isinstance(facts[NEW_VICE_2]["young"], bool)
    assert client.get(url).get_json() == {"facts": {}}

    _as(auth, "officer3")  # an officer of the other commune
    assert client.get(f"{url}?codes={NEW_VICE}").status_code == 404
    _as(auth, "head1")  # the head of X001 oversees the review
    assert client.get(f"{url}?codes={NEW_VICE}").status_code == 200
    assert client.get(f"/planning/{instance_id + 999}/structure-facts?codes={NEW_VICE}").status_code == 404
    # Another procedure of the same unit is not a planning review.
    other = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    assert client.get(f"/planning/{other}/structure-facts?codes={NEW_VICE}").status_code == 404
