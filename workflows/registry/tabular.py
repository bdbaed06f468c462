"""Spreadsheet import and export: read .xlsx/.csv, validate every cell, write lists and templates back out.

The engine knows nothing about cadres; a feature describes its file as a list of `Column`s (see `cadre_columns`).
Import is two steps so that nothing is written unless the caller decides to:

    report = validate(read_rows(content, filename), COLUMNS, extra_checks=..., on_progress=...)
    if report.ok: save report.rows       # or, when skipping bad rows: save report.good_rows
    else: show report.problems / write_problem_report(report, "xlsx")

Messages are Vietnamese because they are read by the personnel officers who fix the file, not by developers.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from typing import IO, TYPE_CHECKING, Any, Literal

from workflows.errors import Invalid

if TYPE_CHECKING:
    import openpyxl
    from openpyxl.worksheet.worksheet import Worksheet

# openpyxl (with Pillow behind it) is imported by the functions that read or write .xlsx, not here: every `canbo`
# command and every app start imports this module, and most never touch a spreadsheet (decision 0117).

Kind = Literal["text", "date", "bool", "choice", "int"]
Format = Literal["xlsx", "csv"]
Value = str | date | bool | int | None

# A province's whole cadre list fits comfortably; anything larger is more likely a wrong file than a real import,
# and the whole file is held in memory while it is validated.
MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000
MAX_COLUMNS = 100
# An .xlsx is a zip: a small upload can unpack to gigabytes, so the unpacked size is capped too.
MAX_UNPACKED_BYTES = 20 * MAX_BYTES

HEADER_ROW = 1
DATE_FORMAT_HINT = "dd/mm/yyyy"
TRUE_LABEL = "Có"
FALSE_LABEL = "Không"
DATA_SHEET_TITLE = "Danh sách"
HELP_SHEET_TITLE = "Hướng dẫn"

MEDIA_TYPES: dict[str, str] = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}

_DATE_RE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_INT_RE = re.compile(r"[+-]?\d+")
_BOOL_WORDS = {"có": True, "không": False, "x": True, "1": True, "0": False, "true": True, "false": False}
# Spreadsheet programs run a cell that starts with one of these as a formula when they open a CSV.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_DASHES = str.maketrans({"–": "-", "—": "-", "‑": "-"})
_SHOWN_VALUE_LIMIT = 60
_DAMAGED_XLSX = "Không đọc được tệp Excel: tệp bị hỏng hoặc không phải định dạng .xlsx."


@dataclass(frozen=True)
class Column:
    """One column of an import/export file. `choices` maps the label people see to the value stored."""

    key: str
    header: str
    kind: Kind
    required: bool = False
    choices: Mapping[str, str] | None = None
    max_length: int | None = None
    pattern: str | None = None
    help: str = ""
    # Said in the report when `pattern` does not match: a regular expression means nothing to an officer.
    pattern_hint: str = ""
    # The same value twice in one file is reported on every row that has it (the cadre code, say).
    unique: bool = False
    # Written by an export for the reader (a unit's name beside its code, an age), never read back: `validate`
    # accepts the header and ignores the cells, so an exported list can be edited and imported as it is, and the
    # import template leaves the column out.
    export_only: bool = False

    def __post_init__(self) -> None:
        if (self.kind == "choice") != bool(self.choices):
            raise ValueError(f"column {self.key!r}: choices go with kind 'choice', and only with it")
        if self.pattern is not None:
            re.compile(self.pattern)
        if self.export_only and self.required:
            raise ValueError(f"column {self.key!r}: an export-only column is never read, so it cannot be required")


@dataclass(frozen=True)
class CellProblem:
    """One reason a file cannot be imported as it is; `row`/`column_header` are None when it is about the file."""

    row: int | None
    column_header: str | None
    value: str
    message: str

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"Dòng {self.row}")
        if self.column_header:
            where.append(f'cột "{self.column_header}"')
        body = f'"{_shorten(self.value)}" {self.message}' if self.value else self.message
        return f"{', '.join(where)}: {body}" if where else body


@dataclass(frozen=True)
class ParsedRow:
    """A data row as Python values. Only the columns the file has are keys; a blank cell is None."""

    row_number: int
    values: dict[str, Value]


@dataclass
class ValidationReport:
    rows: list[ParsedRow] = field(default_factory=list)
    problems: list[CellProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def file_problems(self) -> list[CellProblem]:
        """Problems with the file as a whole or its header row: while there is one, no row may be imported."""
        return [p for p in self.problems if p.row is None or p.row <= HEADER_ROW]

    @property
    def bad_row_numbers(self) -> list[int]:
        return sorted({p.row for p in self.problems if p.row is not None and p.row > HEADER_ROW})

    @property
    def good_rows(self) -> list[ParsedRow]:
        if self.file_problems:
            return []
        bad = set(self.bad_row_numbers)
        return [r for r in self.rows if r.row_number not in bad]


class UnreadableFile(Invalid):
    """The file cannot be read at all (wrong type, too large, not UTF-8…); `validate` turns it into a problem."""

    def __init__(self, problem: CellProblem) -> None:
        super().__init__(str(problem))
        self.problem = problem


ExtraChecks = Callable[[int, dict[str, Value]], list[CellProblem]]
Progress = Callable[[int, int], None]


# --- reading -------------------------------------------------------------------------------------------------------


def read_rows(
    content: bytes, filename: str, *, max_rows: int = MAX_ROWS, max_bytes: int = MAX_BYTES
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield `(row number, {header as written: cell text})` for each non-empty data row.

    Row numbers are the ones the spreadsheet shows (the header is row 1). Every row has every header of the file;
    a cell under a blank header is kept under a made-up header so that `validate` reports it instead of losing it.
    Raises `UnreadableFile` when iterated, so `validate(read_rows(...))` reports it like any other problem.
    """
    if len(content) > max_bytes:
        raise _unreadable(
            f"Tệp có dung lượng {_megabytes(len(content))} MB, vượt giới hạn {_megabytes(max_bytes)} MB; "
            "hãy chia thành nhiều tệp nhỏ hơn."
        )
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix == "xlsx":
        table = _xlsx_table(content, max_rows)
    elif suffix == "csv":
        table = _csv_table(content, max_rows)
    elif suffix == "xls":
        raise _unreadable("Tệp .xls (Excel 97–2003) không được hỗ trợ: hãy mở bằng Excel và lưu lại dạng .xlsx.")
    else:
        raise _unreadable(f'Chỉ nhận tệp .xlsx hoặc .csv (tệp đã gửi: "{filename}").')
    yield from _label_rows(table)


def _xlsx_table(content: bytes, max_rows: int) -> list[tuple[int, list[str]]]:
    import openpyxl

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise _unreadable(_DAMAGED_XLSX) from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise _unreadable("Tệp Excel khi giải nén quá lớn; hãy chia thành nhiều tệp nhỏ hơn.")

    table: list[tuple[int, list[str]]] = []
    # openpyxl warns about workbook features it skips (styles, extensions); they never affect the cell values.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
        try:
            workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as exc:  # a damaged package fails in zipfile, the XML parser or openpyxl itself
            raise _unreadable(_DAMAGED_XLSX) from exc
        try:
            sheet = workbook.worksheets[0]
            for number, cells in enumerate(sheet.iter_rows(max_col=MAX_COLUMNS + 1, values_only=True), start=1):
                texts = [_cell_text(c) for c in cells]
                if number > HEADER_ROW and not any(texts):
                    continue
                if len(table) > max_rows:
                    raise _too_many_rows(max_rows)
                table.append((number, texts))
        except UnreadableFile:
            raise
        except Exception as exc:  # read-only mode parses each sheet lazily, so damage can surface only here
            raise _unreadable(_DAMAGED_XLSX) from exc
        finally:
            workbook.close()
    return table


def _csv_table(content: bytes, max_rows: int) -> list[tuple[int, list[str]]]:
    if content.startswith(codecs.BOM_UTF8):
        content = content[len(codecs.BOM_UTF8) :]
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        raise _unreadable(
            f"Tệp CSV không dùng bảng mã UTF-8 (lỗi ở dòng {line}). Trong Excel, chọn Lưu thành (Save As) → "
            '"CSV UTF-8 (Comma delimited)" rồi tải tệp đó lên.'
        ) from None

    first_line = text.split("\n", 1)[0]
    # Excel writes ";" instead of "," where the decimal separator is a comma, as in Vietnamese settings.
    delimiter = max(",;\t", key=lambda d: len(next(csv.reader([first_line], delimiter=d), [])))
    table: list[tuple[int, list[str]]] = []
    try:
        for number, cells in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1):
            texts = [_unescape_formula(_clean(c)) for c in cells[: MAX_COLUMNS + 1]]
            if number > HEADER_ROW and not any(texts):
                continue
            if len(table) > max_rows:
                raise _too_many_rows(max_rows)
            table.append((number, texts))
    except csv.Error as exc:
        raise _unreadable(f"Không đọc được tệp CSV: {exc}.") from None
    return table


def _label_rows(table: list[tuple[int, list[str]]]) -> Iterator[tuple[int, dict[str, str]]]:
    if not table or not any(table[0][1]):
        raise _unreadable("Dòng 1 trống: dòng đầu tiên của tệp phải là dòng tiêu đề cột.")
    headers = [" ".join(h.split()) for h in table[0][1]]
    if sum(1 for h in headers if h) > MAX_COLUMNS:
        raise _unreadable(f"Tệp có hơn {MAX_COLUMNS} cột; hãy dùng đúng mẫu nhập.")
    seen: dict[str, str] = {}
    for header in filter(None, headers):
        if _header_key(header) in seen:
            raise UnreadableFile(CellProblem(HEADER_ROW, header, "", "xuất hiện nhiều lần trong dòng tiêu đề."))
        seen[_header_key(header)] = header

    for number, cells in table[1:]:
        values = {h: "" for h in headers if h}
        for index, text in enumerate(cells):
            header = headers[index] if index < len(headers) else ""
            if header:
                values[header] = text
            elif text:
                values[f"Cột {_column_letter(index + 1)} (không có tiêu đề)"] = text
        yield number, values


def _cell_text(value: Any) -> str:
    """The text a person would type for this cell, so Excel-typed cells validate like text ones."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return TRUE_LABEL if value else FALSE_LABEL
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.strftime("%d/%m/%Y")
        return value.strftime("%d/%m/%Y %H:%M:%S")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return _clean(str(value))


def _clean(text: str) -> str:
    # Text typed on macOS or with some Vietnamese keyboards arrives decomposed; NFC makes equal names compare equal.
    return unicodedata.normalize("NFC", text).strip()


def _unescape_formula(text: str) -> str:
    if len(text) > 1 and text[0] == "'" and text[1].startswith(_FORMULA_STARTS):
        return text[1:]
    return text


def _header_key(header: str) -> str:
    return " ".join(unicodedata.normalize("NFC", header).translate(_DASHES).split()).casefold()


# --- validating ----------------------------------------------------------------------------------------------------


def validate(
    rows: Iterable[tuple[int, Mapping[str, str]]],
    columns: Sequence[Column],
    *,
    extra_checks: ExtraChecks | None = None,
    on_progress: Progress | None = None,
) -> ValidationReport:
    """Check every cell of every row and report all problems at once, in file order.

    `extra_checks(row_number, values)` sees the parsed values of one row (None where a cell was blank or invalid,
    so it need not repeat the cell checks) and returns cross-field problems. Columns marked `export_only` may be
    in the file; their cells are not read.
    """
    try:
        table = list(rows)
    except UnreadableFile as exc:
        return ValidationReport(problems=[exc.problem])
    if not table:
        return ValidationReport(
            problems=[CellProblem(None, None, "", "Tệp không có dòng dữ liệu nào (dữ liệu bắt đầu từ dòng 2).")]
        )

    by_key = {_header_key(c.header): c for c in columns}
    file_headers = list(dict.fromkeys(h for _, values in table for h in values))
    present: dict[str, Column] = {}  # header as written in the file -> column
    unknown: list[str] = []
    for header in file_headers:
        column = by_key.get(_header_key(header))
        if column is None:
            unknown.append(header)
        elif not column.export_only:
            present[header] = column
    problems: list[CellProblem] = []
    if unknown:
        listed = ", ".join(f'"{h}"' for h in unknown)
        problems.append(CellProblem(HEADER_ROW, None, "", f"có cột không thuộc mẫu nhập: {listed}."))
    present_keys = {c.key for c in present.values()}
    problems.extend(
        CellProblem(HEADER_ROW, c.header, "", "thiếu cột bắt buộc trong dòng tiêu đề.")
        for c in columns
        if c.required and c.key not in present_keys
    )

    ordered = [c for c in columns if c.key in present_keys]
    header_of = {c.key: h for h, c in present.items()}
    parsers = {c.key: _parser(c) for c in ordered}
    parsed: list[ParsedRow] = []
    cell_problems: list[dict[str, CellProblem]] = []
    total = len(table)
    if on_progress:
        on_progress(0, total)
    for done, (number, raw) in enumerate(table, start=1):
        values: dict[str, Value] = {}
        found: dict[str, CellProblem] = {}
        for column in ordered:
            text = raw.get(header_of[column.key], "")
            value, message = parsers[column.key](text)
            values[column.key] = value
            if message:
                found[column.key] = CellProblem(number, column.header, text, message)
        parsed.append(ParsedRow(number, values))
        cell_problems.append(found)
        if on_progress:
            on_progress(done, total)

    duplicates = _duplicates(parsed, [c for c in ordered if c.unique])
    for row, found in zip(parsed, cell_problems, strict=True):
        for column in ordered:
            if column.key in found:
                problems.append(found[column.key])
            elif (row.row_number, column.key) in duplicates:
                others = ", ".join(map(str, duplicates[row.row_number, column.key]))
                shown = display_value(row.values[column.key])
                problems.append(CellProblem(row.row_number, column.header, shown, f"trùng với dòng {others}."))
        if extra_checks:
            # A cell that failed its own check is left out, so cross-field checks never repeat that problem.
            clean = {k: (None if k in found else v) for k, v in row.values.items()}
            problems.extend(extra_checks(row.row_number, clean))
    return ValidationReport(rows=parsed, problems=problems)


def _parser(column: Column) -> Callable[[str], tuple[Value, str | None]]:
    compiled = re.compile(column.pattern) if column.pattern else None
    labels = {_header_key(label): value for label, value in (column.choices or {}).items()}
    allowed = ", ".join(column.choices or {})

    def parse(text: str) -> tuple[Value, str | None]:
        if not text:
            return None, ("không được để trống." if column.required else None)
        if column.max_length is not None and len(text) > column.max_length:
            return None, f"dài {len(text)} ký tự, tối đa {column.max_length} ký tự."
        if compiled and not compiled.fullmatch(text):
            hint = f" ({column.pattern_hint})" if column.pattern_hint else ""
            return None, f"không đúng định dạng{hint}."
        if column.kind == "date":
            parsed = _parse_date(text)
            return (parsed, None) if parsed else (None, f"không phải là ngày hợp lệ ({DATE_FORMAT_HINT}).")
        if column.kind == "bool":
            flag = _BOOL_WORDS.get(text.casefold())
            if flag is None:
                return None, f'không hợp lệ: chỉ nhận "{TRUE_LABEL}" hoặc "{FALSE_LABEL}".'
            return flag, None
        if column.kind == "choice":
            choice = labels.get(_header_key(text))
            return (choice, None) if choice is not None else (None, f"không thuộc các giá trị cho phép: {allowed}.")
        if column.kind == "int":
            return (int(text), None) if _INT_RE.fullmatch(text) else (None, "không phải là số nguyên.")
        return text, None

    return parse


def _parse_date(text: str) -> date | None:
    match = _DATE_RE.fullmatch(text)
    if not match:
        return None
    day, month, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _duplicates(rows: list[ParsedRow], columns: list[Column]) -> dict[tuple[int, str], list[int]]:
    """(row, column key) -> the other rows holding the same value."""
    found: dict[tuple[int, str], list[int]] = {}
    for column in columns:
        holders: dict[object, list[int]] = {}
        for row in rows:
            value = row.values.get(column.key)
            if value is not None:
                holders.setdefault(value.casefold() if isinstance(value, str) else value, []).append(row.row_number)
        for numbers in holders.values():
            if len(numbers) > 1:
                for number in numbers:
                    found[number, column.key] = [n for n in numbers if n != number]
    return found


def display_value(value: Value) -> str:
    """A parsed value written back the way the file shows it, for messages about a value that did parse."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return TRUE_LABEL if value else FALSE_LABEL
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value)


# --- writing -------------------------------------------------------------------------------------------------------


def write_table(
    records: Iterable[Mapping[str, Any]], columns: Sequence[Column], fmt: Format, *, sheet_title: str = DATA_SHEET_TITLE
) -> bytes:
    """A list as a file people open in Excel: Vietnamese headers, dates dd/mm/yyyy, booleans Có/Không, labels."""
    import openpyxl
    from openpyxl.worksheet.worksheet import Worksheet

    rows = [[_export_value(c, record.get(c.key)) for c in columns] for record in records]
    if fmt == "csv":
        return _csv_bytes(columns, rows)
    if fmt == "xlsx":
        workbook = openpyxl.Workbook()
        sheet = workbook.active
        assert isinstance(sheet, Worksheet)
        sheet.title = sheet_title
        _fill_sheet(sheet, [c.header for c in columns], rows)
        for index, column in enumerate(columns, start=1):
            if column.kind == "date":
                for cell in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                    cell[0].number_format = "DD/MM/YYYY"
        return _xlsx_bytes(workbook)
    raise ValueError(f"unknown format {fmt!r}")


def iter_csv(
    records: Iterable[Mapping[str, Any]], columns: Sequence[Column], *, rows_per_block: int = 500
) -> Iterator[bytes]:
    """The CSV `write_table` writes, in blocks of rows as the records come: a long list is sent while it is read,
    never held whole in memory."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([c.header for c in columns])
    pending = 1
    first = True
    for record in records:
        writer.writerow([_csv_text(_export_value(c, record.get(c.key))) for c in columns])
        pending += 1
        if pending >= rows_per_block:
            yield buffer.getvalue().encode("utf-8-sig" if first else "utf-8")
            buffer.seek(0)
            buffer.truncate()
            pending, first = 0, False
    if pending or first:
        yield buffer.getvalue().encode("utf-8-sig" if first else "utf-8")


class TooManyRows(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} rows")
        self.limit = limit


def write_xlsx(
    records: Iterable[Mapping[str, Any]],
    columns: Sequence[Column],
    target: IO[bytes],
    *,
    max_rows: int,
    sheet_title: str = DATA_SHEET_TITLE,
    sample_rows: int = 200,
    title_rows: Sequence[str] = (),
) -> int:
    """The .xlsx `write_table` writes, for long lists: openpyxl's write-only mode streams the rows to a temporary
    file, so memory stays flat. Column widths are measured on the first `sample_rows`. Raises TooManyRows past
    `max_rows` (nothing useful has been written then). Returns the number of rows.

    `title_rows` go above the table, one line each in the first column (the first in bold), then a blank row:
    a report's name, figures and filters, for the person who prints it. The header and filter follow below."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title)
    rows = iter(records)
    sample = [[_export_value(c, record.get(c.key)) for c in columns] for record in itertools.islice(rows, sample_rows)]
    for index, column in enumerate(columns, start=1):
        longest = max([len(column.header), *(len(_shown_text(r[index - 1])) for r in sample)])
        sheet.column_dimensions[_column_letter(index)].width = min(max(longest + 2, 10), 60)
    header_row = len(title_rows) + 2 if title_rows else 1
    sheet.freeze_panes = f"A{header_row + 1}"
    bold = Font(bold=True)
    for number, line in enumerate(title_rows):
        title_cell = WriteOnlyCell(sheet, line)
        if number == 0:
            title_cell.font = bold
        sheet.append([title_cell])
    if title_rows:
        sheet.append([])
    header = []
    for title in (c.header for c in columns):
        cell = WriteOnlyCell(sheet, title)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    dates = {index for index, column in enumerate(columns) if column.kind == "date"}
    count = 0
    rest = ([_export_value(c, record.get(c.key)) for c in columns] for record in rows)
    for values in itertools.chain(sample, rest):
        count += 1
        if count > max_rows:
            sheet.close()  # finish the temporary file properly, then remove it
            sheet._writer.cleanup()
            raise TooManyRows(max_rows)
        sheet.append([_xlsx_cell(sheet, value, index in dates, WriteOnlyCell) for index, value in enumerate(values)])
    if count:
        sheet.auto_filter.ref = f"A{header_row}:{_column_letter(len(columns))}{header_row + count}"
    workbook.save(target)
    return count


def _xlsx_cell(sheet: Any, value: Any, is_date: bool, cell_type: Callable[[Any, Any], Any]) -> Any:
    """`cell_type` is openpyxl's WriteOnlyCell, passed in: importing it here would cost every cell a lookup."""
    if is_date and value is not None:
        cell = cell_type(sheet, value)
        cell.number_format = "DD/MM/YYYY"
        return cell
    if isinstance(value, str) and value.startswith("="):
        cell = cell_type(sheet, value)
        cell.data_type = "s"  # a name that starts with "=" is data, not a formula to run
        return cell
    return value


def template(columns: Sequence[Column], fmt: Format) -> bytes:
    """An empty import file; the .xlsx one has drop-down lists and a "Hướng dẫn" sheet describing each column.
    Export-only columns are left out: nobody is asked to type what the import does not read."""
    import openpyxl
    from openpyxl.worksheet.datavalidation import DataValidation
    from openpyxl.worksheet.worksheet import Worksheet

    columns = [c for c in columns if not c.export_only]
    if fmt == "csv":
        return _csv_bytes(columns, [])
    if fmt != "xlsx":
        raise ValueError(f"unknown format {fmt!r}")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert isinstance(sheet, Worksheet)
    sheet.title = DATA_SHEET_TITLE
    _fill_sheet(sheet, [c.header for c in columns], [])
    for index, column in enumerate(columns, start=1):
        letter = _column_letter(index)
        _as_typed_text(sheet, letter)
        labels = _labels(column)
        formula = '"' + ",".join(labels) + '"'
        if labels and len(formula) <= 255 and not any("," in label or '"' in label for label in labels):
            validation = DataValidation(
                type="list",
                formula1=formula,
                allow_blank=True,
                showErrorMessage=True,
                errorTitle=column.header,
                error="Chọn một giá trị trong danh sách: " + ", ".join(labels),
            )
            sheet.add_data_validation(validation)
            validation.add(f"{letter}2:{letter}{MAX_ROWS + 1}")

    guide = workbook.create_sheet(HELP_SHEET_TITLE)
    guide_rows = [
        [
            column.header,
            TRUE_LABEL if column.required else FALSE_LABEL,
            _describe_format(column),
            ", ".join(_labels(column)),
            column.help,
        ]
        for column in columns
    ]
    _fill_sheet(guide, ["Cột", "Bắt buộc", "Định dạng", "Giá trị cho phép", "Ghi chú"], guide_rows)
    return _xlsx_bytes(workbook)


PROBLEM_COLUMNS = [
    Column("row", "Dòng", "int"),
    Column("column", "Cột", "text"),
    Column("value", "Giá trị", "text"),
    Column("message", "Lỗi", "text"),
    Column("line", "Mô tả đầy đủ", "text"),
]


def write_problem_report(report: ValidationReport, fmt: Format) -> bytes:
    """The problems of a validation, one per line, for the officer who has to correct the file."""
    records = [
        {"row": p.row, "column": p.column_header, "value": p.value, "message": p.message, "line": str(p)}
        for p in report.problems
    ]
    return write_table(records, PROBLEM_COLUMNS, fmt, sheet_title="Lỗi")


CORRECTION_PROBLEMS_SHEET_TITLE = "Lỗi cần sửa"


def write_rows_to_correct(content: bytes, filename: str, report: ValidationReport) -> bytes:
    """The rows left out of an import, their cells exactly as sent, as an .xlsx to correct and upload again.

    The first sheet is what the importer reads: the file's own headers and only the rejected rows. The second
    lists each problem at the row it now has, so the officer fixes the cells in place rather than retyping them."""
    import openpyxl
    from openpyxl.worksheet.worksheet import Worksheet

    bad = set(report.bad_row_numbers)
    sent = [(number, cells) for number, cells in read_rows(content, filename) if number in bad]
    headers = list(dict.fromkeys(header for _, cells in sent for header in cells))
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert isinstance(sheet, Worksheet)
    sheet.title = DATA_SHEET_TITLE
    _fill_sheet(sheet, headers, [[cells.get(header, "") or None for header in headers] for _, cells in sent])
    for index in range(1, len(headers) + 1):
        _as_typed_text(sheet, _column_letter(index))
    new_row = {number: position for position, (number, _) in enumerate(sent, start=HEADER_ROW + 1)}
    problems = [
        [
            new_row.get(p.row) if p.row is not None else None,
            p.row,
            p.column_header or "",
            str(replace(p, row=None, column_header=None)),
        ]
        for p in report.problems
        if p.row in bad
    ]
    guide = workbook.create_sheet(CORRECTION_PROBLEMS_SHEET_TITLE)
    _fill_sheet(guide, ["Dòng trong tệp này", "Dòng trong tệp đã gửi", "Cột", "Lỗi"], problems)
    return _xlsx_bytes(workbook)


def _export_value(column: Column, value: Any) -> Any:
    if value is None or value == "":
        return None
    if column.kind == "date":
        return value.date() if isinstance(value, datetime) else value
    if column.kind == "bool":
        return TRUE_LABEL if value else FALSE_LABEL
    if column.kind == "choice":
        by_value = {v: label for label, v in (column.choices or {}).items()}
        return by_value.get(str(value), str(value))
    if column.kind == "int":
        return value
    return str(value)


def _csv_bytes(columns: Sequence[Column], rows: list[list[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([c.header for c in columns])
    for row in rows:
        writer.writerow([_csv_text(v) for v in row])
    # The BOM is what makes Excel read the file as UTF-8 rather than the Windows code page.
    return buffer.getvalue().encode("utf-8-sig")


def _csv_text(value: Any) -> str:
    text = _shown_text(value)
    return "'" + text if isinstance(value, str) and text.startswith(_FORMULA_STARTS) else text


def _shown_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def _fill_sheet(sheet: Worksheet, headers: list[str], rows: list[list[Any]]) -> None:
    from openpyxl.styles import Font

    sheet.append(headers)
    bold = Font(bold=True)
    for cell in sheet[1]:
        cell.font = bold
    for row_index, row in enumerate(rows, start=2):
        for col_index, value in enumerate(row, start=1):
            cell = sheet.cell(row=row_index, column=col_index, value=value)
            if isinstance(value, str) and cell.data_type == "f":
                cell.data_type = "s"  # a name that starts with "=" is data, not a formula to run
    sheet.freeze_panes = "A2"
    if rows:
        sheet.auto_filter.ref = f"A1:{_column_letter(len(headers))}{len(rows) + 1}"
    for index, header in enumerate(headers, start=1):
        longest = max([len(header), *(len(_shown_text(r[index - 1])) for r in rows)])
        sheet.column_dimensions[_column_letter(index)].width = min(max(longest + 2, 10), 60)


def _column_letter(index: int) -> str:
    """Excel's name of the column at 1-based `index`: A … Z, AA … (openpyxl's get_column_letter, without openpyxl)."""
    letters = ""
    while index > 0:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _as_typed_text(sheet: Worksheet, letter: str) -> None:
    # As text, a typed "05/09/1980" or "00123" stays as typed instead of being reinterpreted by Excel's locale.
    sheet.column_dimensions[letter].number_format = "@"


def _xlsx_bytes(workbook: openpyxl.Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _labels(column: Column) -> list[str]:
    if column.kind == "bool":
        return [TRUE_LABEL, FALSE_LABEL]
    return list(column.choices or {})


def _describe_format(column: Column) -> str:
    described = {
        "text": "Văn bản",
        "date": f"Ngày, dạng {DATE_FORMAT_HINT} (ví dụ 05/09/1980)",
        "bool": f'"{TRUE_LABEL}" hoặc "{FALSE_LABEL}" (cũng nhận "x", "1", "0")',
        "choice": "Một trong các giá trị cho phép",
        "int": "Số nguyên",
    }[column.kind]
    if column.max_length is not None:
        described += f", tối đa {column.max_length} ký tự"
    if column.pattern_hint:
        described += f"; {column.pattern_hint}"
    if column.unique:
        described += "; không được trùng trong tệp"
    return described


def _shorten(text: str) -> str:
    return text if len(text) <= _SHOWN_VALUE_LIMIT else text[: _SHOWN_VALUE_LIMIT - 1] + "…"


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".replace(".", ",").removesuffix(",0")


def _unreadable(message: str) -> UnreadableFile:
    return UnreadableFile(CellProblem(None, None, "", message))


def _too_many_rows(max_rows: int) -> UnreadableFile:
    limit = f"{max_rows:,}".replace(",", ".")
    return _unreadable(f"Tệp có hơn {limit} dòng dữ liệu, vượt giới hạn; hãy chia thành nhiều tệp nhỏ hơn.")
