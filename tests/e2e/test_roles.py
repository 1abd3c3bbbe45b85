"""What each role sees in the browser: viewers read only; analysts may also download; neither gets a write form
nor the admin pages. (The core refuses their writes anyway; this checks the pages do not offer them.)"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e import streamlit_ui as ui
from tests.e2e.fleet_app import RunningApp

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ADMIN_ONLY_PAGES = {"Import", "Audit log", "Users"}
WRITE_FORMS = {
    "Accounts": ["Add workspace", "Add business portfolio", "Connect portfolio", "Add WhatsApp Business Account"],
    "Subscriptions": ["Add Subscription Group and Number", "Archive group", "Re-attach number"],
    "Alerts": ["Add rule", "Disable rule", "Acknowledge"],
}


@pytest.mark.parametrize(("role", "can_download"), [("viewer", False), ("analyst", True)])
def test_non_admins_get_no_write_form_and_only_analysts_download(
    app_as: Callable[[str], RunningApp],
    page: Page,
    screenshot: Callable[[str], Path],
    role: str,
    can_download: bool,
) -> None:
    app = app_as(role)

    ui.open_app(page, app.base_url)

    expect(page.locator('[data-testid="stSidebar"]')).to_contain_text(f"you act as local-{role}, with the {role} role")
    assert not ADMIN_ONLY_PAGES & set(ui.navigation_titles(page))
    for title, submit_labels in WRITE_FORMS.items():
        ui.navigate(page, title)
        expect(page.get_by_role("heading", level=1)).to_have_text(title)
        ui.expect_no_exception(page)
        for label in submit_labels:
            expect(ui.form(page, label)).to_have_count(0)
        expect(page.locator('[data-testid="stForm"]')).to_have_count(0)
        screenshot(title)

    ui.navigate(page, "Numbers")
    numbers = ui.dataframe(page, "numbers_table")
    assert ui.table_row_count(numbers) > 0
    expect(ui.download_buttons(page, "Download CSV")).to_have_count(1 if can_download else 0)
    numbers.hover()  # the table's own toolbar shows on hover: it offers no download to anyone
    expect(page.locator('[data-testid="stElementToolbar"]').first).to_be_visible()
    expect(page.get_by_role("button", name="Download as CSV")).to_have_count(0)
    ui.expect_no_exception(page)
    screenshot("Numbers")

    ui.navigate(page, "Ecosystem")
    expect(page.locator('[data-testid="stGraphVizChart"]')).to_be_visible()
    expect(ui.download_buttons(page, "Download DOT")).to_have_count(1 if can_download else 0)
    expect(ui.download_buttons(page, "Download SVG")).to_have_count(1 if can_download else 0)


@pytest.mark.parametrize("address", ["import_data", "audit", "users"])
def test_a_reader_opening_an_admin_page_address_is_told_it_is_for_admins(
    app_as: Callable[[str], RunningApp], page: Page, address: str
) -> None:
    app = app_as("viewer")

    ui.open_app(page, f"{app.base_url}/{address}")

    expect(page.get_by_text("is for admins")).to_be_visible()
    expect(page.get_by_text("Page not found")).to_have_count(0)
    expect(page.locator('[data-testid="stDataFrame"], [data-testid="stForm"]')).to_have_count(0)
    ui.expect_no_exception(page)
