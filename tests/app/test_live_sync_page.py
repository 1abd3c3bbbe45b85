"""Live sync page (admins): the inbox's counts, each WABA's latest event, failed deliveries and their retry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from core import inbox
from core.db import WebhookDelivery
from tests.app.ui import button, exceptions, shown_text, table, texts

NOW = datetime.now(UTC)
QUALITY = (
    b'{"object": "whatsapp_business_account", "entry": [{"id": "%s", "time": 1743451903, "changes": [{"field": '
    b'"phone_number_quality_update", "value": {"display_phone_number": "15550783881", "event": "FLAGGED"}}]}]}'
)
BROKEN = b'{"object": "whatsapp_business_account", "entry": [{"id": "1", "time": 1, "changes": [{"field": "x"'


def with_deliveries(engine, waba_id: str) -> None:
    """One applied delivery for `waba_id`, one that failed every attempt."""
    inbox.store_delivery(engine, QUALITY % waba_id.encode(), now=NOW)
    inbox.store_delivery(engine, BROKEN, now=NOW)
    for attempt in range(3):
        inbox.apply_due(engine, now=NOW + timedelta(hours=2 * attempt), max_attempts=3)


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_an_empty_inbox_says_how_to_start(demo_db, open_page):
    at = open_page("live_sync.py")

    assert exceptions(at) == []
    assert metric(at, "Received") == "0"
    assert "python -m core serve-webhooks" in shown_text(at)


def test_counts_latest_event_per_waba_and_failures_are_shown(demo_db, open_page):
    waba = table_waba(demo_db)
    with_deliveries(demo_db, waba)

    at = open_page("live_sync.py")

    assert (metric(at, "Received"), metric(at, "Applied"), metric(at, "Failed")) == ("2", "1", "1")
    activity = table(at, "live_sync_wabas")
    assert activity["meta_waba_id"].tolist() == [waba]
    assert activity["waba"].notna().all()
    failed = table(at, "live_sync_failed")
    assert failed["delivery"].tolist() == [2]
    assert "not JSON" in failed["last_error"][0]


def test_an_admin_inspects_and_retries_a_failed_delivery(demo_db, open_page):
    with_deliveries(demo_db, table_waba(demo_db))
    at = open_page("live_sync.py")

    at.selectbox(key="retry_delivery_id").select(2).run()
    shown_body = at.code[0].value
    button(at, "Retry now").click().run()

    assert shown_body == BROKEN.decode()

    assert exceptions(at) == []
    with demo_db.connect() as connection:
        assert connection.scalar(select(WebhookDelivery.state).where(WebhookDelivery.id == 2)) == "pending"
    assert metric(at, "Failed") == "0"
    assert texts(at.get_by_key("outcome_retry_delivery").success) == [
        "Delivery 2 is waiting again; the worker applies it on its next pass."
    ]


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_readers_have_no_live_sync_page(demo_db, open_page, role):
    at = open_page(role=role)

    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/live_sync.py")


def table_waba(engine) -> str:
    from core.reads.accounts import wabas_table

    return str(wabas_table(engine)["waba_id"].iloc[0])
