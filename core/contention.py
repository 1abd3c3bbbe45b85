"""Concurrent writers: the order they lock rows in, and one more try when the database aborts a unit of work to
break a deadlock.

Every write that changes what a workspace holds locks, in this order: its workspaces (by id), then its WABAs (by
id), then whatever rows it updates. On PostgreSQL, inserting a subscription group or a WABA also takes a key-share
lock on the workspace it references, so a writer holding a WABA could otherwise wait for a workspace another
writer holds while that one waits for the WABA. SQLite serialises writers (BEGIN IMMEDIATE) and needs no row locks.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable, Iterable
from typing import ParamSpec, TypeVar

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.db import Waba, Workspace
from core.errors import WriteConflict

MAX_ATTEMPTS = 4
# SQLSTATEs of a transaction the database aborted only because of other transactions: deadlock detected,
# serialization failure. The same unit of work run again sees their committed result.
_RETRYABLE = frozenset({"40P01", "40001"})
_log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")


def lock_workspaces_then_wabas(
    session: Session, *, workspace_names: Iterable[str] = (), meta_waba_ids: Iterable[str] = ()
) -> None:
    """Lock the named workspaces and those of the named WABAs, then those WABAs, each in id order (PostgreSQL)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    names, waba_ids = sorted(set(workspace_names)), sorted(set(meta_waba_ids))
    if not names and not waba_ids:
        return
    workspaces_of_wabas = select(Waba.workspace_id).where(Waba.meta_waba_id.in_(waba_ids))
    session.execute(
        select(Workspace.id)
        .where(or_(Workspace.name.in_(names), Workspace.id.in_(workspaces_of_wabas)))
        .order_by(Workspace.id)
        .with_for_update()
    ).all()
    if waba_ids:
        session.execute(
            select(Waba.id).where(Waba.meta_waba_id.in_(waba_ids)).order_by(Waba.id).with_for_update()
        ).all()


def retried_on_conflict(unit_of_work: Callable[P, T]) -> Callable[P, T]:
    """Run a unit of work again (up to MAX_ATTEMPTS in all) when the database aborted it as a deadlock victim or
    for a serialization failure; after the last attempt, or when SQLite stayed locked past its busy timeout, a
    WriteConflict says so in one line."""
    name = getattr(unit_of_work, "__qualname__", type(unit_of_work).__name__)

    @functools.wraps(unit_of_work)
    def run(*args: P.args, **kwargs: P.kwargs) -> T:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return unit_of_work(*args, **kwargs)
            except Exception as error:
                if is_database_busy(error):
                    raise WriteConflict(
                        "Another write kept the database busy for longer than this one waits; nothing was written. "
                        "Try again."
                    ) from error
                if not is_transient_conflict(error):
                    raise
                if attempt == MAX_ATTEMPTS:
                    raise WriteConflict(
                        f"Other changes to the same accounts kept colliding with this one ({MAX_ATTEMPTS} attempts); "
                        "nothing was written. Try again."
                    ) from error
                _log.warning("%s: %s; attempt %d of %d", name, _first_line(error), attempt + 1, MAX_ATTEMPTS)
                time.sleep(random.uniform(0, 0.05 * attempt))  # apart, so the same pair does not collide again
        raise AssertionError("unreachable")

    return run


def is_transient_conflict(error: BaseException) -> bool:
    """A deadlock or serialization failure, raised by SQLAlchemy (the driver's error as `.orig`) or by the driver."""
    driver_error = getattr(error, "orig", None) or error
    return getattr(driver_error, "sqlstate", None) in _RETRYABLE


def is_database_busy(error: BaseException) -> bool:
    """SQLite's writer lock was still held when the busy timeout ran out: waiting again would wait as long."""
    driver_error = getattr(error, "orig", None) or error
    return getattr(driver_error, "sqlite_errorname", None) in ("SQLITE_BUSY", "SQLITE_LOCKED")


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0]
