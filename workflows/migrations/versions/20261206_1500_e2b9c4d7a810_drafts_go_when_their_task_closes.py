"""A task's draft does not outlive the task (decision 0085): when a human_tasks row leaves "open" — completed by the
page, the API, the CLI or a bulk approval, cancelled by a timer, a boundary event, a branch ending or the procedure
being cancelled — a trigger deletes its draft in the same statement. Drafts of tasks already closed are removed.

Revision ID: e2b9c4d7a810
Revises: 7c3e5a1f9d26
Create Date: 2026-12-06 15:00:00.000000
"""

from alembic import op

revision = "e2b9c4d7a810"
down_revision = "7c3e5a1f9d26"
branch_labels = None
depends_on = None

TRIGGER = "human_tasks_drafts_go_when_closed"
FUNCTION = "canbo_discard_closed_task_draft"
# Only a change away from "open" fires it: a claim, a release or a hand-on (assignee_id) never does, and the WHEN
# clause is checked before any function runs.
CLOSING = "OLD.status = 'open' AND NEW.status <> 'open'"

PG_FUNCTION = f"""
CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM task_drafts WHERE human_task_id = NEW.id;
    RETURN NULL;
END
$$
"""


def upgrade():
    op.execute("DELETE FROM task_drafts WHERE human_task_id IN (SELECT id FROM human_tasks WHERE status <> 'open')")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(
            f"CREATE TRIGGER {TRIGGER} AFTER UPDATE OF status ON human_tasks FOR EACH ROW "
            f"WHEN ({CLOSING}) EXECUTE FUNCTION {FUNCTION}()"
        )
    else:
        op.execute(
            f"CREATE TRIGGER {TRIGGER} AFTER UPDATE OF status ON human_tasks FOR EACH ROW WHEN {CLOSING} "
            "BEGIN DELETE FROM task_drafts WHERE human_task_id = NEW.id; END"
        )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER {TRIGGER} ON human_tasks")
        op.execute(f"DROP FUNCTION {FUNCTION}()")
    else:
        op.execute(f"DROP TRIGGER {TRIGGER}")
