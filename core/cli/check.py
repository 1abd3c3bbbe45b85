"""`check`: re-verify every rule on the stored data."""

from __future__ import annotations

import argparse
import sys

from core import integrity
from core.cli.context import Commands, Context, done


def register(commands: Commands) -> None:
    commands.add_parser("check", help="re-verify every rule on the stored data").set_defaults(handler=_check)


def _check(args: argparse.Namespace, context: Context) -> int:
    violations = integrity.find_violations(context.engine)
    if not violations:
        return done("All rules hold.")
    for violation in violations:
        print(violation, file=sys.stderr)
    return 1
