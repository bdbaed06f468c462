"""An account whose password an administrator set (a new account, a reset) must choose its own at the next sign-in
(decision 0074): `users.must_change_password`, false for every existing account.

Revision ID: 4d7a2e9c1b58
Revises: 0bda089a151c
Create Date: 2026-12-06 12:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "4d7a2e9c1b58"
down_revision = "0bda089a151c"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "users",
        sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade():
    # SQLite drops a column in place (3.35+) unless something names it; nothing does.
    op.drop_column("users", "must_change_password")
