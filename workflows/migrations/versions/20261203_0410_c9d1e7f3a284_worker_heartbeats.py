"""Worker heartbeats (issue #9): one row per worker process, written on every poll, read by /healthz and /metrics.

Revision ID: c9d1e7f3a284
Revises: c5d8e1f3a620
Create Date: 2026-12-03 03:40:00.000000
"""

import sqlalchemy as sa
from alembic import op


revision = "c9d1e7f3a284"
down_revision = "c5d8e1f3a620"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "worker_heartbeats",
        sa.Column("worker_id", sa.String(length=120), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_dt", sa.DateTime(), nullable=False),
        sa.Column("beat_dt", sa.DateTime(), nullable=False),
        sa.Column("jobs", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("worker_id", name=op.f("pk_worker_heartbeats")),
    )
    with op.batch_alter_table("worker_heartbeats", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_worker_heartbeats_beat_dt"), ["beat_dt"], unique=False)


def downgrade():
    with op.batch_alter_table("worker_heartbeats", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_worker_heartbeats_beat_dt"))
    op.drop_table("worker_heartbeats")
