"""Org units get a successor link: the unit a merged commune became (`merged_into_id`) and from when (`merged_on`),
so a hometown recorded as a commune dissolved in the 2025 mergers counts as today's commune. Evaluation results get
an index on (period kind, period, unit, grade): the dashboard's latest month and its grade counts per unit come from
the index alone instead of a scan of every month's results.

Revision ID: 3c1f0e5a7b42
Revises: d54a3b2cda64
Create Date: 2026-11-23 01:00:00.000000
"""

import sqlalchemy as sa
from alembic import op


revision = "3c1f0e5a7b42"
down_revision = "d54a3b2cda64"
branch_labels = None
depends_on = None

FOREIGN_KEY = "fk_org_units_merged_into_id_org_units"


def upgrade():
    # Plain ADD COLUMN (not a batch rebuild): SQLite cannot rebuild `org_units` while other rows point at it, and it
    # cannot add a constraint later, so there the reference is written inline, which SQLite accepts on a nullable
    # column.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE org_units ADD COLUMN merged_into_id INTEGER REFERENCES org_units (id)")
    else:
        op.add_column("org_units", sa.Column("merged_into_id", sa.Integer(), nullable=True))
        op.create_foreign_key(FOREIGN_KEY, "org_units", "org_units", ["merged_into_id"], ["id"])
    op.add_column("org_units", sa.Column("merged_on", sa.Date(), nullable=True))
    op.create_index(op.f("ix_org_units_merged_into_id"), "org_units", ["merged_into_id"], unique=False)
    op.create_index(
        "ix_evaluation_results_period",
        "evaluation_results",
        ["period_kind", "period", "unit_id", "grade"],
        unique=False,
    )


def downgrade():
    op.drop_index("ix_evaluation_results_period", table_name="evaluation_results")
    op.drop_index(op.f("ix_org_units_merged_into_id"), table_name="org_units")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(FOREIGN_KEY, "org_units", type_="foreignkey")
    op.drop_column("org_units", "merged_on")
    op.drop_column("org_units", "merged_into_id")
