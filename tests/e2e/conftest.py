"""Browser tests: the real app (`streamlit run app.py`) on a free port against a temporary database, driven by
Debian's Chromium through Playwright.

Chromium missing or failing to start skips these tests locally and fails them in CI (FLEET_REQUIRE_BROWSER=1).
A screenshot of every page a test visits is kept under test-artifacts/screenshots/ (git-ignored).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.conftest import skip_or_fail
from tests.e2e import streamlit_ui

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = REPO_ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STARTUP_TIMEOUT_S = 90.0  # a loaded 2-core machine with another test worker: Streamlit's first start is slow
DEFAULT_TIMEOUT_MS = 30_000
# Settings of the developer's shell that would change what the app under test shows.
APP_ENVIRONMENT_OVERRIDES = ("DATABASE_URL", "FLEET_USER", "FLEET_LOCAL_ROLE", "FLEET_MAX_IMPORT_BYTES")


@dataclass(frozen=True)
class RunningApp:
    base_url: str
    database_url: str
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def app_environment(database_url: str, **settings: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in APP_ENVIRONMENT_OVERRIDES}
    env.update(DATABASE_URL=database_url, PYTHONUNBUFFERED="1", **settings)
    return env


def _is_healthy(base_url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as response:
            return response.status == 200 and response.read().strip() == b"ok"
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End the app and anything it started: it runs in its own process group."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


@contextmanager
def running_app(database_url: str, log_dir: Path, **settings: str) -> Iterator[RunningApp]:
    """`streamlit run app.py` from the repository root on a free port; yields once /_stcore/health says ok."""
    log_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    app = RunningApp(f"http://127.0.0.1:{port}", database_url, log_dir / f"streamlit-{port}.log")
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
    ]
    with app.log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=app_environment(database_url, **settings),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            while not _is_healthy(app.base_url):
                if process.poll() is not None:
                    pytest.fail(f"The app exited with code {process.returncode} before serving:\n{app.log_tail()}")
                if time.monotonic() > deadline:
                    pytest.fail(f"The app did not answer {app.base_url}/_stcore/health in time:\n{app.log_tail()}")
                time.sleep(0.25)
            yield app
        finally:
            _stop(process)


def seed_demo(database_url: str) -> None:
    """Fill a new database with the demo fleet, through the CLI a user would run."""
    result = subprocess.run(
        [sys.executable, "-m", "core", "seed-demo"],
        cwd=REPO_ROOT,
        env=app_environment(database_url),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"seed-demo failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"


# --- the app under test ------------------------------------------------------------------------------------


@pytest.fixture
def empty_app(tmp_path: Path) -> Iterator[RunningApp]:
    """The app as a new user first sees it: local mode, local admin, an empty database of its own."""
    with running_app(sqlite_url(tmp_path / "fleet.db"), tmp_path) as app:
        yield app


@pytest.fixture(scope="session")
def demo_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = sqlite_url(tmp_path_factory.mktemp("demo-db") / "fleet.db")
    seed_demo(url)
    return url


@pytest.fixture(scope="session")
def demo_app(demo_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """The app on the demo fleet, as the local admin; shared by the tests that only read."""
    with running_app(demo_database_url, tmp_path_factory.mktemp("demo-app")) as app:
        yield app


@pytest.fixture
def app_as(demo_database_url: str, tmp_path: Path) -> Iterator[Callable[[str], RunningApp]]:
    """Start the app on the demo fleet with the local user in the given role (viewer, analyst, admin)."""
    with ExitStack() as started:

        def start(role: str) -> RunningApp:
            settings = {"FLEET_LOCAL_ROLE": role, "FLEET_USER": f"local-{role}"}
            return started.enter_context(running_app(demo_database_url, tmp_path / role, **settings))

        yield start


# --- the browser -------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = os.environ.get("FLEET_CHROMIUM") or "/usr/bin/chromium"
    if not Path(path).exists():
        skip_or_fail(
            f"Chromium not found at {path} (apt-get install chromium, or set FLEET_CHROMIUM)", "FLEET_REQUIRE_BROWSER"
        )
    return path


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Browser]:
    playwright = sync_playwright().start()
    try:
        launched = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
    except Exception as error:  # any launch failure means "no usable browser here"
        playwright.stop()
        skip_or_fail(f"Chromium at {chromium_path} could not start: {error}", "FLEET_REQUIRE_BROWSER")
    yield launched
    launched.close()
    playwright.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def screenshot_name(item: pytest.Item, label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{item.name}--{label}").strip("-")


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser tab (own cookies and storage) that records a screenshot when the test fails."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    streamlit_ui.install_run_counter(context)
    tab = context.new_page()
    yield tab
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=SCREENSHOT_DIR / f"{screenshot_name(request.node, 'FAILED')}.png", full_page=True)
    context.close()


@pytest.fixture
def screenshot(page: Page, request: pytest.FixtureRequest) -> Callable[[str], Path]:
    """Save the whole page as test-artifacts/screenshots/<test>--<label>.png and return the path."""

    def take(label: str) -> Path:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOT_DIR / f"{screenshot_name(request.node, label)}.png"
        page.screenshot(path=path, full_page=True)
        return path

    return take
