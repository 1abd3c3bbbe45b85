"""Browser tests: the real app (`streamlit run app.py`) on a free port against a temporary database, driven by
Debian's Chromium through Playwright.

Chromium missing or failing to start skips these tests locally and fails them in CI (FLEET_REQUIRE_BROWSER=1).
A screenshot of every page a test visits is kept under test-artifacts/screenshots/ (git-ignored).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from tests.conftest import skip_or_fail
from tests.e2e import streamlit_ui
from tests.e2e.fleet_app import REPO_ROOT, RunningApp, running_app, seed_demo, sqlite_url

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
DEFAULT_TIMEOUT_MS = 30_000
EXPECT_TIMEOUT_MS = 20_000  # assertions poll this long: a loaded machine may take seconds to rerun a page
VIEWPORT = {"width": 1440, "height": 1000}

expect.set_options(timeout=EXPECT_TIMEOUT_MS)


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


@pytest.fixture(scope="session")
def browser_context(browser: Browser) -> Iterator[BrowserContext]:
    """One context for the session, so the app's scripts are fetched once; every test still gets its own tab,
    hence its own Streamlit session (Streamlit keeps state per connection, not per cookie)."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    streamlit_ui.install_run_counter(context)
    yield context
    context.close()


def screenshot_dir(item: pytest.Item) -> Path:
    """test-artifacts/screenshots/<test name>/, one folder per test so a run never mixes with an older one."""
    return SCREENSHOT_DIR / re.sub(r"[^A-Za-z0-9_.-]+", "-", item.name).strip("-")


def save_screenshot(page: Page, path: Path) -> Path:
    """The whole page: Streamlit scrolls inside its main area, so the window is made as tall as the content."""
    path.parent.mkdir(parents=True, exist_ok=True)
    viewport = page.viewport_size or VIEWPORT
    content_height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('[data-testid=stMain], [data-testid=stSidebarContent]')]"
        ".map(e => e.scrollHeight), 0)"
    )
    tall = {"width": viewport["width"], "height": max(viewport["height"], min(int(content_height), 8000))}
    page.set_viewport_size(tall)
    page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
    page.screenshot(path=path, full_page=True)
    page.set_viewport_size(viewport)
    return path


def watch(item: pytest.Item, tab: Page) -> Page:
    """Make `tab` the page this test's screenshots are taken of (and start its screenshot folder afresh)."""
    shutil.rmtree(screenshot_dir(item), ignore_errors=True)
    item.stash[WATCHED_TAB] = tab
    return tab


WATCHED_TAB = pytest.StashKey[Page]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """A failing test leaves a screenshot of what the browser showed at that moment: FAILED.png."""
    report = yield
    tab = item.stash.get(WATCHED_TAB, None)
    if report.when == "call" and report.failed and tab is not None and not tab.is_closed():
        try:
            save_screenshot(tab, screenshot_dir(item) / "FAILED.png")
        except Exception as error:  # the report matters more than the picture
            report.sections.append(("screenshot", f"no screenshot: {error}"))
    return report


@pytest.fixture
def page(browser_context: BrowserContext, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A new browser tab, i.e. a new Streamlit session."""
    tab = browser_context.new_page()
    yield watch(request.node, tab)
    tab.close()


@pytest.fixture(scope="session")
def demo_tab(browser_context: BrowserContext, demo_app: RunningApp) -> Iterator[Page]:
    """One tab on the demo app, shared by the tests that only look at it (each navigates where it needs)."""
    tab = browser_context.new_page()
    streamlit_ui.open_app(tab, demo_app.base_url)
    yield tab
    tab.close()


@pytest.fixture
def demo_page(demo_tab: Page, request: pytest.FixtureRequest) -> Page:
    demo_tab.keyboard.press("Escape")  # nothing left open by the previous test (a list, a menu)
    demo_tab.set_viewport_size(VIEWPORT)
    return watch(request.node, demo_tab)


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Callable[[str], Path]:
    """Save the whole page as test-artifacts/screenshots/<test>/<nn>-<label>.png and return the path."""
    taken: list[Path] = []

    def take(label: str) -> Path:
        tab = request.node.stash[WATCHED_TAB]
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", label).strip("-")
        taken.append(save_screenshot(tab, screenshot_dir(request.node) / f"{len(taken) + 1:02d}-{name}.png"))
        return taken[-1]

    return take
