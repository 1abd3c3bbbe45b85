"""`python -m core`: the fleet from the command line. Exit 0 on success, 1 on a refused change or invalid
input (one line on stderr), 2 on a usage error.

Each command group is a module of this package with a `register(commands)` function; adding a group is a new
module and one line in GROUPS.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from core import services
from core.cli import accounts, alerts, check, database, exports, imports, numbers, seed_demo, sync, users, webhooks
from core.cli.context import Context
from core.config import load_settings
from core.db import make_engine
from core.errors import FleetError
from core.migrate import upgrade

GROUPS = (database, seed_demo, accounts, numbers, users, exports, check, imports, sync, webhooks, alerts)


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
    args = build_parser().parse_args(argv)
    settings = load_settings()
    try:
        engine = make_engine(settings.database_url)
        upgrade(engine)
        actor = services.resolve_local_actor(engine, settings, args.user)
        return int(args.handler(args, Context(engine=engine, actor=actor)))
    except FleetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
