"""A procedure withdrawn from use (decision 0050): its latest version records when, by whom and why; no new
instance starts from it, the running ones go on.

Revision ID: 8b2f6d4e1c73
Revises: 3f1a9c7e5d42
Create Date: 2026-12-05 16:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "8b2f6d4e1c73"
down_revision = "3f1a9c7e5d42"
branch_labels = None
depends_on = None


FOREIGN_KEY = "fk_process_versions_retired_by_id_users"


def upgrade():
    op.add_column("process_versions", sa.Column("retired_dt", sa.DateTime(), nullable=True))
    op.add_column("process_versions", sa.Column("retired_reason", sa.String(length=500), nullable=True))
    # SQLite cannot add a constraint to an existing table (a batch copy would have to drop process_versions, which
    # every instance references): the reference is written inline on the nullable column.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE process_versions ADD COLUMN retired_by_id INTEGER REFERENCES users (id)")
    else:
        op.add_column("process_versions", sa.Column("retired_by_id", sa.Integer(), nullable=True))
        op.create_foreign_key(FOREIGN_KEY, "process_versions", "users", ["retired_by_id"], ["id"])


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(FOREIGN_KEY, "process_versions", type_="foreignkey")
    op.drop_column("process_versions", "retired_by_id")
    op.drop_column("process_versions", "retired_reason")
    op.drop_column("process_versions", "retired_dt")
