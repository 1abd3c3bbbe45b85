"""The one place that decides when cached data may be stale: every cached read is keyed by `read_key()`.

Every successful write in the app also drops all cached reads (`feedback.succeed`); data changed outside the app
(CLI, imports, other processes) shows once the freshness token changes.
"""

from __future__ import annotations

import time

from pages.kit.database import database_url

READ_TTL_SECONDS = 60


def freshness() -> str:
    """A token that changes when cached reads may be out of date: today, every READ_TTL_SECONDS."""
    return str(int(time.time() // READ_TTL_SECONDS))


def read_key() -> tuple[str, str]:
    """(database URL, freshness token): the first two arguments of every cached read."""
    return database_url(), freshness()
