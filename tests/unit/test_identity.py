"""Signed-in users get their role from the users table, else from the configured mapping, else viewer."""

from __future__ import annotations

import pytest

from core import identity, services
from core.errors import InvalidInput
from core.model import Actor, Role
from tests.builders import ADMIN

MAPPING = identity.RoleMapping.from_config(
    {"admins": ["Boss@Example.com"], "analysts": ["@marketing.example.com", "boss@example.com"], "viewers": []}
)


@pytest.mark.parametrize(
    ("who", "role"),
    [
        ("boss@example.com", Role.ADMIN),
        ("BOSS@example.COM", Role.ADMIN),
        ("ann@marketing.example.com", Role.ANALYST),
        ("ann@example.com", None),
        ("mallory@evilmarketing.example.com", None),
        ("", None),
    ],
)
def test_mapping_matches_addresses_and_domains_case_insensitively(who, role):
    assert MAPPING.role_for(who) == role


def test_a_user_listed_twice_gets_the_stronger_role():
    assert MAPPING.role_for("boss@example.com") == Role.ADMIN


@pytest.mark.parametrize(
    "section",
    [{"owners": ["a@example.com"]}, {"admins": ["a@example.com", 3]}],
)
def test_a_malformed_roles_section_is_refused_with_its_key(section):
    with pytest.raises(InvalidInput, match="roles"):
        identity.RoleMapping.from_config(section)


def test_a_single_address_may_be_written_without_a_list():
    assert identity.RoleMapping.from_config({"admins": "a@example.com"}).role_for("a@example.com") == Role.ADMIN


@pytest.mark.parametrize(
    ("user_info", "expected"),
    [
        ({"email": " Ann@Example.com ", "sub": "123"}, "ann@example.com"),
        ({"sub": "auth0|123", "name": "Ann"}, "auth0|123"),
        ({"name": "Ann"}, "Ann"),
    ],
)
def test_signed_in_identity_prefers_the_email(user_info, expected):
    assert identity.signed_in_identity(user_info) == expected


def test_an_identity_without_any_name_is_refused():
    with pytest.raises(InvalidInput, match="no e-mail"):
        identity.signed_in_identity({"is_logged_in": True})


def test_users_table_wins_over_the_mapping(sqlite_engine):
    services.set_user_role(sqlite_engine, ADMIN, name="boss@example.com", role="viewer")

    actor = identity.resolve_signed_in_actor(sqlite_engine, "boss@example.com", MAPPING)

    assert actor == Actor(name="boss@example.com", role=Role.VIEWER)


def test_mapping_applies_to_users_not_in_the_table(sqlite_engine):
    actor = identity.resolve_signed_in_actor(sqlite_engine, "ann@marketing.example.com", MAPPING)

    assert actor.role == Role.ANALYST


def test_unknown_signed_in_user_is_a_viewer(sqlite_engine):
    actor = identity.resolve_signed_in_actor(sqlite_engine, "stranger@example.org", MAPPING)

    assert actor.role == Role.VIEWER
