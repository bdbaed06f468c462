"""A draft goes with its task when the task is handed to another person (decision 0084):
`task_drafts.saved_by_id` names who saved it when that is not the person who now holds it — null for every existing
draft, each its own saver's.

Revision ID: 7c3e5a1f9d26
Revises: d41e7a9c3b58
Create Date: 2026-12-06 14:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "7c3e5a1f9d26"
down_revision = "d41e7a9c3b58"
branch_labels = None
depends_on = None

FOREIGN_KEY = "fk_task_drafts_saved_by_id_users"


def upgrade():
    # Plain ADD COLUMN, as for org_units.merged_into_id: SQLite cannot add a constraint later, so there the reference
    # is written inline, which it accepts on a nullable column.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE task_drafts ADD COLUMN saved_by_id INTEGER REFERENCES users (id)")
    else:
        op.add_column("task_drafts", sa.Column("saved_by_id", sa.Integer(), nullable=True))
        op.create_foreign_key(FOREIGN_KEY, "task_drafts", "users", ["saved_by_id"], ["id"])


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(FOREIGN_KEY, "task_drafts", type_="foreignkey")
    op.drop_column("task_drafts", "saved_by_id")
