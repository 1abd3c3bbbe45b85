"""Numbers: the health table of every sender number, filtered on the server, a number's detail, and CSV export."""

from __future__ import annotations

from functools import partial

import streamlit as st

from core.model import format_international
from core.reads.frame import with_international_numbers
from core.reads.numbers import NUMBER_EXPORT_COLUMNS, NumberFilters, health_error_lines
from pages.charts_section import chart_selection, render_numbers_charts
from pages.kit import arrow_tables, downloads, filter_state, paging, reads, shell, tables, text

FILTERS = filter_state.NUMBER_FILTERS
TABLE = "numbers_table"
TABLE_COLUMNS = [
    *("phone_international", "display_name", "quality_rating", "status", "health_status", "messaging_limit_tier"),
    *("portfolio_messaging_limit", "name_status", "waba", "subscription_group", "group_state"),
    *("workspace", "portfolio", "phone_e164", "updated_at", "unknown_values"),
]
LIST_FILTERS = [
    ("Workspace", "workspaces"),
    ("Portfolio", "portfolio_ids"),
    ("WhatsApp Business Account", "waba_ids"),
    ("Status", "statuses"),
    ("Quality rating", "qualities"),
    ("Messaging limit tier", "tiers"),
]
DETAIL_METRICS = {
    "Quality rating": "quality_rating",
    "Status": "status",
    "Own tier": "messaging_limit_tier",
    "Portfolio limit": "portfolio_messaging_limit",
    "Can send": "health_status",
}

shell.page_header("Numbers", "Every sender number with its quality, status and messaging limits.")
if shell.empty_fleet_notice():
    st.stop()

options = reads.filter_options()
portfolio_names = dict(zip(*arrow_tables.column_lists(reads.portfolios, "portfolio_id", "portfolio"), strict=True))
waba_names = dict(zip(*arrow_tables.column_lists(reads.wabas, "waba_id", "waba"), strict=True))


def _close_detail(key: str) -> None:
    st.query_params.pop("phone", None)
    st.session_state[key] = {"selection": {"rows": [], "columns": [], "cells": []}}


def named_choice(names: dict[str, str] | None, value: str) -> str:
    """A filter's choice as shown: 'Acme Europe (102938475610)' for ids with a name, else the value itself."""
    return f"{names.get(value, value)} ({value})" if names else value


def filter_bar() -> NumberFilters:
    names = {"portfolio_ids": portfolio_names, "waba_ids": waba_names}
    chosen: dict[str, object] = {}
    for cell, (label, field) in zip([*st.columns(3), *st.columns(3)], LIST_FILTERS, strict=True):
        chosen[field] = tuple(
            cell.multiselect(
                label,
                options[field],
                placeholder="All",
                format_func=partial(named_choice, names.get(field)),
                **filter_state.persisted(FILTERS, field, [], options[field]),
            )
        )
    search_col, archived_col, clear_col = st.columns([4, 2, 1], vertical_alignment="bottom")
    chosen["search"] = search_col.text_input(
        "Search",
        placeholder="Display name, group, WABA or digits of the number",
        **filter_state.persisted(FILTERS, "search", ""),
    )
    chosen["include_archived"] = archived_col.toggle(
        "Include archived groups", **filter_state.persisted(FILTERS, "include_archived", True)
    )
    clear_col.button("Clear filters", key="numbers_clear_filters", on_click=filter_state.forget, args=(FILTERS,))
    return NumberFilters(**chosen)  # type: ignore[arg-type]


def followed_selection(rows: list[int], phones: tuple[str, ...], linked: str | None) -> str | None:
    """The selected number goes into the URL (?phone=…), so a number's detail can be linked to and shared.

    A linked number is pre-selected when the table shows it; an empty selection of a shown number means the user
    cleared it. A linked number the filters hide keeps its detail open.
    """
    if rows:
        st.query_params["phone"] = phones[rows[0]]
        return phones[rows[0]]
    if linked in phones:
        st.query_params.pop("phone", None)
        return None
    return linked


def number_detail(phone: str, key: str) -> None:
    found = reads.numbers(filters=NumberFilters(search=phone))
    found = found[found["phone_e164"] == phone]
    if found.empty:
        st.warning(f"Number {text.literal(phone)} is not in the fleet.")
        return
    number = found.iloc[0]
    st.subheader(text.literal(f"{format_international(phone)} — {number['display_name'] or 'no display name'}"))
    st.caption(
        text.literal(
            f"Subscription group '{number['subscription_group']}' ({number['group_state']}) · WABA {number['waba']} · "
            f"workspace {number['workspace']} · portfolio {number['portfolio']}"
        )
    )
    for column, (label, field) in zip(st.columns(len(DETAIL_METRICS)), DETAIL_METRICS.items(), strict=True):
        column.metric(label, number[field] or "—")
    for line in health_error_lines(number["health_errors"]):
        st.warning(text.literal(line), icon=":material/block:")
    history, templates = st.columns(2)
    with history:
        st.markdown("**History of quality, tier and status changes**")
        tables.table(
            reads.history(e164s=(phone,)).sort_values("recorded_at", ascending=False),
            "numbers_detail_history",
            ["recorded_at", "quality_rating", "messaging_limit_tier", "status", "source"],
            {"recorded_at": tables.when_column("When"), "messaging_limit_tier": "Tier", "source": "Source"},
            tags=["quality_rating", "status"],
        )
    with templates:
        st.markdown(f"**Templates this number can use** (shared by every number of {text.literal(number['waba'])})")
        tables.table(
            reads.templates(waba_ids=(number["waba_id"],)),
            "numbers_detail_templates",
            ["template", "language", "category", "status", "quality_score"],
            tags=["quality_score"],
        )
    st.button("Close detail", key="numbers_close_detail", on_click=_close_detail, args=(key,))


filters = filter_bar()
in_filters = reads.numbers(filters=filters)
filters_key = tables.content_key(TABLE, filters)
chart_picks = chart_selection(in_filters, "numbers")  # bars clicked in the charts below narrow the table
table = in_filters if chart_picks is None else in_filters[in_filters["phone_e164"].isin(chart_picks)]
rows_key = tables.content_key(TABLE, filters, sorted(chart_picks) if chart_picks is not None else None)
selected_phone = st.query_params.get("phone")
counted, page_choice, download = st.columns([3, 1, 1], vertical_alignment="center")
page = paging.table_page(
    table, "numbers_page", rows_key, page_choice, linked_row=paging.row_of(table, "phone_e164", selected_phone)
)
shown_key = f"{rows_key}_p{page.number}"  # a selection is a row position: one table widget per page
phones = tuple(page.rows["phone_e164"])
matching = text.count(len(table), "number") + (
    " shown" if len(page.rows) == len(table) else f" match, {page.described}"
)
counted.caption(f"{matching}. Select a row to see its history and templates.")
with download:
    downloads.csv_download(
        "Download CSV",
        table,
        file_name=downloads.export_file_name("numbers"),
        key="numbers_download_csv",
        columns=NUMBER_EXPORT_COLUMNS,
        rows_key=rows_key,
    )
picked = tables.table(
    with_international_numbers(page.rows),
    shown_key,
    TABLE_COLUMNS,
    box=f"{TABLE}_box",
    tags=["quality_rating", "status"],
    height=tables.fitted_height(len(page.rows), most=460),
    on_select="rerun",
    selection_mode="single-row",
    selection_default={"selection": {"rows": [phones.index(selected_phone)]}} if selected_phone in phones else None,
)
selected_phone = followed_selection(picked.selection.rows, phones, selected_phone)
if selected_phone:
    number_detail(selected_phone, shown_key)
render_numbers_charts(in_filters, "numbers", data_key=filters_key)
