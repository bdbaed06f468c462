"""Importing and exporting cadre lists: the whole file is validated first, then written through the records API
(every change audited), matched on the cadre code so re-importing the same file changes nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from workflows.access import oversees_unit
from workflows.errors import Invalid, Problem
from workflows.registry.cadre_columns import CADRE_COLUMNS, CADRE_EXPORT_COLUMNS, age_on, cadre_extra_checks
from workflows.registry.models import Cadre, CadrePosition, OrgUnit, Position, User
from workflows.registry.records import create_cadre, update_cadre
from workflows.registry.tabular import (
    CellProblem,
    Format,
    ParsedRow,
    ValidationReport,
    read_rows,
    validate,
    write_table,
)
from workflows.states import Role

UNIT_HEADER = next(c.header for c in CADRE_COLUMNS if c.key == "unit_code")
HOMETOWN_HEADER = next(c.header for c in CADRE_COLUMNS if c.key == "hometown_unit_code")
IMPORT_ROLES = (Role.PERSONNEL, Role.ADMIN)


class ImportRefused(Invalid):
    """The file has problems and nothing was imported; `report` lists every one."""

    def __init__(self, report: ValidationReport) -> None:
        super().__init__(
            "the file has problems; nothing was imported",
            [Problem(str(problem)) for problem in report.problems],
        )
        self.report = report


@dataclass
class ImportResult:
    report: ValidationReport
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped_rows: list[int] = field(default_factory=list)
    # Rows whose Email cell differs from the e-mail of the cadre's sign-in account: that e-mail is the person's own
    # (set on their profile, where their notifications go), so the import leaves it and says which rows it left.
    email_rows: list[int] = field(default_factory=list)


# The header a record field is shown under, for a problem `create_cadre`/`update_cadre` find in a row.
_FIELD_HEADERS = {c.key: c.header for c in CADRE_COLUMNS} | {
    "unit_id": UNIT_HEADER,
    "hometown_unit_id": HOMETOWN_HEADER,
}
_OPTIONAL_FLAGS = ("is_party_member", "is_science_technology")


def _unit_checks(
    session: Session, actor: User | None, units: Mapping[str, int]
) -> Callable[[int, Mapping[str, Any]], list[CellProblem]]:
    allowed: dict[int, bool] = {}

    def may_write(unit_id: int) -> bool:
        if actor is None:
            return True
        if unit_id not in allowed:
            allowed[unit_id] = oversees_unit(session, actor, unit_id, IMPORT_ROLES)
        return allowed[unit_id]

    def check(row_number: int, values: Mapping[str, Any]) -> list[CellProblem]:
        problems = []
        code = values.get("unit_code")
        if isinstance(code, str):
            if code not in units:
                problems.append(CellProblem(row_number, UNIT_HEADER, code, "không có trong hệ thống."))
            elif not may_write(units[code]):
                problems.append(CellProblem(row_number, UNIT_HEADER, code, "nằm ngoài phạm vi bạn được cập nhật."))
        hometown = values.get("hometown_unit_code")
        if isinstance(hometown, str) and hometown not in units:
            problems.append(CellProblem(row_number, HOMETOWN_HEADER, hometown, "không có trong hệ thống."))
        return problems

    return check


def _record_values(row: ParsedRow, units: Mapping[str, int], is_new: bool) -> dict[str, Any]:
    """File values → record fields. A column the file does not have is left alone (not blanked)."""
    values: dict[str, Any] = dict(row.values)
    values.pop("email", None)  # belongs to the linked user account, not to the cadre record
    if "unit_code" in values:
        values["unit_id"] = units[values.pop("unit_code")]
    if "hometown_unit_code" in values:
        code = values.pop("hometown_unit_code")
        values["hometown_unit_id"] = units[code] if code else None
    # A blank "Đảng viên" or "Khoa học - công nghệ" cell is not known to be "Có": a new record starts at "Không" (the
    # record's default), an existing one keeps what it has, so importing the same file again changes nothing. A blank
    # "Dân tộc" stays blank (unknown) like any other text cell: nothing is made up.
    for flag in _OPTIONAL_FLAGS:
        if values.get(flag) is None:
            if is_new:
                values[flag] = False
            else:
                values.pop(flag, None)
    return values


def refused_row_problems(
    row: ParsedRow, error: Invalid, explain: Callable[[Problem], str], headers: Mapping[str, str]
) -> list[CellProblem]:
    """What a service refused in a row, at that row and under the column (`headers`: field → header) the field
    comes from."""
    problems = error.problems or [Problem(error.message, message_args=error.message_args)]
    return [CellProblem(row.row_number, headers.get(p.field or ""), "", explain(p).rstrip(".") + ".") for p in problems]


def _differing_emails(session: Session, rows: Iterable[ParsedRow]) -> list[int]:
    with_email = [row for row in rows if "email" in row.values]
    if not with_email:
        return []
    codes = [str(row.values["code"]) for row in with_email]
    accounts = dict(
        session.execute(
            select(Cadre.code, User.email).join(User, User.cadre_id == Cadre.id).where(Cadre.code.in_(codes))
        )
        .tuples()
        .all()
    )

    def same(given: object, stored: str | None) -> bool:
        return (str(given or "").strip().casefold()) == (stored or "").strip().casefold()

    return [
        row.row_number for row in with_email if not same(row.values["email"], accounts.get(str(row.values["code"])))
    ]


def import_cadres(
    session: Session,
    actor: User | None,
    content: bytes,
    filename: str,
    *,
    today: date,
    skip_bad_rows: bool = False,
    on_progress: Callable[[int, int], None] | None = None,
    explain: Callable[[Problem], str] = lambda problem: problem.explained,
) -> ImportResult:
    """Validate everything, then create or update each cadre by code. Raises ImportRefused (nothing written)
    when the file has problems, unless `skip_bad_rows` (then the good rows are imported and reported).

    A row the records API still refuses is such a problem too, at its row and column; `explain` says the API's
    message in the reader's language (the web layer's catalog; English by default)."""
    units = dict(session.execute(select(OrgUnit.code, OrgUnit.id)).tuples().all())
    base_checks = cadre_extra_checks(today)
    unit_checks = _unit_checks(session, actor, units)

    def checks(row_number: int, values: dict[str, Any]) -> list[CellProblem]:
        return [*base_checks(row_number, values), *unit_checks(row_number, values)]

    # The export's columns: an exported list comes back with its read-only columns, which are accepted and ignored.
    report = validate(read_rows(content, filename), CADRE_EXPORT_COLUMNS, extra_checks=checks, on_progress=on_progress)
    if not report.ok and (not skip_bad_rows or report.file_problems):
        raise ImportRefused(report)
    result = ImportResult(report=report, skipped_rows=report.bad_row_numbers)
    codes = [str(row.values["code"]) for row in report.good_rows]
    existing = {c.code: c for c in session.scalars(select(Cadre).where(Cadre.code.in_(codes)))} if codes else {}
    refused: list[CellProblem] = []
    for row in report.good_rows:
        cadre = existing.get(str(row.values["code"]))
        # Both calls check everything before they write anything, so a refused row leaves nothing behind.
        try:
            if cadre is None:
                create_cadre(session, actor, _record_values(row, units, is_new=True))
                result.created += 1
            elif update_cadre(session, actor, cadre, _record_values(row, units, is_new=False)):
                result.updated += 1
            else:
                result.unchanged += 1
        except Invalid as error:
            refused.extend(refused_row_problems(row, error, explain, _FIELD_HEADERS))
    if refused:
        report.problems.extend(refused)
        report.problems.sort(key=lambda p: p.row or 0)
        if not skip_bad_rows:
            raise ImportRefused(report)
        result.skipped_rows = report.bad_row_numbers
    result.email_rows = _differing_emails(session, report.good_rows)
    return result


def cadre_rows(session: Session, cadres: Iterable[Cadre], today: date) -> list[dict[str, Any]]:
    """The export's rows (CADRE_EXPORT_COLUMNS): the record's fields, and beside them what leaders read — the
    unit's name, the posts held now, the age on `today` — in three statements whatever the number of cadres."""
    cadres = list(cadres)
    units = {
        unit_id: (code, name) for unit_id, code, name in session.execute(select(OrgUnit.id, OrgUnit.code, OrgUnit.name))
    }
    ids = [cadre.id for cadre in cadres]
    emails: dict[int | None, str | None] = {}
    posts: dict[int, list[str]] = {}
    if ids:
        emails = dict(session.execute(select(User.cadre_id, User.email).where(User.cadre_id.in_(ids))).tuples().all())
        held = session.execute(
            select(CadrePosition.cadre_id, Position.title)
            .join(Position, CadrePosition.position_id == Position.id)
            .where(
                CadrePosition.cadre_id.in_(ids),
                CadrePosition.started_on <= today,  # a decision may take effect later: not held yet
                or_(CadrePosition.ended_on.is_(None), CadrePosition.ended_on > today),
            )
            .order_by(CadrePosition.cadre_id, CadrePosition.started_on, CadrePosition.id)
        )
        for cadre_id, title in held:
            posts.setdefault(cadre_id, []).append(title)
    rows = []
    for cadre in cadres:
        row = {column.key: getattr(cadre, column.key, None) for column in CADRE_COLUMNS}
        unit_code, unit_name = units.get(cadre.unit_id, (None, None))
        row["unit_code"] = unit_code
        row["unit_name"] = unit_name
        row["hometown_unit_code"] = units[cadre.hometown_unit_id][0] if cadre.hometown_unit_id in units else None
        row["email"] = emails.get(cadre.id)
        row["age"] = age_on(cadre.birth_date, today) if cadre.birth_date else None
        row["retirement_date"] = cadre.retirement_date
        row["current_posts"] = "; ".join(posts.get(cadre.id, [])) or None
        rows.append(row)
    return rows


def export_cadres(session: Session, fmt: Format, today: date, cadres: Iterable[Cadre] | None = None) -> bytes:
    """The import template's columns and, beside them, read-only ones the import ignores (CADRE_EXPORT_COLUMNS), so
    an export can be edited and imported back."""
    if cadres is None:
        cadres = session.scalars(select(Cadre).order_by(Cadre.code))
    return write_table(cadre_rows(session, cadres, today), CADRE_EXPORT_COLUMNS, fmt)
