"""How the fleet is put into words on every page and in every message: counts with their plural."""

from __future__ import annotations


def count(number: int, singular: str, plural: str | None = None) -> str:
    """'1 workspace', '2 workspaces', '1 entry', '10,000 numbers'."""
    return f"{number:,} {singular if number == 1 else plural or singular + 's'}"
