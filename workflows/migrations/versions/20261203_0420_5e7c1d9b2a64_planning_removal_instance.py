"""A planning entry remembers the procedure that took it off the plan (`removal_instance_id`), as it already
remembers the one that put it there (`source_instance_id`): the plan's history links every addition and removal
to its process (issue #7, decision 0019).

Revision ID: 5e7c1d9b2a64
Revises: a300f421fc82
Create Date: 2026-12-03 04:20:00.000000
"""

import sqlalchemy as sa
from alembic import op


revision = "5e7c1d9b2a64"
down_revision = "c9d1e7f3a284"
branch_labels = None
depends_on = None

FOREIGN_KEY = "fk_planning_entries_removal_instance_id_process_instances"


def upgrade():
    # SQLite cannot add a constraint to an existing table: the reference is written inline on the nullable column.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE planning_entries ADD COLUMN removal_instance_id INTEGER REFERENCES process_instances (id)")
    else:
        op.add_column("planning_entries", sa.Column("removal_instance_id", sa.Integer(), nullable=True))
        op.create_foreign_key(FOREIGN_KEY, "planning_entries", "process_instances", ["removal_instance_id"], ["id"])


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(FOREIGN_KEY, "planning_entries", type_="foreignkey")
    op.drop_column("planning_entries", "removal_instance_id")
