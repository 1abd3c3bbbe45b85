"""Live sync (admins): Meta's webhooks as the receiver stored them and the worker applied them; failed deliveries
with their error, and a retry."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from core import inbox
from core.reads import live_sync
from pages.kit import acting_user, database, feedback, forms, shell, tables

shell.page_header(
    "Live sync",
    "Meta's webhooks: the receiver stores each delivery, the worker applies it within seconds. Counts refresh by "
    "themselves.",
)
shell.admins_only("Live sync")


@st.fragment(run_every=2)
def inbox_state() -> None:
    counts = live_sync.inbox_counts(database.engine())
    received, applied, waiting, failed = st.columns(4)
    received.metric("Received", f"{counts.received:,}", help="Deliveries in the inbox (applied ones are pruned later)")
    applied.metric("Applied", f"{counts.applied:,}")
    waiting.metric("Waiting", f"{counts.pending:,}", help=f"{counts.retrying:,} of them after a failed attempt")
    failed.metric("Failed", f"{counts.failed:,}", help="Gave up after the last attempt: retry them below")
    if counts.received == 0:
        st.info(
            "No webhook received yet. Run `python -m core serve-webhooks` and `python -m core worker`, then point "
            "Meta's webhook settings at the receiver (see the README).",
            icon=":material/info:",
        )
    elif counts.pending:
        waited = live_sync.age(counts.oldest_pending, datetime.now(UTC))
        st.caption(f"Oldest waiting delivery received {waited} ago. Is `python -m core worker` running?")

    activity = live_sync.waba_activity_table(database.engine())
    if not activity.empty:
        st.subheader("Latest event per WABA")
        tables.table(
            activity,
            "live_sync_wabas",
            ["waba", "meta_waba_id", "last_event_at", "last_applied_at"],
            {
                "waba": "WABA",
                "meta_waba_id": "Meta WABA id",
                "last_event_at": tables.when_column("Last event (Meta's time)", "YYYY-MM-DD HH:mm:ss"),
                "last_applied_at": tables.when_column("Applied", "YYYY-MM-DD HH:mm:ss"),
            },
        )


inbox_state()

troubled = live_sync.troubled_deliveries_table(database.engine())
if not troubled.empty:
    st.subheader("Failed and retrying deliveries")
    tables.table(
        troubled,
        "live_sync_failed",
        ["delivery", "state", "attempts", "received_at", "next_attempt_at", "size", "last_error"],
        {
            "delivery": "Delivery",
            "attempts": "Attempts",
            "received_at": tables.when_column("Received", "YYYY-MM-DD HH:mm:ss"),
            "next_attempt_at": tables.when_column("Next attempt", "YYYY-MM-DD HH:mm:ss"),
            "size": st.column_config.NumberColumn("Bytes"),
            "last_error": st.column_config.TextColumn("Error", width="large"),
        },
    )
    feedback.outcome_here("retry_delivery")
    chosen = st.selectbox("Delivery", troubled["delivery"].tolist(), index=None, key="retry_delivery_id")
    if chosen is not None:
        with st.expander(f"Delivery {chosen} as Meta sent it"):
            st.code(live_sync.delivery_text(database.engine(), int(chosen)), language="json", wrap_lines=True)
    if st.button("Retry now", type="primary", icon=":material/replay:", key="retry_delivery"):
        with feedback.fleet_errors():
            delivery = int(forms.chosen(None if chosen is None else str(chosen), "a delivery"))
            inbox.retry_delivery(database.engine(), acting_user.current_actor(), delivery)
            feedback.succeed(
                f"Delivery {delivery} is waiting again; the worker applies it on its next pass.", where="retry_delivery"
            )
else:
    feedback.outcome_here("retry_delivery")  # the retry of the last failed delivery is confirmed here
    st.caption("No failed delivery.")
