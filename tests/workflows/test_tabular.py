"""Spreadsheet import/export: reading .xlsx/.csv, the cell report officers see, templates and round trips.

The files are built here with openpyxl and the csv module, so each test shows exactly what its file holds.
"""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import openpyxl
import pytest

from workflows.registry import tabular
from workflows.registry.cadre_columns import CADRE_COLUMNS, cadre_extra_checks
from workflows.registry.tabular import (
    PROBLEM_COLUMNS,
    CellProblem,
    Column,
    Format,
    UnreadableFile,
    ValidationReport,
    _column_letter,
    read_rows,
    template,
    validate,
    write_problem_report,
    write_table,
    write_xlsx,
)

TODAY = date(2026, 1, 15)
HEADERS = [c.header for c in CADRE_COLUMNS]


def cadre(code: str, **changes: Any) -> dict[str, Any]:
    """A clean cadre row keyed by header; `changes` replace cells by header with spaces as underscores."""
    row: dict[str, Any] = {
        "Mã cán bộ": code,
        "Họ và tên": "Nguyễn Văn An",
        "Ngày sinh": "12/03/1985",
        "Giới tính": "Nam",
        "Dân tộc": "Kinh",
        "Quê quán": "Xã An Phú, tỉnh Sơn Hà",
        "Mã đơn vị quê quán": "X001",
        "Mã đơn vị": "X001",
        "Đảng viên": "Có",
        "Ngày vào Đảng": "19/05/2010",
        "Trình độ chuyên môn": "Đại học",
        "Chuyên ngành": "Luật",
        "Khoa học - công nghệ": "Không",
        "Lý luận chính trị": "Trung cấp",
        "Quản lý nhà nước": "Chuyên viên",
        "Email": "an@xa.gov.vn",
    }
    for name, value in changes.items():
        row[name.replace("_", " ")] = value
    return row


def xlsx_bytes(headers: list[str], rows: Sequence[dict[str, Any] | None]) -> bytes:
    """None stands for an empty row, as people leave between blocks of data."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for row in rows:
        sheet.append([None] * len(headers) if row is None else [row.get(h) for h in headers])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_text(headers: list[str], rows: Sequence[dict[str, Any] | None], delimiter: str = ",") -> str:
    def text(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, date):
            return value.strftime("%d/%m/%Y")
        return str(value)

    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(headers)
    for row in rows:
        writer.writerow([""] * len(headers) if row is None else [text(row.get(h)) for h in headers])
    return buffer.getvalue()


def check(content: bytes, filename: str, **limits: int) -> ValidationReport:
    return validate(read_rows(content, filename, **limits), CADRE_COLUMNS, extra_checks=cadre_extra_checks(TODAY))


def messages(report: ValidationReport) -> list[str]:
    return [str(p) for p in report.problems]


# --- the cadre file with every kind of bad cell ----------------------------------------------------------------------

LONG_NAME = "A" * 256
BAD_ROWS: list[dict[str, Any] | None] = [
    cadre("CB001", Ngày_sinh=datetime(1985, 3, 12), Ngày_vào_Đảng=datetime(2010, 5, 19)),  # 2: Excel date cells
    cadre("CB002", Họ_và_tên=None),  # 3
    cadre("CB003", Ngày_sinh="31/02/1980"),  # 4
    cadre("CB004", Ngày_sinh="1980-02-15"),  # 5
    cadre("CB005", Giới_tính="Nam giới"),  # 6
    cadre("CB006", Đảng_viên="Có thể", Ngày_vào_Đảng=None),  # 7
    cadre("cb 007"),  # 8
    cadre("CB008", Họ_và_tên=LONG_NAME),  # 9
    cadre("CB009", Email="nguyen van a"),  # 10
    cadre("CB001"),  # 11: the code of row 2 again
    cadre("CB011", Ngày_sinh="01/01/2030", Ngày_vào_Đảng=None),  # 12
    cadre("CB012", Ngày_sinh="01/05/2010", Ngày_vào_Đảng=None),  # 13
    cadre("CB013", Ngày_sinh="01/06/1990", Ngày_vào_Đảng="01/01/2000"),  # 14
    cadre("CB014", Ngày_vào_Đảng="01/02/2026"),  # 15
    cadre("CB015", Đảng_viên="Không", Ngày_vào_Đảng="03/02/2010"),  # 16
    cadre("CB016", Trình_độ_chuyên_môn="Cử nhân"),  # 17
    cadre("CB017", Mã_đơn_vị=None),  # 18
    cadre("CB018", Giới_tính="X", Ngày_sinh="01/01/1950", Ngày_vào_Đảng=None),  # 19: two problems, column order
    None,  # 20: an empty row is skipped, and the numbering goes on
    cadre("CB020", Giới_tính="nữ", Đảng_viên="x", Lý_luận_chính_trị="cao cấp", Mã_đơn_vị=1001),  # 21: clean
]
EXPECTED_BAD = [
    'Dòng 2, cột "Mã cán bộ": "CB001" trùng với dòng 11.',
    'Dòng 3, cột "Họ và tên": không được để trống.',
    'Dòng 4, cột "Ngày sinh": "31/02/1980" không phải là ngày hợp lệ (dd/mm/yyyy).',
    'Dòng 5, cột "Ngày sinh": "1980-02-15" không phải là ngày hợp lệ (dd/mm/yyyy).',
    'Dòng 6, cột "Giới tính": "Nam giới" không thuộc các giá trị cho phép: Nam, Nữ.',
    'Dòng 7, cột "Đảng viên": "Có thể" không hợp lệ: chỉ nhận "Có" hoặc "Không".',
    'Dòng 8, cột "Mã cán bộ": "cb 007" không đúng định dạng'
    " (2–40 ký tự: chữ in hoa không dấu, chữ số và dấu gạch ngang).",
    f'Dòng 9, cột "Họ và tên": "{"A" * 59}…" dài 256 ký tự, tối đa 255 ký tự.',
    'Dòng 10, cột "Email": "nguyen van a" không đúng định dạng (ví dụ ten@donvi.gov.vn).',
    'Dòng 11, cột "Mã cán bộ": "CB001" trùng với dòng 2.',
    'Dòng 12, cột "Ngày sinh": "01/01/2030" là một ngày trong tương lai.',
    'Dòng 13, cột "Ngày sinh": "01/05/2010" ứng với 15 tuổi; tuổi phải từ 18 đến 70.',
    'Dòng 14, cột "Ngày vào Đảng": "01/01/2000" trước ngày cán bộ đủ 18 tuổi.',
    'Dòng 15, cột "Ngày vào Đảng": "01/02/2026" là một ngày trong tương lai.',
    'Dòng 16, cột "Ngày vào Đảng": "03/02/2010" được ghi nhưng cột "Đảng viên" không phải là "Có".',
    'Dòng 17, cột "Trình độ chuyên môn": "Cử nhân" không thuộc các giá trị cho phép:'
    " Trung cấp, Cao đẳng, Đại học, Thạc sĩ, Tiến sĩ.",
    'Dòng 18, cột "Mã đơn vị": không được để trống.',
    'Dòng 19, cột "Giới tính": "X" không thuộc các giá trị cho phép: Nam, Nữ.',
    'Dòng 19, cột "Ngày sinh": "01/01/1950" ứng với 76 tuổi; tuổi phải từ 18 đến 70.',
]


@pytest.mark.parametrize(
    ("filename", "content"),
    [
        ("can_bo.xlsx", xlsx_bytes(HEADERS, BAD_ROWS)),
        ("can_bo.csv", csv_text(HEADERS, BAD_ROWS).encode()),
    ],
)
def test_every_bad_cell_is_reported_with_its_row_column_and_reason(filename: str, content: bytes) -> None:
    report = check(content, filename)

    assert messages(report) == EXPECTED_BAD
    assert not report.ok
    assert report.bad_row_numbers == list(range(2, 20))
    assert [r.row_number for r in report.good_rows] == [21]
    clean = report.good_rows[0].values
    assert (clean["gender"], clean["is_party_member"], clean["political_theory"], clean["unit_code"]) == (
        "female",
        True,
        "cao_cap",
        "1001",
    )


def test_problem_keeps_the_cell_apart_from_the_sentence() -> None:
    report = check(xlsx_bytes(HEADERS, BAD_ROWS), "can_bo.xlsx")

    assert report.problems[2] == CellProblem(4, "Ngày sinh", "31/02/1980", "không phải là ngày hợp lệ (dd/mm/yyyy).")


def test_clean_file_is_ok_and_parsed_to_python_values() -> None:
    rows = [cadre("CB001", Ngày_sinh=datetime(1985, 3, 12)), cadre("CB002", Dân_tộc=None, Email=None)]

    report = check(xlsx_bytes(HEADERS, rows), "can_bo.xlsx")

    assert report.ok, messages(report)
    assert report.good_rows == report.rows
    assert report.rows[0].values == {
        "code": "CB001",
        "full_name": "Nguyễn Văn An",
        "birth_date": date(1985, 3, 12),
        "gender": "male",
        "ethnicity": "Kinh",
        "hometown": "Xã An Phú, tỉnh Sơn Hà",
        "hometown_unit_code": "X001",
        "unit_code": "X001",
        "is_party_member": True,
        "party_joined_date": date(2010, 5, 19),
        "education_level": "dai_hoc",
        "education_field": "Luật",
        "is_science_technology": False,
        "political_theory": "trung_cap",
        "state_management_training": "Chuyên viên",
        "email": "an@xa.gov.vn",
    }
    assert (report.rows[1].values["ethnicity"], report.rows[1].values["email"]) == (None, None)


def test_a_code_used_three_times_is_reported_on_each_row() -> None:
    rows = [cadre("CB001"), cadre("CB002"), cadre("CB001"), cadre("CB001")]

    report = check(xlsx_bytes(HEADERS, rows), "can_bo.xlsx")

    assert messages(report) == [
        'Dòng 2, cột "Mã cán bộ": "CB001" trùng với dòng 4, 5.',
        'Dòng 4, cột "Mã cán bộ": "CB001" trùng với dòng 2, 5.',
        'Dòng 5, cột "Mã cán bộ": "CB001" trùng với dòng 2, 4.',
    ]
    assert [r.row_number for r in report.good_rows] == [3]


# --- headers -------------------------------------------------------------------------------------------------------


def test_headers_match_ignoring_case_and_spaces_but_not_diacritics() -> None:
    renamed = {
        "Mã cán bộ": "  MÃ  CÁN bộ ",
        "Họ và tên": unicodedata.normalize("NFD", "Họ và tên"),
        "Khoa học - công nghệ": "Khoa học – công nghệ",
        "Ngày sinh": "Ngay sinh",
    }
    headers = [renamed.get(h, h) for h in HEADERS if h not in ("Giới tính", "Mã đơn vị")] + ["Ghi chú"]
    row = {renamed.get(h, h): v for h, v in cadre("CB001", Ghi_chú="mới").items()}

    report = check(xlsx_bytes(headers, [row]), "can_bo.xlsx")

    assert messages(report) == [
        'Dòng 1: có cột không thuộc mẫu nhập: "Ngay sinh", "Ghi chú".',
        'Dòng 1, cột "Ngày sinh": thiếu cột bắt buộc trong dòng tiêu đề.',
        'Dòng 1, cột "Giới tính": thiếu cột bắt buộc trong dòng tiêu đề.',
        'Dòng 1, cột "Mã đơn vị": thiếu cột bắt buộc trong dòng tiêu đề.',
    ]
    assert report.rows[0].values["code"] == "CB001"
    assert report.rows[0].values["full_name"] == "Nguyễn Văn An"
    assert report.good_rows == []  # nothing is imported from a file with the wrong columns


def test_optional_columns_may_be_left_out_and_are_absent_from_the_values() -> None:
    required = [c.header for c in CADRE_COLUMNS if c.required]

    report = check(xlsx_bytes(required, [cadre("CB001")]), "can_bo.xlsx")

    assert report.ok
    assert set(report.rows[0].values) == {"code", "full_name", "birth_date", "gender", "unit_code"}


def test_data_under_a_blank_header_is_reported_not_lost() -> None:
    report = check(xlsx_bytes([*HEADERS, ""], [cadre("CB001", **{"": "ghi thêm"})]), "can_bo.xlsx")

    assert messages(report) == ['Dòng 1: có cột không thuộc mẫu nhập: "Cột Q (không có tiêu đề)".']


def test_a_header_given_twice_is_reported() -> None:
    report = check(xlsx_bytes([*HEADERS, "họ và TÊN"], [cadre("CB001")]), "can_bo.xlsx")

    assert messages(report) == ['Dòng 1, cột "họ và TÊN": xuất hiện nhiều lần trong dòng tiêu đề.']


def test_an_empty_first_row_is_reported() -> None:
    report = check(csv_text([""], [cadre("CB001")]).encode(), "can_bo.csv")

    assert messages(report) == ["Dòng 1 trống: dòng đầu tiên của tệp phải là dòng tiêu đề cột."]


def test_a_file_with_headers_only_has_nothing_to_import() -> None:
    report = check(xlsx_bytes(HEADERS, []), "can_bo.xlsx")

    assert messages(report) == ["Tệp không có dòng dữ liệu nào (dữ liệu bắt đầu từ dòng 2)."]


# --- cells typed by Excel ------------------------------------------------------------------------------------------


def test_excel_cells_are_read_as_the_text_people_typed() -> None:
    rows = [
        cadre("CB001", Ngày_sinh=datetime(1985, 3, 12), Đảng_viên=True, Mã_đơn_vị=1001.0),
        cadre("CB002", Ngày_sinh=date(1986, 4, 1), Đảng_viên=False, Ngày_vào_Đảng=None),
        cadre("CB003", Ngày_sinh=datetime(1985, 3, 12, 10, 30)),
    ]

    report = check(xlsx_bytes(HEADERS, rows), "can_bo.xlsx")

    assert [(r.values["birth_date"], r.values["is_party_member"]) for r in report.rows[:2]] == [
        (date(1985, 3, 12), True),
        (date(1986, 4, 1), False),
    ]
    assert report.rows[0].values["unit_code"] == "1001"
    assert messages(report) == [
        'Dòng 4, cột "Ngày sinh": "12/03/1985 10:30:00" không phải là ngày hợp lệ (dd/mm/yyyy).'
    ]


def test_only_the_first_sheet_is_read() -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(xlsx_bytes(HEADERS, [cadre("CB001")])))
    workbook.create_sheet("Ghi chú").append(["không phải dữ liệu"])
    buffer = io.BytesIO()
    workbook.save(buffer)

    report = check(buffer.getvalue(), "can_bo.xlsx")

    assert report.ok
    assert [r.values["code"] for r in report.rows] == ["CB001"]


# --- CSV flavours ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(csv_text(HEADERS, [cadre("CB001")]).encode("utf-8-sig"), id="utf-8 with BOM"),
        pytest.param(csv_text(HEADERS, [cadre("CB001")]).encode("utf-8"), id="utf-8"),
        pytest.param(csv_text(HEADERS, [cadre("CB001")], delimiter=";").encode("utf-8-sig"), id="semicolons"),
        pytest.param(csv_text(HEADERS, [cadre("CB001")]).replace("\r\n", "\n").encode(), id="unix line ends"),
    ],
)
def test_csv_in_utf8_is_read_whatever_excel_chose_for_bom_and_delimiter(content: bytes) -> None:
    report = check(content, "can_bo.csv")

    assert report.ok, messages(report)
    assert report.rows[0].values["full_name"] == "Nguyễn Văn An"
    assert report.rows[0].values["code"] == "CB001"


def test_csv_cells_with_commas_and_line_breaks_stay_whole() -> None:
    row = cadre("CB001", Quê_quán="Xã An Phú,\ntỉnh Sơn Hà")

    report = check(csv_text(HEADERS, [row, cadre("CB002")]).encode(), "can_bo.csv")

    assert report.ok, messages(report)
    assert report.rows[0].values["hometown"] == "Xã An Phú,\ntỉnh Sơn Hà"
    assert report.rows[1].row_number == 3


@pytest.mark.parametrize("encoding", ["cp1258", "latin-1"])
def test_csv_not_in_utf8_is_refused_with_how_to_save_it(encoding: str) -> None:
    # The header is plain ASCII, so the name on line 2 is where decoding fails.
    content = "Ma can bo,Ho va ten\r\nCB001,Trân Bé\r\n".encode(encoding)

    report = check(content, "can_bo.csv")

    assert messages(report) == [
        "Tệp CSV không dùng bảng mã UTF-8 (lỗi ở dòng 2). Trong Excel, chọn Lưu thành (Save As) → "
        '"CSV UTF-8 (Comma delimited)" rồi tải tệp đó lên.'
    ]
    assert report.rows == []


# --- limits and unreadable files ------------------------------------------------------------------------------------


@pytest.mark.parametrize("filename", ["can_bo.xlsx", "can_bo.csv"])
def test_a_file_over_the_row_limit_gives_one_clear_problem(filename: str) -> None:
    rows: list[dict[str, Any] | None] = [cadre(f"CB{n:03}") for n in range(6)]
    content = xlsx_bytes(HEADERS, rows) if filename.endswith("xlsx") else csv_text(HEADERS, rows).encode()

    assert check(content, filename, max_rows=6).ok
    report = check(content, filename, max_rows=5)

    assert messages(report) == ["Tệp có hơn 5 dòng dữ liệu, vượt giới hạn; hãy chia thành nhiều tệp nhỏ hơn."]
    assert report.rows == []
    assert report.good_rows == []


def test_a_file_over_the_size_limit_is_refused_before_it_is_opened() -> None:
    report = check(b"x" * 2_000_000, "can_bo.xlsx", max_bytes=1024 * 1024)

    assert messages(report) == ["Tệp có dung lượng 1,9 MB, vượt giới hạn 1 MB; hãy chia thành nhiều tệp nhỏ hơn."]


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        (
            "can_bo.xlsx",
            b"PK\x03\x04 not really",
            "Không đọc được tệp Excel: tệp bị hỏng hoặc không phải định dạng .xlsx.",
        ),
        (
            "can_bo.xls",
            b"\xd0\xcf\x11\xe0",
            "Tệp .xls (Excel 97–2003) không được hỗ trợ: hãy mở bằng Excel và lưu lại dạng .xlsx.",
        ),
        ("can_bo.ods", b"", 'Chỉ nhận tệp .xlsx hoặc .csv (tệp đã gửi: "can_bo.ods").'),
    ],
)
def test_files_that_are_not_xlsx_or_csv_are_refused(filename: str, content: bytes, message: str) -> None:
    assert messages(check(content, filename)) == [message]


def with_member(content: bytes, name: str, data: bytes) -> bytes:
    """The same .xlsx package with one part replaced."""
    source = zipfile.ZipFile(io.BytesIO(content))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, data if info.filename == name else source.read(info.filename))
    return buffer.getvalue()


@pytest.mark.parametrize(
    "sheet_xml",
    [
        pytest.param(b"<worksheet><sheetData><row", id="truncated"),
        pytest.param(
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            b"<x>&b;</x>",
            id="entity expansion",
        ),
    ],
)
def test_a_damaged_sheet_is_reported_as_a_damaged_file(sheet_xml: bytes) -> None:
    content = with_member(xlsx_bytes(HEADERS, [cadre("CB001")]), "xl/worksheets/sheet1.xml", sheet_xml)

    assert messages(check(content, "can_bo.xlsx")) == [
        "Không đọc được tệp Excel: tệp bị hỏng hoặc không phải định dạng .xlsx."
    ]


def test_an_xlsx_that_unpacks_too_large_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tabular, "MAX_UNPACKED_BYTES", 1000)

    report = check(xlsx_bytes(HEADERS, [cadre("CB001")]), "can_bo.xlsx")

    assert messages(report) == ["Tệp Excel khi giải nén quá lớn; hãy chia thành nhiều tệp nhỏ hơn."]


def test_read_rows_raises_the_same_problem_when_used_alone() -> None:
    with pytest.raises(UnreadableFile) as caught:
        list(read_rows(b"", "can_bo.ods"))

    assert caught.value.problem.message == 'Chỉ nhận tệp .xlsx hoặc .csv (tệp đã gửi: "can_bo.ods").'


# --- the cell rules, one by one ------------------------------------------------------------------------------------

GENERIC = [
    Column("n", "Số", "int"),
    Column("flag", "Cờ", "bool"),
    Column("level", "Mức", "choice", choices={"Cao cấp": "high", "Sơ cấp": "low"}),
    Column("day", "Ngày", "date"),
    Column("short", "Ngắn", "text", max_length=3),
]


@pytest.mark.parametrize(
    ("header", "text", "value", "message"),
    [
        ("Số", "42", 42, None),
        ("Số", "-7", -7, None),
        ("Số", "1.5", None, "không phải là số nguyên."),
        ("Cờ", "Có", True, None),
        ("Cờ", "KHÔNG", False, None),
        ("Cờ", "x", True, None),
        ("Cờ", "1", True, None),
        ("Cờ", "0", False, None),
        ("Cờ", "co", None, 'không hợp lệ: chỉ nhận "Có" hoặc "Không".'),
        ("Mức", "cao  cấp", "high", None),
        ("Mức", "Cao cap", None, "không thuộc các giá trị cho phép: Cao cấp, Sơ cấp."),
        ("Ngày", "5/9/1980", date(1980, 9, 5), None),
        ("Ngày", "29/02/2024", date(2024, 2, 29), None),
        ("Ngày", "29/02/2023", None, "không phải là ngày hợp lệ (dd/mm/yyyy)."),
        ("Ngày", "05/09/80", None, "không phải là ngày hợp lệ (dd/mm/yyyy)."),
        ("Ngắn", "abc", "abc", None),
        ("Ngắn", "abcd", None, "dài 4 ký tự, tối đa 3 ký tự."),
        ("Ngắn", "", None, None),
    ],
)
def test_cell_rules(header: str, text: str, value: object, message: str | None) -> None:
    report = validate([(2, {header: text})], GENERIC)

    key = next(c.key for c in GENERIC if c.header == header)
    assert report.rows[0].values == {key: value}
    assert [p.message for p in report.problems] == ([message] if message else [])


def test_a_choice_column_needs_choices() -> None:
    with pytest.raises(ValueError):
        Column("level", "Mức", "choice")


def test_progress_is_reported_row_by_row() -> None:
    calls: list[tuple[int, int]] = []

    validate(
        [(2, {"Số": "1"}), (3, {"Số": "2"}), (5, {"Số": "x"})], GENERIC, on_progress=lambda d, t: calls.append((d, t))
    )

    assert calls == [(0, 3), (1, 3), (2, 3), (3, 3)]


# --- writing --------------------------------------------------------------------------------------------------------

RECORDS: list[dict[str, Any]] = [
    {
        "code": "CB001",
        "full_name": "Nguyễn Thị Lan",
        "birth_date": date(1985, 3, 12),
        "gender": "female",
        "ethnicity": "Tày",
        "hometown": "Xã An Phú, tỉnh Sơn Hà",
        "hometown_unit_code": "X001",
        "unit_code": "00123",
        "is_party_member": True,
        "party_joined_date": date(2010, 5, 19),
        "education_level": "thac_si",
        "education_field": "Quản lý công",
        "is_science_technology": True,
        "political_theory": "cu_nhan",
        "state_management_training": "Chuyên viên chính",
        "email": "lan@xa.gov.vn",
    },
    {
        "code": "CB002",
        "full_name": '=HYPERLINK("http://example.invalid")',  # must come back as text, never run as a formula
        "birth_date": date(1990, 12, 31),
        "gender": "male",
        "ethnicity": None,
        "hometown": "-",
        "hometown_unit_code": None,
        "unit_code": "X002",
        "is_party_member": False,
        "party_joined_date": None,
        "education_level": None,
        "education_field": None,
        "is_science_technology": False,
        "political_theory": None,
        "state_management_training": None,
        "email": None,
    },
]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_export_reads_back_to_the_same_values(fmt: Format) -> None:
    content = write_table(RECORDS, CADRE_COLUMNS, fmt)

    report = check(content, f"danh_sach.{fmt}")

    assert report.ok, messages(report)
    assert [r.values for r in report.rows] == RECORDS


def test_csv_export_has_a_bom_vietnamese_headers_and_excel_safe_cells() -> None:
    content = write_table(RECORDS, CADRE_COLUMNS, "csv")

    assert content.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert lines[0] == HEADERS
    assert lines[1][:4] == ["CB001", "Nguyễn Thị Lan", "12/03/1985", "Nữ"]
    assert lines[1][8] == "Có"
    assert lines[2][1].startswith("'=")


def test_xlsx_export_has_a_bold_frozen_header_date_cells_and_widths() -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(write_table(RECORDS, CADRE_COLUMNS, "xlsx")))
    sheet = workbook.worksheets[0]

    assert [c.value for c in sheet[1]] == HEADERS
    assert all(c.font.bold for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet["C2"].value == datetime(1985, 3, 12)
    assert sheet["C2"].number_format == "DD/MM/YYYY"
    assert sheet["B3"].data_type == "s"
    assert sheet["H2"].value == "00123"
    assert sheet.column_dimensions["B"].width == len(RECORDS[1]["full_name"]) + 2
    assert sheet.column_dimensions["D"].width == 11  # "Giới tính" and two characters of margin


def test_xlsx_column_widths_stay_between_10_and_60() -> None:
    columns = [Column("a", "A", "text"), Column("b", "B", "text")]
    workbook = openpyxl.load_workbook(io.BytesIO(write_table([{"a": "x" * 200, "b": "y"}], columns, "xlsx")))

    widths = workbook.worksheets[0].column_dimensions
    assert (widths["A"].width, widths["B"].width) == (60, 10)


def test_xlsx_template_has_the_headers_and_a_guide_sheet() -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(template(CADRE_COLUMNS, "xlsx")))

    assert workbook.sheetnames == ["Danh sách", "Hướng dẫn"]
    data, guide = workbook.worksheets
    assert [c.value for c in data[1]] == HEADERS
    assert data.max_row == 1
    guide_rows = list(guide.iter_rows(values_only=True))
    assert guide_rows[0] == ("Cột", "Bắt buộc", "Định dạng", "Giá trị cho phép", "Ghi chú")
    assert [r[0] for r in guide_rows[1:]] == HEADERS
    by_header = {r[0]: r for r in guide_rows[1:]}
    assert by_header["Mã cán bộ"][1] == "Có"
    assert "không được trùng" in by_header["Mã cán bộ"][2]
    assert by_header["Ngày sinh"][2].startswith("Ngày, dạng dd/mm/yyyy")
    assert by_header["Giới tính"][3] == "Nam, Nữ"
    assert by_header["Dân tộc"][1] == "Không"
    lists = {str(v.sqref): v.formula1 for v in data.data_validations.dataValidation}
    assert lists == {
        "D2:D20001": '"Nam,Nữ"',
        "I2:I20001": '"Có,Không"',
        "K2:K20001": '"Trung cấp,Cao đẳng,Đại học,Thạc sĩ,Tiến sĩ"',
        "M2:M20001": '"Có,Không"',
        "N2:N20001": '"Sơ cấp,Trung cấp,Cao cấp,Cử nhân"',
    }


def test_a_filled_in_template_imports() -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(template(CADRE_COLUMNS, "xlsx")))
    row = cadre("CB001")
    workbook.worksheets[0].append([row[h] for h in HEADERS])
    buffer = io.BytesIO()
    workbook.save(buffer)

    report = check(buffer.getvalue(), "mau_nhap.xlsx")

    assert report.ok, messages(report)
    assert report.rows[0].values["birth_date"] == date(1985, 3, 12)


def test_csv_template_is_the_header_line() -> None:
    content = template(CADRE_COLUMNS, "csv")

    assert content.decode("utf-8-sig") == ",".join(HEADERS) + "\r\n"


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_problem_report_lists_the_bad_rows_and_why(fmt: Format) -> None:
    report = check(xlsx_bytes(HEADERS, BAD_ROWS), "can_bo.xlsx")

    content = write_problem_report(report, fmt)

    listed = validate(read_rows(content, f"loi.{fmt}"), PROBLEM_COLUMNS)
    assert listed.ok, messages(listed)
    assert {r.values["row"] for r in listed.rows} == set(report.bad_row_numbers)
    assert [r.values["line"] for r in listed.rows] == EXPECTED_BAD
    assert listed.rows[2].values == {
        "row": 4,
        "column": "Ngày sinh",
        "value": "31/02/1980",
        "message": "không phải là ngày hợp lệ (dd/mm/yyyy).",
        "line": 'Dòng 4, cột "Ngày sinh": "31/02/1980" không phải là ngày hợp lệ (dd/mm/yyyy).',
    }


def test_problem_report_of_an_unreadable_file_has_no_row_number() -> None:
    report = check(b"", "can_bo.ods")

    listed = validate(read_rows(write_problem_report(report, "csv"), "loi.csv"), PROBLEM_COLUMNS)

    assert listed.rows[0].values["row"] is None
    assert listed.rows[0].values["message"] == 'Chỉ nhận tệp .xlsx hoặc .csv (tệp đã gửi: "can_bo.ods").'


def test_title_rows_go_above_the_table_with_its_header_frozen_and_filtered_below() -> None:
    columns = [Column("code", "Mã cán bộ", "text"), Column("name", "Họ và tên", "text")]
    target = io.BytesIO()
    count = write_xlsx(
        [{"code": "CB1", "name": "Lan"}, {"code": "CB2", "name": "Hoa"}],
        columns,
        target,
        max_rows=10,
        title_rows=["Chỉ tiêu", "Giá trị: 50%"],
    )
    sheet = openpyxl.load_workbook(io.BytesIO(target.getvalue())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert count == 2
    assert rows[0][0] == "Chỉ tiêu" and rows[1][0] == "Giá trị: 50%" and not any(rows[2])
    assert rows[3] == ("Mã cán bộ", "Họ và tên") and rows[4] == ("CB1", "Lan") and rows[5] == ("CB2", "Hoa")
    assert sheet["A1"].font.bold
    assert sheet.freeze_panes == "A5" and sheet.auto_filter.ref == "A4:B6"


# --- export-only columns -------------------------------------------------------------------------------------------

WITH_NOTES = [
    Column("code", "Mã", "text", required=True),
    Column("unit_name", "Tên đơn vị", "text", export_only=True),
    Column("age", "Tuổi", "int", export_only=True),
]


def test_export_only_columns_are_accepted_and_not_read() -> None:
    content = csv_text(
        ["Mã", "Tên đơn vị", "Tuổi"], [{"Mã": "CB1", "Tên đơn vị": "Xã A", "Tuổi": "not a number"}]
    ).encode()

    report = validate(read_rows(content, "x.csv"), WITH_NOTES)

    assert report.ok, messages(report)
    assert report.rows[0].values == {"code": "CB1"}


def test_a_file_without_the_export_only_columns_is_fine_and_others_are_still_refused() -> None:
    assert validate(read_rows(csv_text(["Mã"], [{"Mã": "CB1"}]).encode(), "x.csv"), WITH_NOTES).ok
    report = validate(read_rows(csv_text(["Mã", "Ghi chú"], [{"Mã": "CB1"}]).encode(), "x.csv"), WITH_NOTES)
    assert messages(report) == ['Dòng 1: có cột không thuộc mẫu nhập: "Ghi chú".']


def test_the_template_leaves_export_only_columns_out() -> None:
    assert template(WITH_NOTES, "csv").decode("utf-8-sig") == "Mã\r\n"
    guide = openpyxl.load_workbook(io.BytesIO(template(WITH_NOTES, "xlsx"))).worksheets[1]
    assert [r[0] for r in guide.iter_rows(min_row=2, values_only=True)] == ["Mã"]


def test_an_export_only_column_cannot_be_required() -> None:
    with pytest.raises(ValueError):
        Column("age", "Tuổi", "int", required=True, export_only=True)


def test_column_letters_are_excels() -> None:
    """Our own column naming (openpyxl is imported only to read or write .xlsx, decision 0117) agrees with it."""
    from openpyxl.utils import get_column_letter

    assert [_column_letter(i) for i in range(1, 2000)] == [get_column_letter(i) for i in range(1, 2000)]
