"""The rotation through HTTP (issue #7, QĐ 65-QĐ/TW's five steps): started on its page, every task submitted on the
task pages, the collective's ballot opened on the rotation's ballot page and voted; the decision lands on the
cadre's record, the arrival moves the cadre (the targets dashboard counts them in the commune), the worker opens
the end-of-rotation review when the clock nears the period's end, and the audit chains verify. Refusals answer with
a clear message and change nothing."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from flask_babel import force_locale
from lxml import html as lxml_html
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.app import AuthActions, raw_data_words
from tests.fixtures.ballots import unit_id, user
from tests.fixtures.rotation import BOARD, LOCAL, OFFICER, WEAK, setup_rotation
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows import clock
from workflows.access import in_subtree
from workflows.audit import verify_chains
from workflows.db import transaction
from workflows.models import AuditEvent, ProcessInstance
from workflows.registry.models import (
    Cadre,
    CadrePosition,
    OrgUnit,
    Position,
    RotationRecord,
)
from workflows.registry.records import (
    add_position,
    create_cadre,
    local_today,
    record_evaluation,
    update_cadre,
)
from workflows.rules.retirement import add_months
from workflows.states import InstanceStatus
from workflows.timers import run_due_timers

YES = {"candidate_0": "yes", "confirm": "y"}  # ticked: the voter checked their ballot


@pytest.fixture
def world(app: Any, driver: WorkflowDriver, session_factory: sessionmaker[Session]) -> dict[str, Any]:
    return setup_rotation(session_factory)


def _as(auth: AuthActions, username: str) -> None:
    if auth.client.get("/inbox").status_code == 200:
        auth.logout()
    assert auth.login(username).status_code == 302


def _submit(auth: AuthActions, driver: WorkflowDriver, instance_id: int, key: str, username: str, data: dict) -> Any:
    _as(auth, username)
    task = driver.task(instance_id, key)
    return auth.post(f"/tasks/{task.id}", {**data, "action": "submit"}, page=f"/tasks/{task.id}")


def _ok(response: Any) -> None:
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]


def _period(months: int = 36) -> tuple[date, date]:
    starts = local_today()
    return starts, add_months(starts, months) - timedelta(days=1)


def _start(
    auth: AuthActions, world: dict, code: str, *, months: int = 36, to_unit: int | None = None,
    period: tuple[date, date] | None = None,
) -> Any:  # fmt: skip
    """What the start page posts: the cadre code, the receiving unit and its post chosen in the selects, the rest."""
    starts, ends = period or _period(months)
    return auth.post(
        "/rotations/start",
        {
            "cadre": code,
            "to_unit": str(to_unit or world["x001"]),
            "position": str(world["post"]),
            "starts_on": starts.isoformat(),
            "planned_end_on": ends.isoformat(),
            "purpose": "non_local",
        },
        page="/rotations/start",
    )


def _instance_id(response: Any) -> int:
    match = re.search(r"/instances/(\d+)", response.headers["Location"])
    assert match
    return int(match.group(1))


def _through_eligibility(
    auth: AuthActions, driver: WorkflowDriver, world: dict, code: str, before_check: Callable[[], None] = lambda: None
) -> int:
    """Started on the page, planned, approved, proposed and checked; `before_check` changes the registry before the
    step "Thẩm định"."""
    _as(auth, "personnel1")
    started = _start(auth, world, code)
    _ok(started)
    instance_id = _instance_id(started)
    plan = {
        "plan_reference": "KH-01/2026",
        "plan_count": "3",
        "plan_needs": "Bố trí chủ tịch UBND xã không là người địa phương",
        "plan_posts_places": "Chủ tịch UBND xã An Phú",
        "expected_placement": "Trở về Sở Nội vụ hoặc bố trí chức vụ tương đương",
    }
    _ok(_submit(auth, driver, instance_id, "plan", "personnel1", plan))
    _ok(_submit(auth, driver, instance_id, "plan_approval", "leader1", {"plan_decision": "approve"}))
    _ok(_submit(auth, driver, instance_id, "propose", "personnel1", {"proposal_summary": "Đề xuất theo kế hoạch"}))
    before_check()
    _ok(_submit(auth, driver, instance_id, "eligibility", "personnel1", {}))
    return instance_id


def _data(driver: WorkflowDriver, instance_id: int) -> dict[str, Any]:
    with driver.session_factory() as s:
        instance = s.get(ProcessInstance, instance_id)
        assert instance is not None
        definition = driver.engine.definition(s, instance.process_version_id)
        workflow = driver.engine.load(definition, instance)
        return dict(workflow.last_task.data) if workflow.last_task else {}


def _verified(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as s:
        report = verify_chains(s)
        assert report.ok, report


def _non_local_row(auth: AuthActions) -> str:
    _as(auth, "personnel1")
    page = auth.client.get("/reports/targets").get_data(as_text=True)
    start = page.index("/reports/targets/non_local_commune_pc_chair")
    return page[start : page.index("</tr>", start)]


def test_a_provincial_officer_rotated_to_chair_a_commune_through_http(
    client: FlaskClient,
    auth: AuthActions,
    driver: WorkflowDriver,
    session_factory: sessionmaker[Session],
    world: dict[str, Any],
) -> None:
    assert "0,0%" in _non_local_row(auth) and "(0/1)" in _non_local_row(auth)  # X002's chair is local
    instance_id = _through_eligibility(auth, driver, world, OFFICER)
    data = _data(driver, instance_id)
    assert data["eligible"] is True, data["eligibility"]
    messages = {r["rule"]: r["message"] for r in data["eligibility"]}
    assert "không là người địa phương" in messages["non_local"] and "36 tháng" in messages["duration"]

    # Step 3 in parallel: the sending unit, the receiving unit, the meeting with the cadre.
    assert {t.task_key for t in driver.open_tasks(instance_id)} == {
        "consult_sending",
        "consult_receiving",
        "meet_cadre",
    }
    refused = _submit(auth, driver, instance_id, "consult_sending", "headsnv", {"sending_opinion": "disagree"})
    assert refused.status_code == 422 and 'role="alert"' in refused.get_data(as_text=True)
    # "Đơn vị cử đi" is the head of the unit the cadre works in, not the receiving unit's head.
    assert _submit(auth, driver, instance_id, "consult_sending", "head1", {"sending_opinion": "agree"}).status_code in (
        403,
        404,
    )
    _ok(_submit(auth, driver, instance_id, "consult_sending", "headsnv", {"sending_opinion": "agree"}))
    _ok(_submit(auth, driver, instance_id, "consult_receiving", "head1", {"receiving_opinion": "agree"}))
    meeting = {"met_on": local_today().isoformat(), "cadre_agrees": "agree", "cadre_opinion": "Sẵn sàng nhận nhiệm vụ"}
    _ok(_submit(auth, driver, instance_id, "meet_cadre", "personnel1", meeting))
    assert client.get(f"/rotations/{instance_id}/ballot").status_code == 409  # not at the ballot step yet
    _as(auth, "officer1")
    assert client.get(f"/rotations/{instance_id}/ballot").status_code == 404  # not theirs to see
    _ok(_submit(auth, driver, instance_id, "submission", "personnel1", {"submission_summary": "Tờ trình số 12"}))

    # Step 4: a leadership post, so the collective of the province votes by secret ballot.
    show = client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert f'href="/rotations/{instance_id}/ballot"' in show
    assert _submit(auth, driver, instance_id, "ballot_collective", "personnel1", {}).status_code == 422
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

    # Step 5: the decision on the record, the handover, the arrival.
    starts, ends = _period()
    decision = {"final_decision": "approve", "decision_number": "125-QĐ/TU", "effective_on": starts.isoformat()}
    _ok(_submit(auth, driver, instance_id, "decision", "leader1", decision))
    with session_factory() as s:
        record = s.scalars(select(RotationRecord)).one()
        assert (record.to_unit_id, record.position_id, record.planned_end_on) == (world["x001"], world["post"], ends)
        assert record.source_instance_id == instance_id and record.ended_on is None
    _ok(_submit(auth, driver, instance_id, "handover", "headsnv", {"handover_on": starts.isoformat(),
                                                                     "handover_note": "Bàn giao hồ sơ"}))  # fmt: skip
    arrival = {"arrived_on": starts.isoformat(), "assigned_work": "Chủ tịch UBND xã, phụ trách chung"}
    _ok(_submit(auth, driver, instance_id, "arrival", "head1", arrival))
    with session_factory() as s:
        cadre = s.scalars(select(Cadre).where(Cadre.code == OFFICER)).one()
        assert cadre.unit_id == world["x001"]
        held = {row.position_id for row in s.scalars(select(CadrePosition).where(CadrePosition.cadre_id == cadre.id,
                                                                                  CadrePosition.ended_on.is_(None)))}  # fmt: skip
        assert held == {world["post"]}
    # The dashboard (#4) counts the rotated chair: non-local in X001.
    row = _non_local_row(auth)
    assert "50,0%" in row and "(1/2)" in row
    assert driver.open_tasks(instance_id) == []  # waiting for the end of the period

    # The worker opens the end-of-rotation review when the clock passes the lead time (60 days before the end).
    clock.set_now(datetime.combine(ends - timedelta(days=61), datetime.min.time(), UTC))
    run_due_timers(session_factory, driver.engine)
    assert driver.open_tasks(instance_id) == []
    clock.set_now(datetime.combine(ends - timedelta(days=59), datetime.min.time(), UTC))
    run = run_due_timers(session_factory, driver.engine)
    assert run.timers_fired == 1
    review = {"review_results": "Hoàn thành tốt nhiệm vụ", "placement_proposal": "stay"}
    _ok(_submit(auth, driver, instance_id, "review", "head1", review))
    clock.set_now(datetime.combine(ends + timedelta(days=1), datetime.min.time(), UTC))
    placement = {"placement": "stay", "placement_on": ends.isoformat(), "placement_note": "Ở lại công tác"}
    _ok(_submit(auth, driver, instance_id, "placement", "leader1", placement))
    with session_factory() as s:
        instance = s.get(ProcessInstance, instance_id)
        assert instance is not None and instance.status == InstanceStatus.COMPLETED
        record = s.scalars(select(RotationRecord)).one()
        assert record.ended_on == ends  # stays: no longer counted as rotated
        assert s.scalars(select(Cadre.unit_id).where(Cadre.code == OFFICER)).one() == world["x001"]
    _verified(session_factory)


def _made_local(session_factory: sessionmaker[Session], world: dict[str, Any]) -> None:
    """The officer's hometown corrected to X001 after the start: a local person there."""
    with session_factory() as s, transaction(s):
        cadre = s.scalars(select(Cadre).where(Cadre.code == OFFICER)).one()
        update_cadre(s, None, cadre, {"hometown_unit_id": world["x001"]})


def _regraded_weak(session_factory: sessionmaker[Session], world: dict[str, Any]) -> None:
    """Last year's grade of the officer corrected to KHTNV after the start."""
    with session_factory() as s, transaction(s):
        cadre = s.scalars(select(Cadre).where(Cadre.code == OFFICER)).one()
        record_evaluation(s, None, cadre, period_kind="year", period=str(local_today().year - 1), grade="KHTNV")


@pytest.mark.parametrize(
    ("change", "failed", "words"),
    [
        (_made_local, "non_local", "là người địa phương"),
        (_regraded_weak, "commune_key_post_capability", "Không hoàn thành"),
    ],
)
def test_a_rule_failing_by_the_eligibility_check_stops_the_rotation_there(
    auth: AuthActions,
    driver: WorkflowDriver,
    session_factory: sessionmaker[Session],
    world: dict[str, Any],
    change: Any,
    failed: str,
    words: str,
) -> None:
    """The start refuses a cadre who fails such a rule (decision 0136), but the check runs on the registry as it
    stands then: a record corrected after the start still stops the rotation at the step "Thẩm định"."""
    instance_id = _through_eligibility(
        auth, driver, world, OFFICER, before_check=lambda: change(session_factory, world)
    )
    data = _data(driver, instance_id)
    assert data["eligible"] is False and data["eligibility_failed"] == [failed]
    assert words.lower() in next(r["message"] for r in data["eligibility"] if r["rule"] == failed).lower()
    # The provincial rules are not the competent authority's to waive: the rotation stops there.
    assert data["eligibility_exceptable"] is False
    with session_factory() as s:
        instance = s.get(ProcessInstance, instance_id)
        assert instance is not None and instance.status == InstanceStatus.COMPLETED
        assert s.scalar(select(func.count()).select_from(RotationRecord)) == 0
    assert driver.open_tasks(instance_id) == []
    # Its page says it stopped, not a green "completed" (decision 0064).
    page = _doc(auth.client.get(f"/instances/{instance_id}"))
    (badge,) = page.xpath('//span[@data-status="completed"]')
    assert badge.text_content().strip() == "Đã kết thúc, không đạt kết quả — Dừng: không đủ điều kiện"
    assert badge.get("data-outcome") == "stopped"
    _verified(session_factory)


def _check(auth: AuthActions, world: dict, code: str, *, months: int = 36) -> Any:
    """The start page's "Check the conditions" button: the same fields, nothing started."""
    starts, ends = _period(months)
    return auth.post(
        "/rotations/start",
        {
            "cadre": code,
            "to_unit": str(world["x001"]),
            "position": str(world["post"]),
            "starts_on": starts.isoformat(),
            "planned_end_on": ends.isoformat(),
            "purpose": "non_local",
            "action": "check",
        },
        page="/rotations/start",
    )


@pytest.mark.parametrize(
    ("code", "failed"), [(OFFICER, set()), (LOCAL, {"non_local"}), (WEAK, {"commune_key_post_capability"})]
)
def test_the_start_page_checks_the_conditions_up_front(
    auth: AuthActions, driver: WorkflowDriver, world: dict[str, Any], code: str, failed: set[str]
) -> None:
    """The user journey: the officer sees which rules pass or fail for the person, with each rule's source, before
    starting, not at the step "Thẩm định". Checking starts nothing. Neither provincial rule is the competent
    authority's to set aside: a cadre failing one cannot be started (decision 0136), and the check's header says so
    rather than "you may still start"."""
    _as(auth, "personnel1")
    checked = _check(auth, world, code)
    assert checked.status_code == 200
    page = _doc(checked)
    rows = page.xpath('//section[contains(@class, "eligibility-preview")]//tr[@data-rule]')
    assert [row.get("data-rule") for row in rows] == [
        "planning", "service_left", "purpose", "units", "equivalent_post", "no_new_post", "duration",
        "commune_key_post_capability", "non_local",
    ]  # fmt: skip
    assert {row.get("data-rule") for row in rows if row.get("data-status") == "failed"} == failed
    assert all(row.xpath("string(td[4])").strip() for row in rows)  # each with its legal source
    # "Cần làm gì", the appointment preview's column (the same partial): empty for a rule met, the remedy else.
    assert page.xpath('string(//section[contains(@class, "eligibility-preview")]//th[5])') == "Cần làm gì"
    to_do = {row.get("data-rule"): " ".join(row.xpath("string(td[5])").split()) for row in rows}
    assert {rule for rule, text in to_do.items() if text} == failed
    # Neither provincial rule is the competent authority's to set aside (exceptable_rules): the advice says so.
    assert all("không thể miễn điều kiện này" in to_do[rule] for rule in failed)
    if "non_local" in failed:
        assert "quê quán" in to_do["non_local"]
    assert "QĐ 65-QĐ/TW" in rows[0].xpath("string(td[4])") and "NĐ 170/2025" in rows[6].xpath("string(td[4])")
    assert "Không là người địa phương nơi đến" in page.text_content()  # the rule's name, not its code
    (header,) = page.xpath('//section[contains(@class, "eligibility-preview")]/div[contains(@class, "flash")]')
    header_text = " ".join(header.text_content().split())
    if failed:
        assert "Không thể bắt đầu" in header_text and "Vẫn có thể bắt đầu" not in header_text, header_text
        assert "error" in header.get("class")
    else:
        assert header_text == "Đạt tất cả điều kiện."
    with driver.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(ProcessInstance)) == 0
    started = _start(auth, world, code)
    if not failed:
        _ok(started)
        shown = auth.client.get(started.headers["Location"]).get_data(as_text=True)
        assert "Chưa đạt điều kiện" not in shown
        return
    # Refused: the form kept, each rule named with why, the table beside, nothing written.
    assert started.status_code == 422
    refused = _doc(started)
    alerts = [" ".join(a.text_content().split()) for a in refused.xpath('//div[@role="alert"]')]
    assert alerts[0].startswith("Không thể bắt đầu luân chuyển") and alerts[0].endswith("Chưa có gì được lưu."), alerts
    (name,) = [str(refused.xpath(f'string(//tr[@data-rule="{rule}"]/td[1])')) for rule in failed]
    assert any(line.startswith(f"Chưa đạt “{name}”: ") for line in alerts[1:]), alerts
    assert refused.xpath('//input[@name="cadre"]/@value') == [code]
    assert refused.xpath('//section[contains(@class, "eligibility-preview")]//tr[@data-status="failed"]')
    with driver.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(ProcessInstance)) == 0


def test_checking_a_choice_the_rules_cannot_run_on_says_what_to_put_right(
    auth: AuthActions, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """A period too short, or a cadre outside the officer's scope: the check used to show the page again with no
    table and no word. It names each problem on its field, as the start would, and starts nothing."""
    before = _written(session_factory)
    _as(auth, "personnel1")
    short = _check(auth, world, OFFICER, months=24)
    page = _doc(short)
    assert short.status_code == 422 and not page.xpath('//section[contains(@class, "eligibility-preview")]')
    assert "Chưa kiểm tra được điều kiện" in page.text_content()
    assert "36" in " ".join(page.xpath('//*[contains(@class, "field-error")]//text()'))
    unknown = _doc(_check(auth, world, "XX9999"))
    assert "Không có cán bộ đang công tác nào trong phạm vi của bạn mang mã này" in unknown.text_content()
    assert _written(session_factory) == before


def _written(session_factory: sessionmaker[Session]) -> tuple[int, int, int]:
    with session_factory() as s:
        return (
            s.scalar(select(func.count()).select_from(ProcessInstance)) or 0,
            s.scalar(select(func.count()).select_from(AuditEvent)) or 0,
            s.scalar(select(func.count()).select_from(RotationRecord)) or 0,
        )


def test_bad_starts_are_refused_with_a_clear_message_and_nothing_written(
    auth: AuthActions, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    before = _written(session_factory)
    _as(auth, "personnel1")
    short = _start(auth, world, OFFICER, months=35)
    text = short.get_data(as_text=True)
    assert short.status_code == 422 and "36" in text and 'role="alert"' in text
    # A personnel officer of X002 may not send anyone to X001.
    _as(auth, "personnelx2")
    outside = _start(auth, world, "CB0005")
    assert outside.status_code == 422
    assert "phạm vi" in outside.get_data(as_text=True) or "scope" in outside.get_data(as_text=True)
    assert _written(session_factory) == before
    # Officers cannot start rotations at all.
    _as(auth, "officer1")
    assert auth.client.get("/rotations/start").status_code == 403
    assert auth.client.get("/rotations/signals").status_code == 403


@pytest.mark.parametrize(
    ("starts", "ends", "field"),
    [
        (date(9000, 1, 1), date(9999, 12, 31), "starts_on"),  # was an OverflowError
        (date(1, 1, 1), date(5, 1, 1), "starts_on"),
        (date(1900, 1, 1), date(1905, 1, 1), "starts_on"),
        (None, date(9999, 12, 30), "planned_end_on"),
    ],
)
def test_years_nobody_means_are_refused_on_the_page_and_in_the_shell_and_nothing_written(
    auth: AuthActions, runner: Any, session_factory: sessionmaker[Session], world: dict[str, Any],
    starts: date | None, ends: date, field: str,
) -> None:  # fmt: skip
    starts = starts or local_today()
    before = _written(session_factory)
    _as(auth, "personnel1")
    page = _start(auth, world, OFFICER, period=(starts, ends))
    doc = _doc(page)
    assert page.status_code == 422
    shown = " ".join(doc.xpath(f'//*[@id="{field}"]/ancestor::*[contains(@class, "field")][1]//text()'))
    assert "kiểm tra lại năm" in shown, shown
    result = runner.invoke(args=[
        "rotation", "start", OFFICER, "--to-unit", str(world["x001"]), "--position", str(world["post"]),
        "--starts-on", starts.isoformat(), "--ends-on", ends.isoformat(), "--purpose", "training", "--as", "personnel1",
    ])  # fmt: skip
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert f"{field}: " in result.output and "Traceback" not in result.output
    assert _written(session_factory) == before


def test_the_shell_prints_each_problem_once(
    runner: Any, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    starts, ends = _period(35)
    result = runner.invoke(args=[
        "rotation", "start", OFFICER, "--to-unit", str(world["x001"]), "--position", "999999",
        "--starts-on", starts.isoformat(), "--ends-on", ends.isoformat(), "--purpose", "training", "--as", "personnel1",
    ])  # fmt: skip
    assert result.exit_code == 1
    assert result.output.count("No such position.") == 1, result.output
    assert result.output.count("shorter than the minimum") == 1, result.output
    assert _written(session_factory)[0] == 0


def test_the_shell_refuses_signals_to_whom_the_page_refuses(
    auth: AuthActions, runner: Any, world: dict[str, Any]
) -> None:
    _as(auth, "officer1")
    assert auth.client.get("/rotations/signals").status_code == 403
    result = runner.invoke(args=["rotation", "signals", "--as", "officer1"])
    assert result.exit_code == 1 and "may not see rotation signals" in result.output
    assert "signal(s)" not in result.output


def _doc(response: Any) -> Any:
    return lxml_html.fromstring(response.get_data(as_text=True))


def test_the_unit_select_offers_only_the_units_in_scope_and_the_posts_endpoint_refuses_others(
    auth: AuthActions, client: FlaskClient, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    _as(auth, "personnelx2")  # personnel of X002 only
    page = _doc(client.get("/rotations/start"))
    offered = [int(v) for v in page.xpath('//select[@name="to_unit"]/option/@value') if v]
    with session_factory() as s:
        x002_subtree = s.scalars(
            select(OrgUnit.id).where(in_subtree(OrgUnit, world["x002"]), OrgUnit.is_active).order_by(OrgUnit.path)
        ).all()
    assert world["x002"] in offered and sorted(offered) == sorted(x002_subtree)
    assert world["x001"] not in offered and world["snv"] not in offered
    # No post is offered before a unit is chosen; the page loads its script (no inline script: the CSP).
    assert page.xpath('//select[@name="position"]/option/@value') == [""]
    assert page.xpath("//script/@src") == [
        "/static/stacked_tables.js",
        "/static/json_get.js",
        "/static/upload_limits.js",
        "/static/post_picker.js",
        "/static/cadre_search.js",
    ]
    assert not page.xpath("//script[not(@src)]")

    own = client.get(f"/rotations/posts?unit={world['x002']}")
    assert own.status_code == 200 and own.is_json
    [chair] = [post for post in own.get_json()["posts"] if post["id"] == world["x002_post"]]
    assert chair["title"] == "Chủ tịch UBND phường" and chair["is_occupied"] is True  # CB0005 holds it
    for outside in (world["x001"], world["snv"], 999_999, "abc", ""):
        assert client.get(f"/rotations/posts?unit={outside}").status_code == 404, outside
    _as(auth, "officer1")
    assert client.get(f"/rotations/posts?unit={world['x001']}").status_code == 403


def test_without_javascript_the_page_shows_the_posts_of_the_chosen_unit(
    auth: AuthActions, client: FlaskClient, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    before = _written(session_factory)
    _as(auth, "personnel1")
    chosen = {"cadre": OFFICER, "to_unit": str(world["x001"]), "purpose": "non_local", "show_posts": "1"}
    shown = auth.post("/rotations/start", chosen, page="/rotations/start")
    assert shown.status_code == 200
    page = _doc(shown)
    assert page.xpath('//select[@name="to_unit"]/option[@selected]/@value') == [str(world["x001"])]
    posts = dict(zip(page.xpath('//select[@name="position"]/option/@value'),
                     page.xpath('//select[@name="position"]/option/text()'), strict=True))  # fmt: skip
    assert posts[str(world["post"])] == "Chủ tịch UBND xã" and str(world["x002_post"]) not in posts
    assert page.xpath('//input[@name="cadre"]/@value') == [OFFICER]  # what was typed stays
    assert OFFICER in page.xpath("//datalist/option/@value")
    assert _written(session_factory) == before
    # A unit outside the list: said on the unit field, no posts, nothing written.
    _as(auth, "personnelx2")
    refused = auth.post("/rotations/start", {**chosen, "to_unit": str(world["x001"])}, page="/rotations/start")
    assert refused.status_code == 422
    assert _doc(refused).xpath('//select[@name="position"]/option/@value') == [""]
    assert _doc(refused).xpath('//*[@id="to_unit-error"]')
    assert _written(session_factory) == before
    # The same choice as a GET parameter (a link) fills the posts too.
    _as(auth, "personnel1")
    linked = _doc(client.get(f"/rotations/start?unit={world['x001']}"))
    assert str(world["post"]) in linked.xpath('//select[@name="position"]/option/@value')


def test_signals_list_the_local_chair_with_a_start_action(
    auth: AuthActions, client: FlaskClient, world: dict[str, Any]
) -> None:
    _as(auth, "personnel1")
    page = client.get("/rotations/signals").get_data(as_text=True)
    assert 'data-signal="local_key_post" data-cadre="CB0005"' in page
    assert 'href="/rotations/start?cadre=CB0005"' in page
    form = client.get("/rotations/start?cadre=CB0005").get_data(as_text=True)
    assert 'value="CB0005"' in form


def test_a_signals_reason_is_the_readers_language_and_the_notification_stays_vietnamese(
    auth: AuthActions, client: FlaskClient, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """Decision 0118: the reason was a Vietnamese sentence whatever the reader chose."""
    from workflows.rotation.signals import rotation_signals, signal_scope

    _as(auth, "personnel1")
    vietnamese = client.get("/rotations/signals").get_data(as_text=True)
    assert "Là người địa phương" in vietnamese and "chức danh bố trí người không là người địa phương" in vietnamese
    auth.post("/auth/language", {"locale": "en", "next": "/rotations/signals"}, page="/rotations/signals")
    english = client.get("/rotations/signals").get_data(as_text=True)
    assert "A local person" in english and "a post reserved for people from elsewhere" in english
    assert "Là người địa phương" not in english and "quê quán" not in english
    # The engine's words for the notification and the shell stay as they were.
    with session_factory() as s:
        found = rotation_signals(s, signal_scope(user(s, "personnel1")))
    assert found and all(signal.reason.vietnamese().startswith("Là người địa phương") for signal in found)


def test_a_signals_numbers_are_written_the_readers_way(app: Any) -> None:
    from webapp.i18n import signal_reason
    from workflows.errors import Amount
    from workflows.rules.rotation_signals import PERSONNEL_YEARS_REASON, SignalReason

    reason = SignalReason(
        PERSONNEL_YEARS_REASON,
        (("post", "Chuyên viên"), ("since", "03/12/2021"), ("years", Amount(1200)), ("most", Amount(5))),
    )
    for locale, expected in (
        ("vi", "Làm công tác tổ chức cán bộ ở vị trí Chuyên viên liên tục từ 03/12/2021 (1.200 năm; định kỳ luân "
               "chuyển sau 5 năm)"),
        ("en", "Has done personnel work in the post Chuyên viên continuously since 03/12/2021 (1,200 years; rotated "
               "every 5 years)"),
    ):  # fmt: skip
        with app.test_request_context("/"), force_locale(locale):
            assert signal_reason(reason) == expected


def test_the_catalogues_vietnamese_of_each_reason_is_the_engines() -> None:
    from babel.messages.pofile import read_po

    from workflows.rules.rotation_signals import REASONS_VI

    catalogue_file = Path(__file__).parents[2] / "webapp/translations/vi/LC_MESSAGES/messages.po"
    with catalogue_file.open("rb") as po:
        catalogue = read_po(po)
    for msgid, vietnamese in REASONS_VI.items():
        entry = catalogue.get(msgid)
        assert entry is not None and entry.string == vietnamese, msgid


def test_signals_cover_the_three_cases_in_scope_and_are_sent_weekly(
    auth: AuthActions, client: FlaskClient, runner: Any, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    with session_factory() as s, transaction(s):
        x002, btc = unit_id(s, "X002"), unit_id(s, "T01-BTC")
        secretary = Position(title="Bí thư Đảng ủy", unit_id=x002, level="commune", is_leadership=True,
                             title_code="commune_party_secretary")  # fmt: skip
        staff = Position(title="Chuyên viên", unit_id=btc, level="province", title_code="province_specialist")
        s.add_all([secretary, staff])
        s.flush()
        head = create_cadre(s, None, {"code": "BT001", "full_name": "Đinh Văn Bí", "unit_id": x002,
                                      "birth_date": "1975-05-05", "gender": "male"})  # fmt: skip
        since = add_months(local_today(), -84)  # seven years ago: the second term runs
        first = add_position(s, None, head, position_id=secretary.id, started_on=since)
        first.ended_on = add_months(since, 60) - timedelta(days=1)
        add_position(s, None, head, position_id=secretary.id, started_on=add_months(since, 60))
        hoa = s.scalars(select(Cadre).where(Cadre.code == "CB0006")).one()
        add_position(s, None, hoa, position_id=staff.id, started_on=add_months(local_today(), -60))
    _as(auth, "personnel1")
    page = client.get("/rotations/signals").get_data(as_text=True)
    for kind, code in (("head_terms", "BT001"), ("personnel_years", "CB0006"), ("local_key_post", "CB0005")):
        assert f'data-signal="{kind}" data-cadre="{code}"' in page
    assert "nhiệm kỳ thứ 2" in page
    # A personnel officer of X002 sees X002's cadres only.
    _as(auth, "personnelx2")
    scoped = client.get("/rotations/signals").get_data(as_text=True)
    assert 'data-cadre="BT001"' in scoped and 'data-cadre="CB0006"' not in scoped

    from workflows.models import Notification
    from workflows.rotation.signals import notify_signals_weekly

    worked = runner.invoke(args=["worker", "--once"])  # personnel1 and personnelx2
    assert worked.exit_code == 0 and "rotation signals sent to 2 personnel officer(s)" in worked.output
    assert notify_signals_weekly(session_factory) == 0  # once a week
    assert "rotation signals" not in runner.invoke(args=["worker", "--once"]).output
    with session_factory() as s:
        officer = user(s, "personnel1")
        note = s.scalars(select(Notification).where(Notification.user_id == officer.id)).one()
        assert note.kind == "rotation_signals" and note.title.startswith("3 cán bộ")
    result = runner.invoke(args=["rotation", "signals", "--as", "personnelx2"])
    assert result.exit_code == 0 and "BT001" in result.output and "CB0006" not in result.output


def test_cli_starts_a_rotation_and_refuses_a_short_one(
    runner: Any, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    starts, ends = _period()
    common = ["rotation", "start", OFFICER, "--to-unit", str(world["x001"]), "--position", str(world["post"]),
              "--starts-on", starts.isoformat(), "--purpose", "training", "--as", "personnel1"]  # fmt: skip
    short = runner.invoke(args=[*common, "--ends-on", (ends - timedelta(days=1)).isoformat()])
    assert short.exit_code == 1 and "planned_end_on" in short.output
    assert _written(session_factory)[0] == 0
    started = runner.invoke(args=[*common, "--ends-on", ends.isoformat()])
    assert started.exit_code == 0, started.output
    with session_factory() as s:
        instance = s.scalars(select(ProcessInstance)).one()
        assert (instance.process_id, instance.unit_id, instance.business_key) == (
            "rotation",
            world["x001"],
            f"{OFFICER}/1",
        )


def test_the_shell_refuses_a_rotation_certain_to_stop_as_the_page_does(
    runner: Any, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    """Decision 0136: the refusal is the service's, so `canbo rotation start` refuses it too, naming the rule."""
    starts, ends = _period()
    before = _written(session_factory)
    result = runner.invoke(args=[
        "rotation", "start", LOCAL, "--to-unit", str(world["x001"]), "--position", str(world["post"]),
        "--starts-on", starts.isoformat(), "--ends-on", ends.isoformat(), "--purpose", "training", "--as", "personnel1",
    ])  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "cannot be started" in result.output and "non_local not met" in result.output, result.output
    assert "là người địa phương" in result.output and "Traceback" not in result.output
    assert _written(session_factory) == before


@pytest.mark.parametrize("unit", ["²", "99999999999999999999", "１"])
def test_a_unit_that_is_not_an_id_is_no_unit(
    auth: AuthActions, client: FlaskClient, session_factory: sessionmaker[Session], world: dict[str, Any], unit: str
) -> None:
    before = _written(session_factory)
    _as(auth, "personnel1")
    assert client.get(f"/rotations/start?unit={unit}").status_code == 200
    assert client.get(f"/rotations/posts?unit={unit}").status_code == 404
    chosen = {"cadre": OFFICER, "to_unit": unit, "purpose": "non_local", "show_posts": "1"}
    shown = auth.post("/rotations/start", chosen, page="/rotations/start")
    assert shown.status_code in (200, 422)
    assert _doc(shown).xpath('//select[@name="position"]/option/@value') == [""]
    assert _written(session_factory) == before


def test_the_instance_page_shows_no_internal_key_of_a_rotations_data(
    auth: AuthActions, driver: WorkflowDriver, world: dict[str, Any]
) -> None:
    """A new user read "is_appointment", "purpose training", "purpose_note" among the rotation's data: every key and
    coded value the rotation writes has words (webapp/data_labels.py)."""
    instance_id = _through_eligibility(auth, driver, world, OFFICER)
    page = auth.client.get(f"/instances/{instance_id}").get_data(as_text=True)
    assert not (raw := sorted(set(raw_data_words(page)))), " ".join(raw)
    doc = _doc_text(page)
    assert doc.xpath('string(//dd[@data-key="purpose"])').strip() == "Bố trí cán bộ chủ chốt không là người địa phương"
    assert (
        doc.xpath('string(//dd[@data-key="is_appointment"]/preceding-sibling::dt[1])')
        == "Luân chuyển kèm bổ nhiệm chức vụ lãnh đạo"
    )


def _doc_text(page: str) -> Any:
    return lxml_html.fromstring(page)


def test_starting_a_second_rotation_of_the_cadre_links_to_the_one_under_way(
    auth: AuthActions, session_factory: sessionmaker[Session], world: dict[str, Any]
) -> None:
    _as(auth, "personnel1")
    first = _instance_id(_start(auth, world, OFFICER))
    with session_factory() as s:
        before = s.scalar(select(func.count(ProcessInstance.id)))
    again = _start(auth, world, OFFICER)
    said = again.get_data(as_text=True)
    assert again.status_code == 409
    assert f"Cán bộ này đang trong một đợt luân chuyển chưa kết thúc: hồ sơ số {first}." in said
    assert f'href="/instances/{first}">Mở hồ sơ số {first}</a>' in said
    with session_factory() as s:
        assert s.scalar(select(func.count(ProcessInstance.id))) == before
