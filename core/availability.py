"""Whether an error means the database is out of reach for a while (a restart, a failover), not a bug: the
pages then say so and try again, the receiver answers 503, the worker waits."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, OperationalError

# SQLSTATE classes of a server that is gone or not yet back: connection exception (08…), operator intervention
# (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now, e.g. "the database system is starting up").
_UNAVAILABLE_PREFIXES = ("08", "57P")


def is_database_unavailable(error: BaseException) -> bool:
    """The PostgreSQL server could not be reached, or dropped the connection (a stale pooled one was checked)."""
    for cause in _chain(error):
        if not isinstance(cause, DBAPIError):
            continue
        if cause.connection_invalidated:
            return True
        if isinstance(cause, OperationalError) and type(cause.orig).__module__.startswith("psycopg"):
            sqlstate = getattr(cause.orig, "sqlstate", None)
            if sqlstate is None or sqlstate.startswith(_UNAVAILABLE_PREFIXES):
                return True
    return False


def first_line(error: BaseException) -> str:
    """The driver's message without SQLAlchemy's statement and background link, for a one-line log."""
    cause = getattr(error, "orig", None) or error
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0]


def _chain(error: BaseException) -> list[BaseException]:
    """The error and what it was raised from (a FleetError may wrap the driver's error)."""
    seen: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


DATABASE_UNAVAILABLE_MESSAGE = (
    "The database is unavailable at the moment; retrying. This page comes back by itself when it answers again."
)
