"""Using a page while the fleet changes under it: the page reruns by itself with the live data (see
pages/kit/freshness.py), and a select box opened by one click stays open through those reruns, long enough to pick."""

from __future__ import annotations

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

CHANGE_EVERY_S = 0.4  # a live stream: the page's follower sees a new data version at each of its reruns
WATCHED_MS = 6_000  # three or four of the follower's reruns


@pytest.fixture
def changing_fleet(tmp_path: Path) -> Iterator[RunningApp]:
    """One WABA whose groups another process keeps archiving and re-attaching: the tables' lengths change at every
    rerun of an open page, as under a webhook stream or the worker."""
    url = sqlite_url(tmp_path / "fleet.db")
    engine = make_engine(url)
    upgrade(engine)
    waba_id = builders.waba(engine)
    phones = builders.fill_waba(engine, waba_id, 4)
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
    ui.open_app(page, f"{changing_fleet.base_url}/subscriptions")
    panel = ui.open_tab(page, "Add Subscription Group and Number")
    combobox = ui.widget(panel, "stSelectbox", "Country (for national formats)").locator(ui.COMBOBOX)
    combobox.scroll_into_view_if_needed()  # as a user does, before the click
    page.wait_for_timeout(300)

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
