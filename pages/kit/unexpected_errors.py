"""The one wrapper around everything app.py runs (every page included): a bug is logged with an error id and the
visitor sees a short message with that id; a rule's message is shown as written."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from core.errors import FleetError
from core.incidents import report_unexpected
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
    except FleetError as error:  # a page that forgot to catch a rule's error: its message is written for users
        st.error(literal(error), icon=":material/error:")
    except Exception as error:
        st.error(unexpected_error_message(report_unexpected(error, where)), icon=":material/report:")
