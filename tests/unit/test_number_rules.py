"""Rules 2 to 5: at most 20 numbers per WABA, one number per active group, one E.164 number in the whole
system whatever its format, and removal by archiving, after which the same number may be re-attached."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from core import services
from core.db import PhoneNumber, SubscriptionGroup
from core.errors import (
    DuplicateName,
    InvalidInput,
    InvalidPhoneNumber,
    NotFound,
    NumberAlreadyExists,
    NumberAlreadyInActiveGroup,
    NumberLimitReached,
)
from core.reads.accounts import wabas_table
from core.reads.history import number_history
from core.reads.numbers import numbers_table
from core.reads.subscriptions import groups_table
from tests import builders
from tests.builders import ADMIN
from tests.unit.db_state import audit_entries, row_counts

PARIS_MOBILE = "+33612345678"
PARIS_MOBILE_SHOWN = "+33 6 12 34 56 78"  # as messages write a number


def add(engine: Engine, waba_id: str, phone: str, group: str, region: str | None = None) -> services.NumberAdded:
    return services.add_number(engine, ADMIN, meta_waba_id=waba_id, group_name=group, phone=phone, region=region)


def test_a_waba_takes_twenty_numbers(sqlite_engine: Engine) -> None:
    waba_id = builders.waba(sqlite_engine)

    builders.fill_waba(sqlite_engine, waba_id, 20)

    assert wabas_table(sqlite_engine).loc[0, "active_numbers"] == 20


def test_rejects_twenty_first_number_naming_the_waba_and_the_limit(sqlite_engine: Engine) -> None:
    waba_id = builders.waba(sqlite_engine)
    builders.fill_waba(sqlite_engine, waba_id, 20)
    before = row_counts(sqlite_engine)

    with pytest.raises(NumberLimitReached) as refused:
        add(sqlite_engine, waba_id, PARIS_MOBILE, "one too many")

    assert "Fashion FR" in str(refused.value)
    assert "20" in str(refused.value)
    assert row_counts(sqlite_engine) == before


def test_archiving_a_group_frees_a_slot_in_its_waba(sqlite_engine: Engine) -> None:
    waba_id = builders.waba(sqlite_engine)
    numbers = builders.fill_waba(sqlite_engine, waba_id, 20)

    services.archive_group(sqlite_engine, ADMIN, phone=numbers[0])
    add(sqlite_engine, waba_id, PARIS_MOBILE, "replacement")

    groups = groups_table(sqlite_engine)
    assert (groups["state"] == "active").sum() == 20
    assert (groups["state"] == "archived").sum() == 1


def test_archiving_tells_the_second_step_in_meta_business_manager(sqlite_engine: Engine) -> None:
    waba_id = builders.waba(sqlite_engine)
    add(sqlite_engine, waba_id, PARIS_MOBILE, "Paris")

    archived = services.archive_group(sqlite_engine, ADMIN, phone="06 12 34 56 78", region="FR")

    assert archived.group_name == "Paris"
    assert PARIS_MOBILE_SHOWN in archived.next_step
    assert "Meta Business Manager" in archived.next_step
    assert "Fashion FR" in archived.next_step


def test_a_number_typed_in_national_format_is_stored_in_e164(sqlite_engine: Engine) -> None:
    waba_id = builders.waba(sqlite_engine)

    added = add(sqlite_engine, waba_id, "06 12 34 56 78", "Paris", region="FR")

    assert added.e164 == PARIS_MOBILE
    assert list(numbers_table(sqlite_engine)["phone_e164"]) == [PARIS_MOBILE]


@pytest.mark.parametrize(
    ("typed", "region"),
    [
        ("+33 6 12 34 56 78", None),
        ("0033612345678", None),
        ("+33612345678", None),
        ("06 12 34 56 78", "FR"),
    ],
)
def test_an_existing_number_is_refused_whatever_the_format(sqlite_engine: Engine, typed: str, region: str) -> None:
    waba_id = builders.waba(sqlite_engine)
    add(sqlite_engine, waba_id, PARIS_MOBILE, "Paris")
    before = row_counts(sqlite_engine)

    with pytest.raises(NumberAlreadyExists) as refused:
        add(sqlite_engine, waba_id, typed, "Paris again", region=region)

    assert PARIS_MOBILE_SHOWN in str(refused.value)
    assert "'Paris'" in str(refused.value)
    assert row_counts(sqlite_engine) == before


def test_an_existing_number_is_refused_in_another_workspace_too(sqlite_engine: Engine) -> None:
    first = builders.waba(sqlite_engine, workspace="EU Brands")
    second = builders.waba(sqlite_engine, workspace="Americas Retail", name="Sport US")
    add(sqlite_engine, first, PARIS_MOBILE, "Paris")

    with pytest.raises(NumberAlreadyExists):
        add(sqlite_engine, second, "0033 6 12 34 56 78", "Paris in Americas")


def test_adding_an_archived_number_again_says_to_reattach_it(sqlite_engine: Engine) -> None:
    waba_id = builders.waba(sqlite_engine)
    add(sqlite_engine, waba_id, PARIS_MOBILE, "Paris")
    services.archive_group(sqlite_engine, ADMIN, phone=PARIS_MOBILE)

    with pytest.raises(NumberAlreadyExists) as refused:
        add(sqlite_engine, waba_id, "+33 6 12 34 56 78", "Paris again")

    assert "archived" in str(refused.value)
    assert "re-attach" in str(refused.value)


@pytest.mark.parametrize("typed", ["06 12 34 56 78", "+33 6 12", "not a number", "+999 123456789"])
def test_an_invalid_number_is_refused_and_nothing_is_written(sqlite_engine: Engine, typed: str) -> None:
    waba_id = builders.waba(sqlite_engine)
    before = row_counts(sqlite_engine)

    with pytest.raises(InvalidPhoneNumber) as refused:
        add(sqlite_engine, waba_id, typed, "Broken")

    assert typed in str(refused.value)
    assert row_counts(sqlite_engine) == before


def test_a_number_in_an_active_group_cannot_be_reattached(sqlite_engine: Engine) -> None:
    first = builders.waba(sqlite_engine)
    add(sqlite_engine, first, PARIS_MOBILE, "Paris")
    before = row_counts(sqlite_engine)

    with pytest.raises(NumberAlreadyInActiveGroup) as refused:
        services.reattach_number(sqlite_engine, ADMIN, phone=PARIS_MOBILE, meta_waba_id=first, group_name="Paris 2")

    assert "'Paris'" in str(refused.value)
    assert row_counts(sqlite_engine) == before


def test_reattach_binds_the_same_number_row_with_its_health_history(sqlite_engine: Engine) -> None:
    eu = builders.waba(sqlite_engine, workspace="EU Brands")
    americas = builders.waba(sqlite_engine, workspace="Americas Retail", name="Sport US")
    added_at = datetime(2026, 1, 1, tzinfo=UTC)
    services.add_number(sqlite_engine, ADMIN, meta_waba_id=eu, group_name="Paris", phone=PARIS_MOBILE, now=added_at)
    services.update_number_health(
        sqlite_engine,
        ADMIN,
        phone=PARIS_MOBILE,
        changes={"quality_rating": "YELLOW"},
        now=added_at + timedelta(days=1),
    )
    number_id = _number_id(sqlite_engine, PARIS_MOBILE)
    services.archive_group(sqlite_engine, ADMIN, phone=PARIS_MOBILE, now=added_at + timedelta(days=2))

    result = services.reattach_number(
        sqlite_engine, ADMIN, phone="0033612345678", meta_waba_id=americas, group_name="Paris (moved)"
    )

    assert result.reattached
    assert _number_id(sqlite_engine, PARIS_MOBILE) == number_id
    history = number_history(sqlite_engine, [PARIS_MOBILE])
    assert list(history["quality_rating"]) == ["NA", "YELLOW"]
    with sqlite_engine.connect() as connection:
        groups = connection.execute(
            select(SubscriptionGroup.name, SubscriptionGroup.state)
            .where(SubscriptionGroup.phone_number_id == number_id)
            .order_by(SubscriptionGroup.id)
        ).all()
    assert [tuple(g) for g in groups] == [("Paris", "archived"), ("Paris (moved)", "active")]
    bind = audit_entries(sqlite_engine)[-1]
    assert (bind["action"], bind["object_key"]) == ("bind", "Paris (moved)")
    assert bind["before"] == {
        "group": "Paris",
        "waba": eu,
        "workspace": "EU Brands",
        "archived_at": (added_at + timedelta(days=2)).isoformat(),
    }
    row = numbers_table(sqlite_engine).iloc[0]
    assert (row["workspace"], row["subscription_group"], row["group_state"]) == (
        "Americas Retail",
        "Paris (moved)",
        "active",
    )


def test_reattach_respects_the_twenty_number_cap(sqlite_engine: Engine) -> None:
    full = builders.waba(sqlite_engine, workspace="EU Brands")
    other = builders.waba(sqlite_engine, workspace="Americas Retail", name="Sport US")
    builders.fill_waba(sqlite_engine, full, 20)
    add(sqlite_engine, other, PARIS_MOBILE, "Paris")
    services.archive_group(sqlite_engine, ADMIN, phone=PARIS_MOBILE)

    with pytest.raises(NumberLimitReached):
        services.reattach_number(sqlite_engine, ADMIN, phone=PARIS_MOBILE, meta_waba_id=full, group_name="Paris")


def test_reattaching_an_unknown_number_says_to_add_it(sqlite_engine: Engine) -> None:
    waba_id = builders.waba(sqlite_engine)

    with pytest.raises(NotFound, match="add it instead"):
        services.reattach_number(sqlite_engine, ADMIN, phone=PARIS_MOBILE, meta_waba_id=waba_id, group_name="Paris")


def test_archiving_a_number_without_an_active_group_is_refused(sqlite_engine: Engine) -> None:
    waba_id = builders.waba(sqlite_engine)
    add(sqlite_engine, waba_id, PARIS_MOBILE, "Paris")
    services.archive_group(sqlite_engine, ADMIN, phone=PARIS_MOBILE)

    with pytest.raises(NotFound, match="no active subscription group"):
        services.archive_group(sqlite_engine, ADMIN, phone=PARIS_MOBILE)


def test_an_archived_waba_takes_no_new_number(sqlite_engine: Engine) -> None:
    waba_id = builders.waba(sqlite_engine)
    services.archive_waba(sqlite_engine, ADMIN, waba_id)

    with pytest.raises(InvalidInput, match="archived"):
        add(sqlite_engine, waba_id, PARIS_MOBILE, "Paris")


def test_a_group_name_is_unique_among_active_groups_of_a_workspace(sqlite_engine: Engine) -> None:
    waba_id = builders.waba(sqlite_engine)
    add(sqlite_engine, waba_id, PARIS_MOBILE, "Paris")
    before = row_counts(sqlite_engine)

    with pytest.raises(DuplicateName) as refused:
        add(sqlite_engine, waba_id, builders.french_mobile(1), "Paris")

    assert "EU Brands" in str(refused.value)
    assert "Paris" in str(refused.value)
    assert row_counts(sqlite_engine) == before


def test_an_archived_group_name_may_be_used_again(sqlite_engine: Engine) -> None:
    waba_id = builders.waba(sqlite_engine)
    add(sqlite_engine, waba_id, PARIS_MOBILE, "Paris")
    services.archive_group(sqlite_engine, ADMIN, phone=PARIS_MOBILE)

    add(sqlite_engine, waba_id, builders.french_mobile(1), "Paris")

    assert sorted(groups_table(sqlite_engine)["state"]) == ["active", "archived"]


def test_the_same_group_name_may_be_used_in_another_workspace(sqlite_engine: Engine) -> None:
    eu = builders.waba(sqlite_engine, workspace="EU Brands")
    americas = builders.waba(sqlite_engine, workspace="Americas Retail", name="Sport US")

    add(sqlite_engine, eu, PARIS_MOBILE, "VIP")
    add(sqlite_engine, americas, builders.french_mobile(1), "VIP")

    assert list(groups_table(sqlite_engine)["subscription_group"]) == ["VIP", "VIP"]


def _number_id(engine: Engine, e164: str) -> int:
    with engine.connect() as connection:
        number_id = connection.scalar(select(PhoneNumber.id).where(PhoneNumber.e164 == e164))
    assert number_id is not None
    return number_id
