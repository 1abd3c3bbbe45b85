"""PostgreSQL least privilege: with `db grant-runtime`'s grants, a runtime role runs the app's writes (services,
imports, migrations already applied) and is refused every way of rewriting history, guards or no guards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, create_engine, make_url, text
from sqlalchemy.exc import DatabaseError

from core import imports, inbox, integrity, privileges, services
from core.db import make_engine
from core.errors import InvalidInput
from core.migrate import upgrade
from tests.builders import ADMIN
from tests.fixtures.meta import support
from tests.integration.test_cli import run_cli


@dataclass(frozen=True)
class Roles:
    owner: Engine
    runtime: Engine
    runtime_url: str
    role: str


@pytest.fixture(scope="module")
def roles(postgres_server: str) -> Iterator[Roles]:
    """A database migrated by the owner (the server's superuser here), and a runtime role with the grants, which
    builds the fleet: everything the app writes, written as the runtime role."""
    server = make_url(postgres_server).set(drivername="postgresql+psycopg")
    name, role = f"fleet_{uuid.uuid4().hex[:12]}", f"fleet_app_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
        connection.execute(text(f'CREATE ROLE "{role}" LOGIN'))
    owner = make_engine(server.set(database=name).render_as_string(hide_password=False))
    upgrade(owner)
    privileges.grant_runtime(owner, role)
    runtime_url = server.set(database=name, username=role, password=None).render_as_string(hide_password=False)
    runtime = make_engine(runtime_url)
    yield Roles(owner=owner, runtime=runtime, runtime_url=runtime_url, role=role)
    runtime.dispose()
    owner.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        connection.execute(text(f'DROP ROLE "{role}"'))
    admin.dispose()


@pytest.fixture(scope="module")
def fleet(roles: Roles) -> Engine:
    upgrade(roles.runtime)  # at head already: nothing to do, and allowed
    support.lucky_shrub_fleet(roles.runtime)
    imports.run_import(roles.runtime, ADMIN, support.request("webhook", "webhooks/quality_flagged.json"))
    services.update_number_health(roles.runtime, ADMIN, phone=support.FR_MAIN, changes={"quality_rating": "RED"})
    services.archive_group(roles.runtime, ADMIN, phone=support.FR_MAIN)
    services.set_user_role(roles.runtime, ADMIN, name="alice@example.com", role="analyst")
    return roles.runtime


@pytest.mark.postgres
def test_the_runtime_role_runs_the_apps_writes_and_check(roles: Roles, fleet: Engine) -> None:
    with fleet.connect() as connection:
        audit = connection.scalar(text("SELECT count(*) FROM audit_log"))
        history = connection.scalar(text("SELECT count(*) FROM number_health_snapshots"))

    result = run_cli(roles.runtime_url, "check")

    assert (audit or 0) > 10
    assert (history or 0) >= 4
    assert integrity.find_violations(fleet) == []
    assert result.returncode == 0, result.stderr


TAMPERS = {
    "TRUNCATE the audit log": "TRUNCATE audit_log",
    "TRUNCATE the history": "TRUNCATE number_health_snapshots",
    "TRUNCATE a chain head": "TRUNCATE history_chain_heads",
    "DISABLE a guard": "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update",
    "DROP a guard": "DROP TRIGGER audit_log_no_delete ON audit_log",
    "UPDATE the audit log": "UPDATE audit_log SET actor = 'someone else'",
    "DELETE from the audit log": "DELETE FROM audit_log",
    "UPDATE the history": "UPDATE number_health_snapshots SET quality_rating = 'GREEN'",
    "DELETE from the history": "DELETE FROM number_health_snapshots",
    "UPDATE an E.164": "UPDATE phone_numbers SET e164 = '+33699999999'",
    "fire no trigger": "SET session_replication_role = replica",
    "CREATE a table": "CREATE TABLE shadow_audit (id integer)",
    "DROP the audit log": "DROP TABLE audit_log",
}


@pytest.mark.postgres
@pytest.mark.parametrize("tamper", TAMPERS)
def test_the_runtime_role_is_refused_each_tamper(fleet: Engine, tamper: str) -> None:
    with pytest.raises(DatabaseError, match=r"permission denied|must be owner"), fleet.begin() as connection:
        connection.execute(text(TAMPERS[tamper]))

    assert integrity.find_violations(fleet) == []


@pytest.mark.postgres
def test_the_grants_are_printed_for_the_owner_to_run(roles: Roles) -> None:
    with roles.owner.connect() as connection:
        statements = privileges.runtime_grants(connection, roles.role)

    role = roles.role
    assert f"GRANT SELECT, INSERT ON audit_log TO {role}" in statements
    assert f"GRANT SELECT, INSERT, UPDATE (quality_changed) ON number_health_snapshots TO {role}" in statements
    phone_numbers = next(s for s in statements if " ON phone_numbers " in s)
    assert "UPDATE (" in phone_numbers
    assert "e164" not in phone_numbers
    assert not any("TRUNCATE" in s and s.startswith("GRANT") for s in statements)


@pytest.mark.postgres
def test_the_command_prints_the_grants_and_applies_them(roles: Roles) -> None:
    owner_url = roles.owner.url.render_as_string(hide_password=False)

    printed = run_cli(owner_url, "db", "grant-runtime", roles.role)
    applied = run_cli(owner_url, "db", "grant-runtime", roles.role, "--apply")

    assert printed.returncode == 0, printed.stderr
    assert f"GRANT SELECT, INSERT ON audit_log TO {roles.role};" in printed.stdout.splitlines()
    assert applied.returncode == 0, applied.stderr
    assert "no UPDATE, DELETE or TRUNCATE of the history" in applied.stdout


def test_sqlite_has_no_roles(sqlite_engine: Engine, sqlite_url: str) -> None:
    result = run_cli(sqlite_url, "db", "grant-runtime", "fleet_app")

    with sqlite_engine.connect() as connection, pytest.raises(InvalidInput, match="PostgreSQL"):
        privileges.runtime_grants(connection, "fleet_app")
    assert result.returncode == 1
    assert "PostgreSQL" in result.stderr


@pytest.mark.postgres
def test_the_runtime_role_runs_the_webhook_inbox(roles: Roles, fleet: Engine) -> None:
    now = datetime.now(UTC)
    inbox.store_deliveries(fleet, [support.read("webhooks/quality_unflagged.json"), b"not json"], now=now)

    for attempt in range(5):
        inbox.apply_due(fleet, now=now + timedelta(hours=2 * attempt), max_attempts=5)
    with fleet.connect() as connection:
        failed = connection.scalar(text("SELECT id FROM webhook_deliveries WHERE state = 'failed'"))
    inbox.retry_delivery(fleet, ADMIN, failed)
    pruned = inbox.prune_applied(fleet, now=now + timedelta(days=31), retention_days=30)
    leased = inbox.hold_lease(fleet, "host:1", now=now, seconds=30)
    inbox.release_lease(fleet, "host:1")

    assert pruned == 1
    assert leased is None
