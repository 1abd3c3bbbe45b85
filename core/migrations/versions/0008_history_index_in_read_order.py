"""history index in read order: (number, recorded_at, id), the order every lookup of a number's snapshot before or
after another reads it

The lookups order by (recorded_at, id) with LIMIT 1. With the index on (number, recorded_at) alone, PostgreSQL's
generic plan in the snapshot trigger sorts a number's snapshots instead of reading the last one, and once the
history is laid out day by day (as a running fleet writes it) each of those snapshots is on a page of its own
(the cost per insert: benchmarks/README.md). SQLite's index already ended with the row id, so the order is
the same there, with the id written once more per entry.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

TABLE = "number_health_snapshots"
INDEX = "ix_number_health_snapshots_number_time"


def upgrade() -> None:
    op.drop_index(INDEX, table_name=TABLE)
    op.create_index(INDEX, TABLE, ["phone_number_id", "recorded_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index(INDEX, table_name=TABLE)
    op.create_index(INDEX, TABLE, ["phone_number_id", "recorded_at"], unique=False)
