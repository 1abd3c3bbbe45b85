"""alerts: rules set by the business, alerts per transition, delivery attempts

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


# Kept like every other table but users (rules are disabled, alerts resolved, messages marked): the database refuses
# deletes.
KEPT_TABLES = (
    "alert_rules",
    "alert_rule_states",
    "alert_baselines",
    "alert_messages",
    "alerts",
    "alert_acknowledgements",
    "alert_delivery_attempts",
)


def upgrade() -> None:
    op.create_table(
        "alert_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("event", sa.String(length=60), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=True),
        sa.Column("waba_id", sa.Integer(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("target", sa.String(length=500), nullable=False),
        sa.Column("quiet_hours", sa.Float(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_alert_rules_workspace_id_workspaces")
        ),
        sa.ForeignKeyConstraint(["waba_id"], ["wabas.id"], name=op.f("fk_alert_rules_waba_id_wabas")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_rules")),
        sa.UniqueConstraint("name", name=op.f("uq_alert_rules_name")),
    )
    op.create_table(
        "alert_rule_states",
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("quiet_until", sa.DateTime(), nullable=True),
        sa.Column("evaluated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["rule_id"], ["alert_rules.id"], name=op.f("fk_alert_rule_states_rule_id_alert_rules")),
        sa.PrimaryKeyConstraint("rule_id", name=op.f("pk_alert_rule_states")),
    )
    op.create_table(
        "alert_baselines",
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("subject_key", sa.String(length=300), nullable=False),
        sa.Column("value", sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(["rule_id"], ["alert_rules.id"], name=op.f("fk_alert_baselines_rule_id_alert_rules")),
        sa.PrimaryKeyConstraint("rule_id", "subject_key", name=op.f("pk_alert_baselines")),
    )
    op.create_table(
        "alert_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["rule_id"], ["alert_rules.id"], name=op.f("fk_alert_messages_rule_id_alert_rules")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_messages")),
    )
    op.create_index("ix_alert_messages_status_due", "alert_messages", ["status", "due_at"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("subject_key", sa.String(length=300), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("e164", sa.String(length=20), nullable=True),
        sa.Column("waba", sa.String(length=200), nullable=True),
        sa.Column("workspace", sa.String(length=200), nullable=True),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("before_value", sa.String(length=200), nullable=True),
        sa.Column("after_value", sa.String(length=200), nullable=False),
        sa.Column("since", sa.DateTime(), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("resolution", sa.String(length=500), nullable=True),
        sa.Column("opened_message_id", sa.Integer(), nullable=True),
        sa.Column("resolved_message_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["rule_id"], ["alert_rules.id"], name=op.f("fk_alerts_rule_id_alert_rules")),
        sa.ForeignKeyConstraint(
            ["opened_message_id"], ["alert_messages.id"], name=op.f("fk_alerts_opened_message_id_alert_messages")
        ),
        sa.ForeignKeyConstraint(
            ["resolved_message_id"], ["alert_messages.id"], name=op.f("fk_alerts_resolved_message_id_alert_messages")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    # One open alert per rule and subject: two evaluators (workers, replicas) racing on the same transition insert
    # one row; the other's insert does nothing.
    op.create_index(
        "uq_alerts_open",
        "alerts",
        ["rule_id", "subject_key"],
        unique=True,
        sqlite_where=sa.text("resolved_at IS NULL"),
        postgresql_where=sa.text("resolved_at IS NULL"),
    )
    op.create_index("ix_alerts_opened_at", "alerts", ["opened_at"])
    op.create_index("ix_alerts_opened_message_id", "alerts", ["opened_message_id"])
    op.create_index("ix_alerts_resolved_message_id", "alerts", ["resolved_message_id"])
    op.create_table(
        "alert_acknowledgements",
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=200), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name=op.f("fk_alert_acknowledgements_alert_id_alerts")),
        sa.PrimaryKeyConstraint("alert_id", name=op.f("pk_alert_acknowledgements")),
    )
    op.create_table(
        "alert_delivery_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=500), nullable=False),
        sa.Column("attempted_at", sa.DateTime(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"], ["alert_messages.id"], name=op.f("fk_alert_delivery_attempts_message_id_alert_messages")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_delivery_attempts")),
    )
    op.create_index("ix_alert_delivery_attempts_message_id", "alert_delivery_attempts", ["message_id"])
    op.create_index("ix_alert_delivery_attempts_target_time", "alert_delivery_attempts", ["target", "attempted_at"])
    for table in KEPT_TABLES:
        _refuse_deletes(table)


def _refuse_deletes(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        # fleet_refuse_change() comes from 0001 and names the operation and the table in its message.
        op.execute(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION fleet_refuse_change()"
        )
        return
    op.execute(
        f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
        f"BEGIN SELECT RAISE(ABORT, 'fleet: DELETE on {table} is not allowed (history is kept)'); END"
    )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in KEPT_TABLES:
        op.execute(f"DROP TRIGGER {table}_no_delete" + (f" ON {table}" if postgresql else ""))
    op.drop_table("alert_delivery_attempts")
    op.drop_table("alert_acknowledgements")
    op.drop_table("alerts")
    op.drop_table("alert_messages")
    op.drop_table("alert_baselines")
    op.drop_table("alert_rule_states")
    op.drop_table("alert_rules")
