"""SQLAlchemy base and engine set-up shared by the services, the web app (through Flask-SQLAlchemy) and the CLI."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, MetaData, create_engine, event, func
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker

from workflows import prepared
from workflows.text import FOLD_FROM, FOLD_TO

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _unicode_lower(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _translate(value: Any, source: Any, target: Any) -> Any:
    """PostgreSQL's translate(): each character of `source` becomes the one at its place in `target`."""
    if not isinstance(value, str):
        return value
    return value.translate(str.maketrans(source, target[: len(source)], source[len(target) :]))


def folded(expression: Any) -> ColumnElement[str]:
    """`text.comparable` in SQL — lower case, Vietnamese marks dropped — for the searches that filter rows by what a
    person types ("hoa" finds Đỗ Thị Hoa); SQLite gets the `translate` above."""
    return func.translate(func.lower(expression), FOLD_FROM, FOLD_TO)


def is_sqlite(engine_or_session: Engine | Session) -> bool:
    bind = engine_or_session.get_bind() if isinstance(engine_or_session, Session) else engine_or_session
    return bind.dialect.name == "sqlite"


_configured_engines: weakref.WeakSet[Engine] = weakref.WeakSet()


def configure_engine(engine: Engine) -> Engine:
    """Give SQLite the behaviour the services rely on; on PostgreSQL turn psycopg's automatic preparation off.

    SQLite: WAL (readers never block the writer), foreign keys on, and every transaction starts with
    BEGIN IMMEDIATE so that the instance being advanced is locked from the first statement — a deferred
    transaction would fail, instead of wait, when it upgrades to a writer (docs/decisions/0002).
    """
    if engine in _configured_engines:
        return engine
    _configured_engines.add(engine)
    if engine.dialect.name == "postgresql":

        @event.listens_for(engine, "connect")
        def _no_automatic_prepare(dbapi_connection: Any, _record: Any) -> None:
            # psycopg's automatic preparation is forgotten at every ROLLBACK and drops every prepared statement of
            # the connection then (DEALLOCATE ALL) — including the ones we prepare ourselves (workflows/prepared.py,
            # docs/decisions/0017 and 0028).
            dbapi_connection.prepare_threshold = None

        prepared.install(engine)  # statements marked server_prepared run as prepared statements
        return engine
    if engine.dialect.name != "sqlite":
        return engine

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()
        # SQLite's own lower() folds ASCII only: "ĐẶNG" stayed "ĐẶNG", so a name typed in another case was not
        # found. Python's folds every letter, as PostgreSQL's does.
        dbapi_connection.create_function("lower", 1, _unicode_lower, deterministic=True)
        # SQLite has no translate(); searches fold names with it on both databases (workflows/text.py FOLD_FROM).
        dbapi_connection.create_function("translate", 3, _translate, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
    return configure_engine(create_engine(url, **kwargs))


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


T = TypeVar("T")


def commit_keeping_loaded(session: Session | scoped_session[Session]) -> None:
    """Commit, leaving the objects the session holds as they were loaded instead of expiring them: for a small write
    (a read logged, a token's last use) in the middle of a request whose objects it did not touch, which would
    otherwise each be read again."""
    # The setting belongs to the Session itself, not to a scoped_session (Flask-SQLAlchemy's) standing for it.
    target = session() if isinstance(session, scoped_session) else session
    expiring, target.expire_on_commit = target.expire_on_commit, False
    try:
        target.commit()
    finally:
        target.expire_on_commit = expiring


@contextmanager
def transaction(session: Session, *, keep_loaded: bool = False) -> Iterator[Session]:
    """Commit what the block did, or roll all of it back: no half-written advance ever survives.
    `keep_loaded`: commit with `commit_keeping_loaded`."""
    try:
        yield session
        if keep_loaded:
            commit_keeping_loaded(session)
        else:
            session.commit()
    except BaseException:
        session.rollback()
        raise


def in_transaction(session: Session, work: Callable[[Session], T]) -> T:
    with transaction(session):
        return work(session)
