"""The auditor workspace (issue #8): the read log (record_views), signed digests of the chain heads
(audit_anchors), and on PostgreSQL triggers that make the audit tables append-only and forbid deleting an instance
(docs/decisions/0021). SQLite has no users to keep out, so it gets no triggers.

Revision ID: c5d8e1f3a620
Revises: b7e4c2a9d015
Create Date: 2026-12-03 04:00:00.000000
"""

import sqlalchemy as sa
from alembic import op


revision = 'c5d8e1f3a620'
down_revision = 'b7e4c2a9d015'
branch_labels = None
depends_on = None

# Tables whose rows are never changed nor removed once written. An instance is cancelled, never deleted. The heads
# in audit_chains move (the demo loader rewrites them in bulk); a missing or wrong head is what verify reports.
NO_UPDATE_OR_DELETE = ('audit_events', 'record_views', 'audit_anchors')
NO_DELETE = ('process_instances',)

REFUSE_FUNCTION = """
CREATE FUNCTION canbo_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'canbo: % on % is refused: the audit record is append-only', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$
"""


def upgrade():
    op.create_table(
        'record_views',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('viewer_id', sa.Integer(), nullable=False),
        sa.Column('viewer_name', sa.String(length=80), nullable=False),
        sa.Column('object_kind', sa.String(length=30), nullable=False),
        sa.Column('object_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=True),
        sa.Column('viewed_dt', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['unit_id'], ['org_units.id'], name=op.f('fk_record_views_unit_id_org_units')),
        sa.ForeignKeyConstraint(['viewer_id'], ['users.id'], name=op.f('fk_record_views_viewer_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_record_views')),
    )
    op.create_index('ix_record_views_object', 'record_views', ['object_kind', 'object_id'], unique=False)
    op.create_index(op.f('ix_record_views_viewer_id'), 'record_views', ['viewer_id'], unique=False)
    op.create_index(op.f('ix_record_views_viewed_dt'), 'record_views', ['viewed_dt'], unique=False)
    op.create_table(
        'audit_anchors',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('anchored_on', sa.String(length=10), nullable=False),
        sa.Column('created_dt', sa.DateTime(), nullable=False),
        sa.Column('chains', sa.Integer(), nullable=False),
        sa.Column('events', sa.Integer(), nullable=False),
        sa.Column('document', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_anchors')),
    )
    op.create_index(op.f('ix_audit_anchors_anchored_on'), 'audit_anchors', ['anchored_on'], unique=False)
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(REFUSE_FUNCTION)
    for table in NO_UPDATE_OR_DELETE:
        op.execute(
            f'CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} '
            'FOR EACH ROW EXECUTE FUNCTION canbo_refuse_change()'
        )
    for table in NO_DELETE:
        op.execute(
            f'CREATE TRIGGER {table}_never_deleted BEFORE DELETE ON {table} '
            'FOR EACH ROW EXECUTE FUNCTION canbo_refuse_change()'
        )


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for table in NO_DELETE:
            op.execute(f'DROP TRIGGER {table}_never_deleted ON {table}')
        for table in NO_UPDATE_OR_DELETE:
            op.execute(f'DROP TRIGGER {table}_append_only ON {table}')
        op.execute('DROP FUNCTION canbo_refuse_change()')
    op.drop_index(op.f('ix_audit_anchors_anchored_on'), table_name='audit_anchors')
    op.drop_table('audit_anchors')
    op.drop_index(op.f('ix_record_views_viewed_dt'), table_name='record_views')
    op.drop_index(op.f('ix_record_views_viewer_id'), table_name='record_views')
    op.drop_index('ix_record_views_object', table_name='record_views')
    op.drop_table('record_views')
