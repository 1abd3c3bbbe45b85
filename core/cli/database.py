"""`db upgrade`: create or upgrade the schema (every command does it first; this one only reports it)."""

from __future__ import annotations

import argparse

from core.cli.context import Commands, Context, done


def register(commands: Commands) -> None:
    db = commands.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="create or upgrade the schema").set_defaults(handler=_upgrade)


def _upgrade(args: argparse.Namespace, context: Context) -> int:
    return done("Database schema is up to date.")
