"""quality changes index covers the flag too, so SQLite's planner sees it as covering and always prefers it

Without statistics SQLite costs the partial index and the (number, time) index alike, and picked whichever was
created last (the seed rebuilds them in another order): the whole fleet's quality over time then read every
snapshot of the window instead of the few where a rating moved.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLE = "number_health_snapshots"
INDEX = "ix_number_health_snapshots_quality_changes"


def _create(columns: list[str]) -> None:
    op.create_index(
        INDEX,
        TABLE,
        columns,
        unique=False,
        sqlite_where=sa.text("quality_changed = 1"),
        postgresql_where=sa.text("quality_changed"),
    )


def upgrade() -> None:
    op.drop_index(INDEX, table_name=TABLE)
    _create(["phone_number_id", "recorded_at", "id", "quality_rating", "quality_changed"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name=TABLE)
    _create(["phone_number_id", "recorded_at", "id", "quality_rating"])
