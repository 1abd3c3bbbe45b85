"""The app starts from `streamlit run app.py` on an empty database and greets a new user without an error."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e import streamlit_ui as ui
from tests.e2e.fleet_app import RunningApp

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_new_user_on_an_empty_database_sees_the_overview_and_what_to_do_next(
    empty_app: RunningApp, page: Page, screenshot: Callable[[str], Path]
) -> None:
    ui.open_app(page, empty_app.base_url)

    ui.expect_no_exception(page)
    expect(page.get_by_role("heading", name="Overview").first).to_be_visible()
    expect(page.locator('[data-testid="stSidebar"]')).to_contain_text("Local mode")
    expect(page.locator('[data-testid="stSidebar"]')).to_contain_text("admin")
    expect(ui.alerts(page, "info").first).to_contain_text("No workspace yet")
    screenshot("empty-overview")
