"""The receiver and worker as the CLI runs them, killed without warning: nothing acknowledged is lost, nothing is
applied twice."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from core import inbox
from core.db import make_engine
from core.migrate import upgrade
from tests.fixtures.meta import support
from tests.integration.webhook_support import (
    applications,
    receiver_process,
    signed_headers,
    start_cli,
    states,
    stop,
    stored_bodies,
)

DAY = [line for line in support.read("webhooks/day_of_deliveries.jsonl").splitlines() if line.strip()]


def variants(count: int) -> list[bytes]:
    """`count` distinct deliveries, each one of the day's envelopes marked with its number."""
    return [DAY[i % len(DAY)].replace(b'"entry": [{', f'"entry": [{{"n": {i}, '.encode(), 1) for i in range(count)]


def wait_until(condition: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture(params=["sqlite", "postgresql"])
def fleet_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        request.applymarker(pytest.mark.postgres)
        url = str(request.getfixturevalue("postgres_url"))
    else:
        url = f"sqlite:///{tmp_path / 'fleet.db'}"
    engine = make_engine(url)
    upgrade(engine)
    support.lucky_shrub_fleet(engine)
    engine.dispose()
    return url


def test_a_worker_killed_mid_drain_leaves_each_delivery_applied_exactly_once_after_restart(
    fleet_url: str, tmp_path: Path
) -> None:
    engine = make_engine(fleet_url)
    received = variants(1200)
    inbox.store_deliveries(engine, received, now=datetime.now(UTC))  # received while no worker ran
    log = tmp_path / "worker.log"
    worker = start_cli(fleet_url, "worker", log=log)
    wait_until(lambda: "applied" in states(engine).values())

    worker.kill()  # SIGKILL: no cleanup, a batch may be open
    worker.wait()
    pending_after_kill = list(states(engine).values()).count("pending")
    restarted = start_cli(fleet_url, "worker", log=log)
    wait_until(lambda: set(states(engine).values()) == {"applied"})
    stop(restarted)

    assert pending_after_kill > 0
    counts = applications(engine)
    assert sorted(counts) == sorted(states(engine))
    assert set(counts.values()) == {1}
    engine.dispose()


def test_a_second_sqlite_worker_waits_and_says_so(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fleet.db'}"
    upgrade(make_engine(url))
    first = start_cli(url, "worker", log=tmp_path / "first.log")
    time.sleep(0.5)
    second = start_cli(url, "worker", log=tmp_path / "second.log")

    wait_until(lambda: "holds the SQLite inbox lease" in (tmp_path / "second.log").read_text(), seconds=30)
    stop(first)  # SIGTERM: the lease is given back, not left to lapse
    wait_until(lambda: "now holds the inbox lease" in (tmp_path / "second.log").read_text(), seconds=30)
    stop(second)

    assert (first.returncode, second.returncode) == (0, 0)
    assert "stopped" in (tmp_path / "first.log").read_text()


def test_every_delivery_acknowledged_before_the_receiver_is_killed_is_in_the_inbox(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    url = sqlite_engine.url.render_as_string(hide_password=False)
    acknowledged: list[bytes] = []
    lock = threading.Lock()
    stopped = threading.Event()

    with receiver_process(url, tmp_path / "receiver.log") as (webhook_url, receiver):

        def send(offset: int) -> None:
            with httpx.Client(timeout=10) as client:
                for body in variants(offset + 4000)[offset:]:
                    if stopped.is_set():
                        return
                    try:
                        response = client.post(webhook_url, content=body, headers=signed_headers(body))
                    except httpx.TransportError:
                        return
                    if response.status_code == 200:
                        with lock:
                            acknowledged.append(body)

        senders = [threading.Thread(target=send, args=(i * 4000,)) for i in range(8)]
        for sender in senders:
            sender.start()
        wait_until(lambda: len(acknowledged) >= 100, seconds=60)
        receiver.kill()  # SIGKILL under load
        receiver.wait()
        stopped.set()
        for sender in senders:
            sender.join()

    stored = set(stored_bodies(sqlite_engine))
    assert len(acknowledged) >= 100
    assert [body for body in acknowledged if body not in stored] == []
