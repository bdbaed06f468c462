"""Statements marked `server_prepared` (workflows/prepared.py): on PostgreSQL they run as EXECUTE of a statement
prepared once per connection, give exactly the rows the ordinary statement gives, and fall back to the ordinary
way whenever preparing is not possible — without harming the caller's transaction."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import bindparam, event, func, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from tests.fixtures.statements import statements_sent
from workflows import prepared
from workflows.db import make_engine, transaction
from workflows.prepared import server_prepared
from workflows.registry.models import OrgUnit

# Quotes, a backslash, a percent sign and Vietnamese: what psycopg's quoting must carry through EXECUTE untouched.
AWKWARD = 'Phòng 50% — O\'Brien \\ "trích dẫn" %(x)s $1'
ECHO = server_prepared(
    select(
        func.coalesce(bindparam("text_value", type_=OrgUnit.name.type), ""),
        bindparam("number", type_=OrgUnit.id.type) + 1,
        func.coalesce(bindparam("missing", type_=OrgUnit.name.type), "none"),
        func.coalesce(bindparam("moment", type_=OrgUnit.created_dt.type), None),
    )
)
UNITS_BY_CODE = server_prepared(select(OrgUnit.name).where(OrgUnit.code == bindparam("code")))
VALUES = {"text_value": AWKWARD, "number": 41, "missing": None, "moment": datetime(2026, 12, 3, 9, 45, 12)}


def _postgres_only(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("server-side prepared statements are PostgreSQL's")


def _server_statements(session: Session) -> set[str]:
    return set(session.scalars(text("SELECT name FROM pg_prepared_statements")))


def test_a_marked_statement_gives_the_same_row_either_way(db_engine: Engine) -> None:
    """On SQLite (and wherever preparing is off) the mark changes nothing; on PostgreSQL the prepared run gives the
    row the unmarked statement gives, awkward text included."""
    with Session(db_engine) as session:
        plain = session.execute(ECHO.execution_options(**{prepared.OPTION: False}), VALUES).one()
        for _ in range(3):  # the first run prepares, the next ones only execute
            assert session.execute(ECHO, VALUES).one() == plain
    assert tuple(plain) == (AWKWARD, 42, "none", VALUES["moment"])


def test_run_prepared_gives_the_rows_the_ordinary_statement_gives(db_engine: Engine) -> None:
    """`run_prepared` (the hot path's statements, past the Session): the same rows, awkward text included; on
    PostgreSQL as an EXECUTE, even for an unmarked statement."""
    unmarked = ECHO.execution_options(**{prepared.OPTION: False})
    with Session(db_engine) as session, statements_sent(db_engine) as recorded:
        plain = session.execute(unmarked, VALUES).one()
        for _ in range(2):
            assert tuple(prepared.run_prepared(session.connection(), unmarked, VALUES).one()) == tuple(plain)
    if db_engine.dialect.name == "postgresql":
        assert [s.split("(", 1)[0] for s in recorded.executed[1:]] == [recorded.executed[-1].split("(", 1)[0]] * 2
        assert recorded.executed[-1].startswith("EXECUTE canbo_"), recorded


def test_on_postgres_it_is_prepared_once_and_then_executed(db_engine: Engine) -> None:
    _postgres_only(db_engine)
    with Session(db_engine) as session, statements_sent(db_engine) as recorded:
        for _ in range(3):
            session.execute(ECHO, VALUES).one()
        assert all(statement.startswith("EXECUTE canbo_") for statement in recorded.executed), recorded
        name = recorded.executed[0].split("(", 1)[0].removeprefix("EXECUTE ")
        assert len(set(statement.split("(", 1)[0] for statement in recorded.executed)) == 1
        assert name in _server_statements(session)


def test_prepared_statements_outlive_rollbacks_and_serve_later_transactions(db_engine: Engine) -> None:
    _postgres_only(db_engine)
    engine = make_engine(db_engine.url.render_as_string(hide_password=False), pool_size=1, max_overflow=0)
    try:
        with Session(engine) as session:
            session.execute(UNITS_BY_CODE, {"code": "nothing"}).all()
            session.rollback()
            assert any(name in _server_statements(session) for name in prepared.forms_by_name)
        with Session(engine) as session, transaction(session), statements_sent(engine) as recorded:
            session.add(OrgUnit(code="PX1", name=AWKWARD, unit_type="commune", path="/"))
            session.flush()
            assert session.execute(UNITS_BY_CODE, {"code": "PX1"}).scalar_one() == AWKWARD
        assert [s for s in recorded.executed if "PREPARE" in s] == [] and any(
            s.startswith("EXECUTE") for s in recorded.executed
        )
    finally:
        engine.dispose()


def test_the_quoting_context_is_kept_per_connection_and_quotes_every_call_alike(db_engine: Engine) -> None:
    """The arguments' adaptation context lives with its DBAPI connection (found dumpers are kept between
    statements); the same values give the same row on every call, and a new connection starts its own context."""
    _postgres_only(db_engine)
    engine = make_engine(db_engine.url.render_as_string(hide_password=False), pool_size=1, max_overflow=0)
    try:
        with Session(engine) as session:
            expected = (AWKWARD, 42, "none", VALUES["moment"])
            rows = [tuple(session.execute(ECHO, VALUES).one()) for _ in range(3)]
            other = {**VALUES, "text_value": "khác", "number": 1, "missing": "có", "moment": None}
            assert tuple(session.execute(ECHO, other).one()) == ("khác", 2, "có", None)
            assert rows == [expected] * 3
            connection = session.connection().connection
            quoting = connection.info[prepared._QUOTING]
            assert tuple(session.execute(ECHO, VALUES).one()) == expected
            assert connection.info[prepared._QUOTING] is quoting
            connection.invalidate()  # as after a lost connection: the next statement runs on a new one
            session.rollback()
            assert tuple(session.execute(ECHO, VALUES).one()) == expected
            assert session.connection().connection.info[prepared._QUOTING] is not quoting
    finally:
        engine.dispose()


def test_a_statement_the_server_refuses_to_prepare_runs_unprepared_in_the_same_transaction(
    db_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server refuses the PREPARE (here a broken one stands in for a statement whose parameter types it cannot
    tell): the refusal happens in a savepoint, the statement runs the ordinary way, and what the transaction wrote
    before it is still there."""
    _postgres_only(db_engine)
    real_form = prepared.prepared_form

    def refused(sql: str) -> prepared.PreparedForm:
        form = real_form(sql)
        name = form.name + "_refused"
        return prepared.PreparedForm(name, f"PREPARE {name} AS SELECT no_such_column FROM org_units", form.parameters)

    monkeypatch.setattr(prepared, "prepared_form", refused)
    with Session(db_engine) as session, statements_sent(db_engine) as recorded:
        with transaction(session):
            session.add(OrgUnit(code="PX2", name="Trước", unit_type="commune", path="/"))
            session.flush()
            assert session.execute(UNITS_BY_CODE, {"code": "PX2"}).scalar_one() == "Trước"
            assert session.execute(UNITS_BY_CODE, {"code": "PX2"}).scalar_one() == "Trước"  # not tried again
        assert session.scalar(select(OrgUnit.name).where(OrgUnit.code == "PX2")) == "Trước"
    assert not any(statement.startswith("EXECUTE") for statement in recorded.executed)


def test_past_the_limit_statements_run_unprepared(db_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    _postgres_only(db_engine)
    monkeypatch.setattr(prepared, "PREPARED_PER_CONNECTION", 0)
    engine = make_engine(db_engine.url.render_as_string(hide_password=False))
    try:
        with Session(engine) as session, statements_sent(engine) as recorded:
            assert session.execute(ECHO, VALUES).one()[1] == 42
            assert _server_statements(session) == set()
        assert not any(statement.startswith(("EXECUTE", "PREPARE")) for statement in recorded.executed)
    finally:
        engine.dispose()


def test_with_automatic_preparation_on_nothing_is_prepared_by_us(db_engine: Engine) -> None:
    """An engine not configured by us keeps psycopg's own preparation, which would drop ours at a ROLLBACK."""
    _postgres_only(db_engine)
    engine = make_engine(db_engine.url.render_as_string(hide_password=False))

    @event.listens_for(engine, "connect")
    def automatic(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.prepare_threshold = 5

    try:
        with Session(engine) as session, statements_sent(engine) as recorded:
            assert session.execute(ECHO, VALUES).one()[1] == 42
        assert not any(statement.startswith("EXECUTE") for statement in recorded.executed)
    finally:
        engine.dispose()


def test_a_statement_already_prepared_on_the_session_is_used_in_the_same_transaction(db_engine: Engine) -> None:
    """The server already holds the statement but the connection's record does not say so (prepared by another
    path): the duplicate PREPARE is undone in its savepoint and the EXECUTE runs in the caller's transaction."""
    _postgres_only(db_engine)
    engine = make_engine(db_engine.url.render_as_string(hide_password=False), pool_size=1, max_overflow=0)
    try:
        with Session(engine) as session:
            session.execute(UNITS_BY_CODE, {"code": "nothing"}).all()
            session.connection().connection.info.clear()  # forget what this connection prepared
            session.rollback()
        with Session(engine) as session, statements_sent(engine) as recorded:
            with transaction(session):
                session.add(OrgUnit(code="PX3", name="Đã có", unit_type="commune", path="/"))
                session.flush()
                assert session.execute(UNITS_BY_CODE, {"code": "PX3"}).scalar_one() == "Đã có"
            assert session.scalar(select(OrgUnit.name).where(OrgUnit.code == "PX3")) == "Đã có"
        assert any(statement.startswith("EXECUTE canbo_") for statement in recorded.executed)
    finally:
        engine.dispose()


def test_fetch_rows_gives_the_rows_and_counts_of_the_ordinary_statement(db_engine: Engine) -> None:
    """`fetch_rows` (the engine's lock and write): the rows as tuples, awkward text included, and the count of rows
    a write changed; on PostgreSQL as an EXECUTE that the Connection's events still see."""
    unmarked = ECHO.execution_options(**{prepared.OPTION: False})
    rename = update(OrgUnit).where(OrgUnit.code == bindparam("v_code")).values(name=bindparam("v_name"))
    with Session(db_engine) as session, transaction(session), statements_sent(db_engine) as recorded:
        plain = tuple(session.execute(unmarked, VALUES).one())
        session.add_all(OrgUnit(code=f"PF{n}", name="Cũ", unit_type="commune", path="/") for n in (1, 2))
        session.flush()
        fetched = prepared.fetch_rows(session.connection(), unmarked, VALUES)
        changed = prepared.fetch_rows(session.connection(), rename, {"v_code": "PF1", "v_name": AWKWARD})
        unchanged = prepared.fetch_rows(session.connection(), rename, {"v_code": "PF9", "v_name": "x"})
    assert [tuple(row) for row in fetched.rows] == [plain]
    assert (changed.rows, changed.rowcount, unchanged.rows, unchanged.rowcount) == ([], 1, [], 0)
    with Session(db_engine) as session:
        assert session.scalar(select(OrgUnit.name).where(OrgUnit.code == "PF1")) == AWKWARD
    if db_engine.dialect.name == "postgresql":
        assert sum(statement.startswith("EXECUTE canbo_") for statement in recorded.executed) == 3, recorded


def test_fetch_rows_raises_database_errors_as_any_statement_does(db_engine: Engine) -> None:
    """A failing statement surfaces as SQLAlchemy's error (what the app's handlers and the Session's rollback
    expect), and the session is usable after its rollback."""
    failing = select(bindparam("number", type_=OrgUnit.id.type) / 0)
    with Session(db_engine) as session:
        if db_engine.dialect.name == "postgresql":
            with pytest.raises(DBAPIError) as raised:
                prepared.fetch_rows(session.connection(), failing, {"number": 1})
            assert "division by zero" in str(raised.value.orig)
            session.rollback()
        assert session.execute(ECHO, VALUES).one()[1] == 42


def test_a_lost_connection_is_reported_as_sqlalchemy_reports_it(db_engine: Engine) -> None:
    """The server ends the connection (a restart, a failover) before the PREPARE of a statement or before its
    EXECUTE: either way the error is SQLAlchemy's OperationalError — the one the app answers with 503 — and the
    next session works on a new connection."""
    _postgres_only(db_engine)
    engine = make_engine(db_engine.url.render_as_string(hide_password=False), pool_size=1, max_overflow=0)
    try:
        runs: list[tuple[Any, bool]] = [
            (prepared.fetch_rows, False),
            (prepared.fetch_rows, True),
            (prepared.run_prepared, False),
            (prepared.run_prepared, True),
        ]
        for run, prepare_first in runs:
            session = Session(engine)
            backend = session.scalar(text("SELECT pg_backend_pid()"))
            if prepare_first:
                run(session.connection(), UNITS_BY_CODE, {"code": "nothing"})
            with db_engine.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
            with pytest.raises(OperationalError):
                run(session.connection(), UNITS_BY_CODE, {"code": "nothing"})
            with contextlib.suppress(OperationalError):  # its closing ROLLBACK meets the dead connection too
                session.close()
            with Session(engine) as session:
                assert session.scalar(text("SELECT pg_backend_pid()")) != backend
                answer = run(session.connection(), UNITS_BY_CODE, {"code": "nothing"})
                assert (answer.rows if isinstance(answer, prepared.Rows) else answer.all()) == []
    finally:
        engine.dispose()
