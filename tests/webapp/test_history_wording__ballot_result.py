"""A closed ballot in the history says its result and the basis it was decided on (decision 0129): who came against
the quorum, what a candidate needed, each candidate's share — read on the demo's past appointment (decision 0127),
by the inspector, in both languages, on the history page and in the exported file. Who voted is named, never how.
The key cadres' opinion is worded as advice that chooses nobody (decision 0131). Each candidate's share is followed by
their own result, so that the last of several is not read as the one elected (decision 0135)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import html as lxml_html
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.app import AuthActions
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows.appointment.demo import run_past_appointment
from workflows.db import transaction
from workflows.models import AuditEvent, BallotBox
from workflows.registry.demo import load_demo_province
from workflows.registry.records import local_today

# fmt: off
CLOSED_VI = [
    "Đã kết thúc bỏ phiếu và kiểm phiếu: có mặt 3 trong số 3 người được triệu tập (số người có mặt tối thiểu 2/3 tổng số người được triệu tập: đạt); người được giới thiệu đạt khi có số phiếu đồng ý trên 1/2 tổng số người được triệu tập (3). {nominee}: 3/3 đồng ý (100,00%) — trúng cử; {other}: 0/3 đồng ý (0,00%) — không trúng cử.",
    "Đã kết thúc bỏ phiếu và kiểm phiếu: có mặt 3 trong số 3 người được triệu tập (số người có mặt tối thiểu 2/3 tổng số người được triệu tập: đạt); người được giới thiệu đạt khi có số phiếu đồng ý trên 1/2 tổng số người được triệu tập (3). {nominee}: 3/3 đồng ý (100,00%) — trúng cử.",
    # Step 4, the key cadres' opinion, chooses nobody (decision 0131).
    "Đã kết thúc bỏ phiếu và kiểm phiếu: có mặt 3 trong số 3 người được triệu tập (số người có mặt tối thiểu 2/3 tổng số người được triệu tập: đạt); kết quả là ý kiến gửi kèm hồ sơ, không quyết định việc lựa chọn, tỷ lệ tính trên tổng số người được triệu tập (3). {nominee}: 2/3 đồng ý (66,67%) — đã ghi nhận ý kiến.",
    "Đã kết thúc bỏ phiếu và kiểm phiếu: có mặt 3 trong số 3 người được triệu tập (số người có mặt tối thiểu 2/3 tổng số người được triệu tập: đạt); người được giới thiệu đạt khi có số phiếu đồng ý trên 1/2 tổng số thành viên tập thể lãnh đạo (4). {nominee}: 3/4 đồng ý (75,00%) — trúng cử.",
]
CLOSED_EN_OPINION = "Ballot closed and counted: 3 of the 3 summoned were present (a quorum of 2/3 of those summoned: reached); an opinion that goes with the dossier and chooses nobody, each share of those summoned (3). {nominee}: 2/3 in favour (66.67%) — opinion recorded."
CLOSED_EN_FIRST = "Ballot closed and counted: 3 of the 3 summoned were present (a quorum of 2/3 of those summoned: reached); a candidate passes with more than 1/2 of those summoned (3). {nominee}: 3/3 in favour (100.00%) — elected; {other}: 0/3 in favour (0.00%) — not elected."
CLOSED_EN_LAST = "Ballot closed and counted: 3 of the 3 summoned were present (a quorum of 2/3 of those summoned: reached); a candidate passes with more than 1/2 of members of the collective (4). {nominee}: 3/4 in favour (75.00%) — elected."
# fmt: on


@pytest.fixture
def appointment(driver: WorkflowDriver, session_factory: sessionmaker[Session]) -> tuple[int, str, str]:
    """The demo's past appointment: its id, the nominee's name and the other name on step 2's slip."""
    with session_factory() as s, transaction(s):
        load_demo_province(s, cadres=300, today=local_today())
    with session_factory() as s, transaction(s):
        past = run_past_appointment(s, driver.engine, today=local_today())
        assert past is not None
    with session_factory() as s:
        first_closed = s.scalars(
            select(AuditEvent.payload)
            .where(AuditEvent.instance_id == past.instance_id, AuditEvent.event_type == "ballot_closed")
            .order_by(AuditEvent.seq)
        ).first()
    assert first_closed is not None
    names = [c["name"] for c in json.loads(first_closed)["candidates"]]
    assert names[0] == past.nominee and len(names) == 2
    return past.instance_id, past.nominee, names[1]


def _reader(app: Flask, driver: WorkflowDriver, language: str) -> FlaskClient:
    with driver.session_factory() as s, transaction(s):
        driver.user(s, "auditor1").locale = language  # type: ignore[union-attr]
    client = app.test_client()
    assert AuthActions(client).login("auditor1").status_code == 302
    return client


def _text(element: Any) -> str:
    return " ".join(element.text_content().split())


def _rows(client: FlaskClient, instance_id: int, event: str) -> list[tuple[str, str]]:
    """(who, what) of each row of one kind of event on the history page, as a person reads them."""
    page = client.get(f"/audit/instances/{instance_id}")
    assert page.status_code == 200
    rows = lxml_html.fromstring(page.get_data(as_text=True)).xpath(f'//tr[@data-event="{event}"]')
    return [(_text(row.xpath("./td")[2]), _text(row.xpath("./td")[4])) for row in rows]


def test_each_closed_ballot_says_its_result_and_the_basis_it_was_decided_on(
    app: Flask, driver: WorkflowDriver, appointment: tuple[int, str, str]
) -> None:
    instance_id, nominee, other = appointment
    client = _reader(app, driver, "vi")
    closed = _rows(client, instance_id, "ballot_closed")
    assert [what for _who, what in closed] == [line.format(nominee=nominee, other=other) for line in CLOSED_VI]
    assert all(who == "Đỗ Thị Hoa personnel1" for who, _what in closed)
    # Who voted at each conference, by name and minute; what they marked is nowhere.
    cast = _rows(client, instance_id, "ballot_cast")
    assert len(cast) == 12 and {who.rsplit(" ", 1)[1] for who, _what in cast} == {"supervisor4", "head5", "head6"}
    assert {what for _who, what in cast} == {"Đã có một phiếu được bỏ (nội dung phiếu được giữ bí mật)."}

    english = _rows(_reader(app, driver, "en"), instance_id, "ballot_closed")
    assert english[0][1] == CLOSED_EN_FIRST.format(nominee=nominee, other=other)
    assert english[2][1] == CLOSED_EN_OPINION.format(nominee=nominee)
    assert english[-1][1] == CLOSED_EN_LAST.format(nominee=nominee)


def test_the_exported_history_says_the_same(
    app: Flask, driver: WorkflowDriver, appointment: tuple[int, str, str]
) -> None:
    instance_id, nominee, other = appointment
    client = _reader(app, driver, "vi")
    document = json.loads(client.get(f"/audit/instances/{instance_id}/export?format=json").get_data())
    closed = [e["what"] for e in document["readable"]["events"] if e["what"].startswith("Đã kết thúc bỏ phiếu")]
    assert closed == [line.format(nominee=nominee, other=other) for line in CLOSED_VI]
    # The file's list of tallies words each the same way: step 2's first.
    assert document["readable"]["ballots"][0].endswith(
        f": {nominee}: 3/3 đồng ý (100,00%) — trúng cử; {other}: 0/3 đồng ý (0,00%) — không trúng cử"
    )


def test_each_tally_card_says_each_candidates_own_result(
    app: Flask, driver: WorkflowDriver, appointment: tuple[int, str, str]
) -> None:
    """The history's tally cards: the outcome is the ballot's, each candidate's row says their own result."""
    instance_id, nominee, other = appointment
    for language, results in (
        (
            "vi",
            [
                [(nominee, "trúng cử"), (other, "không trúng cử")],
                [(nominee, "trúng cử")],
                [(nominee, "đã ghi nhận ý kiến")],
                [(nominee, "trúng cử")],
            ],
        ),
        (
            "en",
            [
                [(nominee, "elected"), (other, "not elected")],
                [(nominee, "elected")],
                [(nominee, "opinion recorded")],
                [(nominee, "elected")],
            ],
        ),
    ):
        page = _reader(app, driver, language).get(f"/audit/instances/{instance_id}")
        cards = lxml_html.fromstring(page.get_data(as_text=True)).xpath('//div[contains(@class, "tally")]')
        rows = [
            [(_text(row.xpath("./td")[0]), _text(row.xpath("./td")[-1])) for row in card.xpath(".//tbody/tr")]
            for card in cards
        ]
        assert rows == results


def test_a_closing_recorded_without_its_tally_still_reads_as_before(app: Flask, driver: WorkflowDriver) -> None:
    """Events written before the chain kept the tally with the closing keep their one sentence (the pinned wording
    in test_history_wording.py covers it too)."""
    from tests.fixtures.history_wording import build_worded_instance

    worded = build_worded_instance(driver)
    closed = _rows(_reader(app, driver, "vi"), worded, "ballot_closed")
    assert [what for _who, what in closed] == ["Đã kết thúc bỏ phiếu và kiểm phiếu."]


def test_the_minutes_of_the_opinion_say_it_chooses_nobody(
    app: Flask, driver: WorkflowDriver, appointment: tuple[int, str, str]
) -> None:
    """The tally minutes of step 4 state no pass mark and no one chosen; step 5's keep theirs (decision 0131)."""
    instance_id, nominee, _other = appointment
    with driver.session_factory() as s:
        boxes = dict(
            s.execute(
                select(BallotBox.step_key, BallotBox.id).where(
                    BallotBox.instance_id == instance_id, BallotBox.step_key.in_(["ballot_step4", "ballot_step5"])
                )
            ).all()
        )
    client = app.test_client()
    assert AuthActions(client).login("personnel1").status_code == 302

    def results(box_id: int) -> tuple[str, str, str]:
        page = lxml_html.fromstring(client.get(f"/ballots/{box_id}/minutes").get_data(as_text=True))
        heading = page.xpath('//h2[normalize-space()="Kết quả"]')[0]
        basis = _text(heading.getnext())
        last_column = _text(page.xpath("//table[thead/tr/th[.='%']]//th")[-1])
        result = _text(page.xpath('//p[strong[starts-with(normalize-space(), "Kết quả")]]')[0])
        return basis, last_column, result

    assert results(boxes["ballot_step4"]) == (
        "Kết quả là ý kiến gửi kèm hồ sơ, không quyết định việc lựa chọn; tỷ lệ tính trên tổng số người được triệu"
        " tập (3).",
        "Đồng ý trên 1/2",
        "Kết quả: Ý kiến gửi kèm hồ sơ, không quyết định việc lựa chọn",
    )
    # The secretary's page states the same rule.
    manage = lxml_html.fromstring(client.get(f"/ballots/{boxes['ballot_step4']}/manage").get_data(as_text=True))
    assert _text(manage.xpath('//dt[.="Nguyên tắc"]/following-sibling::dd[1]')[0]) == (
        "ý kiến gửi kèm hồ sơ, không quyết định việc lựa chọn, tỷ lệ tính trên tổng số người được triệu tập; số người"
        " có mặt tối thiểu 2/3 tổng số người được triệu tập"
    )
    assert results(boxes["ballot_step5"]) == (
        "Người được giới thiệu đạt khi có số phiếu đồng ý trên 1/2 tổng số thành viên tập thể lãnh đạo (4).",
        "Đạt",
        f"Kết quả: Có người đạt — {nominee}",
    )


def test_the_final_vote_is_told_every_earlier_conferences_result(
    app: Flask, driver: WorkflowDriver, appointment: tuple[int, str, str]
) -> None:
    """§3.4 step 5 analyses all results (decision 0132): its question names each earlier conference with its shares,
    step 4's unannounced opinion among them; step 3 is still told step 2's alone."""
    instance_id, nominee, other = appointment
    with driver.session_factory() as s:
        boxes = dict(
            s.execute(select(BallotBox.step_key, BallotBox.id).where(BallotBox.instance_id == instance_id)).all()
        )
    client = app.test_client()
    assert AuthActions(client).login("personnel1").status_code == 302

    def question(step: str) -> str:
        page = lxml_html.fromstring(client.get(f"/ballots/{boxes[step]}/minutes").get_data(as_text=True))
        return _text(page.xpath('//div[@class="heading"]/p')[1])

    post = "Phó Chủ tịch UBND (Ủy ban nhân dân xã An Phú)"
    step2 = f"{nominee}: 3/3 (100,00%); {other}: 0/3 (0,00%)"
    assert question("ballot_step3") == (
        f"Hội nghị tập thể lãnh đạo (lần 2): giới thiệu nhân sự bổ nhiệm {post}. Kết quả hội nghị trước: {step2}"
    )
    assert question("ballot_step5") == (
        f"Hội nghị tập thể lãnh đạo (lần 3): biểu quyết bổ nhiệm {post}. Kết quả các hội nghị trước: "
        f"Hội nghị tập thể lãnh đạo mở rộng — {step2}. "
        f"Hội nghị tập thể lãnh đạo (lần 2) — {nominee}: 3/3 (100,00%). "
        f"Hội nghị cán bộ chủ chốt — {nominee}: 2/3 (66,67%)"
    )


def test_the_inspector_opens_each_conferences_minutes_from_the_history(
    app: Flask, driver: WorkflowDriver, appointment: tuple[int, str, str]
) -> None:
    """The history's tallies link each counted box's printable minutes (attendance by name, the tally committee);
    a reader who may not read the minutes gets no link."""
    instance_id, _nominee, _other = appointment
    client = _reader(app, driver, "vi")
    page = lxml_html.fromstring(client.get(f"/audit/instances/{instance_id}").get_data(as_text=True))
    links = page.xpath('//div[contains(@class, "tally")]//a[.="Biên bản kiểm phiếu"]/@href')
    with driver.session_factory() as s:
        boxes = s.scalars(select(BallotBox.id).where(BallotBox.instance_id == instance_id).order_by(BallotBox.id)).all()
    assert links == [f"/ballots/{box}/minutes" for box in boxes] and len(boxes) == 4
    assert all(client.get(link).status_code == 200 for link in links)
    # The administrator reads the history, not the minutes (they go to those who run and inspect the ballots).
    admin = app.test_client()
    assert AuthActions(admin).login("admin").status_code == 302
    page = lxml_html.fromstring(admin.get(f"/audit/instances/{instance_id}").get_data(as_text=True))
    assert len(page.xpath('//div[contains(@class, "tally")]')) == 4
    assert not page.xpath('//a[.="Biên bản kiểm phiếu"]') and admin.get(links[0]).status_code == 404
