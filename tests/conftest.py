"""Shared fixtures: real databases (a fresh SQLite file, a fresh PostgreSQL database from pgserver).

A part the suite needs but cannot find is skipped locally; with FLEET_REQUIRE_POSTGRES=1 or
FLEET_REQUIRE_BROWSER=1 (set by .ci/run) the same absence is a failure.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text

from core.db import make_engine
from core.migrate import upgrade


def skip_or_fail(reason: str, requirement: str) -> None:
    """Skip locally; fail when the environment variable `requirement` says the part is mandatory."""
    if os.environ.get(requirement) == "1":
        pytest.fail(f"{reason} (required: {requirement}=1)")
    pytest.skip(f"{reason} (set {requirement}=1 to make this a failure)")  # REQUIRE_ variables turn this into fail


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'fleet.db'}"


@pytest.fixture(scope="session")
def migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per session (migrations themselves are tested from empty in test_migrations)."""
    path = tmp_path_factory.mktemp("migrated") / "fleet.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # the last connection to close folds the write-ahead log back into the file
    assert not path.with_name("fleet.db-wal").exists()
    return path


@pytest.fixture
def sqlite_engine(sqlite_url: str, migrated_sqlite_file: Path) -> Iterator[Engine]:
    """A fresh, migrated SQLite file of the test's own: a copy of the session's migrated file."""
    shutil.copyfile(migrated_sqlite_file, make_url(sqlite_url).database or "")
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One PostgreSQL server (pgserver: a real server from a pip wheel) shared by all test workers; yields its URI.

    pgserver prepares its system user and data directory outside its own lock, so concurrent starts race: the
    workers start it one at a time, and a start that fails under load is tried again.
    """
    try:
        import pgserver
    except ImportError:
        skip_or_fail("pgserver is not installed", "FLEET_REQUIRE_POSTGRES")
    shared_dir = _run_wide_temp_dir(tmp_path_factory)
    last_error: Exception | None = None
    with _exclusive(shared_dir / "pgserver.lock"):
        for attempt in range(3):
            try:
                server = pgserver.get_server(shared_dir / "pgdata", cleanup_mode="stop")
                break
            except Exception as error:  # any failure to start is retried, then reported the same way
                last_error = error
                time.sleep(1 + attempt)
        else:
            skip_or_fail(f"PostgreSQL could not start: {last_error}", "FLEET_REQUIRE_POSTGRES")
    yield server.get_uri()
    server.cleanup()


def _run_wide_temp_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The temporary folder of this test run, common to all pytest-xdist workers."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty database on the session's server."""
    name = f"fleet_{uuid.uuid4().hex[:12]}"
    server_url = make_url(postgres_server).set(drivername="postgresql+psycopg")
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield server_url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def postgres_engine(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Engine:
    """The same test on a real SQLite file and on a real PostgreSQL database."""
    if request.param == "postgresql":
        request.applymarker(pytest.mark.postgres)
        return request.getfixturevalue("postgres_engine")
    return request.getfixturevalue("sqlite_engine")
