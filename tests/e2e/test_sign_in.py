"""With sign-in configured ([auth] in the secrets), a visitor who has not signed in sees only the sign-in screen,
whichever page address they open: no fleet data reaches the browser before sign-in."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e import streamlit_ui as ui
from tests.e2e.fleet_app import RunningApp, running_app

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

# An identity provider that is never contacted: nobody clicks through to it in these tests.
AUTH_SECRETS = """
[auth]
redirect_uri = "http://127.0.0.1:9/oauth2callback"
cookie_secret = "e2e-cookie-secret-0123456789abcdef0123456789abcdef"
client_id = "waba-fleet-e2e"
client_secret = "not-a-secret"
server_metadata_url = "http://127.0.0.1:9/.well-known/openid-configuration"
"""


@pytest.fixture(scope="module")
def app_with_sign_in(demo_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    with running_app(demo_database_url, tmp_path_factory.mktemp("sign-in"), secrets=AUTH_SECRETS) as app:
        yield app


@pytest.mark.parametrize("address", ["", "/numbers", "/import_data"], ids=["home", "numbers-address", "import-address"])
def test_signed_out_visitor_sees_only_the_sign_in_screen(
    app_with_sign_in: RunningApp, page: Page, screenshot: Callable[[str], Path], address: str
) -> None:
    ui.open_app(page, app_with_sign_in.base_url + address)

    expect(ui.buttons(page, "Sign in")).to_be_visible()
    expect(page.locator('[data-testid="stSidebarNav"]')).to_have_count(0)
    expect(page.locator('[data-testid="stDataFrame"], [data-testid="stForm"]')).to_have_count(0)
    expect(page.get_by_text("Local mode")).to_have_count(0)
    expect(page.get_by_text("Page not found")).to_have_count(0)
    screenshot(f"signed-out{address.replace('/', '-')}")
