"""Upgrading a database that already holds data keeps the data. SQLite is the strict case (it cannot rebuild a
table other rows point at), so this test always uses its own SQLite file, on every run."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from sqlalchemy import text

from workflows.db import make_engine
from workflows.migrate import alembic_config, current_revision, upgrade

FIRST_REVISION = "6b26d966265e"


def _run(engine, action, revision: str) -> None:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        action(config, revision)
        connection.commit()


def test_upgrade_from_the_first_revision_with_data_then_down_and_up(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    _run(engine, command.upgrade, FIRST_REVISION)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO org_units (id, code, name, unit_type, path, is_active, created_dt) "
                "VALUES (1, 'T01', 'Tỉnh', 'province', '/', 1, '2026-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO cadres (id, code, full_name, unit_id, created_dt) "
                "VALUES (1, 'CB0001', 'Nguyễn Thị Lan', 1, '2026-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO users (id, username, full_name, password_hash, unit_id, cadre_id, is_active, "
                "locale, created_dt) VALUES (1, 'officer1', 'Nguyễn Thị Lan', 'x', 1, 1, 1, 'vi', '2026-01-01')"
            )
        )
        conn.execute(text("INSERT INTO role_assignments (user_id, role, unit_id) VALUES (1, 'officer', 1)"))
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT username, notify_by_email FROM users")).one() == ("officer1", 1)
        assert conn.execute(text("SELECT full_name, is_active FROM cadres")).one() == ("Nguyễn Thị Lan", 1)
    _run(engine, command.downgrade, FIRST_REVISION)
    upgrade(engine)
    assert current_revision(engine) is not None
    engine.dispose()
