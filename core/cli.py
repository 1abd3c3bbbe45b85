"""`python -m core`: the fleet from the command line. Exit 0 on success, 1 on a refused change or invalid
input (one line on stderr), 2 on a usage error."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from core import exports, integrity, seed, services
from core.config import load_settings
from core.db import make_engine
from core.errors import FleetError, InvalidInput
from core.migrate import upgrade
from core.model import Actor
from core.reads.accounts import is_empty
from core.reads.audit import audit_table
from core.reads.history import history_export
from core.reads.numbers import NUMBER_EXPORT_COLUMNS, numbers_table


@dataclass(frozen=True)
class Context:
    engine: Engine
    actor: Actor


Handler = Callable[[argparse.Namespace, Context], int]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m core",
        description="WABA Fleet: WhatsApp Business accounts, numbers and subscription groups.",
    )
    parser.add_argument(
        "--as",
        dest="user",
        help="acting user (default: $FLEET_USER or the local admin)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db = commands.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="create or upgrade the schema").set_defaults(handler=_db_upgrade)

    demo = commands.add_parser("seed-demo", help="fill an empty database with a demo or synthetic fleet")
    demo.add_argument("--workspaces", type=int, help="synthetic fleet: number of workspaces")
    demo.add_argument("--wabas-per-workspace", type=int, default=10)
    demo.add_argument("--numbers-per-waba", type=int, default=20)
    demo.add_argument("--history-days", type=int, default=90)
    demo.add_argument("--portfolios", type=int)
    demo.add_argument("--if-empty", action="store_true", help="do nothing (exit 0) when the database holds a fleet")
    demo.set_defaults(handler=_seed_demo)

    workspace = commands.add_parser("workspace", help="workspaces").add_subparsers(dest="sub", required=True)
    add = workspace.add_parser("add", help="add a workspace")
    add.add_argument("name")
    add.set_defaults(
        handler=lambda a, c: _done(f"Workspace '{services.add_workspace(c.engine, c.actor, a.name)}' added.")
    )

    portfolio = commands.add_parser("portfolio", help="business portfolios").add_subparsers(dest="sub", required=True)
    add = portfolio.add_parser("add", help="register a Meta business portfolio")
    add.add_argument("--meta-id", required=True)
    add.add_argument("--messaging-limit", help="shared messaging limit tier, e.g. TIER_2K")
    add.add_argument("name")
    add.set_defaults(handler=_portfolio_add)
    connect = portfolio.add_parser("connect", help="connect a portfolio to a workspace")
    connect.add_argument("--workspace", required=True)
    connect.add_argument("--portfolio", required=True, help="Meta business id")
    connect.set_defaults(handler=_portfolio_connect)

    waba = commands.add_parser("waba", help="WhatsApp Business Accounts").add_subparsers(dest="sub", required=True)
    add = waba.add_parser("add", help="add a WhatsApp Business Account to a workspace")
    add.add_argument("--workspace", required=True)
    add.add_argument("--portfolio", required=True, help="Meta business id")
    add.add_argument("--meta-id", required=True)
    add.add_argument(
        "--connect",
        action="store_true",
        help="connect the portfolio to the workspace if needed",
    )
    add.add_argument("name")
    add.set_defaults(handler=_waba_add)
    archive = waba.add_parser("archive", help="archive a WABA with no active group")
    archive.add_argument("--meta-id", required=True)
    archive.set_defaults(
        handler=lambda a, c: _done(f"WABA {services.archive_waba(c.engine, c.actor, a.meta_id)} archived.")
    )

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

    user = commands.add_parser("user", help="users and roles").add_subparsers(dest="sub", required=True)
    role = user.add_parser("set-role", help="give a user a role")
    role.add_argument("name")
    role.add_argument("role", help="viewer, analyst or admin")
    role.set_defaults(handler=_user_set_role)

    export = commands.add_parser("export", help="export data").add_subparsers(dest="sub", required=True)
    for what in EXPORTS:
        one = export.add_parser(what, help=f"export {what}")
        one.add_argument("--format", choices=["csv", "json"], default="csv")
        one.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")
        one.set_defaults(handler=_export, what=what)

    commands.add_parser("check", help="re-verify every rule on the stored data").set_defaults(handler=_check)
    from core import import_cli, webhook_cli  # noqa: F401  (register `import …`, `serve-webhooks`, `worker`)

    for register in EXTRA_COMMANDS:
        register(commands)
    return parser


# Other modules (imports) add their sub-commands here, keeping this module free of their details.
EXTRA_COMMANDS: list[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]] = []


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


def _done(message: str) -> int:
    print(message)
    return 0


def _db_upgrade(args: argparse.Namespace, context: Context) -> int:
    return _done("Database schema is up to date.")


def _seed_demo(args: argparse.Namespace, context: Context) -> int:
    from core.model import Role, require_role

    require_role(context.actor, Role.ADMIN, "seed the database")
    if args.if_empty and not is_empty(context.engine):
        return _done("The database already holds a fleet; nothing seeded.")
    if args.workspaces is None:
        shape = seed.DEMO_SHAPE
    else:
        shape = seed.synthetic_shape(
            args.workspaces,
            args.wabas_per_workspace,
            args.numbers_per_waba,
            args.history_days,
            args.portfolios,
        )
    report = seed.seed(context.engine, shape)
    return _done(
        f"Seeded {report.workspaces} workspaces, {report.portfolios} portfolios, {report.wabas} WABAs, "
        f"{report.numbers} numbers ({report.active_groups} in active groups), {report.templates} templates, "
        f"{report.snapshots} health snapshots."
    )


def _portfolio_add(args: argparse.Namespace, context: Context) -> int:
    meta_id = services.add_portfolio(
        context.engine,
        context.actor,
        meta_business_id=args.meta_id,
        name=args.name,
        messaging_limit=args.messaging_limit,
    )
    return _done(f"Business portfolio {meta_id} added.")


def _portfolio_connect(args: argparse.Namespace, context: Context) -> int:
    changed = services.connect_portfolio(
        context.engine,
        context.actor,
        workspace=args.workspace,
        portfolio_meta_id=args.portfolio,
    )
    return _done(
        f"Portfolio {args.portfolio} {'connected to' if changed else 'was already connected to'} '{args.workspace}'."
    )


def _waba_add(args: argparse.Namespace, context: Context) -> int:
    services.add_waba(
        context.engine,
        context.actor,
        workspace=args.workspace,
        portfolio_meta_id=args.portfolio,
        meta_waba_id=args.meta_id,
        name=args.name,
        connect_if_needed=args.connect,
    )
    return _done(f"WhatsApp Business Account '{args.name}' ({args.meta_id}) added to '{args.workspace}'.")


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
    return _done(f"Number {result.e164} added to '{result.waba_name}' in subscription group '{result.group_name}'.")


def _number_reattach(args: argparse.Namespace, context: Context) -> int:
    result = services.reattach_number(
        context.engine,
        context.actor,
        phone=args.phone,
        meta_waba_id=args.waba,
        group_name=args.group,
        region=args.region,
    )
    return _done(
        f"Number {result.e164} re-attached to '{result.waba_name}' in subscription group '{result.group_name}'."
    )


def _group_archive(args: argparse.Namespace, context: Context) -> int:
    result = services.archive_group(context.engine, context.actor, phone=args.phone, region=args.region)
    return _done(result.next_step)


def _user_set_role(args: argparse.Namespace, context: Context) -> int:
    services.set_user_role(context.engine, context.actor, name=args.name, role=args.role)
    return _done(f"User '{args.name}' is now {args.role}.")


EXPORTS: dict[str, Callable[[Engine], object]] = {
    "numbers": lambda engine: numbers_table(engine)[NUMBER_EXPORT_COLUMNS],
    "history": lambda engine: history_export(engine),
    "audit": lambda engine: audit_table(engine, limit=1_000_000),
}


def _export(args: argparse.Namespace, context: Context) -> int:
    from core.model import Role, require_role

    require_role(context.actor, Role.ANALYST, f"export {args.what}")
    payload = exports.export_bytes(EXPORTS[args.what](context.engine), args.format)  # type: ignore[arg-type]
    if args.output is None:
        sys.stdout.buffer.write(payload)
        return 0
    try:
        args.output.write_bytes(payload)
    except OSError as error:
        raise InvalidInput(f"Cannot write {args.output}: {error.strerror or error}.") from None
    print(f"Wrote {args.output}.", file=sys.stderr)
    return 0


def _check(args: argparse.Namespace, context: Context) -> int:
    violations = integrity.find_violations(context.engine)
    if not violations:
        return _done("All rules hold.")
    for violation in violations:
        print(violation, file=sys.stderr)
    return 1
