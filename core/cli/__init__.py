"""`python -m core`: the fleet from the command line. Exit 0 on success, 1 on a refused change or invalid
input (one line on stderr), 2 on a usage error.

Each command group is a module of this package with a `register(commands)` function; adding a group is a new
module and one line in GROUPS.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Mapping, Sequence

from core import services
from core.cli import (
    accounts,
    alerts,
    check,
    database,
    exports,
    imports,
    numbers,
    seed_demo,
    serve_app,
    sync,
    users,
    webhooks,
)
from core.cli.context import Context
from core.config import SETTINGS_HELP, load_settings
from core.db import make_engine
from core.errors import FleetError, InvalidInput
from core.migrate import ensure_schema

GROUPS = (database, seed_demo, accounts, numbers, users, exports, check, imports, sync, webhooks, alerts, serve_app)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m core",
        description="WABA Fleet: WhatsApp Business accounts, numbers and subscription groups.",
    )
    parser.add_argument("--as", dest="user", help="acting user (default: $FLEET_USER or the local admin)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args, extra = parser.parse_known_args(arguments)
    if extra and not getattr(args, "takes_extra_arguments", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra_arguments = extra
    try:
        settings = load_settings()
        refuse_undecodable_arguments(arguments)
        refuse_undecodable_settings(os.environ)
        engine = make_engine(settings.database_url, pool_size=settings.pool_size, max_overflow=settings.max_overflow)
        if not getattr(args, "manages_schema", False):  # `db upgrade` and `serve-app` see to the schema themselves
            ensure_schema(engine, auto_migrate=settings.auto_migrate)
        actor = services.resolve_local_actor(engine, settings, args.user)
        return int(args.handler(args, Context(engine=engine, actor=actor)))
    except FleetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


# What Python makes of a byte that is not UTF-8 in an argument ($'bad\xff' in a shell): a lone surrogate.
_UNDECODABLE = re.compile("[\udc80-\udcff]")


def refuse_undecodable_arguments(arguments: Sequence[str]) -> None:
    """Name an argument that is not UTF-8 text, instead of failing when its value is written."""
    for position, argument in enumerate(arguments):
        byte = _UNDECODABLE.search(argument)
        if byte is None:
            continue
        raw = argument.encode("utf-8", "surrogateescape")
        if argument.startswith("--") and "=" in argument:
            option, value = argument.split("=", 1)
            where, raw = f"The value of {option}", value.encode("utf-8", "surrogateescape")
        else:
            where = f"The argument after '{arguments[position - 1]}'" if position else "The first argument"
        raise InvalidInput(
            f"{where} is not UTF-8 text: {raw!r} (byte 0x{ord(byte[0]) - 0xDC00:02x}); type it again, or convert it "
            "to UTF-8."
        )


def refuse_undecodable_settings(environment: Mapping[str, str]) -> None:
    """The same for the settings read from the environment (FLEET_USER names the acting user in the audit log)."""
    for name in SETTINGS_HELP:
        byte = _UNDECODABLE.search(environment.get(name, ""))
        if byte is not None:
            raw = environment[name].encode("utf-8", "surrogateescape")
            raise InvalidInput(f"The setting {name} is not UTF-8 text: {raw!r} (byte 0x{ord(byte[0]) - 0xDC00:02x}).")
