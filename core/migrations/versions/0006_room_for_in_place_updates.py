"""room for in-place updates: numbers and field clocks are rewritten by every sync, so on PostgreSQL their pages
keep a fifth free

An UPDATE that finds room on the row's own page writes no new index entries (a "HOT" update); in full pages every
changed number also rewrites its e164 and Meta id index entries. SQLite updates rows in place and needs nothing.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = ("phone_numbers", "field_event_times")
FILL_FACTOR = 80


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} SET (fillfactor = {FILL_FACTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} RESET (fillfactor)")
