"""Configuration in one place: each setting read from the environment, with its default and a line of help."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import InvalidInput

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_PATH = PROJECT_ROOT / "data" / "fleet.db"

SETTINGS_HELP = {
    "DATABASE_URL": "SQLAlchemy URL of the database; default: the SQLite file data/fleet.db.",
    "FLEET_USER": "Name of the acting user in local mode (CLI and app without sign-in); default: local-admin.",
    "FLEET_LOCAL_ROLE": "Role of that local user: viewer, analyst or admin; default: admin.",
    "FLEET_MAX_IMPORT_BYTES": "Largest file an import accepts, in bytes; default: 10 MiB.",
    "FLEET_PROVIDER_VERIFIES_EMAIL": "1 when the identity provider never sends email_verified but only issues "
    "verified addresses: its e-mail then names the user; default 0 (such a user is 'sub:<subject>').",
    "FLEET_ALLOW_UNAUTHENTICATED_NETWORK": "1 lets the app serve a non-loopback address without sign-in, everyone "
    "acting as the local user (unsafe: anyone who reaches the address can change the fleet); default 0.",
    "FLEET_AUTO_MIGRATE": "1: a process brings the schema up to date when it starts (under a database lock); 0: it "
    "refuses to start on an older schema, for replicas whose deployment runs `python -m core db upgrade` first; "
    "default 1.",
    "FLEET_DB_POOL_SIZE": "PostgreSQL: connections each process keeps open; default 5.",
    "FLEET_DB_MAX_OVERFLOW": "PostgreSQL: connections a process may open beyond its pool under load; default 5.",
}


@dataclass(frozen=True)
class Settings:
    database_url: str
    local_user: str
    local_role: str
    max_import_bytes: int
    provider_verifies_email: bool = False
    allow_unauthenticated_network: bool = False
    auto_migrate: bool = True
    pool_size: int = 5
    max_overflow: int = 5


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    return Settings(
        database_url=env.get("DATABASE_URL") or f"sqlite:///{DEFAULT_DATABASE_PATH}",
        local_user=env.get("FLEET_USER") or "local-admin",
        local_role=env.get("FLEET_LOCAL_ROLE") or "admin",
        max_import_bytes=int(env.get("FLEET_MAX_IMPORT_BYTES") or 10 * 1024 * 1024),
        provider_verifies_email=env.get("FLEET_PROVIDER_VERIFIES_EMAIL", "").strip() == "1",
        allow_unauthenticated_network=env.get("FLEET_ALLOW_UNAUTHENTICATED_NETWORK", "").strip() == "1",
        auto_migrate=env.get("FLEET_AUTO_MIGRATE", "1").strip() != "0",
        pool_size=_positive_number(env.get("FLEET_DB_POOL_SIZE") or "5", "FLEET_DB_POOL_SIZE"),
        max_overflow=_whole_number(env.get("FLEET_DB_MAX_OVERFLOW") or "5", "FLEET_DB_MAX_OVERFLOW"),
    )


WEBHOOK_SETTINGS_HELP = {
    "META_APP_SECRET": "Meta app secret that signs every webhook delivery (X-Hub-Signature-256); required by the "
    "receiver. Environment, or the same key at the top of .streamlit/secrets.toml; never logged.",
    "META_VERIFY_TOKEN": "Token you type in Meta's webhook settings; the receiver's handshake checks it.",
    "FLEET_INBOX_RETENTION_DAYS": "Days applied webhook deliveries stay in the inbox before the worker prunes "
    "them; default: 30.",
    "FLEET_WORKER_MAX_ATTEMPTS": "Attempts at applying a delivery before it is shown as failed; default: 5.",
    "FLEET_WORKER_LEASE_SECONDS": "SQLite: how long the one inbox worker's lease lasts unless renewed (a second "
    "worker waits for it); default: 30.",
}
SECRETS_FILE = PROJECT_ROOT / ".streamlit" / "secrets.toml"


@dataclass(frozen=True)
class WebhookSettings:
    app_secret: str = field(repr=False)
    verify_token: str = field(repr=False)
    retention_days: int = 30
    max_attempts: int = 5
    lease_seconds: float = 30.0


def load_webhook_settings(
    environ: Mapping[str, str] | None = None, secrets_file: Path = SECRETS_FILE
) -> WebhookSettings:
    """The receiver's and worker's settings: environment first, then top-level keys of the secrets file."""
    env = os.environ if environ is None else environ
    secrets = read_toml(secrets_file)

    def setting(name: str, default: str = "") -> str:
        return str(env.get(name) or secrets.get(name) or default)

    return WebhookSettings(
        app_secret=setting("META_APP_SECRET"),
        verify_token=setting("META_VERIFY_TOKEN"),
        retention_days=_positive_number(setting("FLEET_INBOX_RETENTION_DAYS", "30"), "FLEET_INBOX_RETENTION_DAYS"),
        max_attempts=_positive_number(setting("FLEET_WORKER_MAX_ATTEMPTS", "5"), "FLEET_WORKER_MAX_ATTEMPTS"),
        lease_seconds=float(
            _positive_number(setting("FLEET_WORKER_LEASE_SECONDS", "30"), "FLEET_WORKER_LEASE_SECONDS")
        ),
    )


def read_toml(path: Path) -> dict[str, Any]:
    """A TOML file (the secrets file, Streamlit's config) as a dict; empty when there is none."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise InvalidInput(f"Cannot read {path}: {error}.") from None


def _whole_number(value: str, name: str) -> int:
    if not value.strip().isdigit():
        raise InvalidInput(f"{name} must be a whole number (0 or more), got {value!r}.")
    return int(value)


def _positive_number(value: str, name: str) -> int:
    if not value.strip().isdigit() or int(value) < 1:
        raise InvalidInput(f"{name} must be a whole number of at least 1, got {value!r}.")
    return int(value)


ALERT_SETTINGS_HELP = {
    "FLEET_SMTP_URL": "SMTP server for mailto: alert targets, smtp://[user:password@]host[:port] (STARTTLS when the "
    "server offers it) or smtps:// for TLS from the start; default: smtp://localhost:25.",
    "FLEET_SMTP_FROM": "Sender address of alert e-mails; default: waba-fleet@localhost.",
    "FLEET_BASE_URL": "Address of the dashboard, for the links in alert messages; default: http://localhost:8501.",
    "FLEET_ALERT_DIGEST_AT": "More alerts than this from one rule in one pass are sent as one digest; default: 5.",
    "FLEET_ALERT_SWEEP_SECONDS": "The worker evaluates every rule at least this often; default: 30.",
}


@dataclass(frozen=True)
class AlertSettings:
    smtp_url: str = field(default="smtp://localhost:25", repr=False)
    smtp_from: str = "waba-fleet@localhost"
    base_url: str = "http://localhost:8501"
    digest_at: int = 5
    sweep_seconds: int = 30


def load_alert_settings(environ: Mapping[str, str] | None = None) -> AlertSettings:
    env = os.environ if environ is None else environ
    defaults = AlertSettings()
    return AlertSettings(
        smtp_url=env.get("FLEET_SMTP_URL") or defaults.smtp_url,
        smtp_from=env.get("FLEET_SMTP_FROM") or defaults.smtp_from,
        base_url=env.get("FLEET_BASE_URL") or defaults.base_url,
        digest_at=_positive_number(env.get("FLEET_ALERT_DIGEST_AT") or "5", "FLEET_ALERT_DIGEST_AT"),
        sweep_seconds=_positive_number(env.get("FLEET_ALERT_SWEEP_SECONDS") or "30", "FLEET_ALERT_SWEEP_SECONDS"),
    )


SYNC_SETTINGS_HELP = {
    "META_ACCESS_TOKEN": "System-user access token for the Graph API pull sync; sent only in the Authorization "
    "header, never logged or stored. Environment, or the same key at the top of .streamlit/secrets.toml.",
    "META_GRAPH_URL": "Graph API base URL with its pinned version; default: https://graph.facebook.com/v25.0.",
    "META_SYNC_MINUTES": "The worker pulls every WABA from the Graph API this often, in minutes; default: 0 (off).",
}


@dataclass(frozen=True)
class SyncSettings:
    access_token: str = field(default="", repr=False)
    graph_url: str = "https://graph.facebook.com/v25.0"
    every_minutes: int = 0


def load_sync_settings(environ: Mapping[str, str] | None = None, secrets_file: Path = SECRETS_FILE) -> SyncSettings:
    """The pull sync's settings: environment first, then top-level keys of the secrets file."""
    env = os.environ if environ is None else environ
    secrets = read_toml(secrets_file)
    minutes = str(env.get("META_SYNC_MINUTES") or secrets.get("META_SYNC_MINUTES") or "0").strip()
    if not minutes.isdigit():
        raise InvalidInput(f"META_SYNC_MINUTES must be a whole number of minutes (0: off), got {minutes!r}.")
    return SyncSettings(
        access_token=str(env.get("META_ACCESS_TOKEN") or secrets.get("META_ACCESS_TOKEN") or ""),
        graph_url=str(env.get("META_GRAPH_URL") or secrets.get("META_GRAPH_URL") or SyncSettings.graph_url),
        every_minutes=int(minutes),
    )
