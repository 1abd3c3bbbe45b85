"""Who sees what: local mode is labelled, roles gate pages, forms and downloads, and sign-in maps users to roles."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from core import services
from tests.app.conftest import APP, TIMEOUT
from tests.app.ui import exceptions, labels, shown_text, table, texts
from tests.builders import ADMIN

AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "test-cookie-secret",
    "client_id": "fleet-dashboard",
    "client_secret": "test-client-secret",
    "server_metadata_url": "https://login.example.com/.well-known/openid-configuration",
}
ADMIN_ONLY_PAGES = ["pages/audit.py", "pages/import_data.py", "pages/users.py"]


def verified(email: str) -> dict[str, object]:
    """What st.user holds for a user whose provider vouches for their e-mail."""
    return {"is_logged_in": True, "email": email, "email_verified": True, "sub": f"sub-{email}"}


def signed_in_app(user: dict[str, object], roles: dict[str, list[str]] | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.secrets = {"auth": dict(AUTH), "roles": roles or {}}
    at.user = user
    return at.run()


def test_local_mode_is_labelled_with_the_user_and_role(demo_db, open_page):
    at = open_page()

    assert "Local mode, no sign-in: you act as local-admin, with the admin role." in texts(at.sidebar.caption)


def test_local_user_and_role_come_from_the_settings(demo_db, open_page, monkeypatch):
    monkeypatch.setenv("FLEET_USER", "marketing-lead")

    at = open_page(role="analyst")

    assert "Local mode, no sign-in: you act as marketing-lead, with the analyst role." in texts(at.sidebar.caption)


@pytest.mark.parametrize("role", ["viewer", "analyst"])
@pytest.mark.parametrize("page", ADMIN_ONLY_PAGES)
def test_admin_pages_are_not_in_the_navigation_of_readers(demo_db, open_page, role, page):
    at = open_page(role=role)

    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(page)


@pytest.mark.parametrize("page", ADMIN_ONLY_PAGES)
def test_admin_pages_open_for_admins(demo_db, open_page, page):
    at = open_page(page.removeprefix("pages/"))

    assert exceptions(at) == []


@pytest.mark.parametrize("role", ["viewer", "analyst"])
@pytest.mark.parametrize("page", ["accounts.py", "subscriptions.py"])
def test_readers_see_no_write_form(demo_db, open_page, role, page):
    at = open_page(page, role=role)

    assert len(at.text_input) == 0
    assert labels(at.button) == []
    assert "Manage" not in shown_text(at)


@pytest.mark.parametrize("page", ["accounts.py", "subscriptions.py"])
def test_admins_see_the_write_forms(demo_db, open_page, page):
    at = open_page(page)

    assert len(at.text_input) > 0
    assert len(at.button) > 0


@pytest.mark.parametrize(("role", "downloads"), [("viewer", 0), ("analyst", 1), ("admin", 1)])
def test_only_analysts_and_admins_download_numbers(demo_db, open_page, role, downloads):
    at = open_page("numbers.py", role=role)

    assert len(at.download_button) == downloads


@pytest.mark.parametrize(("role", "image_download"), [("viewer", False), ("analyst", True), ("admin", True)])
def test_only_analysts_and_admins_download_a_chart_as_an_image(demo_db, open_page, role, image_download):
    at = open_page(role=role)

    configs = [json.loads(chart.proto.config) for chart in at.get("plotly_chart")]

    assert configs
    assert all(("toImage" not in config.get("modeBarButtonsToRemove", [])) == image_download for config in configs)


@pytest.mark.parametrize(
    ("role", "downloads"), [("viewer", []), ("analyst", ["Download DOT"]), ("admin", ["Download DOT"])]
)
def test_only_analysts_and_admins_download_the_ecosystem_diagram(demo_db, open_page, role, downloads):
    at = open_page("ecosystem.py", role=role)

    assert [button.proto.label for button in at.get("download_button")][:1] == downloads
    assert exceptions(at) == []


def test_signed_out_visitor_sees_only_the_sign_in_button(demo_db):
    at = signed_in_app({"is_logged_in": False})

    assert exceptions(at) == []
    assert labels(at.button) == ["Sign in"]
    assert not at.dataframe


def test_signed_in_stranger_is_a_viewer(demo_db):
    at = signed_in_app(
        {"is_logged_in": True, "email": "Stranger@Example.com", "email_verified": True, "name": "Stranger"}
    )

    assert "Signed in as **stranger@example.com** (viewer)" in texts(at.sidebar.caption)
    assert "Sign out" in labels(at.sidebar.button)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/audit.py")


def test_configured_mapping_gives_roles_by_address_and_domain(demo_db):
    roles = {"admins": ["boss@example.com"], "analysts": ["@marketing.example.com"]}

    boss = signed_in_app(verified("boss@example.com"), roles)
    analyst = signed_in_app(verified("ann@marketing.example.com"), roles)

    assert "Signed in as **boss@example.com** (admin)" in texts(boss.sidebar.caption)
    assert "Signed in as **ann@marketing.example.com** (analyst)" in texts(analyst.sidebar.caption)
    boss.switch_page("pages/audit.py").run()
    assert exceptions(boss) == []


def test_users_table_decides_before_the_mapping(demo_db):
    services.set_user_role(demo_db, ADMIN, name="boss@example.com", role="analyst")

    at = signed_in_app(verified("boss@example.com"), {"admins": ["boss@example.com"]})

    assert "Signed in as **boss@example.com** (analyst)" in texts(at.sidebar.caption)


def test_admin_gives_a_user_a_role_on_the_users_page(demo_db, open_page):
    at = open_page("users.py")

    at.text_input(key="set_role_name").input("Ann@Example.com")
    at.selectbox(key="set_role_role").select("analyst")
    at.button[0].click().run()

    assert "User 'ann@example.com' is now analyst." in texts(at.toast)
    assert table(at, "users_table")[["name", "role"]].values.tolist() == [["ann@example.com", "analyst"]]
    signed_in = signed_in_app(verified("ann@example.com"))
    assert "Signed in as **ann@example.com** (analyst)" in texts(signed_in.sidebar.caption)


def test_first_visit_to_a_page_goes_through_the_app(demo_db, monkeypatch):
    """A fresh server reads pages/ the old way until st.navigation runs: a deep link must still get app.py."""
    monkeypatch.undo()  # no steady-state navigation: the server has just started
    monkeypatch.setenv("DATABASE_URL", str(demo_db.url))
    monkeypatch.setenv("FLEET_LOCAL_ROLE", "viewer")
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.secrets = {"fleet_tests": {"mode": "local"}}
    at.run()
    at.switch_page("pages/numbers.py").run()

    assert exceptions(at) == []
    assert [title.value for title in at.title] == ["Numbers"]
    assert "Local mode, no sign-in: you act as local-admin, with the viewer role." in texts(at.sidebar.caption)


def test_a_malformed_roles_section_is_reported_not_guessed(demo_db):
    at = signed_in_app(verified("boss@example.com"), {"owners": ["boss@example.com"]})

    assert exceptions(at) == []
    assert "Unknown key(s) in the [roles] configuration: owners" in texts(at.error)[0]
    assert not at.dataframe


@pytest.mark.parametrize("verified_claim", [False, "false"])
def test_an_email_the_provider_has_not_verified_is_refused_with_a_way_out(demo_db, verified_claim):
    services.set_user_role(demo_db, ADMIN, name="boss@example.com", role="admin")

    at = signed_in_app({"is_logged_in": True, "email": "boss@example.com", "email_verified": verified_claim})

    assert exceptions(at) == []
    assert "boss@example.com is not verified" in texts(at.error)[0]
    assert labels(at.button) == ["Sign out"]
    assert not at.dataframe
    assert not at.metric


def test_without_the_claim_a_user_is_known_by_their_subject(demo_db):
    services.set_user_role(demo_db, ADMIN, name="boss@example.com", role="admin")

    at = signed_in_app({"is_logged_in": True, "email": "boss@example.com", "sub": "google-oauth2|42"})

    assert "Signed in as **sub:google-oauth2|42** (viewer)" in texts(at.sidebar.caption)


def test_a_provider_that_verifies_every_address_is_trusted_when_configured(demo_db, monkeypatch):
    monkeypatch.setenv("FLEET_PROVIDER_VERIFIES_EMAIL", "1")
    services.set_user_role(demo_db, ADMIN, name="boss@example.com", role="admin")

    at = signed_in_app({"is_logged_in": True, "email": "boss@example.com", "sub": "google-oauth2|42"})

    assert "Signed in as **boss@example.com** (admin)" in texts(at.sidebar.caption)


def test_a_role_change_counts_from_the_next_rerun(demo_db):
    services.set_user_role(demo_db, ADMIN, name="boss@example.com", role="admin")
    at = signed_in_app(verified("boss@example.com"))
    assert "Signed in as **boss@example.com** (admin)" in texts(at.sidebar.caption)

    services.set_user_role(demo_db, ADMIN, name="boss@example.com", role="viewer")
    at.run()

    assert "Signed in as **boss@example.com** (viewer)" in texts(at.sidebar.caption)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/users.py")
