"""Integration tests get an empty, migrated database per test, cheaply: SQLite is copied from a file migrated once
per session (tests/conftest.py), and each worker's PostgreSQL database is migrated once and emptied (TRUNCATE,
identities restarted) before each test. Migrations themselves are tested from empty in test_migrations.py."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, make_url, text

from core.chains import GENESIS
from core.db import Base, make_engine
from core.migrate import upgrade


@pytest.fixture(scope="session")
def migrated_postgres_engine(postgres_server: str) -> Iterator[Engine]:
    name = f"fleet_{uuid.uuid4().hex[:12]}"
    server_url = make_url(postgres_server).set(drivername="postgresql+psycopg")
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(server_url.set(database=name).render_as_string(hide_password=False))
    upgrade(engine)
    yield engine
    engine.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def postgres_engine(migrated_postgres_engine: Engine) -> Engine:
    # The history tables refuse TRUNCATE (a trigger): a replica session fires no trigger, for this transaction only.
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    with migrated_postgres_engine.begin() as connection:
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        connection.execute(text("INSERT INTO audit_chain_head (id, last_hash) VALUES (1, :start)"), {"start": GENESIS})
        connection.execute(text("INSERT INTO data_version (id, version) VALUES (1, 0)"))  # as migration 0009 left it
    return migrated_postgres_engine
