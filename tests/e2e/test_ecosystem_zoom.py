"""The ecosystem diagram's zoom in Chromium: at 200 % its text is twice as tall as at Fit width, the diagram scrolls
sideways inside its own frame, and the choice stays when the admin comes back to the page."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e import streamlit_ui as ui
from tests.e2e.fleet_app import RunningApp

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

DIAGRAM_TEXT = '[data-testid="stGraphVizChart"] svg text'
HEIGHTS = "texts => texts.map(text => text.getBoundingClientRect().height)"
SCROLL = "frame => ({width: frame.scrollWidth, shown: frame.clientWidth})"


def median_text_height(page: Page) -> float:
    texts = page.locator(DIAGRAM_TEXT)
    expect(texts.first).to_be_attached()
    heights = sorted(texts.evaluate_all(HEIGHTS))
    return float(heights[len(heights) // 2])


def choose_zoom(page: Page, label: str) -> None:
    with ui.rerun(page):
        page.get_by_role("radiogroup", name="Zoom").get_by_role("radio", name=label).click()


def chosen_zoom(page: Page) -> str:
    return page.get_by_role("radiogroup", name="Zoom").get_by_role("radio", checked=True).inner_text().strip()


def test_at_200_percent_the_text_is_twice_as_tall_and_the_diagram_scrolls_sideways(page: Page, demo_app: RunningApp):
    ui.open_app(page, demo_app.base_url)
    ui.navigate(page, "Ecosystem")
    fitted = median_text_height(page)

    choose_zoom(page, "200 %")

    frame = page.locator(".st-key-ecosystem_zoomed")
    expect(frame.locator(DIAGRAM_TEXT).first).to_be_attached()
    zoomed = median_text_height(page)
    scroll = frame.evaluate(SCROLL)
    assert zoomed >= 1.85 * fitted, (fitted, zoomed)  # glyph boxes round to whole pixels: 11 px → 21 px
    assert scroll["width"] >= 1.9 * scroll["shown"], scroll
    frame.evaluate("frame => { frame.scrollLeft = frame.scrollWidth; }")
    assert frame.evaluate("frame => frame.scrollLeft") > 0


def test_the_zoom_stays_chosen_after_visiting_another_page(page: Page, demo_app: RunningApp):
    ui.open_app(page, demo_app.base_url)
    ui.navigate(page, "Ecosystem")
    choose_zoom(page, "150 %")

    ui.navigate(page, "Overview")
    ui.navigate(page, "Ecosystem")

    assert chosen_zoom(page) == "150 %"
    expect(page.locator(".st-key-ecosystem_zoomed").locator(DIAGRAM_TEXT).first).to_be_attached()
