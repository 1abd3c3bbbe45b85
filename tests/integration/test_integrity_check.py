"""`check` (core.integrity.find_violations) finds each broken rule in data written behind the core's back,
on both databases, and finds nothing in a fleet built through the services."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, text

from core import integrity, services
from core.db import make_engine
from core.migrate import upgrade
from tests import builders
from tests.builders import ADMIN

PARIS = "+33612345678"


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """Corruptions change the schema (an index dropped): each test gets a database of its own, never the
    worker's shared one, or the tests after it would run without the guard."""
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite:///{tmp_path / 'fleet.db'}"
    engine = make_engine(url)
    upgrade(engine)
    yield engine
    engine.dispose()


def a_fleet(engine: Engine) -> tuple[str, str]:
    """Two workspaces with a WABA each; Paris is in an active group of the first."""
    eu = builders.waba(engine, workspace="EU Brands", name="Fashion FR")
    americas = builders.waba(engine, workspace="Americas Retail", name="Sport US")
    services.add_number(engine, ADMIN, meta_waba_id=eu, group_name="Paris", phone=PARIS)
    return eu, americas


def insert_group(connection: Connection, name: str, waba: str, e164: str) -> None:
    connection.execute(
        text(
            "INSERT INTO subscription_groups (name, workspace_id, waba_id, phone_number_id, state, created_at) "
            "SELECT :name, w.workspace_id, w.id, p.id, 'active', CURRENT_TIMESTAMP "
            "FROM wabas w, phone_numbers p WHERE w.meta_waba_id = :waba AND p.e164 = :e164"
        ),
        {"name": name, "waba": waba, "e164": e164},
    )


def insert_number(connection: Connection, e164: str) -> None:
    connection.execute(
        text(
            "INSERT INTO phone_numbers (e164, display_name, status, quality_rating, messaging_limit_tier, "
            "name_status, created_at, updated_at) "
            "VALUES (:e164, '', 'PENDING', 'NA', 'TIER_NOT_SET', 'NONE', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        ),
        {"e164": e164},
    )


def insert_waba(connection: Connection, meta_id: str, workspace: str, portfolio_of_workspace: str) -> None:
    connection.execute(
        text(
            "INSERT INTO wabas (meta_waba_id, name, portfolio_id, workspace_id, state, status, created_at) "
            "SELECT :meta_id, :name, (SELECT portfolio_id FROM workspace_portfolios wp JOIN workspaces x "
            "ON x.id = wp.workspace_id WHERE x.name = :portfolio_of), w.id, 'active', 'ACTIVE', CURRENT_TIMESTAMP "
            "FROM workspaces w WHERE w.name = :workspace"
        ),
        {
            "meta_id": meta_id,
            "name": f"Rogue {meta_id}",
            "workspace": workspace,
            "portfolio_of": portfolio_of_workspace,
        },
    )


def second_active_group(connection: Connection, eu: str, americas: str) -> None:
    connection.execute(text("DROP INDEX uq_subscription_groups_active_number"))
    insert_group(connection, "Shadow", americas, PARIS)


def eleventh_waba(connection: Connection, eu: str, americas: str) -> None:
    for index in range(10):
        insert_waba(connection, str(5000 + index), "EU Brands", "EU Brands")


def twenty_first_number(connection: Connection, eu: str, americas: str) -> None:
    for index in range(1, 21):
        e164 = builders.french_mobile(index)
        insert_number(connection, e164)
        insert_group(connection, f"Group {index}", eu, e164)


def waba_in_an_unconnected_portfolio(connection: Connection, eu: str, americas: str) -> None:
    insert_waba(connection, "6000", "EU Brands", "Americas Retail")


def number_not_in_e164(connection: Connection, eu: str, americas: str) -> None:
    on_table = " ON phone_numbers" if connection.dialect.name == "postgresql" else ""
    connection.execute(text(f"DROP TRIGGER phone_numbers_e164_fixed{on_table}"))  # the guard of migration 0010
    connection.execute(text("UPDATE phone_numbers SET e164 = '+33 6 12 34 56 78' WHERE e164 = :e164"), {"e164": PARIS})


def active_group_in_an_archived_waba(connection: Connection, eu: str, americas: str) -> None:
    connection.execute(
        text("UPDATE wabas SET state = 'archived', archived_at = CURRENT_TIMESTAMP WHERE meta_waba_id = :waba"),
        {"waba": eu},
    )


def snapshot_without_its_quality_flag(connection: Connection, eu: str, americas: str) -> None:
    connection.execute(text("UPDATE number_health_snapshots SET quality_changed = NULL"))


CORRUPTIONS: dict[str, tuple[Callable[[Connection, str, str], None], str]] = {
    "second-active-group": (second_active_group, f"Number {PARIS} is in 2 active subscription groups"),
    "eleventh-waba": (eleventh_waba, "Workspace 'EU Brands' has 11 active WABAs (maximum 10)"),
    "twenty-first-number": (twenty_first_number, "WABA 'Fashion FR' has 21 active numbers (maximum 20)"),
    "unconnected-portfolio": (waba_in_an_unconnected_portfolio, "WABA 'Rogue 6000' lives in a portfolio not connected"),
    "not-e164": (number_not_in_e164, "Number +33 6 12 34 56 78 is not stored in E.164"),
    "archived-waba-with-active-group": (active_group_in_an_archived_waba, "archived WABA 'Fashion FR'"),
    "unflagged-snapshot": (snapshot_without_its_quality_flag, "1 health snapshot(s) have no quality-change flag"),
}


def test_a_fleet_built_through_the_services_breaks_no_rule(engine: Engine) -> None:
    a_fleet(engine)

    assert integrity.find_violations(engine) == []


@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_check_finds_each_rule_broken_behind_the_cores_back(engine: Engine, corruption: str) -> None:
    eu, americas = a_fleet(engine)
    corrupt, expected = CORRUPTIONS[corruption]
    with engine.begin() as connection:
        corrupt(connection, eu, americas)

    violations = integrity.find_violations(engine)

    assert any(expected in violation for violation in violations), violations
