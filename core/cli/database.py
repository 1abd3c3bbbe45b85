"""`db upgrade`: create or upgrade the schema, under the migration lock (every command does it first unless
FLEET_AUTO_MIGRATE=0; this one always does, and says what it did).
`db grant-runtime ROLE`: the PostgreSQL grants of a runtime role that cannot rewrite history (core.privileges)."""

from __future__ import annotations

import argparse

from core import privileges
from core.cli.context import Commands, Context, done
from core.migrate import upgrade


def register(commands: Commands) -> None:
    db = commands.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="create or upgrade the schema").set_defaults(handler=_upgrade, manages_schema=True)
    grant = db.add_parser(
        "grant-runtime",
        help="print (or apply) the PostgreSQL grants of a least-privilege runtime role",
        description="Run as the owner role, after every migration. The runtime role must exist "
        "(CREATE ROLE fleet_app LOGIN PASSWORD '…').",
    )
    grant.add_argument("role", help="the role the app, CLI and worker connect as")
    grant.add_argument("--apply", action="store_true", help="run the statements now (default: print them)")
    grant.set_defaults(handler=_grant_runtime)


def _upgrade(args: argparse.Namespace, context: Context) -> int:
    upgraded_from = upgrade(context.engine)
    if upgraded_from is None:
        return done("Database schema is up to date.")
    return done(f"Database schema upgraded from {upgraded_from or '(empty)'} to the latest revision.")


def _grant_runtime(args: argparse.Namespace, context: Context) -> int:
    if args.apply:
        privileges.grant_runtime(context.engine, args.role)
        return done(f"Role {args.role} has the runtime grants: no UPDATE, DELETE or TRUNCATE of the history.")
    with context.engine.connect() as connection:
        statements = privileges.runtime_grants(connection, args.role)
    return done("\n".join(f"{statement};" for statement in statements))
