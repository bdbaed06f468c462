"""Positions get a standard title code and a province-managed flag, so the targets dashboard can count the holders
of each title (commune chairs, party secretaries, …) instead of guessing from free-text names.

Revision ID: d54a3b2cda64
Revises: fb4d0ce5c0b6
Create Date: 2026-11-22 03:54:13.847702
"""

import sqlalchemy as sa
from alembic import op


revision = 'd54a3b2cda64'
down_revision = 'fb4d0ce5c0b6'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (not a batch rebuild): SQLite cannot rebuild `positions` while other rows point at it.
    op.add_column('positions', sa.Column('title_code', sa.String(length=60), nullable=True))
    op.add_column('positions', sa.Column('is_province_managed', sa.Boolean(), nullable=False, server_default='0'))
    op.create_index(op.f('ix_positions_title_code'), 'positions', ['title_code'], unique=False)



def downgrade():
    op.drop_index(op.f('ix_positions_title_code'), table_name='positions')
    op.drop_column('positions', 'is_province_managed')
    op.drop_column('positions', 'title_code')

