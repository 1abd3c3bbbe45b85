"""The worker's loop: hooks after each batch that changed the fleet, periodic jobs on their interval, a failing job
logged without stopping the inbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import Engine

from core import inbox, worker
from core.config import WebhookSettings
from tests.fixtures.meta import support
from tests.integration.webhook_support import states

SETTINGS = WebhookSettings(app_secret="s", verify_token="t", max_attempts=3, lease_seconds=30)
FLAGGED = support.read("webhooks/quality_flagged.json")
STATUSES = (
    b'{"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", '
    b'"value": {"statuses": [{"id": "wamid.1", "status": "read"}]}}]}]}'
)


@pytest.fixture
def hooks() -> Iterator[list[object]]:
    """What the registered hooks saw; the registries are put back afterwards."""
    seen: list[object] = []
    saved_after, saved_periodic = list(worker.AFTER_APPLY), list(worker.PERIODIC)
    worker.AFTER_APPLY[:] = [lambda engine, result: seen.append(("after", tuple(result.applied)))]
    worker.PERIODIC[:] = [worker.Periodic("tick", 3600, lambda engine, now: seen.append(("tick", type(now))))]
    yield seen
    worker.AFTER_APPLY[:], worker.PERIODIC[:] = saved_after, saved_periodic


def one_pass(engine: Engine, body: bytes, running: worker.Worker) -> None:
    inbox.store_delivery(engine, body, now=datetime.now().astimezone())
    running._pass()


def test_hooks_run_after_a_batch_that_changed_the_fleet_and_periodic_jobs_on_their_interval(
    sqlite_engine: Engine, hooks: list[object]
) -> None:
    support.lucky_shrub_fleet(sqlite_engine)
    running = worker.Worker(sqlite_engine, SETTINGS)

    one_pass(sqlite_engine, FLAGGED, running)
    one_pass(sqlite_engine, STATUSES, running)

    assert states(sqlite_engine) == {1: "applied", 2: "applied"}
    assert hooks == [("after", (1,)), ("tick", datetime)]


def test_a_failing_hook_is_logged_and_the_worker_goes_on(
    sqlite_engine: Engine, hooks: list[object], caplog: pytest.LogCaptureFixture
) -> None:
    support.lucky_shrub_fleet(sqlite_engine)

    def broken(engine: Engine, result: inbox.BatchResult) -> None:
        raise RuntimeError("chat target down")

    worker.AFTER_APPLY.insert(0, broken)
    running = worker.Worker(sqlite_engine, SETTINGS)

    one_pass(sqlite_engine, FLAGGED, running)
    one_pass(sqlite_engine, support.read("webhooks/quality_unflagged.json"), running)

    assert states(sqlite_engine) == {1: "applied", 2: "applied"}
    assert ("after", (2,)) in hooks
    assert "chat target down" in caplog.text
