"""Signed-in users get their role from the users table, else from the configured mapping, else viewer."""

from __future__ import annotations

import pytest

from core import identity, services
from core.errors import EmailNotVerified, InvalidInput
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
        ({"email": " Ann@Example.com ", "email_verified": True, "sub": "123"}, "ann@example.com"),
        ({"email": "ann@example.com", "email_verified": "true", "sub": "123"}, "ann@example.com"),
        ({"email": "ann@example.com", "sub": "auth0|123"}, "sub:auth0|123"),
        ({"sub": "auth0|123", "name": "Ann"}, "sub:auth0|123"),
    ],
    ids=["verified", "verified-as-text", "claim-missing", "no-email"],
)
def test_signed_in_identity_is_the_email_only_when_verified(user_info, expected):
    assert identity.signed_in_identity(user_info) == expected


@pytest.mark.parametrize("verified", [False, "false", "FALSE", "no"])
def test_an_email_the_provider_says_is_unverified_refuses_the_sign_in(verified):
    user_info = {"email": "boss@example.com", "email_verified": verified, "sub": "123"}

    with pytest.raises(EmailNotVerified, match="is not verified"):
        identity.signed_in_identity(user_info)


def test_a_provider_that_verifies_every_address_names_users_by_email_without_the_claim():
    user_info = {"email": "Ann@Example.com", "sub": "auth0|123"}

    assert identity.signed_in_identity(user_info, provider_verifies_email=True) == "ann@example.com"


def test_the_setting_never_overrides_an_unverified_claim():
    with pytest.raises(EmailNotVerified):
        identity.signed_in_identity({"email": "a@example.com", "email_verified": False}, provider_verifies_email=True)


@pytest.mark.parametrize("user_info", [{"is_logged_in": True}, {"name": "Ann"}, {"email": "a@example.com"}])
def test_an_identity_without_a_verified_email_or_subject_is_refused(user_info):
    with pytest.raises(InvalidInput, match="neither a verified e-mail nor a subject"):
        identity.signed_in_identity(user_info)


def test_users_table_wins_over_the_mapping(sqlite_engine):
    services.set_user_role(sqlite_engine, ADMIN, name="boss@example.com", role="viewer")

    actor = identity.resolve_signed_in_actor(sqlite_engine, "boss@example.com", MAPPING)

    assert actor == Actor(name="boss@example.com", role=Role.VIEWER, role_if_unlisted=Role.ADMIN)


def test_mapping_applies_to_users_not_in_the_table(sqlite_engine):
    actor = identity.resolve_signed_in_actor(sqlite_engine, "ann@marketing.example.com", MAPPING)

    assert actor.role == Role.ANALYST


def test_unknown_signed_in_user_is_a_viewer(sqlite_engine):
    actor = identity.resolve_signed_in_actor(sqlite_engine, "stranger@example.org", MAPPING)

    assert actor.role == Role.VIEWER


def test_a_subject_that_reads_like_an_address_takes_neither_its_row_nor_its_mapping(sqlite_engine):
    services.set_user_role(sqlite_engine, ADMIN, name="boss@example.com", role="admin")
    mapping = identity.RoleMapping.from_config({"analysts": ["@example.com"]})

    who = identity.signed_in_identity({"sub": "Boss@Example.com"})
    actor = identity.resolve_signed_in_actor(sqlite_engine, who, mapping)

    assert who == "sub:boss@example.com"
    assert actor.role == Role.VIEWER
