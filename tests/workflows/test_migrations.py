"""Upgrading a database that already holds data keeps the data. SQLite is the strict case (it cannot rebuild a
table other rows point at), so this test always uses its own SQLite file, on every run."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from workflows.db import make_engine
from workflows.migrate import alembic_config, current_revision, upgrade

FIRST_REVISION = "6b26d966265e"
PREVIOUS_OF_RECURRING = "8b2f6d4e1c73"  # before a content could recur in a later version (0bda089a151c)
BEFORE_MUST_CHANGE = "0bda089a151c"  # before an account could be made to change its password (4d7a2e9c1b58)
RECURRING = "0bda089a151c"  # a content may recur in a later version; the revisions after it are left out


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


def test_a_content_may_recur_in_a_later_version_and_a_downgrade_that_cannot_hold_it_says_why(tmp_path: Path) -> None:
    """Decision 0055: (process_id, content_hash) is no longer unique. SQLite rebuilds the table under the instances
    that point at it; the way back refuses, and changes nothing, while a content recurs."""
    engine = make_engine(f"sqlite:///{tmp_path / 'recur.db'}")
    _run(engine, command.upgrade, RECURRING)  # the revision that made a content recur, and no later one
    head = current_revision(engine)
    assert head == RECURRING
    version = (
        "INSERT INTO process_versions (id, process_id, version, name, content_hash, files, forms, deployed_dt) "
        "VALUES (:id, 'p', :id, 'P', 'h', '{}', '{}', '2026-12-01')"
    )
    with engine.begin() as conn:
        conn.execute(text(version), [{"id": 1}, {"id": 2}])  # v2: v1's content used again
        conn.execute(
            text(
                "INSERT INTO process_instances (id, process_version_id, process_id, status, started_dt, state, "
                "serializer_version, lock_version, audit_seq, audit_head) "
                "VALUES (7, 2, 'p', 'running', '2026-12-01', '{}', '1', 1, 0, :head)"
            ),
            {"head": "0" * 64},
        )
    with pytest.raises(RuntimeError, match="same content in more than one version"):
        _run(engine, command.downgrade, PREVIOUS_OF_RECURRING)
    assert current_revision(engine) == head
    with engine.begin() as conn:
        conn.execute(text("UPDATE process_instances SET process_version_id = 1"))
        conn.execute(text("DELETE FROM process_versions WHERE id = 2"))
    _run(engine, command.downgrade, PREVIOUS_OF_RECURRING)
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(text(version), {"id": 2})
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text(version), {"id": 2})
        assert conn.execute(text("SELECT process_version_id FROM process_instances")).scalar_one() == 1
        assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
        indexes = {row[1] for row in conn.execute(text("PRAGMA index_list(process_versions)"))}
        assert "ix_process_versions_process_id" in indexes
    engine.dispose()


def test_must_change_password_is_added_false_for_existing_accounts_and_removed_on_the_way_back(
    tmp_path: Path,
) -> None:
    """Decision 0074: accounts that existed before the column never have to change their password."""
    engine = make_engine(f"sqlite:///{tmp_path / 'must_change.db'}")
    _run(engine, command.upgrade, BEFORE_MUST_CHANGE)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO org_units (id, code, name, unit_type, path, is_active, created_dt) "
                "VALUES (1, 'T01', 'Tỉnh', 'province', '/', 1, '2026-01-01')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO users (id, username, full_name, password_hash, unit_id, is_active, locale, "
                "notify_by_email, created_dt) VALUES (1, 'admin', 'Quản trị', 'x', 1, 1, 'vi', 1, '2026-01-01')"
            )
        )
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT username, must_change_password FROM users")).one() == ("admin", 0)
    _run(engine, command.downgrade, BEFORE_MUST_CHANGE)
    with engine.connect() as conn:
        columns = [row[1] for row in conn.execute(text("PRAGMA table_info(users)"))]
        assert "must_change_password" not in columns and "username" in columns
        assert conn.execute(text("SELECT username FROM users")).scalar_one() == "admin"
    upgrade(engine)
    assert current_revision(engine) == ScriptDirectory.from_config(alembic_config()).get_current_head()
    engine.dispose()
