"""Rule 6: nothing is ever hard-deleted, and the audit log is append-only; the database itself refuses."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DatabaseError

from core import integrity, services
from core.db import Base
from tests import builders
from tests.builders import ADMIN
from tests.unit.db_state import HISTORY_TABLES, a_fleet_with_one_of_everything, row_counts

# The live service's working state: deliveries are pruned after their retention (what they changed stays in the
# history), leases pass between workers, and the data version is one counter rewritten by every write.
WORKING_TABLES = {"webhook_deliveries", "webhook_waba_activity", "worker_leases", "data_version"}


def test_every_table_but_the_users_roles_and_the_working_state_is_history() -> None:
    assert set(HISTORY_TABLES) == set(Base.metadata.tables) - {"users"} - WORKING_TABLES


def test_the_integrity_check_guards_every_history_table() -> None:
    assert set(integrity.HISTORY_TABLES) == set(HISTORY_TABLES)


@pytest.mark.parametrize("table", HISTORY_TABLES)
def test_the_database_refuses_to_delete_rows(sqlite_engine: Engine, table: str) -> None:
    a_fleet_with_one_of_everything(sqlite_engine)
    before = row_counts(sqlite_engine)

    with pytest.raises(DatabaseError, match=f"DELETE on {table} is not allowed"), sqlite_engine.begin() as connection:
        connection.execute(text(f"DELETE FROM {table}"))

    assert before[table] > 0
    assert row_counts(sqlite_engine) == before


def test_the_database_refuses_to_rewrite_the_audit_log(sqlite_engine: Engine) -> None:
    a_fleet_with_one_of_everything(sqlite_engine)

    with pytest.raises(DatabaseError, match="not allowed"), sqlite_engine.begin() as connection:
        connection.execute(text("UPDATE audit_log SET actor = 'someone else'"))

    with sqlite_engine.connect() as connection:
        actors = set(connection.scalars(text("SELECT DISTINCT actor FROM audit_log")))
    assert actors == {ADMIN.name}


def test_archiving_keeps_the_group_the_number_and_its_history(sqlite_engine: Engine) -> None:
    waba_id = builders.waba(sqlite_engine)
    [e164] = builders.fill_waba(sqlite_engine, waba_id, 1)
    before = row_counts(sqlite_engine)

    services.archive_group(sqlite_engine, ADMIN, phone=e164)

    after = row_counts(sqlite_engine)
    for table in ("phone_numbers", "subscription_groups", "number_health_snapshots"):
        assert after[table] == before[table]
    assert after["audit_log"] == before["audit_log"] + 1
