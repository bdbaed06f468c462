"""Shared fixtures: a real database per test (SQLite by default, PostgreSQL when DATABASE_URL says so).

SQLite: the schema is migrated once into a template file and copied for each test.
PostgreSQL: migrated once per test session (one database per xdist worker); every table is emptied after each test.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from workflows import clock
from workflows.db import Base, make_engine
from workflows.deployment.operations import deploy_directory
from workflows.engine.runtime import ProcessEngine
from workflows.migrate import upgrade
from workflows.registry.demo import load_demo
from workflows.registry.models import User

ROOT = Path(__file__).resolve().parent.parent
BPMN_DIR = ROOT / "bpmn"
FORMS_DIR = ROOT / "forms"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

pytest_plugins = ["tests.fixtures.workflow_helpers", "tests.fixtures.app", "tests.fixtures.evaluation"]


def _postgres_url(worker_id: str) -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        return None
    if worker_id in ("master", ""):
        return url
    parsed = make_url(url)
    name = f"{parsed.database}_{worker_id}"
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> str:
    """Migrate once; returns the PostgreSQL URL, or the path of the migrated SQLite template file."""
    pg_url = _postgres_url(worker_id)
    if pg_url:
        engine = make_engine(pg_url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        upgrade(engine)
        engine.dispose()
        return pg_url
    template = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{template}")
    upgrade(engine)
    engine.dispose()  # the last connection to close checkpoints the WAL into the file we copy
    return str(template)


@pytest.fixture
def database_url(database_template: str, tmp_path: Path) -> Iterator[str]:
    if database_template.startswith("postgresql"):
        yield database_template
        engine = make_engine(database_template)
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return
    path = tmp_path / "test.db"
    shutil.copyfile(database_template, path)
    yield f"sqlite:///{path}"


@pytest.fixture
def db_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(db_engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=db_engine, expire_on_commit=False)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as s:
        yield s
        s.rollback()


@pytest.fixture
def process_engine() -> ProcessEngine:
    return ProcessEngine(script_time_limit=1.0)


@pytest.fixture
def demo_users(session_factory: sessionmaker[Session]) -> dict[str, User]:
    """The demo organisation; returns users by username (detached, for their ids and roles)."""
    with session_factory() as s:
        load_demo(s)
        deploy_directory(s, BPMN_DIR, FORMS_DIR, actor=None)
        s.commit()
        users = {u.username: u for u in s.query(User).all()}
        for user in users.values():
            _ = user.role_assignments
        return users


@pytest.fixture(autouse=True)
def _real_clock() -> Iterator[None]:
    clock.set_now(None)
    yield
    clock.set_now(None)
