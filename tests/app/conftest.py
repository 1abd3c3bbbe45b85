"""AppTest fixtures: each test gets its own database file and fresh Streamlit caches, and drives the real app.py."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import Engine
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import AppTest

from core import seed
from core.db import make_engine
from core.migrate import upgrade

APP = Path(__file__).resolve().parents[2] / "app.py"
TIMEOUT = 60  # seconds: the machine running the suite is shared and loaded
# Keeps AppTest off a developer's own .streamlit/secrets.toml: with secrets given, no file is read.
LOCAL_MODE_SECRETS = {"fleet_tests": {"mode": "local"}}


@pytest.fixture(autouse=True)
def fresh_streamlit_caches() -> Iterator[None]:
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()  # disposes the engine, so the test's database file is released


@pytest.fixture(autouse=True)
def navigation_already_set_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every page through app.py, as a live server does once st.navigation has run in it.

    AppTest starts each run as if the server had just started, when Streamlit still reads the pages/ folder as an
    old-style multipage app and would run a page file without app.py (the app then starts again through app.py,
    which a test of a form click cannot follow). `test_first_visit_to_a_page_goes_through_the_app` covers that
    start on its own.
    """
    original_init = PagesManager.__init__

    def init_after_first_navigation(self: PagesManager, *args: object, **kwargs: object) -> None:
        original_init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init_after_first_navigation)


@pytest.fixture(scope="session")
def demo_database_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo fleet, seeded once; each test works on its own copy."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    seed.seed(engine, seed.DEMO_SHAPE)
    engine.dispose()
    return path


def _use_database(path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    url = f"sqlite:///{path}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("FLEET_USER", raising=False)
    monkeypatch.setenv("FLEET_LOCAL_ROLE", "admin")
    engine = make_engine(url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def empty_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """An empty, migrated database that the app under test uses (DATABASE_URL)."""
    yield from _use_database(tmp_path / "fleet.db", monkeypatch)


@pytest.fixture
def demo_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_database_file: Path) -> Iterator[Engine]:
    """A copy of the demo fleet that the app under test uses (DATABASE_URL)."""
    path = tmp_path / "fleet.db"
    shutil.copyfile(demo_database_file, path)
    yield from _use_database(path, monkeypatch)


@pytest.fixture
def open_page(monkeypatch: pytest.MonkeyPatch) -> Callable[..., AppTest]:
    """Run app.py as a local-mode user with `role`, then switch to `page` (a file under pages/) if given."""

    def open_(page: str | None = None, *, role: str = "admin", query: dict[str, str] | None = None) -> AppTest:
        monkeypatch.setenv("FLEET_LOCAL_ROLE", role)
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
        at.secrets = dict(LOCAL_MODE_SECRETS)
        at.query_params = dict(query or {})
        at.run()
        if page:
            at.switch_page(f"pages/{page}").run()
        return at

    return open_


class DownloadedFiles:
    """Reads what a download button would send: AppTest keeps media files in memory storages made per run."""

    def __init__(self) -> None:
        self.storages: list[MemoryMediaFileStorage] = []

    def content(self, url: str) -> bytes:
        name = url.rsplit("/", 1)[-1]
        for storage in reversed(self.storages):
            try:
                return bytes(storage.get_file(name).content)
            except Exception:  # another run's storage: keep looking
                continue
        raise LookupError(f"No stored file for {url}")


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> DownloadedFiles:
    files = DownloadedFiles()

    class RecordingStorage(MemoryMediaFileStorage):
        def __init__(self, media_endpoint: str) -> None:
            super().__init__(media_endpoint)
            files.storages.append(self)

    monkeypatch.setattr("streamlit.testing.v1.app_test.MemoryMediaFileStorage", RecordingStorage)
    return files
