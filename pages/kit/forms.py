"""Form helpers: a choice among labelled values, preselecting the only one, and naming the choice left empty."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from core.errors import InvalidInput


def pick(label: str, choices: Mapping[str, str], *, key: str, placeholder: str, only_one: bool = False) -> str | None:
    """A select box over the keys of `choices`, each shown as its label; `only_one`: a single choice is preselected."""
    values = list(choices)
    return st.selectbox(
        label,
        values,
        index=only_choice(values) if only_one else None,
        key=key,
        format_func=choices.__getitem__,
        placeholder=placeholder,
    )


def only_choice(options: list[Any]) -> int | None:
    """Preselect a selectbox's option when there is exactly one to choose from."""
    return 0 if len(options) == 1 else None


def chosen(value: str | None, what: str) -> str:
    """A selectbox left empty in a form: say which choice is missing."""
    if not value:
        raise InvalidInput(f"Choose {what}.")
    return value
