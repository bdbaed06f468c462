"""Decision 0119: the rotation's deciding step ("Quyết định luân chuyển") opens with what the leader decides on, as
the appointment's does (decision 0109): the cadre, the post and unit left → the post and unit rotated to, the purpose,
the period and its length, the rotation signals that concern the cadre, each earlier step's outcome, the submission
and the collective's ballot with its minutes — in the reader's language."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from lxml import html as lxml_html
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.app import AuthActions
from tests.fixtures.rotation import BOARD, OFFICER, setup_rotation
from tests.fixtures.workflow_helpers import WorkflowDriver
from tests.webapp.test_rotation import YES, _as, _ok, _submit, _through_eligibility
from workflows.db import transaction
from workflows.models import BallotBox
from workflows.registry.models import Cadre, CadrePosition
from workflows.registry.records import local_today
from workflows.rules.retirement import add_months


@pytest.fixture
def world(app: Any, driver: WorkflowDriver, session_factory: sessionmaker[Session]) -> dict[str, Any]:
    return setup_rotation(session_factory)


def _personnel_for_six_years(session_factory: sessionmaker[Session]) -> None:
    """The officer has held the deputy director's post of the Department of Home Affairs (personnel work) for six
    years: the signal "personnel staff five years in one post" concerns him."""
    with session_factory() as s, transaction(s):
        cadre = s.scalars(select(Cadre).where(Cadre.code == OFFICER)).one()
        held = s.scalars(select(CadrePosition).where(CadrePosition.cadre_id == cadre.id)).one()
        held.started_on = add_months(local_today(), -72)


def _at_decision(auth: AuthActions, driver: WorkflowDriver, world: dict[str, Any]) -> int:
    """A rotation onto X001's chair (a leadership post, so the collective votes) through every step to the decision."""
    instance_id = _through_eligibility(auth, driver, world, OFFICER)
    opinion = {"sending_opinion": "agree", "sending_note": "Đồng ý cử đồng chí Sơn"}
    _ok(_submit(auth, driver, instance_id, "consult_sending", "headsnv", opinion))
    _ok(_submit(auth, driver, instance_id, "consult_receiving", "head1", {"receiving_opinion": "agree"}))
    meeting = {"met_on": local_today().isoformat(), "cadre_agrees": "agree", "cadre_opinion": "Sẵn sàng nhận nhiệm vụ"}
    _ok(_submit(auth, driver, instance_id, "meet_cadre", "personnel1", meeting))
    _ok(_submit(auth, driver, instance_id, "submission", "personnel1", {"submission_summary": "Tờ trình số 12"}))
    _as(auth, "personnel1")
    page = f"/rotations/{instance_id}/ballot"
    board = [str(i) for i in world["board"]]
    opened = auth.post(page, {"electors": board, "members_count": str(len(board)), "mode": "online"}, page=page)
    _ok(opened)
    box = int(re.search(r"/ballots/(\d+)/manage", opened.headers["Location"]).group(1))  # type: ignore[union-attr]
    manage = f"/ballots/{box}/manage"
    _ok(auth.post(f"/ballots/{box}/attendance", {"present": board}, page=manage))
    for username in BOARD:
        _as(auth, username)
        _ok(auth.post(f"/ballots/{box}/vote", YES, page=f"/ballots/{box}/vote"))
    _as(auth, "personnel1")
    _ok(auth.post(f"/ballots/{box}/close", {"confirm": "y"}, page=manage))
    _ok(_submit(auth, driver, instance_id, "ballot_collective", "personnel1", {}))
    return instance_id


def _summary(page: str) -> Any:
    (section,) = lxml_html.fromstring(page).xpath('//section[contains(@class, "decision-summary")]')
    return section


def _facts(section: Any) -> dict[str, tuple[str, str]]:
    """Each item of the summary by key: (its label, its value), as read."""
    return {
        dd.get("data-key"): (
            " ".join(dd.getprevious().text_content().split()),
            " ".join(dd.text_content().split()),
        )
        for dd in section.xpath(".//dd[@data-key]")
    }


def test_the_leader_deciding_a_rotation_reads_whom_she_rotates_where_and_why(
    client: FlaskClient,
    auth: AuthActions,
    driver: WorkflowDriver,
    session_factory: sessionmaker[Session],
    world: dict[str, Any],
) -> None:
    _personnel_for_six_years(session_factory)
    instance_id = _at_decision(auth, driver, world)
    _as(auth, "leader1")
    task = driver.task(instance_id, "decision")
    page = client.get(f"/tasks/{task.id}").get_data(as_text=True)
    section = _summary(page)
    facts = _facts(section)
    # Whom, from where to where, why, for how long.
    assert facts["cadre_name"] == ("Cán bộ", "Nguyễn Văn Sơn") and facts["cadre_code"][1] == OFFICER
    assert facts["current_post"] == ("Chức vụ đang giữ khi đề xuất luân chuyển", "Phó Giám đốc Sở (Sở Nội vụ)")
    assert facts["sending_unit_name"] == ("Đơn vị cử đi", "Sở Nội vụ")
    assert facts["target_position_title"][1] == "Chủ tịch UBND xã (Xã An Phú)"
    assert facts["to_unit_name"] == ("Đơn vị tiếp nhận", "Xã An Phú")
    assert facts["purpose_label"] == ("Mục đích", "bố trí cán bộ chủ chốt không là người địa phương")
    assert facts["rotation_duration"] == ("Thời hạn luân chuyển", "36 tháng")
    keys = list(facts)
    assert keys.index("current_post") < keys.index("target_position_title") < keys.index("rotation_duration")
    # The signal that concerns him, named as the signals page names it, with its reason.
    label, signals = facts["rotation_signals"]
    assert label == "Cảnh báo luân chuyển"
    assert signals.startswith("Cán bộ làm công tác tổ chức cán bộ: số năm ở một vị trí: Làm công tác tổ chức cán bộ")
    assert "(6 năm; định kỳ luân chuyển sau 5 năm)" in signals
    # Each earlier step's outcome, said with its step where the form's title alone would not say whose it is.
    assert facts["plan_reference"][1] == "KH-01/2026"
    assert facts["plan_decision"] == ("Phê duyệt kế hoạch luân chuyển: Ý kiến của cấp có thẩm quyền", "Phê duyệt")
    assert facts["eligible"][1] == "Có" and "eligibility_failed" not in facts
    assert facts["sending_opinion"] == ("Đơn vị cử đi cho ý kiến về cán bộ: Ý kiến", "Đồng ý")
    assert facts["sending_note"][1] == "Đồng ý cử đồng chí Sơn"
    assert facts["receiving_opinion"] == ("Đơn vị tiếp nhận cho ý kiến: Ý kiến", "Đồng ý")
    assert facts["cadre_agrees"] == ("Gặp cán bộ, ghi ý kiến nguyện vọng: Cán bộ", "Đồng ý luân chuyển")
    assert facts["cadre_opinion"][1] == "Sẵn sàng nhận nhiệm vụ"
    assert facts["submission_summary"] == ("Nội dung tờ trình", "Tờ trình số 12")
    # The collective's ballot with the link to its minutes, which the leader may open.
    with session_factory() as s:
        (box,) = s.scalars(select(BallotBox.id).where(BallotBox.instance_id == instance_id))
    (line,) = section.xpath('.//ul[@class="ballot-results"]/li')
    assert "Nguyễn Văn Sơn: 5/5 (100,00%)" in line.text_content()
    assert line.xpath("string(.//a/@href)") == f"/ballots/{box}/minutes"
    assert client.get(f"/ballots/{box}/minutes").status_code == 200
    # In English, the product's words are English; the model's step names stay as written; a signal's reason follows the reader (0118).
    auth.post("/auth/language", {"locale": "en", "next": "/inbox"})
    english = _facts(_summary(client.get(f"/tasks/{task.id}").get_data(as_text=True)))
    assert english["current_post"] == ("Post held when proposed", "Phó Giám đốc Sở (Sở Nội vụ)")
    assert english["rotation_duration"] == ("Duration of the rotation", "36 months")
    assert english["sending_unit_name"][0] == "Sending unit" and english["to_unit_name"][0] == "Receiving unit"
    assert english["rotation_signals"][0] == "Rotation signals"
    assert english["rotation_signals"][1].startswith("Personnel staff: years in one post: Has done personnel work")
    assert english["eligible"] == ("Meets the conditions", "Yes")


def test_a_cadre_no_signal_concerns_is_said_so(
    client: FlaskClient,
    auth: AuthActions,
    driver: WorkflowDriver,
    session_factory: sessionmaker[Session],
    world: dict[str, Any],
) -> None:
    instance_id = _at_decision(auth, driver, world)  # three years in the post: short of the five
    _as(auth, "leader1")
    page = client.get(f"/tasks/{driver.task(instance_id, 'decision').id}").get_data(as_text=True)
    facts = _facts(_summary(page))
    assert facts["rotation_signals"][1] == "Không có cảnh báo luân chuyển nào đối với cán bộ này."
