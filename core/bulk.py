"""Many rows of the same shape handed to the database driver at once, in the caller's open transaction.

SQLAlchemy's own executemany builds and converts every row's parameters in Python, one value at a time; for the
thousands of rows an import writes that costs more than the database's work. Here each statement is compiled once
and each column's values are converted once per distinct value (an import writes the same time in every row).
Triggers, constraints and indexes apply as for any statement; the driver's errors are raised as SQLAlchemy's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from typing import Any, cast

from sqlalchemy import Connection, Table, insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

CHUNK = 5_000
Converter = Callable[[Any], Any] | None


class Memo(dict[Any, Any]):
    """Converts each distinct value once (bulk rows repeat a few timestamps and enum values thousands of times)."""

    def __init__(self, convert: Callable[[Any], Any]) -> None:
        super().__init__()
        self.convert = convert

    def __missing__(self, value: Any) -> Any:
        converted = self[value] = self.convert(value)
        return converted


def execute_rows(connection: Connection, statement: ClauseElement, rows: Sequence[dict[str, Any]]) -> None:
    """One INSERT or UPDATE for rows that all have the same keys (executemany); an UPDATE names its key with
    `bindparam`, the row's other keys are the columns it sets."""
    if not rows:
        return
    dialect = connection.dialect
    compiled = cast(SQLCompiler, statement.compile(dialect=dialect, column_keys=list(rows[0])))
    sql = str(compiled)
    names = list(compiled.positiontup or compiled.binds)
    converters = [_converter(compiled.binds[name].type, dialect) for name in names]
    with _driver_errors(connection, sql), closing(connection.connection.cursor()) as cursor:
        for part in _converted(rows, names, converters):
            if compiled.positional:
                cursor.executemany(sql, part)
            else:
                cursor.executemany(sql, [dict(zip(names, values, strict=True)) for values in part])


def insert_many(connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Rows into a table: one COPY stream on PostgreSQL (its executemany sends a statement per row), one
    executemany elsewhere."""
    if not rows:
        return
    if connection.dialect.name != "postgresql":
        execute_rows(connection, insert(table), rows)
        return
    names = list(rows[0])
    # Each value as the column's type would bind it (times as naive UTC); COPY skips SQLAlchemy's processing.
    converters = [_converter(table.c[name].type, connection.dialect) for name in names]
    preparer = connection.dialect.identifier_preparer
    columns = ", ".join(preparer.quote(name) for name in names)
    sql = f"COPY {preparer.format_table(table)} ({columns}) FROM STDIN"
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with _driver_errors(connection, sql), cursor, cursor.copy(sql) as copy:
        for part in _converted(rows, names, converters):
            for values in part:
                copy.write_row(values)


def _converted(
    rows: Sequence[dict[str, Any]], names: list[str], converters: list[Converter]
) -> Iterator[list[tuple[Any, ...]]]:
    """The rows as tuples of driver values, CHUNK rows at a time, converted column by column."""
    for start in range(0, len(rows), CHUNK):
        part = rows[start : start + CHUNK]
        columns = [
            [row[name] for row in part] if convert is None else [convert(row[name]) for row in part]
            for name, convert in zip(names, converters, strict=True)
        ]
        yield list(zip(*columns, strict=True))


def _converter(type_: Any, dialect: Any) -> Converter:
    bind = type_.dialect_impl(dialect).bind_processor(dialect)
    return None if bind is None else Memo(bind).__getitem__


@contextmanager
def _driver_errors(connection: Connection, statement: str) -> Iterator[None]:
    """The driver's error as SQLAlchemy raises a statement's error: a broken rule keeps its constraint's name."""
    dbapi_error = connection.dialect.loaded_dbapi.Error
    try:
        yield
    except dbapi_error as error:
        raise DBAPIError.instance(statement, None, error, dbapi_error) from error
