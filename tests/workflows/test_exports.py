"""Export writers and list filters without the web app: the streamed writers give the files `write_table` gives,
and each filter either parses or is named in the refusal."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta, timezone

import openpyxl
import pytest

from workflows.errors import Invalid
from workflows.exports import (
    AuditFilters,
    EvaluationFilters,
    parse_audit_filters,
    parse_evaluation_filters,
)
from workflows.registry.tabular import Column, TooManyRows, iter_csv, write_table, write_xlsx

COLUMNS = [
    Column("code", "Mã", "text"),
    Column("born", "Ngày sinh", "date"),
    Column("member", "Đảng viên", "bool"),
    Column("count", "Số", "int"),
]
RECORDS = [
    {"code": "CB1", "born": date(1980, 9, 5), "member": True, "count": 3},
    {"code": "=1+1", "born": None, "member": False, "count": None},
    {"code": 'Lò Thị Én, "Bé"', "born": date(2001, 1, 31), "member": None, "count": 0},
]
VIETNAM = timezone(timedelta(hours=7))


@pytest.mark.parametrize(("rows_per_block", "blocks"), [(1, 3), (2, 2), (500, 1)])
def test_the_streamed_csv_is_the_written_one(rows_per_block: int, blocks: int) -> None:
    sent = list(iter_csv(iter(RECORDS), COLUMNS, rows_per_block=rows_per_block))
    assert b"".join(sent) == write_table(RECORDS, COLUMNS, "csv")
    assert len(sent) == blocks  # header and rows go out in blocks, not as one string at the end
    assert sent[0].startswith(b"\xef\xbb\xbf") and not any(b.startswith(b"\xef\xbb\xbf") for b in sent[1:])


def test_an_empty_list_is_its_header() -> None:
    assert b"".join(iter_csv([], COLUMNS)) == write_table([], COLUMNS, "csv")


def _cells(content: bytes) -> list[tuple]:
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    return [tuple((cell.value, cell.data_type) for cell in row) for row in sheet.iter_rows()]


def test_the_streamed_xlsx_holds_what_the_written_one_holds() -> None:
    target = io.BytesIO()
    assert write_xlsx(iter(RECORDS), COLUMNS, target, max_rows=10, sample_rows=1) == 3
    assert _cells(target.getvalue()) == _cells(write_table(RECORDS, COLUMNS, "xlsx"))
    sheet = openpyxl.load_workbook(io.BytesIO(target.getvalue())).active
    assert sheet["A1"].font.bold and sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:D4"
    assert sheet["B2"].number_format == "DD/MM/YYYY" and sheet["A3"].value == "=1+1"


def test_the_streamed_xlsx_stops_past_its_limit() -> None:
    with pytest.raises(TooManyRows):
        write_xlsx(iter(RECORDS), COLUMNS, io.BytesIO(), max_rows=2)
    assert write_xlsx(iter(RECORDS), COLUMNS, io.BytesIO(), max_rows=3) == 3


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({}, EvaluationFilters()),
        ({"unit": "7", "grade": "HTTNV"}, EvaluationFilters(unit_id=7, grade="HTTNV")),
        ({"period_kind": "quarter", "period": " 2026-Q4 "}, EvaluationFilters(period_kind="quarter", period="2026-Q4")),
        ({"period": "2026"}, EvaluationFilters(period="2026")),
        ({"unit": "", "period_kind": "", "period": "", "grade": ""}, EvaluationFilters()),
    ],
)
def test_evaluation_filters_that_parse(args: dict, expected: EvaluationFilters) -> None:
    assert parse_evaluation_filters(args, {7, 8}) == expected


@pytest.mark.parametrize(
    ("args", "fields"),
    [
        ({"unit": "9"}, ["unit"]),  # not among the person's units
        ({"unit": "-1"}, ["unit"]),
        ({"period_kind": "week"}, ["period_kind"]),
        ({"period_kind": "year", "period": "2026-11"}, ["period"]),
        ({"period": "11/2026"}, ["period"]),
        ({"grade": "htxsnv", "unit": "x", "period": "2026-13"}, ["unit", "period", "grade"]),
    ],
)
def test_evaluation_filters_that_are_refused(args: dict, fields: list[str]) -> None:
    with pytest.raises(Invalid) as refused:
        parse_evaluation_filters(args, {7, 8})
    assert [problem.field for problem in refused.value.problems] == fields


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({}, AuditFilters()),
        ({"chain": "#12"}, AuditFilters(chain_key="instance:12")),
        ({"chain": "12"}, AuditFilters(chain_key="instance:12")),
        ({"chain": "Cadre: 5"}, AuditFilters(chain_key="cadre:5")),
        # An account's chain (decision 0086: its events are named in the log and filtered by type).
        (
            {"chain": "user:3", "event_type": "username_changed"},
            AuditFilters(chain_key="user:3", event_type="username_changed"),
        ),
        (
            {"chain": "system", "event_type": "cadre_created"},
            AuditFilters(chain_key="system", event_type="cadre_created"),
        ),
        ({"actor": " personnel1 "}, AuditFilters(actor="personnel1")),
        ({"step": "review_request"}, AuditFilters(step="review_request")),
        # A step's name as the pages show it: spaces collapsed, composed as names are stored (NFC).
        ({"step": " Thẩm  đi\u0323nh hồ sơ "}, AuditFilters(step="Thẩm định hồ sơ")),
        ({"step": "xem\x00 xét"}, AuditFilters(step="xem xét")),  # no NUL reaches PostgreSQL
        ({"step": "\x00"}, AuditFilters()),
        (
            # Days on the reader's calendar (UTC+7), both included: 00:00 on the 1st to 00:00 after the 2nd.
            {"from": "01/11/2026", "to": "2026-11-02"},
            AuditFilters(occurred_from=datetime(2026, 10, 31, 17, 0), occurred_before=datetime(2026, 11, 2, 17, 0)),
        ),
    ],
)
def test_audit_filters_that_parse(args: dict, expected: AuditFilters) -> None:
    assert parse_audit_filters(args, VIETNAM) == expected


@pytest.mark.parametrize(
    ("args", "fields"),
    [
        ({"chain": "instance:"}, ["chain"]),
        ({"chain": "instance:0"}, ["chain"]),
        ({"chain": "user:0"}, ["chain"]),
        ({"chain": "users:3"}, ["chain"]),
        ({"chain": "#99999999999"}, ["chain"]),  # past the 32-bit ids
        ({"event_type": "everything"}, ["event_type"]),
        ({"actor": "a" * 81}, ["actor"]),
        ({"step": "a" * 121}, ["step"]),
        ({"from": "2026-02-30"}, ["from"]),
        ({"to": "1/1/26"}, ["to"]),
        ({"from": "05/11/2026", "to": "04/11/2026"}, ["to"]),
    ],
)
def test_audit_filters_that_are_refused(args: dict, fields: list[str]) -> None:
    with pytest.raises(Invalid) as refused:
        parse_audit_filters(args, UTC)
    assert [problem.field for problem in refused.value.problems] == fields
