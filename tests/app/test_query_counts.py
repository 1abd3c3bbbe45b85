"""Each page reads the database with a small, fixed number of SQL statements, whatever the fleet's size.

A query per WABA or per number (an "N+1") would pass unnoticed on a small fleet and take seconds on a large one,
so each page's count is held under a limit just above what it issues today, and the same page on a fleet twice as
large must issue exactly as many statements. Counts, not times: this test does not depend on the machine.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import Engine, event
from streamlit.testing.v1 import AppTest

from core import seed
from core.db import make_engine
from core.migrate import upgrade
from core.reads.numbers import numbers_table
from tests.app.conftest import LOCAL_MODE_SECRETS, TIMEOUT, _use_database
from tests.app.ui import exceptions

# The most statements one render of each page may run with every cached read dropped (as after a write).
MAX_STATEMENTS = {  # today's count + 1
    "overview.py": 8,  # with the open alerts
    "accounts.py": 6,
    "numbers.py": 11,  # the filter choices are 6 small DISTINCT reads
    "subscriptions.py": 6,
    "templates.py": 4,
    "ecosystem.py": 7,
    "alerts.py": 8,
    "import_data.py": 2,
    "audit.py": 4,
    "users.py": 2,
}
# A number's detail adds the number, its history and its WABA's templates.
MAX_STATEMENTS_WITH_DETAIL = MAX_STATEMENTS["numbers.py"] + 3
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")

DOUBLE_DEMO_SHAPE = dataclasses.replace(
    seed.DEMO_SHAPE,
    workspaces=2 * seed.DEMO_SHAPE.workspaces,
    portfolios=2 * seed.DEMO_SHAPE.portfolios,
    wabas_per_workspace=[*seed.DEMO_SHAPE.wabas_per_workspace] * 2,
    numbers_per_waba=[*seed.DEMO_SHAPE.numbers_per_waba] * 2,
)


@pytest.fixture(scope="session")
def double_demo_database_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo fleet twice over: twice the workspaces, portfolios, WABAs and numbers."""
    path = tmp_path_factory.mktemp("double_demo") / "fleet.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    seed.seed(engine, DOUBLE_DEMO_SHAPE)
    engine.dispose()
    return path


@pytest.fixture
def double_demo_db(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, double_demo_database_file: Path
) -> Iterator[Engine]:
    path = tmp_path / "double.db"
    shutil.copyfile(double_demo_database_file, path)
    yield from _use_database(path, monkeypatch)


def statements_of_a_render(at: AppTest) -> list[str]:
    """The SQL one more run of the page sends, with nothing cached (the engine itself stays open)."""
    statements: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        if not statement.lstrip().upper().startswith(TRANSACTION_CONTROL):
            statements.append(statement)

    st.cache_data.clear()
    event.listen(Engine, "before_cursor_execute", record)
    try:
        at.run()
    finally:
        event.remove(Engine, "before_cursor_execute", record)
    assert exceptions(at) == []
    return statements


def count_for(open_page: Callable[..., AppTest], page: str, query: dict[str, str] | None = None) -> list[str]:
    return statements_of_a_render(open_page(page, query=query))


@pytest.mark.parametrize("page", list(MAX_STATEMENTS))
def test_a_page_reads_the_demo_fleet_in_a_few_statements(demo_db, open_page, page):
    statements = count_for(open_page, page)

    assert 0 < len(statements) <= MAX_STATEMENTS[page], "\n\n".join(statements)


@pytest.mark.parametrize("page", list(MAX_STATEMENTS))
def test_a_fleet_twice_as_large_takes_no_more_statements(demo_db, double_demo_db, open_page, page, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", str(demo_db.url))
    on_demo = count_for(open_page, page)
    st.cache_resource.clear()
    monkeypatch.setenv("DATABASE_URL", str(double_demo_db.url))

    on_double = count_for(open_page, page)

    assert len(on_double) == len(on_demo), "\n\n".join(on_double)


def test_a_numbers_detail_reads_its_history_and_templates_in_a_few_statements(demo_db, open_page):
    phone = numbers_table(demo_db)["phone_e164"].iloc[0]

    statements = count_for(open_page, "numbers.py", query={"phone": phone})

    assert len(statements) <= MAX_STATEMENTS_WITH_DETAIL, "\n\n".join(statements)


N_PLUS_ONE_PAGE = """
from core.reads.numbers import NumberFilters, numbers_table
from pages.kit import database, reads

for waba_id in reads.wabas()["waba_id"]:
    numbers_table(database.engine(), NumberFilters(waba_ids=(waba_id,)))
"""


def n_plus_one_page() -> AppTest:
    at = AppTest.from_string(N_PLUS_ONE_PAGE, default_timeout=TIMEOUT)
    at.secrets = dict(LOCAL_MODE_SECRETS)
    return at.run()


def test_the_count_would_catch_a_query_per_waba(demo_db, double_demo_db, monkeypatch):
    """The guard itself: a page reading each WABA's numbers with a query of its own fails both checks."""
    monkeypatch.setenv("DATABASE_URL", str(demo_db.url))
    on_demo = statements_of_a_render(n_plus_one_page())
    st.cache_resource.clear()
    monkeypatch.setenv("DATABASE_URL", str(double_demo_db.url))

    on_double = statements_of_a_render(n_plus_one_page())

    assert len(on_demo) > max(MAX_STATEMENTS.values())
    assert len(on_double) > len(on_demo)


def numbers_reads_of(statements: list[str]) -> list[str]:
    """The statements that read the numbers table itself (one row per number, with its group and WABA)."""
    return [s for s in statements if "phone_numbers.e164 AS phone_e164" in s and "subscription_groups" in s]


def test_the_unfiltered_numbers_page_shares_the_overviews_read_of_the_fleet(demo_db, open_page):
    at = open_page("overview.py")
    st.cache_data.clear()
    on_overview = statements_of_a_render(at)
    recorded: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        recorded.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        at.switch_page("pages/numbers.py").run()
    finally:
        event.remove(Engine, "before_cursor_execute", record)

    assert exceptions(at) == []
    assert len(numbers_reads_of(on_overview)) == 1
    assert numbers_reads_of(recorded) == []
