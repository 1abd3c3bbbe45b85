"""webhook inbox and data version: Meta's deliveries stored as received; a counter every write bumps

The receiver stores each delivery's raw bytes and answers Meta; the worker applies them later, so an acknowledged
delivery survives any crash. `data_version` holds one row whose counter every write transaction raises: pages key
their cached reads by it instead of expiring them after a while. `worker_leases` lets one SQLite worker at a time
drain the inbox; `webhook_waba_activity` keeps each WABA's last event for the Live sync page.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("applied_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("state IN ('pending', 'applied', 'failed')", name=op.f("ck_webhook_deliveries_state")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("digest", name=op.f("uq_webhook_deliveries_digest")),
    )
    op.create_index(
        "ix_webhook_deliveries_pending",
        "webhook_deliveries",
        ["id"],
        sqlite_where=sa.text("state = 'pending'"),
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.create_index(
        "ix_webhook_deliveries_applied",
        "webhook_deliveries",
        ["applied_at"],
        sqlite_where=sa.text("state = 'applied'"),
        postgresql_where=sa.text("state = 'applied'"),
    )
    op.create_table(
        "webhook_waba_activity",
        sa.Column("meta_waba_id", sa.String(length=32), nullable=False),
        sa.Column("last_event_at", sa.DateTime(), nullable=False),
        sa.Column("last_applied_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("meta_waba_id", name=op.f("pk_webhook_waba_activity")),
    )
    op.create_table(
        "worker_leases",
        sa.Column("name", sa.String(length=30), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_worker_leases")),
    )
    data_version = op.create_table(
        "data_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_data_version_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_version")),
    )
    op.bulk_insert(data_version, [{"id": 1, "version": 0}])


def downgrade() -> None:
    op.drop_table("data_version")
    op.drop_table("worker_leases")
    op.drop_table("webhook_waba_activity")
    op.drop_index("ix_webhook_deliveries_applied", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_pending", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
