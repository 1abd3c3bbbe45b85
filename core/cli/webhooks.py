"""`python -m core serve-webhooks` and `python -m core worker`: the processes that keep the fleet live."""

from __future__ import annotations

import argparse

from core.cli.context import Commands, Context
from core.config import load_webhook_settings
from core.errors import InvalidInput


def register(commands: Commands) -> None:
    serve = commands.add_parser(
        "serve-webhooks",
        help="receive Meta's webhooks at /webhooks/meta into the inbox",
        description="Serve /webhooks/meta (Meta's handshake and signed deliveries) and /healthz. Needs "
        "META_APP_SECRET and META_VERIFY_TOKEN. Put it behind a TLS reverse proxy.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8502, help="port to listen on (default: 8502)")
    serve.set_defaults(handler=_serve)
    worker = commands.add_parser(
        "worker",
        help="apply the inbox's deliveries, prune it, run periodic jobs",
        description="Apply webhook deliveries in arrival order until SIGTERM. Several workers may share a "
        "PostgreSQL database; on SQLite one works and the others wait.",
    )
    worker.set_defaults(handler=_worker)


def _serve(args: argparse.Namespace, context: Context) -> int:
    from core.webhook_receiver import serve

    settings = load_webhook_settings()
    if not settings.app_secret:
        raise InvalidInput("META_APP_SECRET is not set: the receiver cannot check Meta's signatures without it.")
    if not settings.verify_token:
        raise InvalidInput("META_VERIFY_TOKEN is not set: Meta's subscription handshake needs it.")
    serve(context.engine, settings, host=args.host, port=args.port)
    return 0


def _worker(args: argparse.Namespace, context: Context) -> int:
    from core.worker import run_worker

    run_worker(context.engine, load_webhook_settings())
    return 0
