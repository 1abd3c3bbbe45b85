"""Phone numbers: one number has one E.164 form whatever its spelling; invalid numbers are refused with the reason."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from core.errors import InvalidPhoneNumber
from core.imports.reading import quick_e164
from core.model import normalize_phone_number


def _example(region: str) -> phonenumbers.PhoneNumber | None:
    for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
        example = phonenumbers.example_number_for_type(region, kind)
        if example is not None and phonenumbers.is_valid_number(example):
            return example
    return None


REGIONS_WITH_EXAMPLES = sorted(r for r in phonenumbers.SUPPORTED_REGIONS if _example(r) is not None)
SEPARATORS = [" ", "-", ".", "", "  ", " - ", "\u00a0", "\u202f", "\u2009", "\u2011"]


@st.composite
def spelled_out(draw: st.DrawFn, digits: str) -> str:
    """The digits cut into random chunks, joined by random separators, one chunk maybe in parentheses."""
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(digits) - 1)), max_size=4)))
    chunks = [digits[a:b] for a, b in zip([0, *cuts], [*cuts, len(digits)], strict=True) if digits[a:b]]
    if len(chunks) > 1 and draw(st.booleans()):
        index = draw(st.integers(0, len(chunks) - 2))
        chunks[index] = f"({chunks[index]})"
    text = chunks[0]
    for chunk in chunks[1:]:
        text += draw(st.sampled_from(SEPARATORS)) + chunk
    return text


@st.composite
def same_number_in_some_format(draw: st.DrawFn) -> tuple[str, str | None, str]:
    """(typed text, region or None, expected E.164) for one example number of a random region."""
    region = draw(st.sampled_from(REGIONS_WITH_EXAMPLES))
    number = _example(region)
    assert number is not None
    expected = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    country, national = str(number.country_code), phonenumbers.national_significant_number(number)
    national_digits = "".join(
        ch for ch in phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL) if ch.isdigit()
    )
    style = draw(st.sampled_from(["plus", "double_zero", "national", "formatted_international"]))
    if style == "plus":
        return "+" + draw(spelled_out(country + national)), None, expected
    if style == "double_zero":
        return "00" + draw(spelled_out(country + national)), draw(st.sampled_from([None, region])), expected
    if style == "national":
        return draw(spelled_out(national_digits)), region, expected
    international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return international, draw(st.sampled_from([None, region])), expected


@pytest.mark.parametrize(
    ("typed", "region"),
    [
        ("+33 6 12 34 56 78", None),
        ("0033612345678", None),
        ("+33612345678", None),
        ("06 12 34 56 78", "FR"),
        ("06.12.34.56.78", "fr"),
        ("+33 (0)6 12 34 56 78", None),
        ("00 33 6-12-34-56-78", None),
        ("  +33612345678  ", "DE"),
        ("011 33 6 12 34 56 78", "US"),
    ],
)
def test_french_mobile_typed_in_any_common_format_is_one_e164(typed: str, region: str | None) -> None:
    assert normalize_phone_number(typed, region) == "+33612345678"


@pytest.mark.parametrize(
    ("typed", "region", "reason"),
    [
        ("abc", None, "not a phone number"),
        ("call me maybe", "FR", "not a phone number"),
        ("+33 6 12", None, "too short"),
        ("01 23", "FR", "too short"),
        ("+33 6 12 34 56 78 90", None, "too long"),
        ("+33 6 12 34 56 78 90 12 34 56 78 90 12 34 56 78 90 12 34", None, "too long"),
        ("+999 123456789", None, "unknown country code"),
        ("06 12 34 56 78", None, "unknown country code"),
        ("+33 0 12 34 56 78", None, "not a valid number in FR"),
        ("06 12 34 56 78", "US", "not a valid number"),
        ("", None, "required"),
        ("+33612345678", "XX", "Unknown country 'XX'"),
        ("06 12 34 56 78", "France", "expected a two-letter code such as FR"),
    ],
    ids=[
        "letters",
        "words-with-region",
        "too-short-international",
        "too-short-national",
        "too-long",
        "far-too-long",
        "unknown-country-code",
        "national-format-without-country",
        "invalid-for-its-country",
        "invalid-for-the-region-given",
        "empty",
        "unknown-region",
        "country-name-instead-of-code",
    ],
)
def test_invalid_or_impossible_number_is_refused_with_the_reason(typed: str, region: str | None, reason: str) -> None:
    with pytest.raises(InvalidPhoneNumber) as refused:
        normalize_phone_number(typed, region)

    assert reason in str(refused.value)


@pytest.mark.parametrize(
    "pasted",
    [
        "+33\u202f6\u202f12\u202f34\u202f56\u202f78",  # narrow no-break spaces: French number formatting
        "+33\u20096\u200912\u200934\u200956\u200978",  # thin spaces
        "\u202a+33 6 12 34 56 78\u202c",  # direction marks around a number copied from a right-to-left page
        "\u2066+33\u00a06\u00a012\u00a034\u00a056\u00a078\u2069",
        "+33 6\u200b12 34 56 78",  # a zero-width space
        "\ufeff+33612345678",
    ],
    ids=[
        "narrow-no-break-spaces",
        "thin-spaces",
        "embedding-marks",
        "isolates-and-no-break-spaces",
        "zero-width",
        "bom",
    ],
)
def test_a_number_pasted_with_unicode_spaces_or_invisible_marks_is_read(pasted: str) -> None:
    assert normalize_phone_number(pasted) == "+33612345678"


def test_a_number_with_an_extension_is_refused_not_cut_short() -> None:
    with pytest.raises(InvalidPhoneNumber) as refused:
        normalize_phone_number("+1 631 555 5555 ext. 12")

    assert "extension" in str(refused.value)


@pytest.mark.parametrize("strict", [True, False])
def test_a_mexican_mobile_with_the_old_1_after_the_country_code_is_the_same_number(strict: bool) -> None:
    # WhatsApp ids still spell Mexican mobiles 52 1 …; the 1 was dropped from the numbering plan in 2019.
    assert normalize_phone_number("+52 1 55 1234 5678", strict=strict) == "+525512345678"
    assert normalize_phone_number("5215512345678", strict=strict) == "+525512345678"


def test_meta_test_numbers_outside_the_numbering_plan_are_read_when_not_strict() -> None:
    meta_test_number = "15550783881"

    with pytest.raises(InvalidPhoneNumber):
        normalize_phone_number(meta_test_number)
    assert normalize_phone_number(meta_test_number, strict=False) == "+15550783881"


@settings(max_examples=400, deadline=None)
@given(same_number_in_some_format())
def test_every_spelling_of_a_number_normalizes_to_one_e164(case: tuple[str, str | None, str]) -> None:
    typed, region, expected = case

    assert normalize_phone_number(typed, region) == expected


@settings(max_examples=400, deadline=None)
@given(same_number_in_some_format())
def test_a_number_read_quickly_from_a_meta_payload_is_the_full_parsers_e164(case: tuple[str, str | None, str]) -> None:
    typed, region, expected = case
    assume(region is None)  # Meta writes numbers with their country code

    quick = quick_e164(typed)

    if set(typed) <= set("+0123456789 \t\xa0().-/"):
        assert quick == expected
    else:
        assert quick is None  # other separators: left to the full parser
