"""Small readers and actions over an AppTest run, named after what a user sees."""

from __future__ import annotations

import re
from typing import Any

from streamlit.testing.v1 import AppTest


def texts(elements: Any) -> list[str]:
    """The text of each element as read on screen."""
    return [as_read(element.value) for element in elements]


def shown_text(at: AppTest) -> str:
    """Every piece of text on the page (titles, markdown, captions, alerts), for 'the user can read X' checks: as
    read on screen, a backslash-escaped character is that character."""
    kinds = ("title", "header", "subheader", "markdown", "caption", "info", "success", "warning", "error")
    return "\n".join(as_read(element.value) for kind in kinds for element in getattr(at, kind))


def as_read(markdown: object) -> str:
    return re.sub(r"\\(.)", r"\1", str(markdown))


def button(at: AppTest, label: str) -> Any:
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button '{label}'; buttons: {[b.label for b in at.button]}"
    return matches[0]


def submit(at: AppTest, label: str) -> AppTest:
    return button(at, label).click().run()


def labels(elements: Any) -> list[str]:
    return [element.label for element in elements]


def has_exception(at: AppTest) -> bool:
    return len(at.exception) > 0


def exceptions(at: AppTest) -> list[str]:
    return [element.value for element in at.exception]


def table(at: AppTest, key: str) -> Any:
    """The data of the table a page drew with `tables.table(..., key)` (its cells as a DataFrame)."""
    return at.get_by_key(f"{key}_box").dataframe[0].value


def select_row(at: AppTest, key: str, row: int) -> AppTest:
    """Select one row of a selectable table drawn with `tables.table(..., key)`, as a click would, and rerun."""
    widget_key = at.get_by_key(f"{key}_box").dataframe[0].key
    at.session_state[widget_key] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    return at.run()
