"""Audit log (admins): who changed what and when, filterable and exportable."""

from __future__ import annotations

from datetime import UTC, datetime, time

import streamlit as st

from pages.kit import downloads, reads, shell, tables, text

shell.page_header("Audit log", "Every write, newest first: when, who, what action, which object, before and after.")
shell.admins_only("The audit log")

choices = reads.audit_options()
actor_col, type_col, since_col = st.columns(3)
actor = actor_col.selectbox("User", choices["actors"], index=None, key="audit_actor", placeholder="All")
object_type = type_col.selectbox(
    "Object type", choices["object_types"], index=None, key="audit_object_type", placeholder="All"
)
since_day = since_col.date_input("Since", value=None, key="audit_since", format="YYYY-MM-DD")
since = datetime.combine(since_day, time.min, tzinfo=UTC) if since_day else None
entries = reads.audit_log(actor=actor or "", object_type=object_type or "", since=since)

if entries.empty:
    st.info(
        "No audit entry matches. Every change made in the app, the CLI or an import is recorded here.",
        icon=":material/info:",
    )
    st.stop()

counted, csv_col, json_col = st.columns([4, 1, 1], vertical_alignment="center")
counted.caption(
    f"{text.count(len(entries), 'entry', 'entries')} (the newest 5,000 at most: narrow the filters, or export "
    "everything with `python -m core export audit`)."
)
rows_key = tables.content_key("audit", actor, object_type, since)
with csv_col:
    downloads.csv_download(
        "Download CSV",
        entries,
        file_name=downloads.export_file_name("audit"),
        key="audit_download_csv",
        rows_key=rows_key,
    )
with json_col:
    downloads.json_download(
        "Download JSON",
        entries,
        file_name=downloads.export_file_name("audit", "json"),
        key="audit_download_json",
        rows_key=rows_key,
    )
tables.table(
    entries,
    "audit_table",
    ["at", "actor", "action", "object_type", "object_key", "before", "after"],
    {
        "at": tables.when_column("When", "YYYY-MM-DD HH:mm:ss"),
        "actor": "User",
        "action": "Action",
        "object_type": "Object type",
        "object_key": "Object",
        "before": st.column_config.JsonColumn("Before"),
        "after": st.column_config.JsonColumn("After"),
    },
)
