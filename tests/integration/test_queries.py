"""The read side returns the expected rows on both databases, for a small fleet built through the services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import Engine

from core import services
from core.reads.accounts import connections_table, is_empty, portfolios_table, wabas_table, workspaces_summary
from core.reads.audit import audit_table
from core.reads.frame import with_international_numbers
from core.reads.history import number_history
from core.reads.numbers import NUMBER_EXPORT_COLUMNS, NumberFilters, filter_options, numbers_table
from core.reads.subscriptions import groups_table, reattachable_numbers
from core.reads.templates import templates_table
from tests.builders import ADMIN

DAY = datetime(2026, 5, 1, 9, 30, tzinfo=UTC)
PARIS, LYON, BERLIN, NEW_YORK = "+33612345678", "+33698765432", "+4915123456789", "+12125550123"


@dataclass(frozen=True)
class SmallFleet:
    """EU Brands (portfolio Acme Europe, TIER_1K): 'Fashion FR' with Paris (YELLOW) and Lyon (archived),
    'Sport DE' with Berlin. Americas Retail (portfolio Acme Americas, TIER_10K): 'Retail US' with New York."""

    fashion: str = "2001"
    sport: str = "2002"
    retail: str = "2003"


def a_small_fleet(engine: Engine) -> SmallFleet:
    fleet = SmallFleet()
    for workspace in ("EU Brands", "Americas Retail"):
        services.add_workspace(engine, ADMIN, workspace, now=DAY)
    services.add_portfolio(engine, ADMIN, meta_business_id="1001", name="Acme Europe", messaging_limit="TIER_1K")
    services.add_portfolio(engine, ADMIN, meta_business_id="1002", name="Acme Americas", messaging_limit="TIER_10K")
    for meta_id, workspace, portfolio, name in (
        (fleet.fashion, "EU Brands", "1001", "Fashion FR"),
        (fleet.sport, "EU Brands", "1001", "Sport DE"),
        (fleet.retail, "Americas Retail", "1002", "Retail US"),
    ):
        services.add_waba(
            engine,
            ADMIN,
            workspace=workspace,
            portfolio_meta_id=portfolio,
            meta_waba_id=meta_id,
            name=name,
            connect_if_needed=True,
            now=DAY,
        )
    for waba, group, phone, display in (
        (fleet.fashion, "Paris", PARIS, "Fashion Paris"),
        (fleet.fashion, "Lyon", LYON, "Fashion Lyon"),
        (fleet.sport, "Berlin", BERLIN, "Sport Berlin"),
        (fleet.retail, "New York", NEW_YORK, "Retail NYC"),
    ):
        services.add_number(
            engine, ADMIN, meta_waba_id=waba, group_name=group, phone=phone, display_name=display, now=DAY
        )
    services.update_number_health(
        engine, ADMIN, phone=PARIS, changes={"quality_rating": "YELLOW"}, now=DAY + timedelta(days=1)
    )
    services.update_number_health(
        engine, ADMIN, phone=NEW_YORK, changes={"quality_rating": "GREEN", "status": "CONNECTED"}, now=DAY
    )
    services.archive_group(engine, ADMIN, phone=LYON, now=DAY + timedelta(days=2))
    services.add_template(engine, ADMIN, meta_waba_id=fleet.fashion, name="order_update", language="fr")
    return fleet


def test_the_numbers_table_has_one_row_per_number_with_its_place_and_health(engine: Engine) -> None:
    a_small_fleet(engine)

    table = numbers_table(engine)

    assert set(NUMBER_EXPORT_COLUMNS) <= set(table.columns)
    rows = {row["phone_e164"]: row for row in table.to_dict("records")}
    assert set(rows) == {PARIS, LYON, BERLIN, NEW_YORK}
    paris = rows[PARIS]
    assert (paris["workspace"], paris["portfolio_id"], paris["waba"], paris["subscription_group"]) == (
        "EU Brands",
        "1001",
        "Fashion FR",
        "Paris",
    )
    assert (paris["quality_rating"], paris["portfolio_messaging_limit"], paris["at_risk"]) == (
        "YELLOW",
        "TIER_1K",
        True,
    )
    assert paris["updated_at"] == DAY + timedelta(days=1)
    assert rows[LYON]["group_state"] == "archived"
    assert not rows[NEW_YORK]["at_risk"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (NumberFilters(workspaces=["Americas Retail"]), {NEW_YORK}),
        (NumberFilters(portfolio_ids=["1001"]), {PARIS, LYON, BERLIN}),
        (NumberFilters(waba_ids=["2002"]), {BERLIN}),
        (NumberFilters(qualities=["YELLOW"]), {PARIS}),
        (NumberFilters(statuses=["CONNECTED"]), {NEW_YORK}),
        (NumberFilters(include_archived=False, portfolio_ids=["1001"]), {PARIS, BERLIN}),
        (NumberFilters(search="berlin"), {BERLIN}),
        (NumberFilters(search="06 12 34"), {PARIS}),
        (NumberFilters(search="100%_"), set()),
    ],
)
def test_number_filters_narrow_the_rows(engine: Engine, filters: NumberFilters, expected: set[str]) -> None:
    a_small_fleet(engine)

    assert set(numbers_table(engine, filters)["phone_e164"]) == expected


def test_the_workspace_summary_counts_wabas_and_active_numbers(engine: Engine) -> None:
    a_small_fleet(engine)

    summary = workspaces_summary(engine).set_index("workspace")

    assert summary.loc["EU Brands", ["portfolios", "wabas", "active_numbers", "number_capacity"]].tolist() == [
        1,
        2,
        2,
        40,
    ]
    assert summary.loc["Americas Retail", ["wabas", "active_numbers", "number_headroom"]].tolist() == [1, 1, 19]


def test_the_waba_table_counts_active_numbers_and_templates(engine: Engine) -> None:
    fleet = a_small_fleet(engine)

    wabas = wabas_table(engine).set_index("waba_id")

    assert wabas.loc[fleet.fashion, ["active_numbers", "templates", "number_limit"]].tolist() == [1, 1, 20]
    assert wabas.loc[fleet.retail, ["workspace", "portfolio_id"]].tolist() == ["Americas Retail", "1002"]


def test_the_portfolio_table_shows_the_shared_limit_and_its_senders(engine: Engine) -> None:
    a_small_fleet(engine)

    portfolios = portfolios_table(engine).set_index("portfolio_id")

    assert portfolios.loc["1001", ["messaging_limit", "daily_limit", "wabas", "active_numbers"]].tolist() == [
        "TIER_1K",
        1000,
        2,
        2,
    ]


def test_groups_connections_and_reattachable_numbers(engine: Engine) -> None:
    a_small_fleet(engine)

    archived = groups_table(engine, state="archived")
    assert list(archived["subscription_group"]) == ["Lyon"]
    assert archived["archived_at"].iloc[0] == DAY + timedelta(days=2)
    assert list(reattachable_numbers(engine)["phone_e164"]) == [LYON]
    connections = connections_table(engine)
    assert sorted(zip(connections["workspace"], connections["portfolio_id"], strict=True)) == [
        ("Americas Retail", "1002"),
        ("EU Brands", "1001"),
    ]


def test_templates_show_how_many_numbers_share_them(engine: Engine) -> None:
    fleet = a_small_fleet(engine)

    templates = templates_table(engine, waba_ids=[fleet.fashion])

    assert templates[["template", "language", "shared_by_numbers"]].values.tolist() == [["order_update", "fr", 1]]


def test_number_history_lists_each_change_oldest_first(engine: Engine) -> None:
    a_small_fleet(engine)

    history = number_history(engine, [PARIS, BERLIN])

    assert history[["phone_e164", "quality_rating"]].values.tolist() == [
        [PARIS, "NA"],
        [PARIS, "YELLOW"],
        [BERLIN, "NA"],
    ]
    assert list(number_history(engine, [PARIS], since=DAY + timedelta(hours=1))["quality_rating"]) == ["YELLOW"]


def test_the_audit_table_is_newest_first_and_filterable(engine: Engine) -> None:
    a_small_fleet(engine)

    audit = audit_table(engine)
    groups = audit_table(engine, object_type="subscription_group")

    assert audit["at"].is_monotonic_decreasing
    assert set(audit["actor"]) == {ADMIN.name}
    assert groups.iloc[0]["action"] == "archive"
    assert audit_table(engine, actor="nobody").empty


def test_filter_options_and_emptiness(engine: Engine) -> None:
    assert is_empty(engine)
    a_small_fleet(engine)

    options = filter_options(engine)

    assert not is_empty(engine)
    assert options["workspaces"] == ["Americas Retail", "EU Brands"]
    assert set(options["qualities"]) == {"GREEN", "NA", "YELLOW"}


def test_numbers_are_formatted_for_display_only_on_the_rows_drawn():
    rows = pd.DataFrame({"phone_e164": ["+33612345678", "+16315551234"], "display_name": ["Paris", "NY"]})

    shown = with_international_numbers(rows.iloc[:1])

    assert shown["phone_international"].tolist() == ["+33 6 12 34 56 78"]
    assert "phone_international" not in rows
