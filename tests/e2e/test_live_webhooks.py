"""Live webhooks end to end: a signed delivery posted to the receiver, applied by the worker, changes a number on
a Numbers page already open in Chromium, with nobody touching the page."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.e2e import streamlit_ui as ui
from tests.e2e.fleet_app import running_app, sqlite_url
from tests.fixtures.meta import support
from tests.integration.webhook_support import post, receiver_process, start_cli, stop

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

DELIVERY = (
    b'{"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "time": 1893456000, "changes": '
    b'[{"field": "phone_number_quality_update", "value": {"display_phone_number": "15550783881", "event": "FLAGGED", '
    b'"current_limit": "TIER_1K"}}]}]}'
)
LIVE_WITHIN_S = 20  # the worker asks every 0.25 s and the page every second; the rest is a loaded machine


def row_of(page: Page, digits: str) -> dict[str, str]:
    for record in ui.table_records(ui.dataframe(page, "numbers_table")):
        if any(re.sub(r"\D", "", cell) == digits for cell in record.values()):
            return record
    raise AssertionError(f"no row for {digits}")


def flagged(record: dict[str, str]) -> bool:
    return any("FLAGGED" in cell for cell in record.values()) and any("TIER_1K" in cell for cell in record.values())


def test_a_signed_delivery_changes_an_open_numbers_page_by_itself(page: Page, tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "fleet.db")
    support.fleet_in(tmp_path / "fleet.db").dispose()
    worker = start_cli(url, "worker", log=tmp_path / "worker.log")
    try:
        with running_app(url, tmp_path / "app") as app, receiver_process(url, tmp_path / "receiver.log") as (hook, _):
            ui.open_app(page, f"{app.base_url}/numbers")
            before = row_of(page, "15550783881")
            assert not flagged(before), before

            assert post(hook, DELIVERY).status_code == 200
            deadline = time.monotonic() + LIVE_WITHIN_S
            while not flagged(row_of(page, "15550783881")):
                assert time.monotonic() < deadline, f"still {row_of(page, '15550783881')}"
                page.wait_for_timeout(250)

            ui.expect_no_exception(page)
    finally:
        stop(worker)
