"""Every page renders, for every role, on an empty database and on the demo fleet, and says what to do next."""

from __future__ import annotations

from typing import Any

import pytest
from streamlit.navigation.page import StreamlitPage

from tests.app.ui import exceptions, shown_text, table

FLEET_PAGES = ["overview.py", "accounts.py", "numbers.py", "subscriptions.py", "templates.py", "ecosystem.py"]
ADMIN_PAGES = ["import_data.py", "audit.py", "users.py"]


@pytest.mark.parametrize("page", FLEET_PAGES + ADMIN_PAGES)
def test_page_renders_on_the_demo_fleet(demo_db, open_page, page):
    at = open_page(page)

    assert exceptions(at) == []
    assert not at.error


@pytest.mark.parametrize("page", FLEET_PAGES + ADMIN_PAGES)
def test_page_renders_on_an_empty_database(empty_db, open_page, page):
    at = open_page(page)

    assert exceptions(at) == []
    assert not at.error


@pytest.mark.parametrize("role", ["viewer", "analyst"])
@pytest.mark.parametrize("page", FLEET_PAGES)
def test_page_renders_for_readers(demo_db, open_page, page, role):
    at = open_page(page, role=role)

    assert exceptions(at) == []


@pytest.mark.parametrize("page", ["overview.py", "numbers.py", "subscriptions.py", "templates.py"])
def test_empty_fleet_page_says_where_to_start(empty_db, open_page, page):
    at = open_page(page)

    text = shown_text(at)
    assert "No workspace yet" in text
    assert "Accounts" in text
    assert "python -m core seed-demo" in text


def test_empty_accounts_page_guides_an_admin_through_the_forms(empty_db, open_page):
    at = open_page("accounts.py")

    assert "Start with **Add workspace**" in shown_text(at)
    assert at.text_input(key="add_workspace_name") is not None


def test_overview_counts_the_demo_fleet(demo_db, open_page):
    at = open_page("overview.py")

    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Workspaces"] == "3"
    assert metrics["Active WABAs"] == "12"
    assert metrics["Active numbers"] == "80"
    assert int(metrics["Numbers at risk"]) > 0


def test_overview_at_risk_list_holds_only_numbers_at_risk(demo_db, open_page):
    at = open_page("overview.py")

    at_risk = table(at, "overview_at_risk")
    assert len(at_risk) > 0
    for quality, status in zip(at_risk["quality_rating"], at_risk["status"], strict=True):
        assert quality[0] in {"YELLOW", "RED"} or status[0] in {
            "FLAGGED",
            "RESTRICTED",
            "RATE_LIMITED",
            "DISCONNECTED",
            "BANNED",
        }


def test_a_rerun_builds_no_menu_page_again(demo_db, open_page, monkeypatch):
    at = open_page("numbers.py")
    built: list[str] = []
    build = StreamlitPage.__init__

    def counted(self: StreamlitPage, *args: Any, **kwargs: Any) -> None:
        built.append(kwargs.get("title", ""))
        build(self, *args, **kwargs)

    monkeypatch.setattr(StreamlitPage, "__init__", counted)
    at.run()

    assert built == []
    assert exceptions(at) == []
    assert "Numbers" in shown_text(at)
