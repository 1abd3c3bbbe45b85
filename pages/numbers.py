"""Numbers: the health table of every sender number, filtered on the server, a number's detail, and CSV export."""

from __future__ import annotations

import streamlit as st

from core.queries import NUMBER_EXPORT_COLUMNS, NumberFilters
from pages import common
from pages.charts_section import render_numbers_charts

FILTERS = "numbers_filters"
TABLE = "numbers_table"
TABLE_COLUMNS = [
    *("phone_international", "display_name", "quality_rating", "status", "messaging_limit_tier"),
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
DETAIL_METRICS = [
    ("Quality rating", "quality_rating"),
    ("Status", "status"),
    ("Own tier", "messaging_limit_tier"),
    ("Portfolio limit", "portfolio_messaging_limit"),
]

common.page_header("Numbers", "Every sender number with its quality, status and messaging limits.")
if common.empty_fleet_notice():
    st.stop()

options = common.read("filter_options")
portfolio_names = dict(common.read("portfolios")[["portfolio_id", "portfolio"]].itertuples(index=False))
waba_names = dict(common.read("wabas")[["waba_id", "waba"]].itertuples(index=False))


def _table_changed() -> None:
    st.session_state.pop(TABLE, None)  # a selection is a row position: it means another row once filters change


def _clear_filters() -> None:
    common.forget(FILTERS)
    _table_changed()


def filter_bar() -> NumberFilters:
    names = {"portfolio_ids": portfolio_names, "waba_ids": waba_names}
    chosen: dict[str, object] = {}
    for cell, (label, field) in zip([*st.columns(3), *st.columns(3)], LIST_FILTERS, strict=True):
        chosen[field] = tuple(
            cell.multiselect(
                label,
                options[field],
                placeholder="All",
                format_func=(lambda v, n=names.get(field): f"{n.get(v, v)} ({v})" if n else v),
                **common.persisted(FILTERS, field, [], options[field], then=_table_changed),
            )
        )
    search_col, archived_col, clear_col = st.columns([4, 2, 1], vertical_alignment="bottom")
    chosen["search"] = search_col.text_input(
        "Search",
        placeholder="Display name, group, WABA or digits of the number",
        **common.persisted(FILTERS, "search", "", then=_table_changed),
    )
    chosen["include_archived"] = archived_col.toggle(
        "Include archived groups", **common.persisted(FILTERS, "include_archived", True, then=_table_changed)
    )
    clear_col.button("Clear filters", key="numbers_clear_filters", on_click=_clear_filters)
    return NumberFilters(**chosen)  # type: ignore[arg-type]


def _follow_selection(phones: tuple[str, ...]) -> None:
    """The selected number goes into the URL (?phone=…), so a number's detail can be linked to and shared."""
    rows = st.session_state[TABLE].selection.rows
    if rows:
        st.query_params["phone"] = phones[rows[0]]
    else:
        st.query_params.pop("phone", None)


def number_detail(phone: str) -> None:
    found = common.read("numbers", filters=NumberFilters(search=phone))
    found = found[found["phone_e164"] == phone]
    if found.empty:
        st.warning(f"Number {phone} is not in the fleet.")
        return
    number = found.iloc[0]
    st.subheader(f"{number['phone_international']} — {number['display_name'] or 'no display name'}")
    st.caption(
        f"Subscription group '{number['subscription_group']}' ({number['group_state']}) · WABA {number['waba']} · "
        f"workspace {number['workspace']} · portfolio {number['portfolio']}"
    )
    now = st.columns(4)
    for column, (label, field) in zip(now, DETAIL_METRICS, strict=True):
        column.metric(label, number[field] or "—")
    history, templates = st.columns(2)
    with history:
        st.markdown("**History of quality, tier and status changes**")
        common.table(
            common.read("history", e164s=(phone,)).sort_values("recorded_at", ascending=False),
            "numbers_detail_history",
            ["recorded_at", "quality_rating", "messaging_limit_tier", "status", "source"],
            {"recorded_at": "When", "messaging_limit_tier": "Tier", "source": "Source"},
            tags=["quality_rating", "status"],
        )
    with templates:
        st.markdown(f"**Templates this number can use** (shared by every number of {number['waba']})")
        common.table(
            common.read("templates", waba_ids=(number["waba_id"],)),
            "numbers_detail_templates",
            ["template", "language", "category", "status", "quality_score"],
            {"template": "Template", "language": "Language", "category": "Category"},
            tags=["quality_score"],
        )
    st.button("Close detail", key="numbers_close_detail", on_click=lambda: st.query_params.pop("phone", None))


table = common.read("numbers", filters=filter_bar())
phones = tuple(table["phone_e164"])
selected_phone = st.query_params.get("phone")

counted, download = st.columns([3, 1], vertical_alignment="center")
counted.caption(f"{len(table)} numbers match the filters. Select a row to see its history and templates.")
with download:
    common.csv_download(
        "Download CSV",
        table,
        file_name=common.export_file_name("numbers"),
        key="numbers_download_csv",
        columns=NUMBER_EXPORT_COLUMNS,
    )
common.table(
    table,
    TABLE,
    TABLE_COLUMNS,
    tags=["quality_rating", "status"],
    height=460,
    on_select=lambda: _follow_selection(phones),
    selection_mode="single-row",
    selection_default={"selection": {"rows": [phones.index(selected_phone)]}} if selected_phone in phones else None,
)
if selected_phone:
    number_detail(selected_phone)
render_numbers_charts(table, "numbers")
