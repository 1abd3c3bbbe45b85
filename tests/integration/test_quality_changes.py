"""Each health snapshot knows whether its quality rating moved (filled as it is written: by a trigger on PostgreSQL,
by core.health_history on SQLite), so quality over time reads only those snapshots; a snapshot arriving late corrects
the one after it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, func, insert, select, text

from core import health_history, seed, services
from core.db import NumberHealthSnapshot, PhoneNumber, make_engine
from core.migrate import alembic_config, migration_module, upgrade
from core.reads.history import fleet_quality_by_day
from tests import builders
from tests.integration.schema import migrate_to, schema_differences

DAY_ONE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
PHONE = builders.french_mobile(0)


def day(n: int, hours: int = 0) -> datetime:
    return DAY_ONE + timedelta(days=n - 1, hours=hours)


@pytest.fixture
def number_id(engine: Engine) -> int:
    """A number added the day before DAY_ONE (its first snapshot, rating not known yet)."""
    phone = services.add_number(
        engine, builders.ADMIN, meta_waba_id=builders.waba(engine), group_name="g", phone=PHONE, now=day(0)
    ).e164
    with engine.connect() as connection:
        return connection.scalar(select(PhoneNumber.id).where(PhoneNumber.e164 == phone))


def write(engine: Engine, number_id: int, *snapshots: tuple[datetime, str]) -> None:
    """Snapshots as a bulk import writes them: Core inserts with the flag left empty, then the flags in bulk."""
    with engine.begin() as connection:
        for recorded_at, quality in snapshots:
            connection.execute(
                insert(NumberHealthSnapshot).values(
                    phone_number_id=number_id,
                    recorded_at=recorded_at,
                    quality_rating=quality,
                    messaging_limit_tier="TIER_1K",
                    status="CONNECTED",
                    source="test",
                )
            )
        health_history.flag_quality_changes(connection)


def flags(engine: Engine, number_id: int, since: datetime = DAY_ONE) -> list[tuple[str, bool]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(NumberHealthSnapshot.quality_rating, NumberHealthSnapshot.quality_changed)
            .where(NumberHealthSnapshot.phone_number_id == number_id, NumberHealthSnapshot.recorded_at >= since)
            .order_by(NumberHealthSnapshot.recorded_at, NumberHealthSnapshot.id)
        )
        return [(quality, bool(changed)) for quality, changed in rows]


def test_a_snapshot_is_flagged_only_when_its_rating_differs_from_the_one_before(engine, number_id):
    write(engine, number_id, (day(1), "GREEN"), (day(2), "GREEN"), (day(3), "YELLOW"), (day(4), "YELLOW"))

    assert flags(engine, number_id) == [("GREEN", True), ("GREEN", False), ("YELLOW", True), ("YELLOW", False)]


def test_the_first_snapshot_of_a_number_is_a_change(engine, number_id):
    with engine.connect() as connection:
        first = (
            connection.execute(
                select(NumberHealthSnapshot.quality_changed)
                .where(NumberHealthSnapshot.phone_number_id == number_id)
                .order_by(NumberHealthSnapshot.recorded_at, NumberHealthSnapshot.id)
            )
            .scalars()
            .first()
        )

    assert first is True or first == 1


def test_a_late_snapshot_is_flagged_against_the_one_before_it_and_corrects_the_one_after(engine, number_id):
    write(engine, number_id, (day(1), "GREEN"), (day(3), "GREEN"))

    write(engine, number_id, (day(2), "RED"))

    assert flags(engine, number_id) == [("GREEN", True), ("RED", True), ("GREEN", True)]


def test_a_late_snapshot_with_the_same_rating_changes_nothing_after_it(engine, number_id):
    write(engine, number_id, (day(1), "GREEN"), (day(3), "YELLOW"))

    write(engine, number_id, (day(2), "GREEN"))

    assert flags(engine, number_id) == [("GREEN", True), ("GREEN", False), ("YELLOW", True)]


def test_snapshots_written_by_the_services_are_flagged_too(engine, number_id):
    services.update_number_health(engine, builders.ADMIN, phone=PHONE, changes={"quality_rating": "RED"}, now=day(5))
    services.update_number_health(engine, builders.ADMIN, phone=PHONE, changes={"status": "FLAGGED"}, now=day(6))

    assert flags(engine, number_id) == [("RED", True), ("RED", False)]


def test_quality_per_day_counts_a_late_change_on_its_own_day(engine, number_id):
    write(engine, number_id, (day(1), "GREEN"), (day(2), "GREEN"), (day(4), "GREEN"))
    write(engine, number_id, (day(3), "RED"))

    per_day = fleet_quality_by_day(engine, days=4, now=day(4, hours=1))

    counts = per_day.pivot_table(index="day", columns="quality_rating", values="numbers")
    assert counts["RED"].tolist() == [0, 0, 1, 0]
    assert counts["GREEN"].tolist() == [1, 1, 0, 1]


def test_upgrading_an_existing_history_flags_its_snapshots(sqlite_url):
    """Snapshots stored before the flag existed (one of them written late) are flagged by the migration."""
    engine = make_engine(sqlite_url)
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
    with engine.begin() as connection:
        number = connection.exec_driver_sql(
            "INSERT INTO phone_numbers (e164, display_name, status, quality_rating, messaging_limit_tier, name_status, "
            "created_at, updated_at) VALUES ('+33600000000', '', 'CONNECTED', 'GREEN', 'TIER_1K', 'APPROVED', "
            "'2026-03-01', '2026-03-01') RETURNING id"
        ).scalar()
        for when, quality in [("2026-03-01", "GREEN"), ("2026-03-03", "RED"), ("2026-03-02", "GREEN")]:
            connection.exec_driver_sql(
                "INSERT INTO number_health_snapshots (phone_number_id, recorded_at, quality_rating, "
                f"messaging_limit_tier, status, source) VALUES ({number}, '{when}', '{quality}', 'TIER_1K', "
                "'CONNECTED', 'sync')"
            )

    upgrade(engine)

    assert flags(engine, number, since=datetime(2026, 1, 1, tzinfo=UTC)) == [
        ("GREEN", True),
        ("GREEN", False),
        ("RED", True),
    ]
    engine.dispose()


def expected_flags(snapshots: list[tuple[int, datetime, str]]) -> list[tuple[str, bool]]:
    """Each snapshot against the one before it in (time, id) order, the first against nothing."""
    ordered = sorted(snapshots, key=lambda snapshot: (snapshot[1], snapshot[0]))
    ratings = [quality for _, _, quality in ordered]
    return [(quality, index == 0 or ratings[index - 1] != quality) for index, quality in enumerate(ratings)]


def stored_snapshots(engine: Engine, number_id: int) -> list[tuple[int, datetime, str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                NumberHealthSnapshot.id, NumberHealthSnapshot.recorded_at, NumberHealthSnapshot.quality_rating
            ).where(NumberHealthSnapshot.phone_number_id == number_id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


writes = st.lists(
    st.lists(st.tuples(st.integers(1, 6), st.sampled_from(["GREEN", "YELLOW", "RED"])), min_size=1, max_size=4),
    min_size=1,
    max_size=4,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=writes)
def test_any_writes_in_any_order_leave_every_snapshot_flagged_against_the_one_before_it(sqlite_engine, batches):
    """Batches of snapshots, each written in one transaction, in any order of days (same days included): the
    flags are those of the whole history read in time order, late arrivals and their successors included."""
    number_id = new_number(sqlite_engine)
    for batch in batches:
        write(sqlite_engine, number_id, *[(day(n), quality) for n, quality in batch])

    assert flags(sqlite_engine, number_id, since=day(0)) == expected_flags(stored_snapshots(sqlite_engine, number_id))


def new_number(engine: Engine) -> int:
    """Another number (with its first snapshot, 'added' the day before day 1), in a WABA of its own."""
    with engine.connect() as connection:
        taken = connection.scalar(select(func.count()).select_from(PhoneNumber)) or 0
    phone = services.add_number(
        engine,
        builders.ADMIN,
        meta_waba_id=builders.waba(engine, workspace=f"Workspace {taken}"),
        group_name="g",
        phone=builders.french_mobile(100 + taken),
        now=day(0),
    ).e164
    with engine.connect() as connection:
        return connection.scalar(select(PhoneNumber.id).where(PhoneNumber.e164 == phone))


def raw_snapshot_flag(engine: Engine, number_id: int, quality: str) -> object:
    """A snapshot written past core, straight in SQL: what the database alone makes of its flag."""
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO number_health_snapshots (phone_number_id, recorded_at, quality_rating, "
                "messaging_limit_tier, status, source) VALUES (:id, '2026-03-09 12:00:00', :quality, 'TIER_1K', "
                "'CONNECTED', 'sql')"
            ),
            {"id": number_id, "quality": quality},
        )
        latest = select(NumberHealthSnapshot.quality_changed).order_by(NumberHealthSnapshot.id.desc()).limit(1)
        return connection.scalar(latest)


def test_on_sqlite_the_flags_move_from_the_trigger_to_core_with_migration_0007_and_back(sqlite_engine):
    number_id = new_number(sqlite_engine)
    left_to_core = raw_snapshot_flag(sqlite_engine, number_id, "RED")
    migrate_to(sqlite_engine, "0006")
    set_by_trigger = raw_snapshot_flag(sqlite_engine, number_id, "YELLOW")
    migrate_to(sqlite_engine, "head")

    assert left_to_core is None
    assert set_by_trigger == 1
    assert schema_differences(sqlite_engine) == []
    assert raw_snapshot_flag(sqlite_engine, number_id, "GREEN") is None


@pytest.mark.postgres
def test_on_postgresql_the_trigger_flags_a_snapshot_as_it_is_written(postgres_engine):
    number_id = new_number(postgres_engine)

    assert raw_snapshot_flag(postgres_engine, number_id, "RED") is True
    assert raw_snapshot_flag(postgres_engine, number_id, "RED") is False


@pytest.mark.postgres
def test_on_postgresql_the_trigger_reads_the_snapshot_before_from_the_index_without_sorting(postgres_engine):
    """The trigger's plan is generic (its parameters unknown): the index must give the (recorded_at, id) order
    itself, or a fleet's day-by-day history costs a sort of the number's snapshots on every insert."""
    seed.seed(postgres_engine, seed.synthetic_shape(1, 10, 20, 60))
    before_new = migration_module("0003_quality_changes_index.py")._BEFORE_NEW.replace("NEW.phone_number_id", "$1")
    before_new = before_new.replace("NEW.recorded_at", "$2").replace("NEW.id", "$3")
    with postgres_engine.connect() as connection:
        connection.execute(text("ANALYZE number_health_snapshots"))
        connection.execute(text("SET plan_cache_mode = force_generic_plan"))
        connection.execute(
            text(
                "PREPARE snapshot_before (integer, timestamp, integer) AS SELECT s.quality_rating "
                f"FROM number_health_snapshots AS s WHERE {before_new} ORDER BY s.recorded_at DESC, s.id DESC LIMIT 1"
            )
        )
        plan = "\n".join(connection.execute(text("EXPLAIN EXECUTE snapshot_before (1, now(), 1)")).scalars())

    assert "ix_number_health_snapshots_number_time" in plan
    assert "Sort" not in plan
