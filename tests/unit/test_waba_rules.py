"""Rule 1: at most 10 WhatsApp Business Accounts per workspace, each in a portfolio connected to the workspace."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from core import services
from core.errors import AlreadyArchived, DuplicateName, InvalidInput, NotFound, PortfolioNotConnected, WabaLimitReached
from core.reads.accounts import connections_table, wabas_table, workspaces_summary
from tests import builders
from tests.builders import ADMIN
from tests.unit.db_state import row_counts


def add_wabas(engine: Engine, portfolio_id: str, count: int, workspace: str = "EU Brands") -> list[str]:
    return [
        services.add_waba(
            engine,
            ADMIN,
            workspace=workspace,
            portfolio_meta_id=portfolio_id,
            meta_waba_id=builders.unique_meta_id(),
            name=f"WABA {index}",
        )
        for index in range(count)
    ]


def test_a_workspace_takes_ten_wabas(sqlite_engine: Engine) -> None:
    portfolio_id = builders.workspace_with_portfolio(sqlite_engine)

    add_wabas(sqlite_engine, portfolio_id, 10)

    summary = workspaces_summary(sqlite_engine)
    assert summary.loc[0, "wabas"] == 10


def test_rejects_eleventh_waba_in_workspace_naming_the_workspace_and_the_limit(sqlite_engine: Engine) -> None:
    portfolio_id = builders.workspace_with_portfolio(sqlite_engine)
    add_wabas(sqlite_engine, portfolio_id, 10)
    before = row_counts(sqlite_engine)

    with pytest.raises(WabaLimitReached) as refused:
        add_wabas(sqlite_engine, portfolio_id, 1)

    assert "EU Brands" in str(refused.value)
    assert "10" in str(refused.value)
    assert row_counts(sqlite_engine) == before


def test_archived_wabas_do_not_count_toward_the_ten(sqlite_engine: Engine) -> None:
    portfolio_id = builders.workspace_with_portfolio(sqlite_engine)
    first, *_ = add_wabas(sqlite_engine, portfolio_id, 10)

    services.archive_waba(sqlite_engine, ADMIN, first)
    add_wabas(sqlite_engine, portfolio_id, 1)

    wabas = wabas_table(sqlite_engine)
    assert (wabas["state"] == "active").sum() == 10
    assert (wabas["state"] == "archived").sum() == 1


def test_the_cap_is_per_workspace(sqlite_engine: Engine) -> None:
    portfolio_id = builders.workspace_with_portfolio(sqlite_engine)
    add_wabas(sqlite_engine, portfolio_id, 10)
    services.add_workspace(sqlite_engine, ADMIN, "Americas Retail")
    services.connect_portfolio(sqlite_engine, ADMIN, workspace="Americas Retail", portfolio_meta_id=portfolio_id)

    add_wabas(sqlite_engine, portfolio_id, 1, workspace="Americas Retail")

    assert len(wabas_table(sqlite_engine)) == 11


def test_waba_needs_its_portfolio_connected_to_the_workspace(sqlite_engine: Engine) -> None:
    services.add_workspace(sqlite_engine, ADMIN, "EU Brands")
    portfolio_id = services.add_portfolio(
        sqlite_engine, ADMIN, meta_business_id=builders.unique_meta_id(), name="Acme Europe"
    )
    before = row_counts(sqlite_engine)

    with pytest.raises(PortfolioNotConnected) as refused:
        add_wabas(sqlite_engine, portfolio_id, 1)

    assert "Acme Europe" in str(refused.value)
    assert "EU Brands" in str(refused.value)
    assert row_counts(sqlite_engine) == before


def test_connect_if_needed_connects_the_portfolio_then_adds_the_waba(sqlite_engine: Engine) -> None:
    services.add_workspace(sqlite_engine, ADMIN, "EU Brands")
    portfolio_id = services.add_portfolio(
        sqlite_engine, ADMIN, meta_business_id=builders.unique_meta_id(), name="Acme Europe"
    )

    services.add_waba(
        sqlite_engine,
        ADMIN,
        workspace="EU Brands",
        portfolio_meta_id=portfolio_id,
        meta_waba_id="123456",
        name="Fashion FR",
        connect_if_needed=True,
    )

    connections = connections_table(sqlite_engine)
    assert list(zip(connections["workspace"], connections["portfolio_id"], strict=True)) == [
        ("EU Brands", portfolio_id)
    ]
    assert list(wabas_table(sqlite_engine)["waba_id"]) == ["123456"]


def test_connect_if_needed_does_not_connect_when_the_waba_is_refused(sqlite_engine: Engine) -> None:
    connected = builders.workspace_with_portfolio(sqlite_engine)
    add_wabas(sqlite_engine, connected, 10)
    other = services.add_portfolio(sqlite_engine, ADMIN, meta_business_id=builders.unique_meta_id(), name="Acme Group")
    before = row_counts(sqlite_engine)

    with pytest.raises(WabaLimitReached):
        services.add_waba(
            sqlite_engine,
            ADMIN,
            workspace="EU Brands",
            portfolio_meta_id=other,
            meta_waba_id=builders.unique_meta_id(),
            name="One too many",
            connect_if_needed=True,
        )

    assert row_counts(sqlite_engine) == before


def test_connecting_an_already_connected_portfolio_changes_nothing(sqlite_engine: Engine) -> None:
    portfolio_id = builders.workspace_with_portfolio(sqlite_engine)
    before = row_counts(sqlite_engine)

    changed = services.connect_portfolio(sqlite_engine, ADMIN, workspace="EU Brands", portfolio_meta_id=portfolio_id)

    assert changed is False
    assert row_counts(sqlite_engine) == before


def test_a_meta_waba_id_is_registered_once(sqlite_engine: Engine) -> None:
    portfolio_id = builders.workspace_with_portfolio(sqlite_engine)
    services.add_waba(
        sqlite_engine, ADMIN, workspace="EU Brands", portfolio_meta_id=portfolio_id, meta_waba_id="42", name="A"
    )

    with pytest.raises(DuplicateName, match="42"):
        services.add_waba(
            sqlite_engine, ADMIN, workspace="EU Brands", portfolio_meta_id=portfolio_id, meta_waba_id="42", name="B"
        )


@pytest.mark.parametrize(
    ("workspace", "portfolio_known", "missing"),
    [("Nowhere", True, "Workspace 'Nowhere'"), ("EU Brands", False, "Business portfolio")],
)
def test_adding_a_waba_to_something_unknown_says_what_is_missing(
    sqlite_engine: Engine, workspace: str, portfolio_known: bool, missing: str
) -> None:
    portfolio_id = builders.workspace_with_portfolio(sqlite_engine)

    with pytest.raises(NotFound, match=missing):
        services.add_waba(
            sqlite_engine,
            ADMIN,
            workspace=workspace,
            portfolio_meta_id=portfolio_id if portfolio_known else "777",
            meta_waba_id=builders.unique_meta_id(),
            name="Fashion FR",
        )


def test_a_waba_with_active_numbers_cannot_be_archived(sqlite_engine: Engine) -> None:
    waba_id = builders.waba(sqlite_engine)
    builders.fill_waba(sqlite_engine, waba_id, 1)

    with pytest.raises(InvalidInput, match="still has 1 active subscription group"):
        services.archive_waba(sqlite_engine, ADMIN, waba_id)


def test_a_waba_is_archived_once(sqlite_engine: Engine) -> None:
    waba_id = builders.waba(sqlite_engine)
    services.archive_waba(sqlite_engine, ADMIN, waba_id)

    with pytest.raises(AlreadyArchived, match="Fashion FR"):
        services.archive_waba(sqlite_engine, ADMIN, waba_id)
