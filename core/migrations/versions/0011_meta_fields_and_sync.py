"""Meta fields and Graph sync: restrictions, template reasons, health status, account alerts, sync runs

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_NEW_COLUMNS: dict[str, list[sa.Column[Any]]] = {
    "wabas": [
        sa.Column("ban_date", sa.String(length=40), nullable=True),
        sa.Column("restrictions", sa.Text(), nullable=True),
        sa.Column("violation_type", sa.String(length=200), nullable=True),
    ],
    "phone_numbers": [
        sa.Column("health_status", sa.String(length=60), nullable=True),
        sa.Column("health_errors", sa.Text(), nullable=True),
        sa.Column("is_official_business_account", sa.Boolean(), nullable=True),
        sa.Column("last_onboarded_time", sa.String(length=40), nullable=True),
        sa.Column("name_rejection_reason", sa.String(length=200), nullable=True),
    ],
    "message_templates": [
        sa.Column("previous_category", sa.String(length=60), nullable=True),
        sa.Column("status_reason", sa.String(length=200), nullable=True),
        sa.Column("status_since", sa.DateTime(), nullable=True),
    ],
}


KEPT_TABLES = ("sync_runs", "account_alerts")  # history like every other table: the database refuses deletes


def upgrade() -> None:
    for table, columns in _NEW_COLUMNS.items():
        for column in columns:
            op.add_column(table, column)
    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meta_waba_id", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=False),
        sa.Column("outcome", sa.String(length=60), nullable=False),
        sa.Column("changes", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("retry_after", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_runs")),
    )
    op.create_index("ix_sync_runs_waba_started", "sync_runs", ["meta_waba_id", "started_at"])
    op.create_table(
        "account_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meta_waba_id", sa.String(length=32), nullable=False),
        sa.Column("entity_type", sa.String(length=60), nullable=False),
        sa.Column("entity_id", sa.String(length=32), nullable=False),
        sa.Column("alert_type", sa.String(length=60), nullable=False),
        sa.Column("severity", sa.String(length=60), nullable=True),
        sa.Column("status", sa.String(length=60), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("event_time", sa.DateTime(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_alerts")),
        sa.UniqueConstraint(
            "meta_waba_id",
            "entity_id",
            "alert_type",
            "event_time",
            name=op.f("uq_account_alerts_meta_waba_id_entity_id_alert_type_event_time"),
        ),
    )
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
    op.drop_table("account_alerts")
    op.drop_index("ix_sync_runs_waba_started", table_name="sync_runs")
    op.drop_table("sync_runs")
    # Each column is dropped in place (SQLite 3.35+ too): a rebuilt table would lose its triggers, and dropping a
    # table that others reference fails while foreign keys are enforced.
    for table, columns in _NEW_COLUMNS.items():
        for column in reversed(columns):
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column.name}")
