"""On the demo fleet, every page an admin can open renders without an error, and the charts and the ecosystem
diagram are drawn by the browser (Plotly and Graphviz), with a screenshot of each page kept as an artifact."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e import streamlit_ui as ui

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ADMIN_PAGES = [
    "Overview",
    "Accounts",
    "Numbers",
    "Subscriptions",
    "Templates",
    "Ecosystem",
    "Alerts",
    "Import",
    "Audit log",
]
DRAWING_TIMEOUT_MS = 60_000  # Plotly and the Graphviz renderer load their code on first use

Screenshot = Callable[[str], Path]


@pytest.fixture
def page(demo_page: Page) -> Page:
    """These tests only look: they share one tab on the demo app, each navigating where it needs."""
    return demo_page


def test_every_page_in_the_navigation_opens_without_an_exception(page: Page, screenshot: Screenshot) -> None:
    titles = ui.navigation_titles(page)

    for title in titles:
        ui.navigate(page, title)

        ui.expect_no_exception(page)
        expect(page.get_by_role("heading", level=1).first).to_be_visible()
        screenshot(title)
    assert set(ADMIN_PAGES) <= set(titles), f"navigation shows {titles}"


@pytest.mark.parametrize("title", ["Overview", "Numbers"])
def test_quality_and_limit_charts_are_drawn_by_plotly(page: Page, screenshot: Screenshot, title: str) -> None:
    ui.navigate(page, title)

    charts = page.locator('[data-testid="stPlotlyChart"]')
    expect(charts.first).to_be_attached(timeout=DRAWING_TIMEOUT_MS)
    shown = charts.locator("visible=true").first
    expect(shown.locator(".js-plotly-plot")).to_be_visible(timeout=DRAWING_TIMEOUT_MS)
    # Drawn means traces (bars, points, lines) in the SVG, not merely an empty plotting area.
    expect(shown.locator("g.trace").first).to_be_attached(timeout=DRAWING_TIMEOUT_MS)
    ui.expect_no_exception(page)
    shown.scroll_into_view_if_needed()
    screenshot(f"{title}-charts")


def test_ecosystem_diagram_is_drawn_as_svg(page: Page, screenshot: Screenshot) -> None:
    ui.navigate(page, "Ecosystem")

    diagram = page.locator('[data-testid="stGraphVizChart"] svg').first
    expect(diagram).to_be_visible(timeout=DRAWING_TIMEOUT_MS)
    expect(diagram.locator("g.cluster").first).to_be_attached()  # one cluster per business portfolio
    expect(diagram.locator("g.node").first).to_be_attached()
    expect(diagram.locator("g.edge").first).to_be_attached()
    ui.expect_no_exception(page)
    screenshot("ecosystem-diagram")


def test_numbers_filtered_by_quality_rating_show_only_those_numbers(page: Page, screenshot: Screenshot) -> None:
    ui.navigate(page, "Numbers")
    table = ui.dataframe(page, "numbers_table")
    everything = ui.table_row_count(table)

    ui.select_options(page, "Quality rating", ["YELLOW"])

    expect(table.locator('table[role="grid"]')).not_to_have_attribute("aria-rowcount", str(everything + 1))
    shown = ui.table_records(table)
    assert 0 < ui.table_row_count(table) < everything
    assert {row["Quality"] for row in shown} == {"YELLOW"}
    screenshot("numbers-yellow-only")

    ui.click_button(page, "Clear filters")
    ui.expect_row_count(table, everything)
