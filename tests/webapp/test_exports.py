"""List pages and their .xlsx/.csv buttons: the inbox, evaluation results, cadre records (the audit log has its own
file). Each download holds exactly what the page lists — the person's scope and filters, every page of it."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime

import openpyxl
import pytest
from sqlalchemy import select

import webapp.downloads
from tests.fixtures.app import AuthActions
from tests.fixtures.reads import logged_reads
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows import clock
from workflows.db import transaction
from workflows.exports import EVALUATION_COLUMNS, TASK_COLUMNS
from workflows.registry import records
from workflows.registry.cadre_columns import CADRE_EXPORT_COLUMNS
from workflows.registry.models import Cadre, OrgUnit

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"  # once, not "; charset=utf-8" twice
    assert response.data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def xlsx_rows(response) -> list[list[object]]:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == XLSX
    sheet = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def filename(response) -> str:
    match = re.search(r'filename="([^"]+)"', response.headers["Content-Disposition"])
    assert match and response.headers["Content-Disposition"].startswith("attachment")
    return match.group(1)


def _submitted(driver: WorkflowDriver, officer: str, cadre: str) -> int:
    instance_id = driver.start("sample_approval", as_user=officer, subject=cadre)
    driver.complete(officer, driver.task(instance_id, "submit_request").id, {"subject_line": "Đề nghị"})
    return instance_id


@pytest.fixture
def reviews(driver: WorkflowDriver) -> dict[str, int]:
    """Two requests waiting for review in commune X001, one in X002."""
    clock.set_now(T0)
    return {
        "x001": _submitted(driver, "officer1", "CB0001"),
        "x001_other": _submitted(driver, "officer2", "CB0002"),
        "x002": _submitted(driver, "officer3", "CB0005"),
    }


# -- the inbox ---------------------------------------------------------------------------------------------------


def test_inbox_csv_holds_the_group_tasks_in_scope(auth: AuthActions, client, reviews: dict) -> None:
    auth.login("supervisor1")
    response = client.get("/inbox?scope=group&format=csv")
    rows = csv_rows(response)
    assert filename(response) == f"cong-viec-{records.local_today():%Y%m%d}.csv"
    assert rows[0] == [c.header for c in TASK_COLUMNS]
    assert rows[0][:4] == ["Mã công việc", "Hồ sơ quy trình", "Quy trình", "Bước"]
    references = sorted(row[1] for row in rows[1:])
    assert references == [f"sample_approval#{reviews['x001']}", f"sample_approval#{reviews['x001_other']}"]
    assert {row[7] for row in rows[1:]} == {"open"}
    assert response.headers["Cache-Control"] == "private, no-store"


def test_inbox_export_keeps_the_filters_and_the_order(auth: AuthActions, client, reviews: dict) -> None:
    auth.login("supervisor1")
    page = client.get("/inbox?scope=group&q=Lan&sort=subject").get_data(as_text=True)
    assert "format=xlsx" in page and "q=Lan" in page  # the buttons carry the filters
    rows = xlsx_rows(client.get("/inbox?scope=group&q=Lan&sort=subject&format=xlsx"))
    assert rows[0] == [c.header for c in TASK_COLUMNS]
    assert [row[1] for row in rows[1:]] == [f"sample_approval#{reviews['x001']}"]
    assert rows[1][4] == "Nguyễn Thị Lan"


def test_inbox_export_of_my_tasks_is_mine_only(auth: AuthActions, client, driver: WorkflowDriver, reviews) -> None:
    draft = driver.start("sample_approval", as_user="officer2", subject="CB0002")
    auth.login("officer2")
    rows = csv_rows(client.get("/inbox?format=csv"))
    assert [row[1] for row in rows[1:]] == [f"sample_approval#{draft}"]
    auth.logout()
    auth.login("officer3")
    assert csv_rows(client.get("/inbox?format=csv"))[1:] == []  # another commune's officer: nothing


def test_inbox_export_refuses_a_bad_format_and_the_watching_tab(auth: AuthActions, client, reviews) -> None:
    auth.login("supervisor1")
    bad = client.get("/inbox?scope=group&format=pdf")
    assert bad.status_code == 400 and ".xlsx" in bad.get_data(as_text=True)
    assert client.get("/inbox?scope=watching&format=csv").status_code == 404


# -- evaluation results ---------------------------------------------------------------------------------------------


@pytest.fixture
def evaluations(driver: WorkflowDriver) -> dict[str, int]:
    """Results of CB0001 (X001) for two months and a year, and of CB0005 (X002) for one month."""
    clock.set_now(datetime(2026, 12, 15, 3, 0, tzinfo=UTC))
    with driver.session_factory() as s, transaction(s):
        cadre = {c.code: c for c in s.scalars(select(Cadre).where(Cadre.code.in_(["CB0001", "CB0005"])))}
        for kind, period, grade, score in (
            ("month", "2026-10", "HTTNV", 81.5),
            ("month", "2026-11", "HTXSNV", 92.0),
            ("year", "2025", "HTNV", None),
        ):
            records.record_evaluation(
                s, None, cadre["CB0001"], period_kind=kind, period=period, grade=grade, score=score
            )
        records.record_evaluation(s, None, cadre["CB0005"], period_kind="month", period="2026-11", grade="KHTNV")
        return {code: found.unit_id for code, found in cadre.items()}


def test_a_commune_supervisor_lists_their_commune_s_results(auth: AuthActions, client, evaluations) -> None:
    auth.login("supervisor1")
    page = client.get("/registry/evaluations")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Nguyễn Thị Lan" in text and "Hoàng Thị Mai" not in text
    assert "HTXSNV" in text and "92,00" in text


def test_the_evaluation_export_holds_the_filtered_results_in_scope(
    auth: AuthActions, client, evaluations, session_factory
) -> None:
    auth.login("personnel1")  # province-wide: both communes
    everything = csv_rows(client.get("/registry/evaluations?format=csv"))
    assert everything[0] == [c.header for c in EVALUATION_COLUMNS]
    assert everything[0] == ["Mã cán bộ", "Họ và tên", "Đơn vị", "Loại kỳ", "Kỳ đánh giá", "Điểm", "Xếp loại"]
    assert len(everything) == 1 + 4
    november = csv_rows(client.get("/registry/evaluations?period_kind=month&period=2026-11&format=csv"))
    assert sorted((row[0], row[6]) for row in november[1:]) == [("CB0001", "HTXSNV"), ("CB0005", "KHTNV")]
    x001 = evaluations["CB0001"]
    response = client.get(f"/registry/evaluations?unit={x001}&grade=HTTNV&format=xlsx")
    assert filename(response) == f"ket-qua-danh-gia-{records.local_today():%Y%m%d}.xlsx"
    rows = xlsx_rows(response)
    assert rows[0][0] == "Mã cán bộ"
    assert rows[1:] == [["CB0001", "Nguyễn Thị Lan", "Xã An Phú", "month", "2026-10", "81,50", "HTTNV"]]

    auth.logout()
    auth.login("supervisor1")
    scoped = csv_rows(client.get("/registry/evaluations?period=2026-11&format=csv"))
    assert [row[0] for row in scoped[1:]] == ["CB0001"]
    # Every file is a logged read with its filters, in the unit filtered to (decision 0143).
    reads = logged_reads(session_factory, "evaluation_list")
    assert [(viewer, detail) for viewer, _object, _unit, detail in reads] == [
        ("personnel1", "format=csv"),
        ("personnel1", "period_kind=month&period=2026-11&format=csv"),
        ("personnel1", f"unit={x001}&grade=HTTNV&format=xlsx"),
        ("supervisor1", "period=2026-11&format=csv"),
    ]
    assert reads[2][2] == x001


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("period=2026-13", "period"),
        ("period_kind=year&period=2026-11", "period"),
        ("period_kind=week", "period_kind"),
        ("grade=A", "grade"),
        ("unit=abc", "unit"),
        ("format=pdf", None),
    ],
)
def test_bad_evaluation_filters_are_named(auth: AuthActions, client, evaluations, query: str, field: str) -> None:
    auth.login("personnel1")
    for suffix in ("", "&format=csv"):
        response = client.get(f"/registry/evaluations?{query}{suffix}")
        assert response.status_code == 400 and response.mimetype == "text/html"
        text = response.get_data(as_text=True)
        assert 'role="alert"' in text and "Nguyễn Thị Lan" not in text
        marked = re.findall(r'<(?:input|select)[^>]*name="(\w+)"[^>]*aria-invalid="true"', text)
        assert marked == ([field] if field else [])
        if field is None:
            assert ".xlsx" in text


def test_a_unit_outside_scope_is_a_bad_filter(auth: AuthActions, client, evaluations, driver: WorkflowDriver) -> None:
    auth.login("supervisor1")
    response = client.get(f"/registry/evaluations?unit={evaluations['CB0005']}&format=csv")
    assert response.status_code == 400 and "Hoàng Thị Mai" not in response.get_data(as_text=True)
    with driver.session_factory() as s:
        province = s.scalars(select(OrgUnit.id).where(OrgUnit.code == "T01")).one()
    assert client.get(f"/registry/evaluations?unit={province}").status_code == 400


@pytest.mark.parametrize("username", ["officer1", "officer3"])
def test_officers_have_no_evaluation_list(auth: AuthActions, client, evaluations, username: str) -> None:
    auth.login(username)
    assert client.get("/registry/evaluations").status_code == 403
    assert client.get("/registry/evaluations?format=csv").status_code == 403


def test_the_evaluation_tabs_link_the_evaluation_list_for_readers_only(auth: AuthActions, client) -> None:
    auth.login("supervisor1")
    assert 'href="/registry/evaluations"' in client.get("/evaluation/results").get_data(as_text=True)
    auth.logout()
    auth.login("officer1")
    assert 'href="/registry/evaluations"' not in client.get("/evaluation/results").get_data(as_text=True)


# -- cadre records and the shared limits --------------------------------------------------------------------------


def test_the_cadre_export_is_the_import_template_with_the_search_applied(auth: AuthActions, client) -> None:
    auth.login("supervisor1")
    rows = csv_rows(client.get("/registry/cadres?q=Lan&format=csv"))
    assert rows[0] == [c.header for c in CADRE_EXPORT_COLUMNS]
    assert [row[0] for row in rows[1:]] == ["CB0001"]
    everything = xlsx_rows(client.get("/registry/cadres?format=xlsx"))
    codes = {row[0] for row in everything[1:]}
    assert {"CB0001", "CB0002", "CB0003", "CB0004"} <= codes and "CB0005" not in codes  # X002 is not theirs
    assert client.get("/registry/cadres?format=doc").status_code == 400


def test_an_xlsx_past_the_row_limit_is_refused_with_a_way_out(
    auth: AuthActions, client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(webapp.downloads, "XLSX_ROW_LIMIT", 3)
    auth.login("personnel1")
    refused = client.get("/registry/cadres?format=xlsx")
    assert refused.status_code == 400 and ".csv" in refused.get_data(as_text=True)
    assert len(csv_rows(client.get("/registry/cadres?format=csv"))) > 4  # the CSV is streamed, not limited
    assert xlsx_rows(client.get("/registry/cadres?q=Lan&format=xlsx"))[1][0] == "CB0001"


def test_exported_dates_and_formula_like_text_survive(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    with driver.session_factory() as s, transaction(s):
        unit = s.scalars(select(OrgUnit).where(OrgUnit.code == "X001")).one()
        records.create_cadre(
            s,
            None,
            {"code": "CB9200", "full_name": "=HYPERLINK(1)", "unit_id": unit.id, "birth_date": date(1990, 5, 6),
             "gender": "male"},
        )  # fmt: skip
    auth.login("personnel1")
    rows = xlsx_rows(client.get("/registry/cadres?q=CB9200&format=xlsx"))
    assert rows[1][1] == "=HYPERLINK(1)"  # kept as text, not a formula
    birth = rows[0].index("Ngày sinh")
    assert rows[1][birth] == datetime(1990, 5, 6)
    text = csv_rows(client.get("/registry/cadres?q=CB9200&format=csv"))
    assert text[1][1] == "'=HYPERLINK(1)" and text[1][birth] == "06/05/1990"
