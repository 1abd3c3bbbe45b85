"""The app as `streamlit run app.py` (what scripts/demo.sh runs) starts it: on loopback only, in local mode."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e import streamlit_ui as ui
from tests.e2e.fleet_app import running_app, sqlite_url

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def non_loopback_address() -> str | None:
    """An address of this machine that another machine could reach, if it has one (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: only picks the interface a route would use
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") else address


def test_the_project_configuration_serves_this_machine_only_as_the_local_admin(tmp_path: Path, page: Page) -> None:
    with running_app(sqlite_url(tmp_path / "fleet.db"), tmp_path, address=None) as app:
        port = int(app.base_url.rsplit(":", 1)[1])
        ui.open_app(page, f"http://localhost:{port}")

        expect(page.get_by_text("Local mode, no sign-in: you act as local-admin, with the admin role.")).to_be_visible()
        log = app.log_tail(80)
        assert f"URL: http://127.0.0.1:{port}" in log
        assert "Network URL" not in log
        outside = non_loopback_address()
        if outside is not None:
            with pytest.raises(ConnectionRefusedError), socket.create_connection((outside, port), timeout=2):
                pass
