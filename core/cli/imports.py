"""`python -m core import meta-numbers|webhook|csv FILE [--dry-run]`: the import sub-commands of the CLI.

Exit 0 when the import is applied (or the dry run finds nothing wrong); 1 when the file or the plan has problems
(every one is listed on stderr, nothing is written); 2 for usage errors.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

from core import imports
from core.cli.context import Commands, Context
from core.config import load_settings
from core.imports import csv_onboarding, webhooks
from core.imports.reading import read_import_file

LISTING_HELP = """\
FILE is the JSON of GET /{waba-id}/phone_numbers, as Meta returns it:
  one page                 {"data": [{"id": "…", "display_phone_number": "+1 631-555-5555", …}], "paging": {…}}
  several pages            a JSON array of pages, or JSON Lines with one page per line
  several WABAs            {"<WABA id>": <page or array of pages>, …}   (then leave out --waba)
  WABAs with their numbers GET /{waba-id}?fields=phone_numbers{…}, or a page of
                           GET /{business-id}/owned_whatsapp_business_accounts?fields=phone_numbers{…}
                           (each WABA names itself: --waba may be left out)
Numbers are matched by Meta phone-number id, else by E.164 (whatever Meta's formatting). A missing number is
created in its own new subscription group, named after the number (or "PREFIX +E164"); a known one is updated
(display name, status, quality, tier, name status, throughput, code verification, platform, account mode);
whatsapp_business_manager_messaging_limit sets the portfolio's shared limit. Fields Meta leaves out keep their
stored values; unknown values are stored and reported."""

WEBHOOK_HELP = textwrap.fill(
    f"""\
FILE holds webhook payloads ({{"object": "whatsapp_business_account", "entry": [...]}}): one envelope, a JSON array
of envelopes, or JSON Lines with one envelope per line. Imported fields: {", ".join(webhooks.READERS)}; others are
reported as skipped. Each field keeps the time (entry.time) of the event that set it: replays change nothing, older
events do not overwrite newer ones (a number's health event is still kept in its history).""",
    width=116,
)

CSV_HELP = f"""\
FILE is UTF-8 CSV (comma, semicolon or tab) with the header
  {csv_onboarding.HEADER_HELP}
workspace must exist; portfolio_id must be an existing portfolio (it is connected to the workspace if needed);
waba_id is created (with waba_name) if the fleet does not know it; each row adds phone (international format, or
national with region, e.g. FR) in a new subscription group named group, with display_name (may be empty).
All or nothing: every bad row is reported with its line number (caps counted with the file's rows, duplicates in
the file or in the fleet, invalid numbers) and nothing is written."""


def register(commands: Commands) -> None:
    parser = commands.add_parser(
        "import",
        help="import Meta listings, webhook payloads or a CSV (admins)",
        description="Keep the fleet in sync with Meta. Every import checks the whole file first, shows what it "
        "would change with --dry-run, and otherwise writes everything in one transaction or nothing.",
    )
    kinds = parser.add_subparsers(dest="import_kind", required=True, metavar="KIND")
    listing = _kind(
        kinds,
        "meta-numbers",
        "a Graph API phone-number listing",
        "Import Meta's phone-number listing of one or several WABAs: create missing numbers, update known ones.",
        LISTING_HELP,
    )
    listing.add_argument("--waba", help="Meta id of the WABA the listing belongs to (not for a file mapping WABAs)")
    listing.add_argument("--group-prefix", help='name new subscription groups "PREFIX +E164" instead of "+E164"')
    _kind(
        kinds,
        "webhook",
        "webhook payloads (JSON or JSON Lines)",
        "Import WhatsApp Business Account webhook payloads saved from Meta.",
        WEBHOOK_HELP,
    )
    _kind(
        kinds,
        "csv",
        "CSV bulk onboarding of WABAs, groups and numbers",
        "Onboard WABAs, subscription groups and numbers in bulk from a CSV file.",
        CSV_HELP,
    )


def _kind(
    kinds: argparse._SubParsersAction[argparse.ArgumentParser], name: str, summary: str, description: str, details: str
) -> argparse.ArgumentParser:
    parser = kinds.add_parser(
        name,
        help=summary,
        description=description,
        epilog=details,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("file", type=Path, help="the file to import ('-' reads standard input)")
    parser.add_argument("--dry-run", action="store_true", help="print what would change and write nothing")
    parser.set_defaults(handler=_import, kind=name)
    return parser


def _import(args: argparse.Namespace, context: Context) -> int:
    request = imports.ImportRequest(
        kind=args.kind,
        data=read_import_file(args.file, load_settings().max_import_bytes),
        source="stdin" if str(args.file) == "-" else args.file.name,
        waba=getattr(args, "waba", None),
        group_prefix=getattr(args, "group_prefix", None),
    )
    if args.dry_run:
        plan = imports.plan_import(context.engine, context.actor, request)
        print(plan.render_text())
        if plan.errors:
            print(f"error: {len(plan.errors)} problem(s); this import would be refused.", file=sys.stderr)
            return 1
        print("Dry run: nothing was written.")
        return 0
    try:
        result = imports.run_import(context.engine, context.actor, request)
    except imports.ImportRejected as rejected:
        print(f"error: {rejected}", file=sys.stderr)
        return 1
    print(result.plan.render_text(headline=result.message) if result.written else result.message)
    return 0
