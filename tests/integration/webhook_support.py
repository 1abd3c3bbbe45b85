"""Real servers for the webhook tests: the receiver on a free loopback port (in a thread, or as the CLI's process),
the worker as the CLI's process, and deliveries signed as Meta signs them."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import Engine, select

from core.config import WebhookSettings
from core.db import AuditEntry, WebhookDelivery
from core.inbox import applied_ids
from core.webhook_receiver import PATH, create_app, signature_of

SECRET = "test-app-secret"
TOKEN = "test-verify-token"
SETTINGS = WebhookSettings(app_secret=SECRET, verify_token=TOKEN, max_attempts=3, lease_seconds=2)
REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def receiver_in_thread(engine: Engine, settings: WebhookSettings = SETTINGS, **options: int) -> Iterator[str]:
    """The receiver served by uvicorn in this process; yields the webhook URL."""
    port = free_port()
    config = uvicorn.Config(
        create_app(engine, settings, **options), host="127.0.0.1", port=port, access_log=False, log_level="warning"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    _wait_until_serving(port)
    try:
        yield f"http://127.0.0.1:{port}{PATH}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _wait_until_serving(port: int, process: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the receiver exited with {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError("the receiver did not start within 30 s")


def cli_environment(database_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "META_APP_SECRET": SECRET,
        "META_VERIFY_TOKEN": TOKEN,
        "FLEET_WORKER_LEASE_SECONDS": "2",
        **extra,
    }


def start_cli(database_url: str, *args: str, log: Path) -> subprocess.Popen[bytes]:
    """`python -m core ARGS` in the background, its output into `log`."""
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "core", *args],
            cwd=REPO_ROOT,
            env=cli_environment(database_url),
            stdout=output,
            stderr=subprocess.STDOUT,
        )


@contextmanager
def receiver_process(database_url: str, log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`python -m core serve-webhooks` on a free port; yields its webhook URL and the process."""
    port = free_port()
    process = start_cli(database_url, "serve-webhooks", "--port", str(port), log=log)
    try:
        _wait_until_serving(port, process)
        yield f"http://127.0.0.1:{port}{PATH}", process
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def signed_headers(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {"X-Hub-Signature-256": signature_of(secret, body), "Content-Type": "application/json"}


def post(url: str, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(url, content=body, headers=signed_headers(body) if headers is None else headers, timeout=30)


def stored_bodies(engine: Engine) -> list[bytes]:
    with engine.connect() as connection:
        return list(connection.scalars(select(WebhookDelivery.body).order_by(WebhookDelivery.id)))


def states(engine: Engine) -> dict[int, str]:
    with engine.connect() as connection:
        return dict(connection.execute(select(WebhookDelivery.id, WebhookDelivery.state)).tuples().all())


def applications(engine: Engine) -> dict[int, int]:
    """How many committed worker transactions applied each delivery, from their audit entries."""
    counts: dict[int, int] = {}
    with engine.connect() as connection:
        entries = connection.scalars(select(AuditEntry.after).where(AuditEntry.action == "apply"))
        for after in entries:
            for delivery_id in applied_ids(json.loads(after)["deliveries"]):
                counts[delivery_id] = counts.get(delivery_id, 0) + 1
    return counts
