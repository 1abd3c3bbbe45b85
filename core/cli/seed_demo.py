"""`seed-demo`: fill an empty database with the demo fleet or a synthetic one of a given size."""

from __future__ import annotations

import argparse

from core import seed
from core.cli.context import Commands, Context, done
from core.model import Role, require_role
from core.reads.accounts import is_empty
from core.wording import count


def register(commands: Commands) -> None:
    demo = commands.add_parser("seed-demo", help="fill an empty database with a demo or synthetic fleet")
    demo.add_argument("--workspaces", type=int, help="synthetic fleet: number of workspaces")
    demo.add_argument("--wabas-per-workspace", type=int, default=10)
    demo.add_argument("--numbers-per-waba", type=int, default=20)
    demo.add_argument("--history-days", type=int, default=90)
    demo.add_argument("--portfolios", type=int)
    demo.add_argument("--if-empty", action="store_true", help="do nothing (exit 0) when the database holds a fleet")
    demo.set_defaults(handler=_seed_demo)


def _seed_demo(args: argparse.Namespace, context: Context) -> int:
    require_role(context.actor, Role.ADMIN, "seed the database")
    if args.if_empty and not is_empty(context.engine):
        return done("The database already holds a fleet; nothing seeded.")
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
    return done(
        f"Seeded {count(report.workspaces, 'workspace')}, {count(report.portfolios, 'portfolio')}, "
        f"{count(report.wabas, 'WABA')}, {count(report.numbers, 'number')} ({report.active_groups:,} in active "
        f"groups), {count(report.templates, 'template')}, {count(report.snapshots, 'health snapshot')}."
    )
