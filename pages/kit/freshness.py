"""The one place that decides when cached data may be stale: every cached read is keyed by `read_key()`.

The key is the database's data version, which every committed write raises (`core.db.write_session`), whichever
process made it: the app, the CLI, an import, the webhook worker. app.py reads it once per rerun; a small fragment
asks for it every second and reruns the page when it moved, so an open page shows a change by itself, but not
sooner than `RERUN_GAP` after the last full rerun: a webhook stream moves the version several times a second.
"""

from __future__ import annotations

from datetime import timedelta
from time import monotonic

import streamlit as st

from core.availability import is_database_unavailable
from core.db import data_version
from pages.kit.database import database_url, engine

VERSION_KEY = "data_version_seen"
READ_AT_KEY = "data_version_read_at"  # monotonic() of the last full rerun's read
FOLLOW_EVERY = timedelta(seconds=1)
# Between one tick and two: a change waits two ticks (2 s) at most, and a tick that fires a few milliseconds early
# is not put off to the third.
RERUN_GAP = timedelta(seconds=1.5)


def note_data_version() -> int:
    """Read the data version for this rerun (app.py, before any page reads)."""
    version = data_version(engine())
    st.session_state[VERSION_KEY] = version
    st.session_state[READ_AT_KEY] = monotonic()
    return version


def freshness() -> str:
    """The data version this rerun started with: cached reads of an older version are not used."""
    version = st.session_state.get(VERSION_KEY)
    return str(note_data_version() if version is None else version)


def read_key() -> tuple[str, str]:
    """(database URL, freshness token): the first two arguments of every cached read."""
    return database_url(), freshness()


def may_follow(last_read_at: float | None, now: float) -> bool:
    """Whether the fragment may look for a new version: not within `RERUN_GAP` of the last full rerun (its own, a
    widget's), which has just read it."""
    return last_read_at is None or now - last_read_at >= RERUN_GAP.total_seconds()


@st.fragment(run_every=FOLLOW_EVERY)
def follow_data_version() -> None:
    """Rerun the page when another process changed the data, at most once per `RERUN_GAP` (one small query
    otherwise)."""
    if not may_follow(st.session_state.get(READ_AT_KEY), monotonic()):
        return
    try:
        version = data_version(engine())
    except Exception as error:
        if is_database_unavailable(error):  # a full rerun says so, and retries until the database answers
            st.rerun(scope="app")
        raise
    if version != st.session_state.get(VERSION_KEY):
        st.rerun(scope="app")
