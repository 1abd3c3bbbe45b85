"""kept tables refuse TRUNCATE: the sync runs, Meta's account alerts and the alert tables, like every other history
table on PostgreSQL (0011 and 0012 gave them their DELETE guards; SQLite has no TRUNCATE)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

TABLES = (
    "sync_runs",
    "account_alerts",
    "alert_rules",
    "alert_rule_states",
    "alert_baselines",
    "alert_messages",
    "alerts",
    "alert_acknowledgements",
    "alert_delivery_attempts",
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        # fleet_refuse_change() comes from 0001 and names the operation and the table in its message.
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION fleet_refuse_change()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
