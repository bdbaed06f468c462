"""Creating accounts in bulk (workflows/registry/account_import.py) on the test database, with the real
`create_user` behind every row."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.fixtures.statements import statements_sent
from workflows.errors import NotAllowed
from workflows.registry import accounts
from workflows.registry.account_import import USER_COLUMNS, import_users
from workflows.registry.importing import ImportRefused
from workflows.registry.models import User
from workflows.registry.tabular import write_table


def _rows(count: int, start: int = 0) -> list[dict[str, str]]:
    return [
        {"username": f"tk{n:05d}", "role": "officer", "unit_code": "X001", "full_name": f"Người {n}"}
        for n in range(start, start + count)
    ]


def _import(session: Session, records: list[dict[str, str]], fmt: str = "csv", **options: bool) -> int:
    content = write_table(records, USER_COLUMNS, "xlsx" if fmt == "xlsx" else "csv")
    result = import_users(session, None, content, f"tai-khoan.{fmt}", **options)
    session.commit()
    return len(result.created)


def test_an_xlsx_file_is_read_like_a_csv(session: Session, demo_users: dict) -> None:
    assert _import(session, _rows(2), "xlsx") == 2
    assert session.scalar(select(func.count()).where(User.username.in_(["tk00000", "tk00001"]))) == 2


def test_the_statements_grow_by_a_fixed_few_per_account(
    session: Session, db_engine: Engine, demo_users: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Argon2 is slow on purpose and sends nothing to the database: this test counts statements, not hashing time.
    monkeypatch.setattr(accounts, "hash_password", lambda password: f"hash:{password}")
    with statements_sent(db_engine) as ten:
        _import(session, _rows(10))
    with statements_sent(db_engine) as thirty:
        _import(session, _rows(30, start=100))
    per_account = (len(thirty.statements) - len(ten.statements)) / 20
    assert per_account == int(per_account) and per_account <= 10, str(thirty)


def test_only_an_administrator_may_import(session: Session, demo_users: dict) -> None:
    officer = session.scalar(select(User).where(User.username == "officer1"))
    content = write_table(_rows(1), USER_COLUMNS, "csv")
    with pytest.raises(NotAllowed):
        import_users(session, officer, content, "tai-khoan.csv")


def test_an_administrator_imports_and_a_bad_row_is_named_by_row_and_column(
    session_factory: sessionmaker[Session], demo_users: dict
) -> None:
    with session_factory() as session:
        admin = session.scalar(select(User).where(User.username == "admin"))
        content = write_table(_rows(1), USER_COLUMNS, "csv")
        assert len(import_users(session, admin, content, "tai-khoan.csv").created) == 1
        session.rollback()
        bad = write_table([{**_rows(1)[0], "username": "Sai Ten"}], USER_COLUMNS, "csv")
        with pytest.raises(ImportRefused) as refused:
            import_users(session, admin, bad, "tai-khoan.csv")
        assert [(p.row, p.column_header) for p in refused.value.report.problems] == [(2, "Tên đăng nhập")]
