"""Server-side prepared statements on PostgreSQL, for the statements every request repeats (decisions 0017, 0028).

Parsing and planning a statement cost the server more than running it for the small reads and writes a request
makes: the planner alone took 0.2–0.9 ms per statement against 0.04–0.15 ms of execution (pg_stat_statements, issue
#9 load). So a statement marked `server_prepared(statement)` is prepared once per connection with SQL `PREPARE`
and then run as `EXECUTE name(arguments)`, the arguments quoted by psycopg.

psycopg's own automatic preparation cannot do this: it forgets every prepared statement at each ROLLBACK, which
every read-only request ends with, and drops them from the server then (DEALLOCATE ALL). It is turned off on our
engines (`workflows.db.configure_engine`), which is also what keeps these alive; on a connection where it is on,
or on SQLite, a marked statement simply runs the ordinary way.

Mark statements whose SQL text is fixed (built once, bound parameters only): each distinct text is one more
prepared statement on every connection, and past `PREPARED_PER_CONNECTION` the rest run unprepared.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

import psycopg
from psycopg import pq
from psycopg.adapt import Transformer
from sqlalchemy import Connection, CursorResult, Engine, event
from sqlalchemy.sql import Executable

OPTION = "canbo_server_prepared"
PREPARED_PER_CONNECTION = 200
_ON_CONNECTION = "canbo_prepared_statements"  # names prepared on this DBAPI connection (cleared on reconnect)
_QUOTING = "canbo_quoting"  # the connection's (Transformer, encoding) for the EXECUTE's arguments
_PLACEHOLDER = re.compile(r"%\(([^)]+)\)s")

E = TypeVar("E", bound=Executable)


def server_prepared(statement: E) -> E:
    """The statement, marked to run as a server-side prepared statement on PostgreSQL."""
    return statement.execution_options(**{OPTION: True})


@dataclass(frozen=True)
class PreparedForm:
    name: str
    prepare: str  # PREPARE name AS <the statement with $1 … $n>
    parameters: tuple[str, ...]  # the bind parameter behind $1 … $n


# Every SQL text seen, by text and by name; texts come from statements built once, so these stay small.
_forms: dict[str, PreparedForm] = {}
forms_by_name: dict[str, PreparedForm] = {}
_not_preparable: set[str] = set()  # names the server refused to prepare (a parameter whose type it cannot tell)


def prepared_form(sql: str) -> PreparedForm:
    """The PREPARE for a statement as SQLAlchemy compiles it for psycopg (`%(name)s` parameters, `%%` for %)."""
    form = _forms.get(sql)
    if form is not None:
        return form
    parameters: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in parameters:
            parameters.append(match.group(1))
        return f"${parameters.index(match.group(1)) + 1}"

    text = _PLACEHOLDER.sub(number, sql).replace("%%", "%")
    name = "canbo_" + hashlib.sha256(text.encode()).hexdigest()[:16]
    form = PreparedForm(name, f"PREPARE {name} AS {text}", tuple(parameters))
    _forms[sql] = forms_by_name[name] = form
    return form


def _prepare(raw: psycopg.Connection[Any], form: PreparedForm) -> bool:
    """PREPARE on the connection; False when the server refuses. Inside a transaction the attempt runs in a
    savepoint, so that a refusal leaves the caller's transaction usable (it then runs the statement unprepared)."""
    guarded = not raw.autocommit
    if guarded:
        raw.execute("SAVEPOINT canbo_prepare")
    try:
        raw.execute(form.prepare.encode())
    except psycopg.errors.DuplicatePreparedStatement:
        usable = True  # prepared on this session by a path that did not record it: usable all the same
    except (psycopg.ProgrammingError, psycopg.DataError, psycopg.NotSupportedError):
        usable = False  # the server refuses this statement; a lost connection is not caught here
        _not_preparable.add(form.name)
    else:
        if guarded:
            raw.execute("RELEASE SAVEPOINT canbo_prepare")
        return True
    if guarded:
        raw.execute("ROLLBACK TO SAVEPOINT canbo_prepare")
        raw.execute("RELEASE SAVEPOINT canbo_prepare")
    return usable


def execute_call(info: dict[str, Any], raw: Any, sql: str, values: Mapping[str, Any]) -> str | None:
    """`EXECUTE name(arguments)` running `sql` with `values` on `raw` (psycopg), preparing it there first if
    needed; None when it should run the ordinary way (automatic preparation on, too many prepared, refused).

    `info` is the pool's per-connection dictionary, which starts empty on every new DBAPI connection."""
    if not isinstance(raw, psycopg.Connection) or raw.prepare_threshold is not None:
        return None
    form = prepared_form(sql)
    if form.name in _not_preparable:
        return None
    prepared: set[str] = info.setdefault(_ON_CONNECTION, set())
    if form.name not in prepared:
        if len(prepared) >= PREPARED_PER_CONNECTION or not _prepare(raw, form):
            return None
        prepared.add(form.name)
    if not form.parameters:
        return f"EXECUTE {form.name}"
    # One adaptation context per connection, kept with it: a Transformer finds the dumper of each type the first
    # time it meets it (an enum 24 µs, a datetime 20 µs), so a fresh one per call — `psycopg.sql.quote` even builds
    # one per argument — paid that again on every statement: 0.13 ms of the write's 0.2 ms (issue #9).
    quoting = info.get(_QUOTING)
    if quoting is None:
        quoting = info[_QUOTING] = (Transformer.from_context(raw), raw.info.encoding)
    adapt, encoding = quoting
    arguments = ", ".join(adapt.as_literal(values[name]).decode(encoding) for name in form.parameters)
    return f"EXECUTE {form.name}({arguments})"


def install(engine: Engine) -> None:
    """Run statements marked `server_prepared` on `engine` (PostgreSQL) as prepared statements."""

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def _run_prepared(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> tuple[str, Any]:
        if executemany or context is None or not context.execution_options.get(OPTION):
            return statement, parameters
        call = execute_call(conn.connection.info, cursor.connection, statement, parameters or {})
        if call is None:
            return statement, parameters
        return call, None


# -- statements run without SQLAlchemy's per-call work ------------------------------------------------------------
# The hot path's own statements (the engine's lock and write, the completion's reply) are compiled once per
# statement object and sent as a plain EXECUTE: SQLAlchemy then does no per-call work on them at all, not even the
# cache-key lookup and result set-up a marked statement goes through in a Session (decision 0017). Their rows come
# back without SQLAlchemy's result processing, so they must select only what psycopg returns as it is wanted
# (numbers, text, timestamps).

_compiled: dict[int, tuple[Any, Any]] = {}


def _compiled_form(statement: Any, dialect: Any) -> Any:
    cached = _compiled.get(id(statement))
    if cached is not None and cached[0] is statement:
        return cached[1]
    compiled = statement.compile(dialect=dialect)
    _compiled[id(statement)] = (statement, compiled)  # statements are built once and live as long as the process
    return compiled


def run_prepared(connection: Connection, statement: Any, params: Mapping[str, Any]) -> CursorResult[Any]:
    """Run a statement built once; on PostgreSQL as a server-side prepared statement, elsewhere the ordinary way."""
    if connection.dialect.name != "postgresql":
        return connection.execute(statement, dict(params))
    call = _call_for(connection, statement, params)
    if call is None:
        return connection.execute(statement, dict(params))
    return connection.exec_driver_sql(call, execution_options={"no_parameters": True})


def _call_for(connection: Connection, statement: Any, params: Mapping[str, Any]) -> str | None:
    """The EXECUTE for `statement` on this connection, preparing it first if needed. The PREPARE is the first
    statement a fresh connection sends for it: an error there is raised as SQLAlchemy raises any statement's
    (a psycopg error as such would slip past the handlers that answer 503 while the database is away)."""
    compiled = _compiled_form(statement, connection.dialect)
    raw = connection.connection.dbapi_connection
    values = compiled.construct_params(dict(params))
    try:
        return execute_call(connection.connection.info, raw, compiled.string, values)
    except psycopg.Error as error:
        connection._handle_dbapi_exception(error, compiled.string, values, None, None)


class Rows(NamedTuple):
    """What a statement of the hot path returns: its rows as plain tuples, and how many rows it changed."""

    rows: list[Any]
    rowcount: int


def _rows_of(result: CursorResult[Any]) -> Rows:
    return Rows(list(result) if result.returns_rows else [], result.rowcount)


def fetch_rows(connection: Connection, statement: Any, params: Mapping[str, Any]) -> Rows:
    """`run_prepared`, with the rows read straight from the driver's cursor instead of through a result object.

    A result object asks psycopg for the cursor's description and builds its column map from it, on every call:
    for the lock's 42 columns that was about 0.1 ms of the 0.15 ms its call cost the app (issue #9). The rows
    are read by position, so neither is needed. The statement still goes through the Connection's own cursor
    execution: its events fire (prepared statements, statement recording in tests) and an error, a lost
    connection included, is raised as SQLAlchemy raises any statement's. Elsewhere (SQLite, or a statement that
    runs the ordinary way) the rows come from an ordinary result."""
    if connection.dialect.name != "postgresql" or not connection.in_transaction():
        return _rows_of(connection.execute(statement, dict(params)))
    call = _call_for(connection, statement, params)
    if call is None:
        return _rows_of(connection.execute(statement, dict(params)))
    raw: psycopg.Connection[Any] = connection.connection.dbapi_connection  # type: ignore[assignment]
    cursor = raw.cursor()
    try:
        connection._cursor_execute(cursor, call, None)  # type: ignore[arg-type]
        answer = cursor.pgresult
        rows: list[Any] = cursor.fetchall() if answer is not None and answer.status == pq.ExecStatus.TUPLES_OK else []
        return Rows(rows, cursor.rowcount)
    finally:
        cursor.close()
