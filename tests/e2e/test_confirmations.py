"""Confirmations in Chromium: a write on Alerts is confirmed next to the form it came from, and the expander the
admin opened stays open."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import update

from core import alerts
from core.db import PhoneNumber, make_engine, write_session
from core.migrate import upgrade
from tests import builders
from tests.e2e import streamlit_ui as ui
from tests.e2e.fleet_app import RunningApp, running_app, sqlite_url

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


@pytest.fixture
def one_alert_app(tmp_path: Path) -> Iterator[RunningApp]:
    """A WABA with two numbers, a rule on quality and one open alert (a number turned RED)."""
    url = sqlite_url(tmp_path / "fleet.db")
    engine = make_engine(url)

    upgrade(engine)
    builders.fill_waba(engine, builders.waba(engine), 2)
    alerts.add_rule(engine, builders.ADMIN, name="Quality", event="quality_drop", target="mailto:ops@example.com")
    with write_session(engine) as session:
        session.execute(update(PhoneNumber).where(PhoneNumber.id == 1).values(quality_rating="RED"))
    alerts.evaluate(engine, datetime.now(UTC))
    engine.dispose()
    with running_app(url, tmp_path) as app:
        yield app


def test_an_added_rule_is_confirmed_inside_the_expander_which_stays_open(page: Page, one_alert_app: RunningApp):
    ui.open_app(page, one_alert_app.base_url)
    ui.navigate(page, "Alerts")
    expander = page.locator('[data-testid="stExpander"]').filter(has_text="Add a rule")
    expander.locator("summary").click()
    add = ui.form(expander, "Add rule")
    ui.fill_text(page, "Name", "EU quality", scope=add)
    ui.fill_text(page, "Send to", "mailto:eu@example.com", scope=add)

    ui.submit_form(page, "Add rule", scope=add)

    expect(expander.locator("details")).to_have_attribute("open", "")
    outcome = expander.locator(".st-key-outcome_add_alert_rule")
    expect(outcome).to_contain_text("Alert rule 'EU quality' added.")
    expect(outcome).to_be_in_viewport()


def test_acknowledging_the_last_open_alert_is_confirmed_where_its_form_was(page: Page, one_alert_app: RunningApp):
    ui.open_app(page, one_alert_app.base_url)
    ui.navigate(page, "Alerts")

    ui.submit_form(page, "Acknowledge")

    outcome = page.locator(".st-key-outcome_acknowledge_alert")
    expect(outcome).to_contain_text("Alert #1 acknowledged.")
    expect(outcome).to_be_in_viewport()
    expect(ui.buttons(page, "Acknowledge")).to_have_count(0)
