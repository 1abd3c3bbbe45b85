"""Who is acting: the signed-in user (role from the users table or [roles]) or the local-mode user."""

from __future__ import annotations

import streamlit as st

from core import identity, model, services
from core.config import load_settings
from core.model import Actor, Role
from pages.kit.database import engine, secrets


def auth_enabled() -> bool:
    """Sign-in is on when the secrets have an [auth] section; otherwise the app runs in local mode."""
    return bool(secrets().get("auth"))


def current_actor() -> Actor:
    """The acting user: the signed-in user (role from the users table or [roles]) or the local-mode user.

    A signed-in user's role is read on every run (one indexed row), so a role an admin changes counts from the
    next rerun; every write reads it again inside its transaction anyway."""
    settings = load_settings()
    if auth_enabled():
        if not st.user.get("is_logged_in"):
            return Actor(name="(signed out)", role=Role.VIEWER)
        who = identity.signed_in_identity(dict(st.user), provider_verifies_email=settings.provider_verifies_email)
        roles = identity.RoleMapping.from_config(secrets().get("roles", {}))
        return identity.resolve_signed_in_actor(engine(), who, roles)
    return services.resolve_local_actor(engine(), settings)


def is_admin() -> bool:
    return current_actor().role >= Role.ADMIN


def can_export() -> bool:
    return model.may_export(current_actor())
