"""Migrations from empty, on SQLite and PostgreSQL: they build exactly the schema the models describe."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DatabaseError

from core.db import Base, make_engine
from core.migrate import is_up_to_date, upgrade
from tests.integration.schema import migrate_to, schema_differences


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A database nothing has touched yet."""
    if request.param == "postgresql":
        request.applymarker(pytest.mark.postgres)
        url = request.getfixturevalue("postgres_url")
    else:
        url = request.getfixturevalue("sqlite_url")
    engine = make_engine(url)
    yield engine
    engine.dispose()


def test_upgrade_from_empty_creates_every_table(empty_engine: Engine) -> None:
    assert inspect(empty_engine).get_table_names() == []

    upgrade(empty_engine)

    tables = set(inspect(empty_engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert tables - set(Base.metadata.tables) == {"alembic_version"}
    assert is_up_to_date(empty_engine)


def test_upgrading_twice_changes_nothing(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    with empty_engine.connect() as connection:
        version = connection.scalar(text("SELECT version_num FROM alembic_version"))

    upgrade(empty_engine)

    with empty_engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [version]
    assert schema_differences(empty_engine) == []


def test_the_migrated_schema_is_the_schema_of_the_models(empty_engine: Engine) -> None:
    upgrade(empty_engine)

    assert schema_differences(empty_engine) == []


def test_the_schema_check_notices_a_missing_index(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    with empty_engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_number_health_snapshots_time"))

    differences = schema_differences(empty_engine)

    assert [d[0] for d in differences] == ["add_index"]
    assert differences[0][1].name == "ix_number_health_snapshots_time"


def test_the_one_active_group_per_number_index_is_partial(empty_engine: Engine) -> None:
    upgrade(empty_engine)

    indexes = {index["name"]: index for index in inspect(empty_engine).get_indexes("subscription_groups")}

    active_number = indexes["uq_subscription_groups_active_number"]
    assert active_number["unique"]
    assert active_number["column_names"] == ["phone_number_id"]
    where = active_number["dialect_options"].get(
        "sqlite_where", active_number["dialect_options"].get("postgresql_where")
    )
    assert "active" in str(where)


def clocks_left_after_a_delete(engine: Engine) -> int:
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO field_event_times (object_type, object_id, field, event_time) "
                "VALUES ('phone_number', 1, 'status', '2025-04-01 20:11:43')"
            )
        )
        connection.execute(text("DELETE FROM field_event_times"))
        return connection.scalar(text("SELECT count(*) FROM field_event_times")) or 0


def test_the_field_clocks_guard_is_lifted_by_its_downgrade_and_restored_by_the_upgrade(empty_engine: Engine) -> None:
    upgrade(empty_engine)
    with pytest.raises(DatabaseError, match="fleet: DELETE on field_event_times is not allowed"):
        clocks_left_after_a_delete(empty_engine)

    migrate_to(empty_engine, "0004")
    left_unguarded = clocks_left_after_a_delete(empty_engine)
    migrate_to(empty_engine, "head")

    assert left_unguarded == 0
    with pytest.raises(DatabaseError, match="fleet: DELETE on field_event_times is not allowed"):
        clocks_left_after_a_delete(empty_engine)
    assert is_up_to_date(empty_engine)


def fill_factors(engine: Engine) -> dict[str, str | None]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT relname, (SELECT option FROM unnest(reloptions) AS option WHERE option LIKE 'fillfactor=%') "
                "FROM pg_class WHERE relname IN ('phone_numbers', 'field_event_times')"
            )
        )
        return dict(rows.all())


@pytest.mark.postgres
def test_numbers_and_clocks_keep_room_for_in_place_updates_on_postgresql(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    try:
        upgrade(engine)
        upgraded = fill_factors(engine)
        migrate_to(engine, "0005")
        downgraded = fill_factors(engine)
        migrate_to(engine, "head")

        assert upgraded == {"phone_numbers": "fillfactor=80", "field_event_times": "fillfactor=80"}
        assert downgraded == {"phone_numbers": None, "field_event_times": None}
        assert fill_factors(engine) == upgraded
    finally:
        engine.dispose()
