"""quality flags set by core: the per-row trigger of 0003 goes; core.health_history flags a write's snapshots in
two statements, found through a partial index of the unflagged ones

SQLite runs a row trigger's program for every inserted row, even when its WHEN clause skips the body: ~70 µs per
snapshot, ~90 ms for an import of 1,300 health changes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TABLE = "number_health_snapshots"
INDEX = "ix_number_health_snapshots_unflagged"


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    trigger = _revision_0003().TRIGGER
    op.execute(f"DROP TRIGGER {trigger}" + (f" ON {TABLE}" if postgresql else ""))
    if postgresql:
        op.execute("DROP FUNCTION fleet_mark_quality_change()")
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
    earlier = _revision_0003()
    if op.get_bind().dialect.name == "postgresql":
        op.execute(earlier.POSTGRESQL_FUNCTION)
        op.execute(earlier.POSTGRESQL_TRIGGER)
    else:
        op.execute(earlier.SQLITE_TRIGGER)


def _revision_0003() -> ModuleType:
    """The trigger's definition, where it was written (migration files are not an importable package)."""
    path = Path(__file__).with_name("0003_quality_changes_index.py")
    spec = importlib.util.spec_from_file_location("fleet_migration_0003", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
