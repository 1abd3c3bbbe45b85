"""On the demo fleet, every page an admin can open renders without an error, and the charts and the ecosystem
diagram are drawn by the browser (Plotly and Graphviz), with a screenshot of each page kept as an artifact."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e import streamlit_ui as ui
from tests.e2e.fleet_app import RunningApp

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ADMIN_PAGES = ["Overview", "Accounts", "Numbers", "Subscriptions", "Templates", "Ecosystem", "Import", "Audit log"]
CHART_TIMEOUT_MS = 60_000  # Plotly and the Graphviz renderer load their code on first use


def test_every_page_in_the_navigation_opens_without_an_exception(
    demo_app: RunningApp, page: Page, screenshot: Callable[[str], Path]
) -> None:
    ui.open_app(page, demo_app.base_url)
    titles = ui.navigation_titles(page)

    for title in titles:
        ui.navigate(page, title)

        ui.expect_no_exception(page)
        expect(page.locator('[data-testid="stMain"]')).not_to_be_empty()
        screenshot(title)
    assert set(ADMIN_PAGES) <= set(titles), f"navigation shows {titles}"


@pytest.mark.parametrize("title", ["Overview", "Numbers"])
def test_quality_and_limit_charts_are_drawn_by_plotly(
    demo_app: RunningApp, page: Page, screenshot: Callable[[str], Path], title: str
) -> None:
    ui.open_app(page, demo_app.base_url)

    ui.navigate(page, title)

    charts = page.locator('[data-testid="stPlotlyChart"]')
    expect(charts.first).to_be_visible(timeout=CHART_TIMEOUT_MS)
    # Plotly has drawn when its SVG layer holds the plotted marks, not merely when the container exists.
    expect(charts.first.locator(".js-plotly-plot .main-svg").first).to_be_visible(timeout=CHART_TIMEOUT_MS)
    ui.expect_no_exception(page)
    charts.first.scroll_into_view_if_needed()
    screenshot(f"{title}-charts")


def test_ecosystem_diagram_is_drawn_as_svg(demo_app: RunningApp, page: Page, screenshot: Callable[[str], Path]) -> None:
    ui.open_app(page, demo_app.base_url)

    ui.navigate(page, "Ecosystem")

    diagram = page.locator('[data-testid="stGraphVizChart"] svg')
    expect(diagram.first).to_be_visible(timeout=CHART_TIMEOUT_MS)
    expect(diagram.first.locator("g.node").first).to_be_attached(timeout=CHART_TIMEOUT_MS)
    ui.expect_no_exception(page)
    screenshot("ecosystem-diagram")
