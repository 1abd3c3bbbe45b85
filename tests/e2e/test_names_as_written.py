"""In the browser, a name from Meta, a file or a link is shown as written: Markdown in it makes no disguised link,
no formula and no styling."""

from __future__ import annotations

import urllib.parse

import pytest
from playwright.sync_api import Page, expect

from core import model, services
from core.db import make_engine
from core.migrate import upgrade
from tests import builders
from tests.e2e import streamlit_ui as ui
from tests.e2e.fleet_app import RunningApp

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

# Passes the name checks (no markup, no formula start): Markdown would make a link, a formula, a red word and bold.
MARKDOWN_NAME = "Shop [Win a prize](https://evil.example) $5$ :red[now] *free*"


def test_a_display_name_holding_markdown_is_shown_as_written(empty_app: RunningApp, page: Page) -> None:
    engine = make_engine(empty_app.database_url)
    upgrade(engine)
    phone = builders.french_mobile(7)
    services.add_number(engine, builders.ADMIN, meta_waba_id=builders.waba(engine), group_name="g", phone=phone)
    services.update_number_health(engine, builders.ADMIN, phone=phone, changes={"display_name": MARKDOWN_NAME})
    engine.dispose()

    ui.open_app(page, f"{empty_app.base_url}/numbers?phone={urllib.parse.quote(phone)}")

    heading = page.get_by_role("heading", level=3).filter(has_text=model.format_international(phone))
    expect(heading).to_have_text(f"{model.format_international(phone)} — {MARKDOWN_NAME}")
    expect(heading.get_by_role("link", name="Win a prize")).to_have_count(0)
    expect(heading.locator(".katex, strong, em, [class*='red']")).to_have_count(0)
