"""With sign-in configured ([auth] in the secrets), a visitor who has not signed in sees only the sign-in screen,
whichever page address they open: no fleet data reaches the browser before sign-in. A real OpenID Connect provider
on loopback (oidc-provider-mock) signs users in and out, and a role changed through core counts at the next rerun."""

from __future__ import annotations

import json
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import oidc_provider_mock
import pytest
import werkzeug.serving
from playwright.sync_api import Browser, Locator, Page, expect
from sqlalchemy import Engine, func, select

from core import services
from core.db import Workspace, make_engine, read_session
from core.migrate import upgrade
from core.model import Actor, Role
from tests.e2e import streamlit_ui as ui
from tests.e2e.conftest import DEFAULT_TIMEOUT_MS, VIEWPORT, watch
from tests.e2e.fleet_app import RunningApp, running_app, sqlite_url

LOCAL_ADMIN = Actor(name="local-admin", role=Role.ADMIN)


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


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """Here a tab gets a browser context of its own: sign-in cookies stay with their test (cookies ignore ports,
    and every app of the suite is on 127.0.0.1)."""
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    ui.install_run_counter(context)
    yield watch(request.node, context.new_page())
    context.close()


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


# --- a real sign-in, through a local OpenID Connect provider ---------------------------------------------------

ADA = "ada@example.com"
UNVERIFIED = "eve@example.com"
# The app is on loopback: never ask a proxy configured in the environment.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope="module")
def identity_provider() -> Iterator[str]:
    """oidc-provider-mock, a real OpenID Connect provider (discovery, authorize form, tokens, end of session), on a
    free loopback port in this process; yields its issuer URL."""
    server = werkzeug.serving.make_server("127.0.0.1", 0, oidc_provider_mock.app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def provider_user(issuer: str, email: str, **claims: object) -> None:
    """The claims the provider will put in the ID token of the user whose subject is `email`."""
    request = urllib.request.Request(
        f"{issuer}/users/{urllib.parse.quote(email)}",
        data=json.dumps({"email": email, **claims}).encode(),
        headers={"Content-Type": "application/json"},
        method="PUT",
    )
    with _DIRECT.open(request, timeout=10) as response:
        assert response.status == 204


def auth_secrets(issuer: str) -> Callable[[str], str]:
    def for_app(base_url: str) -> str:
        return f"""
[auth]
redirect_uri = "{base_url}/oauth2callback"
cookie_secret = "e2e-cookie-secret-0123456789abcdef0123456789abcdef"
client_id = "waba-fleet-e2e"
client_secret = "any-secret-the-mock-accepts"
server_metadata_url = "{issuer}/.well-known/openid-configuration"
"""

    return for_app


@pytest.fixture
def fleet_with_sign_in(identity_provider: str, tmp_path: Path) -> Iterator[tuple[RunningApp, Engine]]:
    """The app with sign-in through the local provider, on a database of its own that the test changes through
    core, as an admin's CLI would."""
    url = sqlite_url(tmp_path / "fleet.db")
    engine = make_engine(url)
    upgrade(engine)
    try:
        with running_app(url, tmp_path, secrets=auth_secrets(identity_provider)) as app:
            yield app, engine
    finally:
        engine.dispose()


def sign_in(page: Page, app: RunningApp, issuer: str, subject: str) -> None:
    """Click Sign in, pick the user on the provider's authorize page, and come back signed in."""
    ui.open_app(page, app.base_url)
    ui.buttons(page, "Sign in").click()
    page.wait_for_url(f"{issuer}/oauth2/authorize**")
    page.get_by_placeholder("sub").fill(subject)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{app.base_url}/**")
    ui.wait_until_idle(page)


def sidebar(page: Page) -> Locator:
    return page.locator('[data-testid="stSidebar"]')


def workspaces_named(engine: Engine, name: str) -> int:
    with read_session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(Workspace).where(Workspace.name == name)) or 0)


def test_sign_in_round_trip_with_the_role_from_the_users_table(
    fleet_with_sign_in: tuple[RunningApp, Engine], identity_provider: str, page: Page, screenshot: Callable[[str], Path]
) -> None:
    app, engine = fleet_with_sign_in
    provider_user(identity_provider, ADA, email_verified=True, name="Ada")
    services.set_user_role(engine, LOCAL_ADMIN, name=ADA, role="admin")

    sign_in(page, app, identity_provider, ADA)

    expect(sidebar(page).get_by_text(f"Signed in as {ADA} (admin)")).to_be_visible()
    assert "Users" in ui.navigation_titles(page)
    screenshot("signed-in-as-admin")

    ui.navigate(page, "Accounts")
    add = ui.form(ui.open_tab(page, "Add workspace"), "Add workspace")
    ui.fill_text(page, "Workspace name", "Americas Retail", scope=add)
    services.set_user_role(engine, LOCAL_ADMIN, name=ADA, role="viewer")  # demoted while the form is open
    ui.submit_form(page, "Add workspace", scope=add)

    expect(sidebar(page).get_by_text(f"Signed in as {ADA} (viewer)")).to_be_visible()
    assert "Users" not in ui.navigation_titles(page)
    expect(page.locator('[data-testid="stForm"]')).to_have_count(0)
    assert workspaces_named(engine, "Americas Retail") == 0
    screenshot("demoted-to-viewer")

    ui.buttons(sidebar(page), "Sign out").click()
    end_session = page.get_by_role("button", name="End session")
    end_session.click()
    page.wait_for_url(f"{app.base_url}/**")
    ui.wait_until_idle(page)

    expect(ui.buttons(page, "Sign in")).to_be_visible()
    expect(page.get_by_text("Signed in as")).to_have_count(0)
    expect(page.locator('[data-testid="stSidebarNav"]')).to_have_count(0)
    screenshot("signed-out")


def test_an_unverified_email_is_refused_after_the_provider(
    fleet_with_sign_in: tuple[RunningApp, Engine], identity_provider: str, page: Page, screenshot: Callable[[str], Path]
) -> None:
    app, engine = fleet_with_sign_in
    provider_user(identity_provider, UNVERIFIED, email_verified=False)
    services.set_user_role(engine, LOCAL_ADMIN, name=UNVERIFIED, role="admin")

    sign_in(page, app, identity_provider, UNVERIFIED)

    expect(page.get_by_text(f"{UNVERIFIED} is not verified")).to_be_visible()
    expect(ui.buttons(page, "Sign out")).to_be_visible()
    expect(page.locator('[data-testid="stSidebarNav"]')).to_have_count(0)
    expect(page.get_by_text("Signed in as")).to_have_count(0)
    screenshot("unverified-email-refused")
