"""Running the real app for browser tests: `streamlit run app.py` on a free port against a given database."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PORT_ATTEMPTS = 3
PR_SET_PDEATHSIG = 1  # prctl option, from <linux/prctl.h>
STARTUP_TIMEOUT_S = 90.0  # a loaded 2-core machine with another test worker: Streamlit's first start is slow
# Settings of the developer's shell that would change what the app under test shows.
APP_ENVIRONMENT_OVERRIDES = ("DATABASE_URL", "FLEET_USER", "FLEET_LOCAL_ROLE", "FLEET_MAX_IMPORT_BYTES")


@dataclass(frozen=True)
class RunningApp:
    base_url: str
    database_url: str
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


# The secrets file's TOML, or a function of the app's address giving it (an [auth] redirect_uri names the port).
Secrets = str | Callable[[str], str]


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def app_environment(database_url: str, **settings: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name not in APP_ENVIRONMENT_OVERRIDES}
    env.update(DATABASE_URL=database_url, PYTHONUNBUFFERED="1", **settings)
    return env


# The app is on loopback: never ask a proxy configured in the environment.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _is_healthy(base_url: str) -> bool:
    try:
        with _DIRECT.open(f"{base_url}/_stcore/health", timeout=2) as response:
            return response.status == 200 and response.read().strip() == b"ok"
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    """End the app and anything it started: it runs in its own process group."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


def _end_with_the_tests() -> None:
    """In the app's process, before it starts: ask Linux to stop it when the test process dies, so an interrupted
    or killed test run leaves no app behind (the app has its own process group, out of reach of Ctrl-C)."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _command(port: int, secrets_file: Path, address: str | None) -> list[str]:
    """`streamlit run app.py` as `python -m core serve-app` starts it (the app's modules imported first); `address`
    None: the project's .streamlit/config.toml decides where the server listens."""
    return [
        sys.executable,
        "-m",
        "pages.kit.preloaded_server",
        "run",
        "app.py",
        "--server.port",
        str(port),
        *(["--server.address", address] if address is not None else []),
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
        "--secrets.files",
        str(secrets_file),
    ]


def _start(
    database_url: str, log_dir: Path, secrets: Secrets, address: str | None, settings: dict[str, str]
) -> tuple[RunningApp, subprocess.Popen[bytes]]:
    """Start the app and wait until it serves. Another test worker may take the free port first: then retry."""
    secrets_file = log_dir / "secrets.toml"
    for _attempt in range(PORT_ATTEMPTS):
        port = free_port()
        app = RunningApp(f"http://127.0.0.1:{port}", database_url, log_dir / f"streamlit-{port}.log")
        secrets_file.write_text(secrets(app.base_url) if callable(secrets) else secrets)
        with app.log_path.open("wb") as log:
            process = subprocess.Popen(
                _command(port, secrets_file, address),
                cwd=REPO_ROOT,
                env=app_environment(database_url, **settings),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_end_with_the_tests,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not _is_healthy(app.base_url):
            if process.poll() is not None:
                if f"Port {port} is not available" in app.log_tail():
                    break
                pytest.fail(f"The app exited with code {process.returncode} before serving:\n{app.log_tail()}")
            if time.monotonic() > deadline:
                _stop(process)
                pytest.fail(f"The app did not answer {app.base_url}/_stcore/health in time:\n{app.log_tail()}")
            time.sleep(0.25)
        else:
            return app, process
    pytest.fail(f"No free port for the app after {PORT_ATTEMPTS} attempts")


@contextmanager
def running_app(
    database_url: str, log_dir: Path, *, secrets: Secrets = "", address: str | None = "127.0.0.1", **settings: str
) -> Iterator[RunningApp]:
    """`streamlit run app.py` from the repository root on a free port; yields once /_stcore/health says ok.

    The app reads `secrets` (TOML) instead of the developer's own .streamlit/secrets.toml, so it runs in local
    mode unless the test gives it an [auth] section."""
    log_dir.mkdir(parents=True, exist_ok=True)
    app, process = _start(database_url, log_dir, secrets, address, settings)
    try:
        yield app
    finally:
        _stop(process)


def seed_demo(database_url: str) -> None:
    """Fill a new database with the demo fleet, through the CLI a user would run."""
    result = subprocess.run(
        [sys.executable, "-m", "core", "seed-demo"],
        cwd=REPO_ROOT,
        env=app_environment(database_url),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"seed-demo failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
