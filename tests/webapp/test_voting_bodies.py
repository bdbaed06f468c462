"""A unit's voting bodies through the real app (decision 0122): the page under the unit, kept by the unit's personnel
officer or administrator only (403 for anyone else who sees the unit, 404 outside it), a member who is not one of the
unit's accounts refused (422, nothing written); the appointment's ballot page summons a kept body and says when the
body is not configured."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import html as lxml_html
from sqlalchemy import func, select

from tests.fixtures.app import AuthActions
from tests.fixtures.appointment import setup_appointment, start, today_text
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows.db import transaction
from workflows.models import AuditEvent, BallotBox, BallotElector
from workflows.registry.models import OrgUnit, User, VotingBodyMember
from workflows.registry.voting_bodies import BODY_CHANGED, set_body_members
from workflows.states import BodyKind


def _doc(response: Any) -> Any:
    return lxml_html.fromstring(response.get_data(as_text=True))


def _ids(driver: WorkflowDriver, *names: str) -> list[int]:
    with driver.session_factory() as s:
        found = {u.username: u.id for u in s.scalars(select(User).where(User.username.in_(names)))}
        return [found[name] for name in names]


def _unit_id(driver: WorkflowDriver, code: str) -> int:
    with driver.session_factory() as s:
        return s.scalars(select(OrgUnit.id).where(OrgUnit.code == code)).one()


def _written(driver: WorkflowDriver) -> tuple[int, int]:
    with driver.session_factory() as s:
        rows = s.scalar(select(func.count()).select_from(VotingBodyMember)) or 0
        events = s.scalar(select(func.count()).where(AuditEvent.event_type == BODY_CHANGED)) or 0
        return rows, events


def _save(auth: AuthActions, unit: int, kind: str, members: list[Any]) -> Any:
    page = f"/units/{unit}/voting-bodies"
    token = auth.csrf_token(page)
    data = {f"{kind}-csrf_token": token, "csrf_token": token, f"{kind}-members": [str(m) for m in members]}
    return auth.client.post(f"{page}/{kind}", data=data)


@pytest.mark.parametrize("username", ["admin", "personnel1"])
def test_the_units_personnel_officer_or_administrator_keeps_a_body(
    auth: AuthActions, driver: WorkflowDriver, username: str
) -> None:
    x001 = _unit_id(driver, "X001")
    auth.login(username)
    page = _doc(auth.client.get(f"/units/{x001}"))
    assert page.xpath(f'//a[@href="/units/{x001}/voting-bodies"]')
    form = _doc(auth.client.get(f"/units/{x001}/voting-bodies"))
    offered = set(form.xpath('//input[@name="leadership-members"]/@value'))
    assert offered == {str(i) for i in _ids(driver, "officer1", "officer2", "supervisor1", "head1")}
    members = _ids(driver, "head1", "supervisor1")
    response = _save(auth, x001, "leadership", members)
    assert response.status_code == 302 and response.headers["Location"].endswith("#body-leadership")
    shown = _doc(auth.client.get(f"/units/{x001}/voting-bodies"))
    assert set(shown.xpath('//input[@name="leadership-members"][@checked]/@value')) == {str(m) for m in members}
    history = _doc(auth.client.get(f"/units/{x001}")).xpath('//li[@data-event="voting_body_changed"]')
    assert len(history) == 1 and "Phạm Quốc Dũng" in history[0].text_content()
    assert _written(driver) == (2, 1)


@pytest.mark.parametrize("username", ["head1", "officer1", "auditor1"])
def test_anyone_else_who_sees_the_unit_reads_but_is_refused_403(
    auth: AuthActions, driver: WorkflowDriver, username: str
) -> None:
    x001 = _unit_id(driver, "X001")
    auth.login(username)
    page = auth.client.get(f"/units/{x001}/voting-bodies")
    assert page.status_code == 200 and not _doc(page).xpath('//input[@name="leadership-members"]')
    assert _save(auth, x001, "leadership", _ids(driver, "head1")).status_code == 403
    assert _written(driver) == (0, 0)


def test_outside_the_unit_the_page_is_404_and_an_unknown_body_is_404(auth: AuthActions, driver: WorkflowDriver) -> None:
    x001 = _unit_id(driver, "X001")
    auth.login("officer3")  # of Phường Bình Minh
    assert auth.client.get(f"/units/{x001}/voting-bodies").status_code == 404
    assert _save(auth, x001, "leadership", _ids(driver, "head1")).status_code == 404
    auth.logout()
    auth.login("admin")
    assert _save(auth, x001, "presidium", _ids(driver, "head1")).status_code == 404
    assert _written(driver) == (0, 0)


@pytest.mark.parametrize("member", ["officer3", "personnel1", "nobody", "-1", "abc"])
def test_a_member_who_is_not_one_of_the_units_accounts_is_refused_422(
    auth: AuthActions, driver: WorkflowDriver, member: str
) -> None:
    x001 = _unit_id(driver, "X001")
    outsider: Any = _ids(driver, member)[0] if member in ("officer3", "personnel1") else member
    auth.login("admin")
    response = _save(auth, x001, "leadership", [*_ids(driver, "head1"), outsider])
    assert response.status_code == 422
    page = _doc(response)
    assert page.xpath('//section[@id="body-leadership"]//*[@class="field-error"]')
    assert _written(driver) == (0, 0)


# -- the ballot page ---------------------------------------------------------------------------------------------


@pytest.fixture
def at_step2(driver: WorkflowDriver) -> int:
    """An appointment to X001's vice-chair post at its step 2 ballot (the expanded leadership conference)."""
    world = setup_appointment(driver.session_factory)
    instance_id = start(driver.session_factory, driver.engine, world["post_id"])
    for key, username, data in (
        ("eligibility_policy", "personnel1", {"dossier_received_on": today_text()}),
        ("policy_decision", "leader1", {"policy_decision": "approve"}),
        ("step1_conference", "personnel1", {"held_on": today_text(), "minutes_summary": "x"}),
    ):
        driver.complete(username, driver.task(instance_id, key).id, data)
    return instance_id


def test_the_ballot_page_says_when_the_steps_body_is_not_configured(
    auth: AuthActions, driver: WorkflowDriver, at_step2: int
) -> None:
    auth.login("personnel1")
    page = _doc(auth.client.get(f"/appointments/{at_step2}/ballot"))
    notice = page.xpath('//*[@id="body-not-configured"]')
    assert notice and page.xpath('//input[@name="electors"]')
    x001 = _unit_id(driver, "X001")
    assert notice[0].xpath(f'.//a[@href="/units/{x001}/voting-bodies#body-expanded_leadership"]')


def test_the_ballot_page_summons_a_kept_body_whole(auth: AuthActions, driver: WorkflowDriver, at_step2: int) -> None:
    body = _ids(driver, "head1", "supervisor1", "officer1", "member1", "member2")
    x001 = _unit_id(driver, "X001")
    with driver.session_factory() as s, transaction(s):
        admin = s.scalars(select(User).where(User.username == "admin")).one()
        set_body_members(s, admin, x001, BodyKind.EXPANDED_LEADERSHIP, body)
    auth.login("personnel1")
    page_url = f"/appointments/{at_step2}/ballot"
    page = _doc(auth.client.get(page_url))
    assert not page.xpath('//*[@id="body-not-configured"]') and not page.xpath('//input[@name="electors"]')
    assert len(page.xpath('//*[@id="voting-body"]//li')) == 5
    # A forged elector or count is not what the page sends, and is not taken either: the body summons.
    outsider = _ids(driver, "extra1")[0]
    response = auth.post(
        page_url, {"mode": "online", "electors": [str(outsider)], "members_count": "99"}, page=page_url
    )
    assert response.status_code == 302
    with driver.session_factory() as s:
        box = s.scalars(select(BallotBox)).one()
        assert box.members_count == 5
        summoned = set(s.scalars(select(BallotElector.user_id).where(BallotElector.box_id == box.id)))
        assert summoned == set(body)
