"""Using a page while the fleet changes under it: the page reruns by itself with the live data (see
pages/kit/freshness.py); a select box opened by one click stays open through those reruns, long enough to pick, and
a write's rerun leaves every table drawn."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from core import services
from core.db import make_engine
from core.errors import FleetError
from core.migrate import upgrade
from tests import builders
from tests.e2e import streamlit_ui as ui
from tests.e2e.fleet_app import RunningApp, running_app, sqlite_url

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ARCHIVE_CONFIRM = "I understand: I will then delete the number in Meta Business Manager"
CHANGE_EVERY_S = 0.4  # a live stream: the page's follower sees a new data version at each of its reruns
WATCHED_MS = 6_000  # three or four of the follower's reruns


@pytest.fixture
def changing_fleet(tmp_path: Path) -> Iterator[RunningApp]:
    """One WABA whose groups a writer beside the app keeps archiving and re-attaching: the tables' lengths change at
    every rerun of an open page, as under a webhook stream or the worker."""
    url = sqlite_url(tmp_path / "fleet.db")
    engine = make_engine(url)
    upgrade(engine)
    waba_id = builders.waba(engine)
    phones = builders.fill_waba(engine, waba_id, 5)  # the last two stay still
    stop = threading.Event()

    def keep_changing() -> None:
        for turn in range(10_000):
            if stop.wait(CHANGE_EVERY_S):
                return
            phone = phones[turn % 3]
            try:
                services.archive_group(engine, builders.ADMIN, phone=phone)
            except FleetError:  # archived on the previous round: bring it back
                services.reattach_number(
                    engine, builders.ADMIN, phone=phone, meta_waba_id=waba_id, group_name=f"Back {turn}"
                )

    changer = threading.Thread(target=keep_changing, daemon=True)
    with running_app(url, tmp_path) as app:
        changer.start()
        try:
            yield app
        finally:
            stop.set()
            changer.join(timeout=10)
            engine.dispose()


# Two animation frames: the scroll's own event has been dispatched.
AFTER_THE_SCROLL = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"
# Every animation frame: whether a list of options is open, and the active groups' heading (it moves with the data).
WATCH_LIST = """ms => new Promise(done => { const frames = []; const started = performance.now();
  const sample = () => {
    const heading = [...document.querySelectorAll('h3')].find(h => h.textContent.startsWith('Active subscription'));
    const listed = document.querySelector('[role="listbox"] [role="option"]') !== null;
    frames.push([listed, heading ? heading.textContent : '']);
    if (performance.now() - started < ms) requestAnimationFrame(sample); else done(frames);
  };
  requestAnimationFrame(sample);
})"""


def test_a_select_box_opened_once_stays_open_while_live_data_reruns_the_page(page: Page, changing_fleet: RunningApp):
    """A guard: the open list survives the follower's reruns. What closed it was a table above the forms changing
    length, which scrolled the page (the forms now come first: tests/app/test_subscriptions_forms.py); a page
    scrolled to its very end can still be pulled up by a table below that shrinks, so the box is brought into view
    as an admin would, not scrolled to the top of the window."""
    ui.open_app(page, f"{changing_fleet.base_url}/subscriptions")
    panel = ui.open_tab(page, "Add Subscription Group and Number")
    combobox = ui.widget(panel, "stSelectbox", "Country (for national formats)").locator(ui.COMBOBOX)
    combobox.evaluate("box => box.scrollIntoView({block: 'nearest'})")  # as an admin brings it into view, if needed
    page.evaluate(AFTER_THE_SCROLL)

    combobox.click()  # once
    frames = page.evaluate(WATCH_LIST, WATCHED_MS)

    headings = {heading for _, heading in frames}
    assert len(headings) >= 2, f"the page did not rerun with new data while the list was open: {headings}"
    opened = [is_open for is_open, _ in frames]
    first = opened.index(True) if True in opened else len(opened)
    assert first < 30, "the first click did not open the list"
    assert all(opened[first:]), f"the list closed after {opened[first:].index(False)} frames, seeing {headings}"
    option = page.get_by_role("listbox").get_by_role("option").nth(1)
    picked = option.inner_text().strip()
    option.click()
    expect(combobox).to_have_value(picked)


# Every animation frame for `ms`, from now on (the call returns at once): each table's key, whether its first row is
# drawn (a blank canvas has one colour across it) and how opaque it is shown (Streamlit fades what a slow rerun has
# not redrawn yet). The frames are in window.__tableFrames once window.__tablesWatched.
WATCH_TABLES = """ms => { const frames = []; const started = performance.now();
  window.__tablesWatched = false;
  const rowDrawn = canvas => {
    if (!canvas || !canvas.width) return false;
    const y = Math.round(52 * canvas.height / canvas.getBoundingClientRect().height);  // the first row, not the header
    const pixels = canvas.getContext('2d').getImageData(0, y, canvas.width, 1).data;
    const colours = new Set();
    for (let i = 0; i < pixels.length; i += 4) colours.add(pixels.slice(i, i + 4).join());
    return colours.size > 3;
  };
  const sample = () => {
    frames.push([...document.querySelectorAll('[data-testid="stDataFrame"]')].map(frame => {
      const box = [...frame.closest('[class*="st-key-"]').classList].find(name => name.startsWith('st-key-'));
      let opacity = 1;
      for (let e = frame; e; e = e.parentElement) opacity *= parseFloat(getComputedStyle(e).opacity);
      return [box.slice('st-key-'.length), rowDrawn(frame.querySelector('canvas')), opacity];
    }));
    if (performance.now() - started < ms) requestAnimationFrame(sample);
    else { window.__tableFrames = frames; window.__tablesWatched = true; }
  };
  requestAnimationFrame(sample);
}"""


def test_every_table_stays_drawn_while_a_write_reruns_a_live_page(page: Page, changing_fleet: RunningApp):
    ui.open_app(page, f"{changing_fleet.base_url}/subscriptions")
    archive = ui.form(ui.open_tab(page, "Archive a group"), "Archive group")
    ui.select_option(page, "Subscription group to archive", re.compile(r"^group 4 — "), search="group 4", scope=archive)
    ui.set_checkbox(page, ARCHIVE_CONFIRM, scope=archive)
    tables_before = page.locator('[data-testid="stDataFrame"]').count()

    page.evaluate(WATCH_TABLES, 4_000)
    ui.submit_form(page, "Archive group", scope=archive)
    page.wait_for_function("window.__tablesWatched")
    frames = page.evaluate("window.__tableFrames")

    assert len(frames) > 30
    assert tables_before == 3
    for key in {key for frame in frames for key, _, _ in frame}:
        shown = [next(((drawn, opacity) for k, drawn, opacity in frame if k == key), None) for frame in frames]
        assert None not in shown, f"{key} missing in {shown.count(None)} of {len(frames)} frames"
        assert all(drawn for drawn, _ in shown), f"{key} blank in {[d for d, _ in shown].count(False)} frames"
        assert min(opacity for _, opacity in shown) > 0.5, f"{key} faded: {[o for _, o in shown]}"
    expect(page.locator(".st-key-outcome_archive_group")).to_contain_text("Next step")
