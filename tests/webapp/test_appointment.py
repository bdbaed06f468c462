"""The appointment through HTTP: started on its page, every task submitted on the task pages, each ballot opened
on the appointment's ballot page, attended, voted by seven members and closed on the ballot pages; the position
lands on the record and the audit chains verify. Refusals answer with a clear message and change nothing."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from lxml import html as lxml_html
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.app import AuthActions, configured_app
from tests.fixtures.appointment import (
    ALL_DOCUMENTS,
    NOMINEE,
    OUTSIDER,
    VICE_CHAIR,
    add_commune_pc_post,
    deploy_shared_ballot_form_version,
    recent,
    setup_appointment,
    today_text,
)
from tests.fixtures.ballots import ballot_tables, user
from tests.fixtures.evaluation import vietnamese
from tests.fixtures.workflow_helpers import WorkflowDriver
from webapp.appointment import appointment_policy
from webapp.extensions import db
from workflows.appointment.facts import candidate_facts
from workflows.appointment.hooks import working_deadline
from workflows.appointment.service import start_due_reappointments
from workflows.audit import verify_chains
from workflows.db import transaction
from workflows.deployment.operations import deploy_bundle
from workflows.deployment.validation import BundleFile
from workflows.models import AuditEvent, BallotBox, BallotElector, Notification, ProcessInstance
from workflows.notifications import BALLOT_OPENED
from workflows.registry.demo import load_demo_province
from workflows.registry.models import Cadre, CadrePosition, OrgUnit, PlanningEntry, Position, RoleAssignment, User
from workflows.registry.records import add_position, local_today, remove_planning_entry
from workflows.rules.appointment import check_eligibility, is_eligible
from workflows.rules.workdays import WorkCalendar
from workflows.states import InstanceStatus, Role

YES = {"candidate_0": "yes", "confirm": "y"}  # ticked: the voter checked their ballot


@pytest.fixture
def world(app: Any, driver: WorkflowDriver, session_factory: sessionmaker[Session]) -> dict[str, Any]:
    return setup_appointment(session_factory)


def _as(auth: AuthActions, username: str) -> None:
    if auth.client.get("/inbox").status_code == 200:
        auth.logout()
    assert auth.login(username).status_code == 302


def _submit(auth: AuthActions, driver: WorkflowDriver, instance_id: int, key: str, username: str, data: dict) -> Any:
    _as(auth, username)
    task = driver.task(instance_id, key)
    return auth.post(f"/tasks/{task.id}", {**data, "action": "submit"}, page=f"/tasks/{task.id}")


def _post_unit(auth: AuthActions, post_id: int) -> int:
    with auth.client.application.app_context():
        post = db.session.get(Position, post_id)
        assert post is not None
        return post.unit_id


def _start(auth: AuthActions, post_id: int, code: str = NOMINEE, source: str = "internal") -> Any:
    """What the start page posts: the cadre code, the unit and post chosen in the two selects, the source."""
    _as(auth, "personnel1")
    chosen = {"cadre": code, "unit": str(_post_unit(auth, post_id)), "position": str(post_id), "source": source}
    return auth.post("/appointments/start", chosen, page="/appointments/start")


def _instance_id(response: Any) -> int:
    match = re.search(r"/instances/(\d+)", response.headers["Location"])
    assert match
    return int(match.group(1))


def _open_box(
    auth: AuthActions, instance_id: int, electors: list[int], mode: str = "online", members_count: int | None = None
) -> int:
    _as(auth, "personnel1")
    page = f"/appointments/{instance_id}/ballot"
    members = str(members_count if members_count is not None else len(electors))
    response = auth.post(
        page, {"electors": [str(i) for i in electors], "members_count": members, "mode": mode}, page=page
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    match = re.search(r"/ballots/(\d+)/manage", response.headers["Location"])
    assert match
    return int(match.group(1))


def _hold_ballot(auth: AuthActions, instance_id: int, members: dict[str, int], marks: dict[str, dict]) -> int:
    box = _open_box(auth, instance_id, list(members.values()))
    manage = f"/ballots/{box}/manage"
    assert (
        auth.post(
            f"/ballots/{box}/attendance", {"present": [str(i) for i in members.values()]}, page=manage
        ).status_code
        == 302
    )
    for username, contents in marks.items():
        _as(auth, username)
        assert auth.post(f"/ballots/{box}/vote", contents, page=f"/ballots/{box}/vote").status_code == 302
    _as(auth, "personnel1")
    assert auth.post(f"/ballots/{box}/close", {"confirm": "y"}, page=manage).status_code == 302
    return box


def _verified(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as s:
        report = verify_chains(s)
        assert report.ok, report


def test_internal_appointment_of_a_commune_vice_chair_through_http(
    client: FlaskClient,
    auth: AuthActions,
    driver: WorkflowDriver,
    session_factory: sessionmaker[Session],
    world: dict[str, Any],
) -> None:
    members = world["members"]
    everyone = {name: YES for name in members}
    auth.login("personnel1")
    started = _start(auth, world["post_id"])
    assert started.status_code == 302
    instance_id = _instance_id(started)

    assert (
        _submit(
            auth, driver, instance_id, "eligibility_policy", "personnel1", {"dossier_received_on": today_text()}
        ).status_code
        == 302
    )
    assert (
        _submit(auth, driver, instance_id, "policy_decision", "leader1", {"policy_decision": "approve"}).status_code
        == 302
    )
    conference = {"held_on": today_text(), "minutes_summary": "Thống nhất cơ cấu, tiêu chuẩn"}
    assert _submit(auth, driver, instance_id, "step1_conference", "personnel1", conference).status_code == 302

    # Completing a ballot step before its box is closed is refused on the page.
    show = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert f'href="/appointments/{instance_id}/ballot"' in show  # the way to the step's ballot
    refused = _submit(auth, driver, instance_id, "ballot_step2", "personnel1", {})
    assert refused.status_code == 422 and 'role="alert"' in refused.get_data(as_text=True)

    for step in ("ballot_step2", "ballot_step3", "ballot_step4"):
        _hold_ballot(auth, instance_id, members, everyone)
        assert _submit(auth, driver, instance_id, step, "personnel1", {}).status_code == 302

    # §7: step 3's result is shown to its members, step 4's is not; the minutes are not for members.
    with session_factory() as s:
        boxes = {b.step_key: b.id for b in s.scalars(select(BallotBox).where(BallotBox.instance_id == instance_id))}
    _as(auth, "member1")
    assert '<table class="list">' in client.get(f"/ballots/{boxes['ballot_step3']}/vote").get_data(as_text=True)
    assert '<table class="list">' not in client.get(f"/ballots/{boxes['ballot_step4']}/vote").get_data(as_text=True)
    assert client.get(f"/ballots/{boxes['ballot_step4']}/minutes").status_code == 403

    # The dossier: the CV uploaded, the rest marked received on paper; a stale photo or a missing item is refused.
    on_paper = [item for item in ALL_DOCUMENTS if item != "cv"]
    dossier = {"documents_received": on_paper, "photo_taken_on": recent(), "health_certificate_on": recent()}
    stale = {**dossier, "photo_taken_on": recent(400)}
    assert _submit(auth, driver, instance_id, "dossier_checklist", "personnel1", stale).status_code == 422
    incomplete = _submit(auth, driver, instance_id, "dossier_checklist", "personnel1", dossier)
    assert incomplete.status_code == 422 and 'role="alert"' in incomplete.get_data(as_text=True)
    task = driver.task(instance_id, "dossier_checklist")
    uploaded = auth.post(
        f"/tasks/{task.id}",
        {**dossier, "action": "submit", "file_cv": (io.BytesIO(b"%PDF-1.4 so yeu ly lich"), "so-yeu-ly-lich.pdf")},
        page=f"/tasks/{task.id}",
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 302
    assert (
        _submit(
            auth, driver, instance_id, "clearance_political", "personnel1", {"political_result": "cleared"}
        ).status_code
        == 302
    )
    assert (
        _submit(
            auth, driver, instance_id, "clearance_residence", "personnel1", {"residence_result": "cleared"}
        ).status_code
        == 302
    )
    assert (
        _submit(
            auth, driver, instance_id, "clearance_inspection", "auditor1", {"inspection_result": "cleared"}
        ).status_code
        == 302
    )
    assert (
        _submit(
            auth, driver, instance_id, "eligibility_final", "personnel1", {"final_dossier_received_on": today_text()}
        ).status_code
        == 302
    )
    _hold_ballot(auth, instance_id, members, everyone)
    assert _submit(auth, driver, instance_id, "ballot_step5", "personnel1", {}).status_code == 302
    assert (
        _submit(auth, driver, instance_id, "submission", "personnel1", {"submission_summary": "Tờ trình"}).status_code
        == 302
    )
    effective = local_today()
    decision = {"final_decision": "approve", "decision_number": "45/QĐ-UBND", "effective_on": effective.isoformat()}
    assert _submit(auth, driver, instance_id, "decision", "leader1", decision).status_code == 302

    with session_factory() as s:
        instance = s.get(ProcessInstance, instance_id)
        assert instance is not None and instance.status == InstanceStatus.COMPLETED
        cadre = s.scalars(select(Cadre).where(Cadre.code == NOMINEE)).one()
        held = s.scalars(select(CadrePosition).where(CadrePosition.cadre_id == cadre.id)).one()
        assert (held.position_id, held.started_on) == (world["post_id"], effective)
        assert held.term_ends_on is not None and held.term_ends_on.year == effective.year + 5
    _as(auth, "officer2")
    assert "45/QĐ-UBND" in client.get("/notifications").get_data(as_text=True)
    _verified(session_factory)


def test_a_later_ballot_step_opens_without_the_earlier_steps_note_through_http(
    client: FlaskClient,
    auth: AuthActions,
    driver: WorkflowDriver,
    session_factory: sessionmaker[Session],
    world: dict[str, Any],
) -> None:
    """Decision 0053: step 3's task page does not open with step 2's secretary's note in its own box (the note is
    shown with the procedure's data, read-only), a refusal is shown at the step's own field, and the instance page
    then shows both notes under their own titles."""
    members = world["members"]
    everyone = {name: YES for name in members}
    instance_id = _instance_id(_start(auth, world["post_id"]))
    _submit(auth, driver, instance_id, "eligibility_policy", "personnel1", {"dossier_received_on": today_text()})
    _submit(auth, driver, instance_id, "policy_decision", "leader1", {"policy_decision": "approve"})
    conference = {"held_on": today_text(), "minutes_summary": "Thống nhất cơ cấu, tiêu chuẩn"}
    _submit(auth, driver, instance_id, "step1_conference", "personnel1", conference)
    step2_note = "Hội nghị mở rộng ngày 02/11: 7/7 thành viên có mặt"
    _hold_ballot(auth, instance_id, members, everyone)
    assert (
        _submit(auth, driver, instance_id, "ballot_step2", "personnel1", {"ballot_step2_note": step2_note}).status_code
        == 302
    )

    task = driver.task(instance_id, "ballot_step3")
    page = lxml_html.fromstring(client.get(f"/tasks/{task.id}").get_data(as_text=True))
    [box] = page.xpath("//form//textarea[@name='ballot_step3_note']")
    assert (box.text or "").strip() == ""
    assert not page.xpath("//form//textarea[@name='ballot_note' or @name='ballot_step2_note']")
    step3_note = "Đã công bố kết quả bước 2 trước khi bỏ phiếu"
    refused = _submit(auth, driver, instance_id, "ballot_step3", "personnel1", {"ballot_step3_note": step3_note})
    assert refused.status_code == 422  # the box has not been held: said at the step's own field
    assert lxml_html.fromstring(refused.get_data(as_text=True)).xpath(
        "//textarea[@name='ballot_step3_note'][@aria-invalid='true']"
    )
    _hold_ballot(auth, instance_id, members, everyone)
    assert (
        _submit(auth, driver, instance_id, "ballot_step3", "personnel1", {"ballot_step3_note": step3_note}).status_code
        == 302
    )

    _as(auth, "personnel1")
    shown = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert step2_note in shown and step3_note in shown
    assert "Ghi chú của thư ký: hội nghị tập thể lãnh đạo mở rộng" in shown
    assert "Ghi chú của thư ký: hội nghị tập thể lãnh đạo lần 2" in shown
    _verified(session_factory)


def test_an_old_versions_ballot_form_shows_hold_the_vote_first_at_its_note(
    client: FlaskClient,
    auth: AuthActions,
    driver: WorkflowDriver,
    session_factory: sessionmaker[Session],
    world: dict[str, Any],
) -> None:
    """An appointment running on a version from before decision 0053: its ballot step shows the shared form, whose
    note is `ballot_note`. Completing the step before the vote is refused beside that note, as on a new version's
    form, not as a message at the top of the page; what was typed stays in the box."""
    version = deploy_shared_ballot_form_version(session_factory)
    instance_id = _instance_id(_start(auth, world["post_id"]))
    assert driver.version_of(instance_id) == version
    _submit(auth, driver, instance_id, "eligibility_policy", "personnel1", {"dossier_received_on": today_text()})
    _submit(auth, driver, instance_id, "policy_decision", "leader1", {"policy_decision": "approve"})
    conference = {"held_on": today_text(), "minutes_summary": "Thống nhất cơ cấu, tiêu chuẩn"}
    _submit(auth, driver, instance_id, "step1_conference", "personnel1", conference)

    note = "Hội nghị mở rộng: 7/7 thành viên có mặt"
    refused = _submit(auth, driver, instance_id, "ballot_step2", "personnel1", {"ballot_note": note})
    assert refused.status_code == 422
    page = lxml_html.fromstring(refused.get_data(as_text=True))
    [box] = page.xpath("//form//textarea[@name='ballot_note']")
    assert box.get("aria-invalid") == "true" and (box.text or "").strip() == note
    [error] = page.xpath(f"//*[@id='{box.get('id')}-error']")
    assert "hãy mở hòm phiếu" in error.text_content().lower()
    assert not page.xpath("//*[contains(@class, 'flash') and contains(@class, 'error')]")  # nothing at the top
    _hold_ballot(auth, instance_id, world["members"], {name: YES for name in world["members"]})
    assert _submit(auth, driver, instance_id, "ballot_step2", "personnel1", {"ballot_note": note}).status_code == 302


def test_start_page_refusals(
    client: FlaskClient, auth: AuthActions, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    auth.login("officer1")
    assert client.get("/appointments/start").status_code == 403
    before = ballot_tables(session_factory)
    response = _start(auth, world["post_id"], code="CB0005", source="internal")  # works elsewhere
    assert response.status_code == 422
    assert 'role="alert"' in response.get_data(as_text=True)
    with session_factory() as s:
        assert (
            s.scalar(
                select(func.count()).select_from(ProcessInstance).where(ProcessInstance.process_id == "appointment")
            )
            == 0
        )
    assert ballot_tables(session_factory) == before


def test_a_cadre_not_found_is_refused_saying_how_to_pick_one(
    client: FlaskClient, auth: AuthActions, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    before = ballot_tables(session_factory)
    refused = _start(auth, world["post_id"], code="Nguyễn Văn Không Có", source="internal")
    assert refused.status_code == 422
    message = " ".join(" ".join(_doc(refused).xpath('//*[@id="cadre-error"]//text()')).split())
    assert "Không có cán bộ đang công tác nào mang mã này" in message and "chọn trong danh sách gợi ý" in message
    assert _appointments(session_factory) == 0 and ballot_tables(session_factory) == before


def test_a_commune_cadre_is_the_local_source_for_the_communes_peoples_committee(
    client: FlaskClient, auth: AuthActions, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """A cadre of commune X001 started from the page with the local source for a post of X001's people's committee
    (UBND xã, under the commune); a cadre of commune X002 refused on the source field, nothing written."""
    post_id = add_commune_pc_post(session_factory)
    before = ballot_tables(session_factory)
    refused = _start(auth, post_id, code=OUTSIDER, source="internal")
    assert refused.status_code == 422
    doc = _doc(refused)
    assert "Cán bộ không công tác tại đơn vị này" in " ".join(doc.xpath('//*[@id="source-error"]//text()'))
    assert _appointments(session_factory) == 0 and ballot_tables(session_factory) == before
    started = _start(auth, post_id, code=NOMINEE, source="internal")
    assert started.status_code == 302, started.get_data(as_text=True)
    with session_factory() as s:
        instance = s.get(ProcessInstance, _instance_id(started))
        assert instance is not None and instance.business_key == f"internal/{NOMINEE}/{post_id}/1"


def _doc(response: Any) -> Any:
    return lxml_html.fromstring(response.get_data(as_text=True))


def _appointments(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as s:
        query = select(func.count()).select_from(ProcessInstance).where(ProcessInstance.process_id == "appointment")
        return s.scalar(query) or 0


def test_the_start_page_picks_the_unit_in_scope_then_its_post(
    client: FlaskClient, auth: AuthActions, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    with session_factory() as s, transaction(s):
        x001, x002 = (s.scalars(select(OrgUnit.id).where(OrgUnit.code == code)).one() for code in ("X001", "X002"))
        officer = User(username="personnelx2", full_name="Tổ chức phường", password_hash=user(s, "officer3").password_hash,
                       unit_id=x002)  # fmt: skip
        s.add(officer)
        s.flush()
        s.add(RoleAssignment(user_id=officer.id, role=Role.PERSONNEL, unit_id=x002))
    _as(auth, "personnelx2")
    page = _doc(client.get("/appointments/start"))
    offered = [int(value) for value in page.xpath('//select[@name="unit"]/option/@value') if value]
    with session_factory() as s:
        paths = dict(s.execute(select(OrgUnit.id, OrgUnit.path).where(OrgUnit.id.in_(offered))).tuples().all())
    assert x002 in offered and x001 not in offered
    assert all(unit == x002 or f"/{x002}/" in paths[unit] for unit in offered)
    assert client.get(f"/appointments/posts?unit={x001}").status_code == 404  # outside the scope
    assert client.get(f"/appointments/posts?unit={x002}").status_code == 200

    # personnel1 (the whole province): the JSON and the page without JavaScript give the same posts of X001.
    _as(auth, "personnel1")
    answer = client.get(f"/appointments/posts?unit={x001}").get_json()
    assert {"id": world["post_id"], "title": "Phó Chủ tịch UBND xã", "is_occupied": False,
            "label": "Phó Chủ tịch UBND xã"} in answer["posts"]  # fmt: skip
    chosen = {"cadre": NOMINEE, "unit": str(x001), "source": "internal", "show_posts": "1"}
    shown = auth.post("/appointments/start", chosen, page="/appointments/start")
    assert shown.status_code == 200
    offered_posts = _doc(shown).xpath('//select[@name="position"]/option/@value')
    assert offered_posts == ["", *(str(post["id"]) for post in answer["posts"])]
    assert _doc(shown).xpath('//input[@name="source"][@checked]/@value') == ["internal"]
    assert NOMINEE in _doc(shown).xpath("//datalist/option/@value")
    assert _appointments(session_factory) == 0
    # A refusal of the service is said on its field, the unit and its posts still chosen.
    refused = auth.post(
        "/appointments/start",
        {"cadre": "CB0005", "unit": str(x001), "position": str(world["post_id"]), "source": "internal"},
        page="/appointments/start",
    )
    assert refused.status_code == 422
    doc = _doc(refused)
    assert doc.xpath('//*[@id="source-error"]') and doc.xpath('//select[@name="unit"]/option[@selected]/@value') == [
        str(x001)
    ]
    assert doc.xpath('//select[@name="position"]/option[@selected]/@value') == [str(world["post_id"])]
    # The unit changed after its posts were shown (no script): X001's post is not started for X002.
    mismatched = auth.post(
        "/appointments/start",
        {"cadre": "CB0005", "unit": str(x002), "position": str(world["post_id"]), "source": "external"},
        page="/appointments/start",
    )
    assert mismatched.status_code == 422 and _doc(mismatched).xpath('//*[@id="position-error"]')
    assert _appointments(session_factory) == 0


@pytest.fixture
def open_box(auth: AuthActions, driver: WorkflowDriver, world: dict[str, Any]) -> dict[str, Any]:
    """An appointment at step 2 with its box open: six of the seven members present (member3 absent)."""
    instance_id = _instance_id(_start(auth, world["post_id"]))
    _submit(auth, driver, instance_id, "eligibility_policy", "personnel1", {"dossier_received_on": today_text()})
    _submit(auth, driver, instance_id, "policy_decision", "leader1", {"policy_decision": "approve"})
    _submit(
        auth, driver, instance_id, "step1_conference", "personnel1", {"held_on": today_text(), "minutes_summary": "x"}
    )
    members = world["members"]
    box = _open_box(auth, instance_id, list(members.values()))
    present = [str(i) for name, i in members.items() if name != "member3"]
    auth.post(f"/ballots/{box}/attendance", {"present": present}, page=f"/ballots/{box}/manage")
    return {"instance_id": instance_id, "box": box, "members": members}


def test_bad_ballots_are_refused_and_change_nothing(
    client: FlaskClient, auth: AuthActions, session_factory: sessionmaker[Session], open_box: dict[str, Any]
) -> None:
    box = open_box["box"]
    vote_page = f"/ballots/{box}/vote"
    _as(auth, "officer1")
    assert auth.post(vote_page, YES, page=vote_page).status_code == 302
    cases = [
        ("officer1", 409),  # voting twice
        ("member3", 403),  # summoned, not present
        ("officer3", 404),  # a member of another unit: the box does not exist for them
        ("auditor1", 403),  # an inspector in scope, not summoned
    ]
    for username, status in cases:
        _as(auth, username)
        before = ballot_tables(session_factory)
        response = auth.client.post(vote_page, data={**YES, "csrf_token": auth.csrf_token("/inbox")})
        assert response.status_code == status, username
        assert ballot_tables(session_factory) == before
    # A second box for the same step is refused while this one is open.
    _as(auth, "personnel1")
    page = f"/appointments/{open_box['instance_id']}/ballot"
    before = ballot_tables(session_factory)
    again = auth.post(
        page, {"electors": [str(open_box["members"]["member1"])], "members_count": "7", "mode": "online"}, page=page
    )
    assert again.status_code == 409 and 'role="alert"' in again.get_data(as_text=True)
    assert ballot_tables(session_factory) == before
    # After the close, nobody votes.
    assert auth.post(f"/ballots/{box}/close", {"confirm": "y"}, page=f"/ballots/{box}/manage").status_code == 302
    _as(auth, "member1")
    before = ballot_tables(session_factory)
    assert auth.client.post(vote_page, data={**YES, "csrf_token": auth.csrf_token("/inbox")}).status_code == 409
    assert ballot_tables(session_factory) == before
    _verified(session_factory)


def test_paper_tally_with_more_ballots_than_attendees_is_refused(
    auth: AuthActions, driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    instance_id = _instance_id(_start(auth, world["post_id"]))
    _submit(auth, driver, instance_id, "eligibility_policy", "personnel1", {"dossier_received_on": today_text()})
    _submit(auth, driver, instance_id, "policy_decision", "leader1", {"policy_decision": "approve"})
    _submit(
        auth, driver, instance_id, "step1_conference", "personnel1", {"held_on": today_text(), "minutes_summary": "x"}
    )
    members = list(world["members"].values())
    box = _open_box(auth, instance_id, members, mode="paper")
    manage = f"/ballots/{box}/manage"
    auth.post(f"/ballots/{box}/attendance", {"present": [str(i) for i in members[:5]]}, page=manage)
    before = ballot_tables(session_factory)
    counts = {"issued": "6", "returned": "6", "valid": "6", "candidate_0_yes": "6", "candidate_0_no": "0"}
    counts["candidate_0_abstain"] = "0"
    response = auth.post(f"/ballots/{box}/paper", counts, page=manage)
    assert response.status_code == 422 and 'role="alert"' in response.get_data(as_text=True)
    assert ballot_tables(session_factory) == before
    good = {**counts, "issued": "5", "returned": "5", "valid": "5", "candidate_0_yes": "5"}
    assert auth.post(f"/ballots/{box}/paper", good, page=manage).status_code == 302
    assert _submit(auth, driver, instance_id, "ballot_step2", "personnel1", {}).status_code == 302
    assert {t.task_key for t in driver.open_tasks(instance_id)} == {"ballot_step3"}


def test_the_members_of_the_collective_are_typed_as_people_write_them(
    app: Any,
    auth: AuthActions,
    driver: WorkflowDriver,
    session_factory: sessionmaker[Session],
    world: dict[str, Any],
) -> None:
    """The ballot's "members of the collective" reads "1.000" as a thousand, as the task page would; "1.5", and
    what int() or float() would read but nobody writes ("1e3", "0x10", "1_000"), are refused at the field with the
    range it takes, written the Vietnamese way, and open nothing."""
    instance_id = _instance_id(_start(auth, world["post_id"]))
    _submit(auth, driver, instance_id, "eligibility_policy", "personnel1", {"dossier_received_on": today_text()})
    _submit(auth, driver, instance_id, "policy_decision", "leader1", {"policy_decision": "approve"})
    _submit(
        auth, driver, instance_id, "step1_conference", "personnel1", {"held_on": today_text(), "minutes_summary": "x"}
    )
    _as(auth, "personnel1")
    page = f"/appointments/{instance_id}/ballot"
    electors = [str(i) for i in world["members"].values()]
    before = ballot_tables(session_factory)
    for typed in ("1.5", "1e3", "0x10", "1_000"):
        refused = auth.post(page, {"electors": electors, "members_count": typed, "mode": "paper"}, page=page)
        assert refused.status_code == 422, typed
        shown = lxml_html.fromstring(refused.get_data(as_text=True))
        errors = shown.xpath("//input[@id='members_count']/following-sibling::p[@class='field-error']")
        assert [error.text_content() for error in errors] == [
            vietnamese(app, "Enter a whole number from %(min)s to %(max)s.", html=False, min="1", max="10.000")
        ]
        assert shown.xpath("//input[@id='members_count']/@value") == [typed]  # shown back to be corrected
        assert ballot_tables(session_factory) == before
    opened = auth.post(page, {"electors": electors, "members_count": "1.000", "mode": "paper"}, page=page)
    assert opened.status_code == 302
    with session_factory() as s:
        box = s.scalars(select(BallotBox).where(BallotBox.instance_id == instance_id)).one()
        assert box.members_count == 1000


def test_the_worker_starts_a_reappointment_once(
    runner: FlaskCliRunner, driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    term_end = local_today() + timedelta(days=80)
    with session_factory() as s, transaction(s):
        cadre = s.scalars(select(Cadre).where(Cadre.code == NOMINEE)).one()
        add_position(s, None, cadre, position_id=world["post_id"], started_on="2022-01-01", term_ends_on=term_end)
    first = runner.invoke(args=["worker", "--once"])
    assert first.exit_code == 0 and f"re-appointment of {NOMINEE}" in first.output
    second = runner.invoke(args=["worker", "--once"])
    assert "re-appointment of" not in second.output
    with session_factory() as s:
        started = s.scalars(select(ProcessInstance).where(ProcessInstance.process_id == "appointment")).all()
        officer2 = user(s, "officer2").id
    assert len(started) == 1 and (started[0].business_key or "").startswith("reappointment/")
    tasks = driver.open_tasks(started[0].id)
    assert [(t.task_key, t.assignee_id) for t in tasks] == [("self_report", officer2)]
    _verified(session_factory)


def test_a_reappointment_failing_in_a_script_is_noted_once_and_the_other_terms_still_start(
    runner: FlaskCliRunner,
    auth: AuthActions,
    client: FlaskClient,
    driver: WorkflowDriver,
    session_factory: sessionmaker[Session],
    world: dict[str, Any],
) -> None:
    """Decision 0073: a start by the worker fails as one from a page does — rolled back, noted once a day for
    "Cần xử lý" — and the worker goes on with the other terms."""
    model = (Path(__file__).resolve().parents[2] / "bpmn" / "appointment.bpmn").read_text(encoding="utf-8")
    condition = "source == 'reappointment'</bpmn:conditionExpression>"
    assert condition in model
    failing = f"source == 'reappointment' and 1 / (0 if cadre_code == '{NOMINEE}' else 1)</bpmn:conditionExpression>"
    term_end = local_today() + timedelta(days=80)
    with session_factory() as s, transaction(s):
        bundle = [BundleFile("appointment.bpmn", model.replace(condition, failing).encode())]
        forms = Path(__file__).resolve().parents[2] / "forms"
        (deployed,) = deploy_bundle(s, bundle, actor=user(s, "admin"), forms_dir=forms)
        for code, unit in ((NOMINEE, None), (OUTSIDER, "X002")):
            cadre = s.scalars(select(Cadre).where(Cadre.code == code)).one()
            post_id = world["post_id"]
            if unit is not None:
                post = Position(
                    title=VICE_CHAIR,
                    unit_id=s.scalars(select(OrgUnit.id).where(OrgUnit.code == unit)).one(),
                    level="commune",
                    is_leadership=True,
                    title_code="commune_pc_vice_chair",
                )
                s.add(post)
                s.flush()
                post_id = post.id
            add_position(s, None, cadre, position_id=post_id, started_on="2022-01-01", term_ends_on=term_end)

    def failures() -> list[dict[str, Any]]:
        with session_factory() as s:
            payloads = s.scalars(
                select(AuditEvent.payload).where(AuditEvent.chain_key == "system", AuditEvent.event_type == "error")
            ).all()
        return [json.loads(p) for p in payloads]

    first = runner.invoke(args=["worker", "--once"])
    second = runner.invoke(args=["worker", "--once"])  # the failed term is due still: tried again, noted once
    assert first.exit_code == 0 and second.exit_code == 0
    # The worker's lines are JSON on stderr (decision 0108): its report of what started names the outsider only.
    lines = [json.loads(line) for line in (first.output + second.output).splitlines() if line.startswith("{")]
    reported = " ".join(line["msg"] for line in lines if line["level"] == "info")
    assert f"re-appointment of {OUTSIDER}" in reported and NOMINEE not in reported
    failed = [line for line in lines if line["level"] == "error" and f"re-appointment of {NOMINEE}" in line["msg"]]
    assert len(failed) == 2  # a line per try
    (noted,) = failures()
    assert (noted["stage"], noted["process_id"], noted["version"]) == ("start", "appointment", deployed.version)
    with session_factory() as s:
        started = s.scalars(select(ProcessInstance).where(ProcessInstance.process_id == "appointment")).all()
        outsider = s.scalars(select(Cadre.id).where(Cadre.code == OUTSIDER)).one()
    assert [i.subject_cadre_id for i in started] == [outsider]  # nothing half-written for the failed one
    auth.login("admin")
    admin_page = lxml_html.fromstring(client.get("/admin").get_data(as_text=True))
    (row,) = admin_page.xpath("//tr[@data-failed-start='appointment']")
    assert f"v{deployed.version}" in row.text_content()
    assert "Quy trình không khởi tạo được" in admin_page.text_content()
    _verified(session_factory)


def test_appointment_cli_start(runner: FlaskCliRunner, world: dict[str, Any]) -> None:
    args = ["appointment", "start", "--cadre", NOMINEE, "--position", str(world["post_id"]), "--source", "internal"]
    result = runner.invoke(args=[*args, "--as", "personnel1"])
    assert result.exit_code == 0 and "appointment#" in result.output
    refused = runner.invoke(args=[*args, "--as", "personnel1"])
    assert refused.exit_code == 1 and "already running" in refused.output


def _clearances(auth: AuthActions, driver: WorkflowDriver, instance_id: int) -> None:
    dossier = {"documents_received": ALL_DOCUMENTS, "photo_taken_on": recent(), "health_certificate_on": recent()}
    steps = [
        ("dossier_checklist", "personnel1", dossier),
        ("clearance_political", "personnel1", {"political_result": "cleared"}),
        ("clearance_residence", "personnel1", {"residence_result": "cleared"}),
        ("clearance_inspection", "auditor1", {"inspection_result": "cleared"}),
        ("eligibility_final", "personnel1", {"final_dossier_received_on": today_text()}),
    ]
    for key, username, data in steps:
        assert _submit(auth, driver, instance_id, key, username, data).status_code == 302, key


def _external_consulted(auth: AuthActions, driver: WorkflowDriver, post_id: int, summary: str = "Thống nhất") -> int:
    """An external-source appointment of CB0005 through its policy steps and the receiving unit's consultation."""
    instance_id = _instance_id(_start(auth, post_id, code="CB0005", source="external"))
    _submit(auth, driver, instance_id, "eligibility_policy", "personnel1", {"dossier_received_on": today_text()})
    _submit(auth, driver, instance_id, "policy_decision", "leader1", {"policy_decision": "approve"})
    consult = {"held_on": today_text(), "minutes_summary": summary}
    assert _submit(auth, driver, instance_id, "ext_consult_receiving", "personnel1", consult).status_code == 302
    return instance_id


def test_external_appointment_through_http(
    auth: AuthActions, driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    instance_id = _external_consulted(auth, driver, world["post_id"], summary="Tập thể lãnh đạo xã An Phú thống nhất")
    _clearances(auth, driver, instance_id)
    # The sending unit (X002) votes: its members are the ones offered on the ballot page.
    _as(auth, "personnel1")
    page = auth.client.get(f"/appointments/{instance_id}/ballot").get_data(as_text=True)
    assert "Ủy viên sender 1" in page and "Ủy viên member 1" not in page
    senders = world["senders"]
    _hold_ballot(auth, instance_id, senders, {name: YES for name in senders})
    assert _submit(auth, driver, instance_id, "ballot_sending_unit", "personnel1", {}).status_code == 302
    assert (
        _submit(auth, driver, instance_id, "submission", "personnel1", {"submission_summary": "Tờ trình"}).status_code
        == 302
    )
    decision = {"final_decision": "reject", "decision_reason": ""}
    refused = _submit(auth, driver, instance_id, "decision", "leader1", decision)
    assert refused.status_code == 422 and 'role="alert"' in refused.get_data(as_text=True)
    decision["decision_reason"] = "Chưa phù hợp với yêu cầu nhiệm vụ"
    assert _submit(auth, driver, instance_id, "decision", "leader1", decision).status_code == 302
    with session_factory() as s:
        instance = s.get(ProcessInstance, instance_id)
        assert instance is not None and instance.status == InstanceStatus.COMPLETED
        assert s.scalars(select(CadrePosition)).all() == []
    _as(auth, "officer3")
    assert "Chưa phù hợp với yêu cầu nhiệm vụ" in auth.client.get("/notifications").get_data(as_text=True)
    _verified(session_factory)


def test_failed_eligibility_with_a_recorded_exception_through_http(
    client: FlaskClient,
    auth: AuthActions,
    driver: WorkflowDriver,
    session_factory: sessionmaker[Session],
    world: dict[str, Any],
) -> None:
    instance_id = _instance_id(_start(auth, world["post_id"], code="CB0001"))  # not planned, no annual grade
    _submit(auth, driver, instance_id, "eligibility_policy", "personnel1", {"dossier_received_on": today_text()})
    _as(auth, "leader1")
    task = driver.task(instance_id, "exception_policy")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "QĐ 377" in page  # each rule's result is shown with its source
    reason = "Trường hợp đặc biệt theo chỉ đạo của Ban Thường vụ"
    decided = {"exception_decision": "exception", "exception_reason": reason}
    assert _submit(auth, driver, instance_id, "exception_policy", "leader1", decided).status_code == 302
    assert [t.task_key for t in driver.open_tasks(instance_id)] == ["policy_decision"]
    _as(auth, "auditor1")
    history = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert reason in history
    _verified(session_factory)


def test_an_appointment_already_under_way_is_named_by_its_case_number_and_procedure(
    client: FlaskClient,
    auth: AuthActions,
    driver: WorkflowDriver,
    session_factory: sessionmaker[Session],
    world: dict[str, Any],
) -> None:
    """The finding names the other case as every page does — "hồ sơ số 12 (Bổ nhiệm, bổ nhiệm lại)" — on the
    competent authority's task page and in the instance's data, never by its internal reference "appointment#12"."""
    first = _instance_id(_start(auth, world["post_id"]))
    second = _instance_id(_start(auth, add_commune_pc_post(session_factory)))  # the same cadre, another post
    _submit(auth, driver, second, "eligibility_policy", "personnel1", {"dossier_received_on": today_text()})
    _as(auth, "leader1")
    task = driver.task(second, "exception_policy")
    for page in (client.get(f"/tasks/{task.id}"), client.get(f"/instances/{second}")):
        html = page.get_data(as_text=True)
        assert f"hồ sơ số {first} (Bổ nhiệm, bổ nhiệm lại)" in html
        assert f"appointment#{first}" not in html


def test_starting_the_same_appointment_again_links_to_the_case_under_way(
    auth: AuthActions, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    first = _instance_id(_start(auth, world["post_id"]))
    with session_factory() as s:
        before = s.scalar(select(func.count(ProcessInstance.id)))
    again = _start(auth, world["post_id"])
    said = again.get_data(as_text=True)
    assert again.status_code == 409
    assert f"Đang có hồ sơ bổ nhiệm cán bộ này vào chức vụ này: hồ sơ số {first}." in said
    assert f'href="/instances/{first}">Mở hồ sơ số {first}</a>' in said
    with session_factory() as s:
        assert s.scalar(select(func.count(ProcessInstance.id))) == before


NO = {"candidate_0": "no", "confirm": "y"}


def _reappointment_at_confidence_review(
    auth: AuthActions, driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any], no: int
) -> int:
    """A re-appointment of the nominee whose confidence ballot (seven present) gets `no` low-confidence marks."""
    term_end = local_today() + timedelta(days=80)
    with session_factory() as s, transaction(s):
        cadre = s.scalars(select(Cadre).where(Cadre.code == NOMINEE)).one()
        add_position(s, None, cadre, position_id=world["post_id"], started_on="2022-01-01", term_ends_on=term_end)
    [started] = start_due_reappointments(session_factory, driver.engine, today=local_today())
    instance_id = started.instance_id
    report = {"self_report": "Hoàn thành nhiệm vụ"}
    assert _submit(auth, driver, instance_id, "self_report", "officer2", report).status_code == 302
    members = world["members"]
    marks = {name: (NO if n < no else YES) for n, name in enumerate(members)}
    _hold_ballot(auth, instance_id, members, marks)
    assert _submit(auth, driver, instance_id, "ballot_confidence", "personnel1", {}).status_code == 302
    return instance_id


def test_normal_confidence_goes_on_to_the_heads_proposal(
    auth: AuthActions, driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    instance_id = _reappointment_at_confidence_review(auth, driver, session_factory, world, no=3)  # 3/7 ≤ 1/2
    assert [t.task_key for t in driver.open_tasks(instance_id)] == ["head_proposal"]


def test_low_confidence_goes_to_the_competent_authority_through_http(
    client: FlaskClient,
    auth: AuthActions,
    driver: WorkflowDriver,
    session_factory: sessionmaker[Session],
    world: dict[str, Any],
) -> None:
    # QĐ 96: 4 of 7 (> 1/2, < 2/3) low confidence → the competent authority considers; not the head's proposal yet.
    instance_id = _reappointment_at_confidence_review(auth, driver, session_factory, world, no=4)
    assert [t.task_key for t in driver.open_tasks(instance_id)] == ["confidence_low_review"]
    before = ballot_tables(session_factory)
    blank = {"confidence_decision": "continue", "confidence_reason": " "}
    refused = _submit(auth, driver, instance_id, "confidence_low_review", "leader1", blank)
    assert refused.status_code == 422 and 'role="alert"' in refused.get_data(as_text=True)
    assert ballot_tables(session_factory) == before
    go_on = {"confidence_decision": "continue", "confidence_reason": "Phiếu thấp do luân chuyển, cần đánh giá thêm"}
    assert _submit(auth, driver, instance_id, "confidence_low_review", "head1", go_on).status_code == 403
    assert _submit(auth, driver, instance_id, "confidence_low_review", "leader1", go_on).status_code == 302
    assert [t.task_key for t in driver.open_tasks(instance_id)] == ["head_proposal"]
    _verified(session_factory)


def test_low_confidence_not_reappointed_ends_and_tells_the_cadre(
    auth: AuthActions, driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    instance_id = _reappointment_at_confidence_review(auth, driver, session_factory, world, no=4)
    with session_factory() as s:
        nominee = s.scalars(select(Cadre).where(Cadre.code == NOMINEE)).one()
        planned = {e.id for e in s.scalars(select(PlanningEntry).where(PlanningEntry.cadre_id == nominee.id))}
    assert planned  # the nominee is in the plan for a higher post
    stop = {"confidence_decision": "not_reappoint", "confidence_reason": "Bố trí công tác khác"}
    assert _submit(auth, driver, instance_id, "confidence_low_review", "leader1", stop).status_code == 302
    with session_factory() as s:
        instance = s.get(ProcessInstance, instance_id)
        assert instance is not None and instance.status == InstanceStatus.COMPLETED
        assert len(s.scalars(select(CadrePosition)).all()) == 1  # the term was not renewed
        # QĐ 96: more than half low confidence also takes the cadre out of planning, naming this procedure.
        entries = s.scalars(select(PlanningEntry).where(PlanningEntry.id.in_(planned))).all()
        assert {(e.status, e.removal_instance_id) for e in entries} == {("removed", instance_id)}
        assert all("QĐ 96" in (e.reason or "") for e in entries)
    _as(auth, "officer2")
    assert "Bố trí công tác khác" in auth.client.get("/notifications").get_data(as_text=True)
    _verified(session_factory)


def test_two_thirds_low_confidence_goes_to_dismissal_through_http(
    auth: AuthActions, driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    # QĐ 96: 5 of 7 (≥ 2/3) low confidence → dismissal considered; the re-appointment cannot go on.
    instance_id = _reappointment_at_confidence_review(auth, driver, session_factory, world, no=5)
    assert [t.task_key for t in driver.open_tasks(instance_id)] == ["confidence_dismissal_review"]
    go_on = {"confidence_decision": "continue", "confidence_reason": "x"}
    assert _submit(auth, driver, instance_id, "confidence_dismissal_review", "leader1", go_on).status_code == 422
    dismiss = {"confidence_decision": "dismiss", "confidence_reason": "Từ 2/3 phiếu tín nhiệm thấp"}
    assert _submit(auth, driver, instance_id, "confidence_dismissal_review", "leader1", dismiss).status_code == 302
    with session_factory() as s:
        instance = s.get(ProcessInstance, instance_id)
        assert instance is not None and instance.status == InstanceStatus.COMPLETED
    _verified(session_factory)


def test_external_source_at_exactly_half_goes_to_the_receiving_units_head(
    auth: AuthActions, driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    # NĐ 170 Đ33 k3: at exactly 50% "người đứng đầu quyết định" — the head where the post is (X001), not the head
    # of the unit the nominee comes from (X002).
    with session_factory() as s, transaction(s):
        sending_head = User(
            username="head_x002", full_name="Chủ tịch UBND phường", password_hash=user(s, "head1").password_hash
        )
        sending_head.unit_id = s.scalars(select(OrgUnit.id).where(OrgUnit.code == "X002")).one()
        s.add(sending_head)
        s.flush()
        s.add(RoleAssignment(user_id=sending_head.id, role=Role.HEAD, unit_id=sending_head.unit_id))
    instance_id = _external_consulted(auth, driver, world["post_id"])
    _clearances(auth, driver, instance_id)
    senders = world["senders"]
    marks = {"sender1": YES, "sender2": YES, "sender3": NO, "sender4": NO}  # 2 of 4 summoned: exactly 50%
    _hold_ballot(auth, instance_id, senders, marks)
    assert _submit(auth, driver, instance_id, "ballot_sending_unit", "personnel1", {}).status_code == 302
    [task] = driver.open_tasks(instance_id)
    assert task.task_key == "head_final"
    with session_factory() as s:
        instance = s.get(ProcessInstance, instance_id)
        assert instance is not None and (task.candidate_role, task.candidate_unit_id) == ("head", instance.unit_id)
    choice = {"final_head_choice": "CB0005", "final_head_reason": "Đáp ứng yêu cầu nhiệm vụ"}
    assert _submit(auth, driver, instance_id, "head_final", "head_x002", choice).status_code in (403, 404)

    # The head picks a person by name, or nobody (decision 0140); no code is typed.
    _as(auth, "head1")
    page = auth.client.get(f"/tasks/{task.id}").get_data(as_text=True)
    with session_factory() as s:
        name = s.scalars(select(Cadre.full_name).where(Cadre.code == "CB0005")).one()
    radios = re.findall(r'<input type="radio"[^>]*name="final_head_choice"[^>]*value="([^"]*)"', page)
    assert radios == ["", "CB0005"]
    assert f"{name} (CB0005)</label>" in page and "Không chọn ai</label>" in page
    outsider = {**choice, "final_head_choice": "CB0001"}
    refused = _submit(auth, driver, instance_id, "head_final", "head1", outsider)
    assert refused.status_code == 422 and "Hãy chọn một trong: CB0005" in refused.get_data(as_text=True)
    assert _submit(auth, driver, instance_id, "head_final", "head1", choice).status_code == 302
    assert [t.task_key for t in driver.open_tasks(instance_id)] == ["submission"]
    _verified(session_factory)


def test_the_earlier_result_is_worded_and_numbered_in_the_readers_language(
    client: FlaskClient,
    auth: AuthActions,
    driver: WorkflowDriver,
    session_factory: sessionmaker[Session],
    world: dict[str, Any],
) -> None:
    """§7: step 3's conference is told step 2's result. The box keeps only its question; the pages word the result
    in the reader's language with the locale's decimal mark (decision 0094) — "100,00" in Vietnamese, "100.00" in
    English, never the stored float "100.0"."""
    members = world["members"]
    instance_id = _instance_id(_start(auth, world["post_id"]))
    _submit(auth, driver, instance_id, "eligibility_policy", "personnel1", {"dossier_received_on": today_text()})
    _submit(auth, driver, instance_id, "policy_decision", "leader1", {"policy_decision": "approve"})
    conference = {"held_on": today_text(), "minutes_summary": "Thống nhất"}
    assert _submit(auth, driver, instance_id, "step1_conference", "personnel1", conference).status_code == 302
    _hold_ballot(auth, instance_id, members, {name: YES for name in members})
    assert _submit(auth, driver, instance_id, "ballot_step2", "personnel1", {}).status_code == 302
    box = _open_box(auth, instance_id, list(members.values()))
    with session_factory() as s:
        stored = s.get(BallotBox, box)
        assert stored is not None and "Kết quả" not in stored.question and "%" not in stored.question
        nominee = s.scalars(select(Cadre.full_name).where(Cadre.code == NOMINEE)).one()
    count = len(members)
    page = " ".join(client.get(f"/ballots/{box}/manage").get_data(as_text=True).split())
    assert f"Kết quả hội nghị trước: {nominee}: {count}/{count} (100,00%)" in page
    # A box opened before decision 0094 keeps the sentence it stored; the page words the result afresh, once.
    with session_factory() as s, transaction(s):
        legacy = s.get(BallotBox, box)
        assert legacy is not None
        legacy.question += f". Kết quả hội nghị trước: {nominee}: {count}/{count} (100.0%)"
    page = " ".join(client.get(f"/ballots/{box}/manage").get_data(as_text=True).split())
    assert page.count("Kết quả hội nghị trước") == 1 and "(100.0%)" not in page and "(100,00%)" in page
    manage = f"/ballots/{box}/manage"
    auth.post("/auth/language", {"locale": "en", "next": manage}, page=manage)
    page = " ".join(client.get(manage).get_data(as_text=True).split())
    assert f"Result of the previous conference: {nominee}: {count}/{count} (100.00%)" in page
    assert "Kết quả hội nghị trước" not in page


def test_where_a_ballot_leads_is_worded_on_the_instance_page_and_its_history(
    client: FlaskClient, auth: AuthActions, driver: WorkflowDriver, world: dict[str, Any]
) -> None:
    """`ballot_next` is a code the gateways route on; the history names it ("proceed" was shown raw), and since decision
    0109 the data shows it, worded, to the administrator only (the ballot's result says where it led)."""
    instance_id = _external_consulted(auth, driver, world["post_id"])
    _clearances(auth, driver, instance_id)
    senders = world["senders"]
    _hold_ballot(auth, instance_id, senders, {name: YES for name in senders})
    assert _submit(auth, driver, instance_id, "ballot_sending_unit", "personnel1", {}).status_code == 302
    _as(auth, "personnel1")
    page = lxml_html.fromstring(client.get(f"/instances/{instance_id}").get_data(as_text=True))
    assert not page.xpath("//dd[@data-key='ballot_next']")
    [change] = page.xpath("//li[@data-key='ballot_next']")
    assert "Chuyển sang bước tiếp theo" in change.text_content()
    assert "proceed" not in page.text_content()
    _as(auth, "admin")
    page = lxml_html.fromstring(client.get(f"/instances/{instance_id}").get_data(as_text=True))
    [shown] = page.xpath("//details[contains(@class, 'technical-data')]//dd[@data-key='ballot_next']")
    assert shown.text_content().strip() == "Chuyển sang bước tiếp theo"


# -- configuration: APPOINTMENT_POLICY and WORK_CALENDAR (bad settings: tests/webapp/test_config.py) ---------------------------------------------------------


def test_the_policy_and_calendar_come_from_the_configuration(
    database_url: str, tmp_path: Path, driver: WorkflowDriver, world: dict[str, Any]
) -> None:
    today = local_today()
    closed = [(today + timedelta(days=n)).isoformat() for n in range(1, 15)]  # two weeks declared off
    app = configured_app(
        database_url,
        tmp_path,
        APPOINTMENT_POLICY='{"min_annual_grade": "HTXSNV", "confidence_dismissal_from": [3, 4]}',
        WORK_CALENDAR=json.dumps({"holidays": closed}),
    )
    assert appointment_policy(app).min_annual_grade == "HTXSNV"
    args = ["appointment", "start", "--cadre", NOMINEE, "--position", str(world["post_id"]), "--source", "internal"]
    assert app.test_cli_runner().invoke(args=[*args, "--as", "personnel1"]).exit_code == 0
    with app.app_context():
        from webapp.extensions import db

        instance = db.session.scalars(select(ProcessInstance).where(ProcessInstance.process_id == "appointment")).one()
        engine = app.extensions["canbo_engine"]
        data = engine.load(engine.definition(db.session, instance.process_version_id), instance).last_task.data
        db.session.remove()
        db.engine.dispose()
    assert data["policy"]["min_annual_grade"] == "HTXSNV"
    assert data["policy"]["confidence_dismissal_from"] == [3, 4]
    assert set(closed) <= set(data["work_calendar"]["holidays"])
    # NĐ 170 Đ33 k1b: 15 working days, counted on the configured calendar (the fortnight off does not count).
    expected = WorkCalendar.from_mapping({"holidays": closed}).add_working_days(today, 15)
    assert data["deadline_policy"].startswith(expected.isoformat())
    assert data["deadline_policy"] > working_deadline(today, 15)  # later than on the shipped calendar
    # The configured minimum grade applies: last year's HTTNV is now below it.
    _complete_as(driver, instance.id, "eligibility_policy", "personnel1", {"dossier_received_on": today.isoformat()})
    with driver.session_factory() as s:
        row = s.get(ProcessInstance, instance.id)
        assert row is not None
        checked = driver.engine.load(driver.engine.definition(s, row.process_version_id), row).last_task.data
    assert checked["eligibility_failed"] == ["annual_grade"]


def _complete_as(driver: WorkflowDriver, instance_id: int, key: str, username: str, data: dict) -> None:
    driver.complete(username, driver.task(instance_id, key).id, data)


# -- a clearance that reports issues blocks the procedure (domain rules §3.7) ------------------------------------


def _at_clearances_with_issues(auth: AuthActions, driver: WorkflowDriver, post_id: int) -> int:
    """An external-source appointment (no ballot before the clearances) whose inspection committee reports issues."""
    instance_id = _external_consulted(auth, driver, post_id)
    dossier = {"documents_received": ALL_DOCUMENTS, "photo_taken_on": recent(), "health_certificate_on": recent()}
    issues = {"inspection_result": "issues", "inspection_note": "Đơn tố cáo về kê khai tài sản, chưa xác minh"}
    for key, username, data in [
        ("dossier_checklist", "personnel1", dossier),
        ("clearance_political", "personnel1", {"political_result": "cleared"}),
        ("clearance_residence", "personnel1", {"residence_result": "cleared"}),
        ("clearance_inspection", "auditor1", issues),
    ]:
        assert _submit(auth, driver, instance_id, key, username, data).status_code == 302, key
    return instance_id


def test_a_clearance_with_issues_blocks_until_the_competent_authority_decides(
    client: FlaskClient,
    auth: AuthActions,
    driver: WorkflowDriver,
    session_factory: sessionmaker[Session],
    world: dict[str, Any],
) -> None:
    instance_id = _at_clearances_with_issues(auth, driver, world["post_id"])
    # Blocked: no final eligibility check, no vote, until the competent authority decides.
    assert [t.task_key for t in driver.open_tasks(instance_id)] == ["clearance_resolution"]
    resolved = {"clearance_decision": "resolved", "clearance_reason": ""}
    refused = _submit(auth, driver, instance_id, "clearance_resolution", "leader1", resolved)
    assert refused.status_code == 422 and 'role="alert"' in refused.get_data(as_text=True)
    conclusion = "UBKT đã xác minh: đơn tố cáo không có cơ sở (kết luận số 12-KL/UBKT)"
    resolved["clearance_reason"] = conclusion
    assert _submit(auth, driver, instance_id, "clearance_resolution", "personnel1", resolved).status_code in (403, 404)
    assert [t.task_key for t in driver.open_tasks(instance_id)] == ["clearance_resolution"]
    assert _submit(auth, driver, instance_id, "clearance_resolution", "leader1", resolved).status_code == 302
    assert [t.task_key for t in driver.open_tasks(instance_id)] == ["eligibility_final"]
    _as(auth, "auditor1")  # the issue and the decision are in the procedure's history
    history = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert conclusion in history
    _verified(session_factory)


def test_a_clearance_with_issues_can_stop_the_procedure(
    auth: AuthActions, driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    instance_id = _at_clearances_with_issues(auth, driver, world["post_id"])
    stop = {"clearance_decision": "stop", "clearance_reason": "Vi phạm đã được kết luận"}
    assert _submit(auth, driver, instance_id, "clearance_resolution", "leader1", stop).status_code == 302
    with session_factory() as s:
        instance = s.get(ProcessInstance, instance_id)
        assert instance is not None and instance.status == InstanceStatus.COMPLETED
        assert s.scalars(select(CadrePosition)).all() == []
    _as(auth, "officer3")
    assert "Vi phạm đã được kết luận" in auth.client.get("/notifications").get_data(as_text=True)
    _verified(session_factory)


def test_a_reappointment_reaches_its_vote_without_an_exception_through_http(
    auth: AuthActions, driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    # §3.8: planning is not a condition of renewing the same post — the nominee is taken out of every plan first.
    instance_id = _reappointment_at_confidence_review(auth, driver, session_factory, world, no=0)
    with session_factory() as s, transaction(s):
        cadre = s.scalars(select(Cadre).where(Cadre.code == NOMINEE)).one()
        for entry in s.scalars(select(PlanningEntry).where(PlanningEntry.cadre_id == cadre.id)).all():
            remove_planning_entry(s, None, cadre, entry.id, reason="Rà soát hằng năm")
    proposal = {"proposal": "reappoint", "proposal_comment": "Hoàn thành tốt nhiệm vụ"}
    assert _submit(auth, driver, instance_id, "head_proposal", "head1", proposal).status_code == 302
    _clearances(auth, driver, instance_id)
    assert [t.task_key for t in driver.open_tasks(instance_id)] == ["ballot_reappointment"]
    _verified(session_factory)


@pytest.mark.parametrize("unit", ["²", "99999999999999999999", "１"])
def test_a_unit_that_is_not_an_id_is_no_unit(
    client: FlaskClient, auth: AuthActions, session_factory: sessionmaker[Session], world: dict[str, Any], unit: str
) -> None:
    _as(auth, "personnel1")
    assert client.get(f"/appointments/start?unit={unit}").status_code == 200
    assert client.get(f"/appointments/posts?unit={unit}").status_code == 404
    shown = auth.post(
        "/appointments/start", {"cadre": NOMINEE, "unit": unit, "show_posts": "1"}, page="/appointments/start"
    )
    assert shown.status_code in (200, 422)
    assert _doc(shown).xpath('//select[@name="position"]/option/@value') == [""]
    assert _appointments(session_factory) == 0


def test_a_dossier_received_years_before_the_procedure_started_is_refused(
    auth: AuthActions, driver: WorkflowDriver, world: dict[str, Any]
) -> None:
    """1900-01-01 passed every age and time-in-post rule as of that day. A dossier may reach the personnel body
    before its procedure is entered (the policy check of another test is 20 days earlier), but not a year before."""
    instance_id = _instance_id(_start(auth, world["post_id"]))
    task = driver.task(instance_id, "eligibility_policy")
    response = _submit(
        auth, driver, instance_id, "eligibility_policy", "personnel1", {"dossier_received_on": "1900-01-01"}
    )
    assert response.status_code == 422
    assert "hơn một năm trước khi quy trình bắt đầu" in response.get_data(as_text=True)
    assert driver.task(instance_id, "eligibility_policy").id == task.id  # still open, nothing decided


def test_a_name_typed_instead_of_a_code_is_understood(
    auth: AuthActions, driver: WorkflowDriver, world: dict[str, Any]
) -> None:
    """The picker says "code or name": one active cadre of that name stands for their code; namesakes are listed
    by code for the person to choose, and nothing starts."""
    with driver.session_factory() as s:
        nominee = s.scalars(select(Cadre).where(Cadre.code == NOMINEE)).one()
        name = nominee.full_name
    started = _start(auth, world["post_id"], code=f"  {name.upper()} ")
    assert started.status_code == 302
    with driver.session_factory() as s, transaction(s):
        twin = s.scalars(select(Cadre).where(Cadre.code == NOMINEE)).one()
        s.add(
            Cadre(code="CB9999", full_name=name, birth_date=twin.birth_date, gender=twin.gender, unit_id=twin.unit_id)
        )
    before = _appointments(driver.session_factory)
    ambiguous = _start(auth, world["post_id"], code=name)
    page = ambiguous.get_data(as_text=True)
    assert ambiguous.status_code == 422 and "CB9999" in page and NOMINEE in page
    assert _appointments(driver.session_factory) == before


def _demo_post(session_factory: sessionmaker[Session], unit_code: str, title: str) -> int:
    with session_factory() as s:
        return s.scalars(
            select(Position.id)
            .join(OrgUnit, OrgUnit.id == Position.unit_id)
            .where(OrgUnit.code == unit_code, Position.title == title)
        ).one()


def _to_first_ballot(auth: AuthActions, driver: WorkflowDriver, instance_id: int, authority: str) -> None:
    received = {"dossier_received_on": today_text()}
    assert _submit(auth, driver, instance_id, "eligibility_policy", "personnel1", received).status_code == 302
    assert [t.task_key for t in driver.open_tasks(instance_id)] == ["policy_decision"]  # no exception needed
    decided = {"policy_decision": "approve"}
    assert _submit(auth, driver, instance_id, "policy_decision", authority, decided).status_code == 302
    conference = {"held_on": today_text(), "minutes_summary": "Thống nhất cơ cấu, tiêu chuẩn"}
    assert _submit(auth, driver, instance_id, "step1_conference", "personnel1", conference).status_code == 302


def test_the_demo_province_runs_an_appointment_to_its_first_ballot_with_demo_logins(
    client: FlaskClient, auth: AuthActions, driver: WorkflowDriver, session_factory: sessionmaker[Session]
) -> None:
    """As `make run` loads it: a vice-chair of Xã An Phú's people's committee is appointed from the cadres planned for
    the post, passes every condition, and the first ballot summons the committee's leaders, who vote with their
    own logins. A provincial deputy director's appointment waits for the provincial chair (`head7`), who can take it;
    officer2's cadre, graded below the minimum last year, takes the exception path."""
    with session_factory() as s:
        load_demo_province(s, cadres=300, today=local_today())
        s.commit()
    post_id = _demo_post(session_factory, "X001-UB", "Phó Chủ tịch UBND")
    with session_factory() as s:
        planned = s.scalars(
            select(Cadre)
            .join(PlanningEntry, PlanningEntry.cadre_id == Cadre.id)
            .where(PlanningEntry.position_id == post_id)
            .order_by(Cadre.code)
        ).all()
        passing = [
            c.code
            for c in planned
            if is_eligible(check_eligibility(candidate_facts(s, c.id, post_id), dossier_received_on=local_today()))
        ]
    assert passing, "no planned cadre meets every condition for the post"
    started = _start(auth, post_id, code=passing[0])
    assert started.status_code == 302, started.get_data(as_text=True)
    instance_id = _instance_id(started)
    _to_first_ballot(auth, driver, instance_id, "head1")  # the head of Xã An Phú, above its people's committee

    page = auth.client.get(f"/appointments/{instance_id}/ballot").get_data(as_text=True)
    with session_factory() as s:
        nominee = s.scalars(select(Cadre.id).where(Cadre.code == passing[0])).one()
        leaders = [user(s, name) for name in ("supervisor4", "head4", "head5", "head6")]
        # The nominee (one of the committee's leaders, planned for the post) is never an elector of their own ballot.
        members = {leader.username: leader.id for leader in leaders if leader.cadre_id != nominee}
        assert len(members) >= 3
        for name in members:
            assert user(s, name).full_name in page
    # The slip names the nominee first, then others of the demo's plan for the post (decision 0121); each member
    # names the nominee.
    slip = [li.text_content() for li in lxml_html.fromstring(page).xpath("//ul[@class='ballot-candidates']/li")]
    assert slip[0] == next(c.full_name for c in planned if c.code == passing[0])
    assert set(slip) <= {c.full_name for c in planned}
    nominee_named = {**YES, **{f"candidate_{i}": "no" for i in range(1, len(slip))}}
    _hold_ballot(auth, instance_id, members, {name: nominee_named for name in members})
    assert _submit(auth, driver, instance_id, "ballot_step2", "personnel1", {}).status_code == 302

    provincial = _demo_post(session_factory, "T01-SNV", "Phó Giám đốc Sở")
    started = _start(auth, provincial, code="CB0002", source="external")
    assert started.status_code == 302, started.get_data(as_text=True)
    instance_id = _instance_id(started)
    received = {"dossier_received_on": today_text()}
    assert _submit(auth, driver, instance_id, "eligibility_policy", "personnel1", received).status_code == 302
    task = driver.task(instance_id, "exception_policy")
    _as(auth, "head7")
    assert f"/tasks/{task.id}" in client.get("/inbox?scope=group").get_data(as_text=True)
    decided = {"exception_decision": "exception", "exception_reason": "Trường hợp đặc biệt"}
    assert _submit(auth, driver, instance_id, "exception_policy", "head7", decided).status_code == 302
    assert [t.task_key for t in driver.open_tasks(instance_id)] == ["policy_decision"]
    _verified(session_factory)


def test_an_empty_list_of_members_to_summon_says_why(
    auth: AuthActions, driver: WorkflowDriver, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    post_id = add_commune_pc_post(session_factory)  # X001-UB: nobody with a login works there
    instance_id = _instance_id(_start(auth, post_id))
    _to_first_ballot(auth, driver, instance_id, "head1")
    page = auth.client.get(f"/appointments/{instance_id}/ballot").get_data(as_text=True)
    assert "không có người dùng nào đang hoạt động có tài khoản tại Ủy ban nhân dân xã An Phú" in page


def _to_step2(auth: AuthActions, driver: WorkflowDriver, world: dict[str, Any]) -> int:
    """An appointment of officer2 at the ballot of step 2, its box not opened yet."""
    instance_id = _instance_id(_start(auth, world["post_id"]))
    _submit(auth, driver, instance_id, "eligibility_policy", "personnel1", {"dossier_received_on": today_text()})
    _submit(auth, driver, instance_id, "policy_decision", "leader1", {"policy_decision": "approve"})
    _submit(
        auth, driver, instance_id, "step1_conference", "personnel1", {"held_on": today_text(), "minutes_summary": "x"}
    )
    _as(auth, "personnel1")
    return instance_id


def test_the_nominee_is_not_summoned_and_may_not_vote_on_their_appointment(
    client: FlaskClient,
    auth: AuthActions,
    driver: WorkflowDriver,
    session_factory: sessionmaker[Session],
    world: dict[str, Any],
) -> None:
    instance_id = _to_step2(auth, driver, world)
    page = f"/appointments/{instance_id}/ballot"
    with session_factory() as s:
        nominee = user(s, "officer2").id
    offered = _doc(client.get(page)).xpath("//input[@name='electors']/@value")
    assert str(world["members"]["member1"]) in offered and str(nominee) not in offered
    before = ballot_tables(session_factory)
    electors = [str(i) for i in [*world["members"].values(), nominee]]
    refused = auth.post(page, {"electors": electors, "members_count": "8", "mode": "online"}, page=page)
    assert refused.status_code == 422 and 'role="alert"' in refused.get_data(as_text=True)
    assert ballot_tables(session_factory) == before
    # A box opened before the nominee was left out of the electors: they are refused at the vote page.
    box = _open_box(auth, instance_id, list(world["members"].values()))
    with session_factory() as s, transaction(s):
        s.add(BallotElector(box_id=box, user_id=nominee, is_summoned=True, is_present=True, has_voted=False))
    _as(auth, "officer2")
    vote_page = f"/ballots/{box}/vote"
    shown = client.get(vote_page)
    assert shown.status_code == 403 and 'name="candidate_0"' not in shown.get_data(as_text=True)
    assert "về chính bạn" in shown.get_data(as_text=True)
    before = ballot_tables(session_factory)
    posted = auth.client.post(vote_page, data={**YES, "csrf_token": auth.csrf_token("/inbox")})
    assert posted.status_code == 403
    assert ballot_tables(session_factory) == before
    assert "Phiếu bầu cần bỏ" not in client.get("/inbox").get_data(as_text=True)


def test_the_worker_tells_each_summoned_elector_when_the_box_opens_online(
    client: FlaskClient,
    runner: FlaskCliRunner,
    auth: AuthActions,
    driver: WorkflowDriver,
    world: dict[str, Any],
) -> None:
    """A reviewer saw no notice, but ran without the worker: the notices are the worker's (from the audit log's
    ballot_opened). With `canbo worker --once`, each summoned member finds "Phiếu bầu cần bỏ" on /notifications,
    naming the case; the nominee, not summoned, finds none."""
    instance_id = _to_step2(auth, driver, world)
    box = _open_box(auth, instance_id, list(world["members"].values()))
    _as(auth, "member1")
    assert "Phiếu bầu cần bỏ" not in client.get("/notifications").get_data(as_text=True)  # not before the worker
    assert runner.invoke(args=["worker", "--once"]).exit_code == 0
    for member in world["members"]:
        _as(auth, member)
        page = " ".join(_doc(client.get("/notifications")).text_content().split())
        assert "Phiếu bầu cần bỏ" in page and f"hồ sơ số {instance_id}" in page and f"Hòm phiếu số {box}" in page
    _as(auth, "officer2")  # the nominee
    assert "Phiếu bầu cần bỏ" not in client.get("/notifications").get_data(as_text=True)


def test_a_collective_smaller_than_those_summoned_is_refused_at_its_field(
    client: FlaskClient,
    auth: AuthActions,
    driver: WorkflowDriver,
    session_factory: sessionmaker[Session],
    world: dict[str, Any],
) -> None:
    members = world["members"]
    instance_id = _to_step2(auth, driver, world)
    # Step 2 is the expanded conference: it summons more than the collective, so 7 summoned, 2 members is taken.
    box = _open_box(auth, instance_id, list(members.values()), members_count=2)
    manage = f"/ballots/{box}/manage"
    present = {"present": [str(i) for i in members.values()]}
    assert auth.post(f"/ballots/{box}/attendance", present, page=manage).status_code == 302
    assert auth.post(f"/ballots/{box}/close", {"confirm": "y"}, page=manage).status_code == 302
    assert _submit(auth, driver, instance_id, "ballot_step2", "personnel1", {}).status_code == 302
    # Step 3 is the collective's own conference: everyone summoned is a member.
    _as(auth, "personnel1")
    page = f"/appointments/{instance_id}/ballot"
    three = [str(i) for i in list(members.values())[:3]]
    before = ballot_tables(session_factory)
    refused = auth.post(page, {"electors": three, "members_count": "2", "mode": "online"}, page=page)
    assert refused.status_code == 422
    [error] = _doc(refused).xpath("//input[@name='members_count']/following-sibling::p[@class='field-error']/text()")
    assert "2" in error and "3" in error and "triệu tập" in error
    assert ballot_tables(session_factory) == before
    assert auth.post(page, {"electors": three, "members_count": "3", "mode": "online"}, page=page).status_code == 302


def test_the_ballot_steps_task_page_leads_to_its_ballot(
    client: FlaskClient,
    auth: AuthActions,
    driver: WorkflowDriver,
    session_factory: sessionmaker[Session],
    world: dict[str, Any],
) -> None:
    instance_id = _to_step2(auth, driver, world)
    task = driver.task(instance_id, "ballot_step2")
    links = "//a[contains(@class, 'button')]/@href"
    assert f"/appointments/{instance_id}/ballot" in _doc(client.get(f"/tasks/{task.id}")).xpath(links)
    refused = _submit(auth, driver, instance_id, "ballot_step2", "personnel1", {})
    assert refused.status_code == 422  # "open the ballot box first" — with the way to it on the same page
    assert f"/appointments/{instance_id}/ballot" in _doc(refused).xpath(links)
    box = _open_box(auth, instance_id, list(world["members"].values()))
    assert f"/ballots/{box}/manage" in _doc(client.get(f"/tasks/{task.id}")).xpath(links)


def _ballots_to_cast_text(client: FlaskClient) -> str:
    [section] = _doc(client.get("/inbox")).xpath("//section[@class='ballots-to-cast']")
    return " ".join(section.text_content().split())


def test_the_inbox_and_the_notices_carry_the_earlier_result_as_the_vote_page_words_it(
    client: FlaskClient,
    runner: FlaskCliRunner,
    auth: AuthActions,
    driver: WorkflowDriver,
    session_factory: sessionmaker[Session],
    world: dict[str, Any],
) -> None:
    """§7: step 3's conference is told step 2's result. The vote page words it (decision 0094); the elector's row in
    the inbox and the worker's notice that the ballot waits (in-app and e-mail text) carry the same wording, each in
    its reader's language (decision 0102): "100,00" for a Vietnamese reader, "100.00" for an English one."""
    members = world["members"]
    instance_id = _to_step2(auth, driver, world)
    _hold_ballot(auth, instance_id, members, {name: YES for name in members})
    assert _submit(auth, driver, instance_id, "ballot_step2", "personnel1", {}).status_code == 302
    box = _open_box(auth, instance_id, list(members.values()))
    reader, english_reader = "member1", "member2"
    with session_factory() as s, transaction(s):
        nominee = s.scalars(select(Cadre.full_name).where(Cadre.code == NOMINEE)).one()
        user(s, english_reader).locale = "en"
    count = len(members)
    vietnamese_result = f"Kết quả hội nghị trước: {nominee}: {count}/{count} (100,00%)"
    english_result = f"Result of the previous conference: {nominee}: {count}/{count} (100.00%)"
    assert runner.invoke(args=["worker", "--once"]).exit_code == 0
    _as(auth, reader)
    assert vietnamese_result in " ".join(_doc(client.get(f"/ballots/{box}/vote")).text_content().split())
    assert vietnamese_result in _ballots_to_cast_text(client)
    with session_factory() as s:
        notices = {
            n.user_id: n
            for n in s.scalars(select(Notification).where(Notification.kind == BALLOT_OPENED))
            if f"Hòm phiếu số {box}" in n.body
        }
        told, told_in_english = notices[user(s, reader).id], notices[user(s, english_reader).id]
    assert told.title.endswith(vietnamese_result) and f"Hòm phiếu số {box}: " in told.body
    assert vietnamese_result in told.body and "(100.0%)" not in told.body
    assert english_result in told_in_english.title and english_result in told_in_english.body
    assert "Kết quả hội nghị trước" not in told_in_english.body
    _as(auth, english_reader)
    shown = _ballots_to_cast_text(client)
    assert english_result in shown and "Kết quả hội nghị trước" not in shown


def test_a_conference_nobody_attended_is_held_again_as_any_missed_quorum(
    client: FlaskClient,
    auth: AuthActions,
    driver: WorkflowDriver,
    session_factory: sessionmaker[Session],
    world: dict[str, Any],
) -> None:
    """Decision 0102: nobody came to step 2's conference. The secretary records it on the box's page (ticked), the
    box closes as a missed quorum, the step's task completes and the step is held again with a new box, which then
    carries the procedure on."""
    members = world["members"]
    instance_id = _to_step2(auth, driver, world)
    box = _open_box(auth, instance_id, list(members.values()))
    manage = f"/ballots/{box}/manage"
    assert auth.post(f"/ballots/{box}/nobody-attended", {"confirm_nobody": "y"}, page=manage).status_code == 302
    assert _submit(auth, driver, instance_id, "ballot_step2", "personnel1", {}).status_code == 302
    assert [t.task_key for t in driver.open_tasks(instance_id)] == ["ballot_step2"]
    assert driver.instance(instance_id).status == InstanceStatus.RUNNING
    again = _hold_ballot(auth, instance_id, members, {name: YES for name in members})
    assert again != box
    assert _submit(auth, driver, instance_id, "ballot_step2", "personnel1", {}).status_code == 302
    assert [t.task_key for t in driver.open_tasks(instance_id)] == ["ballot_step3"]
    _verified(session_factory)


def test_the_start_form_says_each_fields_own_fault_once_and_the_maximum_length(
    auth: AuthActions, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """Decision 0118: a post that is no id said also "Số phải nằm trong khoảng từ 1 đến 2147483647.", which only
    followed from the first fault; a code too long said "Không được dài quá 40 ký tự." — now "Tối đa 40 ký tự."."""
    _as(auth, "personnel1")
    unit = str(_post_unit(auth, world["post_id"]))

    def errors(response: Any) -> dict[str, str]:
        return {
            str(e.get("id")): " ".join(e.text_content().split())
            for e in _doc(response).xpath('//*[@class="field-error"]')
        }

    not_an_id = auth.post(
        "/appointments/start",
        {"cadre": NOMINEE, "unit": unit, "position": "abc", "source": "internal"},
        page="/appointments/start",
    )
    assert not_an_id.status_code == 422
    assert errors(not_an_id) == {"position-error": "Không phải là số nguyên hợp lệ."}
    too_long = auth.post(
        "/appointments/start",
        {"cadre": "CB" * 30, "unit": unit, "position": str(world["post_id"]), "source": "internal"},
        page="/appointments/start",
    )
    assert too_long.status_code == 422
    assert errors(too_long) == {"cadre-error": "Tối đa 40 ký tự."}
    assert _appointments(session_factory) == 0
