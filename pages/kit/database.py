"""The deployment's secrets, its database URL and the one engine per URL (schema brought up to date)."""

from __future__ import annotations

import os
from typing import Any

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from core.config import load_settings
from core.db import Engine, make_engine
from core.migrate import ensure_schema


def secrets() -> dict[str, Any]:
    """`.streamlit/secrets.toml` as a dict; empty when the deployment has none."""
    try:
        return st.secrets.to_dict()
    except (StreamlitSecretNotFoundError, FileNotFoundError):
        return {}


def database_url() -> str:
    """DATABASE_URL when set, else `[database] url` from the secrets, else the default SQLite file."""
    configured = secrets().get("database", {}).get("url")
    if configured and not os.environ.get("DATABASE_URL"):
        return str(configured)
    return load_settings().database_url


def _dispose(engine: Engine) -> None:
    engine.dispose()


@st.cache_resource(show_spinner="Opening the database…", on_release=_dispose)
def engine_for(url: str) -> Engine:
    """The one engine per database URL, with its schema brought up to date (or found current: FLEET_AUTO_MIGRATE)."""
    settings = load_settings()
    engine = make_engine(url, pool_size=settings.pool_size, max_overflow=settings.max_overflow)
    try:
        ensure_schema(engine, auto_migrate=settings.auto_migrate)
    except Exception:
        engine.dispose()
        raise
    return engine


def engine() -> Engine:
    return engine_for(database_url())
