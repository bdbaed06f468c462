"""The quarterly and annual roll-up page (/evaluation/rollup) over HTTP: the year and quarters with the HTXSNV quota per
(unit, task group), sub-units, .xlsx/.csv export, scope (404 outside it, 403 without a role that oversees units), bad
filters (400, a translatable message on the field, nothing written); the annual run's return to personnel through
the task page; and the approved quota exception shown on the page and on the cadre's record
(NĐ 335/2025 Điều 20–21, domain rules §6.3–§6.4)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import date

import openpyxl
import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.app import AuthActions
from tests.fixtures.evaluation import vietnamese
from tests.fixtures.reads import logged_reads
from tests.workflows.test_evaluation_rollup import DECEMBER, UNIT, seed_unit
from workflows import clock
from workflows.db import transaction
from workflows.evaluation.annual import start_annual_run
from workflows.models import ProcessInstance
from workflows.registry.models import Cadre, CadrePosition, EvaluationResult, Position, RoleAssignment, User
from workflows.states import Role

PAGE = f"/evaluation/rollup?unit={UNIT}&year=2026"
REFERENCE = "Văn bản số 12/QĐ-UBND cho phép vượt tỷ lệ"
# The default task group by its Vietnamese name (workflows.evaluation.rollup.TASK_GROUP_NAMES); "ke_toan", a title
# code with no name, is shown as it is.
COMMON = "Nhóm chung (không giữ chức danh)"


@pytest.fixture(autouse=True)
def _december() -> Iterator[None]:
    clock.set_now(DECEMBER)
    yield
    clock.set_now(None)


@pytest.fixture
def seeded(app: Flask, session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session, transaction(session):
        seed_unit(session)


def _switch(auth: AuthActions, username: str) -> None:
    auth.logout()
    assert auth.login(username).status_code == 302


def _row(html: str, code: str) -> str:
    match = re.search(rf"<tr(?: class=\"overdue\")?>\s*<td>{code}</td>.*?</tr>", html, re.S)
    assert match is not None, f"no row for {code}"
    return match.group(0)


def _results(session_factory: sessionmaker[Session]) -> int:
    with session_factory() as session:
        return session.scalar(select(func.count(EvaluationResult.id))) or 0


def test_the_year_shows_scores_proposed_grades_and_who_is_over_the_quota(auth: AuthActions, client, seeded) -> None:
    auth.login("personnel1")
    page = client.get(PAGE)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # 10 HTTNV + 3 HTXSNV in "chung": 2 allowed, RX01 (the lowest) over; "ke_toan": 1 + 1, 0 allowed, RA02 over.
    assert re.search(rf"<td>{re.escape(COMMON)}</td><td>10</td><td>3</td>\s*<td>2</td>", html)
    assert re.search(r"<td>ke_toan</td><td>1</td><td>1</td>\s*<td>0</td>", html)
    # The unit by its name, its code small beside it; who is over the quota by name; no group key for a reader.
    assert '<td>Văn phòng (thử) <small class="code">X001-VP</small></td>' in html
    assert "vượt: Cán bộ RX01 (RX01)" in html and "vượt: Cán bộ RA02 (RA02)" in html
    assert "<td>chung</td>" not in html and "<td>X001-VP</td>" not in html
    rx01 = _row(html, "RX01")
    assert 'class="overdue"' in rx01 and "91,00" in rx01
    assert 'class="overdue"' not in _row(html, "RX03")
    leave = _row(html, "RG10")  # on leave July–September: 9 months, average of the months worked
    assert "<td>9</td><td>82,00</td>" in leave
    assert "<td>0</td><td>—</td>" in _row(html, "RN01")
    assert "KHTNV" in _row(html, "RK01")  # reprimanded in the year
    assert 'href="/evaluation/rollup"' in html  # its tab


def test_a_quarter_has_its_own_scores_and_quota(auth: AuthActions, client, seeded) -> None:
    auth.login("head1")  # head of the commune above the unit
    html = client.get(PAGE + "&period=Q3").get_data(as_text=True)
    assert "2026-Q3" in html
    assert "<td>0</td><td>—</td>" in _row(html, "RG10")  # on leave the whole quarter
    # RK01's reprimand was in May (Q2): in Q3 it is HTXSNV like RX01–RX03. 9 HTTNV (RG10 away) allow floor(1.8) = 1;
    # demoting two gives 11 HTTNV and 2 HTXSNV, within floor(2.2) = 2: the two lowest, RX01 and RX02, are over.
    assert "KHTNV" not in _row(html, "RK01")
    assert re.search(rf"<td>{re.escape(COMMON)}</td><td>9</td><td>4</td>\s*<td>1</td>", html)
    assert 'class="overdue"' in _row(html, "RX01") and 'class="overdue"' in _row(html, "RX02")
    assert 'class="overdue"' not in _row(html, "RX03") and 'class="overdue"' not in _row(html, "RK01")
    assert "KHTNV" in _row(client.get(PAGE + "&period=Q2").get_data(as_text=True), "RK01")


def test_the_units_below_are_included_only_when_asked(auth: AuthActions, client, seeded) -> None:
    auth.login("personnel1")
    own = client.get("/evaluation/rollup?unit=X001&year=2026").get_data(as_text=True)
    assert "<td>RX01</td>" not in own and "<td>CB0001</td>" in own
    below = client.get("/evaluation/rollup?unit=X001&year=2026&subunits=1").get_data(as_text=True)
    assert "<td>RX01</td>" in below and "<td>CB0001</td>" in below


def test_a_standard_titles_group_is_named_on_the_page_and_in_the_export(
    auth: AuthActions, client, seeded, session_factory: sessionmaker[Session]
) -> None:
    """A cadre holding a standard title is in its task group (workflows.evaluation.rollup.TaskGrouping), shown by the
    group's Vietnamese name (TASK_GROUP_NAMES) wherever the roll-up is read, never by its key."""
    with session_factory() as session, transaction(session):
        rx03 = session.scalars(select(Cadre).where(Cadre.code == "RX03")).one()
        chair = Position(
            title="Chủ tịch UBND",
            unit_id=rx03.unit_id,
            level="commune",
            is_leadership=True,
            title_code="commune_pc_chair",
        )
        session.add(chair)
        session.flush()
        session.add(CadrePosition(cadre_id=rx03.id, position_id=chair.id, started_on=date(2020, 1, 1)))
    auth.login("personnel1")
    html = client.get(PAGE).get_data(as_text=True)
    assert "<td>Chủ tịch UBND xã</td>" in _row(html, "RX03")
    assert re.search(r"<td>Chủ tịch UBND xã</td><td>0</td><td>1</td>", html)  # its own quota group
    assert "commune_pc_chair" not in html
    exported = client.get(PAGE + "&format=csv").get_data(as_text=True).lstrip("\ufeff")
    by_code = {row["Mã cán bộ"]: row for row in csv.DictReader(io.StringIO(exported))}
    assert by_code["RX03"]["Nhóm nhiệm vụ"] == "Chủ tịch UBND xã" and "commune_pc_chair" not in exported


def test_export_as_csv_and_xlsx(auth: AuthActions, client, seeded, session_factory) -> None:
    auth.login("auditor1")
    response = client.get(PAGE + "&format=csv")
    assert response.status_code == 200
    assert f"tong-hop-danh-gia-{UNIT}-2026-" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    by_code = {row["Mã cán bộ"]: row for row in rows}
    assert len(rows) == 17
    assert by_code["RX01"]["Xếp loại đề xuất"] == "HTXSNV" and by_code["RX01"]["Điểm"] == "91,00"
    assert (by_code["RX01"]["Đơn vị"], by_code["RX01"]["Mã đơn vị"]) == ("Văn phòng (thử)", UNIT)
    assert by_code["RX01"]["Nhóm nhiệm vụ"] == COMMON and by_code["RA02"]["Nhóm nhiệm vụ"] == "ke_toan"
    over = {code for code, row in by_code.items() if row["Vượt tỷ lệ HTXSNV"] not in ("", "Không", "False")}
    assert over == {"RX01", "RA02"}
    xlsx = client.get(PAGE + "&period=Q1&format=xlsx")
    assert xlsx.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.data)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "Mã cán bộ" and len(values) == 18
    assert values[0][2:6] == ("Đơn vị", "Mã đơn vị", "Nhóm nhiệm vụ", "Kỳ")
    assert {row[5] for row in values[1:]} == {"2026-Q1"}
    assert {row[4] for row in values[1:]} == {COMMON, "ke_toan"}
    reads = logged_reads(session_factory, "rollup_list")
    assert [(viewer, detail) for viewer, _object, _unit, detail in reads] == [
        ("auditor1", f"unit={UNIT}&year=2026&format=csv"),
        ("auditor1", f"unit={UNIT}&year=2026&period=Q1&format=xlsx"),
    ]


def test_scope_out_of_reach_is_404_and_no_overseeing_role_is_403(
    auth: AuthActions, client, seeded, session_factory
) -> None:
    with session_factory() as session, transaction(session):
        officer3 = session.scalars(select(User).where(User.username == "officer3")).one()
        session.add(RoleAssignment(user_id=officer3.id, role=Role.HEAD, unit_id=officer3.unit_id))
    auth.login("officer3")  # now head of Phường Bình Minh, not of the commune X001
    assert client.get(PAGE).status_code == 404
    assert client.get(PAGE + "&format=csv").status_code == 404
    assert client.get("/evaluation/rollup?unit=NOPE&year=2026").status_code == 404
    assert client.get("/evaluation/rollup").status_code == 200  # its own unit by default
    _switch(auth, "officer1")
    assert client.get(PAGE).status_code == 403
    assert 'href="/evaluation/rollup"' not in client.get("/evaluation/results").get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("year=2027", "year", "the year has not begun yet"),
        ("year=20x6", "year", "expected a year (YYYY)"),
        ("year=²", "year", "expected a year (YYYY)"),
        ("year=２０２６", "year", "expected a year (YYYY)"),
        ("year=99999999999999999999", "year", "expected a year (YYYY)"),
        ("year=2026&period=Q5", "period", "choose the year or a quarter (Q1 to Q4)"),
        ("year=2026&format=pdf", "format", "choose .xlsx or .csv"),
    ],
)
def test_bad_filters_are_refused_with_a_clear_message_and_nothing_written(
    app: Flask, auth: AuthActions, client, seeded, session_factory, query, field, message
) -> None:
    auth.login("personnel1")
    before = _results(session_factory)
    response = client.get(f"/evaluation/rollup?unit={UNIT}&{query}")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert vietnamese(app, message) in html
    if field != "format":
        assert 'aria-invalid="true"' in html
    assert "<td>RX01</td>" not in html
    assert _results(session_factory) == before


# -- the annual run through the task pages, and the exception where people look --------------------------------------


def _start_run(session_factory: sessionmaker[Session], driver) -> int:
    with session_factory() as session, transaction(session):
        actor = session.scalars(select(User).where(User.username == "personnel1")).one()
        return start_annual_run(session, driver.engine, actor=actor, unit_code=UNIT, year=2026)


def test_the_head_returns_the_run_to_personnel_through_the_task_page(
    app: Flask, auth: AuthActions, client, seeded, session_factory, driver
) -> None:
    instance_id = _start_run(session_factory, driver)
    auth.login("personnel1")
    prepare = driver.task(instance_id, "prepare")
    assert auth.post(f"/tasks/{prepare.id}", {"note": "Trình"}, page=f"/tasks/{prepare.id}").status_code == 302
    _switch(auth, "head1")
    confirm = driver.task(instance_id, "head_confirm")
    form = client.get(f"/tasks/{confirm.id}").get_data(as_text=True)
    assert 'name="decision" value="return"' in form
    refused = auth.post(f"/tasks/{confirm.id}", {"decision": "return"}, page=f"/tasks/{confirm.id}")
    assert refused.status_code == 422
    assert vietnamese(app, "Write a comment explaining why.") in refused.get_data(as_text=True)
    assert driver.task(instance_id, "head_confirm").id == confirm.id
    for _round in (1, 2):
        returned = auth.post(
            f"/tasks/{confirm.id}",
            {"decision": "return", "comment_text": "Soát lại điểm của RG10"},
            page=f"/tasks/{confirm.id}",
        )
        assert returned.status_code == 302
        again = driver.task(instance_id, "prepare")
        assert again.candidate_role == "personnel" and again.id != prepare.id
        driver.complete("personnel1", again.id, {"note": "Đã soát lại"})
        confirm = driver.task(instance_id, "head_confirm")
    # The policy allows two returns (max_returns); the third is refused on the page and nothing moves.
    third = auth.post(
        f"/tasks/{confirm.id}", {"decision": "return", "comment_text": "Lần nữa"}, page=f"/tasks/{confirm.id}"
    )
    assert third.status_code == 422
    message = "this run has been returned as many times as the policy allows; confirm it now"
    assert vietnamese(app, message) in third.get_data(as_text=True)
    assert driver.task(instance_id, "head_confirm").id == confirm.id


def test_an_approved_exception_shows_on_the_rollup_and_the_cadres_record(
    app: Flask, auth: AuthActions, client, seeded, session_factory, driver
) -> None:
    instance_id = _start_run(session_factory, driver)
    driver.complete("personnel1", driver.task(instance_id, "prepare").id, {})
    driver.complete(
        "head1",
        driver.task(instance_id, "head_confirm").id,
        {
            "resolutions": [
                {"cadre_code": "RX01", "action": "demote", "reason": "Thấp điểm nhất"},
                {"cadre_code": "RA02", "action": "exception", "reason": REFERENCE},
            ]
        },
    )
    auth.login("personnel1")
    html = client.get(PAGE).get_data(as_text=True)
    ra02 = _row(html, "RA02")
    assert REFERENCE in ra02 and 'class="overdue"' not in ra02
    rx01 = _row(html, "RX01")
    assert "HTXSNV" in rx01 and "HTTNV" in rx01 and 'class="overdue"' not in rx01  # proposed, then recorded
    assert "Exceeded" not in html and f'href="/instances/{instance_id}"' in html
    assert vietnamese(app, "Completed") in html  # the annual run's state, as the instances pages name it
    exported = client.get(PAGE + "&format=csv").get_data(as_text=True)
    assert REFERENCE in exported
    with session_factory() as session:
        ra02_id = session.scalars(select(Cadre.id).where(Cadre.code == "RA02")).one()
        assert session.get(ProcessInstance, instance_id).status == "completed"  # type: ignore[union-attr]
    record = client.get(f"/registry/cadres/{ra02_id}").get_data(as_text=True)
    # The result, and its audited change under its name (not the record key quota_exception).
    assert REFERENCE in record and "Văn bản chấp thuận giữ HTXSNV vượt tỷ lệ" in record
    assert "quota_exception" not in record
    with session_factory() as session:
        rx01_id = session.scalars(select(Cadre.id).where(Cadre.code == "RX01")).one()
    demoted = client.get(f"/registry/cadres/{rx01_id}").get_data(as_text=True)
    assert "Hạ xuống HTTNV do vượt tỷ lệ HTXSNV: Thấp điểm nhất" in demoted
    # The cadre's own history shows the year with its approval.
    with session_factory() as session, transaction(session):
        officer = session.scalars(select(User).where(User.username == "officer1")).one()
        officer.cadre_id = ra02_id
    _switch(auth, "officer1")
    mine = client.get("/evaluation/mine").get_data(as_text=True)
    year_row = re.search(r"<tr><td>2026</td>.*?</tr>", mine, re.S)
    assert year_row is not None and "HTXSNV" in year_row.group(0) and REFERENCE in year_row.group(0)
    assert "<td>Quý 4/2026</td>" in mine


def test_the_task_groups_setting_reaches_the_page_and_the_annual_run(
    app: Flask, auth: AuthActions, client, seeded, driver
) -> None:
    """EVALUATION_TASK_GROUPS merges title codes into one quota group (NĐ 335 Điều 20, "nhóm có nhiệm vụ tương
    đồng"): 11 HTTNV + 4 HTXSNV in one group allow 2, so two are over (RX01 91, RA02 92)."""
    app.config["EVALUATION_TASK_GROUPS"] = {"ke_toan": "chung"}
    auth.login("personnel1")
    html = client.get(PAGE).get_data(as_text=True)
    assert "<td>ke_toan</td>" not in html
    assert re.search(rf"<td>{re.escape(COMMON)}</td><td>11</td><td>4</td>\s*<td>2</td>", html)
    started = auth.post("/evaluation/annual", {"year": "2026", "unit": UNIT}, page="/evaluation/annual")
    assert started.status_code == 302
    instance_id = int(started.headers["Location"].rstrip("/").split("/")[-1])
    with driver.session_factory() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None
        data = driver.engine.load(driver.engine.definition(session, instance.process_version_id), instance)
        run = dict(data.last_task.data)
    assert run["task_groups"] == {"ke_toan": "chung"} and run["over_quota"] == ["RX01", "RA02"]


def _rollup_rows(html: str) -> dict[str, dict[str, str]]:
    """The head's roll-up table on the confirm task page, by cadre code: its data attributes."""
    section = re.search(r'<section class="annual-rollup".*?</section>', html, re.S)
    assert section is not None, "no roll-up table on the page"
    rows = {}
    for tag in re.findall(r"<tr data-cadre=[^>]*>", section.group(0)):
        attrs = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', tag))
        rows[attrs["cadre"]] = attrs
    return rows


def test_the_confirm_task_shows_the_rollup_as_a_table(
    auth: AuthActions, client, seeded, session_factory, driver
) -> None:
    """The head reads the roll-up of the run as a table (name, score, proposed and recorded grade, over the quota),
    not as the raw data of the process."""
    instance_id = _start_run(session_factory, driver)
    with session_factory() as session, transaction(session):
        rx03 = session.scalars(select(Cadre).where(Cadre.code == "RX03")).one()
        session.add(
            EvaluationResult(
                cadre_id=rx03.id, period_kind="year", period="2026", score=95, grade="HTXSNV", unit_id=rx03.unit_id
            )
        )
    driver.complete("personnel1", driver.task(instance_id, "prepare").id, {})
    auth.login("head1")
    confirm = driver.task(instance_id, "head_confirm")
    page = client.get(f"/tasks/{confirm.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    rows = _rollup_rows(html)
    assert len(rows) == 17
    assert rows["RX01"] == {
        "cadre": "RX01",
        "score": "91.00",
        "proposed": "HTXSNV",
        "recorded": "",
        "over-quota": "yes",
    }
    assert rows["RA02"]["over-quota"] == "yes"
    assert {code for code, row in rows.items() if row["over-quota"] == "yes"} == {"RX01", "RA02"}
    assert rows["RX03"]["recorded"] == "HTXSNV" and rows["RX03"]["over-quota"] == "no"
    # The unit and the task group by name, as on the roll-up page (the run's data carries the unit's name).
    assert f'<td>Văn phòng (thử) <small class="code">{UNIT}</small></td><td>{COMMON}</td>' in html
    assert rows["RG10"]["score"] == "82.00"
    assert rows["RN01"]["score"] == "" and rows["RN01"]["proposed"] == ""  # no month worked
    assert rows["RK01"]["proposed"] == "KHTNV"
    assert "Cán bộ RX01" in html  # the name is in the row


@pytest.mark.parametrize("year", ["²", "２０２６", "99999999999999999999"])
def test_an_annual_run_for_a_year_that_is_not_a_number_is_refused(
    auth: AuthActions, client, seeded, session_factory, year: str
) -> None:
    auth.login("personnel1")
    with session_factory() as session:
        before = session.scalar(select(func.count(ProcessInstance.id))) or 0
    response = auth.post("/evaluation/annual", {"year": year, "unit": UNIT}, page="/evaluation/annual")
    assert response.status_code == 422
    with session_factory() as session:
        assert (session.scalar(select(func.count(ProcessInstance.id))) or 0) == before


def test_the_head_finds_the_cadre_of_a_resolution_by_name_and_sees_the_name_of_each_code(
    auth: AuthActions, client, seeded, session_factory, driver
) -> None:
    """The cadre of a resolution is typed as a code, which the box helps find by name among the run's unit and
    names once entered (decision 0071); the data keeps the code."""
    instance_id = _start_run(session_factory, driver)
    driver.complete("personnel1", driver.task(instance_id, "prepare").id, {})
    auth.login("head1")
    confirm = driver.task(instance_id, "head_confirm")
    html = client.get(f"/tasks/{confirm.id}").get_data(as_text=True)
    assert f'data-cadre-search="/tasks/{confirm.id}/cadres"' in html and "cadre_search.js" in html
    found = client.get(f"/tasks/{confirm.id}/cadres?q=can bo rx0").get_json()["cadres"]
    assert (
        found and {c["code"] for c in found} <= {f"RX0{n}" for n in range(10)} and "RX01" in {c["code"] for c in found}
    )
    rows = {"resolutions-0-cadre_code": "RX01", "resolutions-0-action": "demote", "resolutions-0-reason": "Thấp"}
    assert (
        auth.post(f"/tasks/{confirm.id}", {**rows, "action": "draft"}, page=f"/tasks/{confirm.id}").status_code == 302
    )
    drafted = client.get(f"/tasks/{confirm.id}").get_data(as_text=True)
    name = re.search(r'id="resolutions-0-cadre_code-name"[^>]*>([^<]*)<', drafted)
    assert name is not None and name.group(1).strip() == "Cán bộ RX01"
