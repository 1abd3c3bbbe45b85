"""The one wrapper around everything app.py runs (every page included): a bug is logged with an error id and the
visitor sees a short message with that id; a rule's message is shown as written; a database out of reach (a
restart) is said so, and the page comes back by itself when it answers again."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import streamlit as st

from core.availability import DATABASE_UNAVAILABLE_MESSAGE, is_database_unavailable
from core.db import data_version
from core.errors import FleetError
from core.incidents import report_unexpected
from pages.kit.database import engine
from pages.kit.text import literal


def unexpected_error_message(error_id: str) -> str:
    return (
        f"Something went wrong on our side, and nothing more was done. If it happens again, give your "
        f"administrator the error id **{error_id}**."
    )


@contextmanager
def shown_by_id(where: str) -> Iterator[None]:
    """Run `where` (a page, the app's shell): st.stop and st.rerun pass through, as they are no Exception."""
    try:
        yield
    except Exception as error:
        if is_database_unavailable(error):
            database_unavailable()
        elif isinstance(error, FleetError):  # a page that forgot to catch a rule's error: written for users
            st.error(literal(error), icon=":material/error:")
        else:
            st.error(unexpected_error_message(report_unexpected(error, where)), icon=":material/report:")


RETRY_EVERY = timedelta(seconds=2)


def database_unavailable() -> None:
    st.warning(DATABASE_UNAVAILABLE_MESSAGE, icon=":material/cloud_off:")
    retry_when_database_answers()


@st.fragment(run_every=RETRY_EVERY)
def retry_when_database_answers() -> None:
    """Ask the database every few seconds; rerun the whole page once it answers."""
    try:
        data_version(engine())
    except Exception as error:
        if is_database_unavailable(error):
            return
        raise
    st.rerun(scope="app")
