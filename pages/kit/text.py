"""Text shown as written where Streamlit reads Markdown, and counts in words."""

from __future__ import annotations

import re

# Markdown, Streamlit's own directives (:red[…], :material/…:) and LaTeX ($…$) read these characters.
_MARKDOWN_SYNTAX = re.compile(r"([\\`*_\[\]<>$:~|#])")


def literal(text: object) -> str:
    """Text shown as written where Streamlit reads Markdown (titles, captions, alerts, toasts): names from Meta, from
    files and from links may hold link, emphasis, icon or formula syntax."""
    return _MARKDOWN_SYNTAX.sub(r"\\\1", str(text))


def count(number: int, singular: str, plural: str | None = None) -> str:
    """'1 entry', '2 entries', '10,000 numbers'."""
    return f"{number:,} {singular if number == 1 else plural or singular + 's'}"
