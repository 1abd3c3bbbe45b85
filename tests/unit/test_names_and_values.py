"""Input that reaches the fleet: hostile names are refused naming the field, odd but legitimate names are kept
exactly, and enum values Meta adds later are stored as reported and flagged, never rejected."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine

from core import services
from core.errors import InvalidInput
from core.model import Actor
from core.reads.accounts import is_empty, workspaces_summary
from core.reads.history import number_history
from core.reads.numbers import numbers_table
from core.reads.templates import templates_table
from tests import builders
from tests.builders import ADMIN
from tests.unit.db_state import row_counts

HOSTILE = {
    "nul-byte": "EU\x00Brands",
    "newline": "EU\nBrands",
    "tab": "EU\tBrands",
    "escape-sequence": "\x1b[31mEU Brands",
    "delete-char": "EU\x7fBrands",
    "ten-thousand-chars": "x" * 10_000,
}

PORTFOLIO_ID = "424242"

NamedWrite = Callable[[Engine, Actor, str, str], object]

NAMED_FIELDS: dict[str, NamedWrite] = {
    "workspace name": lambda e, a, waba, value: services.add_workspace(e, a, value),
    "portfolio name": lambda e, a, waba, value: services.add_portfolio(e, a, meta_business_id="555", name=value),
    "WABA name": lambda e, a, waba, value: services.add_waba(
        e, a, workspace="EU Brands", portfolio_meta_id=PORTFOLIO_ID, meta_waba_id="777", name=value
    ),
    "subscription group name": lambda e, a, waba, value: services.add_number(
        e, a, meta_waba_id=waba, group_name=value, phone="+33612345678"
    ),
    "display name": lambda e, a, waba, value: services.add_number(
        e, a, meta_waba_id=waba, group_name="Paris", phone="+33612345678", display_name=value
    ),
    "template name": lambda e, a, waba, value: services.add_template(
        e, a, meta_waba_id=waba, name=value, language="fr"
    ),
    "user name": lambda e, a, waba, value: services.set_user_role(e, a, name=value, role="viewer"),
}


def a_waba(engine: Engine) -> str:
    services.add_workspace(engine, ADMIN, "EU Brands")
    services.add_portfolio(engine, ADMIN, meta_business_id=PORTFOLIO_ID, name="Acme Europe")
    services.connect_portfolio(engine, ADMIN, workspace="EU Brands", portfolio_meta_id=PORTFOLIO_ID)
    return services.add_waba(
        engine, ADMIN, workspace="EU Brands", portfolio_meta_id=PORTFOLIO_ID, meta_waba_id="100", name="Fashion FR"
    )


@pytest.mark.parametrize("value", [HOSTILE["nul-byte"], HOSTILE["ten-thousand-chars"]], ids=["control", "long"])
@pytest.mark.parametrize("field", NAMED_FIELDS)
def test_hostile_names_are_refused_naming_the_field(sqlite_engine: Engine, field: str, value: str) -> None:
    waba_id = a_waba(sqlite_engine)
    before = row_counts(sqlite_engine)

    with pytest.raises(InvalidInput) as refused:
        NAMED_FIELDS[field](sqlite_engine, ADMIN, waba_id, value)

    assert f"'{field}'" in str(refused.value)
    assert len(str(refused.value)) < 300
    assert row_counts(sqlite_engine) == before


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
def test_every_kind_of_hostile_name_is_refused(sqlite_engine: Engine, value: str) -> None:
    with pytest.raises(InvalidInput, match="'workspace name'"):
        services.add_workspace(sqlite_engine, ADMIN, value)

    assert is_empty(sqlite_engine)


@pytest.mark.parametrize("field", ["workspace name", "WABA name", "subscription group name", "template name"])
def test_a_required_name_cannot_be_blank(sqlite_engine: Engine, field: str) -> None:
    waba_id = a_waba(sqlite_engine)

    with pytest.raises(InvalidInput, match=f"'{field}' is required"):
        NAMED_FIELDS[field](sqlite_engine, ADMIN, waba_id, "   ")


@pytest.mark.parametrize(
    "name",
    ['"}; evil [label="x', "<script>alert(1)</script>", "O'Brien; DROP TABLE workspaces;--", "Ünïcødé 🎉 ブランド"],
)
def test_odd_but_legitimate_names_are_kept_exactly(sqlite_engine: Engine, name: str) -> None:
    services.add_workspace(sqlite_engine, ADMIN, f"  {name}  ")

    assert list(workspaces_summary(sqlite_engine)["workspace"]) == [name]


@pytest.mark.parametrize("meta_id", ["12a", "", "1 2", "-5", "9" * 40])
def test_a_meta_id_must_be_digits(sqlite_engine: Engine, meta_id: str) -> None:
    services.add_workspace(sqlite_engine, ADMIN, "EU Brands")

    with pytest.raises(InvalidInput, match="'Meta business id' must be a Meta id made of digits"):
        services.add_portfolio(sqlite_engine, ADMIN, meta_business_id=meta_id, name="Acme")


def test_an_unknown_enum_value_is_stored_as_reported_and_flagged(sqlite_engine: Engine) -> None:
    waba_id = builders.waba(sqlite_engine)
    [e164] = builders.fill_waba(sqlite_engine, waba_id, 1)

    services.update_number_health(
        sqlite_engine,
        ADMIN,
        phone=e164,
        changes={"quality_rating": "PURPLE", "status": "ON_VACATION", "messaging_limit_tier": "TIER_5K"},
    )

    row = numbers_table(sqlite_engine).iloc[0]
    assert (row["quality_rating"], row["status"], row["messaging_limit_tier"]) == ("PURPLE", "ON_VACATION", "TIER_5K")
    flags = set(row["unknown_values"].split())
    assert flags == {"quality_rating=PURPLE", "status=ON_VACATION", "messaging_limit_tier=TIER_5K"}
    assert list(number_history(sqlite_engine, [e164])["quality_rating"]) == ["NA", "PURPLE"]


def test_known_enum_values_are_not_flagged(sqlite_engine: Engine) -> None:
    waba_id = builders.waba(sqlite_engine)
    [e164] = builders.fill_waba(sqlite_engine, waba_id, 1)

    services.update_number_health(
        sqlite_engine, ADMIN, phone=e164, changes={"quality_rating": "GREEN", "status": "CONNECTED"}
    )

    assert numbers_table(sqlite_engine).loc[0, "unknown_values"] == ""


def test_an_unknown_template_category_is_kept(sqlite_engine: Engine) -> None:
    waba_id = builders.waba(sqlite_engine)

    services.add_template(sqlite_engine, ADMIN, meta_waba_id=waba_id, name="promo", language="fr", category="sticker")

    assert list(templates_table(sqlite_engine)["category"]) == ["STICKER"]


def test_a_health_update_of_an_unknown_field_is_refused(sqlite_engine: Engine) -> None:
    waba_id = builders.waba(sqlite_engine)
    [e164] = builders.fill_waba(sqlite_engine, waba_id, 1)

    with pytest.raises(InvalidInput, match="e164"):
        services.update_number_health(sqlite_engine, ADMIN, phone=e164, changes={"e164": "+33700000000"})


@pytest.mark.parametrize("value", [HOSTILE["nul-byte"], HOSTILE["ten-thousand-chars"]], ids=["control", "long"])
def test_a_hostile_display_name_is_refused_in_a_health_update_too(sqlite_engine: Engine, value: str) -> None:
    waba_id = builders.waba(sqlite_engine)
    [e164] = builders.fill_waba(sqlite_engine, waba_id, 1)
    before = row_counts(sqlite_engine)

    with pytest.raises(InvalidInput, match="'display name'"):
        services.update_number_health(sqlite_engine, ADMIN, phone=e164, changes={"display_name": value})

    assert row_counts(sqlite_engine) == before


def test_a_health_value_is_read_like_meta_reports_it(sqlite_engine: Engine) -> None:
    waba_id = builders.waba(sqlite_engine)
    [e164] = builders.fill_waba(sqlite_engine, waba_id, 1)

    services.update_number_health(
        sqlite_engine, ADMIN, phone=e164, changes={"quality_rating": " green ", "status": "flagged"}
    )

    row = numbers_table(sqlite_engine).iloc[0]
    assert (row["quality_rating"], row["status"], row["unknown_values"]) == ("GREEN", "FLAGGED", "")


def test_a_blank_health_value_is_refused_naming_the_field(sqlite_engine: Engine) -> None:
    waba_id = builders.waba(sqlite_engine)
    [e164] = builders.fill_waba(sqlite_engine, waba_id, 1)

    with pytest.raises(InvalidInput, match="'quality_rating'"):
        services.update_number_health(sqlite_engine, ADMIN, phone=e164, changes={"quality_rating": "  "})
