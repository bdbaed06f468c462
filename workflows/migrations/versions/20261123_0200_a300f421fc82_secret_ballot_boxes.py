"""Secret ballots (issue #6): ballot boxes, their electors (who came, who voted) and the ballots, which carry no
voter, no time and no sequence (docs/decisions/0015). `ballots` has no rowid on SQLite, so not even a hidden
insertion order is stored.

Revision ID: a300f421fc82
Revises: 3c1f0e5a7b42
Create Date: 2026-11-23 02:00:00.000000
"""

import sqlalchemy as sa
from alembic import op


revision = 'a300f421fc82'
down_revision = '3c1f0e5a7b42'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'ballot_boxes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('step_key', sa.String(length=120), nullable=False),
        sa.Column('question', sa.Text(), nullable=False),
        sa.Column('candidates', sa.JSON(), nullable=False),
        sa.Column('rules', sa.JSON(), nullable=False),
        sa.Column('members_count', sa.Integer(), nullable=False),
        sa.Column('mode', sa.String(length=10), nullable=False),
        sa.Column('is_signable', sa.Boolean(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('opened_by_id', sa.Integer(), nullable=False),
        sa.Column('opened_dt', sa.DateTime(), nullable=False),
        sa.Column('closed_by_id', sa.Integer(), nullable=True),
        sa.Column('closed_dt', sa.DateTime(), nullable=True),
        sa.Column('tally', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_ballot_boxes_closed_by_id_users')),
        sa.ForeignKeyConstraint(
            ['instance_id'], ['process_instances.id'], name=op.f('fk_ballot_boxes_instance_id_process_instances')
        ),
        sa.ForeignKeyConstraint(['opened_by_id'], ['users.id'], name=op.f('fk_ballot_boxes_opened_by_id_users')),
        sa.ForeignKeyConstraint(['unit_id'], ['org_units.id'], name=op.f('fk_ballot_boxes_unit_id_org_units')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ballot_boxes')),
    )
    op.create_index('ix_ballot_boxes_instance_step', 'ballot_boxes', ['instance_id', 'step_key'], unique=False)
    op.create_index(op.f('ix_ballot_boxes_unit_id'), 'ballot_boxes', ['unit_id'], unique=False)
    op.create_table(
        'ballot_electors',
        sa.Column('box_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('is_summoned', sa.Boolean(), nullable=False),
        sa.Column('is_present', sa.Boolean(), nullable=False),
        sa.Column('has_voted', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['box_id'], ['ballot_boxes.id'], name=op.f('fk_ballot_electors_box_id_ballot_boxes')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ballot_electors_user_id_users')),
        sa.PrimaryKeyConstraint('box_id', 'user_id', name=op.f('pk_ballot_electors')),
    )
    op.create_index(op.f('ix_ballot_electors_user_id'), 'ballot_electors', ['user_id'], unique=False)
    op.create_table(
        'ballots',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('box_id', sa.Integer(), nullable=False),
        sa.Column('contents', sa.JSON(), nullable=False),
        sa.Column('signed_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['box_id'], ['ballot_boxes.id'], name=op.f('fk_ballots_box_id_ballot_boxes')),
        sa.ForeignKeyConstraint(['signed_by_id'], ['users.id'], name=op.f('fk_ballots_signed_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_ballots')),
        sqlite_with_rowid=False,
    )
    op.create_index(op.f('ix_ballots_box_id'), 'ballots', ['box_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_ballots_box_id'), table_name='ballots')
    op.drop_table('ballots')
    op.drop_index(op.f('ix_ballot_electors_user_id'), table_name='ballot_electors')
    op.drop_table('ballot_electors')
    op.drop_index(op.f('ix_ballot_boxes_unit_id'), table_name='ballot_boxes')
    op.drop_index('ix_ballot_boxes_instance_step', table_name='ballot_boxes')
    op.drop_table('ballot_boxes')
