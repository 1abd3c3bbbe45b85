"""Importing Graph API phone-number listings into a real SQLite fleet."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select

from core import exports, imports, services
from core.db import AuditEntry, FieldEventTime, NumberHealthSnapshot, read_session
from core.errors import InvalidInput, PermissionDenied
from core.imports import ImportRejected, ImportRequest
from core.imports import fleet as fleet_rows
from core.reads.audit import audit_table
from core.reads.history import number_history
from core.reads.numbers import numbers_table
from core.reads.subscriptions import groups_table
from core.reads.templates import templates_table
from tests.builders import ADMIN, ANALYST, VIEWER
from tests.fixtures.meta import support

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
LATER = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def fleet(sqlite_engine: Engine) -> Engine:
    support.lucky_shrub_fleet(sqlite_engine)
    return sqlite_engine


def number(engine: Engine, e164: str) -> dict[str, object]:
    table = numbers_table(engine)
    return table[table["phone_e164"] == e164].iloc[0].to_dict()


def listing(*numbers: dict[str, object], next_page: bool = False) -> bytes:
    paging: dict[str, object] = {"cursors": {"before": "QVFIUnF1ZAEp", "after": "QVFIUm9XRlNx"}}
    if next_page:
        paging["next"] = "https://graph.facebook.com/v23.0/102290129340398/phone_numbers?after=QVFIUm9XRlNx"
    return json.dumps({"data": list(numbers), "paging": paging}).encode()


def us_request(data: bytes, **options: object) -> ImportRequest:
    return ImportRequest("meta-numbers", data, "listing.json", waba=support.WABA_US, **options)  # type: ignore[arg-type]


def test_a_listing_creates_the_missing_number_in_its_own_group_and_updates_the_known_ones(fleet: Engine) -> None:
    result = imports.run_import(
        fleet,
        ADMIN,
        support.request("meta-numbers", "listings/lucky_shrub_us_page.json", waba=support.WABA_US),
        now=NOW,
    )

    assert result.written
    new = number(fleet, "+16315555555")
    assert (new["subscription_group"], new["waba_id"], new["display_name"]) == (
        "+16315555555",
        support.WABA_US,
        "Lucky Shrub Deliveries",
    )
    assert (new["status"], new["name_status"], new["meta_phone_number_id"]) == (
        "PENDING",
        "PENDING_REVIEW",
        "1906385232743451",
    )
    main = number(fleet, support.US_MAIN)
    assert (main["quality_rating"], main["status"]) == ("YELLOW", "CONNECTED")
    support_line = number(fleet, support.US_SUPPORT)
    assert (support_line["quality_rating"], support_line["status"], support_line["messaging_limit_tier"]) == (
        "RED",
        "FLAGGED",
        "TIER_1K",
    )
    assert support_line["portfolio_messaging_limit"] == "TIER_10K"


def test_a_waba_read_with_its_phone_numbers_field_imports_like_its_listing(fleet: Engine) -> None:
    page = json.loads(support.read("listings/lucky_shrub_us_page.json"))
    nested = json.dumps({"id": support.WABA_US, "name": "Lucky Shrub US", "phone_numbers": page}).encode()

    plain_plan = imports.plan_import(fleet, ADMIN, us_request(json.dumps(page).encode()), now=NOW)
    result = imports.run_import(fleet, ADMIN, ImportRequest("meta-numbers", nested, "waba.json"), now=NOW)

    assert result.written
    assert result.plan.summary() == plain_plan.summary()
    assert result.plan.fingerprint() == plain_plan.fingerprint()


def test_the_plan_shows_each_change_before_and_after(fleet: Engine) -> None:
    plan = imports.plan_import(
        fleet,
        ADMIN,
        support.request("meta-numbers", "listings/lucky_shrub_us_page.json", waba=support.WABA_US),
        now=NOW,
    )

    changes = plan.tables()["Update"]
    rows = {(r.key, r.field): (r.before, r.after) for r in changes.itertuples()}
    assert rows[(support.US_MAIN, "quality_rating")] == ("GREEN", "YELLOW")
    assert rows[(support.US_SUPPORT, "status")] == ("CONNECTED", "FLAGGED")
    assert rows[(support.US_SUPPORT, "messaging_limit_tier")] == ("TIER_10K", "TIER_1K")
    assert rows[(support.PORTFOLIO, "messaging_limit")] == ("TIER_250", "TIER_10K")
    assert plan.summary() == {
        "numbers to create": 1,
        "numbers to update": 2,
        "portfolios to update": 1,
        "history rows": 3,
    }


def test_a_dry_run_writes_nothing(fleet: Engine) -> None:
    before = support.dump(fleet)

    plan = imports.plan_import(
        fleet,
        ADMIN,
        support.request("meta-numbers", "listings/lucky_shrub_us_page.json", waba=support.WABA_US),
        now=NOW,
    )

    assert plan.writes_anything
    assert support.dump(fleet) == before


def test_each_changed_health_value_gets_a_snapshot_and_each_change_an_audit_entry(fleet: Engine) -> None:
    imports.run_import(
        fleet,
        ADMIN,
        support.request("meta-numbers", "listings/lucky_shrub_us_page.json", waba=support.WABA_US),
        now=NOW,
    )

    history = number_history(fleet, [support.US_SUPPORT, support.US_MAIN])
    latest = history[history["recorded_at"] == NOW]
    assert sorted(zip(latest["phone_e164"], latest["status"], latest["source"], strict=True)) == [
        (support.US_SUPPORT, "FLAGGED", "meta-listing"),
        (support.US_MAIN, "CONNECTED", "meta-listing"),
    ]
    audit = audit_table(fleet, since=NOW)
    assert sorted(zip(audit["action"], audit["object_type"], audit["object_key"], strict=True)) == [
        ("add", "phone_number", "+16315555555"),
        ("bind", "subscription_group", "+16315555555"),
        ("import", "import", "meta-numbers: lucky_shrub_us_page.json"),
        ("update", "phone_number", support.US_SUPPORT),
        ("update", "phone_number", support.US_MAIN),
        ("update", "portfolio", support.PORTFOLIO),
    ]
    update = audit[audit["object_key"] == support.US_MAIN].iloc[0]
    assert json.loads(update["before"]) == {
        "quality_rating": "GREEN",
        "is_official_business_account": None,
        "last_onboarded_time": None,
    }
    assert json.loads(update["after"]) == {
        "quality_rating": "YELLOW",
        "is_official_business_account": False,
        "last_onboarded_time": "2025-02-11T08:34:15+0000",
    }


def test_importing_the_same_listing_again_changes_nothing(fleet: Engine) -> None:
    request = support.request("meta-numbers", "listings/lucky_shrub_us_page.json", waba=support.WABA_US)
    imports.run_import(fleet, ADMIN, request, now=NOW)
    before = support.dump(fleet)

    again = imports.run_import(fleet, ADMIN, request, now=datetime(2025, 6, 2, tzinfo=UTC))

    assert not again.written
    assert again.message == "'lucky_shrub_us_page.json' matches the fleet: nothing to change (3 row(s) read)."
    assert support.dump(fleet) == before


@pytest.mark.parametrize(
    "display", ["+1 555-078-3881", "+15550783881", "1 (555) 078-3881", "+1.555.078.3881", "001 555 078 3881"]
)
def test_a_number_is_matched_by_e164_whatever_metas_formatting(fleet: Engine, display: str) -> None:
    data = listing({"display_phone_number": display, "quality_rating": "RED"})

    plan = imports.plan_import(fleet, ADMIN, us_request(data), now=NOW)

    assert plan.numbers == []
    assert [(u.key, [c.field for c in u.changes]) for u in plan.updates] == [(support.US_MAIN, ["quality_rating"])]


def test_a_number_is_matched_by_its_meta_id_and_a_conflicting_e164_is_refused(fleet: Engine) -> None:
    data = listing({"display_phone_number": "+1 555-016-7350", "id": "106540352242922"})

    plan = imports.plan_import(fleet, ADMIN, us_request(data), now=NOW)

    assert [str(p) for p in plan.errors] == [
        "page 1, data[0]: Meta phone-number id 106540352242922 belongs to +15550783881 in the fleet, but "
        "+15550167350 is another stored number."
    ]


# A listed value for each field Meta's node gives, other than what the Lucky Shrub page says for +1 555-078-3881.
OTHER_LISTED_VALUES = {
    "verified_name": ("display_name", "Lucky Shrub Garden"),
    "status": ("status", "FLAGGED"),
    "quality_rating": ("quality_rating", "RED"),
    "messaging_limit_tier": ("messaging_limit_tier", "TIER_100K"),
    "name_status": ("name_status", "DECLINED"),
    "throughput": ("throughput_level", "HIGH"),
    "code_verification_status": ("code_verification_status", "EXPIRED"),
    "platform_type": ("platform_type", "ON_PREMISE"),
    "account_mode": ("account_mode", "SANDBOX"),
}


@pytest.mark.parametrize("node_field", sorted(OTHER_LISTED_VALUES))
def test_a_number_listed_with_every_field_is_updated_in_the_one_that_changed(fleet: Engine, node_field: str) -> None:
    page = json.loads(support.read("listings/lucky_shrub_us_page.json"))
    imports.run_import(fleet, ADMIN, us_request(json.dumps(page).encode()), now=NOW)
    field, value = OTHER_LISTED_VALUES[node_field]
    page["data"][0][node_field] = {"level": value} if node_field == "throughput" else value

    plan = imports.plan_import(fleet, ADMIN, us_request(json.dumps(page).encode()), now=LATER)

    assert [(u.key, [(c.field, c.after) for c in u.changes]) for u in plan.updates] == [
        (support.US_MAIN, [(field, value)])
    ]


def test_a_stored_number_is_read_with_its_values_in_the_order_listings_compare_them(fleet: Engine) -> None:
    with read_session(fleet) as session:
        (row,) = fleet_rows.load_numbers(session, [support.US_MAIN]).values()

    assert row._fields[2 : 2 + len(fleet_rows.NUMBER_FIELDS)] == fleet_rows.NUMBER_FIELDS
    assert row.values["display_name"] == "Lucky Shrub"
    listed = {field: f"listed {field}" for field in fleet_rows.LISTED_FIELDS}
    assert fleet_rows.listed_values(listed) == tuple(listed.values())
    assert fleet_rows.stored_listed_values(row) == tuple(row.values[f] for f in fleet_rows.LISTED_FIELDS)


def test_one_meta_id_listed_for_two_numbers_is_refused_with_both(fleet: Engine) -> None:
    data = listing(
        {"display_phone_number": "+1 555-078-3881", "id": "106540352242922"},
        {"display_phone_number": "+1 555-016-7350", "id": "106540352242922"},
    )

    plan = imports.plan_import(fleet, ADMIN, us_request(data), now=NOW)

    assert [str(p) for p in plan.errors] == [
        "page 1, data[1]: Meta phone-number id 106540352242922 is listed twice, as +15550167350 and as "
        "+15550783881 (at page 1, data[0])."
    ]


def test_fields_meta_leaves_out_keep_their_stored_values(fleet: Engine) -> None:
    data = listing({"display_phone_number": "+1 555-078-3881", "status": "RESTRICTED"})

    imports.run_import(fleet, ADMIN, us_request(data), now=NOW)

    main = number(fleet, support.US_MAIN)
    assert (main["status"], main["quality_rating"], main["display_name"], main["throughput_level"]) == (
        "RESTRICTED",
        "GREEN",
        "Lucky Shrub",
        "STANDARD",
    )


def test_a_listing_asked_for_quality_score_instead_of_quality_rating_sets_the_rating(fleet: Engine) -> None:
    scored = {"display_phone_number": "+1 555-078-3881", "quality_score": {"score": "RED", "date": 1748454394}}
    both = {
        "display_phone_number": "+1 555-016-7350",
        "quality_rating": "YELLOW",
        "quality_score": {"score": "RED", "date": 1748454394},
    }

    imports.run_import(fleet, ADMIN, us_request(listing(scored, both)), now=NOW)

    assert number(fleet, support.US_MAIN)["quality_rating"] == "RED"
    assert number(fleet, support.US_SUPPORT)["quality_rating"] == "YELLOW"


def test_unknown_values_are_stored_as_is_and_reported(fleet: Engine) -> None:
    result = imports.run_import(
        fleet, ADMIN, support.request("meta-numbers", "listings/unknown_values.json", waba=support.WABA_US), now=NOW
    )

    main = number(fleet, support.US_MAIN)
    assert (main["status"], main["messaging_limit_tier"]) == ("WARMING_UP", "TIER_5K")
    assert main["unknown_values"] == "status=WARMING_UP messaging_limit_tier=TIER_5K"
    assert [w.message for w in result.plan.warnings][:3] == [
        "unknown status 'WARMING_UP' stored as-is (this version knows 11).",
        "unknown messaging_limit_tier 'TIER_5K' stored as-is (this version knows 8).",
        "unknown fields not imported: 'marketing_messages_onboarding_status' (1 row(s)).",
    ]


def test_new_groups_take_the_prefix_when_one_is_given(fleet: Engine) -> None:
    data = listing({"display_phone_number": "+1 631-555-5555", "verified_name": "Lucky Shrub Deliveries"})

    imports.run_import(fleet, ADMIN, us_request(data, group_prefix="US sender"), now=NOW)

    assert number(fleet, "+16315555555")["subscription_group"] == "US sender +16315555555"


def test_a_listing_that_would_pass_twenty_numbers_is_refused_whole(fleet: Engine) -> None:
    before = support.dump(fleet)
    data = listing(*[{"display_phone_number": f"+1 555-010-{index:04d}"} for index in range(19)])

    with pytest.raises(ImportRejected) as refused:
        imports.run_import(fleet, ADMIN, us_request(data), now=NOW)

    assert (
        "WABA 102290129340398: 'Lucky Shrub US' has 2 active numbers and the listing adds 19: 21 would exceed the "
        "maximum of 20." in str(refused.value)
    )
    assert support.dump(fleet) == before


def test_a_number_active_in_another_waba_is_an_error_for_its_row(fleet: Engine) -> None:
    before = support.dump(fleet)
    data = listing({"display_phone_number": "+33 6 12 34 56 78"}, {"display_phone_number": "+1 631-555-5555"})

    with pytest.raises(ImportRejected) as refused:
        imports.run_import(fleet, ADMIN, us_request(data), now=NOW)

    assert refused.value.problems[0].where == "page 1, data[0]"
    assert (
        "+33612345678 is already active in WABA 'Lucky Shrub EU' (524126980791429), subscription group 'FR main'"
        in (refused.value.problems[0].message)
    )
    assert len(refused.value.problems) == 1
    assert support.dump(fleet) == before


def test_a_number_whose_group_is_archived_is_reattached_to_a_new_group(fleet: Engine) -> None:
    services.archive_group(fleet, ADMIN, phone=support.FR_MAIN)
    data = listing({"display_phone_number": "+33 6 12 34 56 78", "quality_rating": "YELLOW"})

    plan = imports.run_import(fleet, ADMIN, us_request(data), now=NOW).plan

    assert plan.summary() == {"numbers to re-attach": 1, "numbers to update": 1, "history rows": 1, "warnings": 2}
    groups = groups_table(fleet)
    fr = groups[groups["phone_e164"] == support.FR_MAIN]
    assert sorted(zip(fr["subscription_group"], fr["state"], fr["waba_id"], strict=True)) == [
        ("+33612345678", "active", support.WABA_US),
        ("FR main", "archived", support.WABA_EU),
    ]


def test_a_listing_of_several_wabas_updates_each_and_the_shared_portfolio_once(fleet: Engine) -> None:
    plan = imports.run_import(fleet, ADMIN, support.request("meta-numbers", "listings/two_wabas.json"), now=NOW).plan

    assert plan.summary() == {"numbers to update": 1, "portfolios to update": 1, "history rows": 1}
    assert number(fleet, support.FR_MAIN)["quality_rating"] == "YELLOW"
    assert number(fleet, support.FR_MAIN)["portfolio_messaging_limit"] == "TIER_2K"


def test_numbers_the_fleet_has_but_meta_does_not_list_are_reported(fleet: Engine) -> None:
    complete = imports.plan_import(fleet, ADMIN, us_request(listing({"display_phone_number": "+1 555-078-3881"})))
    partial = imports.plan_import(
        fleet, ADMIN, us_request(listing({"display_phone_number": "+1 555-078-3881"}, next_page=True))
    )

    assert [str(w) for w in complete.warnings] == [
        "WABA 102290129340398: +15550167350 is active in 'Lucky Shrub US' but not in Meta's listing."
    ]
    assert [w.message for w in partial.warnings] == [
        "the listing has more pages (paging.next): numbers on pages not in the file were not compared."
    ]


def test_an_impossible_number_in_a_listing_is_refused_with_its_row(fleet: Engine) -> None:
    data = listing({"display_phone_number": "+1 555-078-3881"}, {"display_phone_number": "+1 555"})

    plan = imports.plan_import(fleet, ADMIN, us_request(data), now=NOW)

    assert [str(p) for p in plan.errors] == ["page 1, data[1]: Phone number '+1 555' is impossible: too short."]


def test_a_listing_for_a_waba_outside_the_fleet_is_refused(fleet: Engine) -> None:
    data = listing({"display_phone_number": "+1 631-555-5555"})

    plan = imports.plan_import(fleet, ADMIN, ImportRequest("meta-numbers", data, "x.json", waba="999999999"))

    assert [str(p) for p in plan.errors] == [
        "WABA 999999999: is not in the fleet; add it first (python -m core waba add …)."
    ]


def test_names_meta_sends_with_markup_or_control_characters_are_stored_reported_and_neutralised(fleet: Engine) -> None:
    request = support.request("meta-numbers", "broken/hostile_listing.json", waba=support.WABA_US)

    result = imports.run_import(fleet, ADMIN, request, now=NOW)

    warnings = [str(w) for w in result.plan.warnings]
    assert any("page 1, data[0]: verified_name contains markup characters" in w for w in warnings)
    assert any("page 1, data[1]: verified_name contains invisible control characters" in w for w in warnings)
    numbers = numbers_table(fleet).set_index("phone_e164")
    assert numbers.loc[support.US_MAIN, "display_name"] == "<script>alert('pwned')</script>"
    assert numbers.loc[support.US_SUPPORT, "display_name"] == "Lucky\ufffdShrub\x1b[31m"
    as_json = exports.to_json_bytes(numbers.reset_index()[["phone_e164", "display_name"]]).decode()
    assert "<script>" not in as_json
    assert "<script>alert('pwned')</script>" in [row["display_name"] for row in json.loads(as_json)]


def test_a_name_meta_sends_as_a_formula_is_stored_and_neutralised_in_csv(fleet: Engine) -> None:
    listing = {"data": [{"display_phone_number": "+1 555-078-3881", "verified_name": '=HYPERLINK("x")'}]}

    result = imports.run_import(fleet, ADMIN, us_request(json.dumps(listing).encode()), now=NOW)

    assert "verified_name starts with '='" in str(result.plan.warnings[0])
    numbers = numbers_table(fleet)
    assert '=HYPERLINK("x")' in numbers["display_name"].tolist()
    assert "'=HYPERLINK" in exports.to_csv_bytes(numbers[["display_name"]]).decode()


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(fleet: Engine) -> None:
    before = support.dump(fleet)
    data = b'{"data": [' + b" " * (10 * 1024 * 1024) + b"]}"

    with pytest.raises(InvalidInput) as refused:
        imports.run_import(fleet, ADMIN, us_request(data))

    assert "'listing.json' is 10.0 MB (10,485,772 bytes); imports accept at most 10.0 MB (10,485,760 bytes)" in str(
        refused.value
    )
    assert support.dump(fleet) == before


@pytest.mark.parametrize("actor", [ANALYST, VIEWER])
def test_only_admins_import(fleet: Engine, actor: object) -> None:
    request = support.request("meta-numbers", "listings/lucky_shrub_us_page.json", waba=support.WABA_US)

    with pytest.raises(PermissionDenied, match="may not import data: it needs the admin role"):
        imports.plan_import(fleet, actor, request)  # type: ignore[arg-type]
    with pytest.raises(PermissionDenied):
        imports.run_import(fleet, actor, request)  # type: ignore[arg-type]


def test_an_import_previewed_before_the_fleet_changed_is_refused(fleet: Engine) -> None:
    request = support.request("meta-numbers", "listings/lucky_shrub_us_page.json", waba=support.WABA_US)
    preview = imports.plan_import(fleet, ADMIN, request, now=NOW)
    services.update_number_health(fleet, ADMIN, phone=support.US_MAIN, changes={"quality_rating": "RED"})
    before = support.dump(fleet)

    with pytest.raises(InvalidInput, match="The fleet changed since this import was previewed"):
        imports.run_import(fleet, ADMIN, request, expected=preview.fingerprint(), now=NOW)

    assert support.dump(fleet) == before


def test_a_change_from_a_listing_dates_its_fields_with_the_import_time(fleet: Engine) -> None:
    imports.run_import(
        fleet, ADMIN, us_request(listing({"display_phone_number": "+1 555-078-3881", "status": "FLAGGED"})), now=NOW
    )

    with fleet.connect() as connection:
        clocks = connection.execute(select(FieldEventTime.field, FieldEventTime.event_time)).all()
        snapshots = connection.scalar(select(func.count()).select_from(NumberHealthSnapshot))
        imports_logged = connection.scalar(select(func.count()).where(AuditEntry.action == "import"))
    assert clocks == [("status", NOW)]
    assert snapshots == 4  # 3 from building the fleet, 1 new
    assert imports_logged == 2


def test_a_waba_without_phone_numbers_in_an_owned_wabas_page_has_zero_numbers(fleet: Engine) -> None:
    page = {
        "data": [
            {
                "id": support.WABA_US,
                "name": "Lucky Shrub US",
                "phone_numbers": json.loads(support.read("listings/lucky_shrub_us_page.json")),
            },
            {"id": support.WABA_EU, "name": "Lucky Shrub EU"},
        ]
    }

    plan = imports.plan_import(
        fleet, ADMIN, ImportRequest("meta-numbers", json.dumps(page).encode(), "owned.json"), now=NOW
    )

    assert plan.errors == []
    assert plan.summary()["numbers to create"] == 1
    assert f"WABA {support.WABA_EU}: {support.FR_MAIN} is active in 'Lucky Shrub EU' but not in Meta's listing." in [
        str(w) for w in plan.warnings
    ]


def test_a_waba_read_with_its_templates_updates_and_creates_them(fleet: Engine) -> None:
    waba = {
        "id": support.WABA_US,
        "phone_numbers": {"data": []},
        "message_templates": {
            "data": [
                {
                    "name": "welcome_template",
                    "language": "en-US",
                    "status": "REJECTED",
                    "category": "MARKETING",
                    "rejected_reason": "TAG_CONTENT_MISMATCH",
                    "id": "1689556908129832",
                },
                {
                    "name": "order_update",
                    "language": "en_US",
                    "status": "APPROVED",
                    "category": "UTILITY",
                    "quality_score": {"score": "GREEN"},
                    "id": "546151681022936",
                },
            ]
        },
    }

    imports.run_import(fleet, ADMIN, ImportRequest("meta-numbers", json.dumps(waba).encode(), "waba.json"), now=NOW)

    templates = templates_table(fleet, [support.WABA_US]).set_index("template")
    assert templates.loc["welcome_template", ["status", "status_reason", "template_id"]].tolist() == [
        "REJECTED",
        "TAG_CONTENT_MISMATCH",
        "1689556908129832",
    ]
    assert templates.loc["welcome_template", "status_since"] == NOW
    assert templates.loc["order_update", ["status", "category", "quality_score"]].tolist() == [
        "APPROVED",
        "UTILITY",
        "GREEN",
    ]


def test_a_saved_template_listing_is_not_taken_for_wabas(fleet: Engine) -> None:
    templates = {"data": [{"name": "welcome_template", "language": "en-US", "status": "APPROVED", "id": "1"}]}

    plan = imports.plan_import(fleet, ADMIN, us_request(json.dumps(templates).encode()), now=NOW)

    assert [str(p) for p in plan.errors] == ["page 1, data[0]: missing field 'display_phone_number'."]
