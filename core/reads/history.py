"""Reads of the numbers' health history: snapshots of some numbers, the whole history, and counts per day."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import Date, Engine, Select, cast, func, null, or_, select, true, union_all
from sqlalchemy.orm import aliased

from core.db import NumberHealthSnapshot, PhoneNumber
from core.palette import QUALITY_ORDER, ordered_values
from core.reads.frame import read_frame

# A filter narrower than the fleet is sent to the database as a list of numbers; SQLite accepts 32,766 values.
MAX_NUMBERS_IN_FILTER = 30_000
# The index the per-day query walks, in (number, time) order: only the snapshots whose rating moved (see
# _quality_changes_query and migration 0003).
NUMBER_TIME_INDEX = "ix_number_health_snapshots_quality_changes"


def _snapshots(*number_columns: Any) -> Select[Any]:
    """Every health snapshot with its number's E.164 (and `number_columns`), unordered."""
    return select(
        PhoneNumber.e164.label("phone_e164"),
        *number_columns,
        NumberHealthSnapshot.recorded_at,
        NumberHealthSnapshot.quality_rating,
        NumberHealthSnapshot.messaging_limit_tier,
        NumberHealthSnapshot.status,
        NumberHealthSnapshot.source,
    ).join(PhoneNumber, PhoneNumber.id == NumberHealthSnapshot.phone_number_id)


def _since(query: Select[Any], since: datetime | None) -> Select[Any]:
    return query if since is None else query.where(NumberHealthSnapshot.recorded_at >= since)


def number_history(engine: Engine, e164s: Sequence[str], since: datetime | None = None) -> pd.DataFrame:
    """Health snapshots (quality, tier, status) of the given numbers, with their display name, oldest first."""
    query = (
        _snapshots(PhoneNumber.display_name)
        .where(PhoneNumber.e164.in_(list(e164s)))
        .order_by(PhoneNumber.e164, NumberHealthSnapshot.recorded_at, NumberHealthSnapshot.id)
    )
    return read_frame(engine, _since(query, since))


def history_export(engine: Engine, since: datetime | None = None) -> pd.DataFrame:
    """Every health snapshot with its number, oldest first."""
    query = _snapshots().order_by(NumberHealthSnapshot.recorded_at, NumberHealthSnapshot.id)
    return read_frame(engine, _since(query, since))


def fleet_quality_by_day(
    engine: Engine,
    *,
    days: int = 90,
    e164s: Sequence[str] | None = None,
    now: datetime | None = None,
) -> pd.DataFrame:
    """How many numbers had each quality rating at the end of each of the last `days` days (UTC).

    Snapshots are written only when a value changes, so a day's count is each number's *latest* rating on or
    before that day, not the snapshots of that day. One SQL query returns only the day-to-day changes of the
    counts (each number's rating before the window, then how many numbers moved from which rating to which,
    per day); the running sum of those few rows is the series. `e164s` narrows to some numbers (None: the whole fleet).
    Columns: day, quality_rating, numbers — one row per day and rating.
    """
    now = now or datetime.now(UTC)
    today = now.astimezone(UTC).date()
    first_day = today - timedelta(days=max(1, days) - 1)
    start = datetime(first_day.year, first_day.month, first_day.day, tzinfo=UTC)
    end = datetime(today.year, today.month, today.day, tzinfo=UTC) + timedelta(days=1)
    with engine.connect() as connection:
        rows = connection.execute(_quality_changes_query(start, end, e164s)).all()
    # Each row moves `numbers` numbers from the `old` rating (none: they joined) to the `new` one on `day`.
    moved = pd.DataFrame(rows, columns=["day", "new", "old", "numbers"])
    moved["day"] = pd.to_datetime(moved["day"].where(moved["day"].notna(), first_day)).dt.normalize()
    arrivals = moved[["day", "new", "numbers"]].set_axis(["day", "quality_rating", "delta"], axis=1)
    departures = moved.loc[moved["old"].notna(), ["day", "old", "numbers"]].set_axis(
        ["day", "quality_rating", "delta"], axis=1
    )
    changes = pd.concat([arrivals, departures.assign(delta=-departures["delta"])], ignore_index=True)
    changes["delta"] = changes["delta"].astype(int)
    all_days = pd.date_range(first_day, today, freq="D")
    qualities = ordered_values(changes["quality_rating"], QUALITY_ORDER)
    per_day = (
        changes.pivot_table(index="day", columns="quality_rating", values="delta", aggfunc="sum")
        .reindex(index=all_days, columns=qualities)
        .fillna(0)
        .cumsum()
        .astype(int)
    )
    per_day.index.name = "day"
    return per_day.reset_index().melt(id_vars="day", var_name="quality_rating", value_name="numbers")


def _quality_changes_query(start: datetime, end: datetime, e164s: Sequence[str] | None) -> Any:
    snapshot = NumberHealthSnapshot
    # Always naming the numbers lets SQLite walk the (number, time) index — rows arrive in window order, with
    # no sort of the whole window — and keeps the time range an index bound; PostgreSQL plans it as a semi-join.
    numbers = select(PhoneNumber.id)
    if e164s is not None and len(e164s) <= MAX_NUMBERS_IN_FILTER:
        numbers = numbers.where(PhoneNumber.e164.in_(list(e164s)))

    # Only snapshots whose rating moved are read, from a partial index that holds just those (a few percent of
    # the history): between two of them the rating stands still, so the one before holds the rating replaced.
    def rating_before_window(number_id: Any) -> Any:
        earlier = aliased(NumberHealthSnapshot)
        return (
            select(earlier.quality_rating)
            .where(earlier.phone_number_id == number_id, earlier.recorded_at < start, earlier.quality_changed == true())
            .order_by(earlier.recorded_at.desc(), earlier.id.desc())
            .limit(1)
            .scalar_subquery()
        )

    # Every number's rating when the window opens: one index lookup per number (materialised, as below).
    opening = (
        select(rating_before_window(PhoneNumber.id).label("quality_rating"))
        .where(PhoneNumber.id.in_(numbers))
        .cte("opening")
        .prefix_with("MATERIALIZED")
    )
    # The window's rating changes, each with the rating it replaced (LAG; the first one, the opening rating).
    windowed = (
        select(
            snapshot.phone_number_id,
            snapshot.recorded_at,
            snapshot.quality_rating.label("new"),
            func.lag(snapshot.quality_rating)
            .over(partition_by=snapshot.phone_number_id, order_by=(snapshot.recorded_at, snapshot.id))
            .label("previous"),
        )
        .where(
            snapshot.phone_number_id.in_(numbers),
            snapshot.recorded_at >= start,
            snapshot.recorded_at < end,
            snapshot.quality_changed == true(),
        )
        .subquery("in_window")
    )
    # The first change of a number in the window looks its opening rating up (one index lookup, done once: the
    # rows are materialised, else SQLite repeats the lookup in each clause that names `old`).
    transitions = (
        select(
            windowed.c.recorded_at,
            windowed.c.new,
            func.coalesce(windowed.c.previous, rating_before_window(windowed.c.phone_number_id)).label("old"),
        )
        .cte("transitions")
        .prefix_with("MATERIALIZED")
    )
    # One row per (day, new rating, replaced rating): a handful of rows whatever the fleet's size.
    day = func.date(transitions.c.recorded_at).label("day")
    moves = (
        select(day, transitions.c.new, transitions.c.old, func.count().label("numbers"))
        .where(or_(transitions.c.old.is_(None), transitions.c.old != transitions.c.new))
        .group_by(day, transitions.c.new, transitions.c.old)
    )
    # The opening ratings (day NULL = the first day).
    opening_moves = (
        select(cast(null(), Date), opening.c.quality_rating, null(), func.count())
        .where(opening.c.quality_rating.is_not(None))
        .group_by(opening.c.quality_rating)
    )
    return union_all(moves, opening_moves)
