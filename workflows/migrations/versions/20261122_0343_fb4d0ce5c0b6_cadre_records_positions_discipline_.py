"""Cadre records (issue #4): positions and who holds them, discipline, planning entries, evaluation results and
rotations; the personal-record columns of cadres (ethnicity, hometown, party membership, education, political
theory, retirement date, active flag) and the dates an org unit is active.

The procedures read these records (planning limits, appointment age, waiting times after discipline) and write them
through workflows.registry.records, which audits each change in the cadre's hash chain. Existing cadres get
is_party_member = false, is_science_technology = false, is_active = true and no retirement date:
records.recompute_retirement_dates fills that in, audited, from the configured schedule, which this migration must
not freeze.

Revision ID: fb4d0ce5c0b6
Revises: 611fd51dca83
Create Date: 2026-11-22 03:43:54.210798
"""

import sqlalchemy as sa
from alembic import op


revision = 'fb4d0ce5c0b6'
down_revision = '611fd51dca83'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('positions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('is_leadership', sa.Boolean(), nullable=False),
    sa.Column('is_key_title', sa.Boolean(), nullable=False),
    sa.Column('requires_non_local', sa.Boolean(), nullable=False),
    sa.Column('term_years', sa.Integer(), nullable=False),
    sa.Column('created_dt', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['org_units.id'], name=op.f('fk_positions_unit_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_positions')),
    sa.UniqueConstraint('unit_id', 'title', name=op.f('uq_positions_unit_id_title'))
    )
    with op.batch_alter_table('positions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_positions_unit_id'), ['unit_id'], unique=False)

    op.create_table('discipline_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cadre_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=20), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_dt', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['cadre_id'], ['cadres.id'], name=op.f('fk_discipline_records_cadre_id_cadres')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_discipline_records'))
    )
    with op.batch_alter_table('discipline_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_discipline_records_cadre_id'), ['cadre_id'], unique=False)

    op.create_table('cadre_positions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cadre_id', sa.Integer(), nullable=False),
    sa.Column('position_id', sa.Integer(), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('term_ends_on', sa.Date(), nullable=True),
    sa.Column('source_instance_id', sa.Integer(), nullable=True),
    sa.Column('created_dt', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['cadre_id'], ['cadres.id'], name=op.f('fk_cadre_positions_cadre_id_cadres')),
    sa.ForeignKeyConstraint(['position_id'], ['positions.id'], name=op.f('fk_cadre_positions_position_id_positions')),
    sa.ForeignKeyConstraint(['source_instance_id'], ['process_instances.id'], name=op.f('fk_cadre_positions_source_instance_id_process_instances')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cadre_positions'))
    )
    with op.batch_alter_table('cadre_positions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cadre_positions_cadre_id'), ['cadre_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cadre_positions_position_id'), ['position_id'], unique=False)

    op.create_table('evaluation_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cadre_id', sa.Integer(), nullable=False),
    sa.Column('period_kind', sa.String(length=10), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('score', sa.Numeric(precision=5, scale=2, asdecimal=False), nullable=True),
    sa.Column('grade', sa.String(length=10), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('source_instance_id', sa.Integer(), nullable=True),
    sa.Column('updated_dt', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['cadre_id'], ['cadres.id'], name=op.f('fk_evaluation_results_cadre_id_cadres')),
    sa.ForeignKeyConstraint(['source_instance_id'], ['process_instances.id'], name=op.f('fk_evaluation_results_source_instance_id_process_instances')),
    sa.ForeignKeyConstraint(['unit_id'], ['org_units.id'], name=op.f('fk_evaluation_results_unit_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_results')),
    sa.UniqueConstraint('cadre_id', 'period_kind', 'period', name=op.f('uq_evaluation_results_cadre_id_period_kind_period'))
    )
    with op.batch_alter_table('evaluation_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_results_cadre_id'), ['cadre_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evaluation_results_unit_id'), ['unit_id'], unique=False)

    op.create_table('planning_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cadre_id', sa.Integer(), nullable=False),
    sa.Column('position_id', sa.Integer(), nullable=False),
    sa.Column('term', sa.String(length=9), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('added_on', sa.Date(), nullable=False),
    sa.Column('removed_on', sa.Date(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('source_instance_id', sa.Integer(), nullable=True),
    sa.Column('created_dt', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['cadre_id'], ['cadres.id'], name=op.f('fk_planning_entries_cadre_id_cadres')),
    sa.ForeignKeyConstraint(['position_id'], ['positions.id'], name=op.f('fk_planning_entries_position_id_positions')),
    sa.ForeignKeyConstraint(['source_instance_id'], ['process_instances.id'], name=op.f('fk_planning_entries_source_instance_id_process_instances')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_planning_entries'))
    )
    with op.batch_alter_table('planning_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_planning_entries_cadre_id'), ['cadre_id'], unique=False)
        batch_op.create_index('ix_planning_entries_position_term', ['position_id', 'term', 'status'], unique=False)

    op.create_table('rotation_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cadre_id', sa.Integer(), nullable=False),
    sa.Column('from_unit_id', sa.Integer(), nullable=False),
    sa.Column('to_unit_id', sa.Integer(), nullable=False),
    sa.Column('position_id', sa.Integer(), nullable=True),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.Column('planned_end_on', sa.Date(), nullable=True),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('source_instance_id', sa.Integer(), nullable=True),
    sa.Column('created_dt', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['cadre_id'], ['cadres.id'], name=op.f('fk_rotation_records_cadre_id_cadres')),
    sa.ForeignKeyConstraint(['from_unit_id'], ['org_units.id'], name=op.f('fk_rotation_records_from_unit_id_org_units')),
    sa.ForeignKeyConstraint(['position_id'], ['positions.id'], name=op.f('fk_rotation_records_position_id_positions')),
    sa.ForeignKeyConstraint(['source_instance_id'], ['process_instances.id'], name=op.f('fk_rotation_records_source_instance_id_process_instances')),
    sa.ForeignKeyConstraint(['to_unit_id'], ['org_units.id'], name=op.f('fk_rotation_records_to_unit_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rotation_records'))
    )
    with op.batch_alter_table('rotation_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rotation_records_cadre_id'), ['cadre_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rotation_records_to_unit_id'), ['to_unit_id'], unique=False)

    # SQLite cannot rebuild cadres or org_units (batch mode) while other rows reference them with foreign keys
    # enforced, so these tables only get columns added and dropped in place: boolean defaults are literals (a SQL
    # expression as default would force a rebuild) and the hometown reference is declared inside ADD COLUMN there.
    op.add_column('cadres', sa.Column('ethnicity', sa.String(length=60), nullable=True))
    op.add_column('cadres', sa.Column('hometown', sa.String(length=255), nullable=True))
    if op.get_context().dialect.name == 'sqlite':
        op.add_column(
            'cadres',
            sa.Column('hometown_unit_id', sa.Integer(), sa.ForeignKey('org_units.id'), nullable=True),
            inline_references=True,
        )
    else:
        op.add_column('cadres', sa.Column('hometown_unit_id', sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f('fk_cadres_hometown_unit_id_org_units'), 'cadres', 'org_units', ['hometown_unit_id'], ['id']
        )
    op.add_column('cadres', sa.Column('is_party_member', sa.Boolean(), nullable=False, server_default='0'))
    op.add_column('cadres', sa.Column('party_joined_date', sa.Date(), nullable=True))
    op.add_column('cadres', sa.Column('education_level', sa.String(length=20), nullable=True))
    op.add_column('cadres', sa.Column('education_field', sa.String(length=255), nullable=True))
    op.add_column('cadres', sa.Column('is_science_technology', sa.Boolean(), nullable=False, server_default='0'))
    op.add_column('cadres', sa.Column('political_theory', sa.String(length=20), nullable=True))
    op.add_column('cadres', sa.Column('state_management_training', sa.String(length=255), nullable=True))
    op.add_column('cadres', sa.Column('retirement_date', sa.Date(), nullable=True))
    op.add_column('cadres', sa.Column('is_active', sa.Boolean(), nullable=False, server_default='1'))
    op.create_index(op.f('ix_cadres_hometown_unit_id'), 'cadres', ['hometown_unit_id'], unique=False)
    op.create_index(op.f('ix_cadres_retirement_date'), 'cadres', ['retirement_date'], unique=False)

    op.add_column('org_units', sa.Column('active_from', sa.Date(), nullable=True))
    op.add_column('org_units', sa.Column('active_to', sa.Date(), nullable=True))


def downgrade():
    op.drop_column('org_units', 'active_to')
    op.drop_column('org_units', 'active_from')

    op.drop_index(op.f('ix_cadres_retirement_date'), table_name='cadres')
    op.drop_index(op.f('ix_cadres_hometown_unit_id'), table_name='cadres')
    if op.get_context().dialect.name != 'sqlite':
        op.drop_constraint(op.f('fk_cadres_hometown_unit_id_org_units'), 'cadres', type_='foreignkey')
    for column in (
        'is_active',
        'retirement_date',
        'state_management_training',
        'political_theory',
        'is_science_technology',
        'education_field',
        'education_level',
        'party_joined_date',
        'is_party_member',
        'hometown_unit_id',
        'hometown',
        'ethnicity',
    ):
        op.drop_column('cadres', column)

    with op.batch_alter_table('rotation_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rotation_records_to_unit_id'))
        batch_op.drop_index(batch_op.f('ix_rotation_records_cadre_id'))

    op.drop_table('rotation_records')
    with op.batch_alter_table('planning_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_planning_entries_position_term')
        batch_op.drop_index(batch_op.f('ix_planning_entries_cadre_id'))

    op.drop_table('planning_entries')
    with op.batch_alter_table('evaluation_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_results_unit_id'))
        batch_op.drop_index(batch_op.f('ix_evaluation_results_cadre_id'))

    op.drop_table('evaluation_results')
    with op.batch_alter_table('cadre_positions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cadre_positions_position_id'))
        batch_op.drop_index(batch_op.f('ix_cadre_positions_cadre_id'))

    op.drop_table('cadre_positions')
    with op.batch_alter_table('discipline_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_discipline_records_cadre_id'))

    op.drop_table('discipline_records')
    with op.batch_alter_table('positions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_positions_unit_id'))

    op.drop_table('positions')
