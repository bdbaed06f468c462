"""Decision 0109: where the competent authority decides (the appointment's "Quyết định bổ nhiệm", the planning
review's "Phê duyệt quy hoạch"), the page sums up what is decided on — the post, the nominee, the conditions, each
conference's secret ballot with its minutes, the submission — and shows no raw key or routing field to the head;
the administrator still reads the working data."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient
from lxml import html as lxml_html
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.app import AuthActions
from tests.fixtures.appointment import ALL_DOCUMENTS, recent, setup_appointment, today_text
from tests.fixtures.planning import NEW_SECRETARY, NEW_VICE, NEW_VICE_2, setup_planning
from tests.fixtures.workflow_helpers import WorkflowDriver
from tests.webapp import test_appointment as appointment
from tests.webapp import test_planning as planning
from workflows.models import BallotBox

ROUTING_KEYS = ("ballot_next", "has_nominees", "has_committee_nominees", "unit_code")


def _boxes(session_factory: sessionmaker[Session], instance_id: int) -> list[int]:
    with session_factory() as s:
        return list(s.scalars(select(BallotBox.id).where(BallotBox.instance_id == instance_id).order_by(BallotBox.id)))


def _summary(page: str) -> Any:
    (section,) = lxml_html.fromstring(page).xpath('//section[contains(@class, "decision-summary")]')
    return section


def _ballot_lines(section: Any) -> list[tuple[str, str]]:
    return [
        (" ".join(item.text_content().split()), item.xpath("string(.//a/@href)"))
        for item in section.xpath('.//ul[@class="ballot-results"]/li')
    ]


def _shown_text(page: str) -> str:
    """The page's text as read (no attributes, no scripts)."""
    doc = lxml_html.fromstring(page)
    for script in doc.xpath("//script"):
        script.drop_tree()
    return " ".join(doc.text_content().split())


def _at_appointment_decision(auth: AuthActions, driver: WorkflowDriver, session_factory: sessionmaker[Session]) -> int:
    """An internal appointment through its four ballots (one member against at the first) to the head's decision."""
    world = setup_appointment(session_factory)
    members = world["members"]
    everyone = {name: appointment.YES for name in members}
    instance_id = appointment._instance_id(appointment._start(auth, world["post_id"]))

    def submit(key: str, username: str, data: dict[str, Any]) -> None:
        response = appointment._submit(auth, driver, instance_id, key, username, data)
        assert response.status_code == 302, (key, response.get_data(as_text=True))

    submit("eligibility_policy", "personnel1", {"dossier_received_on": today_text()})
    submit("policy_decision", "leader1", {"policy_decision": "approve"})
    submit("step1_conference", "personnel1", {"held_on": today_text(), "minutes_summary": "Thống nhất"})
    one_against = {**everyone, next(iter(members)): {"candidate_0": "no", "confirm": "y"}}
    for step, marks in (("ballot_step2", one_against), ("ballot_step3", everyone), ("ballot_step4", everyone)):
        appointment._hold_ballot(auth, instance_id, members, marks)
        submit(step, "personnel1", {})
    dossier = {"documents_received": ALL_DOCUMENTS, "photo_taken_on": recent(), "health_certificate_on": recent()}
    submit("dossier_checklist", "personnel1", dossier)
    submit("clearance_political", "personnel1", {"political_result": "cleared"})
    submit("clearance_residence", "personnel1", {"residence_result": "cleared"})
    submit("clearance_inspection", "auditor1", {"inspection_result": "cleared"})
    submit("eligibility_final", "personnel1", {"final_dossier_received_on": today_text()})
    appointment._hold_ballot(auth, instance_id, members, everyone)
    submit("ballot_step5", "personnel1", {})
    submit("submission", "personnel1", {"submission_summary": "Tờ trình đề nghị bổ nhiệm"})
    return instance_id


def test_the_head_deciding_an_appointment_reads_its_summary_and_no_raw_key(
    client: FlaskClient, auth: AuthActions, driver: WorkflowDriver, session_factory: sessionmaker[Session]
) -> None:
    instance_id = _at_appointment_decision(auth, driver, session_factory)
    appointment._as(auth, "leader1")
    task = driver.task(instance_id, "decision")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    summary = _summary(page)
    facts = {dd.get("data-key"): " ".join(dd.text_content().split()) for dd in summary.xpath(".//dd[@data-key]")}
    assert facts["target_position_title"] == "Phó Chủ tịch UBND xã (Xã An Phú)"
    assert facts["cadre_name"] == "Trần Văn Hùng" and facts["eligible"] == "Có"
    assert facts["submission_summary"] == "Tờ trình đề nghị bổ nhiệm"
    # Each of the four conferences, in order, with its result and the link to its minutes.
    boxes = _boxes(session_factory, instance_id)
    lines = _ballot_lines(summary)
    assert [href for _text, href in lines] == [f"/ballots/{box}/minutes" for box in boxes] and len(boxes) == 4
    assert lines[0][0].startswith("Hội nghị tập thể lãnh đạo mở rộng: phiếu giới thiệu")
    assert "Trần Văn Hùng: 6/7 (85,71%)" in lines[0][0]
    assert all("Trần Văn Hùng: 7/7 (100,00%)" in text for text, _href in lines[1:])
    # The key cadres' opinion is told as advice, the final vote as a choice (decision 0131).
    assert "Ý kiến gửi kèm hồ sơ, không quyết định việc lựa chọn" in lines[2][0]
    assert "Có người đạt" in lines[3][0] and "Có người đạt" not in lines[2][0]
    # Each candidate's own result follows their share, not only the ballot's outcome after the last one.
    assert "Trần Văn Hùng: 7/7 (100,00%) — trúng cử" in lines[3][0]
    assert "Trần Văn Hùng: 7/7 (100,00%) — đã ghi nhận ý kiến" in lines[2][0]
    # Each candidate's own result follows their share, not only the ballot's outcome after the last one.
    assert "Trần Văn Hùng: 7/7 (100,00%) — trúng cử" in lines[3][0]
    assert "Trần Văn Hùng: 7/7 (100,00%) — đã ghi nhận ý kiến" in lines[2][0]
    assert client.get(lines[0][1]).status_code == 200  # the head reads the minutes the summary links to
    # The documents received by their names; no key, no routing field, no technical block for the head.
    shown = _shown_text(page)
    assert "Bản tự kiểm điểm 3 năm gần nhất" in shown
    for raw in ("self_assessment", "political_conclusion", "Bước tiếp theo sau bỏ phiếu"):
        assert raw not in shown, raw
    assert "technical-data" not in page
    # In English, the summary's own words are English.
    auth.post("/auth/language", {"locale": "en", "next": "/inbox"})
    english = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    assert "What you decide on" in english and "Secret ballots" in english and "7/7 (100.00%)" in english


def test_the_administrator_still_reads_the_routing_fields_in_the_technical_data(
    client: FlaskClient, auth: AuthActions, driver: WorkflowDriver, session_factory: sessionmaker[Session]
) -> None:
    instance_id = _at_appointment_decision(auth, driver, session_factory)
    appointment._as(auth, "admin")
    response = client.get(f"/tasks/{driver.task(instance_id, 'decision').id}")
    assert response.status_code == 200
    (technical,) = lxml_html.fromstring(response.get_data(as_text=True)).xpath(
        '//details[contains(@class, "technical-data")]'
    )
    assert technical.xpath('.//dd[@data-key="ballot_next"]')
    assert "Chuyển sang bước tiếp theo" in technical.text_content()


def test_the_approver_of_a_planning_review_reads_its_summary_and_no_raw_key(
    client: FlaskClient, auth: AuthActions, driver: WorkflowDriver, session_factory: sessionmaker[Session]
) -> None:
    world = setup_planning(session_factory)
    instance_id = planning._instance_id(planning._start(auth))
    planning._through_frame(auth, driver, instance_id, world)
    nominations = [
        {"cadre_code": NEW_VICE, "position_id": world["vice"]},
        {"cadre_code": NEW_VICE_2, "position_id": world["vice"]},
        {"cadre_code": NEW_SECRETARY, "position_id": world["secretary"]},
    ]
    listed = planning._submit(
        auth, driver, instance_id, "nominate", "personnel1", planning._rows("nominations", nominations)
    )
    assert listed.status_code == 302
    for step in ("ballot_key_cadres", "ballot_leadership", "ballot_committee"):
        planning._hold_ballot(auth, instance_id, world["members"])
        assert planning._submit(auth, driver, instance_id, step, "personnel1", {}).status_code == 302
    dossier = planning._submit(auth, driver, instance_id, "dossier", "personnel1", {"submission_number": "15/TTr-BTC"})
    assert dossier.status_code == 302
    planning._as(auth, "leader1")
    page = client.get(f"/tasks/{driver.task(instance_id, 'approval').id}").get_data(as_text=True)
    summary = _summary(page)
    assert " ".join(summary.xpath('string(.//dd[@data-key="submission_number"])').split()) == "15/TTr-BTC"
    nominees = summary.xpath('.//dd[@data-key="nominees"]//tbody/tr')
    assert [row.xpath('string(td[@data-column="cadre_code"])') for row in nominees] == [
        NEW_VICE,
        NEW_VICE_2,
        NEW_SECRETARY,
    ]
    # The three conferences, each with its result and minutes.
    boxes = _boxes(session_factory, instance_id)
    lines = _ballot_lines(summary)
    assert [href for _text, href in lines] == [f"/ballots/{box}/minutes" for box in boxes] and len(boxes) == 3
    assert "Bùi Thị Lan — Bí thư Đảng ủy xã (Xã An Phú): 7/7 (100,00%)" in lines[2][0]
    # The nominees' table is headed in words, without the ballot key that carries a title's id.
    doc = lxml_html.fromstring(page)
    headers = {" ".join(th.text_content().split()) for th in doc.xpath('//dd[@data-key="nominees"]//th')}
    assert {"Chức danh quy hoạch", "Chức danh cấp ủy", "Điều kiện, tiêu chuẩn đã kiểm tra"} <= headers
    assert not headers & {"title", "committee", "checks", "Mã"}
    shown = _shown_text(page)
    assert not re.search(r"QH0\d@\d+", shown)
    for key in ROUTING_KEYS:
        assert f'data-key="{key}"' not in page, key
    assert "Mã đơn vị" not in shown and "Có người được giới thiệu" not in shown
