"""A unit's voting bodies and their members (decision 0122): the collective, the expanded leadership, the key cadres
and the party committee of a unit, each a set of the unit's accounts, so that a ballot's electors and the members
count its rules divide by come from a body kept beforehand rather than being ticked from every login.

Revision ID: a6c2e8f4b913
Revises: e2b9c4d7a810
Create Date: 2026-12-06 17:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "a6c2e8f4b913"
down_revision = "e2b9c4d7a810"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "voting_body_members",
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("org_units.id"), primary_key=True),
        sa.Column("body_kind", sa.String(length=32), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), primary_key=True),
        sa.Column("added_dt", sa.DateTime(), nullable=False),
        sa.Column("added_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
    )
    op.create_index("ix_voting_body_members_user_id", "voting_body_members", ["user_id"])


def downgrade():
    op.drop_index("ix_voting_body_members_user_id", table_name="voting_body_members")
    op.drop_table("voting_body_members")
