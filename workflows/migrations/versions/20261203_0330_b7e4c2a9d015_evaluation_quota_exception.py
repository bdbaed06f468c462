"""An evaluation result records the approved exception to the HTXSNV quota (NĐ 335 Điều 20 k5): the reference of
the competent superior's approval under which an over-quota HTXSNV was kept. Until now it lived only in the annual
grading run's data; on the result it shows in the cadre's history and the roll-up page, and its audit event.

Revision ID: b7e4c2a9d015
Revises: a300f421fc82
Create Date: 2026-12-03 03:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "b7e4c2a9d015"
down_revision = "a300f421fc82"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN, no batch rebuild: nothing else changes on the table.
    op.add_column("evaluation_results", sa.Column("quota_exception", sa.Text(), nullable=True))


def downgrade():
    op.drop_column("evaluation_results", "quota_exception")
