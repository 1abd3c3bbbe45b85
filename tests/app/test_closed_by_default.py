"""Closed by default: the server listens on loopback, local mode refuses an address others can reach unless told
otherwise, and a bug shows the visitor an error id, never a traceback."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Callable, Iterator

import pytest
from streamlit import config as streamlit_config
from streamlit.testing.v1 import AppTest

from tests.app.conftest import APP, LOCAL_MODE_SECRETS, TIMEOUT
from tests.app.test_roles_and_sign_in import AUTH
from tests.app.ui import exceptions, labels, texts

REPO_ROOT = APP.parent


@pytest.fixture
def server_address() -> Iterator[Callable[[str], None]]:
    """Set `server.address` as `--server.address` or config.toml would, for this test only."""
    original = streamlit_config.get_option("server.address")
    yield lambda address: streamlit_config.set_option("server.address", address)
    streamlit_config.set_option("server.address", original)


def app(secrets: dict[str, object] | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.secrets = secrets or dict(LOCAL_MODE_SECRETS)
    return at.run()


def test_the_project_configuration_listens_on_loopback_shows_no_error_details_and_no_table_download() -> None:
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "from streamlit import config; "
            "print(config.get_option('server.address'), config.get_option('client.showErrorDetails'), "
            "config.get_option('client.disableDataExport'))",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )

    assert shown.stdout.split() == ["127.0.0.1", "none", "True"]


@pytest.mark.parametrize("address", ["0.0.0.0", "", "192.168.1.20", "::", "fleet.example.com"])
def test_local_mode_refuses_an_address_others_can_reach(demo_db, server_address, address) -> None:
    server_address(address)

    at = app()

    assert exceptions(at) == []
    (refusal,) = texts(at.error)
    assert "will not serve" in refusal
    assert "[auth]" in refusal
    assert "FLEET_ALLOW_UNAUTHENTICATED_NETWORK=1" in refusal
    assert not at.dataframe
    assert not at.metric
    assert "Local mode" not in " ".join(texts(at.sidebar.caption))


def test_the_refusal_is_logged_on_the_server_once(demo_db, server_address, caplog) -> None:
    server_address("10.1.2.3")

    with caplog.at_level(logging.ERROR, logger="waba_fleet"):
        app()
        app()

    logged = [record.getMessage() for record in caplog.records if record.name == "waba_fleet"]
    assert len(logged) == 1
    assert "will not serve address 10.1.2.3" in logged[0]


@pytest.mark.parametrize("address", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_local_mode_serves_this_machine(demo_db, server_address, address) -> None:
    server_address(address)

    at = app()

    assert at.error == []
    assert "Local mode, no sign-in: you act as local-admin, with the admin role." in texts(at.sidebar.caption)


def test_the_network_gets_the_sign_in_screen_when_sign_in_is_on(demo_db, server_address) -> None:
    server_address("0.0.0.0")

    at = app({"auth": dict(AUTH)})

    assert at.error == []
    assert labels(at.button) == ["Sign in"]


def test_an_explicit_setting_serves_the_network_without_sign_in(demo_db, server_address, monkeypatch) -> None:
    server_address("0.0.0.0")
    monkeypatch.setenv("FLEET_ALLOW_UNAUTHENTICATED_NETWORK", "1")

    at = app()

    assert at.error == []
    assert "Local mode, no sign-in: you act as local-admin, with the admin role." in texts(at.sidebar.caption)


def test_a_bug_in_a_page_shows_an_error_id_and_logs_the_traceback(demo_db, monkeypatch, caplog) -> None:
    def broken() -> bool:
        raise RuntimeError("secret detail: /srv/fleet/db password=hunter2")

    monkeypatch.setattr("pages.kit.shell.empty_fleet_notice", broken)

    with caplog.at_level(logging.ERROR, logger="waba_fleet"):
        at = app()

    assert exceptions(at) == []
    (shown,) = texts(at.error)
    assert "Something went wrong on our side" in shown
    assert "hunter2" not in shown
    (record,) = [record for record in caplog.records if record.name == "waba_fleet"]
    error_id = record.args[0] if isinstance(record.args, tuple) else None
    assert f"error id **{error_id}**" in shown
    assert "page Overview" in record.getMessage()
    assert record.exc_info is not None
    assert "hunter2" in str(record.exc_info[1])


def test_a_rule_error_a_page_left_uncaught_is_shown_as_written(demo_db, monkeypatch) -> None:
    from core.errors import InvalidInput

    def refused() -> bool:
        raise InvalidInput("Workspace name is empty.")

    monkeypatch.setattr("pages.kit.shell.empty_fleet_notice", refused)

    at = app()

    assert exceptions(at) == []
    assert texts(at.error) == ["Workspace name is empty."]
