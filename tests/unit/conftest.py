"""Unit tests run on a real SQLite file, copied from one migrated per session (the migrations themselves are
tested from empty in tests/integration/test_migrations.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from core.db import make_engine
from core.migrate import upgrade


@pytest.fixture(scope="session")
def migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("migrated") / "fleet.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # the last connection to close folds the write-ahead log back into the file
    assert not path.with_name("fleet.db-wal").exists()
    return path


@pytest.fixture
def sqlite_engine(tmp_path: Path, migrated_sqlite_file: Path) -> Iterator[Engine]:
    path = tmp_path / "fleet.db"
    shutil.copyfile(migrated_sqlite_file, path)
    engine = make_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()
