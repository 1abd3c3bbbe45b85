"""Who is acting: the signed-in user (role from the users table or [roles]) or the local-mode user."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from core import identity, model, services
from core.config import load_settings
from core.model import Actor, Role
from pages.kit.database import engine, engine_for, secrets
from pages.kit.freshness import read_key


def auth_enabled() -> bool:
    """Sign-in is on when the secrets have an [auth] section; otherwise the app runs in local mode."""
    return bool(secrets().get("auth"))


@st.cache_data(show_spinner=False, max_entries=256)
def _signed_in_actor(url: str, fresh: str, who: str, roles: Mapping[str, Any]) -> Actor:
    return identity.resolve_signed_in_actor(engine_for(url), who, identity.RoleMapping.from_config(roles))


def current_actor() -> Actor:
    """The acting user: the signed-in user (role from the users table or [roles]) or the local-mode user.

    A signed-in user's role is cached by the data version, which a role change raises: it counts from the next
    rerun. Every write reads it again inside its own transaction anyway."""
    settings = load_settings()
    if auth_enabled():
        if not st.user.get("is_logged_in"):
            return Actor(name="(signed out)", role=Role.VIEWER)
        who = identity.signed_in_identity(dict(st.user), provider_verifies_email=settings.provider_verifies_email)
        return _signed_in_actor(*read_key(), who, secrets().get("roles", {}))
    return services.resolve_local_actor(engine(), settings)


def is_admin() -> bool:
    return current_actor().role >= Role.ADMIN


def can_export() -> bool:
    return model.may_export(current_actor())
