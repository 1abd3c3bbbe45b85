"""Who is signed in and with which role, when the app uses single sign-on (OIDC).

The users table (managed by admins) is the authority; a role mapping from the deployment's configuration
(`[roles]` in `.streamlit/secrets.toml`) seeds roles before anyone is in that table, e.g. the first admin;
anyone else who signs in is a viewer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Engine

from core import services
from core.errors import EmailNotVerified, InvalidInput
from core.model import Actor, Role

# Keys of the `[roles]` section, from the strongest role down: a user listed twice gets the stronger role.
ROLE_KEYS: tuple[tuple[str, Role], ...] = (
    ("admins", Role.ADMIN),
    ("analysts", Role.ANALYST),
    ("viewers", Role.VIEWER),
)


# A user known by the provider's subject is named "sub:<subject>": a subject that reads like an e-mail address
# ("boss@example.com") is not one the provider vouched for, so it must not take that address's users row or
# match the [roles] mapping.
SUBJECT_PREFIX = "sub:"


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
        """The strongest role the mapping gives this identity, or None when it does not name it (it names
        e-mail addresses only, never a user known by subject)."""
        who = normalize_identity(identity)
        if not who or who.startswith(SUBJECT_PREFIX):
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


def signed_in_identity(user_info: Mapping[str, Any], *, provider_verifies_email: bool = False) -> str:
    """The name a signed-in user is known by: their e-mail when the provider vouches for it, else "sub:<subject>".

    Roles are keyed by e-mail, so an address the provider says is unverified refuses the sign-in, and one sent
    without `email_verified` counts only when the deployment says its provider verifies every address."""
    email = _claim(user_info, "email")
    verified = email_verified(user_info)
    if email and verified is False:
        raise EmailNotVerified(
            f"Your identity provider says the e-mail address {email} is not verified. "
            "Verify it with the provider, then sign in again."
        )
    if email and (verified or provider_verifies_email):
        return normalize_identity(email)
    subject = _claim(user_info, "sub")
    if subject:
        return normalize_identity(SUBJECT_PREFIX + subject)
    raise InvalidInput("The identity provider returned neither a verified e-mail nor a subject for the user.")


def email_verified(user_info: Mapping[str, Any]) -> bool | None:
    """The provider's `email_verified` claim (some send it as text); None when it is missing."""
    value = user_info.get("email_verified")
    if isinstance(value, str):
        value = {"true": True, "false": False}.get(value.strip().lower(), False)
    return None if value is None else value is True


def _claim(user_info: Mapping[str, Any], name: str) -> str:
    value = user_info.get(name)
    return value.strip() if isinstance(value, str) else ""


def resolve_signed_in_actor(engine: Engine, identity: str, mapping: RoleMapping) -> Actor:
    """The users table decides; else the configured mapping; else the user is a viewer. Every write reads the
    role again from the users table (`Actor.role_if_unlisted`)."""
    unlisted = mapping.role_for(identity) or Role.VIEWER
    actor = services.resolve_actor(engine, identity, default_role=unlisted)
    return replace(actor, role_if_unlisted=unlisted)
