"""What a person feels in the browser: the app served by `streamlit run` on the seeded fleet, driven by Debian's
Chromium through Playwright, beside a blank two-page Streamlit app measured in the same run (the floor).

A figure is the time from the navigation (first load) or the sidebar click to the moment the page's title is on
screen, no script run is going on and no element of the previous page is left (Streamlit marks those stale).
Run 1 starts on a server just started (cold caches); later runs open a new tab, i.e. a new session, on the same
server. Every page is visited twice per run: first visit in the session, then warm.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.app_launcher import streamlit_command

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("FLEET_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
VIEWPORT = {"width": 1440, "height": 1000}
STARTUP_TIMEOUT_S = 120.0
PAGE_TIMEOUT_MS = 120_000
FIRST_LOAD_RATIO = 2.0  # first load ≤ 2× the blank app's
WARM_TARGET_S = 0.5
FIRST_VISIT_TARGET_S = 1.0

BLANK_APP = """
import streamlit as st

def one() -> None:
    st.title("Blank one")
    st.write("A page with one line of text.")

def two() -> None:
    st.title("Blank two")
    st.write("Another page with one line of text.")

st.navigation([st.Page(one, title="Blank one", default=True), st.Page(two, title="Blank two")]).run()
"""

# Resolves with [shown, drawn], performance.now() values (ms since the navigation started): shown once `title` is
# the page's title, the script is idle and nothing stale is left; drawn once, besides, every Plotly chart on the
# page has drawn its plot (an element whose code is still loading shows a skeleton). Checked on every DOM change
# and every frame.
SHOWN_AT = """title => new Promise(resolve => {
  let shownAt = null;
  const shown = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    const heading = document.querySelector('[data-testid="stMain"] h1');
    return app !== null && app.getAttribute('data-test-script-state') === 'notRunning'
      && heading !== null && heading.textContent.trim().startsWith(title)
      && document.querySelector('[data-stale="true"]') === null;
  };
  const chartsDrawn = () => document.querySelector('[data-testid="stMain"] [data-testid="stSkeleton"]') === null
    && [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
      .every(chart => chart.querySelector('.main-svg') !== null);
  const check = () => {
    if (shownAt === null && shown()) shownAt = performance.now();
    if (shownAt !== null && chartsDrawn()) {
      observer.disconnect(); resolve([shownAt, performance.now()]); return true;
    }
    return false;
  };
  const observer = new MutationObserver(check);
  if (check()) return;
  const watch = () => {  // right after the navigation commits, the document may have no root yet
    if (document.documentElement) {
      observer.observe(document.documentElement, {subtree: true, childList: true, attributes: true});
    } else setTimeout(watch, 5);
  };
  watch();
  const frame = () => { if (!check()) requestAnimationFrame(frame); };
  requestAnimationFrame(frame);
})"""


@dataclass
class AppFigures:
    """Seconds per measure of one app: first loads, and per page its first visit and warm visits per run; the same
    until every chart is drawn in `drawn`, keyed "first load", "<page> first" and "<page> warm"."""

    first_loads: list[float] = field(default_factory=list)
    first_visits: dict[str, list[float]] = field(default_factory=dict)
    warm_visits: dict[str, list[float]] = field(default_factory=dict)
    drawn: dict[str, list[float]] = field(default_factory=dict)

    def add(self, measure: str, shown: float, drawn: float) -> None:
        kind, _, title = measure.partition(":")
        if kind == "first load":
            self.first_loads.append(shown)
            self.drawn.setdefault("first load", []).append(drawn)
            return
        visits = self.first_visits if kind == "first" else self.warm_visits
        visits.setdefault(title, []).append(shown)
        self.drawn.setdefault(f"{title} {kind}", []).append(drawn)


def _healthy(base_url: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"{base_url}/_stcore/health", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def served(command: list[str], workdir: Path, database_url: str, log: Path) -> Iterator[str]:
    """A Streamlit command (`… run script`) on a free loopback port, as the local admin; yields its address once
    healthy."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("FLEET_USER", "FLEET_LOCAL_ROLE")}
    env.update(DATABASE_URL=database_url, FLEET_LOCAL_ROLE="admin", PYTHONUNBUFFERED="1")
    secrets = log.with_suffix(".secrets.toml")
    secrets.write_text("")
    options = [
        "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
        "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false", "--secrets.files", str(secrets),
    ]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, *options], cwd=workdir, env=env, stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not _healthy(base_url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{command} did not start:\n{log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.2)
        yield base_url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _shown_after(page: Any, title: str, started_ms: float) -> tuple[float, float]:
    """Seconds from `started_ms` to the page shown, and to its charts drawn as well."""
    shown_ms, drawn_ms = page.evaluate(SHOWN_AT, title)
    return (float(shown_ms) - started_ms) / 1000, (float(drawn_ms) - started_ms) / 1000


def _click_page(page: Any, title: str) -> tuple[float, float]:
    """Seconds from the sidebar click on `title` to its page shown, and to its charts drawn."""
    more = page.locator('[data-testid="stSidebarNavViewButton"]').filter(has_text="more")
    if more.count():
        more.click()
    link = page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title, exact=True)
    started = float(page.evaluate("performance.now()"))
    link.click()
    return _shown_after(page, title, started)


def browse(browser: Any, base_url: str, titles: list[str], runs: int) -> AppFigures:
    """`runs` sessions, each a new tab: first load, then every page by the sidebar twice (first visit, warm)."""
    figures = AppFigures()
    for _ in range(runs):
        context = browser.new_context(viewport=VIEWPORT)
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        page = context.new_page()
        page.goto(base_url, wait_until="commit")
        figures.add("first load", *_shown_after(page, titles[0], 0.0))
        for kind in ("first", "warm"):  # the next click waits for the charts: each figure is its page's own
            for title in [*titles[1:], titles[0]]:
                figures.add(f"{kind}:{title}", *_click_page(page, title))
        context.close()
    return figures


def page_titles() -> list[str]:
    from streamlit.logger import set_log_level

    set_log_level("error")  # the menu's module is imported outside a server here: no "No runtime found" warnings
    from pages.kit.shell import PAGES

    return [spec.title for spec in PAGES]


def measure(database_url: str, workdir: Path, runs: int) -> tuple[AppFigures, AppFigures, list[float]]:
    """(the app's figures, the blank app's, the load average at the end), both apps measured in turn."""
    from playwright.sync_api import sync_playwright

    blank = workdir / "blank" / "blank_app.py"
    blank.parent.mkdir(parents=True, exist_ok=True)
    blank.write_text(BLANK_APP)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            blank_command = [sys.executable, "-m", "streamlit", "run", str(blank)]
            with served(blank_command, blank.parent, database_url, workdir / "blank.log") as url:
                floor = browse(browser, url, ["Blank one", "Blank two"], runs)
            # As `python -m core serve-app` starts it.
            with served(streamlit_command([]), ROOT, database_url, workdir / "app.log") as url:
                app = browse(browser, url, page_titles(), runs)
        finally:
            browser.close()
    return app, floor, [round(load, 2) for load in os.getloadavg()]


def median(values: list[float]) -> float:
    return statistics.median(values)


def later_runs(values: list[float]) -> list[float]:
    """The figures of sessions on a warm server (all of them when there was only one run)."""
    return values[1:] or values


def main() -> int:
    """`python -m benchmarks.browser_bench DATABASE_URL`: the browser figures alone, on an existing database."""
    with tempfile.TemporaryDirectory() as tmp:
        app, floor, load = measure(sys.argv[1], Path(tmp), int(sys.argv[2]) if len(sys.argv) > 2 else 3)
    print({"app": app, "blank": floor, "load": load})
    return 0


if __name__ == "__main__":
    sys.exit(main())
