"""field event times are kept like every other table: the database refuses to delete them

Without its clocks a field would take the next webhook whatever its age, so a late event could undo a newer one.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLE = "field_event_times"
TRIGGER = f"{TABLE}_no_delete"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # fleet_refuse_change() comes from 0001 and names the operation and the table in its message.
        op.execute(
            f"CREATE TRIGGER {TRIGGER} BEFORE DELETE ON {TABLE} FOR EACH ROW EXECUTE FUNCTION fleet_refuse_change()"
        )
        return
    op.execute(
        f"CREATE TRIGGER {TRIGGER} BEFORE DELETE ON {TABLE} "
        f"BEGIN SELECT RAISE(ABORT, 'fleet: DELETE on {TABLE} is not allowed (history is kept)'); END"
    )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.execute(f"DROP TRIGGER {TRIGGER}" + (f" ON {TABLE}" if postgresql else ""))
