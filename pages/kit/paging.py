"""Long tables a page at a time: the browser gets one page of rows, with a page control beside the table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import pandas as pd
import pyarrow as pa
import streamlit as st

TABLE_PAGE_SIZE = 100  # rows a long table sends to the browser at a time
Rows = TypeVar("Rows", pd.DataFrame, pa.Table)


@dataclass(frozen=True)
class TablePage(Generic[Rows]):
    rows: Rows  # the rows of this page, to draw
    number: int  # 1-based
    first: int  # position of its first row in the whole table

    @property
    def described(self) -> str:
        return f"rows {self.first + 1:,}–{self.first + len(self.rows):,} shown" if len(self.rows) else "no row shown"


def table_page(
    frame: Rows,
    key: str,
    rows_key: str,
    where: Any,
    *,
    linked_row: int | None = None,
    size: int = TABLE_PAGE_SIZE,
) -> TablePage[Rows]:
    """One page of a long table, with its page control drawn in `where`: the browser gets `size` rows, not all.

    Other rows (`rows_key` changed: filters, picks) start again on the first page, or on the page of
    `linked_row` (a row a link points to)."""
    pages = max(1, -(-len(frame) // size))
    if st.session_state.get(f"{key}_rows") != rows_key or key not in st.session_state:
        st.session_state[f"{key}_rows"] = rows_key
        st.session_state[key] = 1 if linked_row is None else linked_row // size + 1
    st.session_state[key] = min(max(1, int(st.session_state[key])), pages)
    number = where.number_input(f"Page (of {pages:,})", min_value=1, max_value=pages, step=1, key=key)
    first = (number - 1) * size
    rows = frame.slice(first, size) if isinstance(frame, pa.Table) else frame.iloc[first : first + size]
    return TablePage(rows, number, first)


def row_of(frame: pd.DataFrame, column: str, value: object) -> int | None:
    """Position of the first row whose `column` holds `value` (None: no such row)."""
    if value is None:
        return None
    hits = (frame[column] == value).to_numpy().nonzero()[0]
    return int(hits[0]) if len(hits) else None


def page_of_long_table(frame: Rows, key: str, rows_key: str) -> TablePage[Rows]:
    """The rows to draw of a table that grows with the fleet: all of them when they fit on one page; else one page,
    with a caption and the page control drawn above the table."""
    if len(frame) <= TABLE_PAGE_SIZE:
        return TablePage(frame, 1, 0)
    counted, page_choice = st.columns([4, 1], vertical_alignment="center")
    page = table_page(frame, key, rows_key, page_choice)
    counted.caption(f"{page.described.capitalize()}, of {len(frame):,}.")
    return page
