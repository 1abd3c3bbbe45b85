"""`python -m core alerts …`: alert rules (admins), one evaluation and delivery pass (for cron), recent alerts."""

from __future__ import annotations

import argparse

import pandas as pd

from core import alerts
from core.alerts.rules import EVENT_DESCRIPTIONS
from core.cli.context import Commands, Context
from core.config import load_alert_settings
from core.services import utcnow

EVENTS_HELP = "EVENT is one of:\n" + "\n".join(
    f"  {event.value:<20} {text}" for event, text in EVENT_DESCRIPTIONS.items()
)
TARGET_HELP = (
    "TARGET is mailto:ADDRESS (sent through FLEET_SMTP_URL) or the https:// URL of a chat incoming webhook "
    '(Slack-compatible: {"text": …}).\n'
)


def register(commands: Commands) -> None:
    group = commands.add_parser(
        "alerts",
        help="alert rules, one evaluation pass, recent alerts",
        description="Alerts the business sets: one alert per transition, delivered by e-mail or chat webhook.",
    )
    sub = group.add_subparsers(dest="alerts_command", required=True, metavar="COMMAND")
    rule = sub.add_parser("rule", help="alert rules (admins)").add_subparsers(dest="rule_command", required=True)
    add = rule.add_parser(
        "add",
        help="add an alert rule",
        epilog=f"{EVENTS_HELP}\n{TARGET_HELP}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add.add_argument("name")
    add.add_argument("--on", dest="event", required=True, metavar="EVENT")
    add.add_argument("--to", dest="target", required=True, metavar="TARGET")
    add.add_argument("--workspace", help="only this workspace (by name)")
    add.add_argument("--waba", help="only this WABA (Meta id)")
    add.add_argument("--threshold", help="percentage for portfolio_headroom, free slots for waba_slots/workspace_slots")
    add.add_argument("--quiet-hours", help="after a message, gather this rule's alerts for H hours into one")
    add.set_defaults(handler=_rule_add)
    rule.add_parser("list", help="list the rules").set_defaults(handler=_rule_list)
    disable = rule.add_parser("disable", help="stop evaluating a rule")
    disable.add_argument("name")
    disable.set_defaults(handler=_rule_disable)
    sub.add_parser("run", help="one pass: evaluate every rule, then deliver what is due").set_defaults(handler=_run)
    listing = sub.add_parser("list", help="recent alerts, newest first")
    listing.add_argument("--open", action="store_true", help="only alerts that have not cleared")
    listing.add_argument("--limit", type=int, default=50)
    listing.set_defaults(handler=_list)


def _rule_add(args: argparse.Namespace, context: Context) -> int:
    name = alerts.add_rule(
        context.engine,
        context.actor,
        name=args.name,
        event=args.event,
        target=args.target,
        workspace=args.workspace,
        waba=args.waba,
        threshold=args.threshold,
        quiet_hours=args.quiet_hours,
    )
    print(f"Alert rule '{name}' added.")
    return 0


def _rule_list(args: argparse.Namespace, context: Context) -> int:
    _print(alerts.rules_table(context.engine), "No alert rule yet: add one with `alerts rule add`.")
    return 0


def _rule_disable(args: argparse.Namespace, context: Context) -> int:
    alerts.disable_rule(context.engine, context.actor, args.name)
    print(f"Alert rule '{args.name}' is disabled.")
    return 0


def _run(args: argparse.Namespace, context: Context) -> int:
    print(alerts.run_pass(context.engine, utcnow(), load_alert_settings()))
    return 0


def _list(args: argparse.Namespace, context: Context) -> int:
    frame = alerts.alerts_table(context.engine, open_only=args.open, limit=args.limit)
    columns = ["id", "rule", "subject", "before_value", "after_value", "since", "resolved_at", "delivery"]
    _print(frame[columns], "No alert.")
    return 0


def _print(frame: pd.DataFrame, empty: str) -> None:
    if frame.empty:
        print(empty)
        return
    print(frame.to_string(index=False))
