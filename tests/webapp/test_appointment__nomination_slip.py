"""The expanded leadership's nomination slip (§3.4 step 2, decision 0121) through the pages: the box opens with the
nominee and the local plan for the post, each elector names one of them, the result stays unannounced, the next
conference is told it and votes on whom it handed on."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from lxml import html as lxml_html
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.app import AuthActions
from tests.fixtures.appointment import NOMINEE, OUTSIDER, setup_appointment, today_text
from tests.fixtures.workflow_helpers import WorkflowDriver
from webapp.extensions import db
from workflows.db import transaction
from workflows.models import BallotBox, ProcessInstance
from workflows.registry.models import Cadre, Position
from workflows.registry.records import add_planning_entry

PLANNED_OFFICER = "CB0001"  # officer1, Nguyễn Thị Lan, X001's office: the local source
PLANNED_VICE_CHAIR = "CB0003"  # supervisor1, Lê Văn Minh, X001's people's committee: the local source


@pytest.fixture
def world(app: Any, driver: WorkflowDriver, session_factory: sessionmaker[Session]) -> dict[str, Any]:
    """The appointment world (the nominee and the outsider from X002 planned for the post) and two more X001 cadres
    planned for it."""
    world = setup_appointment(session_factory)
    with session_factory() as s, transaction(s):
        # At most 3 cadres per title and term (QĐ 377): the vice-chair is in the current term's plan.
        for code, term in ((PLANNED_OFFICER, "2026-2031"), (PLANNED_VICE_CHAIR, "2021-2026")):
            cadre = s.scalars(select(Cadre).where(Cadre.code == code)).one()
            add_planning_entry(s, None, cadre, position_id=world["post_id"], term=term)
    return world


def _as(auth: AuthActions, username: str) -> None:
    if auth.client.get("/inbox").status_code == 200:
        auth.logout()
    assert auth.login(username).status_code == 302


def _submit(auth: AuthActions, driver: WorkflowDriver, instance_id: int, key: str, username: str, data: dict) -> Any:
    _as(auth, username)
    task = driver.task(instance_id, key)
    return auth.post(f"/tasks/{task.id}", {**data, "action": "submit"}, page=f"/tasks/{task.id}")


def _at_step2(auth: AuthActions, driver: WorkflowDriver, post_id: int) -> int:
    _as(auth, "personnel1")
    with auth.client.application.app_context():
        post = db.session.get(Position, post_id)
        assert post is not None
        unit = post.unit_id
    chosen = {"cadre": NOMINEE, "unit": str(unit), "position": str(post_id), "source": "internal"}
    started = auth.post("/appointments/start", chosen, page="/appointments/start")
    assert started.status_code == 302, started.get_data(as_text=True)
    match = re.search(r"/instances/(\d+)", started.headers["Location"])
    assert match
    instance_id = int(match.group(1))
    policy = {"dossier_received_on": today_text()}
    assert _submit(auth, driver, instance_id, "eligibility_policy", "personnel1", policy).status_code == 302
    assert _submit(auth, driver, instance_id, "policy_decision", "leader1", {"policy_decision": "approve"}).status_code
    conference = {"held_on": today_text(), "minutes_summary": "Thống nhất cơ cấu, tiêu chuẩn"}
    assert _submit(auth, driver, instance_id, "step1_conference", "personnel1", conference).status_code == 302
    return instance_id


def _open(auth: AuthActions, instance_id: int, electors: list[int]) -> int:
    _as(auth, "personnel1")
    page = f"/appointments/{instance_id}/ballot"
    opened = auth.post(
        page, {"electors": [str(i) for i in electors], "members_count": str(len(electors)), "mode": "online"}, page=page
    )
    assert opened.status_code == 302, opened.get_data(as_text=True)
    match = re.search(r"/ballots/(\d+)/manage", opened.headers["Location"])
    assert match
    box = int(match.group(1))
    attended = auth.post(
        f"/ballots/{box}/attendance", {"present": [str(i) for i in electors]}, page=f"/ballots/{box}/manage"
    )
    assert attended.status_code == 302
    return box


def _data(driver: WorkflowDriver, instance_id: int) -> dict[str, Any]:
    with driver.session_factory() as s:
        row = s.get(ProcessInstance, instance_id)
        assert row is not None
        workflow = driver.engine.load(driver.engine.definition(s, row.process_version_id), row)
        return dict(workflow.last_task.data) if workflow.last_task else {}


def _candidates(session_factory: sessionmaker[Session], box: int) -> list[str]:
    with session_factory() as s:
        stored = s.get(BallotBox, box)
        assert stored is not None
        return [str(c["key"]) for c in stored.candidates]


def _slip(candidates: list[str], named: str) -> dict[str, str]:
    """A nomination slip naming one person: "agree" for them, "disagree" for everyone else."""
    marks = {f"candidate_{i}": "yes" if key == named else "no" for i, key in enumerate(candidates)}
    return {**marks, "confirm": "y"}


def _vote_and_close(
    auth: AuthActions, box: int, candidates: list[str], members: dict[str, int], named: dict[str, str]
) -> None:
    for username in members:
        _as(auth, username)
        voted = auth.post(f"/ballots/{box}/vote", _slip(candidates, named[username]), page=f"/ballots/{box}/vote")
        assert voted.status_code == 302, voted.get_data(as_text=True)
    _as(auth, "personnel1")
    assert auth.post(f"/ballots/{box}/close", {"confirm": "y"}, page=f"/ballots/{box}/manage").status_code == 302


def _names(session_factory: sessionmaker[Session], *codes: str) -> list[str]:
    with session_factory() as s:
        return [s.scalars(select(Cadre.full_name).where(Cadre.code == code)).one() for code in codes]


def _split(members: dict[str, int], counts: dict[str, int]) -> dict[str, str]:
    """Whom each member names: the first `counts[code]` members name `code`, and so on."""
    order = [code for code, count in counts.items() for _ in range(count)]
    assert len(order) == len(members)
    return dict(zip(members, order, strict=True))


def test_step2_names_one_of_a_pool_and_hands_the_chosen_and_the_nominee_to_step3(
    client: FlaskClient,
    auth: AuthActions,
    driver: WorkflowDriver,
    session_factory: sessionmaker[Session],
    world: dict[str, Any],
) -> None:
    members = world["members"]
    instance_id = _at_step2(auth, driver, world["post_id"])
    # The secretary sees whom the slip will name before opening it.
    opening = lxml_html.fromstring(client.get(f"/appointments/{instance_id}/ballot").get_data(as_text=True))
    listed = [item.text_content() for item in opening.xpath("//ul[@class='ballot-candidates']/li")]
    assert listed == _names(session_factory, NOMINEE, PLANNED_OFFICER, PLANNED_VICE_CHAIR)
    box = _open(auth, instance_id, list(members.values()))
    pool = _candidates(session_factory, box)
    # The nominee first, then the local plan in its order; the outsider planned from X002 is not this slip's.
    assert pool == [NOMINEE, PLANNED_OFFICER, PLANNED_VICE_CHAIR] and OUTSIDER not in pool

    # The vote page says who each candidate is (decision 0114), for every one of the pool.
    _as(auth, "member1")
    page = lxml_html.fromstring(client.get(f"/ballots/{box}/vote").get_data(as_text=True))
    legends = [legend.text_content().strip() for legend in page.xpath("//form//fieldset/legend")]
    assert legends == _names(session_factory, *pool)
    assert len(page.xpath("//form//fieldset/p[contains(@class, 'nominee-facts')]")) == len(pool)

    # Two yes on one slip are refused (one person per post), and nothing is stored.
    two = {**_slip(pool, NOMINEE), "candidate_1": "yes"}
    assert auth.post(f"/ballots/{box}/vote", two, page=f"/ballots/{box}/vote").status_code == 422

    # 4 of 7 name the officer, 2 the nominee, 1 the vice-chair: the officer passes (4/7 > 1/2).
    named = _split(members, {PLANNED_OFFICER: 4, NOMINEE: 2, PLANNED_VICE_CHAIR: 1})
    _vote_and_close(auth, box, pool, members, named)

    # §7: not announced — neither to a member on the vote page nor in the task data they could read.
    _as(auth, "member1")
    vote_page = client.get(f"/ballots/{box}/vote").get_data(as_text=True)
    assert '<table class="list">' not in vote_page
    assert client.get(f"/ballots/{box}/minutes").status_code == 403
    # The minutes (printable page and PDF) list every candidate of the pool.
    _as(auth, "personnel1")
    minutes = client.get(f"/ballots/{box}/minutes").get_data(as_text=True)
    assert all(name in minutes for name in _names(session_factory, *pool))
    pdf = client.get(f"/ballots/{box}/minutes.pdf")
    assert pdf.status_code in (200, 404)  # 404: no Unicode font on this machine (the printable page remains)

    assert _submit(auth, driver, instance_id, "ballot_step2", "personnel1", {}).status_code == 302
    data = _data(driver, instance_id)
    assert [n["key"] for n in data["nominees"]] == [PLANNED_OFFICER, NOMINEE]
    assert "tally_ballot_step2" not in data and data["_tally_ballot_step2"]["elected"] == [PLANNED_OFFICER]

    # Step 3 is told step 2's result, every candidate of it, and votes on whom step 2 handed on.
    step3 = _open(auth, instance_id, list(members.values()))
    assert _candidates(session_factory, step3) == [PLANNED_OFFICER, NOMINEE]
    manage = " ".join(client.get(f"/ballots/{step3}/manage").get_data(as_text=True).split())
    officer, nominee, vice_chair = _names(session_factory, PLANNED_OFFICER, NOMINEE, PLANNED_VICE_CHAIR)
    assert f"{nominee}: 2/7" in manage and f"{officer}: 4/7" in manage and f"{vice_chair}: 1/7" in manage

    # The collective chooses the nominee at step 3: the procedure goes on with them alone.
    _vote_and_close(auth, step3, [PLANNED_OFFICER, NOMINEE], members, dict.fromkeys(members, NOMINEE))
    assert _submit(auth, driver, instance_id, "ballot_step3", "personnel1", {}).status_code == 302
    data = _data(driver, instance_id)
    assert data["ballot_next"] == "proceed" and [n["key"] for n in data["nominees"]] == [NOMINEE]
    assert data["tally_ballot_step3"]["elected"] == [NOMINEE]
    step4 = _open(auth, instance_id, list(members.values()))
    assert _candidates(session_factory, step4) == [NOMINEE]


def test_nobody_above_half_at_step2_carries_the_top_two_and_the_nominee_to_step3(
    client: FlaskClient,
    auth: AuthActions,
    driver: WorkflowDriver,
    session_factory: sessionmaker[Session],
    world: dict[str, Any],
) -> None:
    members = world["members"]
    instance_id = _at_step2(auth, driver, world["post_id"])
    box = _open(auth, instance_id, list(members.values()))
    pool = _candidates(session_factory, box)
    # 3, 3 and 1 of 7: nobody passes half, the top two carry forward — the nominee is not among them.
    named = _split(members, {PLANNED_OFFICER: 3, PLANNED_VICE_CHAIR: 3, NOMINEE: 1})
    _vote_and_close(auth, box, pool, members, named)
    assert _submit(auth, driver, instance_id, "ballot_step2", "personnel1", {}).status_code == 302
    data = _data(driver, instance_id)
    assert data["_tally_ballot_step2"]["outcome"] == "runoff"
    assert data["_tally_ballot_step2"]["runoff"] == [PLANNED_OFFICER, PLANNED_VICE_CHAIR]
    handed = [PLANNED_OFFICER, PLANNED_VICE_CHAIR, NOMINEE]  # step 2 decides nothing: the nominee goes on too
    assert [n["key"] for n in data["nominees"]] == handed
    assert [n["name"] for n in data["nominees"]] == _names(session_factory, *handed)

    step3 = _open(auth, instance_id, list(members.values()))
    assert _candidates(session_factory, step3) == handed
    # Step 3 again without a majority: its own top two go on to the key cadres, the nominee among them.
    named = _split(members, {NOMINEE: 3, PLANNED_OFFICER: 3, PLANNED_VICE_CHAIR: 1})
    _vote_and_close(auth, step3, handed, members, named)
    assert _submit(auth, driver, instance_id, "ballot_step3", "personnel1", {}).status_code == 302
    data = _data(driver, instance_id)
    assert data["tally_ballot_step3"]["runoff"] == [PLANNED_OFFICER, NOMINEE]
    assert data["ballot_next"] == "proceed" and [n["key"] for n in data["nominees"]] == [PLANNED_OFFICER, NOMINEE]
    step4 = _open(auth, instance_id, list(members.values()))
    assert _candidates(session_factory, step4) == [PLANNED_OFFICER, NOMINEE]
