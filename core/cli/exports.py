"""`export numbers|history|audit|wabas|templates`: CSV or JSON files for analysts and admins."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from core import exports
from core.cli.context import Commands, Context
from core.errors import InvalidInput
from core.model import require_export_right
from core.reads.accounts import wabas_table
from core.reads.audit import audit_table
from core.reads.history import history_export
from core.reads.numbers import NUMBER_EXPORT_COLUMNS, numbers_table
from core.reads.templates import templates_table

EXPORTS: dict[str, Callable[[Engine], pd.DataFrame]] = {
    "numbers": lambda engine: numbers_table(engine)[NUMBER_EXPORT_COLUMNS],
    "history": history_export,
    "audit": lambda engine: audit_table(engine, limit=1_000_000),
    "wabas": wabas_table,
    "templates": templates_table,
}


def register(commands: Commands) -> None:
    export = commands.add_parser("export", help="export data").add_subparsers(dest="sub", required=True)
    for what in EXPORTS:
        one = export.add_parser(what, help=f"export {what}")
        one.add_argument("--format", choices=["csv", "json"], default="csv")
        one.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")
        one.set_defaults(handler=_export, what=what)


def _export(args: argparse.Namespace, context: Context) -> int:
    require_export_right(context.actor, args.what)
    payload = exports.export_bytes(EXPORTS[args.what](context.engine), args.format)
    if args.output is None:
        sys.stdout.buffer.write(payload)
        return 0
    try:
        args.output.write_bytes(payload)
    except OSError as error:
        raise InvalidInput(f"Cannot write {args.output}: {error.strerror or error}.") from None
    print(f"Wrote {args.output}.", file=sys.stderr)
    return 0
