"""The read log's detail (decision 0137): a list exported as a file is logged as a read too — the cadre list, the
audit log's search — with the format and the filters it was exported with, since no single record names it.

Revision ID: b7d1f3a9c254
Revises: a6c2e8f4b913
Create Date: 2026-12-07 15:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "b7d1f3a9c254"
down_revision = "a6c2e8f4b913"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("record_views", sa.Column("detail", sa.String(length=500), nullable=True))


def downgrade():
    with op.batch_alter_table("record_views") as batch:
        batch.drop_column("detail")
