"""PostgreSQL least privilege: the grants of a runtime role that runs the app but cannot rewrite its history.

An owner role runs the migrations and owns every table. The runtime role (app, CLI, worker) owns nothing, so it
cannot drop or disable a trigger or change the schema; it may read and write what the app writes, but never
TRUNCATE, never UPDATE or DELETE the audit log or the recorded values of the health history, and never UPDATE a
number's E.164. The grants follow the tables the database holds: run them again after each migration.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Connection, Engine, inspect, text

from core.errors import InvalidInput
from core.integrity import HISTORY_TABLES

# Table → the only columns the runtime role may UPDATE (none: INSERT and SELECT only).
APPEND_ONLY = {"audit_log": (), "number_health_snapshots": ("quality_changed",)}
# Table → columns the runtime role may never UPDATE.
FIXED_COLUMNS = {"phone_numbers": ("e164",)}
READ_ONLY = ("alembic_version",)


def runtime_grants(connection: Connection, role: str) -> list[str]:
    """The statements that give `role` exactly the runtime rights on the connected database (idempotent)."""
    if connection.dialect.name != "postgresql":
        raise InvalidInput("Database roles are a PostgreSQL setting; SQLite has none (protect the file instead).")
    if not role.strip():
        raise InvalidInput("Name the runtime role (e.g. fleet_app).")
    quote = connection.dialect.identifier_preparer.quote
    who, schema = quote(role), quote(connection.scalar(text("SELECT current_schema()")) or "public")
    database = quote(connection.scalar(text("SELECT current_database()")) or "")
    statements = [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {who}",
        f"REVOKE CREATE ON SCHEMA {schema} FROM PUBLIC",
        f"GRANT CONNECT ON DATABASE {database} TO {who}",
        f"GRANT USAGE ON SCHEMA {schema} TO {who}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {who}",
    ]
    inspector = inspect(connection)
    for table in sorted(inspector.get_table_names()):
        columns = [column["name"] for column in inspector.get_columns(table)]
        statements.append(_table_grant(table, columns, who, quote))
    return statements


def _table_grant(table: str, columns: list[str], who: str, quote: Callable[[str], str]) -> str:
    name = quote(table)
    if table in READ_ONLY:
        return f"GRANT SELECT ON {name} TO {who}"
    if table in APPEND_ONLY:
        updatable = APPEND_ONLY[table]
        return f"GRANT SELECT, INSERT{_update_of(updatable, quote)} ON {name} TO {who}"
    if table in FIXED_COLUMNS:
        updatable = tuple(c for c in columns if c not in FIXED_COLUMNS[table])
        return f"GRANT SELECT, INSERT{_update_of(updatable, quote)} ON {name} TO {who}"
    if table in HISTORY_TABLES:
        return f"GRANT SELECT, INSERT, UPDATE ON {name} TO {who}"
    return f"GRANT SELECT, INSERT, UPDATE, DELETE ON {name} TO {who}"


def _update_of(columns: tuple[str, ...], quote: Callable[[str], str]) -> str:
    """UPDATE of these columns only, as a grant's clause; nothing when there are none."""
    return f", UPDATE ({', '.join(map(quote, columns))})" if columns else ""


def grant_runtime(engine: Engine, role: str) -> list[str]:
    """Apply the runtime grants in one transaction, as the owner role; returns what was run."""
    with engine.begin() as connection:
        statements = runtime_grants(connection, role)
        for statement in statements:
            connection.execute(text(statement))
    return statements
