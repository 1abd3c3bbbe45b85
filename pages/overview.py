"""Overview: capacity per workspace and WABA, fleet health, and what needs attention now."""

from __future__ import annotations

import streamlit as st

from core import model
from core.reads.accounts import waba_capacity
from core.reads.frame import with_international_numbers
from core.reads.numbers import health_counts
from pages.charts_section import render_overview_charts
from pages.kit import filter_state, paging, reads, shell, tables

shell.page_header("Overview", "Capacity, health and the numbers that need attention, across every workspace.")
if shell.empty_fleet_notice():
    st.page_link("pages/accounts.py", label="Go to Accounts", icon=":material/arrow_forward:")
    st.stop()

numbers = reads.numbers()
workspaces = reads.workspaces()
wabas = waba_capacity(reads.wabas())
at_risk = reads.at_risk()
low_portfolios = reads.low_limit_portfolios()

totals = st.columns(5)
totals[0].metric("Workspaces", len(workspaces))
totals[1].metric("Active WABAs", int(workspaces["wabas"].sum()))
totals[2].metric("Active numbers", int(workspaces["active_numbers"].sum()))
totals[3].metric("Numbers at risk", len(at_risk))
totals[4].metric("Portfolios with a low limit", len(low_portfolios))

open_alerts = reads.alerts(open_only=True, limit=50)
if not open_alerts.empty:
    st.subheader("Open alerts")
    tables.table(
        open_alerts,
        "overview_open_alerts",
        ["rule", "subject", "before_value", "after_value", "since", "acknowledged_by"],
        {
            "rule": "Rule",
            "subject": "About",
            "before_value": "Before",
            "after_value": "Now",
            "since": tables.when_column("Since"),
            "acknowledged_by": "Acknowledged by",
        },
    )
    st.page_link("pages/alerts.py", label="Go to Alerts", icon=":material/notifications:")

st.subheader("Capacity per workspace")
tables.table(
    workspaces,
    "overview_workspaces",
    ["workspace", "portfolios", "wabas", "active_numbers", "number_capacity", "number_headroom"],
    {
        "wabas": tables.used_of("WABAs used", model.MAX_WABAS_PER_WORKSPACE),
        "number_capacity": st.column_config.NumberColumn(
            "Number slots", help=f"{model.MAX_NUMBERS_PER_WABA} per active WABA"
        ),
        "number_headroom": "Free number slots",
    },
)

st.subheader("Capacity per WhatsApp Business Account")
waba_page = paging.page_of_long_table(wabas, "overview_wabas_page", "wabas")
tables.table(
    waba_page.rows,
    "overview_wabas",
    ["workspace", "waba", "portfolio", "active_numbers", "free_slots", "templates"],
    {
        "active_numbers": tables.used_of("Numbers used", model.MAX_NUMBERS_PER_WABA),
        "free_slots": "Free slots",
    },
)

st.subheader("Health of active numbers")
by_quality, by_status = st.columns(2)
with by_quality:
    quality_counts = health_counts(numbers, "quality_rating", list(model.QualityRating))
    tables.table(quality_counts, "overview_by_quality", ["quality_rating", "numbers"], tags=["quality_rating"])
with by_status:
    status_counts = health_counts(numbers, "status", list(model.NumberStatus))
    tables.table(status_counts, "overview_by_status", ["status", "numbers"], tags=["status"])
render_overview_charts(numbers, "overview", data_key="all")

st.subheader("At-risk numbers")
if at_risk.empty:
    st.success("No number is at risk: every active number has a sound quality rating and status.")
else:
    explained, page_choice = st.columns([4, 1], vertical_alignment="center")
    explained.caption(
        f"{model.at_risk_definition()}, worst first. **Select a row to open the number** on the Numbers page."
    )
    page = paging.table_page(at_risk, "overview_at_risk_page", "at_risk", page_choice)
    picked = tables.table(
        with_international_numbers(page.rows),
        f"overview_at_risk_p{page.number}",  # a selection is a row position: one table widget per page
        ["phone_international", "display_name", "quality_rating", "status", "reason", "waba", "workspace"],
        {"reason": "Why"},
        tags=["quality_rating", "status"],
        box="overview_at_risk_box",
        on_select="rerun",
        selection_mode="single-row",
    )
    if picked.selection.rows:
        phone = page.rows.iloc[picked.selection.rows[0]]["phone_e164"]
        st.switch_page("pages/numbers.py", query_params={"phone": phone})

st.subheader("Portfolios whose shared messaging limit is low")
if low_portfolios.empty:
    st.success(f"Every portfolio's shared limit leaves at least {model.LOW_LIMIT_PER_SENDER} conversations per sender.")
else:
    st.caption(
        f"Fewer than {model.LOW_LIMIT_PER_SENDER} daily conversations per sender. "
        "**Select a row to see the portfolio's numbers.**"
    )
    picked_portfolio = tables.table(
        low_portfolios,
        "overview_low_portfolios",
        ["portfolio", "portfolio_id", "messaging_limit", "active_numbers", "daily_limit_per_sender"],
        {
            "active_numbers": "Senders",
            "daily_limit_per_sender": st.column_config.NumberColumn("Daily limit per sender", format="%.0f"),
        },
        on_select="rerun",
        selection_mode="single-row",
    )
    if picked_portfolio.selection.rows:
        portfolio_id = low_portfolios.iloc[picked_portfolio.selection.rows[0]]["portfolio_id"]
        st.session_state[filter_state.NUMBER_FILTERS] = {"portfolio_ids": [portfolio_id]}
        st.switch_page("pages/numbers.py")
