"""Ecosystem: workspaces ↔ business portfolios ↔ WABAs ↔ numbers and their subscription groups, live from the
database. The DOT text is built in core.diagram; this page only picks the scope and places it."""

from __future__ import annotations

import streamlit as st

from core import diagram, model
from core.palette import AT_RISK_MARK, QUALITY_ORDER, quality_label
from core.wording import count
from pages.kit import downloads, reads, shell

shell.page_header(
    "Ecosystem",
    "Workspaces, the business portfolios connected to them, their WhatsApp Business Accounts and sender numbers.",
)
if shell.empty_fleet_notice():
    st.stop()

fleet = reads.ecosystem()
suggested = diagram.default_scope(fleet)
workspaces = list(fleet.workspaces["workspace"])
portfolio_names = dict(zip(fleet.portfolios["portfolio_id"], fleet.portfolios["portfolio"], strict=True))
scope_kinds = {"everything": "Everything", "workspace": "One workspace", "portfolio": "One portfolio"}
FIT_WIDTH = 100
ZOOMS = {FIT_WIDTH: "Fit width", 150: "150 %", 200: "200 %", 300: "300 %"}  # % of the page's width
ZOOMED_FRAME_HEIGHT = 700  # pixels: both scroll bars of a zoomed diagram stay in view


def zoom_style(percent: int) -> str:
    """The diagram drawn at `percent` of the frame's width, scrolling inside it (Streamlit keeps every element
    within its parent's width, so only a style rule widens it); fullscreen still fits it to the screen."""
    drawing = (
        '.st-key-ecosystem_zoomed:not(:has([aria-label="Close fullscreen"])) [data-testid="stGraphVizChart"] > svg'
    )
    return f"<style>{drawing} {{ width: {percent}%; max-width: none; }}</style>"


# Wide enough for the three scope choices on one line.
kind_column, subject_column, archived_column = st.columns([4, 4, 2], vertical_alignment="bottom")
kind = kind_column.radio(
    "Scope",
    list(scope_kinds),
    index=list(scope_kinds).index(suggested.kind),
    format_func=scope_kinds.__getitem__,
    horizontal=True,
    key="ecosystem_scope_kind",
)
scope = diagram.EVERYTHING
if kind == "workspace":
    chosen = subject_column.selectbox("Workspace", workspaces, key="ecosystem_workspace")
    scope = diagram.Scope("workspace", chosen or "")
elif kind == "portfolio":
    chosen = subject_column.selectbox(
        "Business portfolio",
        list(portfolio_names),
        format_func=lambda pid: f"{portfolio_names[pid]} ({pid})",
        key="ecosystem_portfolio",
    )
    scope = diagram.Scope("portfolio", chosen or "")
show_archived = archived_column.checkbox(
    "Show archived groups", key="ecosystem_show_archived", help="Archived subscription groups and WABAs, dashed"
)
if suggested.kind != "everything":
    st.caption(
        f"The fleet has {len(fleet.wabas):,} WABAs, so the diagram opens on one workspace; "
        "'Everything' draws them all (slow to lay out in the browser)."
    )

plan = diagram.build_diagram(fleet, scope, show_archived=show_archived)
waba_names = dict(zip(fleet.wabas["waba_id"], fleet.wabas["waba"], strict=True))
expanded = st.multiselect(
    "Show each number of these WABAs",
    list(plan.collapsible),
    format_func=lambda wid: f"{waba_names.get(wid, wid)} ({wid})",
    key="ecosystem_expanded",
    help=(
        f"A WABA with more than {diagram.NUMBERS_PER_WABA_SHOWN} numbers, or every WABA when more than "
        f"{diagram.NUMBERS_IN_VIEW_SHOWN} numbers are in view, is drawn as one summary node with counts by quality."
    ),
    placeholder="Collapsed WABAs" if plan.collapsible else "No WABA is collapsed",
    disabled=not plan.collapsible,
)
drawn = diagram.build_diagram(fleet, scope, show_archived=show_archived, expanded=expanded) if expanded else plan
counts = drawn.counts
counts_column, zoom_column = st.columns([3, 2], vertical_alignment="bottom")
counts_column.caption(
    " · ".join(
        [
            count(counts["workspaces"], "workspace"),
            count(counts["portfolios"], "business portfolio"),
            count(counts["wabas"], "WABA"),
            count(counts["numbers"], "number"),
            *([f"{count(len(drawn.collapsed), 'WABA')} collapsed"] if drawn.collapsed else []),
        ]
    )
)
zoom = zoom_column.segmented_control(
    "Zoom",
    list(ZOOMS),
    format_func=ZOOMS.__getitem__,
    default=FIT_WIDTH,
    required=True,
    key="ecosystem_zoom",
    persist_state="session",
    help="Draws the diagram wider than the page, to read its text; it then scrolls inside its own frame.",
)
if zoom == FIT_WIDTH:
    st.graphviz_chart(drawn.dot, width="stretch")
else:
    with st.container(height=ZOOMED_FRAME_HEIGHT, border=False, key="ecosystem_zoomed"):
        st.html(zoom_style(zoom))
        st.graphviz_chart(drawn.dot, width="stretch")
st.caption(
    "Number colours: "
    + " · ".join(quality_label(quality) for quality in QUALITY_ORDER)
    + f" — the rating is also written in each node. {AT_RISK_MARK} marks an at-risk status "
    f"({', '.join(sorted(model.AT_RISK_STATUS))}). Workspaces show WABAs used of {model.MAX_WABAS_PER_WORKSPACE}, "
    f"WABAs numbers used of {model.MAX_NUMBERS_PER_WABA}."
)

downloads.diagram_downloads(drawn.dot)
