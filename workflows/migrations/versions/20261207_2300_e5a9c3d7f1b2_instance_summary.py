"""A procedure's summary (decision 0144): the few values its model's `caseSummary` names, kept on the instance row
so that the inbox and the lists say what each case is about without reading its state.

Revision ID: e5a9c3d7f1b2
Revises: b7d1f3a9c254
Create Date: 2026-12-07 23:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "e5a9c3d7f1b2"
down_revision = "b7d1f3a9c254"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("process_instances", sa.Column("summary", sa.JSON(), nullable=True))


def downgrade():
    # Not a batch copy on SQLite: every table of the engine references process_instances. SQLite drops a column
    # itself since 3.35.
    op.drop_column("process_instances", "summary")
