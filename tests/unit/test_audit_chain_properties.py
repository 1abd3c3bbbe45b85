"""Properties of the audit chain on a real SQLite file: any sequence of audit writes, in units of work of any size,
verifies; altering any one recorded field of any entry is found, and the entry is named."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select, text, update

from core import chains
from core.db import make_engine, write_session

texts = st.text(max_size=40)
times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
entries = st.fixed_dictionaries(
    {
        "at": times,
        "actor": texts,
        "action": st.text(max_size=20),
        "object_type": st.text(max_size=20),
        "object_key": texts,
        "before": st.none() | texts,
        "after": st.none() | texts,
    }
)
units_of_work = st.lists(st.lists(entries, min_size=1, max_size=5), min_size=1, max_size=4)


def a_migrated_database(migrated: Path, folder: Path) -> Engine:
    shutil.copyfile(migrated, folder / "fleet.db")
    return make_engine(f"sqlite:///{folder / 'fleet.db'}")


def write(engine: Engine, units: list[list[dict[str, Any]]]) -> None:
    for unit in units:
        with write_session(engine) as session:
            chains.defer_audit(session, unit)


def breaks(engine: Engine) -> list[str]:
    with engine.connect() as connection:
        return chains.find_breaks(connection)


def another(value: Any, field: str) -> Any:
    """A value of the same field that differs from `value` once stored."""
    if isinstance(value, datetime):
        return value + timedelta(microseconds=1)
    if value is None:
        return ""
    return value + "x" if field not in ("before", "after") or value else None


@settings(max_examples=40, deadline=None)
@given(units=units_of_work, data=st.data())
def test_any_sequence_of_audit_writes_verifies_and_any_altered_field_is_named(
    migrated_sqlite_file: Path,
    tmp_path_factory: pytest.TempPathFactory,
    units: list[list[dict[str, Any]]],
    data: st.DataObject,
) -> None:
    engine = a_migrated_database(migrated_sqlite_file, tmp_path_factory.mktemp("chain"))
    write(engine, units)
    written = breaks(engine)
    with engine.connect() as connection:
        ids = list(connection.scalars(select(chains.AUDIT.c.id).order_by(chains.AUDIT.c.id)))
    target = data.draw(st.sampled_from(ids), label="entry")
    field = data.draw(st.sampled_from(chains.AUDIT_VALUES), label="field")

    with engine.connect() as connection, connection.begin() as transaction:
        connection.execute(text("DROP TRIGGER audit_log_no_update"))
        stored = connection.scalar(select(chains.AUDIT.c[field]).where(chains.AUDIT.c.id == target))
        connection.execute(
            update(chains.AUDIT).where(chains.AUDIT.c.id == target).values({field: another(stored, field)})
        )
        altered = chains.find_breaks(connection)
        transaction.rollback()
    engine.dispose()

    assert written == []
    assert len(ids) == sum(map(len, units))
    assert len(altered) == 1
    assert altered[0].startswith(f"audit_log row {target} breaks the chain")


snapshots = st.fixed_dictionaries(
    {
        "number": st.integers(min_value=0, max_value=2),
        "recorded_at": times,
        "quality_rating": st.sampled_from(["GREEN", "YELLOW", "RED", "NA", "UNKNOWN"]),
        "messaging_limit_tier": st.sampled_from(["TIER_250", "TIER_1K", "TIER_UNLIMITED"]),
        "status": st.sampled_from(["CONNECTED", "FLAGGED", "BANNED"]),
        "source": st.sampled_from(["sync", "webhook", "manual"]),
    }
)
HISTORY_FIELDS = ("phone_number_id", "recorded_at", "quality_rating", "messaging_limit_tier", "status", "source")


def numbers(engine: Engine) -> list[int]:
    """Three numbers, written as the seed writes them (the history's foreign key needs them)."""
    with engine.begin() as connection:
        for index in range(3):
            connection.execute(
                text(
                    "INSERT INTO phone_numbers (e164, display_name, status, quality_rating, messaging_limit_tier, "
                    "name_status, created_at, updated_at) VALUES (:e164, '', 'CONNECTED', 'GREEN', 'TIER_1K', "
                    "'APPROVED', '2025-01-01 00:00:00', '2025-01-01 00:00:00')"
                ),
                {"e164": f"+3361234567{index}"},
            )
        return list(connection.scalars(text("SELECT id FROM phone_numbers ORDER BY id")))


@settings(max_examples=30, deadline=None)
@given(units=st.lists(st.lists(snapshots, min_size=1, max_size=6), min_size=1, max_size=4), data=st.data())
def test_any_history_verifies_and_any_altered_snapshot_is_named_with_its_number(
    migrated_sqlite_file: Path,
    tmp_path_factory: pytest.TempPathFactory,
    units: list[list[dict[str, Any]]],
    data: st.DataObject,
) -> None:
    engine = a_migrated_database(migrated_sqlite_file, tmp_path_factory.mktemp("history"))
    ids = numbers(engine)
    for unit in units:
        with write_session(engine) as session:
            rows = [
                {**{k: v for k, v in s.items() if k != "number"}, "phone_number_id": ids[s["number"]]} for s in unit
            ]
            chains.defer_snapshots(session, rows)
    written = breaks(engine)
    history = chains.SNAPSHOTS
    with engine.connect() as connection:
        stored = connection.execute(select(history.c.id, history.c.phone_number_id).order_by(history.c.id)).all()
    target, number = data.draw(st.sampled_from(stored), label="snapshot")
    field = data.draw(st.sampled_from(HISTORY_FIELDS), label="field")
    other = ids[(ids.index(number) + 1) % len(ids)]

    with engine.connect() as connection, connection.begin() as transaction:
        connection.execute(text("DROP TRIGGER number_health_snapshots_no_update"))
        value = connection.scalar(select(history.c[field]).where(history.c.id == target))
        changed = other if field == "phone_number_id" else another(value, field)
        connection.execute(update(history).where(history.c.id == target).values({field: changed}))
        altered = chains.find_breaks(connection)
        transaction.rollback()
    engine.dispose()

    assert written == []
    assert any(f"+3361234567{ids.index(number)}" in line for line in altered), altered
