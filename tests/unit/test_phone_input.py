"""Phone numbers typed by people: letters are never read as keypad digits and only '+' may lead a number, with a
message naming the field; Meta's own formats read as before."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from core import services
from core.errors import InvalidPhoneNumber
from core.imports import csv_onboarding
from core.imports.reading import quick_e164
from core.model import normalize_phone_number
from tests import builders
from tests.builders import ADMIN
from tests.unit.db_state import row_counts

REFUSED = {
    "keypad letters": ("+33 6 AB CD EF 78", None, "contains letters (A, B, C, D, E, F)"),
    "a letter O for a zero": ("+33 6 12 34 56 7O", None, "contains letters (O)"),
    "a vanity number": ("1-800-FLOWERS", "US", "contains letters (F, L, O, W, E, R)"),
    "a minus sign": ("-33 6 12 34 56 78", None, "starts with '-'"),
    "a typographic minus": ("\u221233 6 12 34 56 78", None, "starts with '\u2212'"),
    "an en dash": ("\u201333612345678", None, "starts with '\u2013'"),
    "an escape sequence": ("\x1b[31m+33612345678", None, "not part of a number (U+001B)"),
    "an undecodable byte": ("+3361234567\udcff", None, "not part of a number (U+DCFF)"),
}


@pytest.mark.parametrize(("typed", "region", "reason"), REFUSED.values(), ids=REFUSED.keys())
def test_a_number_that_is_not_dialled_as_typed_is_refused_naming_the_field(
    typed: str, region: str | None, reason: str
) -> None:
    for strict in (True, False):
        with pytest.raises(InvalidPhoneNumber) as refused:
            normalize_phone_number(typed, region, strict=strict)

        assert str(refused.value).startswith("Phone number")
        assert reason in str(refused.value)
        assert str(refused.value).isprintable()


@pytest.mark.parametrize(
    ("listed", "e164"),
    [
        ("+1 631-555-5555", "+16315555555"),
        ("15550783881", "+15550783881"),
        ("+1 (631) 555-5555", "+16315555555"),
        ("+52 1 55 1234 5678", "+525512345678"),
    ],
)
def test_meta_formats_read_as_before(listed: str, e164: str) -> None:
    assert normalize_phone_number(listed, strict=False) == e164
    assert quick_e164(listed) in (e164, None, "+5215512345678")


def test_a_number_with_letters_is_refused_by_the_add_form_and_nothing_is_written(sqlite_engine: Engine) -> None:
    waba = builders.waba(sqlite_engine)
    before = row_counts(sqlite_engine)

    with pytest.raises(InvalidPhoneNumber, match="contains letters"):
        services.add_number(sqlite_engine, ADMIN, meta_waba_id=waba, group_name="Paris", phone="+33 6 AB CD EF 78")

    assert row_counts(sqlite_engine) == before


def test_a_csv_row_with_a_signed_number_is_refused_with_its_line() -> None:
    sheet = csv_onboarding.parse_sheet(
        "workspace,portfolio_id,waba_id,waba_name,group,phone,display_name\n"
        "EU Brands,555,777,Fashion,Paris,-33 6 12 34 56 78,\n"
    )

    assert [(p.where, "starts with '-'" in p.message) for p in sheet.errors] == [("line 2", True)]
