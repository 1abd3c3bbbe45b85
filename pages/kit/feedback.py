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


def succeed(
    message: str, *, reset: Mapping[str, Any] | None = None, keep_visible: bool = False, where: str | None = None
) -> NoReturn:
    """After a successful write: drop every cached read, empty the form's fields, rerun, and say what happened.

    `where` names the spot the form sits in (`outcome_here(where)`): the outcome is written there, where the admin
    is looking; `keep_visible` keeps it there until dismissed (a next step to take outside this app)."""
    st.cache_data.clear()
    st.session_state[FLASH_KEY] = {"message": message, "keep_visible": keep_visible, "where": where}
    st.session_state[RESETS_KEY] = dict(reset or {})
    st.rerun()


def apply_form_resets() -> None:
    """Empty the fields of the form a write came from (widget values can only be set before they are drawn)."""
    for key, value in st.session_state.pop(RESETS_KEY, {}).items():
        st.session_state[key] = value


def show_last_outcome(note: Any) -> None:
    """The outcome of a write made without a spot of its own: a toast, and a lasting note in `note` when it has
    a next step."""
    flash = st.session_state.get(FLASH_KEY)
    if not flash or flash.get("where"):
        return
    del st.session_state[FLASH_KEY]
    st.toast(literal(flash["message"]), icon=":material/check_circle:")
    if flash["keep_visible"]:
        note.success(literal(flash["message"]), icon=":material/check_circle:")


def outcome_here(where: str) -> None:
    """The outcome of the write made from the form at `where`, drawn here (always one slot, so what follows keeps
    its place): a note and a toast; a next step stays, with a Dismiss button, until the admin dismisses it."""
    flash = st.session_state.get(FLASH_KEY)
    if flash and flash.get("where") == where:
        del st.session_state[FLASH_KEY]
        st.session_state[_pinned_key(where)] = flash
    spot = st.container(key=f"outcome_{where}")
    shown = st.session_state.get(_pinned_key(where))
    if not shown:
        return
    with spot:
        message, dismiss = st.columns([12, 1], vertical_alignment="center")
        message.success(literal(shown["message"]), icon=":material/check_circle:")
        dismiss.button("Dismiss", key=f"dismiss_{where}", on_click=_dismiss, args=(where,), type="tertiary")
    if not shown["keep_visible"]:
        st.toast(literal(shown["message"]), icon=":material/check_circle:")
        del st.session_state[_pinned_key(where)]  # a plain confirmation is shown once


def _pinned_key(where: str) -> str:
    return f"outcome_shown_{where}"


def _dismiss(where: str) -> None:
    st.session_state.pop(_pinned_key(where), None)
