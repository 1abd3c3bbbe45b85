"""`python -m core sync meta [--business ID …] [--waba ID …] [--dry-run] [--create-unknown]`: pull the fleet's
WABAs, numbers and templates from Meta's Graph API.

Exit 0 when every WABA was read (or is waiting out Meta's throttling); 1 when one failed, or Meta refused the
token (nothing more is called); 2 for usage errors.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from core.cli.context import Commands, Context
from core.config import load_sync_settings
from core.graph import GraphClient
from core.sync import SyncRequest, sync_meta

SYNC_HELP = """\
Reads GET /{business-id}/owned_whatsapp_business_accounts and client_whatsapp_business_accounts, then each WABA's
phone_numbers (every tracked field, health_status included) and message_templates, following paging.next to the
end, and writes them as a listing import does: one transaction per WABA, audit entries and history. Without
--business, every business portfolio of the fleet is read. A WABA Meta lists that the fleet does not know is
reported (added with --create-unknown). When Meta throttles a WABA, it is not called again before Meta's estimate.
Needs META_ACCESS_TOKEN (a system-user token); META_GRAPH_URL points elsewhere (default: graph.facebook.com/v25.0)."""


def register(commands: Commands) -> None:
    parser = commands.add_parser("sync", help="pull the fleet from Meta's Graph API (admins)")
    sources = parser.add_subparsers(dest="sync_source", required=True, metavar="SOURCE")
    meta = sources.add_parser(
        "meta",
        help="WABAs, numbers and templates from the Graph API",
        description="Bring the fleet in line with what Meta's Graph API reports.",
        epilog=SYNC_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    meta.add_argument("--business", action="append", default=[], metavar="ID", help="Meta business id (repeatable)")
    meta.add_argument("--waba", action="append", default=[], metavar="ID", help="only this WABA (repeatable)")
    meta.add_argument("--dry-run", action="store_true", help="print what would change and write nothing")
    meta.add_argument("--create-unknown", action="store_true", help="add WABAs Meta lists that the fleet lacks")
    meta.add_argument("--workspace", help="workspace for --create-unknown (default: the portfolio's only one)")
    meta.set_defaults(handler=_sync)


def _sync(args: argparse.Namespace, context: Context) -> int:
    settings = load_sync_settings()
    request = SyncRequest(
        businesses=tuple(args.business),
        wabas=tuple(args.waba),
        dry_run=args.dry_run,
        create_unknown=args.create_unknown,
        workspace=args.workspace,
    )
    with GraphClient(settings.access_token, settings.graph_url) as client:
        report = sync_meta(context.engine, context.actor, request, client, now=datetime.now(UTC))
    print(report.render_text(dry_run=args.dry_run))
    if report.failed:
        print("error: the sync of some WABAs failed; nothing was written for them.", file=sys.stderr)
        return 1
    return 0

