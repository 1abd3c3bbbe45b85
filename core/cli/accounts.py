"""`workspace`, `portfolio` and `waba`: the account tree's commands."""

from __future__ import annotations

import argparse

from core import services
from core.cli.context import Commands, Context, done


def register(commands: Commands) -> None:
    _register_workspace(commands)
    _register_portfolio(commands)
    _register_waba(commands)


def _register_workspace(commands: Commands) -> None:
    workspace = commands.add_parser("workspace", help="workspaces").add_subparsers(dest="sub", required=True)
    add = workspace.add_parser("add", help="add a workspace")
    add.add_argument("name")
    add.set_defaults(handler=_workspace_add)


def _register_portfolio(commands: Commands) -> None:
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


def _register_waba(commands: Commands) -> None:
    waba = commands.add_parser("waba", help="WhatsApp Business Accounts").add_subparsers(dest="sub", required=True)
    add = waba.add_parser("add", help="add a WhatsApp Business Account to a workspace")
    add.add_argument("--workspace", required=True)
    add.add_argument("--portfolio", required=True, help="Meta business id")
    add.add_argument("--meta-id", required=True)
    add.add_argument("--connect", action="store_true", help="connect the portfolio to the workspace if needed")
    add.add_argument("name")
    add.set_defaults(handler=_waba_add)
    archive = waba.add_parser("archive", help="archive a WABA with no active group")
    archive.add_argument("--meta-id", required=True)
    archive.set_defaults(handler=_waba_archive)


def _workspace_add(args: argparse.Namespace, context: Context) -> int:
    return done(f"Workspace '{services.add_workspace(context.engine, context.actor, args.name)}' added.")


def _portfolio_add(args: argparse.Namespace, context: Context) -> int:
    meta_id = services.add_portfolio(
        context.engine,
        context.actor,
        meta_business_id=args.meta_id,
        name=args.name,
        messaging_limit=args.messaging_limit,
    )
    return done(f"Business portfolio {meta_id} added.")


def _portfolio_connect(args: argparse.Namespace, context: Context) -> int:
    changed = services.connect_portfolio(
        context.engine,
        context.actor,
        workspace=args.workspace,
        portfolio_meta_id=args.portfolio,
    )
    return done(
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
    return done(f"WhatsApp Business Account '{args.name}' ({args.meta_id}) added to '{args.workspace}'.")


def _waba_archive(args: argparse.Namespace, context: Context) -> int:
    return done(f"WABA {services.archive_waba(context.engine, context.actor, args.meta_id)} archived.")
