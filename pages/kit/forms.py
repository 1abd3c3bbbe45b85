"""Form helpers: preselecting the only choice, and naming the choice left empty."""

from __future__ import annotations

from typing import Any

from core.errors import InvalidInput


def only_choice(options: list[Any]) -> int | None:
    """Preselect a selectbox's option when there is exactly one to choose from."""
    return 0 if len(options) == 1 else None


def chosen(value: str | None, what: str) -> str:
    """A selectbox left empty in a form: say which choice is missing."""
    if not value:
        raise InvalidInput(f"Choose {what}.")
    return value
