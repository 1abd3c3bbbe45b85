"""The service flows and the database's own guards, on a real SQLite file and a real PostgreSQL database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DatabaseError

from core import services
from core.db import PhoneNumber, SubscriptionGroup, Waba, write_session
from core.errors import (
    InvalidInput,
    NumberAlreadyExists,
    NumberAlreadyInActiveGroup,
    NumberLimitReached,
    PermissionDenied,
    WabaLimitReached,
)
from core.reads.accounts import connections_table, wabas_table, workspaces_summary
from core.reads.audit import audit_table
from core.reads.history import number_history
from core.reads.numbers import numbers_table
from core.reads.subscriptions import groups_table
from core.reads.templates import templates_table
from tests import builders
from tests.builders import ADMIN, VIEWER
from tests.unit.db_state import HISTORY_TABLES, a_fleet_with_one_of_everything, row_counts

PARIS_MOBILE = "+33612345678"


def test_eleventh_waba_is_refused_and_an_archived_one_frees_its_place(engine: Engine) -> None:
    portfolio_id = builders.workspace_with_portfolio(engine)
    wabas = [
        services.add_waba(
            engine,
            ADMIN,
            workspace="EU Brands",
            portfolio_meta_id=portfolio_id,
            meta_waba_id=str(7000 + i),
            name=f"W{i}",
        )
        for i in range(10)
    ]

    with pytest.raises(WabaLimitReached, match=r"'EU Brands'.*10"):
        services.add_waba(
            engine, ADMIN, workspace="EU Brands", portfolio_meta_id=portfolio_id, meta_waba_id="7010", name="W10"
        )
    services.archive_waba(engine, ADMIN, wabas[0])
    services.add_waba(
        engine, ADMIN, workspace="EU Brands", portfolio_meta_id=portfolio_id, meta_waba_id="7010", name="W10"
    )

    assert workspaces_summary(engine).loc[0, "wabas"] == 10


def test_twenty_first_number_is_refused_until_a_group_is_archived(engine: Engine) -> None:
    waba_id = builders.waba(engine)
    numbers = builders.fill_waba(engine, waba_id, 20)
    before = row_counts(engine)

    with pytest.raises(NumberLimitReached):
        services.add_number(engine, ADMIN, meta_waba_id=waba_id, group_name="21st", phone=PARIS_MOBILE)
    assert row_counts(engine) == before
    services.archive_group(engine, ADMIN, phone=numbers[0])
    services.add_number(engine, ADMIN, meta_waba_id=waba_id, group_name="21st", phone=PARIS_MOBILE)

    assert wabas_table(engine).loc[0, "active_numbers"] == 20


@pytest.mark.parametrize(("typed", "region"), [("0033612345678", None), ("06 12 34 56 78", "FR")])
def test_a_known_number_is_refused_in_another_format(engine: Engine, typed: str, region: str | None) -> None:
    waba_id = builders.waba(engine)
    services.add_number(engine, ADMIN, meta_waba_id=waba_id, group_name="Paris", phone="+33 6 12 34 56 78")

    with pytest.raises(NumberAlreadyExists, match=r"\+33 6 12 34 56 78"):
        services.add_number(engine, ADMIN, meta_waba_id=waba_id, group_name="Again", phone=typed, region=region)


def test_a_moved_number_keeps_its_row_and_history(engine: Engine) -> None:
    eu = builders.waba(engine, workspace="EU Brands")
    americas = builders.waba(engine, workspace="Americas Retail", name="Sport US")
    day = datetime(2026, 3, 1, tzinfo=UTC)
    services.add_number(engine, ADMIN, meta_waba_id=eu, group_name="Paris", phone=PARIS_MOBILE, now=day)
    services.update_number_health(
        engine, ADMIN, phone=PARIS_MOBILE, changes={"status": "FLAGGED"}, now=day + timedelta(days=1)
    )
    services.archive_group(engine, ADMIN, phone=PARIS_MOBILE, now=day + timedelta(days=2))

    with pytest.raises(NumberAlreadyExists, match="re-attach"):
        services.add_number(engine, ADMIN, meta_waba_id=americas, group_name="Paris", phone=PARIS_MOBILE)
    services.reattach_number(engine, ADMIN, phone=PARIS_MOBILE, meta_waba_id=americas, group_name="Paris")
    with pytest.raises(NumberAlreadyInActiveGroup):
        services.reattach_number(engine, ADMIN, phone=PARIS_MOBILE, meta_waba_id=eu, group_name="Paris back")

    with engine.connect() as connection:
        assert connection.scalar(select(PhoneNumber.id).where(PhoneNumber.e164 == PARIS_MOBILE)) == 1
    history = number_history(engine, [PARIS_MOBILE])
    assert list(history["status"]) == ["PENDING", "FLAGGED"]
    assert history["recorded_at"].iloc[0] == day
    groups = groups_table(engine)
    assert sorted(zip(groups["workspace"], groups["state"], strict=True)) == [
        ("Americas Retail", "active"),
        ("EU Brands", "archived"),
    ]


def test_a_viewer_is_refused_and_nothing_is_written(engine: Engine) -> None:
    waba_id = builders.waba(engine)
    before = row_counts(engine)

    with pytest.raises(PermissionDenied):
        services.add_number(engine, VIEWER, meta_waba_id=waba_id, group_name="Paris", phone=PARIS_MOBILE)

    assert row_counts(engine) == before


def test_a_refused_group_name_leaves_no_half_added_number(engine: Engine) -> None:
    waba_id = builders.waba(engine)
    services.add_number(engine, ADMIN, meta_waba_id=waba_id, group_name="Paris", phone=PARIS_MOBILE)
    before = row_counts(engine)

    with pytest.raises(services.DuplicateName):
        services.add_number(engine, ADMIN, meta_waba_id=waba_id, group_name="Paris", phone=builders.french_mobile(7))

    assert row_counts(engine) == before


def test_the_database_refuses_a_second_active_group_for_a_number(engine: Engine) -> None:
    """Were a bug to skip the Python rule, the partial unique index still holds, in the rule's own words."""
    waba_id = builders.waba(engine)
    services.add_number(engine, ADMIN, meta_waba_id=waba_id, group_name="Paris", phone=PARIS_MOBILE)
    before = row_counts(engine)

    with engine.connect() as connection:
        group = connection.execute(select(SubscriptionGroup.__table__)).one()  # type: ignore[arg-type]
    shadow = SubscriptionGroup(
        name="Shadow",
        workspace_id=group.workspace_id,
        waba_id=group.waba_id,
        phone_number_id=group.phone_number_id,
        created_at=datetime.now(UTC),
    )

    with pytest.raises(NumberAlreadyInActiveGroup), write_session(engine) as session:
        session.add(shadow)

    assert row_counts(engine) == before


def test_the_database_refuses_a_second_row_for_the_same_e164(engine: Engine) -> None:
    waba_id = builders.waba(engine)
    services.add_number(engine, ADMIN, meta_waba_id=waba_id, group_name="Paris", phone=PARIS_MOBILE)
    now = datetime.now(UTC)

    with pytest.raises(NumberAlreadyExists), write_session(engine) as session:
        session.add(PhoneNumber(e164=PARIS_MOBILE, created_at=now, updated_at=now))


def test_the_database_refuses_a_waba_in_a_missing_workspace(engine: Engine) -> None:
    waba_id = builders.waba(engine)

    with pytest.raises(DatabaseError), engine.begin() as connection:
        connection.execute(
            Waba.__table__.update().where(Waba.meta_waba_id == waba_id).values(workspace_id=999)  # type: ignore[attr-defined]
        )


@pytest.mark.parametrize("table", HISTORY_TABLES)
def test_the_database_refuses_to_delete_history(engine: Engine, table: str) -> None:
    a_fleet_with_one_of_everything(engine)
    before = row_counts(engine)

    with pytest.raises(DatabaseError, match=f"DELETE on {table} is not allowed"), engine.begin() as connection:
        connection.execute(text(f"DELETE FROM {table}"))

    assert before[table] > 0
    assert row_counts(engine) == before


def test_the_database_refuses_to_rewrite_the_audit_log(engine: Engine) -> None:
    builders.waba(engine)

    with pytest.raises(DatabaseError, match="not allowed"), engine.begin() as connection:
        connection.execute(text("UPDATE audit_log SET after = NULL"))


def test_unknown_values_reported_by_meta_are_kept_and_flagged(engine: Engine) -> None:
    waba_id = builders.waba(engine)
    [e164] = builders.fill_waba(engine, waba_id, 1)

    services.update_number_health(engine, ADMIN, phone=e164, changes={"name_status": "UNDER_REVIEW_V2"})

    row = numbers_table(engine).iloc[0]
    assert row["name_status"] == "UNDER_REVIEW_V2"
    assert row["unknown_values"] == "name_status=UNDER_REVIEW_V2"


@pytest.mark.parametrize("value", ["X" * 61, "GREEN\x00"], ids=["longer-than-the-column", "control-character"])
def test_a_malformed_reported_value_is_refused_naming_the_field(engine: Engine, value: str) -> None:
    waba_id = builders.waba(engine)
    [e164] = builders.fill_waba(engine, waba_id, 1)
    before = row_counts(engine)

    with pytest.raises(InvalidInput, match="'quality_rating'"):
        services.update_number_health(engine, ADMIN, phone=e164, changes={"quality_rating": value})

    assert row_counts(engine) == before


def test_names_of_the_longest_allowed_length_are_stored_and_audited(engine: Engine) -> None:
    longest = "W" * 200
    services.add_workspace(engine, ADMIN, longest)
    portfolio_id = services.add_portfolio(engine, ADMIN, meta_business_id="9" * 32, name="P" * 200)

    services.connect_portfolio(engine, ADMIN, workspace=longest, portfolio_meta_id=portfolio_id)
    waba_id = services.add_waba(
        engine, ADMIN, workspace=longest, portfolio_meta_id=portfolio_id, meta_waba_id="1", name="N" * 200
    )
    services.add_template(engine, ADMIN, meta_waba_id=waba_id, name="t" * 200, language="pt_BR")

    assert connections_table(engine).loc[0, "workspace"] == longest
    assert templates_table(engine).loc[0, "template"] == "t" * 200
    assert len(audit_table(engine)) == 5


def test_a_template_language_longer_than_a_language_code_is_refused(engine: Engine) -> None:
    waba_id = builders.waba(engine)

    with pytest.raises(InvalidInput, match="'template language'"):
        services.add_template(engine, ADMIN, meta_waba_id=waba_id, name="promo", language="a language name " * 3)
