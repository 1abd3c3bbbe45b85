"""The one place that decides when cached data may be stale: every cached read is keyed by `read_key()`.

The key is the database's data version, which every committed write raises (`core.db.write_session`), whichever
process made it: the app, the CLI, an import, the webhook worker. app.py reads it once per rerun; a small fragment
asks for it every second and reruns the page when it moved, so an open page shows a change by itself.
"""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from core.availability import is_database_unavailable
from core.db import data_version
from pages.kit.database import database_url, engine

VERSION_KEY = "data_version_seen"
NOTED_KEY = "data_version_noted_this_run"
FOLLOW_EVERY = timedelta(seconds=1)


def note_data_version() -> int:
    """Read the data version for this rerun (app.py, before any page reads)."""
    version = data_version(engine())
    st.session_state[VERSION_KEY] = version
    st.session_state[NOTED_KEY] = True
    return version


def freshness() -> str:
    """The data version this rerun started with: cached reads of an older version are not used."""
    version = st.session_state.get(VERSION_KEY)
    return str(note_data_version() if version is None else version)


def read_key() -> tuple[str, str]:
    """(database URL, freshness token): the first two arguments of every cached read."""
    return database_url(), freshness()


@st.fragment(run_every=FOLLOW_EVERY)
def follow_data_version() -> None:
    """Rerun the page when another process changed the data (one small query a second otherwise)."""
    if st.session_state.pop(NOTED_KEY, False):  # drawn by a full rerun, which has just read the version
        return
    try:
        version = data_version(engine())
    except Exception as error:
        if is_database_unavailable(error):  # a full rerun says so, and retries until the database answers
            st.rerun(scope="app")
        raise
    if version != st.session_state.get(VERSION_KEY):
        st.rerun(scope="app")
