"""Alert latency: from the receiver's acknowledgement of a signed webhook delivery to the alert's e-mail arriving at
a local SMTP server, through `python -m core serve-webhooks` and `python -m core worker` with the default sweep, on
a seeded fleet. Not part of the test suite.

    .venv/bin/python -m benchmarks.alerts_bench [--deliveries 100] [--workspaces 50] [--database-url URL]

Each delivery flags one CONNECTED number (a status_at_risk rule mails ops@example.com); the next delivery is sent
once the previous e-mail has arrived. Reports the median and the maximum. Target: ≤ 60 s.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, select

from benchmarks.webhooks_bench import start, stop, wait_until_serving
from core import alerts, seed
from core.config import AlertSettings
from core.db import PhoneNumber, SubscriptionGroup, Waba, make_engine
from core.migrate import upgrade
from core.model import Actor, Role
from core.webhook_receiver import PATH, signature_of

ROOT = Path(__file__).resolve().parent.parent
SECRET = "benchmark-app-secret"
TARGET_S = 60.0
WAIT_S = 180.0  # give up on one e-mail after this long


class Arrivals:
    """The SMTP server's handler: the time each message arrived."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.changed = threading.Condition()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.changed:
            self.times.append(time.time())
            self.changed.notify_all()
        return "250 OK"

    def wait_beyond(self, count: int) -> float | None:
        """The arrival time of message number `count + 1`, or None when it did not come in time."""
        with self.changed:
            self.changed.wait_for(lambda: len(self.times) > count, timeout=WAIT_S)
            return self.times[count] if len(self.times) > count else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def connected_numbers(engine: Engine, count: int) -> list[tuple[str, str]]:
    """(digits, Meta WABA id) of active CONNECTED numbers."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(PhoneNumber.e164, Waba.meta_waba_id)
            .join(SubscriptionGroup, SubscriptionGroup.phone_number_id == PhoneNumber.id)
            .join(Waba, Waba.id == SubscriptionGroup.waba_id)
            .where(SubscriptionGroup.state == "active", PhoneNumber.status == "CONNECTED")
            .order_by(PhoneNumber.id)
            .limit(count)
        ).all()
    return [(e164.lstrip("+"), waba) for e164, waba in rows]


def flag(digits: str, waba: str) -> bytes:
    entry = {
        "id": waba,
        "time": int(time.time()),
        "changes": [
            {"field": "phone_number_quality_update", "value": {"display_phone_number": digits, "event": "FLAGGED"}}
        ],
    }
    return json.dumps({"object": "whatsapp_business_account", "entry": [entry]}).encode()


def measure(database_url: str, deliveries: int, workspaces: int, workdir: Path) -> list[float]:
    engine = make_engine(database_url)
    upgrade(engine)
    started = time.perf_counter()
    seed.seed(engine, seed.synthetic_shape(workspaces, 10, 20, 30, None))
    print(f"seeded {workspaces} workspaces in {time.perf_counter() - started:.1f} s", flush=True)
    numbers = connected_numbers(engine, deliveries)
    arrivals = Arrivals()
    smtp_port = free_port()
    smtp = Controller(arrivals, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    settings = AlertSettings(smtp_url=f"smtp://127.0.0.1:{smtp_port}")
    alerts.add_rule(
        engine, Actor("benchmark", Role.ADMIN), name="at risk", event="status_at_risk", target="mailto:ops@example.com"
    )
    baseline = alerts.run_pass(engine, datetime.now(UTC), settings)  # the numbers the seed left at risk
    print(f"baseline pass: {baseline}", flush=True)
    time.sleep(1)
    engine.dispose()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "META_APP_SECRET": SECRET,
        "META_VERIFY_TOKEN": "benchmark",
        "FLEET_SMTP_URL": settings.smtp_url,
    }
    port = free_port()
    log = workdir / "processes.log"
    receiver = start(["serve-webhooks", "--port", str(port)], env, log)
    worker = start(["worker"], env, log)
    latencies: list[float] = []
    try:
        wait_until_serving(port)
        url = f"http://127.0.0.1:{port}{PATH}"
        for digits, waba in numbers:
            body = flag(digits, waba)
            seen = len(arrivals.times)
            headers = {"X-Hub-Signature-256": signature_of(SECRET, body), "Content-Type": "application/json"}
            response = httpx.post(url, content=body, headers=headers, timeout=30)
            acknowledged = time.time()
            response.raise_for_status()
            arrived = arrivals.wait_beyond(seen)
            if arrived is None:
                raise RuntimeError(f"no e-mail within {WAIT_S:.0f} s; see {log}")
            latencies.append(arrived - acknowledged)
    finally:
        stop(worker)
        stop(receiver)
        smtp.stop()
    return latencies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.alerts_bench", description=__doc__)
    parser.add_argument("--deliveries", type=int, default=100)
    parser.add_argument("--workspaces", type=int, default=50, help="workspaces of 10 WABAs × 20 numbers each")
    parser.add_argument("--database-url", help="default: a new SQLite file in a temporary folder")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="alerts-bench-") as folder:
        workdir = Path(folder)
        url = args.database_url or f"sqlite:///{workdir / 'fleet.db'}"
        latencies = measure(url, args.deliveries, args.workspaces, workdir)
    median, worst = statistics.median(latencies), max(latencies)
    verdict = "met" if worst <= TARGET_S else "MISSED"
    print(
        f"webhook acknowledged → alert e-mail received, {len(latencies)} deliveries: median {median * 1000:.0f} ms, "
        f"max {worst * 1000:.0f} ms (target ≤ {TARGET_S:.0f} s: {verdict}); load {os.getloadavg()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
