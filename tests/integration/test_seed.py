"""The demo and synthetic fleets: deterministic, within every rule, and a database the services keep working on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from core import integrity, seed, services
from core.errors import InvalidInput
from core.reads.accounts import wabas_table
from core.reads.history import number_history
from core.reads.numbers import NUMBER_EXPORT_COLUMNS, numbers_table
from tests.builders import ADMIN
from tests.integration.schema import schema_differences
from tests.unit.db_state import row_counts

NOW = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


def test_the_demo_fleet_is_realistic_and_breaks_no_rule(engine: Engine) -> None:
    report = seed.seed(engine, seed.DEMO_SHAPE, now=NOW)

    assert (report.workspaces, report.portfolios, report.wabas) == (3, 5, 12)
    assert report.active_groups == 80
    assert report.numbers == 80 + 12
    assert report.snapshots == report.numbers * 90
    assert report.templates > 0
    assert integrity.find_violations(engine) == []
    numbers = numbers_table(engine)
    assert len(numbers) == report.numbers
    assert set(numbers["group_state"]) == {"active", "archived"}
    assert {"GREEN", "YELLOW"} <= set(numbers["quality_rating"])
    red = numbers[numbers["quality_rating"] == "RED"]
    assert len(red) >= 3  # a manager's worry, visible in the demo
    assert (red["group_state"] == "active").all()
    history = number_history(engine, [red["phone_e164"].iloc[0]])
    assert history["quality_rating"].iloc[-1] == "RED"
    assert history["quality_rating"].iloc[0] != "RED"
    assert numbers["status"].nunique() > 2
    assert numbers["at_risk"].any()
    assert (numbers["unknown_values"] == "").all()
    assert wabas_table(engine)["active_numbers"].max() == 20


def test_the_demo_fleet_is_the_same_on_every_run(sqlite_engine: Engine, postgres_engine: Engine) -> None:
    for engine in (sqlite_engine, postgres_engine):
        seed.seed(engine, seed.DEMO_SHAPE, now=NOW)

    columns = [*NUMBER_EXPORT_COLUMNS]
    on_sqlite = numbers_table(sqlite_engine)[columns].sort_values("phone_e164").reset_index(drop=True)
    on_postgres = numbers_table(postgres_engine)[columns].sort_values("phone_e164").reset_index(drop=True)
    assert on_sqlite.equals(on_postgres)


def test_seeding_a_database_that_holds_a_fleet_is_refused(sqlite_engine: Engine) -> None:
    services.add_workspace(sqlite_engine, ADMIN, "EU Brands")
    before = row_counts(sqlite_engine)

    with pytest.raises(InvalidInput, match="already holds a fleet"):
        seed.seed(sqlite_engine, seed.DEMO_SHAPE)

    assert row_counts(sqlite_engine) == before


@pytest.mark.parametrize(("wabas", "numbers"), [(0, 20), (11, 20), (10, 21)])
def test_synthetic_sizes_must_respect_the_caps(wabas: int, numbers: int) -> None:
    with pytest.raises(InvalidInput, match="1–10 WABAs per workspace, 0–20 numbers per WABA"):
        seed.synthetic_shape(1, wabas, numbers, 10)


def test_a_large_synthetic_fleet_keeps_the_schema_and_the_services_working(engine: Engine) -> None:
    """100,000 history rows: on PostgreSQL the bulk path that rebuilds the history indexes after the load."""
    report = seed.seed(engine, seed.synthetic_shape(5, 10, 20, 100), now=NOW)

    assert (report.wabas, report.numbers, report.snapshots) == (50, 1000, 100_000)
    assert schema_differences(engine) == []
    assert integrity.find_violations(engine) == []
    services.add_workspace(engine, ADMIN, "After the seed")
    services.update_number_health(
        engine, ADMIN, phone=numbers_table(engine)["phone_e164"].iloc[0], changes={"status": "BANNED"}
    )
    assert row_counts(engine)["number_health_snapshots"] == 100_001


def test_the_history_is_written_day_by_day_as_a_fleet_records_it(sqlite_engine: Engine) -> None:
    seed.seed(sqlite_engine, seed.DEMO_SHAPE, now=NOW)

    with sqlite_engine.connect() as connection:
        out_of_order = connection.exec_driver_sql(
            "SELECT count(*) FROM number_health_snapshots AS later JOIN number_health_snapshots AS earlier "
            "ON earlier.id = later.id - 1 WHERE later.recorded_at < earlier.recorded_at"
        ).scalar_one()
        days = connection.exec_driver_sql(
            "SELECT count(DISTINCT recorded_at) FROM number_health_snapshots"
        ).scalar_one()

    assert days > 1
    assert out_of_order == 0
