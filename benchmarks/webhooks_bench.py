"""Webhook load: signed deliveries sent on loopback to one receiver (`python -m core serve-webhooks`) with one worker
(`python -m core worker`) draining the inbox, on SQLite and on PostgreSQL. Not part of the test suite.

    .venv/bin/python -m benchmarks.webhooks_bench [--databases sqlite,postgresql] [--deliveries 20000]
    .venv/bin/python -m benchmarks --only webhooks     # the same, on the benchmark's seeded fleet

Reports deliveries acknowledged per second, p50/p99 acknowledgement latency, the time from the last acknowledgement
until every delivery is applied, and how many acknowledged deliveries were lost or applied twice.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, func, select

from core import seed
from core.db import AuditEntry, MessageTemplate, PhoneNumber, SubscriptionGroup, Waba, WebhookDelivery, make_engine
from core.inbox import applied_ids, digest_of
from core.migrate import upgrade
from core.webhook_receiver import PATH, signature_of

ROOT = Path(__file__).resolve().parent.parent
SECRET = "benchmark-app-secret"
APPLIED_WITHIN_S = 600  # give up waiting for the worker after this long
# The mix of a management-fields subscription, plus message statuses a broader subscription would bring.
MIX = {"quality": 0.35, "name": 0.10, "account": 0.05, "template": 0.20, "statuses": 0.30}
TARGETS = "PostgreSQL: ≥ 500/s acknowledged, p99 < 250 ms, all applied ≤ 60 s after the last, 0 lost, 0 twice"


@dataclass(frozen=True)
class Fleet:
    numbers: list[tuple[str, str]]  # (digits of the number, Meta WABA id)
    templates: list[tuple[str, str, str]]  # (Meta WABA id, name, language)
    wabas: list[str]


@dataclass
class Outcome:
    database: str
    deliveries: int
    concurrency: int
    sent_seconds: float
    acknowledged: int
    refused: int
    p50_ms: float
    p99_ms: float
    applied_after_last_s: float
    lost: int
    applied_twice: int
    load_average: tuple[float, float, float]

    @property
    def per_second(self) -> float:
        return self.acknowledged / self.sent_seconds

    def line(self) -> str:
        return (
            f"  {self.database:<10} {self.deliveries:,} deliveries at concurrency {self.concurrency}: "
            f"{self.per_second:,.0f}/s acknowledged, p50 {self.p50_ms:.0f} ms, p99 {self.p99_ms:.0f} ms, "
            f"all applied {self.applied_after_last_s:.1f} s after the last, {self.lost} lost, "
            f"{self.applied_twice} applied twice, {self.refused} refused; load {self.load_average}"
        )


# --- the deliveries ------------------------------------------------------------------------------------------


def fleet_of(engine: Engine) -> Fleet:
    with engine.connect() as connection:
        numbers = connection.execute(
            select(PhoneNumber.e164, Waba.meta_waba_id)
            .join(SubscriptionGroup, SubscriptionGroup.phone_number_id == PhoneNumber.id)
            .join(Waba, Waba.id == SubscriptionGroup.waba_id)
            .where(SubscriptionGroup.state == "active")
        ).all()
        templates = connection.execute(
            select(Waba.meta_waba_id, MessageTemplate.name, MessageTemplate.language).join(
                Waba, Waba.id == MessageTemplate.waba_id
            )
        ).all()
    return Fleet(
        [(e164.lstrip("+"), waba) for e164, waba in numbers],
        [tuple(row) for row in templates],  # type: ignore[misc]
        sorted({waba for _, waba in numbers}),
    )


def deliveries(fleet: Fleet, count: int, *, seed_value: int = 17) -> list[bytes]:
    """`count` distinct signed-to-be envelopes in the MIX, each entry one second after the previous."""
    rng = random.Random(seed_value)
    kinds, weights = list(MIX), list(MIX.values())
    start = int(time.time()) - count
    return [_envelope(rng.choices(kinds, weights)[0], fleet, rng, start + i) for i in range(count)]


def _envelope(kind: str, fleet: Fleet, rng: random.Random, at: int) -> bytes:
    digits, waba = rng.choice(fleet.numbers)
    value: dict[str, Any]
    if kind == "quality":
        event = rng.choice(["FLAGGED", "UNFLAGGED", "DOWNGRADE", "UPGRADE"])
        tier = rng.choice(["TIER_1K", "TIER_10K", "TIER_100K"])
        field, value = (
            "phone_number_quality_update",
            {
                "display_phone_number": digits,
                "event": event,
                "current_limit": tier,
            },
        )
    elif kind == "name":
        field, value = (
            "phone_number_name_update",
            {
                "display_phone_number": digits,
                "decision": rng.choice(["APPROVED", "PENDING", "REJECTED"]),
                "requested_verified_name": f"Brand {rng.randrange(1000)}",
                "rejection_reason": None,
            },
        )
    elif kind == "account":
        waba = rng.choice(fleet.wabas)
        field, value = (
            "account_update",
            {
                "event": "DISABLED_UPDATE",
                "ban_info": {"waba_ban_state": rng.choice(["DISABLE", "REINSTATE"]), "waba_ban_date": "2026-12-01"},
            },
        )
    elif kind == "template" and fleet.templates:
        waba, name, language = rng.choice(fleet.templates)
        field, value = (
            "message_template_status_update",
            {
                "event": rng.choice(["APPROVED", "PAUSED", "REJECTED"]),
                "message_template_id": None,
                "message_template_name": name,
                "message_template_language": language,
                "reason": None,
            },
        )
    else:
        field, value = (
            "messages",
            {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": digits},
                "statuses": [{"id": f"wamid.{at}", "status": "delivered", "timestamp": str(at)}],
            },
        )
    change = {"field": field, "value": value}
    return json.dumps(
        {"object": "whatsapp_business_account", "entry": [{"id": waba, "time": at, "changes": [change]}]}
    ).encode()


# --- the processes ---------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`python -m core ARGS` in the background, its output appended to LOG."""
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "core", *args], cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_until_serving(port: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("the receiver did not start")


# --- the load ------------------------------------------------------------------------------------------------


async def _send_all(port: int, bodies: list[bytes], concurrency: int) -> tuple[list[float], list[bytes], int]:
    """Send every body over `concurrency` keep-alive connections; latencies of the 200s, the bodies acknowledged.

    A bare HTTP/1.1 client on asyncio streams: a general-purpose client costs more CPU per request than the
    receiver under test, on the same two cores."""
    queue = list(reversed(bodies))
    latencies: list[float] = []
    acknowledged: list[bytes] = []
    refused = 0

    async def connection() -> None:
        nonlocal refused
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while queue:
                body = queue.pop()
                head = (
                    f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    f"X-Hub-Signature-256: {signature_of(SECRET, body)}\r\nContent-Length: {len(body)}\r\n\r\n"
                )
                started = time.perf_counter()
                writer.write(head.encode() + body)
                status = int((await reader.readline()).split()[1])
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.partition(b":")
                    if name.lower() == b"content-length":
                        length = int(value)
                await reader.readexactly(length)
                if status == 200:
                    latencies.append(time.perf_counter() - started)
                    acknowledged.append(body)
                else:
                    refused += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(concurrency)))
    return latencies, acknowledged, refused


def measure(database: str, url: str, engine: Engine, workdir: Path, count: int, concurrency: int) -> Outcome:
    """Send `count` deliveries to a fresh receiver and worker on the fleet at `url`; wait until all are applied."""
    bodies = deliveries(fleet_of(engine), count)
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "META_APP_SECRET": SECRET, "META_VERIFY_TOKEN": "benchmark"}
    receiver = start(["serve-webhooks", "--port", str(port)], env, workdir / "receiver.log")
    worker = start(["worker"], env, workdir / "worker.log")
    try:
        wait_until_serving(port)
        started = time.perf_counter()
        latencies, acknowledged, refused = asyncio.run(_send_all(port, bodies, concurrency))
        sent = time.perf_counter() - started
        applied_after = _wait_applied(engine)
    finally:
        stop(receiver)
        stop(worker)
    lost, twice = _lost_and_twice(engine, acknowledged)
    latencies.sort()
    return Outcome(
        database,
        count,
        concurrency,
        sent,
        len(acknowledged),
        refused,
        statistics.median(latencies) * 1000,
        latencies[int(len(latencies) * 0.99) - 1] * 1000,
        applied_after,
        lost,
        twice,
        tuple(round(load, 2) for load in os.getloadavg()),  # type: ignore[arg-type]
    )


def _wait_applied(engine: Engine) -> float:
    """Seconds from now (the last acknowledgement) until no delivery is waiting."""
    started = time.perf_counter()
    while time.perf_counter() - started < APPLIED_WITHIN_S:
        with engine.connect() as connection:
            waiting = connection.scalar(
                select(func.count()).select_from(WebhookDelivery).where(WebhookDelivery.state == "pending")
            )
        if not waiting:
            return time.perf_counter() - started
        time.sleep(0.1)
    return float("inf")


def _lost_and_twice(engine: Engine, acknowledged: list[bytes]) -> tuple[int, int]:
    """Acknowledged deliveries not applied, and deliveries applied by more than one worker transaction."""
    with engine.connect() as connection:
        applied = {
            digest: delivery_id
            for delivery_id, digest in connection.execute(
                select(WebhookDelivery.id, WebhookDelivery.digest).where(WebhookDelivery.state == "applied")
            )
        }
        entries = connection.scalars(select(AuditEntry.after).where(AuditEntry.action == "apply"))
        applications = Counter(i for after in entries for i in applied_ids(json.loads(after or "{}")["deliveries"]))
    lost = sum(1 for body in acknowledged if digest_of(body) not in applied)
    twice = sum(1 for count in applications.values() if count > 1)
    return lost, twice


# --- standalone run ------------------------------------------------------------------------------------------


def _database(kind: str, workdir: Path) -> tuple[str, Any]:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'fleet.db'}", None
    import pgserver
    from sqlalchemy import create_engine, make_url, text

    server = pgserver.get_server(workdir / "pgdata", cleanup_mode="stop")
    server_url = make_url(server.get_uri()).set(drivername="postgresql+psycopg")
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text('CREATE DATABASE "webhooks_bench"'))
    admin.dispose()
    return server_url.set(database="webhooks_bench").render_as_string(hide_password=False), server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.webhooks_bench", description=__doc__)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--deliveries", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workspaces", type=int, default=5, help="fleet: workspaces of 10 WABAs × 20 numbers")
    args = parser.parse_args(argv)
    print(f"targets: {TARGETS}")
    for kind in [k.strip() for k in args.databases.split(",") if k.strip()]:
        with tempfile.TemporaryDirectory() as tmp:
            url, server = _database(kind, Path(tmp))
            try:
                engine = make_engine(url)
                upgrade(engine)
                seed.seed(engine, seed.synthetic_shape(args.workspaces, 10, 20, 10))
                print(measure(kind, url, engine, Path(tmp), args.deliveries, args.concurrency).line(), flush=True)
                engine.dispose()
            finally:
                if server is not None:
                    server.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
