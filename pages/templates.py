"""Templates: message templates per WABA, and the numbers that share each one."""

from __future__ import annotations

import streamlit as st

from core.reads.frame import with_international_numbers
from core.reads.numbers import NumberFilters
from pages.kit import arrow_tables, downloads, paging, reads, shell, tables, text

shell.page_header("Templates", "A message template belongs to a WABA and every number of that WABA can send it.")
if shell.empty_fleet_notice():
    st.stop()

wabas = zip(*arrow_tables.column_lists(reads.wabas, "waba_id", "waba", "workspace"), strict=True)
waba_labels = {waba_id: f"{name} — {workspace}" for waba_id, name, workspace in wabas}
chosen = st.multiselect(
    "Show WABAs", list(waba_labels), key="templates_waba", format_func=waba_labels.__getitem__, placeholder="All"
)
COLUMNS = [
    *("workspace", "waba", "template", "language", "category", "status", "quality_score", "shared_by_numbers"),
    *("status_reason", "status_since", "previous_category"),
]
templates = arrow_tables.shown(reads.templates, COLUMNS, ["quality_score"], waba_ids=tuple(chosen))
if not templates.num_rows:
    st.info(
        "No message template yet. Templates come from Meta: import them on the **Import** page "
        "(Graph API listings or template webhooks).",
        icon=":material/info:",
    )
    st.stop()

st.caption(f"{text.count(templates.num_rows, 'template')}. Select a row to see the numbers that share it.")
rows_key = tables.content_key("templates", chosen)
page = paging.page_of_long_table(templates, "templates_page", rows_key)
picked = tables.table(
    page.rows,
    f"templates_table_p{page.number}",  # a selection is a row position: one table widget per page
    COLUMNS,
    {
        "shared_by_numbers": st.column_config.NumberColumn("Shared by numbers", help="Active numbers of the WABA"),
        "status_reason": st.column_config.TextColumn("Reason", help="Why Meta rejected, paused or disabled it"),
        "status_since": tables.when_column("Status since"),
        "previous_category": "Previous category",
    },
    tags=["quality_score"],
    box="templates_table_box",
    on_select="rerun",
    selection_mode="single-row",
)
csv_column, json_column = st.columns(2)
with csv_column:
    downloads.csv_download(
        "Download templates (CSV)",
        reads.templates(waba_ids=tuple(chosen)),
        file_name=downloads.export_file_name("templates"),
        key="templates_csv",
        rows_key=rows_key,
    )
with json_column:
    downloads.json_download(
        "Download templates (JSON)",
        reads.templates(waba_ids=tuple(chosen)),
        file_name=downloads.export_file_name("templates", "json"),
        key="templates_json",
        rows_key=rows_key,
    )
if picked.selection.rows:
    template = reads.templates(waba_ids=tuple(chosen)).iloc[page.first + picked.selection.rows[0]]
    st.subheader(text.literal(f"Numbers that can send '{template['template']}' ({template['language']})"))
    numbers = reads.numbers(filters=NumberFilters(waba_ids=(template["waba_id"],), include_archived=False))
    tables.table(
        with_international_numbers(numbers),
        "templates_numbers",
        [
            "phone_international",
            "display_name",
            "subscription_group",
            "quality_rating",
            "status",
            "messaging_limit_tier",
        ],
        tags=["quality_rating", "status"],
    )
