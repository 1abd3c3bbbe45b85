"""`number` and `group`: sender numbers and their subscription groups."""

from __future__ import annotations

import argparse

from core import services
from core.cli.context import Commands, Context, done


def register(commands: Commands) -> None:
    number = commands.add_parser("number", help="sender phone numbers").add_subparsers(dest="sub", required=True)
    add = number.add_parser("add", help="add a subscription group and its number")
    add.add_argument("--waba", required=True, help="Meta WABA id")
    add.add_argument("--group", required=True)
    add.add_argument("--phone", required=True)
    add.add_argument("--display-name", default="")
    add.add_argument("--region", help="country (e.g. FR) for a number typed in national format")
    add.set_defaults(handler=_number_add)
    reattach = number.add_parser("reattach", help="bind a number whose group is archived to a new group")
    reattach.add_argument("--waba", required=True)
    reattach.add_argument("--group", required=True)
    reattach.add_argument("--phone", required=True)
    reattach.add_argument("--region")
    reattach.set_defaults(handler=_number_reattach)

    group = commands.add_parser("group", help="subscription groups").add_subparsers(dest="sub", required=True)
    archive = group.add_parser("archive", help="archive the active group of a number (step 1 of removing it)")
    archive.add_argument("--phone", required=True)
    archive.add_argument("--region")
    archive.set_defaults(handler=_group_archive)


def _number_add(args: argparse.Namespace, context: Context) -> int:
    result = services.add_number(
        context.engine,
        context.actor,
        meta_waba_id=args.waba,
        group_name=args.group,
        phone=args.phone,
        display_name=args.display_name,
        region=args.region,
    )
    return done(f"Number {result.e164} added to '{result.waba_name}' in subscription group '{result.group_name}'.")


def _number_reattach(args: argparse.Namespace, context: Context) -> int:
    result = services.reattach_number(
        context.engine,
        context.actor,
        phone=args.phone,
        meta_waba_id=args.waba,
        group_name=args.group,
        region=args.region,
    )
    return done(
        f"Number {result.e164} re-attached to '{result.waba_name}' in subscription group '{result.group_name}'."
    )


def _group_archive(args: argparse.Namespace, context: Context) -> int:
    result = services.archive_group(context.engine, context.actor, phone=args.phone, region=args.region)
    return done(result.next_step)
