"""Text shown as written where Streamlit reads Markdown, and counts in words."""

from __future__ import annotations

import re

from core.wording import count  # re-exported: pages write counts as every message does

# Markdown, Streamlit's own directives (:red[…], :material/…:) and LaTeX ($…$) read these characters.
_MARKDOWN_SYNTAX = re.compile(r"([\\`*_\[\]<>$:~|#])")


def literal(text: object) -> str:
    """Text shown as written where Streamlit reads Markdown (titles, captions, alerts, toasts): names from Meta, from
    files and from links may hold link, emphasis, icon or formula syntax."""
    return _MARKDOWN_SYNTAX.sub(r"\\\1", str(text))


__all__ = ["count", "literal"]
