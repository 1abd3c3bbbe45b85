"""quality flags set by core on SQLite: its per-row trigger from 0003 goes; core.health_history flags a write's
snapshots in two statements, found through a partial index of the unflagged ones

SQLite runs a row trigger's program for every inserted row, even when its WHEN clause skips the body, and its
trigger could only update each row after writing it (its cost: benchmarks/README.md). PostgreSQL keeps its
BEFORE trigger, which fills the flag in the row being written; an UPDATE afterwards would write each new
snapshot's row and index entries twice and check its foreign key again.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

from types import ModuleType

import sqlalchemy as sa
from alembic import op

from core.migrate import migration_module

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLE = "number_health_snapshots"
INDEX = "ix_number_health_snapshots_unflagged"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.execute(f"DROP TRIGGER {_revision_0003().TRIGGER}")
    op.create_index(
        INDEX,
        TABLE,
        ["id"],
        unique=False,
        sqlite_where=sa.text("quality_changed IS NULL"),
        postgresql_where=sa.text("quality_changed IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name=TABLE)
    if op.get_bind().dialect.name != "postgresql":
        op.execute(_revision_0003().SQLITE_TRIGGER)


def _revision_0003() -> ModuleType:
    """The trigger's definition, where it was written."""
    return migration_module("0003_quality_changes_index.py")
