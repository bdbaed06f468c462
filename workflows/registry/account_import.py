"""Creating many sign-in accounts at once, from a file or from a unit's cadre records (decision 0116).

Every account goes through `accounts.create_user`, the function `canbo users create` and the admin page call: the
same checks, the same messages, the same audit event per account, the same temporary password the person replaces
at the first sign-in. The file is read and checked by the cadre import's engine (`tabular`), so a bad cell is
reported at its row and column, and nothing is created unless every row is good (or the bad rows are skipped).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.access import in_subtree
from workflows.errors import Invalid, Problem
from workflows.registry.accounts import USERNAME_LIMIT, create_user
from workflows.registry.importing import ImportRefused, refused_row_problems
from workflows.registry.models import Cadre, OrgUnit, User
from workflows.registry.tabular import CellProblem, Column, ParsedRow, ValidationReport, read_rows, validate
from workflows.states import Role

USER_COLUMNS: list[Column] = [
    Column(
        "username",
        "Tên đăng nhập",
        "text",
        required=True,
        max_length=USERNAME_LIMIT,
        unique=True,
        help="Chữ Latin a-z, chữ số, dấu '.', '-' và '_'; không trùng với tài khoản đã có.",
    ),
    Column(
        "role",
        "Vai trò",
        "choice",
        required=True,
        choices={role.value: role.value for role in Role},
        help="Vai trò đầu tiên của tài khoản, tại đơn vị ở cột Mã đơn vị.",
    ),
    Column("unit_code", "Mã đơn vị", "text", required=True, help="Mã đơn vị của tài khoản (`canbo units list`)."),
    Column(
        "cadre_code",
        "Mã cán bộ",
        "text",
        unique=True,
        help="Mã hồ sơ cán bộ của người này, nếu có; mỗi hồ sơ chỉ có một tài khoản.",
    ),
    Column("full_name", "Họ và tên", "text", required=True),
    Column("email", "Email", "text", help="Địa chỉ nhận thông báo; để trống nếu chưa có."),
]

# The column a problem `create_user` finds is shown under.
_FIELD_HEADERS = {c.key: c.header for c in USER_COLUMNS} | {"unit_id": "Mã đơn vị"}


@dataclass(frozen=True)
class NewAccount:
    """A created account and its temporary password, to hand to the person (only its hash is stored)."""

    username: str
    full_name: str
    unit_code: str
    password: str


@dataclass
class UserImportResult:
    report: ValidationReport
    created: list[NewAccount] = field(default_factory=list)
    skipped_rows: list[int] = field(default_factory=list)


def _unit_check(units: Mapping[str, int]) -> Callable[[int, dict[str, Any]], list[CellProblem]]:
    def check(row_number: int, values: dict[str, Any]) -> list[CellProblem]:
        code = values.get("unit_code")
        if isinstance(code, str) and code.upper() not in units:
            return [CellProblem(row_number, _FIELD_HEADERS["unit_code"], code, "không có trong hệ thống.")]
        return []

    return check


def create_accounts(
    session: Session,
    actor: User | None,
    rows: Iterable[ParsedRow],
    report: ValidationReport,
    *,
    skip_bad_rows: bool,
    reason: str | None = None,
    explain: Callable[[Problem], str] = lambda problem: problem.explained,
) -> UserImportResult:
    """`create_user` for each row (values keyed as USER_COLUMNS). A row it refuses becomes a problem at that row,
    under the column the field comes from; then ImportRefused unless `skip_bad_rows`. `create_user` checks
    everything before it writes, so a refused row leaves nothing behind."""
    units = dict(session.execute(select(OrgUnit.code, OrgUnit.id)).tuples().all())
    result = UserImportResult(report=report, skipped_rows=report.bad_row_numbers)
    refused: list[CellProblem] = []
    for row in rows:
        values = row.values
        unit_code = str(values["unit_code"]).upper()
        try:
            user, password = create_user(
                session,
                actor,
                username=values["username"],
                full_name=values["full_name"],
                email=values.get("email"),
                cadre_code=values.get("cadre_code"),
                role=values["role"],
                unit_id=units.get(unit_code),
                reason=reason,
            )
        except Invalid as error:
            refused.extend(refused_row_problems(row, error, explain, _FIELD_HEADERS))
            continue
        result.created.append(NewAccount(user.username, user.full_name, unit_code, password))
    if refused:
        report.problems.extend(refused)
        report.problems.sort(key=lambda p: p.row or 0)
        if not skip_bad_rows:
            raise ImportRefused(report)
        result.skipped_rows = report.bad_row_numbers
    return result


def import_users(
    session: Session,
    actor: User | None,
    content: bytes,
    filename: str,
    *,
    skip_bad_rows: bool = False,
    reason: str | None = None,
    on_progress: Callable[[int, int], None] | None = None,
    explain: Callable[[Problem], str] = lambda problem: problem.explained,
) -> UserImportResult:
    """Check the whole file, then create an account per row. Raises ImportRefused when a row has a problem, unless
    `skip_bad_rows` (then the good rows' accounts are created and the bad rows reported); the caller rolls back.

    The rows whose cells are good go through `create_user` even when other rows are bad, so that one pass lists
    every problem of the file (a taken username, a cadre that has an account) and not only the first kind."""
    units = dict(session.execute(select(OrgUnit.code, OrgUnit.id)).tuples().all())
    report = validate(
        read_rows(content, filename), USER_COLUMNS, extra_checks=_unit_check(units), on_progress=on_progress
    )
    if report.file_problems:
        raise ImportRefused(report)
    result = create_accounts(
        session, actor, report.good_rows, report, skip_bad_rows=True, reason=reason, explain=explain
    )
    if not report.ok and not skip_bad_rows:
        raise ImportRefused(report)
    return result


def cadres_without_account(session: Session, unit_id: int) -> list[Cadre]:
    """The active cadres of the unit and the units below it who have no sign-in account, by code."""
    has_account = select(User.id).where(User.cadre_id == Cadre.id).exists()
    query = (
        select(Cadre)
        .join(OrgUnit, OrgUnit.id == Cadre.unit_id)
        .where(in_subtree(OrgUnit, unit_id), Cadre.is_active, ~has_account)
        .order_by(Cadre.code)
    )
    return list(session.scalars(query))


def accounts_for_cadres(
    session: Session,
    actor: User | None,
    unit_id: int,
    *,
    role: str = Role.OFFICER.value,
    skip_bad_rows: bool = False,
    reason: str | None = None,
    explain: Callable[[Problem], str] = lambda problem: problem.explained,
) -> UserImportResult:
    """An account with `role` in their own unit for every active cadre of the unit's subtree who has none, named
    after the cadre code in lower case (codes are upper-case letters, digits and '-': valid usernames). A code whose
    name another account already has is a problem like a bad row of a file; the rows are numbered from 2 in code
    order, as in a file with a header."""
    units = {unit.id: unit.code for unit in session.scalars(select(OrgUnit))}
    rows = [
        ParsedRow(
            number,
            {
                "username": cadre.code.lower(),
                "role": role,
                "unit_code": units[cadre.unit_id],
                "cadre_code": cadre.code,
                "full_name": cadre.full_name,
            },
        )
        for number, cadre in enumerate(cadres_without_account(session, unit_id), start=2)
    ]
    report = ValidationReport(rows=rows)
    return create_accounts(session, actor, rows, report, skip_bad_rows=skip_bad_rows, reason=reason, explain=explain)
