"""Importing Meta webhook payloads into a real SQLite fleet: each field, replays, late and shuffled delivery."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from core import exports, imports
from core.db import Portfolio
from core.imports import ImportRejected, ImportRequest
from core.reads.accounts import portfolios_table, wabas_table
from core.reads.history import number_history
from core.reads.numbers import numbers_table
from core.reads.templates import templates_table
from tests.builders import ADMIN
from tests.fixtures.meta import support

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def fleet(sqlite_engine: Engine) -> Engine:
    support.lucky_shrub_fleet(sqlite_engine)
    return sqlite_engine


def deliver(engine: Engine, *names: str) -> list[imports.ImportResult]:
    return [imports.run_import(engine, ADMIN, support.request("webhook", name), now=NOW) for name in names]


def deliver_payload(engine: Engine, payload: object) -> imports.ImportResult:
    data = json.dumps(payload).encode()
    return imports.run_import(engine, ADMIN, ImportRequest("webhook", data, "payload.json"), now=NOW)


def health(engine: Engine, e164: str) -> tuple[str, str, str]:
    table = numbers_table(engine)
    row = table[table["phone_e164"] == e164].iloc[0]
    return row["status"], row["messaging_limit_tier"], row["quality_rating"]


def names(engine: Engine, e164: str) -> tuple[str, str]:
    table = numbers_table(engine)
    row = table[table["phone_e164"] == e164].iloc[0]
    return row["display_name"], row["name_status"]


def at(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def envelope(field: str, value: dict[str, object], time: int, waba: str = support.WABA_US) -> dict[str, object]:
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": waba, "time": time, "changes": [{"value": value, "field": field}]}],
    }


def quality(event: str, time: int, limit: str = "TIER_10K", phone: str = "15550783881") -> dict[str, object]:
    return envelope(
        "phone_number_quality_update", {"display_phone_number": phone, "event": event, "current_limit": limit}, time
    )


# --- each field --------------------------------------------------------------------------------------------------


def test_a_flagged_number_is_flagged_with_a_history_row_at_the_event_time(fleet: Engine) -> None:
    (result,) = deliver(fleet, "webhooks/quality_flagged.json")

    assert health(fleet, support.US_MAIN) == ("FLAGGED", "TIER_10K", "GREEN")
    history = number_history(fleet, [support.US_MAIN])
    assert history.iloc[-1][["recorded_at", "status", "source"]].tolist() == [at(1743451903), "FLAGGED", "webhook"]
    assert [(c.field, c.before, c.after) for u in result.plan.updates for c in u.changes] == [
        ("status", "CONNECTED", "FLAGGED")
    ]


def test_an_unflagged_number_is_connected_again(fleet: Engine) -> None:
    deliver(fleet, "webhooks/quality_flagged.json", "webhooks/quality_unflagged.json")

    assert health(fleet, support.US_MAIN) == ("CONNECTED", "TIER_10K", "GREEN")


@pytest.mark.parametrize(
    ("name", "e164", "tier"),
    [
        ("webhooks/quality_downgrade.json", support.US_SUPPORT, "TIER_1K"),
        ("webhooks/quality_throughput_upgrade.json", support.US_MAIN, "TIER_UNLIMITED"),
    ],
)
def test_limit_events_set_the_numbers_tier_from_current_limit(fleet: Engine, name: str, e164: str, tier: str) -> None:
    deliver(fleet, name)

    assert health(fleet, e164) == ("CONNECTED", tier, "GREEN")


def test_the_portfolio_limit_of_a_quality_update_sets_the_portfolios_shared_limit(fleet: Engine) -> None:
    (result,) = deliver(fleet, "webhooks/quality_portfolio_limit.json")

    portfolios = portfolios_table(fleet)
    assert portfolios.set_index("portfolio_id").loc[support.PORTFOLIO, "messaging_limit"] == "TIER_2K"
    assert health(fleet, support.US_MAIN) == ("CONNECTED", "TIER_10K", "GREEN")
    assert result.plan.snapshots == []


def test_an_approved_name_becomes_the_display_name(fleet: Engine) -> None:
    payload = json.loads(support.read("webhooks/name_approved.json"))
    payload["entry"][0]["changes"][0]["value"]["requested_verified_name"] = "Lucky Shrub Garden Centre"

    deliver_payload(fleet, payload)

    assert names(fleet, support.US_MAIN) == ("Lucky Shrub Garden Centre", "APPROVED")


def test_a_rejected_name_is_declined_and_the_display_name_kept(fleet: Engine) -> None:
    deliver(fleet, "webhooks/name_rejected.json")

    assert names(fleet, support.US_SUPPORT) == ("Lucky Shrub Support", "DECLINED")


def test_a_ban_disables_the_waba_and_a_reinstatement_reactivates_it(fleet: Engine) -> None:
    deliver(fleet, "webhooks/account_disabled.json")
    disabled = wabas_table(fleet).set_index("waba_id").loc[support.WABA_US, "status"]
    deliver(fleet, "webhooks/account_reinstated.json")
    reinstated = wabas_table(fleet).set_index("waba_id").loc[support.WABA_US, "status"]

    assert (disabled, reinstated) == ("DISABLED", "ACTIVE")


def test_a_ban_state_sent_in_a_one_item_list_is_read_like_the_plain_value(fleet: Engine) -> None:
    payload = json.loads(support.read("webhooks/account_disabled.json"))
    ban_info = payload["entry"][0]["changes"][0]["value"]["ban_info"]
    ban_info["waba_ban_state"] = [ban_info["waba_ban_state"]]  # the shape of older Graph API versions

    deliver_payload(fleet, payload)

    assert wabas_table(fleet).set_index("waba_id").loc[support.WABA_US, "status"] == "DISABLED"


def test_an_account_violation_is_kept_on_the_waba_and_reported(fleet: Engine) -> None:
    (result,) = deliver(fleet, "webhooks/account_violation.json")

    assert result.written
    assert [w.message for w in result.plan.warnings] == [
        "Meta reports for WABA 'Lucky Shrub US': ACCOUNT_VIOLATION, violation ADULT."
    ]
    waba = wabas_table(fleet).set_index("waba_id").loc[support.WABA_US]
    assert waba["violation_type"] == "ADULT"
    assert waba["status"] == "ACTIVE"


def test_an_account_restriction_keeps_each_restriction_and_its_expiry_on_the_waba(fleet: Engine) -> None:
    (result,) = deliver(fleet, "webhooks/account_restriction.json")

    waba = wabas_table(fleet).set_index("waba_id").loc[support.WABA_US]
    assert json.loads(waba["restrictions"]) == [
        {"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING", "expiration": "2025-04-19T13:59:20+0000"},
        {"restriction_type": "RESTRICTED_ADD_PHONE_NUMBER_ACTION", "expiration": "2025-04-19T13:59:20+0000"},
    ]
    assert "changes nothing tracked here" not in str(result.plan.skipped)
    assert "RESTRICTED_BIZ_INITIATED_MESSAGING" in result.plan.warnings[0].message
    assert "RESTRICTED_ADD_PHONE_NUMBER_ACTION" in exports.to_csv_bytes(wabas_table(fleet)).decode()


def test_an_empty_restriction_list_lifts_the_restrictions(fleet: Engine) -> None:
    deliver(fleet, "webhooks/account_restriction.json")
    lifted = json.loads(support.read("webhooks/account_restriction.json"))
    lifted["entry"][0]["time"] += 60
    lifted["entry"][0]["changes"][0]["value"]["restriction_info"] = []

    deliver_payload(fleet, lifted)

    assert wabas_table(fleet).set_index("waba_id").loc[support.WABA_US, "restrictions"] is None


def test_a_ban_keeps_its_state_date_and_violation(fleet: Engine) -> None:
    deliver(fleet, "webhooks/account_banned.json")

    waba = wabas_table(fleet).set_index("waba_id").loc[support.WABA_US]
    assert waba[["status", "ban_state", "ban_date", "violation_type"]].tolist() == [
        "SCHEDULED_FOR_DISABLE",
        "SCHEDULE_FOR_DISABLE",
        "2025-04-10",
        "SCAM",
    ]


def test_a_template_category_change_is_applied_with_the_previous_category(fleet: Engine) -> None:
    (result,) = deliver(fleet, "webhooks/template_category_changed.json")

    template = templates_table(fleet, [support.WABA_US]).set_index("template").loc["welcome_template"]
    assert template[["category", "previous_category"]].tolist() == ["MARKETING", "UTILITY"]
    assert result.plan.summary()["templates to update"] == 1


def test_an_announced_template_category_change_is_reported_and_changes_nothing(fleet: Engine) -> None:
    before = support.dump(fleet)

    (result,) = deliver(fleet, "webhooks/template_category_announced.json")

    assert not result.written
    assert "announces a category change to MARKETING" in result.plan.skipped[0].message
    assert support.dump(fleet) == before


def test_a_paused_template_keeps_the_reason_and_when(fleet: Engine) -> None:
    deliver(fleet, "webhooks/template_paused.json")

    template = templates_table(fleet, [support.WABA_US]).set_index("template").loc["welcome_template"]
    assert template[["status", "status_reason"]].tolist() == ["PAUSED", "LOW_QUALITY"]
    assert template["status_since"] == datetime.fromtimestamp(1751247548, tz=UTC)


def test_a_rejected_name_keeps_meta_s_rejection_reason(fleet: Engine) -> None:
    deliver(fleet, "webhooks/name_rejected.json")

    number = numbers_table(fleet).set_index("phone_e164").loc[support.US_SUPPORT]
    assert number[["name_status", "name_rejection_reason"]].tolist() == ["DECLINED", "NAME_FORMAT_UNACCEPTABLE"]


def test_account_alerts_are_recorded_once(fleet: Engine) -> None:
    (first,) = deliver(fleet, "webhooks/account_alert.json")
    before = support.dump(fleet)

    (again,) = deliver(fleet, "webhooks/account_alert.json")

    assert first.plan.summary()["account alerts to record"] == 1
    (alert,) = support.dump(fleet)["account_alerts"]
    assert alert[1:6] == (
        support.WABA_US,
        "BUSINESS",
        support.PORTFOLIO,
        "INCREASED_CAPABILITIES_ELIGIBILITY_DEFERRED",
        "WARNING",
    )
    assert not again.written
    assert support.dump(fleet) == before


def test_a_name_meta_approves_is_stored_as_sent_and_reported(fleet: Engine) -> None:
    (result,) = deliver(fleet, "broken/hostile_name_update.json")

    assert "requested_verified_name starts with '='" in result.plan.warnings[0].message
    number = numbers_table(fleet).set_index("phone_e164").loc[support.US_MAIN]
    assert number["display_name"] == '=HYPERLINK("http://evil.example","Lucky Shrub")'


def test_a_template_status_update_creates_the_template_and_its_quality_update_scores_it(fleet: Engine) -> None:
    deliver(fleet, "webhooks/template_approved.json", "webhooks/template_quality.json")

    templates = templates_table(fleet, [support.WABA_US]).set_index("template")
    assert templates.loc["order_confirmation", ["language", "category", "status", "quality_score"]].tolist() == [
        "en-US",
        "UTILITY",
        "APPROVED",
        "YELLOW",
    ]


def test_a_template_first_heard_of_by_its_quality_has_an_unknown_status(fleet: Engine) -> None:
    deliver(fleet, "webhooks/template_quality.json")

    templates = templates_table(fleet, [support.WABA_US]).set_index("template")
    assert templates.loc["order_confirmation", ["status", "quality_score"]].tolist() == ["UNKNOWN", "YELLOW"]


def test_a_rejected_template_is_stored_rejected(fleet: Engine) -> None:
    deliver(fleet, "webhooks/template_rejected.json")

    templates = templates_table(fleet, [support.WABA_US]).set_index("template")
    assert templates.loc["abandoned_cart", ["language", "category", "status"]].tolist() == [
        "en",
        "MARKETING",
        "REJECTED",
    ]


def test_metas_reference_quality_example_scores_the_known_template_by_name(fleet: Engine) -> None:
    (result,) = deliver(fleet, "webhooks/template_quality_as_in_meta_reference.json")

    templates = templates_table(fleet, [support.WABA_US]).set_index("template")
    assert templates.loc["welcome_template", "quality_score"] == "YELLOW"
    assert result.plan.templates == []


def test_a_capability_update_sets_the_portfolio_of_the_waba(fleet: Engine) -> None:
    deliver(fleet, "webhooks/business_capability.json")

    with fleet.connect() as connection:
        row = connection.execute(
            select(Portfolio.messaging_limit, Portfolio.max_phone_numbers_per_waba, Portfolio.limit_event_time).where(
                Portfolio.meta_business_id == support.PORTFOLIO
            )
        ).one()
    assert tuple(row) == ("TIER_2K", 25, at(1739321024))


def test_entries_batched_in_one_envelope_are_all_applied(fleet: Engine) -> None:
    (result,) = deliver(fleet, "webhooks/batched_entries.json")

    assert health(fleet, support.US_MAIN)[0] == "FLAGGED"
    assert result.plan.summary() == {
        "templates to create": 1,
        "numbers to update": 1,
        "portfolios to update": 1,
        "history rows": 1,
    }


# --- replays, late and out-of-order delivery -------------------------------------------------------------------


def test_replaying_a_day_of_deliveries_changes_nothing(fleet: Engine) -> None:
    (first,) = deliver(fleet, "webhooks/day_of_deliveries.jsonl")
    before = support.dump(fleet)

    (again,) = deliver(fleet, "webhooks/day_of_deliveries.jsonl")

    assert first.written
    assert not again.written
    assert support.dump(fleet) == before
    assert {n.message for n in again.plan.skipped} >= {"duplicate: this event is already imported."}


def test_a_day_of_deliveries_ends_in_the_latest_state(fleet: Engine) -> None:
    (result,) = deliver(fleet, "webhooks/day_of_deliveries.jsonl")

    assert health(fleet, support.US_MAIN) == ("CONNECTED", "TIER_10K", "GREEN")
    assert health(fleet, support.US_SUPPORT) == ("CONNECTED", "TIER_1K", "GREEN")
    assert wabas_table(fleet).set_index("waba_id").loc[support.WABA_US, "status"] == "ACTIVE"
    assert "duplicate: this event is already imported." in [n.message for n in result.plan.skipped]
    history = number_history(fleet, [support.US_MAIN])
    webhook_rows = history[history["source"] == "webhook"]
    assert webhook_rows[["recorded_at", "status"]].values.tolist() == [
        [at(1743451903), "FLAGGED"],
        [at(1743538303), "CONNECTED"],
    ]


def test_an_older_event_does_not_overwrite_a_newer_one_but_is_kept_in_history(fleet: Engine) -> None:
    deliver(fleet, "webhooks/quality_unflagged.json")

    (late,) = deliver(fleet, "webhooks/quality_flagged.json")

    assert health(fleet, support.US_MAIN) == ("CONNECTED", "TIER_10K", "GREEN")
    assert [str(n) for n in late.plan.skipped] == [
        "entry[0].changes[0]: older than the stored state (status, messaging_limit_tier set by a newer event): "
        "not applied (kept in history)."
    ]
    history = number_history(fleet, [support.US_MAIN])
    assert history[["recorded_at", "status", "source"]].values.tolist()[-2:] == [
        [at(1743451903), "FLAGGED", "webhook-late"],
        [at(1743538303), "CONNECTED", "webhook"],
    ]


def test_a_late_event_delivered_again_adds_nothing(fleet: Engine) -> None:
    deliver(fleet, "webhooks/quality_unflagged.json", "webhooks/quality_flagged.json")
    before = support.dump(fleet)

    (again,) = deliver(fleet, "webhooks/quality_flagged.json")

    assert not again.written
    assert support.dump(fleet) == before
    assert "(already in history)" in again.plan.skipped[0].message


def test_a_late_event_still_sets_a_field_no_newer_event_touched(fleet: Engine) -> None:
    deliver_payload(fleet, quality("UPGRADE", 1743600000, limit="TIER_100K"))  # newer, sets the tier only
    flagged = quality("FLAGGED", 1743500000)
    del flagged["entry"][0]["changes"][0]["value"]["current_limit"]  # type: ignore[index]

    deliver_payload(fleet, flagged)

    assert health(fleet, support.US_MAIN) == ("FLAGGED", "TIER_100K", "GREEN")


def test_events_of_the_same_second_end_in_the_same_state_in_either_order(tmp_path: Path) -> None:
    flagged, unflagged = quality("FLAGGED", 1743500000), quality("UNFLAGGED", 1743500000)
    outcomes = []

    for index, order in enumerate([(flagged, unflagged), (unflagged, flagged)]):
        engine = support.fleet_in(tmp_path / f"fleet-{index}.db")
        for payload in order:
            deliver_payload(engine, payload)
        outcomes.append(health(engine, support.US_MAIN))
        engine.dispose()

    assert outcomes == [("FLAGGED", "TIER_10K", "GREEN")] * 2


def test_events_for_numbers_or_wabas_outside_the_fleet_are_skipped_with_the_reason(fleet: Engine) -> None:
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": support.WABA_US,
                "time": 1743451903,
                "changes": [
                    {
                        "field": "phone_number_quality_update",
                        "value": {
                            "display_phone_number": "16505551111",
                            "event": "FLAGGED",
                            "current_limit": "TIER_1K",
                        },
                    }
                ],
            },
            {
                "id": "980198427658004",
                "time": 1743451903,
                "changes": [
                    {
                        "field": "account_update",
                        "value": {
                            "event": "DISABLED_UPDATE",
                            "ban_info": {"waba_ban_state": "DISABLE", "waba_ban_date": "April 17, 2025"},
                        },
                    }
                ],
            },
        ],
    }

    result = deliver_payload(fleet, payload)

    assert not result.written
    assert [str(n) for n in result.plan.skipped] == [
        "entry[0].changes[0]: number +16505551111 is not in the fleet.",
        "entry[1].changes[0]: WABA 980198427658004 is not in the fleet.",
    ]


def test_unknown_enum_values_are_stored_and_reported(fleet: Engine) -> None:
    result = deliver_payload(fleet, quality("FLAGGED", 1743500000, limit="TIER_20K"))

    assert health(fleet, support.US_MAIN) == ("FLAGGED", "TIER_20K", "GREEN")
    assert [w.message for w in result.plan.warnings] == [
        "unknown current_limit 'TIER_20K' stored as-is (this version knows 8)."
    ]


# --- broken input leaves the fleet as it was --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "where", "reason"),
    [
        ("broken/invalid_json.jsonl", "line 3", "invalid JSON at column"),
        ("broken/wrong_envelope.json", "file", "only 'whatsapp_business_account' webhooks are imported"),
        ("broken/missing_fields.json", "entry[0].changes[0]", "missing field 'display_phone_number'"),
    ],
)
def test_broken_payloads_are_refused_whole_with_where_and_why(
    fleet: Engine, name: str, where: str, reason: str
) -> None:
    before = support.dump(fleet)

    with pytest.raises(ImportRejected) as refused:
        deliver(fleet, name)

    assert refused.value.problems[0].where == where
    assert reason in refused.value.problems[0].message
    assert support.dump(fleet) == before
