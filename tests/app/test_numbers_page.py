"""Numbers page: server-side filters that outlive navigation, a number's detail, and the CSV of the filtered rows."""

from __future__ import annotations

import csv
import io
import re

from core import services
from core.exports import to_csv_bytes
from core.model import format_international
from core.reads.history import number_history
from core.reads.numbers import NUMBER_EXPORT_COLUMNS, NumberFilters, numbers_table
from core.reads.templates import templates_table
from tests.app.ui import as_read, button, exceptions, select_row, shown_text, table
from tests.builders import ADMIN


def test_quality_filter_narrows_the_table_on_the_server(demo_db, open_page):
    at = open_page("numbers.py")

    at.multiselect(key="numbers_filters_qualities").select("YELLOW").run()

    shown = table(at, "numbers_table")
    expected = numbers_table(demo_db, NumberFilters(qualities=("YELLOW",)))
    assert len(shown) == len(expected) > 0
    assert {quality[0] for quality in shown["quality_rating"]} == {"YELLOW"}
    assert f"{len(expected)} numbers shown" in shown_text(at)


def test_search_matches_digits_of_the_number(demo_db, open_page):
    phone = numbers_table(demo_db)["phone_e164"].iloc[0]
    at = open_page("numbers.py")

    at.text_input(key="numbers_filters_search").input(phone[-9:]).run()

    assert table(at, "numbers_table")["phone_e164"].tolist() == [phone]


def test_filters_persist_while_navigating(demo_db, open_page):
    at = open_page("numbers.py")
    at.multiselect(key="numbers_filters_statuses").select("FLAGGED").run()
    at.toggle(key="numbers_filters_include_archived").set_value(False).run()

    at.switch_page("pages/overview.py").run()
    at.switch_page("pages/numbers.py").run()

    assert at.multiselect(key="numbers_filters_statuses").value == ["FLAGGED"]
    assert at.toggle(key="numbers_filters_include_archived").value is False
    assert {status[0] for status in table(at, "numbers_table")["status"]} == {"FLAGGED"}


def test_clear_filters_shows_every_number_again(demo_db, open_page):
    at = open_page("numbers.py")
    at.multiselect(key="numbers_filters_statuses").select("FLAGGED").run()

    button(at, "Clear filters").click().run()

    assert at.multiselect(key="numbers_filters_statuses").value == []
    assert len(table(at, "numbers_table")) == len(numbers_table(demo_db))


def test_csv_download_holds_exactly_the_filtered_rows(demo_db, open_page, downloads):
    at = open_page("numbers.py", role="analyst")
    at.multiselect(key="numbers_filters_qualities").select("YELLOW").run()
    at.multiselect(key="numbers_filters_workspaces").select("EU Brands").run()

    download = at.download_button(key="numbers_download_csv")
    content = downloads.content(download.proto.url)

    filters = NumberFilters(workspaces=("EU Brands",), qualities=("YELLOW",))
    expected = to_csv_bytes(numbers_table(demo_db, filters), NUMBER_EXPORT_COLUMNS)
    assert content == expected
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8"))))
    assert list(rows[0]) == NUMBER_EXPORT_COLUMNS
    assert sorted(row["phone_e164"] for row in rows) == sorted(table(at, "numbers_table")["phone_e164"])
    assert {row["quality_rating"] for row in rows} == {"YELLOW"}


def test_viewers_get_no_download(demo_db, open_page):
    at = open_page("numbers.py", role="viewer")

    assert len(at.download_button) == 0
    assert len(table(at, "numbers_table")) == len(numbers_table(demo_db))


def test_number_detail_shows_its_history_and_its_wabas_templates(demo_db, open_page):
    number = numbers_table(demo_db).iloc[0]

    at = open_page("numbers.py", query={"phone": number["phone_e164"]})

    assert exceptions(at) == []
    assert format_international(number["phone_e164"]) in shown_text(at)
    history = table(at, "numbers_detail_history")
    assert len(history) == len(number_history(demo_db, [number["phone_e164"]])) > 0
    templates = table(at, "numbers_detail_templates")
    assert sorted(templates["template"]) == sorted(templates_table(demo_db, [number["waba_id"]])["template"])


# Passes the name checks (no markup, no formula): Markdown would make a link, a formula, a red word and bold of it.
MARKDOWN_NAME = "Shop [Win a prize](https://evil.example) $5$ :red[now] *free*"
UNESCAPED = re.compile(r"(?<!\\)[\[\]$*:]")


def test_a_name_holding_markdown_is_shown_as_written(demo_db, open_page):
    number = numbers_table(demo_db).iloc[0]
    services.update_number_health(demo_db, ADMIN, phone=number["phone_e164"], changes={"display_name": MARKDOWN_NAME})

    at = open_page("numbers.py", query={"phone": number["phone_e164"]})

    (heading,) = [s.value for s in at.subheader if format_international(number["phone_e164"]) in as_read(s.value)]
    assert as_read(heading) == f"{format_international(number['phone_e164'])} — {MARKDOWN_NAME}"
    assert UNESCAPED.search(heading) is None


def test_a_number_from_a_link_is_echoed_as_written(demo_db, open_page):
    at = open_page("numbers.py", query={"phone": "+1 [call](https://evil.example)"})

    (warning,) = [w.value for w in at.warning]
    assert as_read(warning) == "Number +1 [call](https://evil.example) is not in the fleet."
    assert UNESCAPED.search(warning) is None


def test_selecting_a_row_opens_that_numbers_detail(demo_db, open_page):
    at = open_page("numbers.py")
    second = table(at, "numbers_table").iloc[1]

    select_row(at, "numbers_table", 1)

    assert at.query_params["phone"] == second["phone_e164"]
    assert format_international(second["phone_e164"]) in shown_text(at)


def test_closing_the_detail_clears_the_selection(demo_db, open_page):
    number = numbers_table(demo_db).iloc[3]
    at = open_page("numbers.py", query={"phone": number["phone_e164"]})

    button(at, "Close detail").click().run()
    at.run()

    assert "phone" not in at.query_params
    assert format_international(number["phone_e164"]) not in shown_text(at)


def test_changing_filters_keeps_the_selected_number(demo_db, open_page):
    number = numbers_table(demo_db, NumberFilters(workspaces=("EU Brands",))).iloc[2]
    at = open_page("numbers.py", query={"phone": number["phone_e164"]})

    at.multiselect(key="numbers_filters_workspaces").select("EU Brands").run()

    assert at.query_params["phone"] == number["phone_e164"]
    assert format_international(number["phone_e164"]) in shown_text(at)


def test_at_risk_number_on_the_overview_links_to_its_detail(demo_db, open_page):
    at = open_page("overview.py")
    first_at_risk = table(at, "overview_at_risk").iloc[0]

    select_row(at, "overview_at_risk", 0)

    assert [title.value for title in at.title] == ["Numbers"]
    assert first_at_risk["phone_international"] in shown_text(at)


def test_low_limit_portfolio_on_the_overview_opens_its_numbers(demo_db, open_page):
    at = open_page("overview.py")
    portfolio = table(at, "overview_low_portfolios").iloc[0]

    select_row(at, "overview_low_portfolios", 0)

    assert [title.value for title in at.title] == ["Numbers"]
    assert at.multiselect(key="numbers_filters_portfolio_ids").value == [portfolio["portfolio_id"]]
    assert set(table(at, "numbers_table")["portfolio"]) == {portfolio["portfolio"]}
