"""Read-only tables: one label per column name on every page, coloured tags that keep their text, and widget keys
that change with what a table shows."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pandas as pd
import pyarrow as pa
import streamlit as st

from core.palette import QUALITY_COLORS, STATUS_COLORS  # the app's one colour scheme (with text labels)
from pages.kit import paging
from pages.kit.arrow_tables import shown, shown_columns


def when_column(label: str, fmt: str = "YYYY-MM-DD HH:mm") -> Any:
    return st.column_config.DatetimeColumn(label, format=fmt)


def used_of(label: str, cap: int) -> Any:
    """A count drawn as a bar against its cap: 'Numbers (of 20)'."""
    return st.column_config.ProgressColumn(f"{label} (of {cap})", format="%d", min_value=0, max_value=cap)


def _tags(label: str, palette: Mapping[str, str]) -> Any:
    """Coloured cells that keep their text label: a one-tag list per cell (see `arrow_tables.shown_columns`)."""
    return st.column_config.MultiselectColumn(label, options=list(palette), color=list(palette.values()))


# One label per column name, so a column reads the same on every page.
COLUMNS: dict[str, Any] = {
    "workspace": "Workspace",
    "portfolio": "Portfolio",
    "portfolio_id": "Meta business id",
    "waba": "WABA",
    "waba_id": "Meta WABA id",
    "subscription_group": "Subscription group",
    "group_state": "Group state",
    "phone_e164": "E.164",
    "phone_international": st.column_config.TextColumn("Number", pinned=True),
    "display_name": "Display name",
    "status": _tags("Status", STATUS_COLORS),
    "quality_rating": _tags("Quality", QUALITY_COLORS),
    "quality_score": _tags("Quality", QUALITY_COLORS),
    "messaging_limit_tier": st.column_config.TextColumn("Own tier", help="The number's own messaging-limit tier"),
    "portfolio_messaging_limit": st.column_config.TextColumn(
        "Portfolio limit", help="Shared by every number of the business portfolio (since October 2025)"
    ),
    "messaging_limit": "Shared messaging limit",
    "name_status": "Name status",
    "health_status": st.column_config.TextColumn(
        "Can send", help="Meta's health_status: AVAILABLE, LIMITED (see the errors in the export) or BLOCKED"
    ),
    "updated_at": when_column("Last change"),
    "created_at": when_column("Created", "YYYY-MM-DD"),
    "archived_at": when_column("Archived"),
    "unknown_values": st.column_config.TextColumn("Unknown values", help="Values from Meta that are new to us"),
    "active_numbers": "Active numbers",
    "templates": "Templates",
    "wabas": "WABAs",
    "portfolios": "Portfolios",
    "numbers": "Numbers",
    "template": "Template",
    "language": "Language",
    "category": "Category",
    "state": "State",
}
UNTAGGED = {"status": "Status", "quality_rating": "Quality", "quality_score": "Quality"}


def table(
    source: pd.DataFrame | pa.Table | Callable[[], pd.DataFrame],
    key: str,
    columns: list[str],
    labels: Mapping[str, Any] | None = None,
    *,
    tags: Iterable[str] = (),
    box: str | None = None,
    **options: Any,
) -> Any:
    """A read-only table of `columns` in that order, labelled from COLUMNS (or `labels`), `tags` coloured,
    inside a container keyed `box` (default `<key>_box`).

    `source` is a DataFrame, a cached read (`table(reads.wabas, …)`), or what `arrow_tables.shown` made of one:
    the Arrow table sent to the browser is then kept with the read, so a rerun neither copies the DataFrame out
    of the cache nor converts it again."""
    tags = [column for column in tags if column in columns]
    if callable(source):
        source = shown(source, columns, tags)
    arrow = source if isinstance(source, pa.Table) else shown_columns(source, columns, tags)
    config = {column: COLUMNS[column] for column in columns if column in COLUMNS}
    config.update({column: UNTAGGED[column] for column in columns if column in UNTAGGED and column not in tags})
    config.update(labels or {})
    # The keyed box lets tests and browser checks find a table by name (a plain dataframe drops its key).
    with st.container(key=box or f"{key}_box"):
        return st.dataframe(
            arrow, hide_index=True, key=key, column_order=columns, column_config=config, placeholder="—", **options
        )


def long_table(
    read: Callable[[], pd.DataFrame], key: str, columns: list[str], labels: Mapping[str, Any] | None = None
) -> Any:
    """A read-only table of a cached read that grows with the fleet: 100 rows at a time, with a page control when
    they do not fit on one page (its key: `<key>_page`)."""
    page = paging.page_of_long_table(shown(read, columns), f"{key}_page", key)
    return table(page.rows, key, columns, labels)


ROW_HEIGHT_PX = 35  # Streamlit's data grid: one row, and the header row


def fitted_height(rows: int, most: int) -> int:
    """A table's height in pixels for `rows` rows: no empty frame under a short table, a scroll past `most`."""
    return min(most, (rows + 1) * ROW_HEIGHT_PX + 3)  # + the grid's borders


def content_key(prefix: str, *shown: Any) -> str:
    """A widget key that changes with what the widget shows. A table's row selection is a row position: another
    set of rows (other filters) gets another table widget, where nothing stale is selected."""
    return f"{prefix}_{hashlib.sha1(repr(shown).encode()).hexdigest()[:10]}"
