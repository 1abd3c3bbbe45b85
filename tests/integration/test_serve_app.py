"""`python -m core serve-app`: refuses before listening (local mode in the open, an old schema it may not migrate),
otherwise runs the app, which then answers its health check."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from core.config import PROJECT_ROOT
from tests.e2e.fleet_app import free_port
from tests.integration.test_cli import assert_refused, run_cli


def test_local_mode_on_every_interface_is_refused_before_streamlit_starts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fleet.db'}"
    no_secrets = tmp_path / "secrets.toml"
    no_secrets.write_text("")

    result = run_cli(url, "serve-app", "--server.address", "0.0.0.0", "--secrets.files", str(no_secrets))

    assert_refused(result, "will not serve address 0.0.0.0 in local mode", "[auth]", "127.0.0.1")
    assert not (tmp_path / "fleet.db").exists() or (tmp_path / "fleet.db").stat().st_size == 0


def test_an_address_from_the_environment_is_refused_too(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fleet.db'}"

    result = run_cli(url, "serve-app", STREAMLIT_SERVER_ADDRESS="0.0.0.0", STREAMLIT_SECRETS_FILES=os.devnull)

    assert_refused(result, "will not serve address 0.0.0.0")


def test_a_replica_that_does_not_migrate_refuses_an_empty_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fleet.db'}"

    result = run_cli(url, "serve-app", "--server.address", "127.0.0.1", FLEET_AUTO_MIGRATE="0")

    assert_refused(result, "FLEET_AUTO_MIGRATE=0", "python -m core db upgrade")


def test_on_loopback_it_migrates_then_runs_the_app(tmp_path: Path) -> None:
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("FLEET_", "STREAMLIT_"))}
    environment["DATABASE_URL"] = f"sqlite:///{tmp_path / 'fleet.db'}"
    log = tmp_path / "app.log"
    command = [sys.executable, "-m", "core", "serve-app", "--server.port", str(port), "--server.headless", "true"]

    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        healthy = _wait_healthy(f"http://127.0.0.1:{port}/_stcore/health", process)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)

    assert healthy, log.read_text()
    assert "upgraded from (empty)" in log.read_text()


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 90) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with opener.open(url, timeout=2) as response:
                return response.status == 200
        except OSError:
            time.sleep(0.3)
    return False
