"""An open page shows what another process wrote on its next rerun: cached reads are keyed by the data version,
not kept for a while; a rerun with nothing written reads only that version. The fragment that follows the version
reruns an open page within two seconds of a change, and not more often than that under a stream of changes."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import Engine, event
from streamlit.testing.v1 import AppTest

from core.db import bump_data_version, data_version
from pages.kit import freshness, shell
from tests.app.conftest import APP, LOCAL_MODE_SECRETS, TIMEOUT
from tests.app.ui import exceptions, table

# Live sync reads the webhook inbox, which the receiver fills without raising the data version (it changes no
# page's data): its counts are read again on every run, by design.
PAGES_AND_ROLES = [
    (spec.path.removeprefix("pages/"), role)
    for spec in shell.PAGES
    if spec.path != "pages/live_sync.py"
    for role in (["admin"] if spec.admin_only else ["viewer", "analyst", "admin"])
]


def workspaces_shown(at) -> list[str]:
    return table(at, "accounts_workspaces")["workspace"].tolist()


def selects_of_a_rerun(at: AppTest) -> list[str]:
    statements: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        at.run()
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    assert exceptions(at) == []
    return statements


def test_a_write_from_the_cli_shows_on_the_next_rerun_of_an_open_page(demo_db, open_page):
    at = open_page("accounts.py")
    assert "Fresh Brands" not in workspaces_shown(at)

    subprocess.run(
        [sys.executable, "-m", "core", "workspace", "add", "Fresh Brands"], cwd=APP.parent, check=True, timeout=60
    )
    at.run()

    assert "Fresh Brands" in workspaces_shown(at)


@pytest.mark.parametrize(("page", "role"), PAGES_AND_ROLES)
def test_a_rerun_with_nothing_written_reads_only_the_data_version(demo_db, open_page, page, role):
    at = open_page(page, role=role)

    statements = selects_of_a_rerun(at)

    assert len(statements) == 1, "\n\n".join(statements)
    assert "data_version" in statements[0]


def test_a_role_change_from_the_cli_raises_the_data_version(demo_db):
    before = data_version(demo_db)

    subprocess.run(
        [sys.executable, "-m", "core", "user", "set-role", "dana@example.com", "analyst"],
        cwd=APP.parent,
        check=True,
        timeout=60,
    )

    assert data_version(demo_db) > before


# app.py's two calls in a full run; a run of the fragment alone when the test ticks, as the browser's timer asks.
FOLLOWING_APP = """
import streamlit as st
from pages.kit import freshness

follow = freshness.follow_data_version.__wrapped__
if st.session_state.pop("tick", False):
    follow()
    st.stop()
freshness.note_data_version()
st.session_state["full_runs"] = st.session_state.get("full_runs", 0) + 1
follow()
"""
TICK = freshness.FOLLOW_EVERY.total_seconds() - 0.01  # a browser's timer may fire a little early


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(freshness, "monotonic", clock)
    return clock


def following_app() -> AppTest:
    at = AppTest.from_string(FOLLOWING_APP, default_timeout=TIMEOUT)
    at.secrets = dict(LOCAL_MODE_SECRETS)
    return at.run()


def tick(at: AppTest, clock: Clock) -> None:
    clock.now += TICK
    at.session_state["tick"] = True
    at.run()


def write(engine: Engine) -> None:
    with engine.begin() as connection:
        bump_data_version(connection)


def test_a_stream_of_writes_reruns_an_open_page_at_most_every_other_second(demo_db, clock):
    at = following_app()

    for _ in range(10):
        write(demo_db)
        write(demo_db)
        tick(at, clock)

    assert at.session_state["full_runs"] == 1 + 5


def test_a_write_shows_at_the_next_tick_after_a_quiet_while(demo_db, clock):
    at = following_app()
    tick(at, clock)
    tick(at, clock)
    write(demo_db)

    tick(at, clock)

    assert at.session_state["full_runs"] == 2
    assert at.session_state[freshness.VERSION_KEY] == data_version(demo_db)


def test_a_write_just_after_a_rerun_shows_within_two_seconds(demo_db, clock):
    at = following_app()
    write(demo_db)

    tick(at, clock)
    assert at.session_state["full_runs"] == 1
    tick(at, clock)

    assert at.session_state["full_runs"] == 2
    assert at.session_state[freshness.VERSION_KEY] == data_version(demo_db)
