"""A new admin builds a fleet from an empty database in the browser, as the product document describes it:
workspace → business portfolio → "Add WhatsApp Business Account" → "Add Subscription Group and Number" (a national
number with its country) → the number in Numbers, filtered and downloaded as CSV → its group archived."""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from core.reads.numbers import NUMBER_EXPORT_COLUMNS
from tests.e2e import streamlit_ui as ui
from tests.e2e.fleet_app import RunningApp

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

WORKSPACE = "EU Brands"
PORTFOLIO_ID, PORTFOLIO = "102938475610", "Acme Europe"
WABA_ID, WABA = "104996872345678", "Fashion FR"
FRENCH_GROUP, FRENCH_NATIONAL, FRENCH_E164, FRENCH_INTERNATIONAL = (
    "FR Promotions",
    "06 12 34 56 78",
    "+33612345678",
    "+33 6 12 34 56 78",
)
BRITISH_GROUP, BRITISH_NATIONAL, BRITISH_E164 = "UK Service", "07400 123456", "+447400123456"
WIDE_VIEWPORT = {"width": 2400, "height": 1000}  # every column of the Numbers table on screen at once

Screenshot = Callable[[str], Path]


def add_workspace(page: Page) -> None:
    add = ui.form(ui.open_tab(page, "Add workspace"), "Add workspace")
    ui.fill_text(page, "Workspace name", WORKSPACE, scope=add)
    ui.submit_form(page, "Add workspace", scope=add)
    ui.expect_toast(page, f"Workspace '{WORKSPACE}' added.")


def add_portfolio_with_its_messaging_limit(page: Page) -> None:
    add = ui.form(ui.open_tab(page, "Add business portfolio"), "Add business portfolio")
    ui.fill_text(page, "Meta business id", PORTFOLIO_ID, scope=add)
    ui.fill_text(page, "Portfolio name", PORTFOLIO, scope=add)
    ui.select_option(page, "Shared messaging limit", "TIER_2K", scope=add)
    ui.submit_form(page, "Add business portfolio", scope=add)
    ui.expect_toast(page, f"'{PORTFOLIO}' ({PORTFOLIO_ID}) added")


def add_whatsapp_business_account_connecting_the_portfolio(page: Page) -> None:
    add = ui.form(ui.open_tab(page, "Add WhatsApp Business Account"), "Add WhatsApp Business Account")
    ui.select_option(page, "Workspace", WORKSPACE, scope=add)
    ui.select_option(page, "Business portfolio", f"{PORTFOLIO} ({PORTFOLIO_ID})", search=PORTFOLIO, scope=add)
    ui.set_checkbox(page, "Connect this portfolio to the workspace if it is not connected yet", True, scope=add)
    ui.fill_text(page, "Meta WABA id", WABA_ID, scope=add)
    ui.fill_text(page, "WABA name", WABA, scope=add)
    ui.submit_form(page, "Add WhatsApp Business Account", scope=add)
    ui.expect_toast(page, f"'{WABA}' ({WABA_ID}) added to '{WORKSPACE}'")


def add_number_form(page: Page) -> Locator:
    tab = ui.open_tab(page, "Add Subscription Group and Number")
    return ui.form(tab, "Add Subscription Group and Number")


def add_number(page: Page, *, group: str, phone: str, country: str, display_name: str = "") -> Locator:
    add = add_number_form(page)
    waba_choice = re.compile("^" + re.escape(f"{WABA} — {WORKSPACE} ({WABA_ID})"))  # then a count of its numbers
    ui.select_option(page, "WhatsApp Business Account", waba_choice, search=WABA, scope=add)
    ui.fill_text(page, "Subscription group name", group, scope=add)
    ui.fill_text(page, "Phone number", phone, scope=add)
    ui.select_option(page, "Country (for national formats)", country, search=country.split(" (")[0], scope=add)
    ui.fill_text(page, "Display name", display_name, scope=add)
    ui.submit_form(page, "Add Subscription Group and Number", scope=add)
    return add


def expect_refused_keeping_input(
    page: Page, add: Locator, message: str, *, group: str, phone: str, country: str
) -> None:
    expect(ui.alerts(page, "error").filter(has_text=message)).to_have_count(1)
    assert ui.text_value(page, "Subscription group name", scope=add) == group
    assert ui.text_value(page, "Phone number", scope=add) == phone
    assert ui.selected_option(page, "Country (for national formats)", scope=add) == country


def numbers_table(page: Page) -> Locator:
    return ui.dataframe(page, "numbers_table")


def test_admin_builds_a_fleet_from_an_empty_database_then_exports_and_archives_a_number(
    empty_app: RunningApp, page: Page, screenshot: Screenshot, tmp_path: Path
) -> None:
    # A new user on an empty database: the Overview, in local mode as the local admin, says what to do next.
    ui.open_app(page, empty_app.base_url)
    expect(page.get_by_role("heading", name="Overview", level=1)).to_be_visible()
    expect(page.locator('[data-testid="stSidebar"]')).to_contain_text(
        "Local mode, no sign-in: you act as local-admin, with the admin role."
    )
    expect(ui.alerts(page, "info").first).to_contain_text("No workspace yet")
    screenshot("empty-overview")

    # Accounts: the workspace, the portfolio with its shared limit, then the WABA that connects them.
    ui.navigate(page, "Accounts")
    add_workspace(page)
    add_portfolio_with_its_messaging_limit(page)
    add_whatsapp_business_account_connecting_the_portfolio(page)
    wabas = ui.table_records(ui.dataframe(page, "accounts_wabas"))
    assert [(row["WABA"], row["Meta WABA id"], row["Portfolio"]) for row in wabas] == [(WABA, WABA_ID, PORTFOLIO)]
    connections = ui.table_records(ui.dataframe(page, "accounts_connections"))
    assert [(row["Workspace"], row["Connected portfolio"]) for row in connections] == [(WORKSPACE, PORTFOLIO)]
    ui.expect_no_exception(page)
    screenshot("accounts-after-adding-waba")

    # Subscriptions: a French number typed in its national format, with France chosen as its country.
    ui.navigate(page, "Subscriptions")
    add_number(page, group=FRENCH_GROUP, phone=FRENCH_NATIONAL, country="France (+33)", display_name="Acme FR")
    ui.expect_toast(page, f"Number {FRENCH_INTERNATIONAL} added to '{WABA}'")
    expect(page.get_by_role("heading", name="Active subscription groups (1)")).to_be_visible()

    # The same number typed another way is refused with core's reason, and what was typed stays in the form.
    add = add_number(page, group="FR Duplicate", phone="0033 6 12 34 56 78", country="International (+…)")
    expect_refused_keeping_input(
        page,
        add,
        f"Phone number {FRENCH_INTERNATIONAL} is already in use by subscription group '{FRENCH_GROUP}'.",
        group="FR Duplicate",
        phone="0033 6 12 34 56 78",
        country="International (+…)",
    )
    screenshot("subscriptions-duplicate-refused")
    add = add_number(page, group="FR Short", phone="06 12", country="France (+33)")
    expect_refused_keeping_input(
        page, add, "Phone number '06 12' is impossible", group="FR Short", phone="06 12", country="France (+33)"
    )
    expect(page.get_by_role("heading", name="Active subscription groups (1)")).to_be_visible()

    add_number(page, group=BRITISH_GROUP, phone=BRITISH_NATIONAL, country="United Kingdom (+44)")
    expect(page.get_by_role("heading", name="Active subscription groups (2)")).to_be_visible()
    ui.expect_no_exception(page)
    screenshot("subscriptions-two-numbers")

    # Numbers: both numbers, readable and in E.164; a filter narrows the table and the CSV to the French one.
    page.set_viewport_size(WIDE_VIEWPORT)
    ui.navigate(page, "Numbers")
    ui.expect_row_count(numbers_table(page), 2)
    rows = {row["E.164"]: row for row in ui.table_records(numbers_table(page))}
    assert set(rows) == {FRENCH_E164, BRITISH_E164}
    assert rows[FRENCH_E164]["Number"] == FRENCH_INTERNATIONAL
    assert rows[FRENCH_E164]["Subscription group"] == FRENCH_GROUP

    ui.fill_text(page, "Search", "612345678")
    ui.expect_row_count(numbers_table(page), 1)
    assert [row["E.164"] for row in ui.table_records(numbers_table(page))] == [FRENCH_E164]
    screenshot("numbers-filtered")

    downloaded = ui.download(page, "Download CSV", tmp_path / "numbers.csv")
    with downloaded.open(encoding="utf-8", newline="") as exported:
        reader = csv.DictReader(exported)
        exported_rows = list(reader)
    assert reader.fieldnames == NUMBER_EXPORT_COLUMNS
    assert [row["phone_e164"] for row in exported_rows] == [FRENCH_E164]
    french = exported_rows[0]
    assert (french["workspace"], french["portfolio_id"], french["waba_id"]) == (WORKSPACE, PORTFOLIO_ID, WABA_ID)
    assert (french["subscription_group"], french["group_state"]) == (FRENCH_GROUP, "active")
    assert (french["display_name"], french["portfolio_messaging_limit"]) == ("Acme FR", "TIER_2K")

    # Filters stay while the user moves between pages.
    page.set_viewport_size({"width": 1440, "height": 1000})
    ui.navigate(page, "Subscriptions")
    ui.navigate(page, "Numbers")
    assert ui.text_value(page, "Search") == "612345678"
    ui.expect_row_count(numbers_table(page), 1)

    # Archive: refused until the user confirms the two-step removal, then done, and listed apart.
    ui.navigate(page, "Subscriptions")
    archive = ui.form(ui.open_tab(page, "Archive a group"), "Archive group")
    expect(archive).to_contain_text("Delete the number in Meta Business Manager")
    group_choice = re.compile("^" + re.escape(f"{FRENCH_GROUP} — {FRENCH_INTERNATIONAL}"))
    ui.select_option(page, "Subscription group to archive", group_choice, search=FRENCH_GROUP, scope=archive)
    ui.submit_form(page, "Archive group", scope=archive)
    expect(ui.alerts(page, "error").filter(has_text="Tick the confirmation first")).to_have_count(1)
    expect(page.get_by_role("heading", name="Archived subscription groups (0)")).to_be_visible()

    ui.set_checkbox(page, "I understand: I will then delete the number in Meta Business Manager", scope=archive)
    ui.submit_form(page, "Archive group", scope=archive)
    next_step = (
        f"Next step: delete {FRENCH_INTERNATIONAL} from WhatsApp Business Account '{WABA}' in Meta Business Manager."
    )
    expect(ui.alerts(page, "success").filter(has_text=next_step)).to_have_count(1)
    expect(page.get_by_role("heading", name="Active subscription groups (1)")).to_be_visible()
    expect(page.get_by_role("heading", name="Archived subscription groups (1)")).to_be_visible()
    archived = ui.table_records(ui.dataframe(page, "subscriptions_archived"))
    assert [(row["Subscription group"], row["Number"]) for row in archived] == [(FRENCH_GROUP, FRENCH_INTERNATIONAL)]
    ui.expect_no_exception(page)
    screenshot("subscriptions-archived")
