"""Writing health snapshots: each one says whether its quality rating moved, whoever writes it.

`quality_changed` compares a snapshot's rating with the number's snapshot just before it in time; a snapshot
arriving late also changes the flag of the one after it, whose previous rating it now is. On PostgreSQL a BEFORE
trigger fills the flag in the row being written (migration 0003). On SQLite a snapshot is written with the flag
empty, and before the transaction ends two set-based statements flag every unflagged snapshot and re-flag the one
after each: SQLite's trigger could only update each row after writing it, and SQLite runs a row trigger's program
for every inserted row, even when it does nothing (figures in benchmarks/README.md). PostgreSQL needs
neither statement: its trigger flagged every snapshot as it was written.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Connection, Table, and_, or_, select, update
from sqlalchemy.orm import Session

from core.db import NumberHealthSnapshot

SNAPSHOTS: Table = NumberHealthSnapshot.__table__  # type: ignore[assignment]


def _rating_before(snapshot: Any) -> Any:
    """The rating of the number's snapshot just before `snapshot` in (recorded_at, id) order; NULL for its first."""
    earlier = SNAPSHOTS.alias("earlier")
    return (
        select(earlier.c.quality_rating)
        .where(
            earlier.c.phone_number_id == snapshot.c.phone_number_id,
            earlier.c.recorded_at <= snapshot.c.recorded_at,
            or_(earlier.c.recorded_at < snapshot.c.recorded_at, earlier.c.id < snapshot.c.id),
        )
        .order_by(earlier.c.recorded_at.desc(), earlier.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _successors_of_unflagged() -> Any:
    """The snapshot just after each unflagged one, for the same number."""
    new, later = SNAPSHOTS.alias("new"), SNAPSHOTS.alias("later")
    successor = (
        select(later.c.id)
        .where(
            later.c.phone_number_id == new.c.phone_number_id,
            later.c.recorded_at >= new.c.recorded_at,
            or_(later.c.recorded_at > new.c.recorded_at, later.c.id > new.c.id),
        )
        .order_by(later.c.recorded_at, later.c.id)
        .limit(1)
        .scalar_subquery()
    )
    return select(successor).where(new.c.quality_changed.is_(None))


@functools.cache
def _flag_statements() -> tuple[Any, Any]:
    """The successors' statement, then the unflagged ones' (built once: they take no parameters)."""
    changed = _rating_before(SNAPSHOTS).is_distinct_from(SNAPSHOTS.c.quality_rating)
    successors = (
        update(SNAPSHOTS)
        .where(and_(SNAPSHOTS.c.id.in_(_successors_of_unflagged()), SNAPSHOTS.c.quality_changed.is_not(None)))
        .values(quality_changed=changed)
    )
    unflagged = update(SNAPSHOTS).where(SNAPSHOTS.c.quality_changed.is_(None)).values(quality_changed=changed)
    return successors, unflagged


def flag_quality_changes(connection: Connection) -> None:
    """Flag the unflagged snapshots (the open transaction's) and re-flag the snapshot after each of them."""
    if connection.dialect.name == "postgresql":
        return  # its trigger flagged them as they were written
    for statement in _flag_statements():
        connection.execute(statement)


def record_snapshot(session: Session, snapshot: NumberHealthSnapshot) -> None:
    """One snapshot through the ORM (a manual change): written at the end of its number's chain and flagged with
    the others of its unit of work when it commits (core.chains)."""
    session.add(snapshot)
