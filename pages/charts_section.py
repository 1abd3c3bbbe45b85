"""Chart blocks placed on the Overview and Numbers pages; data from core.reads.chart_data, figures from core.charts.

Both blocks follow the page's filters: they receive the numbers table the page shows. Clicking a bar of the
Numbers charts narrows the table: `chart_selection` reads those clicks (call it before drawing the table).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from core import charts
from core.reads import chart_data
from core.reads.history import fleet_quality_by_day
from core.wording import count
from pages.kit import acting_user, database, freshness, reads

HISTORY_WINDOWS = {"30 days": 30, "90 days": 90, "180 days": 180, "1 year": 365}
MAX_TRACED_NUMBERS = 8
MAX_TRACE_OPTIONS = 1000
PLOT_CONFIG: dict[str, object] = {"displaylogo": False}
# A chart's "download as PNG" is a download too: analysts and admins only.
READER_PLOT_CONFIG = {**PLOT_CONFIG, "modeBarButtonsToRemove": ["toImage"]}


def plot_config() -> dict[str, object]:
    return PLOT_CONFIG if acting_user.can_export() else READER_PLOT_CONFIG


@st.cache_data(show_spinner="Counting numbers by quality per day…", max_entries=32)
def _quality_by_day(url: str, fresh: str, days: int, numbers_key: str, _e164s: tuple[str, ...] | None) -> pd.DataFrame:
    return fleet_quality_by_day(database.engine_for(url), days=days, e164s=_e164s)


@st.cache_data(show_spinner=False, max_entries=64)
def _built_figure(url: str, fresh: str, data_key: str, chart: str, _build: Callable[[], go.Figure]) -> dict[str, Any]:
    return _build().to_dict()


def _figure(chart: str, data_key: str | None, build: Callable[[], go.Figure]) -> go.Figure:
    """A chart's figure, built once per set of numbers (`data_key` names it, e.g. the page's filters; None: no
    caching). A rerun reuses the figure, kept as a plain dict and wrapped again without a second validation."""
    if data_key is None:
        return build()
    return go.Figure(_built_figure(*freshness.read_key(), data_key, chart, build), _validate=False)


def _plot(figure: object, key: str, *, selectable: bool = False) -> None:
    if selectable:
        st.plotly_chart(figure, key=key, on_select="rerun", selection_mode=("points", "box"), config=plot_config())
    else:
        st.plotly_chart(figure, key=key, config=plot_config())


def _fleet_history(numbers: pd.DataFrame, key_prefix: str) -> None:
    window = st.segmented_control(
        "History window", list(HISTORY_WINDOWS), default="90 days", key=f"{key_prefix}_history_window"
    )
    days = HISTORY_WINDOWS.get(window or "90 days", 90)
    whole_fleet = len(numbers) >= reads.fleet_size()
    e164s = None if whole_fleet else tuple(sorted(numbers["phone_e164"]))
    numbers_key = "all" if e164s is None else hashlib.sha1("\n".join(e164s).encode()).hexdigest()
    per_day = _quality_by_day(*freshness.read_key(), days, numbers_key, e164s)
    scope = "every number" if whole_fleet else f"the {count(len(numbers), 'number')} in view"
    _plot(charts.fleet_quality_figure(per_day, f"Numbers by quality rating per day ({scope})"), f"{key_prefix}_fleet")


def render_overview_charts(numbers: pd.DataFrame, key_prefix: str = "overview", data_key: str | None = None) -> None:
    """Charts for the Overview page, from the numbers table (`data_key`: what those numbers are, see `_figure`)."""
    numbers = numbers[numbers["group_state"] == "active"]  # the Overview speaks of active senders
    if numbers.empty:
        return
    st.subheader("Quality and messaging limits of active numbers")
    built: dict[str, Callable[[], go.Figure]] = {
        "quality_by_portfolio": lambda: charts.quality_bars(
            chart_data.quality_counts(numbers, "portfolio"), "Quality rating per portfolio"
        ),
        "headroom": lambda: charts.headroom_bars(
            chart_data.portfolio_headroom(reads.portfolios(), set(numbers["portfolio_id"]))
        ),
        "quality_by_waba": lambda: charts.quality_bars(
            chart_data.quality_counts(numbers, "waba"), "Quality rating per WABA"
        ),
    }
    # Only the open tab's chart is built and drawn: each Plotly chart costs the browser a draw at every visit.
    tabs = st.tabs(
        ["Quality per portfolio", "Portfolio headroom", "Quality per WABA"],
        key=f"{key_prefix}_chart_tabs",
        on_change="rerun",
    )
    for tab, (chart, build) in zip(tabs, built.items(), strict=True):
        if tab.open:
            with tab:
                key = f"{key_prefix}_{chart}"
                _plot(_figure(key, data_key, build), key)
    # Counting the whole fleet per day reads its history: only when asked for (the rest of the page stays instant).
    with st.expander(
        "Quality over time", icon=":material/timeline:", key=f"{key_prefix}_history_open", on_change="rerun"
    ) as history:
        if history.open:
            _fleet_history(numbers, key_prefix)


def _generation_key(key_prefix: str) -> str:
    return f"{key_prefix}_charts_generation"


def _chart_keys(key_prefix: str) -> tuple[str, str]:
    generation = st.session_state.get(_generation_key(key_prefix), 0)
    return f"{key_prefix}_quality_by_waba_{generation}", f"{key_prefix}_headroom_{generation}"


def _points(key: str) -> list[dict[str, object]]:
    state = st.session_state.get(key)
    if not state:
        return []
    return list(state.get("selection", {}).get("points", []))


def chart_selection(numbers: pd.DataFrame, key_prefix: str = "numbers") -> frozenset[str] | None:
    """E.164 numbers picked by clicking bars of the Numbers charts (None: nothing clicked).

    Pass the same filtered table that `render_numbers_charts` gets; narrow only what the table shows.
    """
    waba_key, headroom_key = _chart_keys(key_prefix)
    picks: list[set[str]] = []
    segments = charts.selected_segments(_points(waba_key))
    if segments:
        grouped = chart_data.quality_counts(numbers, "waba")
        picks.append(chart_data.numbers_in_segments(numbers, grouped, "waba", "quality_rating", segments))
    portfolios = charts.selected_keys(_points(headroom_key))
    if portfolios:
        picks.append(set(numbers.loc[numbers["portfolio_id"].astype(str).isin(portfolios), "phone_e164"]))
    if not picks:
        return None
    return frozenset(set.intersection(*picks))


def _clear_selection(key_prefix: str) -> None:
    # A chart's selection cannot be set from Python; a new key draws the charts afresh, with nothing selected.
    st.session_state[_generation_key(key_prefix)] = st.session_state.get(_generation_key(key_prefix), 0) + 1


def _traced_numbers(numbers: pd.DataFrame, key_prefix: str) -> list[str]:
    ranked = numbers.sort_values(["at_risk", "phone_e164"], ascending=[False, True])
    options = list(ranked["phone_e164"].head(MAX_TRACE_OPTIONS))
    names = dict(zip(ranked["phone_e164"].tolist(), ranked["display_name"].fillna("").tolist(), strict=True))
    key = f"{key_prefix}_traced_numbers"
    at_risk = set(ranked.loc[ranked["at_risk"], "phone_e164"])
    default = [phone for phone in options if phone in at_risk][:3] or options[:1]
    offered = set(options)
    st.session_state[key] = [phone for phone in st.session_state.get(key, default) if phone in offered]
    more = (
        f" (at-risk numbers first; the first {MAX_TRACE_OPTIONS:,} are offered)" if len(numbers) > len(options) else ""
    )
    return st.multiselect(
        "Numbers to trace" + more,
        options,
        key=key,
        max_selections=MAX_TRACED_NUMBERS,
        format_func=lambda phone: f"{phone} · {names.get(phone, '')}",
    )


def render_numbers_charts(
    numbers: pd.DataFrame, key_prefix: str = "numbers", data_key: str | None = None
) -> frozenset[str] | None:
    """Charts for the Numbers page, following its filters (receives the filtered numbers table; `data_key`:
    what those numbers are, e.g. the filters, see `_figure`).

    Returns the numbers picked by clicking bars (see `chart_selection`), or None when nothing is picked.
    """
    if numbers.empty:
        return None
    waba_key, headroom_key = _chart_keys(key_prefix)
    picked = chart_selection(numbers, key_prefix)
    st.subheader("Charts of the numbers in view")
    if picked is not None:
        note, clear = st.columns([4, 1], vertical_alignment="center")
        note.caption(f"Bars picked in the charts narrow the table to {count(len(picked), 'number')}.")
        clear.button(
            "Clear chart picks", key=f"{key_prefix}_clear_picks", on_click=_clear_selection, args=(key_prefix,)
        )
    # Only the open tab's history is read; the bar charts are always drawn, so their picks outlive a tab switch.
    quality, limits, over_time = st.tabs(
        ["Quality", "Messaging limits", "Over time"], key=f"{key_prefix}_chart_tabs", on_change="rerun"
    )
    with quality:
        st.caption("Click a bar segment (or box-select several) to narrow the table to those numbers.")
        by_waba = _figure(
            f"{key_prefix}_quality_by_waba",
            data_key,
            lambda: charts.quality_bars(chart_data.quality_counts(numbers, "waba"), "Quality rating per WABA"),
        )
        _plot(by_waba, waba_key, selectable=True)
    with limits:
        tiers = _figure(f"{key_prefix}_tiers", data_key, lambda: charts.tier_heatmap(chart_data.tier_counts(numbers)))
        _plot(tiers, f"{key_prefix}_tiers")
        st.caption("Click a portfolio's bar to narrow the table to its numbers.")
        headroom = _figure(
            f"{key_prefix}_headroom",
            data_key,
            lambda: charts.headroom_bars(
                chart_data.portfolio_headroom(reads.portfolios(), set(numbers["portfolio_id"]))
            ),
        )
        _plot(headroom, headroom_key, selectable=True)
    if not over_time.open:
        return picked
    with over_time:
        traced = _traced_numbers(numbers, key_prefix)
        series = pd.DataFrame()
        if traced:
            history = reads.history(e164s=tuple(traced))
            series = chart_data.history_with_present(history, numbers, datetime.now(UTC))
        _plot(charts.number_history_figure(series), f"{key_prefix}_history")
        _fleet_history(numbers, key_prefix)
    return picked
