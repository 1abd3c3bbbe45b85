"""Filter values that outlive a page: kept in the session and put back before their widgets are drawn."""

from __future__ import annotations

from typing import Any

import streamlit as st

# The Numbers page's filters: other pages open it filtered by putting their values here.
NUMBER_FILTERS = "numbers_filters"


def persisted(
    store: str,
    field: str,
    default: Any,
    options: list[Any] | None = None,
) -> dict[str, Any]:
    """Keyword arguments that make a widget remember its value across pages.

    Streamlit forgets the state of widgets a run does not draw (as on another page), so the value is kept in
    `st.session_state[store][field]` and put back before the widget is drawn. Values no longer offered are dropped.
    """
    saved = st.session_state.setdefault(store, {})
    value = saved.get(field, default)
    if options is not None:
        value = [item for item in value if item in options]
    widget_key = f"{store}_{field}"
    st.session_state[widget_key] = value
    return {"key": widget_key, "on_change": _remember, "args": (store, field, widget_key)}


def _remember(store: str, field: str, widget_key: str) -> None:
    st.session_state.setdefault(store, {})[field] = st.session_state[widget_key]


def forget(store: str) -> None:
    """Back to defaults: the widgets are redrawn from an empty store on the next run."""
    st.session_state[store] = {}
