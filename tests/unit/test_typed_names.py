"""One cleaning rule for every name typed by people (`model.clean_name`): the services behind the forms and the CLI,
and CSV onboarding rows, refuse the same hostile names naming the field, and keep the same odd but honest ones."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import Engine

from core import model, services
from core.errors import InvalidInput
from core.imports import csv_onboarding
from core.reads.accounts import portfolios_table
from tests.builders import ADMIN
from tests.unit.db_state import row_counts

REFUSED = {
    "right-to-left override": ("abc\u202edcba", "text-direction control (U+202E)"),
    "left-to-right mark": ("EU\u200eBrands", "text-direction control (U+200E)"),
    "isolate": ("\u2067EU Brands\u2069", "text-direction control (U+2067)"),
    "only zero-width spaces": ("\u200b\u200b\u200b", "shows nothing"),
    "only a Hangul filler": ("\u3164", "shows nothing"),
    "zero-width space and spaces": ("\u200b \u200b", "shows nothing"),
    "accent on a space": ("EU Brands \u0301", "combining mark (U+0301)"),
    "accent first": ("\u0301EU Brands", "combining mark (U+0301)"),
    "line separator": ("EU\u2028Brands", "control characters (U+2028)"),
    "next line": ("EU\x85Brands", "control characters"),
    "escape": ("\x1b[31mEU", "control characters"),
    "undecodable byte from a shell": ("bad\udcff", "half of a character (U+DCFF"),
}
KEPT = {
    "accent composed by NFC": ("EU Brands\u0301", "EU Brand\u015b"),
    "decomposed letters": ("Cafe\u0301 Ünı", "Café Ünı"),
    "zero-width spaces at the edges": ("\u200bEU Brands\ufeff", "EU Brands"),
    "Persian with a zero-width non-joiner": ("می\u200cخواهم", "می\u200cخواهم"),
    "emoji with joiners": ("Shop 👩\u200d💻", "Shop 👩\u200d💻"),
    "stacked Vietnamese marks": ("Vie\u0323\u0302t", "Việt"),
    "Arabic": ("متجر", "متجر"),
}


@pytest.mark.parametrize(("value", "reason"), REFUSED.values(), ids=REFUSED.keys())
def test_a_hostile_name_is_refused_naming_the_field(value: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        model.clean_name("workspace name", value)

    assert str(refused.value).startswith("Field 'workspace name' ")
    assert reason in str(refused.value)
    assert str(refused.value).isprintable()


@pytest.mark.parametrize(("value", "stored"), KEPT.values(), ids=KEPT.keys())
def test_an_honest_name_is_kept_in_its_composed_form(value: str, stored: str) -> None:
    assert model.clean_name("workspace name", value) == unicodedata.normalize("NFC", stored)


ENTRY_POINTS = {
    "workspace (form, CLI)": lambda engine, name: services.add_workspace(engine, ADMIN, name),
    "portfolio (form, CLI)": lambda engine, name: services.add_portfolio(
        engine, ADMIN, meta_business_id="555", name=name
    ),
    "user (form, CLI)": lambda engine, name: services.set_user_role(engine, ADMIN, name=name, role="viewer"),
}


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize("value", [REFUSED[k][0] for k in ("right-to-left override", "only zero-width spaces")])
def test_every_service_refuses_what_the_rule_refuses_and_writes_nothing(
    sqlite_engine: Engine, entry: str, value: str
) -> None:
    before = row_counts(sqlite_engine)

    with pytest.raises(InvalidInput, match="Field '"):
        ENTRY_POINTS[entry](sqlite_engine, value)

    assert row_counts(sqlite_engine) == before


@pytest.mark.parametrize("value", [v for v, _ in REFUSED.values() if "\x85" not in v and "\u2028" not in v])
def test_a_csv_onboarding_row_is_refused_by_the_same_rule(value: str) -> None:
    sheet = csv_onboarding.parse_sheet(
        "workspace,portfolio_id,waba_id,waba_name,group,phone,display_name\n"
        f"{value},555,777,Fashion,Paris,+33612345678,\n"
    )

    assert [problem.where for problem in sheet.errors] == ["line 2"]
    assert "Field 'workspace'" in sheet.errors[0].message


def test_a_tier_typed_by_people_is_one_of_the_known_tiers_and_the_error_lists_them(sqlite_engine: Engine) -> None:
    before = row_counts(sqlite_engine)

    with pytest.raises(InvalidInput) as refused:
        services.add_portfolio(sqlite_engine, ADMIN, meta_business_id="555", name="Acme", messaging_limit="<b>")

    assert "Field 'messaging limit' must be one of TIER_50, TIER_250, TIER_1K" in str(refused.value)
    assert "got '<b>'" in str(refused.value)
    assert row_counts(sqlite_engine) == before


def test_a_known_tier_is_read_whatever_its_case(sqlite_engine: Engine) -> None:
    services.add_portfolio(sqlite_engine, ADMIN, meta_business_id="555", name="Acme", messaging_limit=" tier_2k ")

    assert list(portfolios_table(sqlite_engine)["messaging_limit"]) == ["TIER_2K"]


# --- properties over any text -----------------------------------------------------------------------------------

HOSTILE_ALPHABET = st.sampled_from(
    [
        *"aé ",
        "\u0301",
        "\u200b",
        "\u200c",
        "\u200d",
        "\ufeff",
        "\u202e",
        "\u2066",
        "\u200e",
        "\x00",
        "\x1b",
        "\n",
        "\u2028",
        "\u3164",
        "\udcff",
        "\u00ad",
        "\u0627",
        "s",
        "\u0323",
        "\u1100",
        "\u1161",
    ]
)
ANY_TEXT = st.one_of(st.text(max_size=30), st.text(HOSTILE_ALPHABET, max_size=12))


def _cleaned(value: str) -> str | None:
    try:
        return model.clean_name("name", value)
    except InvalidInput:
        return None


@example("\u200b\r\u200b0")  # spaces and zero-width characters alternating at an edge
@given(ANY_TEXT)
def test_cleaning_twice_is_cleaning_once(value: str) -> None:
    once = _cleaned(value)

    if once is not None:
        assert model.clean_name("name", once) == once


@given(ANY_TEXT)
def test_a_clean_name_holds_no_control_direction_or_half_character(value: str) -> None:
    cleaned = _cleaned(value)

    if cleaned is not None:
        assert not any(unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp") for ch in cleaned)
        assert not set(cleaned) & model.TEXT_DIRECTION_CONTROLS
        assert cleaned == unicodedata.normalize("NFC", cleaned)


@given(ANY_TEXT)
def test_a_clean_name_never_looks_empty(value: str) -> None:
    cleaned = _cleaned(value)

    if cleaned is not None:
        assert any(unicodedata.category(ch) not in ("Cf", "Zs", "Mn", "Me") and ch != "\u3164" for ch in cleaned)
        assert cleaned == cleaned.strip()
