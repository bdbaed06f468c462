"""Cadre record pages: scope, record history, export, the import upload page and its template."""

from __future__ import annotations

import base64
import io
from datetime import date
from typing import Any

import openpyxl
import pytest
from lxml import html as lxml_html
from sqlalchemy import func, select, update

from tests.fixtures.app import AuthActions
from tests.fixtures.workflow_helpers import WorkflowDriver
from workflows.db import transaction
from workflows.engine import operations
from workflows.models import HumanTask, ProcessInstance
from workflows.registry.cadre_columns import CADRE_COLUMNS, CADRE_EXPORT_COLUMNS
from workflows.registry.models import Cadre, OrgUnit
from workflows.registry.tabular import read_rows, write_table

ROW = {
    "code": "CB9100",
    "full_name": "Lò Thị Én",
    "birth_date": date(1990, 6, 1),
    "gender": "female",
    "unit_code": "X001",
}


def _count(driver: WorkflowDriver) -> int:
    with driver.session_factory() as s:
        return s.scalar(select(func.count()).select_from(Cadre)) or 0


def test_a_commune_leader_lists_only_their_commune(auth: AuthActions, client) -> None:
    auth.login("supervisor1")
    page = client.get("/registry/cadres").get_data(as_text=True)
    assert "Nguyễn Thị Lan" in page and "Hoàng Thị Mai" not in page  # officer3 works in another commune


def test_record_outside_scope_is_not_found(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    with driver.session_factory() as s:
        other = s.scalars(select(Cadre).where(Cadre.code == "CB0005")).one()
        own = s.scalars(select(Cadre).where(Cadre.code == "CB0001")).one()
    auth.login("supervisor1")
    assert client.get(f"/registry/cadres/{other.id}").status_code == 404
    assert client.get(f"/registry/cadres/{own.id}").status_code == 200


@pytest.mark.parametrize("username", ["officer1", "officer3"])
def test_officers_have_no_registry(auth: AuthActions, client, username: str) -> None:
    auth.login(username)
    assert client.get("/registry/cadres").status_code == 403
    assert client.get("/registry/import").status_code == 403


def test_export_and_template(auth: AuthActions, client) -> None:
    auth.login("personnel1")
    export = client.get("/registry/cadres?format=csv")
    assert export.status_code == 200 and "CB0001" in export.get_data(as_text=True)
    template = client.get("/registry/template.xlsx")
    assert template.status_code == 200 and template.data[:2] == b"PK"


def test_upload_refuses_a_bad_file_whole_and_imports_a_good_one(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    auth.login("personnel1")
    before = _count(driver)
    bad = write_table([ROW, {**ROW, "code": "CB9101", "unit_code": "NOWHERE"}], CADRE_COLUMNS, "xlsx")
    refused = auth.post(
        "/registry/import",
        {"file": (io.BytesIO(bad), "ds.xlsx")},
        page="/registry/import",
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422 and "NOWHERE" in refused.get_data(as_text=True)
    assert _count(driver) == before
    good = write_table([ROW], CADRE_COLUMNS, "xlsx")
    ok = auth.post(
        "/registry/import",
        {"file": (io.BytesIO(good), "ds.xlsx")},
        page="/registry/import",
        content_type="multipart/form-data",
    )
    assert ok.status_code == 302 and _count(driver) == before + 1
    with driver.session_factory() as s:
        created = s.scalars(select(Cadre).where(Cadre.code == "CB9100")).one()
        unit_name = s.scalars(select(OrgUnit.name).where(OrgUnit.code == "X001")).one()
    history = client.get(f"/registry/cadres/{created.id}").get_data(as_text=True)
    assert "personnel1" in history and "Lò Thị Én" in history
    # Read as a person reads a record: fields by their names, choices, dates and units in words.
    changes = lxml_html.fromstring(history).xpath("//ol[@class='timeline']//ul[@class='changes']/li")
    lines = [li.text_content() for li in changes]
    assert "Giới tính: — → Nữ" in lines and "Ngày sinh: — → 01/06/1990" in lines
    assert f"Đơn vị: — → {unit_name}" in lines
    assert not any(key in history for key in ("unit_id:", "gender:", "is_party_member:", ">cadre_created<"))


@pytest.mark.parametrize("value", ["²", "99999999999999999999", "１"])
def test_evaluation_filters_that_are_not_ids_are_refused(auth: AuthActions, client, value: str) -> None:
    auth.login("personnel1")
    response = client.get(f"/registry/evaluations?unit={value}")
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    assert client.get(f"/registry/evaluations?page={value}").status_code == 200
    assert client.get(f"/registry/cadres?page={value}").status_code == 200


def test_skipping_bad_rows_answers_the_upload_with_what_was_imported_and_what_was_not(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    auth.login("personnel1")
    before = _count(driver)
    rows = [ROW, {**ROW, "code": "CB9101", "unit_code": "NOWHERE"}, {**ROW, "code": "CB9102"}]
    response = auth.post(
        "/registry/import",
        {"file": (io.BytesIO(write_table(rows, CADRE_COLUMNS, "xlsx")), "ds.xlsx"), "skip_bad_rows": "1"},
        page="/registry/import",
        content_type="multipart/form-data",
    )
    assert response.status_code == 200 and response.mimetype == "text/html"
    page = lxml_html.fromstring(response.get_data(as_text=True))
    result = page.xpath('//*[@id="import-result"]')[0].text_content()
    assert "Đã nhập: 2 mới, 0 cập nhật, 0 không đổi." in result
    assert "1 dòng chưa nhập vì có lỗi: 3" in result
    assert page.xpath('//input[@name="skip_bad_rows"]/@checked')  # the choice stays as it was made
    skipped = page.xpath('//table[@id="skipped-rows"]/tbody/tr')
    assert [tr.get("data-row") for tr in skipped] == ["3"]
    assert "NOWHERE" in skipped[0].text_content() and "không có trong hệ thống" in skipped[0].text_content()
    report = page.xpath('//a[@download="bao-cao-loi.xlsx"]/@href')[0]
    assert base64.b64decode(report.split(",", 1)[1])[:2] == b"PK"
    assert _count(driver) == before + 2
    with driver.session_factory() as s:
        assert s.scalar(select(Cadre).where(Cadre.code == "CB9101")) is None
    # Nothing of it is left to show on the next page.
    assert "dòng chưa nhập" not in client.get("/registry/cadres").get_data(as_text=True)
    # The rows left out come back as a file to correct: their cells as sent, the problem beside them.
    to_correct = base64.b64decode(page.xpath('//a[@id="rows-to-correct"]/@href')[0].split(",", 1)[1])
    sent_back = list(read_rows(to_correct, "dong-can-sua.xlsx"))
    assert [cells["Mã cán bộ"] for _, cells in sent_back] == ["CB9101"]
    assert "NOWHERE" in sent_back[0][1].values()
    problems = openpyxl.load_workbook(io.BytesIO(to_correct)).worksheets[1]
    assert [cell.value for cell in problems[2]][:2] == [2, 3]  # row 2 of this file was row 3 of the one sent
    # Corrected in place and sent again, it is imported.
    workbook = openpyxl.load_workbook(io.BytesIO(to_correct))
    sheet = workbook.worksheets[0]
    for cell in sheet[2]:
        if cell.value == "NOWHERE":
            cell.value = ROW["unit_code"]
    corrected = io.BytesIO()
    workbook.save(corrected)
    response = auth.post(
        "/registry/import",
        {"file": (io.BytesIO(corrected.getvalue()), "dong-can-sua.xlsx")},
        page="/registry/import",
        content_type="multipart/form-data",
    )
    assert response.status_code == 302 and _count(driver) == before + 3


def test_skipping_bad_rows_of_a_file_without_any_imports_it_as_usual(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    auth.login("personnel1")
    before = _count(driver)
    response = auth.post(
        "/registry/import",
        {"file": (io.BytesIO(write_table([ROW], CADRE_COLUMNS, "csv")), "ds.csv"), "skip_bad_rows": "1"},
        page="/registry/import",
        content_type="multipart/form-data",
    )
    assert response.status_code == 302 and _count(driver) == before + 1
    assert "Đã nhập: 1 mới" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_the_record_history_names_each_field_in_vietnamese(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    """A post held, a discipline and a monthly result read "Bắt đầu từ: — → 06/06/2025", "Xếp loại: — → HTTNV",
    "Điểm: — → 84,36" — never the record's keys (started_on, grade, score) or codes (khien_trach)."""
    from workflows.db import transaction
    from workflows.registry import records
    from workflows.registry.models import Position, User

    with driver.session_factory() as s, transaction(s):
        cadre = s.scalars(select(Cadre).where(Cadre.code == "CB0001")).one()
        actor = s.scalars(select(User).where(User.username == "personnel1")).one()
        post = Position(title="Phó Chủ tịch UBND xã", unit_id=cadre.unit_id, level="commune")
        s.add(post)
        s.flush()
        records.add_position(s, actor, cadre, position_id=post.id, started_on="2025-06-06")
        records.add_discipline(s, actor, cadre, level="khien_trach", decided_on="2025-07-01")
        records.record_evaluation(
            s, actor, cadre, period_kind="month", period="2026-10", grade="HTTNV", score=84.36, reason="Kết quả tháng"
        )
        cadre_id = cadre.id
    auth.login("personnel1")
    page = client.get(f"/registry/cadres/{cadre_id}").get_data(as_text=True)
    history = page.split('class="timeline"')[-1]
    for shown in ("Bắt đầu từ: <del>—</del> → <ins>06/06/2025</ins>", "Xếp loại: <del>—</del> → <ins>HTTNV</ins>",
                  "Điểm: <del>—</del> → <ins>84,36</ins>", "Khiển trách"):  # fmt: skip
        assert shown in history, shown
    for raw in ("started_on:", "grade:", "score:", "level:", "decided_on:", "khien_trach"):
        assert raw not in history, raw


def _upload(auth: AuthActions, client, rows: list[dict], **form: str):
    content = write_table(rows, CADRE_COLUMNS, "xlsx")
    return auth.post(
        "/registry/import",
        {"file": (io.BytesIO(content), "ds.xlsx"), **form},
        page="/registry/import",
        content_type="multipart/form-data",
    )


def test_importing_the_same_file_twice_changes_nothing_the_second_time(auth: AuthActions, client) -> None:
    auth.login("personnel1")
    # Only the required cells: "Đảng viên", "Khoa học - công nghệ", "Dân tộc" and the rest are blank.
    rows = [ROW, {**ROW, "code": "CB9101", "full_name": "Lò Văn Pá", "gender": "male"}]
    first = _upload(auth, client, rows)
    assert first.status_code == 302
    assert "Đã nhập: 2 mới, 0 cập nhật, 0 không đổi." in client.get(first.location).get_data(as_text=True)
    again = _upload(auth, client, rows)
    assert again.status_code == 302
    assert "Đã nhập: 0 mới, 0 cập nhật, 2 không đổi." in client.get(again.location).get_data(as_text=True)


def test_a_row_refused_on_update_is_named_at_its_row_and_column(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    auth.login("personnel1")
    assert _upload(auth, client, [ROW]).status_code == 302
    with driver.session_factory() as s:
        s.scalars(select(OrgUnit).where(OrgUnit.code == "X002")).one().is_active = False
        s.commit()
    refused = _upload(auth, client, [{**ROW, "unit_code": "X002"}])
    assert refused.status_code == 422
    problems = lxml_html.fromstring(refused.get_data(as_text=True)).xpath('//div[@role="alert"]//li')
    assert [li.text_content() for li in problems] == ['Dòng 2, cột "Mã đơn vị": Đơn vị không còn hoạt động.']


def test_an_email_the_import_leaves_alone_is_said(auth: AuthActions, client) -> None:
    auth.login("personnel1")
    assert "Cột Email không được nhập" in client.get("/registry/import").get_data(as_text=True)
    response = _upload(auth, client, [{**ROW, "email": "en@donvi.gov.vn"}])
    page = client.get(response.location).get_data(as_text=True)
    assert "Cột Email không được nhập" in page and "khác với tài khoản: 2." in page


def test_the_record_shows_qualifications_by_name_and_scores_with_a_decimal_comma(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    from workflows.db import transaction
    from workflows.registry import records
    from workflows.registry.models import User

    with driver.session_factory() as s, transaction(s):
        cadre = s.scalars(select(Cadre).where(Cadre.code == "CB0001")).one()
        actor = s.scalars(select(User).where(User.username == "personnel1")).one()
        records.update_cadre(
            s, actor, cadre, {"education_level": "thac_si", "education_field": "Luật", "political_theory": "trung_cap"}
        )
        records.record_evaluation(s, actor, cadre, period_kind="month", period="2026-10", grade="HTTNV", score=87.06)
        cadre_id = cadre.id
    auth.login("personnel1")
    page = lxml_html.fromstring(client.get(f"/registry/cadres/{cadre_id}").get_data(as_text=True))
    facts = dict(zip(page.xpath("//dl[@class='facts']/dt/text()"), page.xpath("//dl[@class='facts']/dd"), strict=True))
    assert facts["Trình độ chuyên môn"].text_content().split() == ["Thạc", "sĩ", "Luật"]
    assert facts["Lý luận chính trị"].text_content() == "Trung cấp"
    evaluations = page.xpath("//h2[text()='Kết quả đánh giá']/following-sibling::ul[1]/li/text()")
    assert "2026-10: HTTNV (87,06)" in [" ".join(t.split()) for t in evaluations]
    assert "87.06" not in client.get("/registry/evaluations").get_data(as_text=True)


# -- the export carries read-only columns the import ignores ------------------------------------------------------


def _xlsx_rows(content: bytes) -> list[tuple]:
    return list(openpyxl.load_workbook(io.BytesIO(content)).worksheets[0].iter_rows(values_only=True))


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_an_exported_list_uploads_again_and_changes_nothing(
    auth: AuthActions, client, driver: WorkflowDriver, fmt: str
) -> None:
    auth.login("personnel1")
    exported = client.get(f"/registry/cadres?format={fmt}")
    assert exported.status_code == 200
    content = exported.data
    exported.close()  # a streamed CSV holds its read until the response is closed, as a server closes it
    before = _count(driver)
    again = auth.post(
        "/registry/import",
        {"file": (io.BytesIO(content), f"can-bo.{fmt}")},
        page="/registry/import",
        content_type="multipart/form-data",
    )
    assert again.status_code == 302, again.get_data(as_text=True)
    assert _count(driver) == before
    listed = client.get("/registry/cadres").get_data(as_text=True)
    assert f"0 mới, 0 cập nhật, {before} không đổi" in listed


def test_the_export_names_the_unit_and_the_age_and_the_template_stays_the_import_file(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    auth.login("personnel1")
    header, *rows = _xlsx_rows(client.get("/registry/cadres?format=xlsx").data)
    assert list(header) == [c.header for c in CADRE_EXPORT_COLUMNS]
    lan = dict(zip(header, next(r for r in rows if r[0] == "CB0001"), strict=True))
    with driver.session_factory() as s:
        unit_name = s.scalars(select(OrgUnit.name).where(OrgUnit.code == "X001")).one()
    assert lan["Mã đơn vị"] == "X001" and lan["Tên đơn vị"] == unit_name
    assert isinstance(lan["Tuổi"], int) and 18 <= lan["Tuổi"] <= 70
    template_header = _xlsx_rows(client.get("/registry/template.xlsx").data)[0]
    assert list(template_header) == [c.header for c in CADRE_COLUMNS]
    csv_template = client.get("/registry/template.csv").get_data(as_text=True)
    assert csv_template.lstrip("\ufeff").splitlines() == [",".join(c.header for c in CADRE_COLUMNS)]


# -- the procedures about the cadre ------------------------------------------------------------------------------


@pytest.fixture
def about_lan(driver: WorkflowDriver) -> dict[str, int]:
    """Procedures about Nguyễn Thị Lan (CB0001, Xã An Phú): one her commune runs, one run in the other commune,
    one cancelled; and one about someone else."""
    cancelled = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    commune = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    elsewhere = driver.start("sample_approval", as_user="officer1", subject="CB0001")
    with driver.session_factory() as s, transaction(s):
        operations.cancel_instance(s, driver.engine, actor=None, instance_id=cancelled, reason="trùng")
        # As if she had moved to Xã An Phú from the ward while the ward ran a procedure about her.
        ward = s.scalars(select(OrgUnit.id).where(OrgUnit.code == "X002")).one()
        s.get_one(ProcessInstance, elsewhere).unit_id = ward
        s.execute(
            update(HumanTask).where(HumanTask.instance_id == elsewhere).values(unit_id=ward, candidate_unit_id=ward)
        )
    return {
        "commune": commune,
        "elsewhere": elsewhere,
        "cancelled": cancelled,
        "other_cadre": driver.start("sample_approval", as_user="officer2", subject="CB0002"),
    }


def _procedures(client, cadre_id: int) -> tuple[list[int], list[int], Any]:
    page = client.get(f"/registry/cadres/{cadre_id}")
    assert page.status_code == 200
    doc = lxml_html.fromstring(page.get_data(as_text=True))

    def ids(kind: str) -> list[int]:
        return [int(n) for n in doc.xpath(f"//*[@data-procedures='{kind}']//*[@data-instance-id]/@data-instance-id")]

    return ids("running"), ids("ended"), doc


def _lan(driver: WorkflowDriver) -> int:
    with driver.session_factory() as s:
        return s.scalars(select(Cadre.id).where(Cadre.code == "CB0001")).one()


def test_the_record_lists_the_procedures_under_way_that_the_reader_may_open(
    auth: AuthActions, client, driver: WorkflowDriver, about_lan: dict[str, int]
) -> None:
    cadre_id = _lan(driver)
    auth.login("personnel1")  # the province: every procedure about her
    running, ended, doc = _procedures(client, cadre_id)
    assert running == [about_lan["commune"], about_lan["elsewhere"]]
    assert ended == [about_lan["cancelled"]]
    assert "Lập đề nghị" in doc.xpath("string(//*[@data-procedures='running'])")  # the current step
    for href in doc.xpath("//*[@data-procedures]//a/@href"):
        assert client.get(href).status_code == 200
    auth.logout()

    auth.login("supervisor1")  # Xã An Phú: not what the other commune runs about her
    running, ended, doc = _procedures(client, cadre_id)
    assert running == [about_lan["commune"]] and ended == [about_lan["cancelled"]]
    for href in doc.xpath("//*[@data-procedures]//a/@href"):
        assert client.get(href).status_code == 200
    assert client.get(f"/instances/{about_lan['elsewhere']}").status_code == 404


def test_a_record_without_procedures_says_none_is_under_way(auth: AuthActions, client, driver: WorkflowDriver) -> None:
    auth.login("supervisor1")
    running, ended, doc = _procedures(client, _lan(driver))
    assert running == [] and ended == []
    assert "Không có quy trình nào" in doc.text_content()


FULL_ROW = {
    **ROW,
    "code": "CB9200",
    "ethnicity": "Tày",
    "hometown": "Xã An Phú, tỉnh Sơn Hà",
    "is_party_member": True,
    "party_joined_date": date(2015, 3, 2),
    "education_level": "dai_hoc",
    "education_field": "Luật",
    "is_science_technology": True,
    "political_theory": "trung_cap",
    "state_management_training": "Chuyên viên",
}
# Each field as the Vietnamese record named it before decision 0111 (the import file's header) and in English.
FIELD_NAMES = {
    "Mã cán bộ": "Cadre code",
    "Họ và tên": "Full name",
    "Ngày sinh": "Date of birth",
    "Giới tính": "Gender",
    "Dân tộc": "Ethnicity",
    "Quê quán": "Hometown",
    "Đơn vị": "Unit",
    "Đảng viên": "Party member",
    "Ngày vào Đảng": "Joined the Party on",
    "Trình độ chuyên môn": "Education",
    "Chuyên ngành": "Field of study",
    "Khoa học - công nghệ": "Science and technology",
    "Lý luận chính trị": "Political theory",
    "Quản lý nhà nước": "State management training",
    "Ngày nghỉ hưu": "Retirement date",
    "Đang công tác": "In service",
}


def _change_names(page: str) -> set[str]:
    changes = lxml_html.fromstring(page).xpath("//ol[@class='timeline']//ul[@class='changes']/li")
    return {li.text_content().split(":")[0] for li in changes}


def test_the_record_history_names_every_field_in_the_readers_language(
    auth: AuthActions, client, driver: WorkflowDriver
) -> None:
    """Decision 0111: an English reader read "Unit:" beside "Ngày sinh:", "Mã cán bộ:", "Quê quán:" — the import
    file's headers. Every field is named through the catalogue; the Vietnamese names are the headers, as before."""
    auth.login("personnel1")
    assert _upload(auth, client, [FULL_ROW]).status_code == 302
    with driver.session_factory() as s:
        cadre_id = s.scalars(select(Cadre.id).where(Cadre.code == "CB9200")).one()
    page = f"/registry/cadres/{cadre_id}"
    assert _change_names(client.get(page).get_data(as_text=True)) == set(FIELD_NAMES)

    auth.post("/auth/language", {"locale": "en", "next": page}, page=page)
    assert _change_names(client.get(page).get_data(as_text=True)) == set(FIELD_NAMES.values())
    auth.logout()
    auth.login("auditor1")
    auth.post("/auth/language", {"locale": "en", "next": "/audit/events"}, page="/audit/events")
    audit = client.get("/audit/events").get_data(as_text=True)
    assert "Date of birth:" in audit and "Ngày sinh:" not in audit and "Mã cán bộ:" not in audit


def test_every_column_of_the_record_has_a_name_in_the_catalogue() -> None:
    """A new column of the import file is a new field of the history: it needs its name here, not its header."""
    from webapp.registry.views import _FIELD_NAMES

    assert {column.key for column in CADRE_COLUMNS} <= set(_FIELD_NAMES)


def test_a_page_past_the_end_of_the_cadres_shows_the_last(auth: AuthActions, client) -> None:
    auth.login("personnel1")

    def rows(query: str) -> list[str]:
        page = lxml_html.fromstring(client.get(f"/registry/cadres?{query}").get_data(as_text=True))
        return [row.text_content() for row in page.xpath("//tbody/tr")]

    first = rows("page=1")
    assert first and rows("page=999999") == first  # the fixture's cadres fit on one page: the last is the first


@pytest.mark.parametrize(
    ("typed", "found", "not_found"),
    [
        ("tran van hung", "Trần Văn Hùng", "Nguyễn Thị Lan"),  # without marks, in lower case
        ("TRẦN  VĂN", "Trần Văn Hùng", "Nguyễn Thị Lan"),  # repeated spaces, upper case
        ("cb000", "Nguyễn Thị Lan", "Hoàng Thị Mai"),  # the start of a code (officer3 is outside the commune)
        ("CB0002", "Trần Văn Hùng", "Nguyễn Thị Lan"),
    ],
)
def test_the_list_finds_a_cadre_as_the_start_pages_do(
    auth: AuthActions, client, typed: str, found: str, not_found: str
) -> None:
    auth.login("supervisor1")
    page = client.get("/registry/cadres", query_string={"q": typed}).get_data(as_text=True)
    assert found in page and not_found not in page
