"""An earlier version used again (decision 0055) is deployed anew as the next version, with the earlier one's
content: a procedure's content hash may now recur, so (process_id, content_hash) is no longer unique.

SQLite cannot drop a constraint, so the table is rebuilt: copied aside, dropped and created again without the
constraint under its own name, then filled back. The instances point at it throughout; foreign keys are checked
at the commit (`defer_foreign_keys`), when every instance finds its version again — the rows keep their ids.

Revision ID: 0bda089a151c
Revises: 8b2f6d4e1c73
Create Date: 2026-12-06 10:00:00.000000
"""

import re
from collections.abc import Callable

from alembic import op
from sqlalchemy import text

revision = "0bda089a151c"
down_revision = "8b2f6d4e1c73"
branch_labels = None
depends_on = None


TABLE = "process_versions"
CONSTRAINT = "uq_process_versions_process_id_content_hash"
CONSTRAINT_SQL = f"CONSTRAINT {CONSTRAINT} UNIQUE (process_id, content_hash)"
VERSION_CONSTRAINT_SQL = "CONSTRAINT uq_process_versions_process_id_version UNIQUE (process_id, version)"
INDEXES = ("CREATE INDEX ix_process_versions_process_id ON process_versions (process_id)",)


def _rebuild_sqlite(change_definition: Callable[[str], str]) -> None:
    bind = op.get_bind()
    if not bind.in_transaction():  # the foreign keys are checked at the commit: there has to be one
        raise RuntimeError("rebuilding process_versions needs a transaction")
    definition = bind.execute(
        text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"), {"t": TABLE}
    ).scalar_one()
    columns = [row[1] for row in bind.execute(text(f"PRAGMA table_info({TABLE})"))]
    listed = ", ".join(columns)
    bind.execute(text("PRAGMA defer_foreign_keys = ON"))  # until the commit; the instances' versions come back
    bind.execute(text(f"CREATE TABLE _{TABLE}_copy AS SELECT * FROM {TABLE}"))
    bind.execute(text(f"DROP TABLE {TABLE}"))
    bind.execute(text(change_definition(definition)))
    for index in INDEXES:
        bind.execute(text(index))
    bind.execute(text(f"INSERT INTO {TABLE} ({listed}) SELECT {listed} FROM _{TABLE}_copy"))
    bind.execute(text(f"DROP TABLE _{TABLE}_copy"))


def _without_constraint(definition: str) -> str:
    changed, found = re.subn(r",\s*" + re.escape(CONSTRAINT_SQL), "", definition)
    if found != 1:
        raise RuntimeError(f"{TABLE} is not defined as expected: {definition}")
    return changed


def _with_constraint(definition: str) -> str:
    if CONSTRAINT in definition:
        raise RuntimeError(f"{TABLE} already has {CONSTRAINT}")
    changed, found = re.subn(
        re.escape(VERSION_CONSTRAINT_SQL), f"{CONSTRAINT_SQL}, \n\t{VERSION_CONSTRAINT_SQL}", definition
    )
    if found != 1:
        raise RuntimeError(f"{TABLE} is not defined as expected: {definition}")
    return changed


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(_without_constraint)
    else:
        op.drop_constraint(CONSTRAINT, TABLE, type_="unique")


def downgrade():
    repeated = op.get_bind().execute(
        text(
            f"SELECT process_id, content_hash FROM {TABLE} GROUP BY process_id, content_hash HAVING count(*) > 1"
        )
    ).first()
    if repeated is not None:
        # Instances and their audit chains name both versions (decision 0021): neither can go.
        raise RuntimeError(
            f"cannot downgrade: {repeated[0]} holds the same content in more than one version (an earlier version "
            "used again, decision 0055); the schema before this revision cannot hold that"
        )
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(_with_constraint)
    else:
        op.create_unique_constraint(CONSTRAINT, TABLE, ["process_id", "content_hash"])
