"""`user set-role`: who may do what once people sign in."""

from __future__ import annotations

import argparse

from core import services
from core.cli.context import Commands, Context, done


def register(commands: Commands) -> None:
    user = commands.add_parser("user", help="users and roles").add_subparsers(dest="sub", required=True)
    role = user.add_parser("set-role", help="give a user a role")
    role.add_argument("name")
    role.add_argument("role", help="viewer, analyst or admin")
    role.set_defaults(handler=_set_role)


def _set_role(args: argparse.Namespace, context: Context) -> int:
    services.set_user_role(context.engine, context.actor, name=args.name, role=args.role)
    return done(f"User '{args.name}' is now {args.role}.")
