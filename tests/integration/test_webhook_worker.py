"""The inbox worker on SQLite and PostgreSQL: deliveries applied once, in any order, failures kept and retried,
other fields skipped cheaply, applied deliveries pruned, one SQLite worker at a time, PostgreSQL workers sharing."""

from __future__ import annotations

import json
import logging
import random
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from core import inbox
from core.db import AuditEntry, NumberHealthSnapshot, WebhookDelivery, data_version, make_engine
from core.errors import NotFound, PermissionDenied
from core.reads.live_sync import inbox_counts, troubled_deliveries_table, waba_activity_table
from tests.builders import ADMIN, VIEWER
from tests.fixtures.meta import support
from tests.integration.webhook_support import applications, post, receiver_in_thread, states

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
DAY = [line for line in support.read("webhooks/day_of_deliveries.jsonl").splitlines() if line.strip()]
STATUSES = (
    b'{"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", '
    b'"value": {"messaging_product": "whatsapp", "statuses": [{"id": "wamid.1", "status": "delivered"}]}}]}]}'
)
BROKEN = (
    b'{"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "time": 1743451903, "changes": '
    b'[{"field": "phone_number_quality_update", "value": "FLAGGED"}]}]}'
)
STATE_TABLES = ("phone_numbers", "wabas", "portfolios", "message_templates", "field_event_times")


def store(engine: Engine, *bodies: bytes, now: datetime = NOW) -> None:
    for body in bodies:
        inbox.store_delivery(engine, body, now=now)


def drain(engine: Engine, *, batch_size: int = inbox.BATCH_SIZE, now: datetime = NOW) -> list[inbox.BatchResult]:
    results = []
    while True:
        result = inbox.apply_due(engine, now=now, max_attempts=3, batch_size=batch_size)
        if not result.handled:
            return results
        results.append(result)


def fleet_state(engine: Engine) -> dict[str, Any]:
    """What the fleet looks like: current values and clocks, and the history (without ids and sources)."""
    dump = support.dump(engine)
    with engine.connect() as connection:
        history = sorted(
            connection.execute(
                select(
                    NumberHealthSnapshot.phone_number_id,
                    NumberHealthSnapshot.recorded_at,
                    NumberHealthSnapshot.quality_rating,
                    NumberHealthSnapshot.messaging_limit_tier,
                    NumberHealthSnapshot.status,
                )
            ).tuples()
        )
    return {**{name: dump[name] for name in STATE_TABLES}, "history": history}


@pytest.fixture
def fleet(engine: Engine) -> Engine:
    support.lucky_shrub_fleet(engine)
    return engine


def test_deliveries_are_applied_and_marked_applied_in_the_same_transaction(fleet: Engine) -> None:
    store(fleet, support.read("webhooks/quality_flagged.json"))
    version = data_version(fleet)

    results = drain(fleet)

    assert [r.applied for r in results] == [[1]]
    assert results[0].wrote
    assert states(fleet) == {1: "applied"}
    assert applications(fleet) == {1: 1}
    assert data_version(fleet) == version + 1


@pytest.mark.parametrize("batch_size", [1, 5, 200])
def test_shuffled_and_replayed_deliveries_end_in_the_state_of_in_order_delivery(
    fleet: Engine, tmp_path: Path, batch_size: int
) -> None:
    in_order = support.fleet_in(tmp_path / "in_order.db")
    store(in_order, *DAY)
    drain(in_order, batch_size=batch_size)
    shuffled = list(DAY) + [line + b" " for line in DAY]  # each delivered twice, the replay's bytes differ slightly
    random.Random(batch_size).shuffle(shuffled)

    store(fleet, *shuffled)
    drain(fleet, batch_size=batch_size)

    assert fleet_state(fleet) == fleet_state(in_order)
    assert set(states(fleet).values()) == {"applied"}


def test_deliveries_posted_shuffled_and_twice_end_in_the_state_of_in_order_delivery(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    now = datetime.now(UTC) + timedelta(minutes=1)  # after the receiver stores them (at the current time)
    in_order = support.fleet_in(tmp_path / "in_order.db")
    store(in_order, *DAY)
    drain(in_order, now=now)
    support.lucky_shrub_fleet(sqlite_engine)
    posted = list(DAY) * 2
    random.Random(7).shuffle(posted)

    with receiver_in_thread(sqlite_engine) as url:
        statuses = [post(url, body).status_code for body in posted]
    drain(sqlite_engine, batch_size=3, now=now)

    assert set(statuses) == {200}
    assert len(states(sqlite_engine)) == len(set(DAY))
    assert fleet_state(sqlite_engine) == fleet_state(in_order)


def test_deliveries_of_other_fields_are_acknowledged_without_an_import(fleet: Engine) -> None:
    store(fleet, STATUSES)
    version = data_version(fleet)

    results = drain(fleet)

    assert results[0].applied == [1]
    assert not results[0].wrote
    assert applications(fleet) == {1: 1}
    with fleet.connect() as connection:
        assert connection.scalar(select(AuditEntry.id).where(AuditEntry.object_key.like("webhook: %"))) is None
    assert data_version(fleet) == version


def test_a_broken_delivery_is_kept_with_its_error_and_the_others_are_applied(fleet: Engine) -> None:
    store(fleet, DAY[0], b'{"object": "whatsapp_business_account", "entry": [{"id": "1", "time": 1', DAY[1])

    drain(fleet)

    assert states(fleet) == {1: "applied", 2: "pending", 3: "applied"}
    with fleet.connect() as connection:
        broken = connection.execute(select(WebhookDelivery).where(WebhookDelivery.id == 2)).one()
    assert broken.attempts == 1
    assert "not JSON" in broken.last_error
    assert broken.next_attempt_at.replace(tzinfo=UTC) == NOW + inbox.retry_delay(1)
    counts = inbox_counts(fleet)
    assert (counts.received, counts.applied, counts.pending, counts.retrying, counts.failed) == (3, 2, 1, 1, 0)
    assert counts.oldest_pending == NOW


def test_a_delivery_failing_every_attempt_is_failed_and_an_admin_puts_it_back(fleet: Engine) -> None:
    store(fleet, BROKEN)
    now = NOW
    for _ in range(3):
        drain(fleet, now=now)
        now += timedelta(hours=2)

    failed = troubled_deliveries_table(fleet)
    assert states(fleet) == {1: "failed"}
    assert failed[["delivery", "attempts", "state"]].values.tolist() == [[1, 3, "failed"]]
    assert "field 'value' must be an object" in failed["last_error"][0]
    assert inbox_counts(fleet).failed == 1
    with pytest.raises(PermissionDenied):
        inbox.retry_delivery(fleet, VIEWER, 1)

    inbox.retry_delivery(fleet, ADMIN, 1, now=now)

    assert states(fleet) == {1: "pending"}
    with fleet.connect() as connection:
        assert connection.scalar(select(AuditEntry.object_key).where(AuditEntry.action == "retry")) == "1"


def test_an_applied_delivery_cannot_be_retried(fleet: Engine) -> None:
    store(fleet, DAY[0])
    drain(fleet)

    with pytest.raises(NotFound, match="delivery 1"):
        inbox.retry_delivery(fleet, ADMIN, 1)


def test_applied_deliveries_past_retention_are_pruned_the_others_kept(fleet: Engine) -> None:
    store(fleet, DAY[0], DAY[1], now=NOW - timedelta(days=40))
    drain(fleet, now=NOW - timedelta(days=40))
    store(fleet, DAY[2], now=NOW - timedelta(days=1))
    drain(fleet, now=NOW - timedelta(days=1))
    store(fleet, b"not json", now=NOW - timedelta(days=40))

    removed = inbox.prune_applied(fleet, now=NOW, retention_days=30, chunk=1)

    assert removed == 2
    assert states(fleet) == {3: "applied", 4: "pending"}


def test_each_waba_keeps_its_latest_event_time(fleet: Engine) -> None:
    store(fleet, *DAY)

    drain(fleet, batch_size=4)

    table = waba_activity_table(fleet)
    activity = dict(zip(table["meta_waba_id"], table["last_event_at"], strict=True))
    assert activity[support.WABA_US] == max(
        datetime.fromtimestamp(e["time"], UTC)
        for line in DAY
        for e in json.loads(line)["entry"]
        if e["id"] == support.WABA_US
    )


def test_one_sqlite_worker_holds_the_inbox_lease_until_it_expires(sqlite_engine: Engine) -> None:
    first = inbox.hold_lease(sqlite_engine, "host:1", now=NOW, seconds=30)
    second = inbox.hold_lease(sqlite_engine, "host:2", now=NOW + timedelta(seconds=10), seconds=30)
    renewed = inbox.hold_lease(sqlite_engine, "host:1", now=NOW + timedelta(seconds=20), seconds=30)
    still_held = inbox.hold_lease(sqlite_engine, "host:2", now=NOW + timedelta(seconds=45), seconds=30)
    taken_over = inbox.hold_lease(sqlite_engine, "host:2", now=NOW + timedelta(seconds=51), seconds=30)

    assert first is None
    assert second == "host:1 until 09:00:30 UTC"
    assert renewed is None
    assert still_held is not None
    assert taken_over is None


@pytest.mark.postgres
def test_two_postgresql_workers_apply_each_delivery_once(postgres_engine: Engine) -> None:
    support.lucky_shrub_fleet(postgres_engine)
    bodies = [line.replace(b'"entry": [{', f'"entry": [{{"n": {i}, '.encode(), 1) for i in range(60) for line in DAY]
    store(postgres_engine, *bodies)
    second = make_engine(postgres_engine.url.render_as_string(hide_password=False))
    handled: list[list[int]] = [[], []]

    def work(engine: Engine, index: int) -> None:
        for result in drain(engine, batch_size=7):
            handled[index] += result.applied

    workers = [threading.Thread(target=work, args=(e, i)) for i, e in enumerate((postgres_engine, second))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    second.dispose()

    assert len(states(postgres_engine)) == len(set(bodies))
    assert sorted(handled[0] + handled[1]) == sorted(states(postgres_engine))
    assert handled[0]
    assert handled[1]
    assert set(applications(postgres_engine).values()) == {1}
    assert set(states(postgres_engine).values()) == {"applied"}


def test_a_value_meta_added_is_applied_and_logged_by_the_worker(
    fleet: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    store(fleet, DAY[0].replace(b'"UNFLAGGED"', b'"SPAM_RISK_REVIEW"'))
    caplog.set_level(logging.WARNING, logger="fleet.worker")

    drain(fleet)

    assert states(fleet) == {1: "applied"}
    assert any("SPAM_RISK_REVIEW" in record.getMessage() for record in caplog.records)
