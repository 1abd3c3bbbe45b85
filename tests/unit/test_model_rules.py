"""The rules of core/model.py on their own: pure functions, no database."""

from __future__ import annotations

import pytest

from core import model
from core.errors import (
    AlreadyArchived,
    InvalidInput,
    NumberAlreadyExists,
    NumberAlreadyInActiveGroup,
    NumberLimitReached,
    PermissionDenied,
    PortfolioNotConnected,
    WabaLimitReached,
)
from core.model import Actor, Role


def test_roles_are_ordered_viewer_analyst_admin() -> None:
    assert Role.VIEWER < Role.ANALYST < Role.ADMIN


@pytest.mark.parametrize(
    ("text", "role"), [("viewer", Role.VIEWER), (" Analyst ", Role.ANALYST), ("ADMIN", Role.ADMIN)]
)
def test_a_role_is_read_from_its_name(text: str, role: Role) -> None:
    assert Role.parse(text) is role


def test_an_unknown_role_is_refused_listing_the_roles() -> None:
    with pytest.raises(InvalidInput, match="viewer, analyst, admin"):
        Role.parse("owner")


@pytest.mark.parametrize(
    ("role", "needed", "allowed"),
    [
        (Role.VIEWER, Role.ANALYST, False),
        (Role.ANALYST, Role.ANALYST, True),
        (Role.ANALYST, Role.ADMIN, False),
        (Role.ADMIN, Role.ADMIN, True),
        (Role.ADMIN, Role.VIEWER, True),
    ],
)
def test_a_role_allows_what_it_and_the_roles_below_may_do(role: Role, needed: Role, allowed: bool) -> None:
    actor = Actor("someone", role)

    if allowed:
        model.require_role(actor, needed, "export numbers")
    else:
        with pytest.raises(PermissionDenied, match=f"'someone' \\({role.label}\\) may not export numbers"):
            model.require_role(actor, needed, "export numbers")


@pytest.mark.parametrize(("count", "refused"), [(0, False), (9, False), (10, True), (11, True)])
def test_a_workspace_takes_a_waba_while_it_has_fewer_than_ten(count: int, refused: bool) -> None:
    if refused:
        with pytest.raises(WabaLimitReached, match=r"Workspace 'EU Brands' already has .* maximum is 10"):
            model.ensure_can_add_waba("EU Brands", count)
    else:
        model.ensure_can_add_waba("EU Brands", count)


@pytest.mark.parametrize(("count", "refused"), [(0, False), (19, False), (20, True)])
def test_a_waba_takes_a_number_while_it_has_fewer_than_twenty(count: int, refused: bool) -> None:
    if refused:
        with pytest.raises(NumberLimitReached, match=r"'Fashion FR' already has 20 .* maximum is 20"):
            model.ensure_can_add_number("Fashion FR", count)
    else:
        model.ensure_can_add_number("Fashion FR", count)


def test_a_portfolio_must_be_connected() -> None:
    model.ensure_portfolio_connected("EU Brands", "Acme", connected=True)

    with pytest.raises(PortfolioNotConnected, match="'Acme' is not connected to workspace 'EU Brands'"):
        model.ensure_portfolio_connected("EU Brands", "Acme", connected=False)


def test_a_new_number_must_be_unknown() -> None:
    model.ensure_number_is_new("+33612345678", None, existing_group_active=False)

    with pytest.raises(NumberAlreadyExists, match="in use by subscription group 'Paris'"):
        model.ensure_number_is_new("+33612345678", "Paris", existing_group_active=True)
    with pytest.raises(NumberAlreadyExists, match="re-attach"):
        model.ensure_number_is_new("+33612345678", "Paris", existing_group_active=False)


def test_a_number_is_bound_to_one_active_group_at_most() -> None:
    model.ensure_number_unbound("+33612345678", None)

    with pytest.raises(NumberAlreadyInActiveGroup, match="'Paris'; archive it first"):
        model.ensure_number_unbound("+33612345678", "Paris")


def test_an_archived_object_is_not_archived_twice() -> None:
    model.ensure_not_archived("Subscription group", "Paris", archived=False)

    with pytest.raises(AlreadyArchived, match="Subscription group 'Paris' is already archived"):
        model.ensure_not_archived("Subscription group", "Paris", archived=True)


@pytest.mark.parametrize(
    ("raw", "value", "known"),
    [("GREEN", "GREEN", True), (" yellow ", "YELLOW", True), ("PURPLE", "PURPLE", False)],
)
def test_an_enum_value_is_kept_and_flagged_when_unknown(raw: str, value: str, known: bool) -> None:
    assert model.read_enum("quality_rating", raw, model.QualityRating) == model.EnumValue(value, known)


@pytest.mark.parametrize("raw", [None, "", "   ", 3])
def test_an_enum_value_must_be_text(raw: object) -> None:
    with pytest.raises(InvalidInput, match="'quality_rating'"):
        model.read_enum("quality_rating", raw, model.QualityRating)


def test_a_name_is_trimmed_and_unicode_normalized() -> None:
    decomposed = "Cafe\u0301"

    assert model.clean_name("workspace name", f"  {decomposed}  ") == "Caf\u00e9"


def test_an_optional_name_may_be_empty() -> None:
    assert model.clean_name("display name", None, required=False) == ""


def test_a_name_of_the_maximum_length_is_accepted() -> None:
    assert model.clean_name("workspace name", "x" * model.MAX_NAME_LENGTH) == "x" * model.MAX_NAME_LENGTH


@pytest.mark.parametrize(
    ("tier", "limit"), [("TIER_1K", 1_000), ("TIER_100K", 100_000), ("TIER_UNLIMITED", None), ("TIER_5K", None)]
)
def test_a_tier_stands_for_a_daily_limit(tier: str, limit: int | None) -> None:
    assert model.daily_limit(tier) == limit


@pytest.mark.parametrize(
    ("limit", "tier"), [(250, "TIER_250"), (2_000, "TIER_2K"), (-1, "TIER_UNLIMITED"), (5_000, "TIER_5000")]
)
def test_a_reported_daily_limit_is_named_as_a_tier(limit: int, tier: str) -> None:
    assert model.tier_for_daily_limit(limit) == tier


@pytest.mark.parametrize(
    ("tier", "senders", "low"),
    [
        ("TIER_1K", 4, False),
        ("TIER_1K", 5, True),
        ("TIER_UNLIMITED", 100, False),
        ("TIER_250", 0, False),
        (None, 3, False),
    ],
)
def test_a_portfolio_limit_is_low_below_250_a_day_per_sender(tier: str | None, senders: int, low: bool) -> None:
    assert model.is_low_portfolio_limit(tier, senders) is low


@pytest.mark.parametrize(
    ("quality", "status", "at_risk"),
    [
        ("GREEN", "CONNECTED", False),
        ("YELLOW", "CONNECTED", True),
        ("RED", "CONNECTED", True),
        ("GREEN", "FLAGGED", True),
        ("GREEN", "BANNED", True),
        ("NA", "PENDING", False),
        (None, None, False),
    ],
)
def test_a_number_is_at_risk_when_its_quality_or_status_is_bad(
    quality: str | None, status: str | None, at_risk: bool
) -> None:
    assert model.is_number_at_risk(quality, status) is at_risk


def test_a_number_is_shown_in_international_format() -> None:
    assert model.format_international("+33612345678") == "+33 6 12 34 56 78"
    assert model.format_international("not a number") == "not a number"
