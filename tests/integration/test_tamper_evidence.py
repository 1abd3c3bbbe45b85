"""Tampering with the audit log and the health history as the tables' owner, on both databases: the database
refuses each rewrite, and when a guard is dropped or disabled first, `check` names the trigger and the first
broken or missing row (table, id, number).

Each attempt runs in a transaction of its own on a fleet built once per database; `check` reads inside that
transaction, then it is rolled back (both databases undo DDL too), so the next attempt starts from the same fleet.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import Connection, Engine, create_engine, make_url, text
from sqlalchemy.exc import DatabaseError

from core import chains, imports, integrity, services
from core.db import make_engine
from core.migrate import alembic_config, upgrade
from tests.builders import ADMIN
from tests.fixtures.meta import support
from tests.integration.test_cli import run_cli


def a_fleet_with_history(engine: Engine) -> None:
    """Lucky Shrub's fleet, a webhook's quality change, and two more health changes of the French number."""
    support.lucky_shrub_fleet(engine)
    imports.run_import(engine, ADMIN, support.request("webhook", "webhooks/quality_flagged.json"))
    for day, quality in ((2, "YELLOW"), (3, "RED")):
        services.update_number_health(
            engine,
            ADMIN,
            phone=support.FR_MAIN,
            changes={"quality_rating": quality},
            now=datetime(2025, 2, day, tzinfo=UTC),
        )


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def fleet(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('tamper') / 'fleet.db'}")
        upgrade(engine)
        a_fleet_with_history(engine)
        yield engine
        engine.dispose()
        return
    request.applymarker(pytest.mark.postgres)
    server = make_url(request.getfixturevalue("postgres_server")).set(drivername="postgresql+psycopg")
    name = f"fleet_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(server.set(database=name).render_as_string(hide_password=False))
    upgrade(engine)
    a_fleet_with_history(engine)
    yield engine
    engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@contextmanager
def attempt(engine: Engine) -> Iterator[Connection]:
    """A transaction that is always rolled back."""
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            yield connection
        finally:
            transaction.rollback()


@dataclass(frozen=True)
class Targets:
    """Ids the attempts aim at: the audit log's and the French number's snapshots, in chain order."""

    audit: list[int]
    french: list[int]
    french_id: int
    us_id: int

    def sql(self, statement: str) -> str:
        return statement.format(
            audit_mid=self.audit[len(self.audit) // 2],
            french_mid=self.french[1],
            french_id=self.french_id,
            us_id=self.us_id,
        )


def targets(connection: Connection) -> Targets:
    numbers = dict(connection.execute(text("SELECT e164, id FROM phone_numbers")).tuples().all())
    history = "SELECT id FROM number_health_snapshots WHERE phone_number_id = :number ORDER BY id"
    return Targets(
        audit=list(connection.scalars(text("SELECT id FROM audit_log ORDER BY id"))),
        french=list(connection.scalars(text(history), {"number": numbers[support.FR_MAIN]})),
        french_id=numbers[support.FR_MAIN],
        us_id=numbers[support.US_MAIN],
    )


REFUSED = {
    "delete an audit entry": "DELETE FROM audit_log WHERE id = {audit_mid}",
    "rewrite an audit entry": "UPDATE audit_log SET actor = 'someone else' WHERE id = {audit_mid}",
    "rewrite a snapshot's rating": (
        "UPDATE number_health_snapshots SET quality_rating = 'GREEN' WHERE id = {french_mid}"
    ),
    "rewrite a snapshot's source": "UPDATE number_health_snapshots SET source = 'manual' WHERE id = {french_mid}",
    "move a snapshot to another number": (
        "UPDATE number_health_snapshots SET phone_number_id = {us_id} WHERE id = {french_mid}"
    ),
    "rewrite a snapshot's hash": "UPDATE number_health_snapshots SET chain_hash = NULL WHERE id = {french_mid}",
    "delete a snapshot": "DELETE FROM number_health_snapshots WHERE id = {french_mid}",
    "change a number's E.164": "UPDATE phone_numbers SET e164 = '+33699999999' WHERE id = {french_id}",
    "delete a number's chain head": "DELETE FROM history_chain_heads WHERE phone_number_id = {french_id}",
    "delete the audit chain head": "DELETE FROM audit_chain_head",
}
REFUSED_ON_POSTGRESQL = {
    "truncate the audit log": "TRUNCATE audit_log",
    "truncate the history": "TRUNCATE number_health_snapshots",
    "truncate the chain heads": "TRUNCATE history_chain_heads, audit_chain_head",
    "truncate a number and its history": "TRUNCATE phone_numbers CASCADE",
}


@pytest.mark.parametrize("statement", REFUSED)
def test_the_database_refuses_to_rewrite_history(fleet: Engine, statement: str) -> None:
    assert_refused(fleet, REFUSED[statement])


# SQLite has no TRUNCATE: its DELETE without WHERE fires the row guards.
@pytest.mark.parametrize("fleet", ["postgresql"], indirect=True)
@pytest.mark.parametrize("statement", REFUSED_ON_POSTGRESQL)
def test_postgresql_refuses_to_truncate_history(fleet: Engine, statement: str) -> None:
    assert_refused(fleet, REFUSED_ON_POSTGRESQL[statement])


def assert_refused(fleet: Engine, sql: str) -> None:
    with pytest.raises(DatabaseError, match="is not allowed"), attempt(fleet) as connection:
        connection.execute(text(targets(connection).sql(sql)))

    assert integrity.find_violations(fleet) == []


def test_the_quality_flag_set_by_the_core_stays_updatable_and_unhashed(fleet: Engine) -> None:
    with attempt(fleet) as connection:
        flipped = connection.execute(text("UPDATE number_health_snapshots SET quality_changed = NOT quality_changed"))

        assert flipped.rowcount > 0
        assert chains.find_breaks(connection) == []


# --- guards dropped or disabled first: `check` names what broke -------------------------------------------------


def drop(connection: Connection, table: str, trigger: str) -> None:
    on_table = f" ON {table}" if connection.dialect.name == "postgresql" else ""
    connection.execute(text(f"DROP TRIGGER {trigger}{on_table}"))


Tamper = Callable[[Connection, Targets], list[str]]


def delete_an_audit_entry(connection: Connection, t: Targets) -> list[str]:
    drop(connection, "audit_log", "audit_log_no_delete")
    middle = len(t.audit) // 2
    connection.execute(text(f"DELETE FROM audit_log WHERE id = {t.audit[middle]}"))
    return [
        "Trigger audit_log_no_delete on audit_log is missing",
        f"audit_log row {t.audit[middle + 1]} breaks the chain: it was altered, or a row before it "
        f"(after row {t.audit[middle - 1]}) was removed.",
    ]


def empty_the_audit_log(connection: Connection, t: Targets) -> list[str]:
    drop(connection, "audit_log", "audit_log_no_delete")
    connection.execute(text("DELETE FROM audit_log"))
    return ["audit_log: all the entries of the chain are missing (its head records some)."]


def remove_the_last_audit_entries(connection: Connection, t: Targets) -> list[str]:
    drop(connection, "audit_log", "audit_log_no_delete")
    connection.execute(text(f"DELETE FROM audit_log WHERE id >= {t.audit[-2]}"))
    return [f"audit_log: the entries after row {t.audit[-3]} are missing (the chain head records a later one)."]


def rewrite_an_audit_entry(connection: Connection, t: Targets) -> list[str]:
    drop(connection, "audit_log", "audit_log_no_update")
    middle = t.audit[len(t.audit) // 2]
    connection.execute(text(f"UPDATE audit_log SET actor = 'someone else' WHERE id = {middle}"))
    return ["Trigger audit_log_no_update on audit_log is missing", f"audit_log row {middle} breaks the chain"]


def slip_in_an_audit_entry(connection: Connection, t: Targets) -> list[str]:
    connection.execute(
        text(
            "INSERT INTO audit_log (at, actor, action, object_type, object_key) "
            "VALUES (CURRENT_TIMESTAMP, 'mallory', 'add', 'workspace', 'Shadow')"
        )
    )
    slipped = connection.scalar(text("SELECT max(id) FROM audit_log"))
    return [f"audit_log row {slipped} has no chain hash: it was written behind the core's back."]


def rewrite_a_snapshot(connection: Connection, t: Targets) -> list[str]:
    drop(connection, "number_health_snapshots", "number_health_snapshots_no_update")
    connection.execute(text(f"UPDATE number_health_snapshots SET quality_rating = 'GREEN' WHERE id = {t.french[1]}"))
    return [
        "Trigger number_health_snapshots_no_update on number_health_snapshots is missing",
        f"number_health_snapshots row {t.french[1]} breaks the chain: it was altered, or a row before it "
        f"(after row {t.french[0]}) was removed (number {support.FR_MAIN}).",
    ]


def remove_a_numbers_first_snapshot(connection: Connection, t: Targets) -> list[str]:
    drop(connection, "number_health_snapshots", "number_health_snapshots_no_delete")
    connection.execute(text(f"DELETE FROM number_health_snapshots WHERE id = {t.french[0]}"))
    return [
        f"number_health_snapshots row {t.french[1]} breaks the chain: it was altered, or a row before it "
        f"(at the start) was removed (number {support.FR_MAIN})."
    ]


def remove_a_numbers_last_snapshot(connection: Connection, t: Targets) -> list[str]:
    drop(connection, "number_health_snapshots", "number_health_snapshots_no_delete")
    connection.execute(text(f"DELETE FROM number_health_snapshots WHERE id = {t.french[-1]}"))
    return [
        f"number_health_snapshots: the snapshots after row {t.french[-2]} are missing (the chain head records a "
        f"later one) (number {support.FR_MAIN})."
    ]


def move_a_snapshot_to_another_number(connection: Connection, t: Targets) -> list[str]:
    drop(connection, "number_health_snapshots", "number_health_snapshots_no_update")
    connection.execute(text(f"UPDATE number_health_snapshots SET phone_number_id = {t.us_id} WHERE id = {t.french[1]}"))
    return [
        f"number_health_snapshots row {t.french[2]} breaks the chain: it was altered, or a row before it "
        f"(after row {t.french[0]}) was removed (number {support.FR_MAIN}).",
        f"(number {support.US_MAIN})",
    ]


def disable_the_audit_guard_and_rewrite(connection: Connection, t: Targets) -> list[str]:
    connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update"))
    middle = t.audit[len(t.audit) // 2]
    connection.execute(text(f"UPDATE audit_log SET after = NULL WHERE id = {middle}"))
    return ["Trigger audit_log_no_update on audit_log is disabled", f"audit_log row {middle} breaks the chain"]


def disable_every_guard_and_truncate_the_audit_log(connection: Connection, t: Targets) -> list[str]:
    connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER USER"))
    connection.execute(text("TRUNCATE audit_log"))
    return [
        "Trigger audit_log_no_truncate on audit_log is disabled",
        "audit_log: all the entries of the chain are missing (its head records some).",
    ]


def disable_every_guard_and_truncate_the_history(connection: Connection, t: Targets) -> list[str]:
    connection.execute(text("ALTER TABLE number_health_snapshots DISABLE TRIGGER USER"))
    connection.execute(text("TRUNCATE number_health_snapshots"))
    return [
        "Trigger number_health_snapshots_no_truncate on number_health_snapshots is disabled",
        f"number_health_snapshots: all the snapshots of the chain are missing (its head records some) "
        f"(number {support.FR_MAIN}).",
    ]


DETECTED: dict[str, Tamper] = {
    tamper.__name__: tamper
    for tamper in (
        delete_an_audit_entry,
        empty_the_audit_log,
        remove_the_last_audit_entries,
        rewrite_an_audit_entry,
        slip_in_an_audit_entry,
        rewrite_a_snapshot,
        remove_a_numbers_first_snapshot,
        remove_a_numbers_last_snapshot,
        move_a_snapshot_to_another_number,
    )
}
DETECTED_ON_POSTGRESQL: dict[str, Tamper] = {
    tamper.__name__: tamper
    for tamper in (
        disable_the_audit_guard_and_rewrite,
        disable_every_guard_and_truncate_the_audit_log,
        disable_every_guard_and_truncate_the_history,
    )
}


@pytest.mark.parametrize("tamper", DETECTED)
def test_check_names_what_a_tamper_behind_a_dropped_guard_broke(fleet: Engine, tamper: str) -> None:
    assert_detected(fleet, DETECTED[tamper])


@pytest.mark.parametrize("fleet", ["postgresql"], indirect=True)
@pytest.mark.parametrize("tamper", DETECTED_ON_POSTGRESQL)
def test_check_names_what_a_tamper_behind_a_disabled_guard_broke(fleet: Engine, tamper: str) -> None:
    assert_detected(fleet, DETECTED_ON_POSTGRESQL[tamper])


def assert_detected(fleet: Engine, tamper: Tamper) -> None:
    with attempt(fleet) as connection:
        expected = tamper(connection, targets(connection))

        violations = integrity.violations_in(connection)

    for line in expected:
        assert any(line in violation for violation in violations), (line, violations)


def test_check_exits_1_naming_the_row_after_a_trigger_is_dropped_and_an_entry_deleted(
    sqlite_engine: Engine, sqlite_url: str
) -> None:
    a_fleet_with_history(sqlite_engine)
    sound = run_cli(sqlite_url, "check")
    with sqlite_engine.begin() as connection:
        expected = delete_an_audit_entry(connection, targets(connection))

    tampered = run_cli(sqlite_url, "check")

    assert sound.returncode == 0, sound.stderr
    assert tampered.returncode == 1
    for line in expected:
        assert line in tampered.stderr, tampered.stderr


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    if request.param == "postgresql":
        request.applymarker(pytest.mark.postgres)
        return str(request.getfixturevalue("postgres_url"))
    return sqlite_url


def test_the_migration_chains_the_rows_written_before_it(empty_url: str) -> None:
    engine = make_engine(empty_url)
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0009")
        connection.execute(text(NUMBER_BEFORE_0010))
        for day in (1, 2, 3):
            connection.execute(text(SNAPSHOT_BEFORE_0010), {"at": datetime(2025, 1, day, 9, 30, 15, 250, tzinfo=UTC)})
            connection.execute(text(AUDIT_BEFORE_0010), {"at": datetime(2025, 1, day, tzinfo=UTC)})

    upgrade(engine)
    services.add_workspace(engine, ADMIN, "After 0010")

    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM audit_log WHERE chain_hash IS NULL")) == 0
        assert connection.scalar(text("SELECT count(*) FROM number_health_snapshots WHERE chain_hash IS NULL")) == 0
        assert connection.scalar(text("SELECT count(*) FROM history_chain_heads")) == 1
        assert chains.find_breaks(connection) == []
    engine.dispose()


NUMBER_BEFORE_0010 = (
    "INSERT INTO phone_numbers (id, e164, display_name, status, quality_rating, messaging_limit_tier, name_status, "
    "created_at, updated_at) VALUES (1, '+33612345678', 'Paris', 'CONNECTED', 'GREEN', 'TIER_1K', 'APPROVED', "
    "'2025-01-01 00:00:00', '2025-01-01 00:00:00')"
)
SNAPSHOT_BEFORE_0010 = (
    "INSERT INTO number_health_snapshots (phone_number_id, recorded_at, quality_rating, messaging_limit_tier, "
    "status, source, quality_changed) VALUES (1, :at, 'GREEN', 'TIER_1K', 'CONNECTED', 'sync', true)"
)
AUDIT_BEFORE_0010 = (
    "INSERT INTO audit_log (at, actor, action, object_type, object_key, before, after) "
    "VALUES (:at, 'admin@example.com', 'update', 'phone_number', '+33612345678', NULL, '{\"é\": 1}')"
)
