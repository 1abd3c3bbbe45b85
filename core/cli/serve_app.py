"""`serve-app [streamlit options…]`: refuse to serve in the open, make sure of the schema, then run the app."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from core import app_launcher, deployment
from core.cli.context import Commands, Context
from core.config import load_settings
from core.db import make_engine
from core.errors import InvalidInput
from core.migrate import ensure_schema


def register(commands: Commands) -> None:
    serve = commands.add_parser(
        "serve-app",
        help="run the dashboard (streamlit run app.py) after checking its address and schema",
        description="Any option after serve-app goes to `streamlit run`, e.g. --server.port 8501. Exits 1 before "
        "listening when local mode (no [auth] in the secrets) would serve an address other machines can reach, "
        "or when FLEET_AUTO_MIGRATE=0 and the schema is older than the code.",
    )
    serve.set_defaults(handler=_serve_app, manages_schema=True, takes_extra_arguments=True)


def _serve_app(args: argparse.Namespace, context: Context) -> int:
    streamlit_args: list[str] = args.extra_arguments
    home, cwd = Path.home(), Path.cwd()
    settings = load_settings()
    address = app_launcher.effective_option(
        "server", "address", streamlit_args, os.environ, app_launcher.config_files(home, cwd)
    )
    secrets = app_launcher.merged_secrets(app_launcher.secrets_files(streamlit_args, os.environ, home, cwd))
    reason = deployment.unsafe_exposure(
        None if address is None else str(address), sign_in=bool(secrets.get("auth")), settings=settings
    )
    if reason:
        raise InvalidInput(reason)
    configured_url = secrets.get("database", {}).get("url")
    engine = context.engine
    if configured_url and not os.environ.get("DATABASE_URL"):  # the app reads the same URL (pages.kit.database)
        engine = make_engine(str(configured_url))
    try:
        upgraded_from = ensure_schema(engine, auto_migrate=settings.auto_migrate)
    finally:
        engine.dispose()
    if upgraded_from is not None:
        print(f"Database schema upgraded from {upgraded_from or '(empty)'} to the latest revision.", flush=True)
    app_launcher.exec_streamlit(streamlit_args)
    return 0
