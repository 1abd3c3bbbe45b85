"""Migrations at a process's start: processes starting together on an empty database migrate it once, under the
migration lock (PostgreSQL: an advisory lock; SQLite: its write lock); a process configured not to migrate
(FLEET_AUTO_MIGRATE=0) refuses an older schema."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text

from core.db import make_engine
from core.migrate import head_revision, upgrade
from tests.integration.test_cli import assert_refused, run_cli

PROCESSES = 4


def _upgrade_at_the_same_moment(url: str, start: Any, outcomes: Any) -> None:
    engine = make_engine(url)
    start.wait(timeout=60)
    try:
        upgraded_from = upgrade(engine)
    except Exception as error:  # reported to the test: a racing migration fails on the other's tables
        outcomes.put(f"failed: {type(error).__name__}: {str(error)[:200]}")
    else:
        outcomes.put("migrated" if upgraded_from is not None else "found it done")
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        request.applymarker(pytest.mark.postgres)
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{tmp_path / 'fleet.db'}"


def test_processes_started_together_on_an_empty_database_migrate_it_once(empty_database_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(PROCESSES), context.Queue()
    processes = [
        context.Process(target=_upgrade_at_the_same_moment, args=(empty_database_url, start, results))
        for _ in range(PROCESSES)
    ]

    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=30)

    assert sorted(outcomes) == ["found it done"] * (PROCESSES - 1) + ["migrated"], outcomes
    engine = make_engine(empty_database_url)
    with engine.connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    engine.dispose()
    assert versions == [head_revision(engine)]


@pytest.mark.parametrize("command", [["export", "wabas"], ["worker"], ["serve-webhooks"]], ids=" ".join)
def test_a_process_that_does_not_migrate_refuses_an_empty_schema_and_changes_nothing(
    tmp_path: Path, command: list[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'fleet.db'}"

    result = run_cli(url, *command, FLEET_AUTO_MIGRATE="0", META_APP_SECRET="s", META_VERIFY_TOKEN="t")

    assert_refused(result, "schema", "(empty)", "FLEET_AUTO_MIGRATE=0", "python -m core db upgrade")
    engine = make_engine(url)
    assert inspect(engine).get_table_names() == []
    engine.dispose()


def test_db_upgrade_migrates_even_where_processes_do_not_and_then_they_start(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fleet.db'}"

    first = run_cli(url, "db", "upgrade", FLEET_AUTO_MIGRATE="0")
    again = run_cli(url, "db", "upgrade", FLEET_AUTO_MIGRATE="0")
    listing = run_cli(url, "export", "wabas", FLEET_AUTO_MIGRATE="0")

    assert first.returncode == 0, first.stderr
    assert "upgraded from (empty)" in first.stdout
    assert again.stdout.strip() == "Database schema is up to date."
    assert listing.returncode == 0, listing.stderr


def _open_for_writing_at_the_same_moment(url: str, start: Any, outcomes: Any) -> None:
    engine = make_engine(url)  # connects at its first use, right after the barrier
    start.wait(timeout=60)
    try:
        with engine.execution_options(fleet_write=True).begin() as connection:
            connection.execute(text("CREATE TABLE IF NOT EXISTS opened (process INTEGER)"))
    except Exception as error:
        outcomes.put(f"failed: {type(error).__name__}: {error}")
    else:
        outcomes.put("opened")
    finally:
        engine.dispose()


def test_processes_opening_a_new_sqlite_file_together_all_get_in(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    outcomes: list[str] = []

    for attempt in range(15):
        url = f"sqlite:///{tmp_path / f'fleet-{attempt}.db'}"
        start, results = context.Barrier(6), context.Queue()
        processes = [
            context.Process(target=_open_for_writing_at_the_same_moment, args=(url, start, results)) for _ in range(6)
        ]
        for process in processes:
            process.start()
        outcomes += [results.get(timeout=60) for _ in processes]
        for process in processes:
            process.join(timeout=30)

    assert [outcome for outcome in outcomes if outcome != "opened"] == []
