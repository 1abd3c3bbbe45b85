"""The app starts from `streamlit run app.py` on an empty database and greets a new user without an error."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e import streamlit_ui as ui
from tests.e2e.fleet_app import RunningApp

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_app_starts_on_an_empty_database_and_shows_its_title(
    empty_app: RunningApp, page: Page, screenshot: Callable[[str], Path]
) -> None:
    ui.open_app(page, empty_app.base_url)

    expect(page).to_have_title("WABA Fleet")
    expect(page.get_by_role("heading", name="WABA Fleet").first).to_be_visible()
    ui.expect_no_exception(page)
    screenshot("empty-start")
