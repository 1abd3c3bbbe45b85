"""A unit of work the database aborted to break a deadlock or a serialization conflict runs again, a bounded number
of times; then the user reads one line, and any other error goes through untouched."""

from __future__ import annotations

import psycopg.errors
import pytest
from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError

from core import services
from core.contention import MAX_ATTEMPTS, retried_on_conflict
from core.db import make_engine
from core.errors import WriteConflict
from core.reads.accounts import workspaces_summary
from tests.builders import ADMIN


class Flaky:
    """A unit of work that fails with `error` the first `failures` times it runs."""

    def __init__(self, error: Exception, failures: int) -> None:
        self.error, self.failures, self.runs = error, failures, 0

    def __call__(self) -> str:
        self.runs += 1
        if self.runs <= self.failures:
            raise self.error
        return "written"


AS_SQLALCHEMY_RAISES_IT = OperationalError("COPY …", None, psycopg.errors.DeadlockDetected("deadlock detected"))
CONFLICTS = {
    "deadlock through SQLAlchemy": AS_SQLALCHEMY_RAISES_IT,
    "deadlock from the driver (COPY)": psycopg.errors.DeadlockDetected("deadlock detected"),
    "serialization failure": psycopg.errors.SerializationFailure("could not serialize access"),
}


@pytest.mark.parametrize("error", CONFLICTS.values(), ids=CONFLICTS.keys())
def test_a_unit_of_work_aborted_by_a_conflict_runs_again_until_it_lands(error: Exception) -> None:
    unit = Flaky(error, failures=MAX_ATTEMPTS - 1)

    result = retried_on_conflict(unit)()

    assert (result, unit.runs) == ("written", MAX_ATTEMPTS)


def test_a_conflict_that_outlasts_every_attempt_is_one_line_for_the_user() -> None:
    unit = Flaky(AS_SQLALCHEMY_RAISES_IT, failures=MAX_ATTEMPTS)

    with pytest.raises(WriteConflict) as refused:
        retried_on_conflict(unit)()

    assert unit.runs == MAX_ATTEMPTS
    assert "nothing was written" in str(refused.value)
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(
    "error",
    [
        psycopg.errors.UniqueViolation("duplicate key"),
        OperationalError("SELECT 1", None, Exception("server closed")),
        KeyError("bug"),
    ],
    ids=["integrity", "lost connection", "bug"],
)
def test_any_other_error_is_not_retried(error: Exception) -> None:
    unit = Flaky(error, failures=1)

    with pytest.raises(type(error)):
        retried_on_conflict(unit)()

    assert unit.runs == 1


def test_a_sqlite_file_locked_past_the_busy_timeout_is_one_line_and_nothing_is_written(sqlite_engine: Engine) -> None:
    impatient = make_engine(str(sqlite_engine.url))
    event.listen(impatient, "connect", lambda connection, _: connection.execute("PRAGMA busy_timeout = 50"))
    holder = sqlite_engine.raw_connection()
    holder.cursor().execute("BEGIN IMMEDIATE")  # another writer, mid-transaction

    try:
        with pytest.raises(WriteConflict) as refused:
            services.add_workspace(impatient, ADMIN, "EU Brands")
    finally:
        holder.rollback()
        holder.close()
        impatient.dispose()

    assert "nothing was written" in str(refused.value)
    assert workspaces_summary(sqlite_engine).empty
