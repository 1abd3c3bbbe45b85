"""field event times: one clock per field set by Meta (imports of webhooks and listings)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "field_event_times",
        sa.Column("object_type", sa.String(length=30), nullable=False),
        sa.Column("object_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=60), nullable=False),
        sa.Column("event_time", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("object_type", "object_id", "field", name=op.f("pk_field_event_times")),
    )


def downgrade() -> None:
    op.drop_table("field_event_times")
