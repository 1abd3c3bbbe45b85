"""Configuration in one place: each setting read from the environment, with its default and a line of help."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_PATH = PROJECT_ROOT / "data" / "fleet.db"

SETTINGS_HELP = {
    "DATABASE_URL": "SQLAlchemy URL of the database; default: the SQLite file data/fleet.db.",
    "FLEET_USER": "Name of the acting user in local mode (CLI and app without sign-in); default: local-admin.",
    "FLEET_LOCAL_ROLE": "Role of that local user: viewer, analyst or admin; default: admin.",
    "FLEET_MAX_IMPORT_BYTES": "Largest file an import accepts, in bytes; default: 10 MiB.",
}


@dataclass(frozen=True)
class Settings:
    database_url: str
    local_user: str
    local_role: str
    max_import_bytes: int


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    return Settings(
        database_url=env.get("DATABASE_URL") or f"sqlite:///{DEFAULT_DATABASE_PATH}",
        local_user=env.get("FLEET_USER") or "local-admin",
        local_role=env.get("FLEET_LOCAL_ROLE") or "admin",
        max_import_bytes=int(env.get("FLEET_MAX_IMPORT_BYTES") or 10 * 1024 * 1024),
    )
