"""Imports on a real SQLite file and a real PostgreSQL database alike: bulk writes, replays, field clocks (upserts),
all-or-nothing refusals and the 20-number cap under two racing imports."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, select

from core import imports
from core.db import FieldEventTime, NumberHealthSnapshot, PhoneNumber, write_session
from core.errors import FleetError, NumberAlreadyExists
from core.imports import ImportRejected, ImportRequest, apply
from core.imports.fleet import NEW_NUMBER
from core.reads.accounts import connections_table, wabas_table
from core.reads.history import number_history
from core.reads.numbers import numbers_table
from core.reads.subscriptions import groups_table
from core.reads.templates import templates_table
from tests.builders import ADMIN, french_mobile
from tests.fixtures.meta import support
from tests.unit.db_state import audit_entries

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def fleet(engine: Engine) -> Engine:
    support.lucky_shrub_fleet(engine)
    return engine


def page(*numbers: dict[str, object]) -> bytes:
    return json.dumps({"data": list(numbers), "paging": {"cursors": {"before": "QVFI", "after": "QVFJ"}}}).encode()


def test_a_listing_creates_and_updates_numbers_and_a_replay_changes_nothing(fleet: Engine) -> None:
    request = support.request("meta-numbers", "listings/lucky_shrub_us_page.json", waba=support.WABA_US)

    first = imports.run_import(fleet, ADMIN, request, now=NOW)
    after_first = support.dump(fleet)
    again = imports.run_import(fleet, ADMIN, request, now=NOW)

    assert first.plan.summary() == {
        "numbers to create": 1,
        "numbers to update": 2,
        "portfolios to update": 1,
        "history rows": 3,
    }
    assert not again.written
    assert support.dump(fleet) == after_first
    table = numbers_table(fleet).set_index("phone_e164")
    assert table.loc["+16315555555", ["subscription_group", "status", "portfolio_messaging_limit"]].tolist() == [
        "+16315555555",
        "PENDING",
        "TIER_10K",
    ]


def test_a_listing_of_a_whole_waba_is_written_in_bulk(fleet: Engine) -> None:
    numbers = [{"display_phone_number": f"+1 555-020-{i:04d}", "id": str(700000000000 + i)} for i in range(18)]

    result = imports.run_import(
        fleet, ADMIN, ImportRequest("meta-numbers", page(*numbers), "p.json", waba=support.WABA_EU), now=NOW
    )

    assert result.plan.summary()["numbers to create"] == 18
    active = groups_table(fleet, state="active")
    assert (active["waba_id"] == support.WABA_EU).sum() == 19
    assert numbers_table(fleet)["meta_phone_number_id"].notna().sum() == 21


def test_history_and_audit_rows_keep_their_times_and_text_exactly(fleet: Engine) -> None:
    name = 'Lucky Shrub "Café" \\ 東京 \\N'  # quotes, backslashes, non-ASCII: what a bulk write must not mangle
    listed = {"display_phone_number": "+1 555-078-3881", "verified_name": name, "quality_rating": "RED"}

    in_paris = NOW.astimezone(timezone(timedelta(hours=1)))  # the same instant, written with another offset
    request = ImportRequest("meta-numbers", page(listed), "p.json", waba=support.WABA_US)

    imports.run_import(fleet, ADMIN, request, now=in_paris)

    with fleet.connect() as connection:
        latest = connection.execute(
            select(
                NumberHealthSnapshot.recorded_at,
                NumberHealthSnapshot.quality_rating,
                NumberHealthSnapshot.quality_changed,
                NumberHealthSnapshot.source,
            )
            .order_by(NumberHealthSnapshot.id.desc())
            .limit(1)
        ).one()
    assert tuple(latest) == (NOW, "RED", True, "meta-listing")
    update = next(e for e in reversed(audit_entries(fleet)) if e["action"] == "update")
    assert update["after"]["display_name"] == name
    assert update["at"] == NOW
    assert numbers_table(fleet).set_index("phone_e164").loc[support.US_MAIN, "display_name"] == name


def test_a_day_of_webhooks_lands_the_same_on_both_databases_and_replays_to_nothing(fleet: Engine) -> None:
    imports.run_import(fleet, ADMIN, support.request("webhook", "webhooks/day_of_deliveries.jsonl"), now=NOW)
    before = support.dump(fleet)

    again = imports.run_import(fleet, ADMIN, support.request("webhook", "webhooks/day_of_deliveries.jsonl"), now=NOW)

    assert not again.written
    assert support.dump(fleet) == before
    table = numbers_table(fleet).set_index("phone_e164")
    assert table.loc[support.US_SUPPORT, ["status", "messaging_limit_tier"]].tolist() == ["CONNECTED", "TIER_1K"]
    templates = templates_table(fleet, [support.WABA_US]).set_index("template")
    assert templates.loc["order_confirmation", ["status", "quality_score"]].tolist() == ["APPROVED", "YELLOW"]


def test_a_newer_event_moves_the_field_clock_and_an_older_one_only_adds_history(fleet: Engine) -> None:
    for name in ("webhooks/quality_flagged.json", "webhooks/quality_unflagged.json", "webhooks/quality_flagged.json"):
        imports.run_import(fleet, ADMIN, support.request("webhook", name), now=NOW)

    with fleet.connect() as connection:
        clocks = connection.execute(
            select(FieldEventTime.field, FieldEventTime.event_time).where(FieldEventTime.object_type == "phone_number")
        ).all()
    assert sorted(clocks) == [
        ("messaging_limit_tier", datetime(2025, 4, 1, 20, 11, 43, tzinfo=UTC)),
        ("status", datetime(2025, 4, 1, 20, 11, 43, tzinfo=UTC)),
    ]
    history = number_history(fleet, [support.US_MAIN])
    assert history[["status", "source"]].values.tolist()[-2:] == [["FLAGGED", "webhook"], ["CONNECTED", "webhook"]]


def test_csv_onboarding_creates_the_waba_and_connects_its_portfolio(fleet: Engine) -> None:
    imports.run_import(fleet, ADMIN, support.request("csv", "csv/onboarding.csv"), now=NOW)

    wabas = wabas_table(fleet).set_index("waba_id")
    assert wabas.loc["980198427658004", ["portfolio_id", "active_numbers"]].tolist() == [support.RETAIL_PORTFOLIO, 2]
    assert support.RETAIL_PORTFOLIO in set(connections_table(fleet)["portfolio_id"])


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("csv", "csv/bad_rows.csv"),
        ("webhook", "broken/invalid_json.jsonl"),
        ("webhook", "broken/missing_fields.json"),
        ("meta-numbers", "broken/missing_fields.json"),
    ],
)
def test_a_refused_import_leaves_every_table_as_it_was(fleet: Engine, kind: str, name: str) -> None:
    before = support.dump(fleet)
    options = {"waba": support.WABA_US} if kind == "meta-numbers" else {}

    with pytest.raises(ImportRejected):
        imports.run_import(fleet, ADMIN, support.request(kind, name, **options), now=NOW)

    assert support.dump(fleet) == before


def test_names_meta_sends_with_markup_and_control_characters_are_stored_as_sent(fleet: Engine) -> None:
    request = support.request("meta-numbers", "broken/hostile_listing.json", waba=support.WABA_US)

    result = imports.run_import(fleet, ADMIN, request, now=NOW)

    assert len(result.plan.warnings) == 2
    names = set(numbers_table(fleet)["display_name"])
    assert {"<script>alert('pwned')</script>", "Lucky\ufffdShrub\x1b[31m"} <= names


def test_two_listings_racing_for_the_last_slots_of_a_waba_leave_at_most_twenty(fleet: Engine) -> None:
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def race(offset: int) -> None:
        numbers = [{"display_phone_number": french_mobile(offset + i)} for i in range(10)]
        request = ImportRequest("meta-numbers", page(*numbers), f"race-{offset}.json", waba=support.WABA_EU)
        barrier.wait()
        try:
            imports.run_import(fleet, ADMIN, request, now=NOW)
            outcomes.append("imported")
        except FleetError as error:
            outcomes.append(str(error))

    threads = [threading.Thread(target=race, args=(offset,)) for offset in (100, 200)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sorted(o if o == "imported" else "refused" for o in outcomes) == ["imported", "refused"]
    active = groups_table(fleet, state="active")
    assert (active["waba_id"] == support.WABA_EU).sum() == 11
    assert "would exceed the maximum of 20" in next(o for o in outcomes if o != "imported")


def test_bulk_rows_that_break_a_unique_rule_give_its_named_error(fleet: Engine) -> None:
    before = support.dump(fleet)
    existing = {"e164": support.US_MAIN, **NEW_NUMBER, "created_at": NOW, "updated_at": NOW}

    with pytest.raises(NumberAlreadyExists), write_session(fleet) as session:
        apply.insert_rows(session, apply.table_of(PhoneNumber), [existing])

    assert support.dump(fleet) == before
