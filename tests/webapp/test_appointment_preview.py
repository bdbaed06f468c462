"""The appointment start page's "Check the conditions" button (decision 0070): the eligibility rules on the chosen
cadre and post before anything is started — met, not met or unknown (a fact missing from the record), each with its
legal source and what to do — refused and scoped as the start is, writing nothing; the start still works after it."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import html as lxml_html
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.app import AuthActions
from tests.fixtures.appointment import NOMINEE, OUTSIDER, setup_appointment
from tests.fixtures.ballots import unit_id, user
from tests.fixtures.workflow_helpers import WorkflowDriver, everything_stored
from workflows.db import transaction
from workflows.registry.models import Cadre, DisciplineRecord, PlanningEntry, Position, RoleAssignment, User
from workflows.registry.records import local_today
from workflows.rules.appointment import RULES
from workflows.rules.retirement import add_months
from workflows.states import Role


@pytest.fixture
def world(app: Any, driver: WorkflowDriver, session_factory: sessionmaker[Session]) -> dict[str, Any]:
    return setup_appointment(session_factory)


def _as(auth: AuthActions, username: str) -> None:
    if auth.client.get("/inbox").status_code == 200:
        auth.logout()
    assert auth.login(username).status_code == 302


def _chosen(session_factory: sessionmaker[Session], post_id: int, code: str, source: str) -> dict[str, str]:
    """What the start page posts: the cadre code, the unit and post chosen in the two selects, the source."""
    with session_factory() as s:
        post = s.get(Position, post_id)
        assert post is not None
        return {"cadre": code, "unit": str(post.unit_id), "position": str(post_id), "source": source}


def _check(
    auth: AuthActions, session_factory: sessionmaker[Session], post_id: int, code: str = NOMINEE,
    source: str = "internal", **changed: str,
) -> Any:  # fmt: skip
    posted = {**_chosen(session_factory, post_id, code, source), **changed, "action": "check"}
    return auth.post("/appointments/start", posted, page="/appointments/start")


def _doc(response: Any) -> Any:
    return lxml_html.fromstring(response.get_data(as_text=True))


def _rows(response: Any) -> dict[str, Any]:
    rows = _doc(response).xpath('//section[contains(@class, "eligibility-preview")]//tr[@data-rule]')
    return {row.get("data-rule"): row for row in rows}


def _statuses(response: Any) -> dict[str, str]:
    return {rule: row.get("data-status") for rule, row in _rows(response).items()}


def _cell(row: Any, column: int) -> str:
    return " ".join(row.xpath(f"string(td[{column}])").split())


def test_an_eligible_cadre_meets_every_condition_and_the_start_still_works(
    auth: AuthActions, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    _as(auth, "personnel1")
    before = everything_stored(session_factory)
    checked = _check(auth, session_factory, world["post_id"])
    assert checked.status_code == 200, checked.get_data(as_text=True)[-2000:]
    assert everything_stored(session_factory) == before  # nothing started, nothing logged
    rows = _rows(checked)
    assert list(rows) == list(RULES)
    assert set(_statuses(checked).values()) == {"passed"}
    for row in rows.values():
        assert _cell(row, 2) == "Có" and _cell(row, 3) and _cell(row, 4)  # met, the finding, its legal source
        assert _cell(row, 5) == ""  # nothing to do
    assert "QĐ 377-QĐ/TW" in _cell(rows["planning"], 4) and "HD 06-HD/BTCTW" in _cell(rows["age"], 4)
    text = " ".join(_doc(checked).text_content().split())
    assert "Đạt tất cả điều kiện." in text
    assert "chỉ để tham khảo" in text and "bước thẩm định điều kiện, tiêu chuẩn trong quy trình" in text
    assert _doc(checked).xpath('//input[@name="source"][@checked]/@value') == ["internal"]  # the choice kept
    # The check is advice: the start itself is the same as before it.
    started = auth.post(
        "/appointments/start",
        _chosen(session_factory, world["post_id"], NOMINEE, "internal"),
        page="/appointments/start",
    )
    assert started.status_code == 302 and "/instances/" in started.headers["Location"]


def test_an_ineligible_cadre_sees_the_failed_rules_and_what_to_do(
    auth: AuthActions, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """Not on the plan, and disciplined (cảnh cáo) a year ago: two rules not met, each saying where the remedy lies."""
    with session_factory() as s, transaction(s):
        cadre = s.scalars(select(Cadre).where(Cadre.code == NOMINEE)).one()
        for entry in s.scalars(select(PlanningEntry).where(PlanningEntry.cadre_id == cadre.id)):
            s.delete(entry)
        s.add(DisciplineRecord(cadre_id=cadre.id, level="canh_cao", decided_on=add_months(local_today(), -12)))
    _as(auth, "personnel1")
    before = everything_stored(session_factory)
    checked = _check(auth, session_factory, world["post_id"])
    assert checked.status_code == 200
    assert everything_stored(session_factory) == before
    statuses = _statuses(checked)
    assert {rule for rule, status in statuses.items() if status == "failed"} == {"planning", "discipline"}
    assert {rule for rule, status in statuses.items() if status == "unknown"} == set()
    rows = _rows(checked)
    assert _cell(rows["planning"], 2) == "Không"
    assert "Không có trong quy hoạch" in _cell(rows["planning"], 3)
    assert "bổ sung cán bộ vào quy hoạch" in _cell(rows["planning"], 5)
    assert "cần 36 tháng" in _cell(rows["discipline"], 3)
    assert "Chờ đến khi hết thời hạn" in _cell(rows["discipline"], 5)
    assert "cấp có thẩm quyền" in _cell(rows["discipline"], 5)
    text = " ".join(_doc(checked).text_content().split())
    assert "2 điều kiện chưa đạt." in text and "Vẫn có thể bắt đầu" in text


def test_a_cadre_whose_record_lacks_data_sees_unknown_not_failed(
    auth: AuthActions, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """No birth date on the record: the age rule cannot be checked — "unknown", with what to fill in — not "not met"."""
    with session_factory() as s, transaction(s):
        cadre = s.scalars(select(Cadre).where(Cadre.code == NOMINEE)).one()
        cadre.birth_date = None
        cadre.retirement_date = None
    _as(auth, "personnel1")
    before = everything_stored(session_factory)
    checked = _check(auth, session_factory, world["post_id"])
    assert checked.status_code == 200
    assert everything_stored(session_factory) == before
    statuses = _statuses(checked)
    assert statuses["age"] == "unknown"
    assert {rule for rule, status in statuses.items() if rule != "age"} == set(RULES) - {"age"}
    assert all(status == "passed" for rule, status in statuses.items() if rule != "age")
    age = _rows(checked)["age"]
    assert _cell(age, 2) == "Chưa xác định: thiếu dữ liệu"
    assert "thiếu ngày sinh" in _cell(age, 3) and "HD 06-HD/BTCTW" in _cell(age, 4)
    assert "Cập nhật ngày sinh và giới tính vào hồ sơ cán bộ" in _cell(age, 5)
    text = " ".join(_doc(checked).text_content().split())
    assert "1 điều kiện chưa kiểm tra được" in text and "điều kiện chưa đạt" not in text


def _personnel_of_x002(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as s, transaction(s):
        x002 = unit_id(s, "X002")
        officer = User(username="personnelx2", full_name="Tổ chức phường", password_hash=user(s, "officer3").password_hash,
                       unit_id=x002)  # fmt: skip
        s.add(officer)
        s.flush()
        s.add(RoleAssignment(user_id=officer.id, role=Role.PERSONNEL, unit_id=x002))


def test_a_post_outside_the_scope_is_refused_as_the_start_refuses_it(
    auth: AuthActions, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """The personnel body of X002 checking X001's post (and its cadre): the start's 403 and words, no table, nothing
    written; someone who may not start an appointment may not check one either."""
    _personnel_of_x002(session_factory)
    _as(auth, "personnelx2")
    before = everything_stored(session_factory)
    checked = _check(auth, session_factory, world["post_id"])
    started = auth.post(
        "/appointments/start",
        _chosen(session_factory, world["post_id"], NOMINEE, "internal"),
        page="/appointments/start",
    )
    assert checked.status_code == started.status_code == 403
    alert = [" ".join(_doc(r).xpath('string(//*[@role="alert"])').split()) for r in (checked, started)]
    assert alert[0] == alert[1] and "Chỉ cơ quan tham mưu về tổ chức cán bộ quản lý đơn vị này" in alert[0]
    assert not _rows(checked)
    assert everything_stored(session_factory) == before
    _as(auth, "officer1")
    assert _check(auth, session_factory, world["post_id"]).status_code == 403


@pytest.mark.parametrize(
    ("changed", "field", "words"),
    [
        ({"cadre": "XX9999"}, "cadre", "Không có cán bộ đang công tác nào mang mã này"),
        ({"cadre": OUTSIDER}, "source", "Cán bộ không công tác tại đơn vị này"),  # X002's cadre as the local source
        ({"source": "external"}, "source", "Cán bộ đang công tác tại đơn vị này: hãy chọn nguồn nhân sự tại chỗ"),
        ({"position": "9999999"}, "position", "Không có chức vụ này"),
    ],
)
def test_a_choice_the_rules_cannot_run_on_says_what_to_put_right(
    auth: AuthActions,
    session_factory: sessionmaker[Session],
    world: dict[str, Any],
    changed: dict[str, str],
    field: str,
    words: str,
) -> None:
    _as(auth, "personnel1")
    before = everything_stored(session_factory)
    checked = _check(auth, session_factory, world["post_id"], **changed)
    assert checked.status_code == 422
    page = _doc(checked)
    assert not _rows(checked)
    assert "Chưa kiểm tra được điều kiện" in page.xpath('string(//*[@role="alert"])')
    assert words.lower() in " ".join(page.xpath(f'//*[@id="{field}-error"]//text()')).lower()
    assert everything_stored(session_factory) == before


@pytest.mark.parametrize("changed", [{"source": ""}, {"position": "abc"}, {"cadre": ""}, {"position": str(10**30)}])
def test_bad_input_is_refused_in_vietnamese_with_422(
    auth: AuthActions, session_factory: sessionmaker[Session], world: dict[str, Any], changed: dict[str, str]
) -> None:
    _as(auth, "personnel1")
    before = everything_stored(session_factory)
    checked = _check(auth, session_factory, world["post_id"], **changed)
    assert checked.status_code == 422
    page = _doc(checked)
    assert not _rows(checked)
    assert "Vui lòng kiểm tra các trường được đánh dấu" in page.xpath('string(//*[@role="alert"])')
    (name,) = changed
    assert page.xpath(f'//*[@id="{name}-error"]//text()')
    assert everything_stored(session_factory) == before


def test_an_appointment_already_running_is_the_finding_of_a_rule_not_a_refusal(
    auth: AuthActions, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """Checking again after starting: the page shows the case under way, by its number, as the rule's finding."""
    _as(auth, "personnel1")
    started = auth.post(
        "/appointments/start",
        _chosen(session_factory, world["post_id"], NOMINEE, "internal"),
        page="/appointments/start",
    )
    assert started.status_code == 302
    case = started.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    checked = _check(auth, session_factory, world["post_id"])
    assert checked.status_code == 200
    assert _statuses(checked)["no_concurrent_procedure"] == "failed"
    assert f"hồ sơ số {case}" in _cell(_rows(checked)["no_concurrent_procedure"], 3)


def _start_and_show(auth: AuthActions, session_factory: sessionmaker[Session], post_id: int) -> str:
    started = auth.post(
        "/appointments/start", _chosen(session_factory, post_id, NOMINEE, "internal"), page="/appointments/start"
    )
    assert started.status_code == 302 and "/instances/" in started.headers["Location"]
    shown = auth.client.get(started.headers["Location"])
    warnings = _doc(shown).xpath('//*[contains(@class, "flash")][contains(@class, "warning")]')
    return " | ".join(" ".join(w.text_content().split()) for w in warnings)


def test_starting_with_rules_not_met_names_them_as_the_preview_does(
    auth: AuthActions, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """Started directly with "Khởi tạo", skipping the check: the flash names the two rules not met, by the names the
    preview gives them, as the rotation's start does (decision 0096) — the start itself still goes ahead."""
    with session_factory() as s, transaction(s):
        cadre = s.scalars(select(Cadre).where(Cadre.code == NOMINEE)).one()
        for entry in s.scalars(select(PlanningEntry).where(PlanningEntry.cadre_id == cadre.id)):
            s.delete(entry)
        s.add(DisciplineRecord(cadre_id=cadre.id, level="canh_cao", decided_on=add_months(local_today(), -12)))
    _as(auth, "personnel1")
    checked = _rows(_check(auth, session_factory, world["post_id"]))
    named = [_cell(checked[rule], 1) for rule in ("planning", "discipline")]
    warning = _start_and_show(auth, session_factory, world["post_id"])
    assert "Chưa đạt điều kiện:" in warning
    assert all(name in warning for name in named)
    # The case just started is not "another procedure under way": the rules ran before it.
    assert _cell(_rows(_check(auth, session_factory, world["post_id"]))["no_concurrent_procedure"], 1) not in warning
    assert "thiếu dữ liệu" not in warning


def test_starting_with_a_rule_unknown_says_it_cannot_be_checked_not_that_it_failed(
    auth: AuthActions, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    with session_factory() as s, transaction(s):
        cadre = s.scalars(select(Cadre).where(Cadre.code == NOMINEE)).one()
        cadre.birth_date = None
        cadre.retirement_date = None
    _as(auth, "personnel1")
    age = _cell(_rows(_check(auth, session_factory, world["post_id"]))["age"], 1)
    warning = _start_and_show(auth, session_factory, world["post_id"])
    assert "Chưa đạt điều kiện" not in warning
    assert "hồ sơ thiếu dữ liệu" in warning and age in warning


def test_starting_with_every_rule_met_warns_of_nothing(
    auth: AuthActions, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    _as(auth, "personnel1")
    assert _start_and_show(auth, session_factory, world["post_id"]) == ""
