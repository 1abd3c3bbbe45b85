"""Fleet-wide numbers per quality per day: one SQL query, each number counted with its latest rating that day.

Snapshots are written only when a value changes, so a number that stayed GREEN all week has no snapshot that
week and must still be counted GREEN every day.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, event

from core import services
from core.reads.history import NUMBER_TIME_INDEX, _quality_changes_query, fleet_quality_by_day
from core.reads.numbers import fleet_size
from tests import builders

NOW = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=UTC)


def add_number(engine: Engine, waba_id: str, index: int, when: datetime) -> str:
    phone = builders.french_mobile(index)
    services.add_number(engine, builders.ADMIN, meta_waba_id=waba_id, group_name=f"g{index}", phone=phone, now=when)
    return phone


def set_health(engine: Engine, phone: str, when: datetime, **changes: str) -> None:
    services.update_number_health(engine, builders.ADMIN, phone=phone, changes=changes, now=when)


def counts_by_day(frame) -> dict[str, dict[str, int]]:
    result: dict[str, dict[str, int]] = {}
    for row in frame.itertuples(index=False):
        if row.numbers:
            result.setdefault(row.day.strftime("%m-%d"), {})[row.quality_rating] = row.numbers
    return result


@pytest.fixture
def week_of_changes(engine: Engine) -> dict[str, str]:
    """A: GREEN before the window, untouched in it; B: GREEN, then RED on the 17th; C: never rated;
    D: added on the 18th and rated YELLOW the same day. The window is the 16th to the 20th."""
    waba_id = builders.waba(engine)
    a, b, c = (add_number(engine, waba_id, i, at(10)) for i in range(3))
    set_health(engine, a, at(11), quality_rating="GREEN")
    set_health(engine, b, at(11), quality_rating="GREEN")
    set_health(engine, b, at(17, 10), quality_rating="RED")
    d = add_number(engine, waba_id, 3, at(18, 9))
    set_health(engine, d, at(18, 15), quality_rating="YELLOW")
    set_health(engine, a, at(19), messaging_limit_tier="TIER_10K")  # a snapshot that keeps the rating
    return {"A": a, "B": b, "C": c, "D": d}


def test_each_day_counts_every_number_with_its_latest_rating(engine, week_of_changes):
    per_day = fleet_quality_by_day(engine, days=5, now=NOW)

    assert counts_by_day(per_day) == {
        "03-16": {"GREEN": 2, "NA": 1},
        "03-17": {"GREEN": 1, "RED": 1, "NA": 1},
        "03-18": {"GREEN": 1, "YELLOW": 1, "RED": 1, "NA": 1},
        "03-19": {"GREEN": 1, "YELLOW": 1, "RED": 1, "NA": 1},
        "03-20": {"GREEN": 1, "YELLOW": 1, "RED": 1, "NA": 1},
    }


def test_the_series_can_follow_the_numbers_a_page_shows(engine, week_of_changes):
    per_day = fleet_quality_by_day(engine, days=5, now=NOW, e164s=[week_of_changes["A"], week_of_changes["D"]])

    assert counts_by_day(per_day) == {
        "03-16": {"GREEN": 1},
        "03-17": {"GREEN": 1},
        "03-18": {"GREEN": 1, "YELLOW": 1},
        "03-19": {"GREEN": 1, "YELLOW": 1},
        "03-20": {"GREEN": 1, "YELLOW": 1},
    }


def test_every_day_of_the_window_has_a_row_per_rating_seen(engine, week_of_changes):
    per_day = fleet_quality_by_day(engine, days=5, now=NOW)

    assert len(per_day) == 5 * 4
    assert set(per_day["quality_rating"]) == {"GREEN", "YELLOW", "RED", "NA"}


def test_the_counts_come_from_a_single_sql_statement(engine, week_of_changes):
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        fleet_quality_by_day(engine, days=90, now=NOW)
    finally:
        event.remove(engine, "before_cursor_execute", count)

    queries = [s for s in statements if not s.startswith(("BEGIN", "COMMIT", "ROLLBACK"))]
    assert len(queries) == 1
    assert "GROUP BY" in queries[0]


def test_an_empty_fleet_has_an_empty_series(engine):
    per_day = fleet_quality_by_day(engine, days=7, now=NOW)

    assert per_day.empty


@pytest.mark.parametrize("rebuilt_last", [None, "ix_number_health_snapshots_number_time"])
def test_on_sqlite_the_window_is_read_in_order_from_the_quality_changes_index_without_a_sort(
    sqlite_engine, rebuilt_last
):
    """Whichever index was built last (a bulk load rebuilds them), the planner picks the covering one."""
    query = _quality_changes_query(at(16), at(21), None)
    compiled = query.compile(sqlite_engine, compile_kwargs={"literal_binds": True})

    with sqlite_engine.begin() as connection:
        if rebuilt_last:
            definition = connection.exec_driver_sql(
                f"SELECT sql FROM sqlite_master WHERE name = '{rebuilt_last}'"
            ).scalar_one()
            connection.exec_driver_sql(f"DROP INDEX {rebuilt_last}")
            connection.exec_driver_sql(definition)
        plan = [row[3] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}")]

    reads = [
        step for step in plan if step.startswith(("SCAN number_health_snapshots", "SEARCH number_health_snapshots"))
    ]
    window, *lookups = reads
    assert window == (
        f"SEARCH number_health_snapshots USING COVERING INDEX {NUMBER_TIME_INDEX} "
        "(phone_number_id=? AND recorded_at>? AND recorded_at<?)"
    )
    # each number's rating before the window (when it opens, and before its first change in it): index lookups
    assert lookups
    assert all(
        lookup.startswith("SEARCH number_health_snapshots_")
        and lookup.endswith(f"USING COVERING INDEX {NUMBER_TIME_INDEX} (phone_number_id=? AND recorded_at<?)")
        for lookup in lookups
    )
    assert not any("FOR ORDER BY" in step for step in plan)


def test_the_fleet_size_counts_every_number_stored(engine, week_of_changes):
    assert fleet_size(engine) == 4
