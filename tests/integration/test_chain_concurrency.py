"""Writers racing on PostgreSQL append to the audit chain and to one number's chain one after the other: no fork,
no deadlock, and services and imports racing with them leave every chain whole."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from core import chains, imports, integrity, services
from core.db import write_session
from tests.builders import ADMIN
from tests.fixtures.meta import support

pytestmark = pytest.mark.postgres

WRITERS = 6
ROUNDS = 8
START = datetime(2025, 3, 1, tzinfo=UTC)


def append_racing(engine: Engine, number_id: int, writer: int, barrier: threading.Barrier) -> None:
    """Units of work that write only chained rows (no data version to queue on), started together each round."""
    for round_ in range(ROUNDS):
        at = START + timedelta(minutes=round_, seconds=writer)
        barrier.wait()
        with write_session(engine, changes_fleet=False) as session:
            chains.defer_snapshots(
                session,
                [
                    {
                        "phone_number_id": number_id,
                        "recorded_at": at,
                        "quality_rating": ("GREEN", "YELLOW", "RED")[(writer + round_) % 3],
                        "messaging_limit_tier": "TIER_1K",
                        "status": "CONNECTED",
                        "source": f"writer {writer}",
                    }
                ],
            )
            chains.defer_audit(
                session,
                [
                    {
                        "at": at,
                        "actor": f"writer {writer}",
                        "action": "update",
                        "object_type": "phone_number",
                        "object_key": support.FR_MAIN,
                        "before": None,
                        "after": None,
                    }
                ],
            )


def test_racing_appenders_queue_on_the_chain_heads(postgres_engine: Engine) -> None:
    support.lucky_shrub_fleet(postgres_engine)
    with postgres_engine.connect() as connection:
        number_id = connection.scalar(text("SELECT id FROM phone_numbers WHERE e164 = :e"), {"e": support.FR_MAIN})
        audit_before = connection.scalar(text("SELECT count(*) FROM audit_log")) or 0
    barrier = threading.Barrier(WRITERS)

    with ThreadPoolExecutor(WRITERS) as pool:
        for future in [pool.submit(append_racing, postgres_engine, number_id, w, barrier) for w in range(WRITERS)]:
            future.result()

    with postgres_engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM audit_log")) == audit_before + WRITERS * ROUNDS
        assert chains.find_breaks(connection) == []


def test_services_and_imports_racing_leave_every_chain_whole(postgres_engine: Engine) -> None:
    support.lucky_shrub_fleet(postgres_engine)
    webhook = support.request("webhook", "webhooks/quality_flagged.json")

    def health(index: int) -> None:
        changes = {"quality_rating": ("GREEN", "YELLOW", "RED")[index % 3]}
        services.update_number_health(postgres_engine, ADMIN, phone=support.FR_MAIN, changes=changes)

    def workspace(index: int) -> None:
        services.add_workspace(postgres_engine, ADMIN, f"Racing {index}")

    def webhook_import(index: int) -> None:
        imports.run_import(postgres_engine, ADMIN, webhook)

    with ThreadPoolExecutor(WRITERS) as pool:
        futures = [pool.submit(job, i) for i in range(ROUNDS) for job in (health, workspace, webhook_import)]
        for future in futures:
            future.result()

    assert integrity.find_violations(postgres_engine) == []
