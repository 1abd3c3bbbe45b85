"""The scaled-out topology end to end: `scripts/cluster.sh` on an empty PostgreSQL (2 app replicas, a receiver, a
worker, nginx) with sign-in through a local OpenID Connect provider, driven in Chromium through nginx only.

The tests share one cluster and run in file order: the database outage comes before a replica is killed.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import text

from core import services
from core.availability import DATABASE_UNAVAILABLE_MESSAGE
from core.db import make_engine
from core.migrate import head_revision
from core.webhook_receiver import signature_of
from tests.conftest import skip_or_fail
from tests.e2e import streamlit_ui as ui
from tests.e2e.conftest import DEFAULT_TIMEOUT_MS, VIEWPORT
from tests.e2e.fleet_app import REPO_ROOT, RunningApp
from tests.e2e.test_live_webhooks import DELIVERY, flagged, row_of
from tests.e2e.test_sign_in import ADA, LOCAL_ADMIN, auth_secrets, identity_provider, provider_user, sidebar, sign_in
from tests.fixtures.meta import support

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.xdist_group("browser")]

REPLICAS = 2
APP_SECRET = "cluster-test-app-secret"
LIVE_WITHIN_S = 2.0
SUPPORT_DELIVERY = DELIVERY.replace(b"15550783881", b"15550167350")
NEW_WORKSPACE = "Scale-out Team"
_DIRECT = httpx.Client(trust_env=False, timeout=10)


@dataclass(frozen=True)
class Cluster:
    run_dir: Path
    base_url: str
    database_url: str
    environment: dict[str, str]

    def script(self, command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "scripts/cluster.sh", command],
            cwd=REPO_ROOT,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )

    def postgres(self, command: str) -> None:
        subprocess.run(
            [sys.executable, "scripts/cluster_postgres.py", command, str(self.run_dir / "pgdata")],
            cwd=REPO_ROOT,
            capture_output=True,
            timeout=60,
            check=True,
        )

    def pid(self, name: str) -> int:
        return int((self.run_dir / "pids" / f"{name}.pid").read_text())

    def log(self, name: str) -> str:
        return (self.run_dir / "logs" / f"{name}.log").read_text(errors="replace")


def free_port_range(count: int) -> int:
    """The first of `count` consecutive free loopback ports."""
    for _attempt in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            first = probe.getsockname()[1]
        if first + count < 65000 and all(_is_free(port) for port in range(first, first + count)):
            return int(first)
    raise AssertionError("no free range of ports")


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


__all__ = ["identity_provider"]  # the sign-in tests' provider fixture, used here too


@pytest.fixture(scope="module")
def cluster(identity_provider: str) -> Iterator[Cluster]:
    if shutil.which("nginx") is None:
        skip_or_fail("nginx is not installed (apt-get install nginx)", "FLEET_REQUIRE_NGINX")
    try:
        import pgserver  # noqa: F401
    except ImportError:
        skip_or_fail("pgserver is not installed", "FLEET_REQUIRE_POSTGRES")
    # Outside pytest's temporary tree: another pytest run resets /tmp/pytest-of-<user> to 0700, and pgserver's
    # server runs as a user of its own that must reach the data directory whenever it starts.
    run_dir = Path(tempfile.mkdtemp(prefix="fleet-cluster-"))
    run_dir.chmod(0o755)
    first_port = free_port_range(REPLICAS + 2)
    secrets = run_dir / "secrets.toml"
    secrets.write_text(auth_secrets(identity_provider)(f"http://127.0.0.1:{first_port}"))
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("FLEET_", "STREAMLIT_", "DATABASE_URL"))}
    environment.update(
        FLEET_CLUSTER_DIR=str(run_dir),
        FLEET_CLUSTER_PORT=str(first_port),
        FLEET_CLUSTER_FIRST_PORT=str(first_port),
        FLEET_REPLICAS=str(REPLICAS),
        FLEET_CLUSTER_MIGRATE="each",  # every process migrates at start: they race for the lock
        FLEET_CLUSTER_SECRETS=str(secrets),
        META_APP_SECRET=APP_SECRET,
        META_VERIFY_TOKEN="cluster-test-verify-token",
    )
    started = Cluster(run_dir, f"http://127.0.0.1:{first_port}", "", environment)
    result = started.script("start")
    try:
        assert result.returncode == 0, f"cluster.sh start failed:\n{result.stdout}\n{result.stderr}"
        database_url = (run_dir / "database_url").read_text().strip()
        yield Cluster(run_dir, started.base_url, database_url, environment)
    finally:
        started_pids = [int(f.read_text()) for f in (run_dir / "pids").glob("*.pid") if f.read_text().strip()]
        stopped = started.script("stop")
        assert stopped.returncode == 0, stopped.stderr
        assert [pid for pid in started_pids if _is_alive(pid)] == [], "cluster.sh stop left processes running"
        assert not (run_dir / "pgdata" / "postmaster.pid").exists(), "cluster.sh stop left PostgreSQL running"
        shutil.rmtree(run_dir, ignore_errors=True)


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def live_within_s() -> float:
    """2 s, stretched by how overloaded the machine is (runnable processes per core over 1): the browser and both
    replicas share its cores with whatever else runs, and a rerun waits its turn."""
    return LIVE_WITHIN_S * max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))


def post_through_nginx(cluster: Cluster, body: bytes) -> httpx.Response:
    headers = {"X-Hub-Signature-256": signature_of(APP_SECRET, body), "Content-Type": "application/json"}
    return _DIRECT.post(f"{cluster.base_url}/webhooks/meta", content=body, headers=headers)


def route_cookie(cluster: Cluster, replica: int) -> str:
    """A fleet_replica cookie value nginx sends to `replica` (1-based), found by asking and reading its log."""
    port = int(cluster.environment["FLEET_CLUSTER_FIRST_PORT"]) + replica
    for attempt in range(200):
        value = f"probe{attempt}"
        _DIRECT.get(f"{cluster.base_url}/_stcore/health", cookies={"fleet_replica": value})
        access = (cluster.run_dir / "logs" / "nginx-access.log").read_text().splitlines()
        served = [line for line in access if f"replica_cookie={value}" in line]
        if served and f"upstream=127.0.0.1:{port}" in served[-1]:
            return value
    raise AssertionError(f"no cookie value routes to replica {replica}")


@pytest.fixture(scope="module")
def on_replica(cluster: Cluster, browser: Browser) -> Iterator[dict[int, BrowserContext]]:
    """A browser (context) per replica: each carries the sticky cookie that nginx routes to that replica."""
    contexts: dict[int, BrowserContext] = {}
    for replica in range(1, REPLICAS + 1):
        context = browser.new_context(viewport=VIEWPORT)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        ui.install_run_counter(context)
        cookie = route_cookie(cluster, replica)
        context.add_cookies([{"name": "fleet_replica", "value": cookie, "url": cluster.base_url}])
        contexts[replica] = context
    yield contexts
    for context in contexts.values():
        context.close()


def signed_in_cookies(context: BrowserContext) -> list[Any]:
    return [cookie for cookie in context.cookies() if cookie["name"] != "fleet_replica"]


@pytest.fixture(scope="module")
def tabs(cluster: Cluster, on_replica: dict[int, BrowserContext], identity_provider: str) -> Iterator[dict[int, Page]]:
    """One tab per replica, signed in as Ada (an admin) on the Lucky Shrub fleet, written by another process. Ada
    signs in through replica 1; replica 2 takes the same sign-in cookie, as every replica shares its secret."""
    engine = make_engine(cluster.database_url)
    support.lucky_shrub_fleet(engine)
    services.set_user_role(engine, LOCAL_ADMIN, name=ADA, role="admin")
    engine.dispose()
    provider_user(identity_provider, ADA, email_verified=True, name="Ada")
    pages = {replica: context.new_page() for replica, context in on_replica.items()}
    sign_in(pages[1], RunningApp(cluster.base_url, cluster.database_url, cluster.run_dir), identity_provider, ADA)
    on_replica[2].add_cookies(signed_in_cookies(on_replica[1]))
    for page in pages.values():
        ui.open_app(page, f"{cluster.base_url}/accounts")
    yield pages
    for page in pages.values():
        page.close()


def test_processes_started_together_on_an_empty_database_migrate_it_once_and_all_serve(cluster: Cluster) -> None:
    status = cluster.script("status")
    migrations = sum(cluster.log(f"app-{n}").count("upgraded from (empty)") for n in range(1, REPLICAS + 1))

    assert status.returncode == 0, status.stdout
    assert migrations <= 1  # the receiver or the worker may have been first; no one ran it twice
    engine = make_engine(cluster.database_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [
            head_revision(engine)
        ]
    engine.dispose()
    for name in ("app-1", "app-2", "receiver-1", "worker-1"):
        assert "Traceback" not in cluster.log(name), cluster.log(name)


def test_a_write_through_one_replica_is_on_the_other_at_its_next_navigation(
    cluster: Cluster, tabs: dict[int, Page]
) -> None:
    writer, reader = tabs[1], tabs[2]
    ui.navigate(reader, "Overview")

    add = ui.form(ui.open_tab(writer, "Add workspace"), "Add workspace")
    ui.fill_text(writer, "Workspace name", NEW_WORKSPACE, scope=add)
    ui.submit_form(writer, "Add workspace", scope=add)
    ui.expect_toast(writer, f"Workspace '{NEW_WORKSPACE}' added.")
    ui.navigate(reader, "Accounts")

    ui.expect_row_count(ui.dataframe(reader, "accounts_workspaces"), 2)
    records = ui.table_records(ui.dataframe(reader, "accounts_workspaces"))
    assert any(NEW_WORKSPACE in cell for record in records for cell in record.values()), records


def test_a_webhook_posted_through_nginx_shows_on_both_replicas_within_two_seconds(
    cluster: Cluster, tabs: dict[int, Page]
) -> None:
    for page in tabs.values():
        ui.navigate(page, "Numbers")
        assert not flagged(row_of(page, "15550783881"))

    response = post_through_nginx(cluster, DELIVERY)
    accepted, allowed = time.monotonic(), live_within_s()
    waiting = set(tabs)
    while waiting:
        waiting = {replica for replica in waiting if not flagged(row_of(tabs[replica], "15550783881"))}
        elapsed = time.monotonic() - accepted
        assert elapsed < allowed or not waiting, f"replicas {sorted(waiting)} not showing it after {elapsed:.1f} s"
        time.sleep(0.05)

    assert response.status_code == 200, response.text


def test_both_replicas_take_the_sign_in_cookie_and_a_role_change_applies_on_both_at_once(
    cluster: Cluster, tabs: dict[int, Page]
) -> None:
    for page in tabs.values():
        expect(sidebar(page).get_by_text(f"Signed in as {ADA} (admin)")).to_be_visible()
    engine = make_engine(cluster.database_url)

    services.set_user_role(engine, LOCAL_ADMIN, name=ADA, role="viewer")  # as an admin's CLI would
    try:
        for page in tabs.values():  # nobody touches the pages: each follows the data version by itself
            expect(sidebar(page).get_by_text(f"Signed in as {ADA} (viewer)")).to_be_visible(timeout=10_000)
            assert "Users" not in ui.navigation_titles(page)
    finally:
        services.set_user_role(engine, LOCAL_ADMIN, name=ADA, role="admin")
        engine.dispose()
    for page in tabs.values():
        expect(sidebar(page).get_by_text(f"Signed in as {ADA} (admin)")).to_be_visible(timeout=10_000)


def test_postgresql_stopped_for_seconds_shows_a_clear_message_then_everything_recovers(
    cluster: Cluster, tabs: dict[int, Page]
) -> None:
    page = tabs[2]
    ui.navigate(page, "Numbers")

    cluster.postgres("stop")
    try:
        expect(page.get_by_text(DATABASE_UNAVAILABLE_MESSAGE)).to_be_visible(timeout=15_000)
        refused = post_through_nginx(cluster, SUPPORT_DELIVERY)
        time.sleep(2)
    finally:
        cluster.postgres("start")

    assert refused.status_code == 503  # Meta sends it again
    expect(page.get_by_text(DATABASE_UNAVAILABLE_MESSAGE)).to_have_count(0, timeout=20_000)
    ui.wait_until_idle(page)
    assert post_through_nginx(cluster, SUPPORT_DELIVERY).status_code == 200
    deadline = time.monotonic() + 20
    while not flagged(row_of(page, "15550167350")):  # the worker waited out the outage and applies it
        assert time.monotonic() < deadline, row_of(page, "15550167350")
        page.wait_for_timeout(250)
    ui.expect_no_exception(page)
    assert "Traceback" not in page.content()
    assert "database unavailable, retrying" in cluster.log("worker-1")
    assert "Traceback" not in cluster.log("worker-1")


def test_a_killed_replica_leaves_the_other_serving_its_sessions_and_new_visitors(
    cluster: Cluster, tabs: dict[int, Page], browser: Browser
) -> None:
    survivor, orphan = tabs[2], tabs[1]
    ui.navigate(survivor, "Accounts")

    os.killpg(cluster.pid("app-1"), signal.SIGKILL)
    ui.navigate(survivor, "Numbers")
    newcomer_context = browser.new_context(viewport=VIEWPORT)
    newcomer_context.add_cookies(signed_in_cookies(survivor.context))
    newcomer = newcomer_context.new_page()
    ui.open_app(newcomer, f"{cluster.base_url}/numbers")

    assert row_of(survivor, "15550783881")
    assert row_of(newcomer, "15550783881")
    # The orphaned tab reconnects by itself (nginx sends it to the live replica) and carries on, unreloaded: with
    # replica 1 gone, every run it makes from now on is replica 2's.
    app_root = orphan.locator('[data-testid="stApp"]')
    expect(app_root).to_have_attribute("data-test-connection-state", "CONNECTED", timeout=30_000)
    ui.wait_until_idle(orphan)
    ui.navigate(orphan, "Numbers")
    assert row_of(orphan, "15550783881")
    newcomer_context.close()
    assert re.search(r"app-1: not running", cluster.script("status").stdout)
