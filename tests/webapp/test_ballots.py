"""Ballot pages through HTTP: voting once with CSRF, the secretary's attendance / close / paper counts, the
tally minutes, and who may see what."""

from __future__ import annotations

import re
import unicodedata
import warnings
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from fontTools.ttLib import TTFont
from lxml import html as lxml_html
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.app import AuthActions
from tests.fixtures.ballots import CANDIDATES, add_members, ballot_tables, collective, open_test_box, unit_id, user
from tests.fixtures.evaluation import vietnamese
from tests.fixtures.reads import logged_reads
from tests.fixtures.workflow_helpers import WorkflowDriver
from webapp.ballots.fonts import DEFAULT_FONT
from workflows import ballots
from workflows.ballots import Candidate
from workflows.db import transaction
from workflows.models import Ballot, BallotBox, BallotMode, Notification, ProcessInstance
from workflows.notifications import BALLOT_OPENED, create_notifications
from workflows.registry.cadre_columns import age_on
from workflows.registry.models import Cadre, CadrePosition, OrgUnit, Position, User
from workflows.registry.records import local_today
from workflows.rules.ballots import BallotRules

YES_A = {"candidate_0": "yes", "candidate_1": "no", "confirm": "y"}  # the voter ticks that they checked it


@pytest.fixture
def members(app: Any, session_factory: sessionmaker[Session]) -> dict[str, int]:
    return collective(session_factory)


@pytest.fixture
def instance_id(driver: WorkflowDriver) -> int:
    # About personnel1 (CB0006, of T01-BTC), who runs the box and is not one of X001's collective voting in it: the
    # person a procedure is about never votes in its ballots.
    return driver.start("sample_approval", as_user="personnel1", subject="CB0006")


def _attend(session_factory: sessionmaker[Session], box_id: int, ids: list[int]) -> None:
    with session_factory() as s, transaction(s):
        ballots.mark_attendance(s, actor=user(s, "personnel1"), box_id=box_id, present_ids=ids)


@pytest.fixture
def box_id(session_factory: sessionmaker[Session], members: dict[str, int], instance_id: int) -> int:
    """Seven summoned, all but member3 present."""
    box = open_test_box(session_factory, instance_id, list(members.values()))
    _attend(session_factory, box, [i for name, i in members.items() if name != "member3"])
    return box


def _ballot_count(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as s:
        return s.scalar(select(func.count()).select_from(Ballot)) or 0


def _vote(auth: AuthActions, box_id: int, data: dict[str, str]) -> Any:
    return auth.post(f"/ballots/{box_id}/vote", data, page=f"/ballots/{box_id}/vote")


def test_a_present_member_votes_once(
    client: FlaskClient, auth: AuthActions, session_factory: sessionmaker[Session], box_id: int
) -> None:
    auth.login("officer1")
    page = client.get(f"/ballots/{box_id}/vote")
    assert page.status_code == 200
    assert 'name="candidate_0"' in page.get_data(as_text=True)
    response = _vote(auth, box_id, YES_A)
    assert response.status_code == 302
    assert _ballot_count(session_factory) == 1
    after = client.get(f"/ballots/{box_id}/vote").get_data(as_text=True)
    assert 'name="candidate_0"' not in after  # no second form
    before = ballot_tables(session_factory)
    again = auth.client.post(f"/ballots/{box_id}/vote", data={**YES_A, "csrf_token": auth.csrf_token("/inbox")})
    assert again.status_code == 409
    assert ballot_tables(session_factory) == before


def test_a_ballot_is_sent_only_once_the_voter_ticks_that_they_checked_it(
    client: FlaskClient, auth: AuthActions, session_factory: sessionmaker[Session], box_id: int
) -> None:
    """One send, final: unticked, nothing is stored, the voter is not marked as having voted, and the page says why
    with the marks kept as they were."""
    auth.login("officer1")
    form = lxml_html.fromstring(client.get(f"/ballots/{box_id}/vote").get_data(as_text=True))
    (confirm,) = form.xpath("//form[@method='post']//input[@name='confirm']")
    assert confirm.get("type") == "checkbox" and confirm.get("required") is not None
    before = ballot_tables(session_factory)
    unticked = _vote(auth, box_id, {k: v for k, v in YES_A.items() if k != "confirm"})
    assert unticked.status_code == 422
    page = lxml_html.fromstring(unticked.get_data(as_text=True))
    assert "Đánh dấu ô để xác nhận bạn đã kiểm tra phiếu." in page.text_content()
    assert page.xpath("//input[@name='candidate_0'][@value='yes']/@checked")  # what they marked stays marked
    assert ballot_tables(session_factory) == before
    assert _vote(auth, box_id, YES_A).status_code == 302
    assert _ballot_count(session_factory) == 1


def test_the_vote_page_says_who_each_nominee_is(
    client: FlaskClient,
    auth: AuthActions,
    session_factory: sessionmaker[Session],
    members: dict[str, int],
    instance_id: int,
) -> None:
    """A candidate of the register by the posts they hold today and their age, one holding none by their unit; one
    named otherwise by name alone."""
    today = local_today()
    with session_factory() as s, transaction(s):
        holder = s.scalars(select(Cadre).where(Cadre.code == "CB0001")).one()
        posts = [
            Position(title=title, unit_id=unit_id(s, "X001"), level="commune") for title in ("Phó Chủ tịch", "Ủy viên")
        ]
        s.add_all(posts)
        s.flush()
        s.add_all(
            [
                CadrePosition(cadre_id=holder.id, position_id=posts[0].id, started_on=date(2020, 1, 1)),
                # a post left is not held today
                CadrePosition(
                    cadre_id=holder.id, position_id=posts[1].id, started_on=date(2015, 1, 1), ended_on=date(2019, 1, 1)
                ),
            ]
        )
        holder.birth_date = date(1980, 12, 31)
        unit = s.scalars(select(OrgUnit.name).where(OrgUnit.code == "X001")).one()
        without_post = s.scalars(select(Cadre).where(Cadre.code == "CB0006")).one()
        assert not s.scalars(select(CadrePosition).where(CadrePosition.cadre_id == without_post.id)).all()
        age, unit_name = age_on(date(1980, 12, 31), today), without_post.unit.name
        box_id = ballots.open_box(
            s,
            actor=user(s, "personnel1"),
            instance_id=instance_id,
            step_key="review_request",
            question="Giới thiệu nhân sự",
            candidates=[
                Candidate(holder.code, holder.full_name),
                Candidate(without_post.code, without_post.full_name),
                Candidate("x", "Người ngoài danh sách"),
            ],
            elector_ids=list(members.values()),
            members_count=len(members),
            rules=BallotRules(seats=3),
            mode=BallotMode.ONLINE,
            unit_id=unit_id(s, "X001"),
            is_signable=False,
        ).id
    _attend(session_factory, box_id, list(members.values()))
    auth.login("officer1")
    page = lxml_html.fromstring(client.get(f"/ballots/{box_id}/vote").get_data(as_text=True))
    facts = [" ".join(p.text_content().split()) for p in page.xpath("//p[contains(@class, 'nominee-facts')]")]
    assert len(facts) == 2  # the outsider has none
    assert f"Phó Chủ tịch ({unit}) · {age} tuổi" == facts[0]
    assert f"Công tác tại {unit_name}" in facts[1]


def test_the_vote_page_links_the_case_only_for_whom_it_opens(
    client: FlaskClient,
    auth: AuthActions,
    session_factory: sessionmaker[Session],
    members: dict[str, int],
    driver: WorkflowDriver,
) -> None:
    """The case page by its own rule: the commune's head oversees officer1's case and opens it from the ballot;
    member1 may vote on it but not read it, and finds no link to it."""
    instance_id = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    electors = [i for name, i in members.items() if name != "officer1"]  # CB0001, the person it is about
    box_id = open_test_box(session_factory, instance_id, electors)
    _attend(session_factory, box_id, electors)
    seen = {}
    for username in ("head1", "member1"):
        auth.login(username)
        page = lxml_html.fromstring(client.get(f"/ballots/{box_id}/vote").get_data(as_text=True))
        linked = bool(page.xpath(f"//a[@href='/instances/{instance_id}']"))
        seen[username] = (linked, client.get(f"/instances/{instance_id}").status_code)
        auth.logout()
    assert seen == {"head1": (True, 200), "member1": (False, 404)}


def test_vote_without_csrf_is_refused(
    client: FlaskClient, auth: AuthActions, session_factory: sessionmaker[Session], box_id: int
) -> None:
    auth.login("officer1")
    response = client.post(f"/ballots/{box_id}/vote", data=YES_A)
    assert response.status_code == 400
    assert _ballot_count(session_factory) == 0


@pytest.mark.parametrize(
    ("username", "data", "status"),
    [
        ("member3", YES_A, 403),  # summoned, absent
        ("officer1", {"candidate_0": "yes", "candidate_1": "yes", "confirm": "y"}, 422),  # two names for one seat
        ("officer1", {"candidate_0": "yes", "confirm": "y"}, 422),  # a candidate left unmarked
        ("officer1", {"candidate_0": "maybe", "candidate_1": "no", "confirm": "y"}, 422),
    ],
)
def test_bad_votes_change_nothing(
    auth: AuthActions, session_factory: sessionmaker[Session], box_id: int, username: str, data: dict, status: int
) -> None:
    auth.login(username)
    before = ballot_tables(session_factory)
    response = _vote(auth, box_id, data)
    assert response.status_code == status
    assert 'role="alert"' in response.get_data(as_text=True)
    assert ballot_tables(session_factory) == before


@pytest.mark.parametrize(("username", "status"), [("officer3", 404), ("admin", 404), ("personnel1", 403)])
def test_only_summoned_members_reach_the_voting_page(
    client: FlaskClient,
    auth: AuthActions,
    session_factory: sessionmaker[Session],
    box_id: int,
    username: str,
    status: int,
) -> None:
    auth.login(username)
    assert client.get(f"/ballots/{box_id}/vote").status_code == status
    before = ballot_tables(session_factory)
    assert _vote(auth, box_id, YES_A).status_code == status
    assert ballot_tables(session_factory) == before


def test_anonymous_is_sent_to_sign_in(client: FlaskClient, box_id: int) -> None:
    for path in ("vote", "manage", "minutes"):
        response = client.get(f"/ballots/{box_id}/{path}")
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


@pytest.mark.parametrize(
    ("username", "status"),
    [("personnel1", 200), ("head1", 200), ("officer1", 403), ("auditor1", 403), ("officer3", 404)],
)
def test_manage_page_access(client: FlaskClient, auth: AuthActions, box_id: int, username: str, status: int) -> None:
    auth.login(username)
    assert client.get(f"/ballots/{box_id}/manage").status_code == status


def test_secretary_records_attendance_closes_and_prints_the_minutes(
    client: FlaskClient, auth: AuthActions, session_factory: sessionmaker[Session], members: dict[str, int], box_id: int
) -> None:
    for name in ("officer1", "officer2", "supervisor1", "head1"):
        auth.login(name)
        assert _vote(auth, box_id, YES_A).status_code == 302
        auth.logout()
    auth.login("personnel1")
    manage = f"/ballots/{box_id}/manage"
    present = [i for name, i in members.items() if name not in ("member2", "member3")]
    response = auth.post(f"/ballots/{box_id}/attendance", {"present": [str(i) for i in present]}, page=manage)
    assert response.status_code == 302
    # Marking a member who voted as absent is refused with the reason, and nothing changes.
    before = ballot_tables(session_factory)
    response = auth.post(f"/ballots/{box_id}/attendance", {"present": [str(members["member1"])]}, page=manage)
    assert response.status_code == 422
    assert ballot_tables(session_factory) == before
    assert client.get(f"/ballots/{box_id}/minutes").status_code == 409  # not counted yet
    response = auth.post(f"/ballots/{box_id}/close", {"confirm": "y"}, page=manage)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/ballots/{box_id}/minutes")
    minutes = client.get(f"/ballots/{box_id}/minutes")
    assert minutes.status_code == 200
    html = minutes.get_data(as_text=True)
    assert "ballots_print.css" in html and "Nguyễn Văn An" in html and "57,14" in html  # 4 of the 7 summoned
    stylesheet = client.get("/static/ballots_print.css")
    assert stylesheet.status_code == 200 and b"@media print" in stylesheet.data
    stylesheet.close()
    with session_factory() as s:
        box = s.get(BallotBox, box_id)
        assert box is not None and not box.is_open and box.tally is not None
        assert (box.tally["present"], box.tally["returned"], box.tally["outcome"]) == (5, 4, "elected")
    # Closed: no more votes, attendance or closing.
    auth.logout()
    auth.login("member1")
    assert _vote(auth, box_id, YES_A).status_code == 409


def test_closing_asks_for_a_confirmation_and_says_who_has_not_voted(
    client: FlaskClient, auth: AuthActions, session_factory: sessionmaker[Session], box_id: int
) -> None:
    """Closing cannot be undone: without the box ticked nothing changes (422, said in Vietnamese), and the page
    says how many of those present have not voted — without any script (the page's policy allows none)."""
    auth.login("officer1")
    assert _vote(auth, box_id, YES_A).status_code == 302
    auth.logout()
    auth.login("personnel1")
    manage = f"/ballots/{box_id}/manage"
    page = lxml_html.fromstring(client.get(manage).get_data(as_text=True))
    [form] = page.xpath(f"//form[@action='/ballots/{box_id}/close']")
    assert form.xpath(".//input[@type='checkbox' and @name='confirm']")
    assert "Tôi xác nhận kết thúc bỏ phiếu; không thể mở lại." in form.text_content()
    assert not page.xpath("//script[not(@src)]")  # the confirmation is the form's own, not a script's
    # Six present (member3 is absent), one has voted.
    assert "Còn 5 trong số 6 thành viên có mặt chưa bỏ phiếu" in form.text_content()
    before = ballot_tables(session_factory)
    for data in ({}, {"confirm": ""}):
        refused = auth.post(f"/ballots/{box_id}/close", data, page=manage)
        assert refused.status_code == 422
        html = refused.get_data(as_text=True)
        assert "Hãy đánh dấu ô xác nhận kết thúc bỏ phiếu." in html and 'aria-invalid="true"' in html
        assert ballot_tables(session_factory) == before
    with session_factory() as s:
        box = s.get(BallotBox, box_id)
        assert box is not None and box.is_open and box.tally is None
    done = auth.post(f"/ballots/{box_id}/close", {"confirm": "y"}, page=manage)
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/ballots/{box_id}/minutes")
    with session_factory() as s:
        box = s.get(BallotBox, box_id)
        assert box is not None and not box.is_open


def test_the_close_form_says_when_everyone_present_has_voted(
    client: FlaskClient, auth: AuthActions, session_factory: sessionmaker[Session], members: dict[str, int], box_id: int
) -> None:
    voters = ("officer1", "officer2", "supervisor1", "head1")
    _attend(session_factory, box_id, [members[name] for name in voters])
    for name in voters:
        auth.login(name)
        assert _vote(auth, box_id, YES_A).status_code == 302
        auth.logout()
    auth.login("personnel1")
    page = client.get(f"/ballots/{box_id}/manage").get_data(as_text=True)
    assert "Mọi thành viên có mặt được quyền bỏ phiếu đều đã bỏ phiếu." in page and "chưa bỏ phiếu" not in page


def test_a_ballot_is_not_closed_before_the_attendance_is_recorded(
    client: FlaskClient,
    auth: AuthActions,
    session_factory: sessionmaker[Session],
    members: dict[str, int],
    instance_id: int,
) -> None:
    """Right after opening nobody is present: the page does not say everyone has voted, and closing is refused
    (422, in Vietnamese, nothing written) instead of writing minutes of a void conference with 0 present."""
    box = open_test_box(session_factory, instance_id, list(members.values()))
    auth.login("personnel1")
    manage = f"/ballots/{box}/manage"
    page = client.get(manage).get_data(as_text=True)
    assert "Chưa ghi nhận điểm danh" in page and "đều đã bỏ phiếu" not in page
    before = ballot_tables(session_factory)
    refused = auth.post(f"/ballots/{box}/close", {"confirm": "y"}, page=manage)
    assert refused.status_code == 422
    assert "Chưa có thành viên nào được ghi nhận có mặt" in refused.get_data(as_text=True)
    assert ballot_tables(session_factory) == before
    with session_factory() as s:
        stored = s.get(BallotBox, box)
        assert stored is not None and stored.is_open and stored.tally is None
    _attend(session_factory, box, [members["officer1"]])
    assert "Chưa ghi nhận điểm danh" not in client.get(manage).get_data(as_text=True)
    assert auth.post(f"/ballots/{box}/close", {"confirm": "y"}, page=manage).status_code == 302


@pytest.mark.parametrize("mode", [BallotMode.ONLINE, BallotMode.PAPER])
def test_the_secretary_records_a_conference_nobody_attended_only_by_ticking_it(
    client: FlaskClient,
    auth: AuthActions,
    session_factory: sessionmaker[Session],
    members: dict[str, int],
    instance_id: int,
    mode: str,
) -> None:
    """Decision 0094 refuses a count before the attendance, so a conference nobody came to needs its own, deliberate
    way out (0102): a separate form whose box must be ticked (422 and nothing written otherwise); ticked, the box
    closes as a missed quorum and the history says nobody attended."""
    box = open_test_box(session_factory, instance_id, list(members.values()), mode=mode)
    auth.login("personnel1")
    manage = f"/ballots/{box}/manage"
    page = lxml_html.fromstring(client.get(manage).get_data(as_text=True))
    [form] = page.xpath(f"//form[@action='/ballots/{box}/nobody-attended']")
    assert form.xpath(".//input[@type='checkbox' and @name='confirm_nobody' and not(@checked)]")
    assert "Không ai có mặt — kết thúc vì không đủ số lượng" in form.text_content()
    before = ballot_tables(session_factory)
    for data in ({}, {"confirm_nobody": ""}):
        refused = auth.post(f"/ballots/{box}/nobody-attended", data, page=manage)
        assert refused.status_code == 422
        assert "Hãy đánh dấu ô xác nhận không ai có mặt." in refused.get_data(as_text=True)
        assert ballot_tables(session_factory) == before
    done = auth.post(f"/ballots/{box}/nobody-attended", {"confirm_nobody": "y"}, page=manage)
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/ballots/{box}/minutes")
    with session_factory() as s:
        stored = s.get(BallotBox, box)
        assert stored is not None and not stored.is_open and stored.tally is not None
        assert (stored.tally["outcome"], stored.tally["present"]) == ("quorum_failed", 0)
    minutes = " ".join(
        lxml_html.fromstring(client.get(done.headers["Location"]).get_data(as_text=True)).text_content().split()
    )
    assert "Không đủ số người có mặt: hội nghị không hợp lệ" in minutes
    history = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert "Đã ghi nhận không ai có mặt tại hội nghị." in history


def test_nobody_attended_is_not_offered_once_someone_is_present(
    client: FlaskClient, auth: AuthActions, session_factory: sessionmaker[Session], box_id: int
) -> None:
    """Six are recorded present: their conference is closed and counted as usual; the way out for an empty one is
    neither shown nor taken (422 in Vietnamese, nothing written), even ticked."""
    auth.login("personnel1")
    manage = f"/ballots/{box_id}/manage"
    assert "/nobody-attended" not in client.get(manage).get_data(as_text=True)
    before = ballot_tables(session_factory)
    refused = auth.post(f"/ballots/{box_id}/nobody-attended", {"confirm_nobody": "y"}, page=manage)
    assert refused.status_code == 422
    assert "Đã có thành viên được ghi nhận có mặt" in refused.get_data(as_text=True)
    assert ballot_tables(session_factory) == before
    auth.logout()
    auth.login("officer1")  # an elector, not the secretary
    assert (
        auth.post(
            f"/ballots/{box_id}/nobody-attended", {"confirm_nobody": "y"}, page=f"/ballots/{box_id}/vote"
        ).status_code
        == 403
    )
    assert ballot_tables(session_factory) == before


def test_paper_counts_wait_for_the_attendance_too(
    client: FlaskClient,
    auth: AuthActions,
    session_factory: sessionmaker[Session],
    members: dict[str, int],
    instance_id: int,
) -> None:
    """The paper counts take those present from the attendance (issued ≤ present): all zeros before it would also
    void the conference, so they are refused until the attendance is recorded; after it they go through."""
    box = open_test_box(session_factory, instance_id, list(members.values()), mode=BallotMode.PAPER)
    auth.login("personnel1")
    manage = f"/ballots/{box}/manage"
    assert "Chưa ghi nhận điểm danh" in client.get(manage).get_data(as_text=True)
    zeros = {f"candidate_{i}_{mark}": "0" for i in (0, 1) for mark in ("yes", "no", "abstain")}
    before = ballot_tables(session_factory)
    refused = auth.post(f"/ballots/{box}/paper", {"issued": "0", "returned": "0", "valid": "0", **zeros}, page=manage)
    assert refused.status_code == 422 and "Chưa có thành viên nào được ghi nhận có mặt" in refused.get_data(
        as_text=True
    )
    assert ballot_tables(session_factory) == before
    _attend(session_factory, box, list(members.values())[:6])
    counts = {**zeros, "candidate_0_yes": "5", "candidate_1_no": "5"}
    ok = auth.post(f"/ballots/{box}/paper", {"issued": "6", "returned": "5", "valid": "5", **counts}, page=manage)
    assert ok.status_code == 302


def test_minutes_are_for_the_authority_and_inspectors_not_the_conference(
    client: FlaskClient, auth: AuthActions, session_factory: sessionmaker[Session], box_id: int
) -> None:
    with session_factory() as s, transaction(s):
        ballots.close_box(s, actor=user(s, "personnel1"), box_id=box_id)
    for username, status in (("auditor1", 200), ("head1", 200), ("officer1", 403), ("officer3", 404)):
        auth.login(username)
        assert client.get(f"/ballots/{box_id}/minutes").status_code == status, username
        auth.logout()
    auth.login("officer1")
    page = client.get(f"/ballots/{box_id}/vote").get_data(as_text=True)
    assert "Nguyễn Văn An" not in page  # step not announced: the member does not see the result


def test_an_announced_result_is_shown_to_the_members(
    client: FlaskClient,
    auth: AuthActions,
    session_factory: sessionmaker[Session],
    members: dict[str, int],
    instance_id: int,
) -> None:
    box = open_test_box(session_factory, instance_id, list(members.values()), rules=BallotRules(announce=True))
    _attend(session_factory, box, list(members.values()))
    with session_factory() as s, transaction(s):
        ballots.close_box(s, actor=user(s, "personnel1"), box_id=box)
    auth.login("officer1")
    page = client.get(f"/ballots/{box}/vote").get_data(as_text=True)
    assert "Nguyễn Văn An" in page


def test_paper_counts_through_the_form(
    client: FlaskClient,
    auth: AuthActions,
    session_factory: sessionmaker[Session],
    members: dict[str, int],
    instance_id: int,
) -> None:
    box = open_test_box(session_factory, instance_id, list(members.values()), mode=BallotMode.PAPER)
    _attend(session_factory, box, list(members.values())[:6])
    auth.login("personnel1")
    manage = f"/ballots/{box}/manage"
    assert 'name="candidate_0_yes"' in client.get(manage).get_data(as_text=True)
    counts = {
        "candidate_0_yes": "4",
        "candidate_0_no": "1",
        "candidate_0_abstain": "0",
        "candidate_1_yes": "1",
        "candidate_1_no": "4",
        "candidate_1_abstain": "0",
    }
    before = ballot_tables(session_factory)
    too_many = auth.post(f"/ballots/{box}/paper", {"issued": "7", "returned": "7", "valid": "5", **counts}, page=manage)
    assert too_many.status_code == 422
    assert 'role="alert"' in too_many.get_data(as_text=True)
    assert ballot_tables(session_factory) == before
    negative = auth.post(
        f"/ballots/{box}/paper", {"issued": "-1", "returned": "5", "valid": "5", **counts}, page=manage
    )
    assert negative.status_code == 422
    assert ballot_tables(session_factory) == before
    ok = auth.post(f"/ballots/{box}/paper", {"issued": "6", "returned": "5", "valid": "5", **counts}, page=manage)
    assert ok.status_code == 302
    with session_factory() as s:
        stored = s.get(BallotBox, box)
        assert stored is not None and stored.tally is not None and stored.tally["elected"] == ["a"]
    assert client.get(f"/ballots/{box}/minutes").status_code == 200


def _paper_box_of(session_factory: sessionmaker[Session], instance_id: int, present: int) -> int:
    """A paper ballot of a collective of `present` members of X001, all present."""
    add_members(session_factory, "X001", present, prefix="delegate")
    with session_factory() as s:
        ids = list(s.scalars(select(User.id).where(User.username.like("delegate%"))))
    box = open_test_box(session_factory, instance_id, ids, mode=BallotMode.PAPER)
    _attend(session_factory, box, ids)
    return box


def test_paper_counts_take_thousands_as_people_write_them(
    client: FlaskClient, auth: AuthActions, session_factory: sessionmaker[Session], instance_id: int
) -> None:
    """A congress of a thousand: "1.000", "1 000" (a no-break space too) are a thousand, as on the task page."""
    box = _paper_box_of(session_factory, instance_id, 1000)
    auth.login("personnel1")
    manage = f"/ballots/{box}/manage"
    page = client.get(manage).get_data(as_text=True)
    assert re.search(r'<input[^>]*id="issued"[^>]*inputmode="numeric"', page)
    assert 'type="number"' not in page  # a browser would drop "1.000" from a number input, or read it as 1
    counts = {
        "candidate_0_yes": "1.000",
        "candidate_0_no": "0",
        "candidate_0_abstain": "0",
        "candidate_1_yes": "0",
        "candidate_1_no": "1\u00a0000",
        "candidate_1_abstain": "0",
    }
    ok = auth.post(f"/ballots/{box}/paper", {"issued": "1.000", "returned": "1 000", "valid": "1000", **counts}, manage)
    assert ok.status_code == 302
    with session_factory() as s:
        stored = s.get(BallotBox, box)
        assert stored is not None and stored.tally is not None
        assert (stored.tally["issued"], stored.tally["returned"], stored.tally["valid"]) == (1000, 1000, 1000)
        assert stored.tally["elected"] == ["a"]


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("1.5", "a decimal is no count, and never 15"),
        ("1,000", "a comma is no thousands separator in Vietnamese"),
        ("1.00", "a group of two digits is no thousands"),
        ("năm", "not a number"),
        ("100.001", "above the most a count may be"),
        ("-1", "below 0"),
    ],
)
def test_a_paper_count_that_cannot_be_read_is_refused_at_its_field(
    app: Flask,
    client: FlaskClient,
    auth: AuthActions,
    session_factory: sessionmaker[Session],
    members: dict[str, int],
    instance_id: int,
    typed: str,
    why: str,
) -> None:
    box = open_test_box(session_factory, instance_id, list(members.values()), mode=BallotMode.PAPER)
    _attend(session_factory, box, list(members.values())[:6])
    auth.login("personnel1")
    manage = f"/ballots/{box}/manage"
    counts = {f"candidate_{i}_{mark}": "0" for i in (0, 1) for mark in ("yes", "no", "abstain")}
    before = ballot_tables(session_factory)
    refused = auth.post(f"/ballots/{box}/paper", {"issued": typed, "returned": "0", "valid": "0", **counts}, manage)
    assert refused.status_code == 422, why
    page = refused.get_data(as_text=True)
    field = re.search(r'<input[^>]*id="issued"[^>]*>\s*<div class="field-error" role="alert">(.*?)</div>', page, re.S)
    assert field is not None, why
    assert field.group(1) == vietnamese(app, "Enter a whole number from %(min)s to %(max)s.", min="0", max="100.000")
    assert "Vui lòng nhập số nguyên từ 0 đến 100.000." in field.group(1)
    assert f'value="{typed}"' in field.group(0) and 'aria-invalid="true"' in field.group(0)  # shown back to correct
    assert ballot_tables(session_factory) == before


def test_unknown_box_is_not_found(client: FlaskClient, auth: AuthActions, box_id: int) -> None:
    auth.login("personnel1")
    for path in ("vote", "manage", "minutes"):
        assert client.get(f"/ballots/999999/{path}").status_code == 404
    assert client.get(f"/ballots/{2**40}/vote").status_code == 404


# -- the tally minutes as a PDF (fpdf2 with a Unicode TrueType font) ------------------------------------------------

needs_font = pytest.mark.skipif(
    not Path(DEFAULT_FONT).is_file(), reason=f"no Unicode font at {DEFAULT_FONT} (Debian: fonts-dejavu-core)"
)


@needs_font
def test_the_minutes_download_as_a_pdf(
    app: Flask, client: FlaskClient, auth: AuthActions, session_factory: sessionmaker[Session], box_id: int
) -> None:
    auth.login("personnel1")
    assert client.get(f"/ballots/{box_id}/minutes.pdf").status_code == 409  # not counted yet
    with session_factory() as s, transaction(s):
        ballots.close_box(s, actor=user(s, "personnel1"), box_id=box_id)
    page = client.get(f"/ballots/{box_id}/minutes").get_data(as_text=True)
    assert f'href="/ballots/{box_id}/minutes.pdf"' in page
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a glyph missing from the font would be a warning
        response = client.get(f"/ballots/{box_id}/minutes.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-") and b"DejaVuSans" in response.data  # the Unicode font is embedded
    details = [read[3] for read in logged_reads(session_factory, "instance_minutes")]
    assert details == [f"ballot={box_id}&format=html", f"ballot={box_id}&format=pdf"]  # the 409 logged nothing
    auth.logout()
    for username, status in (("auditor1", 200), ("officer1", 403), ("officer3", 404)):  # as the printable page
        auth.login(username)
        assert client.get(f"/ballots/{box_id}/minutes.pdf").status_code == status, username
        auth.logout()


def test_reading_the_minutes_is_logged_against_the_procedure(
    client: FlaskClient, auth: AuthActions, session_factory: sessionmaker[Session], box_id: int, instance_id: int
) -> None:
    """The minutes name who was summoned and how the vote went (decision 0143): each reading is logged, a refused
    one is not."""
    with session_factory() as s, transaction(s):
        ballots.close_box(s, actor=user(s, "personnel1"), box_id=box_id)
    with session_factory() as s:
        procedure_unit = s.get(ProcessInstance, instance_id).unit_id  # type: ignore[union-attr]
    auth.login("officer1")
    assert client.get(f"/ballots/{box_id}/minutes").status_code == 403
    auth.logout()
    auth.login("auditor1")
    assert client.get(f"/ballots/{box_id}/minutes").status_code == 200
    assert logged_reads(session_factory, "instance_minutes") == [
        ("auditor1", instance_id, procedure_unit, f"ballot={box_id}&format=html")
    ]
    reads = client.get("/audit/reads?kind=instance_minutes").get_data(as_text=True)
    assert "Biên bản kiểm phiếu" in reads and f"ballot={box_id}&amp;format=html" in reads


def test_without_a_font_the_pdf_is_not_offered(
    app: Flask, client: FlaskClient, auth: AuthActions, session_factory: sessionmaker[Session], box_id: int
) -> None:
    app.config["MINUTES_PDF_FONT"] = "/nonexistent/font.ttf"
    with session_factory() as s, transaction(s):
        ballots.close_box(s, actor=user(s, "personnel1"), box_id=box_id)
    auth.login("personnel1")
    assert "minutes.pdf" not in client.get(f"/ballots/{box_id}/minutes").get_data(as_text=True)
    assert client.get(f"/ballots/{box_id}/minutes.pdf").status_code == 404


@needs_font
def test_the_default_font_has_every_vietnamese_letter() -> None:
    letters = "aăâbcdđeêghiklmnoôơpqrstuưvxy"
    tones = ("", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323")  # huyền, sắc, ngã, hỏi, nặng
    wanted = {
        unicodedata.normalize("NFC", base + tone).upper() if upper else unicodedata.normalize("NFC", base + tone)
        for base in letters
        for tone in tones
        for upper in (False, True)
        if base in "aăâeêioôơuưy" or tone == ""
    }
    covered = TTFont(DEFAULT_FONT).getBestCmap()
    assert all(len(ch) == 1 for ch in wanted)
    assert sorted(ch for ch in wanted if ord(ch) not in covered) == []


def test_ballot_pages_name_the_procedure_case_and_step(
    client: FlaskClient,
    auth: AuthActions,
    session_factory: sessionmaker[Session],
    members: dict[str, int],
    instance_id: int,
) -> None:
    """The procedure by its name and case number and the step by its name in the model, as the inbox shows them —
    never "sample_approval#7 · review_request"."""
    with session_factory() as s, transaction(s):
        box_id = ballots.open_box(
            s,
            actor=user(s, "personnel1"),
            instance_id=instance_id,
            step_key="review_request",
            question="Giới thiệu nhân sự",
            candidates=CANDIDATES,
            elector_ids=list(members.values()),
            members_count=len(members),
            rules=BallotRules(),
            mode=BallotMode.ONLINE,
            unit_id=unit_id(s, "X001"),
            is_signable=False,
        ).id
    _attend(session_factory, box_id, list(members.values()))
    case = f"Phê duyệt đề nghị (mẫu) — hồ sơ số {instance_id}"
    auth.login("officer1")
    vote = client.get(f"/ballots/{box_id}/vote").get_data(as_text=True)
    assert case in vote and "Xem xét, phê duyệt" in vote
    assert _vote(auth, box_id, YES_A).status_code == 302
    auth.logout()
    auth.login("personnel1")
    manage = client.get(f"/ballots/{box_id}/manage").get_data(as_text=True)
    assert case in manage and "Xem xét, phê duyệt" in manage
    assert auth.post(f"/ballots/{box_id}/close", {"confirm": "y"}, page=f"/ballots/{box_id}/manage").status_code == 302
    minutes = client.get(f"/ballots/{box_id}/minutes").get_data(as_text=True)
    assert f"Quy trình: {case}; bước: Xem xét, phê duyệt." in minutes
    for page in (vote, manage, minutes):
        assert f"sample_approval#{instance_id}" not in page and "review_request" not in page


def _ballots_to_cast(client: FlaskClient) -> list[str]:
    """The vote links of the inbox's "ballots to cast" section."""
    page = lxml_html.fromstring(client.get("/inbox").get_data(as_text=True))
    return [str(href) for href in page.xpath("//section[@class='ballots-to-cast']//a/@href")]


def test_an_elector_finds_the_open_ballot_in_the_inbox_until_voting(
    client: FlaskClient, auth: AuthActions, session_factory: sessionmaker[Session], box_id: int
) -> None:
    auth.login("officer1")
    html = client.get("/inbox").get_data(as_text=True)
    assert "Phiếu bầu cần bỏ" in html
    assert _ballots_to_cast(client) == [f"/ballots/{box_id}/vote"]
    assert _vote(auth, box_id, YES_A).status_code == 302
    assert _ballots_to_cast(client) == []  # voted: nothing left to cast, and nothing said of the vote
    auth.logout()
    auth.login("member3")  # summoned, not yet recorded present: the ballot waits for them, with a word why
    assert _ballots_to_cast(client) == [f"/ballots/{box_id}/vote"]
    assert "Chưa được ghi nhận có mặt" in client.get("/inbox").get_data(as_text=True)
    auth.logout()
    for outsider in ("personnel1", "officer3"):  # not summoned
        auth.login(outsider)
        assert _ballots_to_cast(client) == [], outsider
        auth.logout()
    with session_factory() as s, transaction(s):
        ballots.close_box(s, actor=user(s, "personnel1"), box_id=box_id)
    auth.login("member1")
    assert _ballots_to_cast(client) == []  # closed


def _counts(client: FlaskClient) -> dict[str, str]:
    """The inbox's numbers: the "All" chip, the "My tasks" tab and the menu's inbox link."""
    page = lxml_html.fromstring(client.get("/inbox").get_data(as_text=True))
    numbers = {
        "all": page.xpath("//nav[@class='inbox-summary']//a[1]/span[@class='count']/text()"),
        "tab": page.xpath("//nav[@class='tabs']/a[1]/span[@class='count']/text()"),
        "menu": page.xpath("//nav[@class='mainnav']/a[1]/span[@class='count']/text()"),
    }
    return {name: found[0] if found else "" for name, found in numbers.items()}


def test_the_inbox_counts_and_describes_the_ballot_waiting_for_the_voter(
    client: FlaskClient, auth: AuthActions, box_id: int, instance_id: int
) -> None:
    """The ballot is work in the inbox as a task is: counted in "All", the tab and the menu; its row says which case,
    whom it is about and who closes it."""
    auth.login("officer1")  # no task of their own: the ballot is the one thing waiting
    assert _counts(client) == {"all": "1", "tab": "1", "menu": "1"}
    assert client.get("/inbox?scope=group").status_code == 200  # the menu counts the ballot on another tab too
    group = lxml_html.fromstring(client.get("/inbox?scope=group").get_data(as_text=True))
    assert group.xpath("//nav[@class='tabs']/a[1]/span[@class='count']/text()") == ["1"]
    page = lxml_html.fromstring(client.get("/inbox").get_data(as_text=True))
    (row,) = page.xpath("//section[@class='ballots-to-cast']//tbody/tr")
    text = " ".join(row.text_content().split())
    assert f"Phê duyệt đề nghị (mẫu) — hồ sơ số {instance_id}" in text
    assert "Nguyễn Văn An, Trần Thị Bình" in text
    assert "Thư ký đóng hộp phiếu tại hội nghị" in text and "Mở lúc" in text
    assert _vote(auth, box_id, YES_A).status_code == 302
    assert _counts(client)["tab"] == "0"


def test_an_elector_is_notified_when_a_ballot_opens(
    client: FlaskClient, auth: AuthActions, session_factory: sessionmaker[Session], box_id: int, instance_id: int
) -> None:
    assert create_notifications(session_factory) > 0
    assert create_notifications(session_factory) == 0  # read again: nothing twice
    with session_factory() as s:
        told = {n.user_id: n for n in s.scalars(select(Notification).where(Notification.kind == BALLOT_OPENED))}
        officer1, personnel1 = user(s, "officer1").id, user(s, "personnel1").id
    assert officer1 in told and personnel1 not in told
    # The procedure by its name and case number, as the other notifications and the pages name it.
    case = f"Quy trình: Phê duyệt đề nghị (mẫu) — hồ sơ số {instance_id}"
    assert case in told[officer1].body.splitlines() and "#" not in told[officer1].body
    auth.login("officer1")
    page = client.get("/notifications").get_data(as_text=True)
    assert "Phiếu bầu cần bỏ" in page and f"hồ sơ số {instance_id}" in page and f"(#{instance_id})" not in page
    notice = told[officer1]
    response = auth.post(f"/notifications/{notice.id}/open", page="/notifications")
    assert response.headers["Location"].endswith("/inbox")
