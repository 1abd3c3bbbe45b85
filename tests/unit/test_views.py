"""Read-side views for the dashboard: at-risk list, low portfolio limits, health counts, capacity, regions."""

from __future__ import annotations

import pandas as pd
import pytest

from core import services
from core.model import normalize_phone_number, risk_reasons
from core.reads.accounts import low_limit_portfolios, portfolios_table, waba_capacity, waba_choices, wabas_table
from core.reads.audit import audit_filter_options
from core.reads.numbers import at_risk_numbers, health_counts, numbers_table
from core.reads.phone_regions import phone_regions
from core.reads.subscriptions import archived_groups, groups_table, reattachable_numbers
from tests.builders import ADMIN, fill_waba, waba


def numbers_frame(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    """(quality, status, group state) rows in the shape of numbers_table."""
    frame = pd.DataFrame(rows, columns=["quality_rating", "status", "group_state"])
    frame["phone_e164"] = [f"+3361234{i:04d}" for i in range(len(frame))]
    frame["workspace"] = "EU Brands"
    frame["waba"] = "Fashion FR"
    frame["at_risk"] = [risk_reasons(q, s) != "" for q, s in zip(frame["quality_rating"], frame["status"], strict=True)]
    return frame


@pytest.mark.parametrize(
    ("quality", "status", "reason"),
    [
        ("GREEN", "CONNECTED", ""),
        ("YELLOW", "CONNECTED", "quality YELLOW"),
        ("GREEN", "BANNED", "status BANNED"),
        ("RED", "FLAGGED", "quality RED, status FLAGGED"),
        (None, None, ""),
    ],
)
def test_risk_reasons_say_why_in_words(quality, status, reason):
    assert risk_reasons(quality, status) == reason


def test_at_risk_list_keeps_active_numbers_at_risk_worst_first():
    frame = numbers_frame(
        [
            ("GREEN", "CONNECTED", "active"),
            ("YELLOW", "CONNECTED", "active"),
            ("RED", "RESTRICTED", "active"),
            ("RED", "BANNED", "archived"),
            ("GREEN", "FLAGGED", "active"),
        ]
    )

    at_risk = at_risk_numbers(frame)

    assert at_risk["reason"].tolist() == ["quality RED, status RESTRICTED", "quality YELLOW", "status FLAGGED"]


def test_low_limit_portfolios_carry_the_limit_per_sender():
    portfolios = pd.DataFrame(
        {
            "portfolio": ["Acme Europe", "Acme Support"],
            "daily_limit": [2000, 10000],
            "active_numbers": [20, 5],
            "limit_is_low": [True, False],
        }
    )

    low = low_limit_portfolios(portfolios)

    assert low[["portfolio", "daily_limit_per_sender"]].values.tolist() == [["Acme Europe", 100.0]]


def test_health_counts_put_known_values_in_order_then_new_ones():
    frame = numbers_frame(
        [
            ("RED", "CONNECTED", "active"),
            ("GREEN", "CONNECTED", "active"),
            ("GREEN", "CONNECTED", "active"),
            ("PURPLE", "CONNECTED", "active"),
            ("YELLOW", "CONNECTED", "archived"),
        ]
    )

    counts = health_counts(frame, "quality_rating", ["GREEN", "YELLOW", "RED"])

    assert counts.values.tolist() == [["GREEN", 2], ["RED", 1], ["PURPLE", 1]]


def test_waba_capacity_lists_active_wabas_fullest_first(sqlite_engine):
    roomy = waba(sqlite_engine, "EU Brands", "Roomy")
    full = waba(sqlite_engine, "US Brands", "Full")
    fill_waba(sqlite_engine, full, 20)
    fill_waba(sqlite_engine, roomy, 2, start=100)

    capacity = waba_capacity(wabas_table(sqlite_engine))

    assert capacity[["waba", "free_slots"]].values.tolist() == [["Full", 0], ["Roomy", 18]]


def test_archived_groups_say_which_numbers_can_be_reattached(sqlite_engine):
    waba_id = waba(sqlite_engine)
    first, second = fill_waba(sqlite_engine, waba_id, 2)
    services.archive_group(sqlite_engine, ADMIN, phone=first)
    services.archive_group(sqlite_engine, ADMIN, phone=second)
    services.reattach_number(sqlite_engine, ADMIN, phone=second, meta_waba_id=waba_id, group_name="second again")

    archived = archived_groups(groups_table(sqlite_engine, state="archived"), reattachable_numbers(sqlite_engine))

    assert dict(zip(archived["phone_e164"], archived["reattachable"], strict=True)) == {first: True, second: False}


def test_waba_choices_name_each_active_waba_with_its_workspace(sqlite_engine):
    waba_id = waba(sqlite_engine)
    fill_waba(sqlite_engine, waba_id, 3)

    choices = waba_choices(wabas_table(sqlite_engine))

    assert choices == {waba_id: f"Fashion FR — EU Brands ({waba_id})"}


def test_audit_filter_options_list_actors_and_object_types(sqlite_engine):
    waba(sqlite_engine)

    options = audit_filter_options(sqlite_engine)

    assert options["actors"] == [ADMIN.name]
    assert options["object_types"] == ["portfolio", "waba", "workspace"]


def test_every_phone_region_has_a_name_and_calling_code():
    regions = dict(phone_regions())

    assert regions["FR"] == "France (+33)"
    assert regions["XK"] == "Kosovo (+383)"
    assert all(not label.startswith(code + " ") for code, label in regions.items())
    assert list(regions.values()) == sorted(regions.values())


@pytest.mark.parametrize("code", ["FR", "DE", "US", "BR", "IN"])
def test_each_offered_region_reads_its_own_national_numbers(code):
    import phonenumbers

    example = phonenumbers.example_number_for_type(code, phonenumbers.PhoneNumberType.MOBILE)
    national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)

    assert normalize_phone_number(national, code) == phonenumbers.format_number(
        example, phonenumbers.PhoneNumberFormat.E164
    )


def test_views_of_an_empty_fleet_are_empty_tables_with_their_columns(sqlite_engine):
    services.add_workspace(sqlite_engine, ADMIN, "EU Brands")

    at_risk = at_risk_numbers(numbers_table(sqlite_engine))
    low = low_limit_portfolios(portfolios_table(sqlite_engine))
    capacity = waba_capacity(wabas_table(sqlite_engine))

    assert at_risk.empty
    assert "reason" in at_risk.columns
    assert low.empty
    assert "daily_limit_per_sender" in low.columns
    assert capacity.empty
    assert "free_slots" in capacity.columns
