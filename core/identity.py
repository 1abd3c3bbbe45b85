"""Who is signed in and with which role, when the app uses single sign-on (OIDC).

The users table (managed by admins) is the authority; a role mapping from the deployment's configuration
(`[roles]` in `.streamlit/secrets.toml`) seeds roles before anyone is in that table, e.g. the first admin;
anyone else who signs in is a viewer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from core import services
from core.errors import InvalidInput
from core.model import Actor, Role

# Keys of the `[roles]` section, from the strongest role down: a user listed twice gets the stronger role.
ROLE_KEYS: tuple[tuple[str, Role], ...] = (
    ("admins", Role.ADMIN),
    ("analysts", Role.ANALYST),
    ("viewers", Role.VIEWER),
)


def normalize_identity(identity: str) -> str:
    """E-mail addresses compare case-insensitively; other identifiers (a provider's subject) are kept as given."""
    text = identity.strip()
    return text.lower() if "@" in text else text


@dataclass(frozen=True)
class RoleMapping:
    """Roles given by configuration: exact e-mail addresses, or a whole domain written as '@example.com'."""

    entries: tuple[tuple[str, Role], ...] = field(default_factory=tuple)

    @classmethod
    def from_config(cls, section: Mapping[str, Any] | None) -> RoleMapping:
        """Read `{"admins": [...], "analysts": [...], "viewers": [...]}`; unknown keys are an error."""
        if not section:
            return cls()
        known = {key for key, _ in ROLE_KEYS}
        unknown = sorted(set(section) - known)
        if unknown:
            raise InvalidInput(
                f"Unknown key(s) in the [roles] configuration: {', '.join(unknown)} "
                f"(expected: {', '.join(sorted(known))})."
            )
        entries: list[tuple[str, Role]] = []
        for key, role in ROLE_KEYS:
            entries.extend((pattern, role) for pattern in _patterns(key, section.get(key)))
        return cls(entries=tuple(entries))

    def role_for(self, identity: str) -> Role | None:
        """The strongest role the mapping gives this identity, or None when it does not name it."""
        who = normalize_identity(identity)
        if not who:
            return None
        matches = [role for pattern, role in self.entries if _matches(pattern, who)]
        return max(matches) if matches else None


def _patterns(key: str, value: object) -> Iterable[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
        raise InvalidInput(f"[roles] {key} must be a list of e-mail addresses or '@domain' entries.")
    return [normalize_identity(item) for item in value if item.strip()]


def _matches(pattern: str, identity: str) -> bool:
    if pattern.startswith("@"):
        return identity.endswith(pattern)
    return identity == pattern


def signed_in_identity(user_info: Mapping[str, Any]) -> str:
    """The name a signed-in user is known by: their e-mail, else the provider's subject or name."""
    for claim in ("email", "sub", "name"):
        value = user_info.get(claim)
        if isinstance(value, str) and value.strip():
            return normalize_identity(value)
    raise InvalidInput("The identity provider returned no e-mail, subject or name for the signed-in user.")


def resolve_signed_in_actor(engine: Engine, identity: str, mapping: RoleMapping) -> Actor:
    """The users table decides; else the configured mapping; else the user is a viewer."""
    return services.resolve_actor(engine, identity, default_role=mapping.role_for(identity) or Role.VIEWER)
