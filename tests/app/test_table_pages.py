"""Long tables send the browser one page of rows at a time, with a page control and the count of every row;
filters, the CSV download and the charts still cover every matching number."""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from core import seed, services
from core.db import make_engine
from core.migrate import upgrade
from core.model import format_international
from core.reads.numbers import numbers_table
from core.reads.templates import templates_table
from pages.kit.paging import TABLE_PAGE_SIZE
from tests.app.conftest import _use_database
from tests.app.ui import exceptions, select_row, shown_text, table
from tests.builders import ADMIN


def seeded_file(path: Path, shape: seed.FleetShape) -> Path:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    seed.seed(engine, shape)
    engine.dispose()
    return path


def copy_in_use(seeded: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """A copy of a seeded file as the app's database, for one test."""
    path = tmp_path / "fleet.db"
    shutil.copyfile(seeded, path)
    yield from _use_database(path, monkeypatch)


@pytest.fixture(scope="module")
def large_fleet_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seeded_file(tmp_path_factory.mktemp("large") / "fleet.db", seed.synthetic_shape(1, 10, 20, 3))


@pytest.fixture
def large_fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, large_fleet_file: Path) -> Iterator[Engine]:
    """200 active numbers in 10 WABAs: two pages of the Numbers table."""
    yield from copy_in_use(large_fleet_file, tmp_path, monkeypatch)


def test_the_numbers_table_sends_one_page_and_counts_every_number(large_fleet, open_page):
    at = open_page("numbers.py")

    assert exceptions(at) == []
    assert len(table(at, "numbers_table")) == TABLE_PAGE_SIZE
    assert f"200 numbers match, rows 1–{TABLE_PAGE_SIZE} shown" in shown_text(at)
    assert at.number_input(key="numbers_page").max == 2


def test_the_next_page_shows_the_next_rows_in_the_same_order(large_fleet, open_page):
    every = numbers_table(large_fleet)["phone_e164"].tolist()
    at = open_page("numbers.py")

    at.number_input(key="numbers_page").set_value(2).run()

    assert table(at, "numbers_table")["phone_e164"].tolist() == every[TABLE_PAGE_SIZE:]
    assert f"rows {TABLE_PAGE_SIZE + 1}–200 shown" in shown_text(at)


def csv_rows(downloads: Any, at: Any, key: str) -> list[dict[str, str]]:
    """The rows of the CSV file the download button `key` sends."""
    content = downloads.content(at.download_button(key=key).proto.url)
    return list(csv.DictReader(io.StringIO(content.decode("utf-8"))))


def test_the_csv_holds_every_matching_number_not_only_the_page(large_fleet, open_page, downloads):
    assert len(csv_rows(downloads, open_page("numbers.py"), "numbers_download_csv")) == 200


def test_new_filters_start_again_on_the_first_page(large_fleet, open_page):
    at = open_page("numbers.py")
    at.number_input(key="numbers_page").set_value(2).run()

    at.multiselect(key="numbers_filters_qualities").select("GREEN").run()

    assert at.number_input(key="numbers_page").value == 1


def test_a_linked_number_opens_on_its_page_with_its_detail(large_fleet, open_page):
    last = numbers_table(large_fleet)["phone_e164"].iloc[-1]

    at = open_page("numbers.py", query={"phone": last})

    assert at.number_input(key="numbers_page").value == 2
    assert last in table(at, "numbers_table")["phone_e164"].tolist()
    assert "History of quality, tier and status changes" in shown_text(at)


def test_a_small_fleet_fits_on_one_page(demo_db, open_page):
    at = open_page("numbers.py")

    assert at.number_input(key="numbers_page").max == 1
    assert "numbers shown" in shown_text(at)


LONG_TABLE_PAGE_CONTROLS = {
    "accounts_workspaces_page",
    "accounts_portfolios_page",
    "accounts_connections_page",
    "accounts_wabas_page",
    "overview_wabas_page",
    "subscriptions_per_waba_page",
    "subscriptions_archived_page",
}


@pytest.fixture(scope="module")
def many_wabas_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return seeded_file(tmp_path_factory.mktemp("many_wabas") / "fleet.db", seed.synthetic_shape(11, 10, 1, 1))


@pytest.fixture
def many_wabas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, many_wabas_file: Path) -> Iterator[Engine]:
    """110 WABAs in 11 workspaces: two pages of every WABA table."""
    yield from copy_in_use(many_wabas_file, tmp_path, monkeypatch)


@pytest.mark.parametrize(
    ("page", "table_key", "page_key"),
    [
        ("accounts.py", "accounts_wabas", "accounts_wabas_page"),
        ("overview.py", "overview_wabas", "overview_wabas_page"),
        ("subscriptions.py", "subscriptions_per_waba", "subscriptions_per_waba_page"),
    ],
)
def test_a_table_of_every_waba_sends_one_page_at_a_time(many_wabas, open_page, page, table_key, page_key):
    at = open_page(page)
    first = table(at, table_key)["waba"].tolist()

    at.number_input(key=page_key).set_value(2).run()
    second = table(at, table_key)["waba"].tolist()

    assert exceptions(at) == []
    assert (len(first), len(second)) == (TABLE_PAGE_SIZE, 10)
    assert not set(first) & set(second)
    assert f"Rows {TABLE_PAGE_SIZE + 1}–110 shown, of 110." in shown_text(at)


def test_the_waba_downloads_hold_every_waba_not_only_the_page(many_wabas, open_page, downloads):
    assert len(csv_rows(downloads, open_page("accounts.py"), "wabas_csv")) == 110


def test_archived_groups_are_listed_one_page_at_a_time_with_their_numbers_formatted(many_wabas, open_page):
    for phone in numbers_table(many_wabas)["phone_e164"].iloc[: TABLE_PAGE_SIZE + 1]:
        services.archive_group(many_wabas, ADMIN, phone=phone)
    at = open_page("subscriptions.py")

    shown = table(at, "subscriptions_archived")

    assert exceptions(at) == []
    assert len(shown) == TABLE_PAGE_SIZE
    assert shown["phone_international"].map(format_international).eq(shown["phone_international"]).all()
    assert shown["phone_international"].str.contains(" ").all()
    assert f"Rows 1–{TABLE_PAGE_SIZE} shown, of {TABLE_PAGE_SIZE + 1}." in shown_text(at)


@pytest.mark.parametrize("page", ["accounts.py", "overview.py", "subscriptions.py"])
def test_a_fleet_of_few_wabas_shows_them_without_a_page_control(demo_db, open_page, page):
    at = open_page(page)

    assert exceptions(at) == []
    assert not [widget.key for widget in at.number_input if widget.key in LONG_TABLE_PAGE_CONTROLS]


def test_templates_are_listed_one_page_at_a_time_and_a_row_picked_on_a_later_page_opens_that_template(
    many_wabas, open_page
):
    every = templates_table(many_wabas)
    at = open_page("templates.py")
    assert len(table(at, "templates_table")) == TABLE_PAGE_SIZE

    at.number_input(key="templates_page").set_value(2).run()
    select_row(at, "templates_table", 3)

    picked = every.iloc[TABLE_PAGE_SIZE + 3]
    assert exceptions(at) == []
    assert f"Numbers that can send '{picked['template']}' ({picked['language']})" in shown_text(at)
    assert f"Rows {TABLE_PAGE_SIZE + 1}–{2 * TABLE_PAGE_SIZE} shown, of {len(every):,}." in shown_text(at)


@pytest.fixture
def many_workspaces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """101 workspaces, each with one portfolio connected and one WABA of one number."""
    seeded = seeded_file(tmp_path / "seeded.db", seed.synthetic_shape(TABLE_PAGE_SIZE + 1, 1, 1, 1))
    yield from copy_in_use(seeded, tmp_path, monkeypatch)


def test_accounts_pages_its_workspaces_and_connections_once_they_outgrow_a_page(many_workspaces, open_page):
    at = open_page("accounts.py")

    assert exceptions(at) == []
    assert len(table(at, "accounts_workspaces")) == TABLE_PAGE_SIZE
    assert len(table(at, "accounts_connections")) == TABLE_PAGE_SIZE
    at.number_input(key="accounts_workspaces_page").set_value(2).run()
    assert len(table(at, "accounts_workspaces")) == 1
