"""CSV exports: a header, UTF-8, ISO times, empty cells for missing values, and cells a spreadsheet would run as a
formula neutralised, written in the dialect of `DataFrame.to_csv` (minimal quoting, "\\n" line ends).
JSON exports: an array of objects with exact values. Both end with one newline."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.exports import FORMULA_PREFIXES, export_bytes, to_csv_bytes, to_json_bytes


def rows_of(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"))))


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tTAB", "'\tTAB"),
        ("\r=1+1", "'\n=1+1"),
        ("\n@SUM(A1)", "'\n@SUM(A1)"),
        ("＝1+1", "'＝1+1"),
        ("-5\n=1+1", "'-5\n=1+1"),
        ("+33612345678", "+33612345678"),
        ("-5", "-5"),
        ("Café São Paulo", "Café São Paulo"),
    ],
)
def test_text_a_spreadsheet_would_run_is_neutralised_and_plain_numbers_are_kept(cell, written):
    data = to_csv_bytes(pd.DataFrame({"display_name": [cell]}))

    assert rows_of(data) == [["display_name"], [written]]


@pytest.mark.parametrize("dtype", ["str", "string", "object"])
@pytest.mark.parametrize(("cell", "written"), [("a\rb", "a\nb"), ("a\r\nb", "a\nb"), ("x\r", "x\n")])
def test_a_carriage_return_inside_a_cell_does_not_split_the_row(dtype, cell, written):
    frame = pd.DataFrame({"name": [cell], "waba": ["Fashion FR"]}).astype({"name": dtype})

    assert rows_of(to_csv_bytes(frame)) == [["name", "waba"], [written, "Fashion FR"]]


def _unsurrogate_text() -> st.SearchStrategy[str]:
    """Any text a database can hold (lone surrogates cannot be encoded, so no stored name has one)."""
    return st.text(st.characters(exclude_categories=("Cs",)), max_size=30)


@settings(max_examples=300, deadline=None)
@given(cells=st.lists(_unsurrogate_text(), min_size=1, max_size=4), dtype=st.sampled_from(["str", "object"]))
def test_any_text_is_one_cell_a_spreadsheet_never_runs(cells, dtype):
    frame = pd.DataFrame({"name": cells, "other": ["x"] * len(cells)}).astype({"name": dtype})

    rows = rows_of(to_csv_bytes(frame))

    assert rows[0] == ["name", "other"]
    assert [len(row) for row in rows[1:]] == [2] * len(cells)
    for written, cell in zip((row[0] for row in rows[1:]), cells, strict=True):
        shown = cell.replace("\r\n", "\n").replace("\r", "\n")
        assert written in (shown, "'" + shown)
        assert not written.startswith(FORMULA_PREFIXES) or re.fullmatch(r"[+-][0-9]+(\.[0-9]+)?", written)


@pytest.mark.parametrize("dtype", ["str", "string", "object"])
def test_neutralising_does_not_depend_on_how_pandas_holds_the_text(dtype):
    frame = pd.DataFrame({"name": ["=1+1", "ok", None]}).astype({"name": dtype})

    assert rows_of(to_csv_bytes(frame)) == [["name"], ["'=1+1"], ["ok"], [""]]


def test_times_are_iso_8601_with_their_offset_and_microseconds_only_when_set():
    frame = pd.DataFrame(
        {
            "updated_at": pd.Series(
                [datetime(2026, 3, 1, 9, 30, tzinfo=UTC), datetime(2026, 3, 1, 9, 30, 0, 120, tzinfo=UTC), None],
                dtype="datetime64[us, UTC]",
            )
        }
    )

    assert rows_of(to_csv_bytes(frame)) == [
        ["updated_at"],
        ["2026-03-01T09:30:00+00:00"],
        ["2026-03-01T09:30:00.000120+00:00"],
        [""],
    ]


def test_python_datetimes_in_a_column_of_objects_are_iso_8601_too():
    frame = pd.DataFrame({"at": pd.Series([datetime(2026, 3, 1, 9, 30, tzinfo=UTC), None], dtype=object)})

    assert rows_of(to_csv_bytes(frame)) == [["at"], ["2026-03-01T09:30:00+00:00"], [""]]


def test_the_file_is_what_pandas_would_write_for_plain_values():
    frame = pd.DataFrame(
        {
            "text": ["a,b", 'say "hi"', "two\nlines", None],
            "count": [1, 2, 3, 4],
            "share": [0.5, None, 1.25, 2.0],
            "flag": [True, False, True, False],
        }
    )

    assert to_csv_bytes(frame) == frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def test_only_the_chosen_columns_are_written_in_the_order_given():
    frame = pd.DataFrame({"a": [1], "b": [2], "c": [3]})

    assert rows_of(to_csv_bytes(frame, ["c", "a"])) == [["c", "a"], ["3", "1"]]


def test_an_empty_table_still_has_its_header():
    assert to_csv_bytes(pd.DataFrame({"workspace": [], "waba": []})) == b"workspace,waba\n"


def test_json_is_an_array_of_rows_with_exact_values_and_iso_times():
    frame = pd.DataFrame(
        {
            "display_name": ["=HYPERLINK(1)", "Café"],
            "daily_limit": [1000, None],
            "updated_at": pd.Series([datetime(2026, 3, 1, 9, 30, tzinfo=UTC), None], dtype="datetime64[us, UTC]"),
        }
    )

    records = json.loads(to_json_bytes(frame).decode("utf-8"))

    assert records == [
        {"display_name": "=HYPERLINK(1)", "daily_limit": 1000, "updated_at": "2026-03-01T09:30:00+00:00"},
        {"display_name": "Café", "daily_limit": None, "updated_at": None},
    ]


@pytest.mark.parametrize("fmt", ["csv", "json"])
@pytest.mark.parametrize("rows", [0, 1, 3], ids=["empty", "one-row", "three-rows"])
def test_every_export_ends_with_exactly_one_newline(fmt, rows):
    frame = pd.DataFrame({"waba": [f"WABA {i}" for i in range(rows)], "numbers": list(range(rows))})

    data = export_bytes(frame, fmt)

    assert data.endswith(b"\n")
    assert not data.endswith(b"\n\n")


def test_an_empty_table_is_an_empty_json_array():
    assert to_json_bytes(pd.DataFrame({"workspace": [], "waba": []})) == b"[]\n"
