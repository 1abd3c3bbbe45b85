"""After a write: the error in the user's words, or the outcome shown once the page reruns with fresh data."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NoReturn

import streamlit as st

from core.errors import FleetError
from pages.kit.text import literal

FLASH_KEY = "flash"
RESETS_KEY = "pending_form_resets"


@contextmanager
def fleet_errors() -> Iterator[None]:
    """Show a rule violation or invalid input in the user's words; the form keeps what was typed."""
    try:
        yield
    except FleetError as error:
        st.error(literal(error), icon=":material/error:")


def succeed(message: str, *, reset: Mapping[str, Any] | None = None, keep_visible: bool = False) -> NoReturn:
    """After a successful write: drop every cached read, empty the form's fields, rerun, and say what happened."""
    st.cache_data.clear()
    st.session_state[FLASH_KEY] = {"message": message, "keep_visible": keep_visible}
    st.session_state[RESETS_KEY] = dict(reset or {})
    st.rerun()


def apply_form_resets() -> None:
    """Empty the fields of the form a write came from (widget values can only be set before they are drawn)."""
    for key, value in st.session_state.pop(RESETS_KEY, {}).items():
        st.session_state[key] = value


def show_last_outcome(note: Any) -> None:
    """The outcome of the last write: a toast, and a lasting note in `note` when it has a next step."""
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash:
        st.toast(literal(flash["message"]), icon=":material/check_circle:")
        if flash["keep_visible"]:
            note.success(literal(flash["message"]), icon=":material/check_circle:")
