"""Which errors mean "the database is out of reach for now" (pages retry, the receiver answers 503)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from core.availability import first_line, is_database_unavailable
from core.db import make_engine
from core.errors import WriteConflict
from tests.e2e.fleet_app import free_port


def error_of(url: str, statement: str = "SELECT 1") -> Exception:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text(statement))
    except Exception as error:
        return error
    finally:
        engine.dispose()
    raise AssertionError("the statement did not fail")


def test_a_postgresql_server_that_does_not_answer_is_unavailable() -> None:
    error = error_of(f"postgresql+psycopg://fleet@127.0.0.1:{free_port()}/fleet?connect_timeout=2")

    assert is_database_unavailable(error)


def test_the_same_error_wrapped_in_a_fleet_error_is_still_unavailable() -> None:
    cause = error_of(f"postgresql+psycopg://fleet@127.0.0.1:{free_port()}/fleet?connect_timeout=2")
    wrapped = WriteConflict("wrapped")
    wrapped.__cause__ = cause

    assert is_database_unavailable(wrapped)


@pytest.mark.parametrize("statement", ["SELECT * FROM no_such_table", "SELECT 1/"])
def test_a_bug_in_a_statement_is_not_an_outage(tmp_path: Path, statement: str) -> None:
    assert not is_database_unavailable(error_of(f"sqlite:///{tmp_path / 'fleet.db'}", statement))


def test_an_ordinary_exception_is_not_an_outage() -> None:
    assert not is_database_unavailable(ValueError("no"))


def test_the_one_line_of_an_outage_is_the_driver_message_without_the_statement() -> None:
    error = error_of(f"postgresql+psycopg://fleet@127.0.0.1:{free_port()}/fleet?connect_timeout=2")

    line = first_line(error)

    assert "connection" in line.lower()
    assert "\n" not in line
    assert "sqlalche.me" not in line
