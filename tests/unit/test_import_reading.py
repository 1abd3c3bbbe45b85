"""Reading import files: size, encoding, JSON and JSON Lines, hostile text, Meta's values — no database."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from core import model
from core.errors import InvalidInput
from core.imports import csv_onboarding, meta_numbers, webhooks
from core.imports.reading import check_size, clean_imported_name, decode, parse_json_documents, read_daily_limit
from core.imports.report import Notice
from tests.fixtures.meta import support


def test_a_file_over_the_limit_is_refused_with_both_sizes_named() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_size(11 * 1024 * 1024, 10 * 1024 * 1024, "listing.json")

    message = str(refused.value)
    assert "'listing.json' is 11.0 MB (11,534,336 bytes)" in message
    assert "at most 10.0 MB (10,485,760 bytes)" in message
    assert "FLEET_MAX_IMPORT_BYTES" in message


def test_a_file_at_the_limit_is_accepted() -> None:
    check_size(1024, 1024, "listing.json")


def test_text_that_is_not_utf8_names_the_line_of_the_first_bad_byte() -> None:
    text, problems = decode(b'{"data": []}\n{"verified_name": "Caf\xe9"}')

    assert text == ""
    assert [str(p) for p in problems] == [
        "line 2: byte 35 (0xe9) is not UTF-8 text; save the file as UTF-8 (in Excel: CSV UTF-8)."
    ]


def test_a_byte_order_mark_is_dropped() -> None:
    text, problems = decode("\ufeff{}".encode())

    assert (text, problems) == ("{}", [])


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_utf16_text_with_its_byte_order_mark_is_read(encoding: str) -> None:
    # What PowerShell 5 writes for `curl … > listing.json`, and Excel's "Unicode text".
    written = '{"data": [{"verified_name": "Café 東京"}]}\r\n'
    data = written.encode(encoding) if encoding == "utf-16" else b"\xfe\xff" + written.encode(encoding)

    assert decode(data) == (written, [])


def test_a_file_cut_short_after_a_utf16_byte_order_mark_is_named() -> None:
    text, problems = decode("\ufeff{}".encode("utf-16-le") + b"{")  # an odd number of bytes

    assert text == ""
    assert [str(p) for p in problems] == ["file: starts as UTF-16 text but is not; save the file as UTF-8."]


def test_utf16_text_without_a_byte_order_mark_is_named() -> None:
    text, problems = decode('{"data": []}'.encode("utf-16-le"))

    assert text == ""
    assert [str(p) for p in problems] == [
        "file: looks like UTF-16 text without a byte-order mark; save the file as UTF-8."
    ]


def test_invalid_json_names_its_line_and_column() -> None:
    _, problems = parse_json_documents('{\n  "data": [\n    {"id": "1",}\n  ]\n}')

    assert [str(p) for p in problems] == [
        "line 3: invalid JSON at column 16: Expecting property name enclosed in double quotes."
    ]


def test_every_invalid_line_of_json_lines_is_reported_with_its_number() -> None:
    documents, problems = parse_json_documents(support.read("broken/invalid_json.jsonl").decode())

    assert [p.where for p in problems] == ["line 3"]
    assert "invalid JSON" in problems[0].message
    assert [d.line for d in documents] == [1, 2, 4]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "file: is empty."),
        ("   \n", "file: is empty."),
        ('{"time": NaN}', "file: invalid JSON: 'NaN' is not a JSON number."),
        ("[" * 100_000, "file: invalid JSON: nested too deeply."),
    ],
)
def test_empty_and_malformed_files_are_refused(text: str, expected: str) -> None:
    _, problems = parse_json_documents(text)

    assert [str(p) for p in problems] == [expected]


def _read_by_the_standard_library(text: str) -> Any:
    """The standard library's verdict, except that a lone surrogate (half a character) is refused as not text."""
    try:
        value = json.loads(text, parse_constant=_refused_constant)
        return ("refused", "half of a character") if _holds_a_lone_surrogate(value) else ("read", repr(value))
    except json.JSONDecodeError as error:
        return ("refused", error.msg)
    except ValueError as error:
        return ("refused", str(error))


def _read_as_the_importer_should(text: str) -> Any:
    """The standard library's verdict on the whole text; where it finds a second document after the first ("Extra
    data") or every line is an object, the text is JSON Lines and each non-blank line gets the same verdict."""
    whole = _read_by_the_standard_library(text)
    lines = [line for line in text.splitlines() if line.strip()]
    objects_per_line = len(lines) > 1 and all(line.strip()[:1] == "{" and line.strip()[-1:] == "}" for line in lines)
    if whole[0] == "read" or (whole[1] != "Extra data" and not objects_per_line):
        return whole
    verdicts = [_read_by_the_standard_library(line) for line in lines]
    refused = [verdict for verdict in verdicts if verdict[0] == "refused"]
    return refused[0] if refused else verdicts[0]


def _holds_a_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any("\ud800" <= ch <= "\udfff" for ch in value)
    if isinstance(value, dict):
        return any(_holds_a_lone_surrogate(k) or _holds_a_lone_surrogate(v) for k, v in value.items())
    return isinstance(value, list) and any(_holds_a_lone_surrogate(item) for item in value)


def _refused_constant(name: str) -> Any:
    raise ValueError(f"'{name}' is not a JSON number")


def _read_by_the_importer(text: str) -> Any:
    documents, problems = parse_json_documents(text)
    if problems:
        return ("refused", [str(p) for p in problems])
    return ("read", repr(documents[0].value))


_ALL_CHARACTERS = st.characters(exclude_categories=("Cs",))  # a lone surrogate is refused (see below)
_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(_ALL_CHARACTERS, max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(_ALL_CHARACTERS, max_size=6), inner),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(value=_JSON_VALUES, ascii_only=st.booleans(), indent=st.sampled_from([None, 1]))
def test_any_json_document_reads_as_the_standard_library_reads_it(value: Any, ascii_only: bool, indent: Any) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only, indent=indent)

    documents, problems = parse_json_documents(text)

    assert problems == []
    assert repr(documents[0].value) == repr(json.loads(text))


@settings(max_examples=300, deadline=None)
@example(text="NaN")
@example(text='{"limit": -Infinity}')
@example(text='"\\ud83d"')  # a lone surrogate escape
@example(text="[" * 250 + "]" * 250)
@example(text="[1, 2,]")
@example(text="0\n0")  # JSON Lines of two documents
@example(text='{}\n{"a": nul}')
@given(
    text=st.one_of(
        st.text(st.sampled_from('{}[]":,0123456789.eE+-tfrnulsaNIy \\u\n'), max_size=30),
        st.builds(lambda value, cut: json.dumps(value)[:cut], _JSON_VALUES, st.integers(0, 40)),
    )
)
def test_any_text_is_read_or_refused_as_the_standard_library_would(text: str) -> None:
    expected = _read_as_the_importer_should(text)

    outcome = _read_by_the_importer(text)

    assert outcome[0] == expected[0]
    if expected[0] == "read":
        assert outcome == expected
    elif text.strip() and "\n" not in text:  # one document: the standard library's reason is the one given
        assert expected[1] in outcome[1][0]


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("Lucky\x00Shrub", "contains control characters"),
        ("Lucky\x1b[31mShrub", "contains control characters"),
        ("Lucky \u202eburhS", "contains a text-direction control"),
        ("x" * 201, "is too long (201 characters, at most 200)"),
    ],
)
def test_hostile_names_are_refused_with_the_reason(value: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        clean_imported_name("display name", value)

    assert reason in str(refused.value)
    assert "'display name'" in str(refused.value)


@pytest.mark.parametrize("value", ["Lucky Shrub", "Équipe Paris — ventes", "Lucky Shrub 🌱", "O'Brien & Sons (US)"])
def test_ordinary_names_pass_unchanged(value: str) -> None:
    assert clean_imported_name("display name", value) == value


@pytest.mark.parametrize(
    "value", ['=HYPERLINK("http://evil.example","Click")', "+cmd|' /C calc'!A0", "-2+3", "<script>alert(1)</script>"]
)
def test_a_name_a_spreadsheet_or_page_could_misread_is_kept_as_typed(value: str) -> None:
    assert clean_imported_name("display name", value) == value == model.clean_name("display name", value)


@settings(max_examples=300, deadline=None)
@given(value=st.text(max_size=20))
def test_a_file_cleans_names_as_forms_and_the_cli_do(value: str) -> None:
    assert _cleaned_or_refusal(lambda: clean_imported_name("group", value)) == _cleaned_or_refusal(
        lambda: model.clean_name("group", value)
    )


def _cleaned_or_refusal(clean: Callable[[], str]) -> str:
    try:
        return clean()
    except InvalidInput as refused:
        return f"refused: {refused}"


@pytest.mark.parametrize(
    ("raw", "tier"),
    [
        (2000, "TIER_2K"),
        (-1, "TIER_UNLIMITED"),
        ("10000", "TIER_10K"),
        ("TIER_100K", "TIER_100K"),
        ("tier_250", "TIER_250"),
    ],
)
def test_a_portfolio_limit_is_read_as_a_tier_in_any_of_metas_forms(raw: object, tier: str) -> None:
    warnings: list[Notice] = []

    assert read_daily_limit("max_daily_conversations_per_business", raw, "here", warnings) == tier
    assert warnings == []


def test_a_daily_limit_matching_no_tier_is_kept_and_reported() -> None:
    warnings: list[Notice] = []

    assert read_daily_limit("max_daily_conversations_per_business", 5000, "line 2", warnings) == "TIER_5000"
    assert [str(w) for w in warnings] == ["line 2: daily limit 5000 matches no known tier; stored as 'TIER_5000'."]


# --- Graph listings ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["listings/lucky_shrub_us_pages.json", "listings/lucky_shrub_us_pages.jsonl"])
def test_several_pages_read_as_one_listing_in_order(name: str) -> None:
    listing = meta_numbers.parse_listing(support.read(name).decode(), support.WABA_US)

    assert listing.errors == []
    assert [(n.where, n.e164) for n in listing.numbers] == [
        ("page 1, data[0]" if name.endswith(".json") else "line 1, data[0]", support.US_MAIN),
        ("page 2, data[0]" if name.endswith(".json") else "line 2, data[0]", support.US_SUPPORT),
    ]
    assert listing.numbers[0].values["throughput_level"] == "HIGH"
    assert listing.numbers[0].portfolio_limit == "TIER_10K"


def test_a_listing_of_several_wabas_names_each_waba_from_its_key() -> None:
    listing = meta_numbers.parse_listing(support.read("listings/two_wabas.json").decode(), None)

    assert listing.errors == []
    assert [(n.meta_waba_id, n.e164) for n in listing.numbers] == [
        (support.WABA_US, support.US_MAIN),
        (support.WABA_US, support.US_SUPPORT),
        (support.WABA_EU, support.FR_MAIN),
    ]


def test_a_single_listing_needs_its_waba_and_a_map_of_wabas_refuses_one() -> None:
    single = meta_numbers.parse_listing(support.read("listings/lucky_shrub_us_page.json").decode(), None)
    mapped = meta_numbers.parse_listing(support.read("listings/two_wabas.json").decode(), support.WABA_US)

    assert [p.where for p in single.errors] == ["--waba"]
    assert [str(p) for p in mapped.errors] == ["--waba: the file maps WABA ids to listings; leave out --waba."]


def us_page() -> dict[str, object]:
    return json.loads(support.read("listings/lucky_shrub_us_page.json"))


def eu_page() -> dict[str, object]:
    first_page, *_ = json.loads(support.read("listings/two_wabas.json"))[support.WABA_EU]
    return first_page  # type: ignore[no-any-return]


def test_a_waba_read_with_its_phone_numbers_field_is_that_wabas_listing() -> None:
    # GET /{waba-id}?fields=name,phone_numbers{…}
    text = json.dumps({"id": support.WABA_US, "name": "Lucky Shrub US", "phone_numbers": us_page()})

    without_option = meta_numbers.parse_listing(text, None)
    same_waba = meta_numbers.parse_listing(text, support.WABA_US)
    other_waba = meta_numbers.parse_listing(text, support.WABA_EU)

    plain_page = meta_numbers.parse_listing(json.dumps(us_page()), support.WABA_US)
    assert without_option.errors == same_waba.errors == []
    assert [(n.meta_waba_id, n.e164) for n in without_option.numbers] == [
        (support.WABA_US, n.e164) for n in plain_page.numbers
    ]
    assert len(plain_page.numbers) == 3
    assert without_option.complete_wabas == {support.WABA_US}
    assert [str(p) for p in other_waba.errors] == [
        f"--waba: the file is the listing of WABA {support.WABA_US}, not of {support.WABA_EU}; leave out --waba."
    ]


def test_a_portfolios_wabas_read_with_their_phone_numbers_field_are_each_wabas_listing() -> None:
    # GET /{business-id}/owned_whatsapp_business_accounts?fields=phone_numbers{…}
    more = {"cursors": {"after": "QVFI"}, "next": "https://graph.facebook.com/v23.0/1/phone_numbers?after=QVFI"}
    wabas = [
        {"id": support.WABA_US, "phone_numbers": us_page()},
        {"id": support.WABA_EU, "phone_numbers": {**eu_page(), "paging": more}},
    ]
    text = json.dumps({"data": wabas, "paging": {"cursors": {"before": "QVFH", "after": "QVFI"}}})

    listing = meta_numbers.parse_listing(text, None)

    assert listing.errors == []
    assert [(n.where, n.meta_waba_id, n.e164) for n in listing.numbers] == [
        (f"WABA {support.WABA_US}, page 1, data[0]", support.WABA_US, support.US_MAIN),
        (f"WABA {support.WABA_US}, page 1, data[1]", support.WABA_US, support.US_SUPPORT),
        (f"WABA {support.WABA_US}, page 1, data[2]", support.WABA_US, "+16315555555"),
        (f"WABA {support.WABA_EU}, page 1, data[0]", support.WABA_EU, support.FR_MAIN),
    ]
    assert (listing.complete_wabas, listing.incomplete_wabas) == ({support.WABA_US}, {support.WABA_EU})


def test_a_waba_without_a_usable_id_is_reported_not_raised() -> None:
    page_of_wabas = {"data": [{"id": support.WABA_US, "phone_numbers": us_page()}, {"phone_numbers": eu_page()}]}

    listing = meta_numbers.parse_listing(json.dumps(page_of_wabas), None)

    assert [str(p) for p in listing.errors] == [
        "file: data[1]: Field 'WABA id' must be a Meta id made of digits, got null."
    ]
    assert listing.numbers == []


GRAPH_ERROR = {
    "error": {
        "message": "Error validating access token: Session has expired on Tuesday, 24-Nov-26 09:00:00 PST.",
        "type": "OAuthException",
        "code": 190,
        "error_subcode": 463,
        "fbtrace_id": "A5qsVJKbMs3Bd4CSVnKUsUR",
    }
}


def test_a_graph_api_error_saved_instead_of_a_listing_is_named_as_such() -> None:
    expected = (
        "file: this is an error from the Graph API, not a listing: Error validating access token: Session has "
        "expired on Tuesday, 24-Nov-26 09:00:00 PST. (OAuthException, code 190)."
    )

    for waba in (None, support.WABA_US):
        listing = meta_numbers.parse_listing(json.dumps(GRAPH_ERROR), waba)
        assert [str(p) for p in listing.errors] == [expected]


def test_a_graph_api_error_saved_instead_of_webhooks_is_named_as_such() -> None:
    stream = webhooks.parse_stream(json.dumps(GRAPH_ERROR))

    assert [str(p) for p in stream.errors] == [
        "file: this is an error from the Graph API, not a webhook payload: Error validating access token: Session "
        "has expired on Tuesday, 24-Nov-26 09:00:00 PST. (OAuthException, code 190)."
    ]


def test_one_phone_number_saved_instead_of_a_listing_says_what_to_fetch() -> None:
    # GET /{phone-number-id}
    number = us_page()["data"][0]  # type: ignore[index]

    listing = meta_numbers.parse_listing(json.dumps(number), support.WABA_US)

    assert [str(p) for p in listing.errors] == [
        "file: this is one phone number, not a WABA's listing; save the answer of GET /{waba-id}/phone_numbers."
    ]


def test_listing_rows_with_missing_or_malformed_fields_are_each_reported() -> None:
    page = {
        "data": [
            {"verified_name": "No number", "id": "1"},
            {"display_phone_number": "+1 555 ext. 7", "id": "2"},
            {"display_phone_number": "+1 555-078-3881", "id": "not-digits"},
            {"display_phone_number": "+1 555-016-7350", "quality_rating": 3},
            "a string",
        ],
        "paging": {},
    }

    listing = meta_numbers.parse_listing(json.dumps(page), support.WABA_US)

    assert [str(p) for p in listing.errors] == [
        "page 1, data[0]: missing field 'display_phone_number'.",
        "page 1, data[1]: Phone number '+1 555 ext. 7' is impossible: too short.",
        "page 1, data[2]: Field 'id' must be a Meta id made of digits, got 'not-digits'.",
        "page 1, data[3]: Field 'quality_rating' must be a non-empty text value, got a number 3.",
        "page 1, data[4]: expected a phone number object, got text.",
    ]


def test_unknown_values_and_fields_of_a_listing_are_reported_not_refused() -> None:
    listing = meta_numbers.parse_listing(support.read("listings/unknown_values.json").decode(), support.WABA_US)

    assert listing.errors == []
    assert listing.numbers[0].values["status"] == "WARMING_UP"
    assert [str(w) for w in listing.warnings] == [
        "page 1, data[0]: unknown status 'WARMING_UP' stored as-is (this version knows 11).",
        "page 1, data[0]: unknown messaging_limit_tier 'TIER_5K' stored as-is (this version knows 8).",
        "file: unknown fields not imported: 'marketing_messages_onboarding_status' (1 row(s)).",
    ]


# --- webhooks ----------------------------------------------------------------------------------------------------


def test_an_envelope_of_another_product_is_refused() -> None:
    stream = webhooks.parse_stream(support.read("broken/wrong_envelope.json").decode())

    assert [str(p) for p in stream.errors] == [
        "file: field 'object' is 'page': only 'whatsapp_business_account' webhooks are imported."
    ]


def test_missing_webhook_fields_are_named_with_their_entry_and_change() -> None:
    stream = webhooks.parse_stream(support.read("broken/missing_fields.json").decode())

    assert [str(p) for p in stream.errors] == [
        "entry[0].changes[0]: missing field 'display_phone_number'.",
        "entry[1].changes[0]: its entry has no 'time', which orders imported events.",
    ]


def test_an_entry_without_time_is_read_when_none_of_its_changes_is_imported() -> None:
    # A messages webhook, as Meta delivers it: its entry carries no time.
    status = {"id": "wamid.HBgL", "status": "delivered", "timestamp": "1748454394", "recipient_id": "16505551234"}
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "statuses": [status],
    }
    envelope = {
        "object": "whatsapp_business_account",
        "entry": [{"id": support.WABA_US, "changes": [{"value": value, "field": "messages"}]}],
    }

    stream = webhooks.parse_stream(json.dumps(envelope))

    assert stream.errors == []
    assert [str(n) for n in stream.skipped] == [
        "entry[0].changes[0]: field 'messages' is not imported (imported: " + ", ".join(webhooks.READERS) + ")."
    ]


def test_webhook_fields_not_imported_are_skipped_with_their_name() -> None:
    stream = webhooks.parse_stream(support.read("webhooks/day_of_deliveries.jsonl").decode())

    assert stream.errors == []
    assert [str(n) for n in stream.skipped] == [
        "line 5, entry[0].changes[0]: field 'messages' is not imported (imported: phone_number_quality_update, "
        "phone_number_name_update, account_update, message_template_status_update, message_template_quality_update, "
        "business_capability_update, template_category_update, account_alerts).",
    ]
    assert len(stream.events) == 11  # the account_alerts delivery on line 9 is recorded


def test_a_quality_update_filed_under_the_status_field_as_in_metas_reference_is_read_as_a_quality_update() -> None:
    stream = webhooks.parse_stream(support.read("webhooks/template_quality_as_in_meta_reference.json").decode())

    (event,) = stream.events
    assert isinstance(event, webhooks.TemplateEvent)
    assert event.values == {"quality_score": "YELLOW"}
    assert [n.message for n in stream.warnings] == [
        "a template quality update sent as 'message_template_status_update'."
    ]


@pytest.mark.parametrize(
    ("time", "reason"),
    [
        ("1743451903", "must be a Unix time in seconds, got text"),
        (1743451903000, "not a Unix time in seconds between 2015 and 2100"),
        (True, "must be a Unix time in seconds, got true/false"),
    ],
)
def test_an_entry_time_that_is_not_unix_seconds_is_refused(time: object, reason: str) -> None:
    payload = json.loads(support.read("webhooks/quality_flagged.json"))
    payload["entry"][0]["time"] = time

    stream = webhooks.parse_stream(json.dumps(payload))

    assert len(stream.errors) == 1
    assert stream.errors[0].where == "entry[0]"
    assert reason in stream.errors[0].message


def test_a_requested_name_meta_sends_as_a_formula_is_read_as_sent_and_reported() -> None:
    stream = webhooks.parse_stream(support.read("broken/hostile_name_update.json").decode())

    assert stream.errors == []
    (event,) = stream.events
    assert isinstance(event, webhooks.NameEvent)
    assert event.display_name == '=HYPERLINK("http://evil.example","Lucky Shrub")'
    assert "starts with '=' (a spreadsheet formula)" in stream.warnings[0].message


# --- CSV ---------------------------------------------------------------------------------------------------------


def test_a_semicolon_csv_saved_by_excel_reads_with_its_accents_and_quoted_fields() -> None:
    text, _ = decode(support.read("csv/onboarding_semicolon_excel.csv"))

    sheet = csv_onboarding.parse_sheet(text)

    assert sheet.errors == []
    assert [(r.line, r.group, r.e164, r.display_name) for r in sheet.rows] == [
        (2, "Équipe Paris", "+33698765433", "Lucky Shrub Équipe"),
        (3, "España ventas", "+34612345678", "Lucky Shrub España; ventas"),
    ]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("workspace,portfolio_id,waba_id,group,phone,display_name", "missing column(s): 'waba_name'"),
        ("workspace,portfolio_id,waba_id,waba_name,group,phone,display_name,notes", "unknown column(s): 'notes'"),
        ("workspace,portfolio_id,waba_id,waba_name,group,phone,phone,display_name", "repeated: 'phone'"),
    ],
)
def test_a_wrong_header_is_refused_with_the_expected_one(header: str, expected: str) -> None:
    sheet = csv_onboarding.parse_sheet(header + "\n")

    assert len(sheet.errors) == 1
    assert sheet.errors[0].where == "line 1"
    assert expected in sheet.errors[0].message
    assert csv_onboarding.HEADER_HELP in sheet.errors[0].message


def test_rows_are_reported_by_their_line_even_after_a_multiline_field() -> None:
    text = (
        "workspace,portfolio_id,waba_id,waba_name,group,phone,display_name\n"
        'Lucky Shrub,2729063490586005,102290129340398,Lucky Shrub US,"US\norders",+1 201-555-0123,\n'
        "\n"
        "Lucky Shrub,2729063490586005,102290129340398,Lucky Shrub US,US care,+1 201-555,\n"
        "Lucky Shrub,2729063490586005\n"
    )

    sheet = csv_onboarding.parse_sheet(text)

    assert [str(p) for p in sheet.errors] == [
        "line 2: Field 'group' contains control characters.",
        "line 5: Phone number '+1 201-555' is impossible: too short.",
        "line 6: has 2 field(s); the header has 7.",
    ]


def test_the_same_number_twice_in_a_file_is_refused_whatever_its_format() -> None:
    text, _ = decode(support.read("csv/bad_rows.csv"))

    sheet = csv_onboarding.parse_sheet(text)

    assert "line 3: phone +12015550123 is also on line 2." in [str(p) for p in sheet.errors]


def test_a_header_without_rows_is_refused() -> None:
    sheet = csv_onboarding.parse_sheet(",".join(csv_onboarding.COLUMNS) + "\n")

    assert [str(p) for p in sheet.errors] == ["file: has a header but no rows."]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '{"data": [{"id": "1", "verified_name": "x\\udcff"}]}',
            "file: invalid JSON: data[0].verified_name holds \\udcff, half of a character (a lone surrogate escape), "
            "which is not text.",
        ),
        ('{"ok": 1}\n["a", {"b\\ud800": 2}]', "line 2: invalid JSON: [1] key holds \\ud800, half of a character"),
        ('"\\ude00"', "file: invalid JSON: the document holds \\ude00"),
    ],
    ids=["listing value", "key on a JSON line", "whole document"],
)
def test_a_lone_surrogate_escape_is_refused_naming_where_it_is(text: str, expected: str) -> None:
    _, problems = parse_json_documents(text)

    assert len(problems) == 1
    assert str(problems[0]).startswith(expected)


def test_a_surrogate_pair_escape_is_one_character_and_is_read() -> None:
    documents, problems = parse_json_documents('{"verified_name": "Shop \\ud83d\\ude00"}')

    assert problems == []
    assert documents[0].value == {"verified_name": "Shop \U0001f600"}
