"""What Meta reports beyond quality and limits reaches the pages: restrictions and the last Graph sync on Accounts,
whether a number can send on Numbers, a template's reason on Templates."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import Engine

from core import imports
from core.db import SyncRun, write_session
from tests.app.ui import exceptions, select_row, table
from tests.builders import ADMIN
from tests.fixtures.meta import support

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def meta_reports(engine: Engine) -> None:
    support.lucky_shrub_fleet(engine)
    for name in ("webhooks/account_restriction.json", "webhooks/template_paused.json"):
        imports.run_import(engine, ADMIN, support.request("webhook", name), now=NOW)
    blocked = {"display_phone_number": "+1 555-078-3881", "health_status": {"can_send_message": "BLOCKED"}}
    limited = {
        "display_phone_number": "+1 555-016-7350",
        "health_status": {
            "can_send_message": "LIMITED",
            "entities": [
                {
                    "entity_type": "WABA",
                    "id": support.WABA_US,
                    "can_send_message": "LIMITED",
                    "errors": [
                        {"error_code": 141006, "error_description": "There is an error with the payment method."}
                    ],
                }
            ],
        },
    }
    listing = json.dumps({"data": [blocked, limited]}).encode()
    imports.run_import(engine, ADMIN, imports.ImportRequest("meta-numbers", listing, "l.json", waba=support.WABA_US))
    with write_session(engine) as session:
        session.add(SyncRun(meta_waba_id=support.WABA_US, started_at=NOW, finished_at=NOW, outcome="updated"))


def test_accounts_shows_restrictions_and_the_last_sync_of_each_waba(empty_db: Engine, open_page) -> None:
    meta_reports(empty_db)

    at = open_page("accounts.py")

    assert exceptions(at) == []
    wabas = table(at, "accounts_wabas").set_index("waba_id")
    assert "RESTRICTED_BIZ_INITIATED_MESSAGING" in wabas.loc[support.WABA_US, "restrictions"]
    assert wabas.loc[support.WABA_US, "last_sync_outcome"] == "updated"


def test_numbers_shows_whether_a_number_can_send(empty_db: Engine, open_page) -> None:
    meta_reports(empty_db)

    at = open_page("numbers.py")

    numbers = table(at, "numbers_table").set_index("phone_e164")
    assert numbers.loc[support.US_MAIN, "health_status"] == "BLOCKED"


def test_templates_shows_why_a_template_was_paused(empty_db: Engine, open_page) -> None:
    meta_reports(empty_db)

    at = open_page("templates.py")

    templates = table(at, "templates_table").set_index("template")
    assert templates.loc["welcome_template", "status_reason"] == "LOW_QUALITY"


def test_a_number_s_detail_names_what_limits_it(empty_db: Engine, open_page) -> None:
    meta_reports(empty_db)
    at = open_page("numbers.py")
    row = list(table(at, "numbers_table")["phone_e164"]).index(support.US_SUPPORT)

    at = select_row(at, "numbers_table", row)

    assert exceptions(at) == []
    assert any("141006 — There is an error with the payment method." in w.value for w in at.warning)
