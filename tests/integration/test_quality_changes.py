"""Each health snapshot knows whether its quality rating moved (the database fills the flag on insert, whoever
writes), so quality over time reads only those snapshots; a snapshot arriving late corrects the one after it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import Engine, insert, select

from core import chart_data, services
from core.db import NumberHealthSnapshot, PhoneNumber, make_engine
from core.migrate import alembic_config, upgrade
from tests import builders

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
    """Snapshots as a bulk import writes them: Core inserts that leave the flag to the database."""
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

    per_day = chart_data.fleet_quality_by_day(engine, days=4, now=day(4, hours=1))

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
