"""quality changes: each health snapshot says whether its rating moved; a partial index holds those that did

Quality over time (counts per day for the whole fleet) then reads the few snapshots where a rating changed, not
every snapshot of the window (a fleet of 10,000 numbers with a daily sync writes ~900,000 in 90 days).
A trigger fills the flag on insert, for every writer, and corrects the next snapshot when one arrives late.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLE = "number_health_snapshots"
INDEX = "ix_number_health_snapshots_quality_changes"
TRIGGER = "number_health_snapshots_quality_changed"

# The snapshot just before / just after NEW for the same number, in (recorded_at, id) order.
_BEFORE_NEW = (
    "s.phone_number_id = NEW.phone_number_id AND s.recorded_at <= NEW.recorded_at "
    "AND (s.recorded_at < NEW.recorded_at OR s.id < NEW.id)"
)
_AFTER_NEW = (
    "s.phone_number_id = NEW.phone_number_id AND s.recorded_at >= NEW.recorded_at "
    "AND (s.recorded_at > NEW.recorded_at OR s.id > NEW.id)"
)

SQLITE_TRIGGER = f"""
CREATE TRIGGER {TRIGGER} AFTER INSERT ON {TABLE}
FOR EACH ROW WHEN NEW.quality_changed IS NULL
BEGIN
    UPDATE {TABLE} SET quality_changed = coalesce((
        SELECT s.quality_rating IS NOT NEW.quality_rating FROM {TABLE} AS s
        WHERE {_BEFORE_NEW} ORDER BY s.recorded_at DESC, s.id DESC LIMIT 1
    ), 1)
    WHERE id = NEW.id;
    UPDATE {TABLE} SET quality_changed = (quality_rating IS NOT NEW.quality_rating)
    WHERE id = (SELECT s.id FROM {TABLE} AS s WHERE {_AFTER_NEW} ORDER BY s.recorded_at, s.id LIMIT 1);
END
"""

POSTGRESQL_FUNCTION = f"""
CREATE FUNCTION fleet_mark_quality_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    previous_rating text;
    next_id integer;
BEGIN
    SELECT s.quality_rating INTO previous_rating FROM {TABLE} AS s
    WHERE {_BEFORE_NEW} ORDER BY s.recorded_at DESC, s.id DESC LIMIT 1;
    NEW.quality_changed := NOT FOUND OR previous_rating IS DISTINCT FROM NEW.quality_rating;
    SELECT s.id INTO next_id FROM {TABLE} AS s WHERE {_AFTER_NEW} ORDER BY s.recorded_at, s.id LIMIT 1;
    IF FOUND THEN
        UPDATE {TABLE} SET quality_changed = (quality_rating IS DISTINCT FROM NEW.quality_rating) WHERE id = next_id;
    END IF;
    RETURN NEW;
END $$
"""

POSTGRESQL_TRIGGER = f"""
CREATE TRIGGER {TRIGGER} BEFORE INSERT ON {TABLE}
FOR EACH ROW WHEN (NEW.quality_changed IS NULL) EXECUTE FUNCTION fleet_mark_quality_change()
"""


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.add_column(TABLE, sa.Column("quality_changed", sa.Boolean(), nullable=True))
    distinct = "IS DISTINCT FROM" if postgresql else "IS NOT"
    op.execute(
        f"UPDATE {TABLE} SET quality_changed = flags.changed FROM ("
        f"SELECT id, lag(quality_rating) OVER (PARTITION BY phone_number_id ORDER BY recorded_at, id) "
        f"{distinct} quality_rating AS changed FROM {TABLE}) AS flags WHERE flags.id = {TABLE}.id"
    )
    op.create_index(
        INDEX,
        TABLE,
        ["phone_number_id", "recorded_at", "id", "quality_rating"],
        unique=False,
        sqlite_where=sa.text("quality_changed = 1"),
        postgresql_where=sa.text("quality_changed"),
    )
    if postgresql:
        op.execute(POSTGRESQL_FUNCTION)
        op.execute(POSTGRESQL_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.execute(f"DROP TRIGGER {TRIGGER}" + (f" ON {TABLE}" if postgresql else ""))
    if postgresql:
        op.execute("DROP FUNCTION fleet_mark_quality_change()")
    op.drop_index(INDEX, table_name=TABLE)
    op.drop_column(TABLE, "quality_changed")
