"""Unexpected errors (bugs): the full report goes to the server's log under a short id, and the user sees only
that id, never a traceback."""

from __future__ import annotations

import logging
import secrets

LOGGER = logging.getLogger("waba_fleet")


def report_unexpected(error: BaseException, where: str) -> str:
    """Log `error` with its traceback and a new error id; return the id to show the user."""
    error_id = secrets.token_hex(4)
    ensure_log_handler()
    LOGGER.error("Unexpected error %s in %s", error_id, where, exc_info=error)
    return error_id


def ensure_log_handler() -> None:
    """The server's log is its standard error, like Streamlit's own messages."""
    if not LOGGER.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        LOGGER.addHandler(handler)
