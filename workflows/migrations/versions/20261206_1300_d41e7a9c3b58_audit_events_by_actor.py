"""The audit log searched by who acted (a part of a user name or full name, marks ignored) finds the matching users
first, then their events newest first: (actor_id, id) serves that without reading the whole log.

Revision ID: d41e7a9c3b58
Revises: 4d7a2e9c1b58
Create Date: 2026-12-06 13:00:00.000000
"""

from alembic import op

revision = "d41e7a9c3b58"
down_revision = "4d7a2e9c1b58"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_audit_events_actor", "audit_events", ["actor_id", "id"])


def downgrade():
    op.drop_index("ix_audit_events_actor", table_name="audit_events")
