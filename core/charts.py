"""Plotly figures for the dashboard: plain functions from aggregated data to `plotly.graph_objects.Figure`.

Every figure uses the palette of `core.palette`, and every colour comes with its text (segment labels, fill
patterns, legends, axis categories), so no chart relies on colour alone. Inputs are already aggregated by
`core.reads.chart_data`: a figure never draws one bar per number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core import model
from core.palette import (
    COUNT_SCALE,
    HEADROOM_COLORS,
    HEADROOM_PATTERNS,
    QUALITY_ORDER,
    QUALITY_PATTERNS,
    SERIES_COLORS,
    SERIES_SYMBOLS,
    ordered_values,
    quality_color,
    quality_label,
)
from core.reads.chart_data import TIER_ORDER, GroupedCounts, Headroom

ROW_HEIGHT = 30
BASE_HEIGHT = 140
FONT = {"family": "Source Sans Pro, Arial, sans-serif", "size": 13}
QUALITY_DASHES = {"GREEN": "solid", "YELLOW": "dash", "RED": "dot", "NA": "dashdot", "UNKNOWN": "longdash"}


def empty_figure(message: str) -> go.Figure:
    figure = go.Figure()
    figure.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")
    figure.update_layout(height=160, xaxis_visible=False, yaxis_visible=False, font=FONT)
    return figure


def _short(category: str) -> str:
    return {"GREEN": "G", "YELLOW": "Y", "RED": "R", "NA": "NA", "UNKNOWN": "?"}.get(category, category)


def quality_bars(grouped: GroupedCounts, title: str) -> go.Figure:
    """Stacked horizontal bars: numbers per quality rating for each group (top groups first, then 'others').

    Each point's customdata is [group key, quality, examples, group label]: the page maps a click back to numbers.
    """
    if grouped.counts.empty:
        return empty_figure("No numbers to show.")
    labels = [label for _, label in grouped.groups]
    figure = go.Figure()
    for quality in grouped.categories:
        rows = grouped.counts[grouped.counts["category"] == quality]
        if rows.empty:
            continue
        figure.add_trace(
            go.Bar(
                name=quality_label(quality),
                orientation="h",
                y=rows["label"],
                x=rows["numbers"],
                text=[f"{_short(quality)} {count}" for count in rows["numbers"]],
                textposition="inside",
                insidetextanchor="middle",
                marker={
                    "color": quality_color(quality),
                    "pattern": _pattern(QUALITY_PATTERNS.get(quality, "+")),
                    "line": {"color": "#FFFFFF", "width": 0.5},
                },
                customdata=list(zip(rows["key"], [quality] * len(rows), rows["examples"], rows["label"], strict=True)),
                hovertemplate=(
                    "<b>%{customdata[3]}</b><br>"
                    + quality_label(quality)
                    + ": %{x} numbers<br>%{customdata[2]}<extra></extra>"
                ),
            )
        )
    noun = grouped.group_noun
    subtitle = f" (top {len(labels) - 1} by at-risk numbers, the rest grouped)" if grouped.hidden_groups else ""
    figure.update_layout(
        title={"text": title + subtitle, "automargin": True},
        barmode="stack",
        height=BASE_HEIGHT + ROW_HEIGHT * len(labels),
        # Above the bars, under the title: a legend under the plot met the axis's numbers on short charts.
        legend={
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.0,
            "x": 0,
            "title": {"text": "Quality rating"},
            "traceorder": "normal",
        },
        uniformtext={"minsize": 10, "mode": "hide"},
        xaxis={"title": {"text": ""}, "ticksuffix": " "},
        yaxis={
            "categoryorder": "array",
            "categoryarray": labels,
            "autorange": "reversed",
            "title": {"text": noun[0].upper() + noun[1:]},
        },
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        font=FONT,
        clickmode="event+select",
    )
    return figure


def _pattern(shape: str | list[str]) -> dict[str, object]:
    """A bar's hatching, over its palette colour, sparse enough for the text on the bar to stay legible."""
    return {"shape": shape, "fillmode": "overlay", "fgcolor": "#000000", "fgopacity": 0.2, "size": 10, "solidity": 0.15}


def tier_heatmap(grouped: GroupedCounts, title: str = "Own messaging-limit tier of numbers per WABA") -> go.Figure:
    """WABA × own tier, counts in the cells; each row names the portfolio's shared limit for comparison."""
    if grouped.counts.empty:
        return empty_figure("No numbers to show.")
    labels = [label for _, label in grouped.groups]
    tiers = list(grouped.categories)
    counts = grouped.counts.pivot_table(index="label", columns="category", values="numbers", aggfunc="sum")
    counts = counts.reindex(index=labels, columns=tiers).fillna(0).astype(int)
    examples = (
        grouped.counts.pivot_table(index="label", columns="category", values="examples", aggfunc="first")
        .reindex(index=labels, columns=tiers)
        .fillna("")
    )
    text = [[str(value) if value else "" for value in row] for row in counts.to_numpy()]
    figure = go.Figure(
        go.Heatmap(
            z=counts.to_numpy(),
            x=tiers,
            y=labels,
            text=text,
            texttemplate="%{text}",
            colorscale=COUNT_SCALE,
            xgap=2,
            ygap=2,
            colorbar={"title": {"text": "Numbers"}},
            customdata=examples.to_numpy(),
            hovertemplate="<b>%{y}</b><br>own tier %{x}: %{z} numbers<br>%{customdata}<extra></extra>",
        )
    )
    subtitle = f" (top {len(labels) - 1} by numbers on low tiers, the rest grouped)" if grouped.hidden_groups else ""
    figure.update_layout(
        title={"text": title + subtitle},
        height=BASE_HEIGHT + ROW_HEIGHT * len(labels),
        xaxis={"title": {"text": "Own tier (per number)"}, "side": "top", "type": "category"},
        yaxis={"autorange": "reversed", "type": "category", "title": {"text": "WABA · portfolio shared limit"}},
        margin={"l": 10, "r": 10, "t": 90, "b": 10},
        font=FONT,
    )
    return figure


def headroom_bars(headroom: Headroom, title: str = "Shared daily limit per sender, by portfolio") -> go.Figure:
    """Each portfolio's shared daily limit divided among its active senders, on a log scale, with the line
    below which the limit is called low (model.LOW_LIMIT_PER_SENDER). customdata[0] is the portfolio id."""
    rows = headroom.rows
    if rows.empty:
        return empty_figure("No portfolio with active senders.")
    low = model.LOW_LIMIT_PER_SENDER
    finite = rows["per_sender"].dropna().astype(float)
    ceiling = max([low * 4.0, *(finite * 2).tolist()])
    positions, texts = [], []
    for state, share in zip(rows["state"], rows["per_sender"], strict=True):
        if state == "unlimited":
            positions.append(ceiling)
            texts.append("unlimited")
        elif state == "limit not set":
            positions.append(1.0)
            texts.append("limit not set")
        else:
            positions.append(max(float(share), 1.0))
            texts.append(f"{share:,.0f} per sender" + (" · LOW" if state == "low" else ""))
    hover_limits = [f"{int(v):,}" if pd.notna(v) else "—" for v in rows["daily_limit"]]
    figure = go.Figure(
        go.Bar(
            orientation="h",
            y=rows["label"],
            x=positions,
            text=texts,
            textposition="auto",
            marker={
                "color": [HEADROOM_COLORS[s] for s in rows["state"]],
                "pattern": _pattern([HEADROOM_PATTERNS[s] for s in rows["state"]]),
            },
            customdata=list(
                zip(
                    rows["portfolio_id"],
                    rows["messaging_limit"].fillna("not set"),
                    hover_limits,
                    rows["active_numbers"],
                    rows["state"],
                    strict=True,
                )
            ),
            hovertemplate=(
                "<b>%{y}</b><br>shared limit %{customdata[1]} (%{customdata[2]} a day)<br>"
                "%{customdata[3]} active senders · %{text}<br>%{customdata[4]}<extra></extra>"
            ),
            showlegend=False,
        )
    )
    # On a log axis, shape and annotation positions are given as log10 of the value.
    figure.add_shape(
        type="line",
        xref="x",
        yref="paper",
        x0=math.log10(low),
        x1=math.log10(low),
        y0=0,
        y1=1,
        line={"dash": "dash", "color": "#000000", "width": 1},
    )
    figure.add_annotation(
        x=math.log10(low),
        xref="x",
        y=1,
        yref="paper",
        yanchor="bottom",
        showarrow=False,
        text=f"low: under {low} per sender",
    )
    more = f" ({headroom.not_shown} more portfolios not shown)" if headroom.not_shown else ""
    figure.update_layout(
        title={"text": title + more},
        height=BASE_HEIGHT + ROW_HEIGHT * len(rows),
        xaxis={"type": "log", "title": {"text": "Daily conversations per active sender (log scale)"}},
        yaxis={"autorange": "reversed", "type": "category", "title": {"text": "Portfolio"}},
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        font=FONT,
        clickmode="event+select",
    )
    return figure


def number_history_figure(series: pd.DataFrame, title: str = "Quality and own tier over time") -> go.Figure:
    """Step lines (line_shape='hv') of quality rating and own tier for a few chosen numbers, one colour and one
    marker symbol per number; the quality rows are banded in the palette's colours."""
    if series.empty:
        return empty_figure("Choose numbers to see their history.")
    qualities = ordered_values(series["quality_rating"], QUALITY_ORDER)
    quality_axis = [q for q in ("UNKNOWN", "NA", "RED", "YELLOW", "GREEN") if q in qualities] + [
        q for q in qualities if q not in QUALITY_ORDER
    ]
    tier_axis = ordered_values(series["messaging_limit_tier"], TIER_ORDER)
    figure = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.12,
        subplot_titles=("Quality rating", "Own messaging-limit tier"),
        row_heights=[0.5, 0.5],
    )
    for index, (e164, rows) in enumerate(series.groupby("phone_e164", sort=True)):
        color = SERIES_COLORS[index % len(SERIES_COLORS)]
        symbol = SERIES_SYMBOLS[index % len(SERIES_SYMBOLS)]
        display = str(rows["display_name"].iloc[-1] or "")
        name = f"{e164} · {display}" if display else str(e164)
        custom = list(zip([e164] * len(rows), rows["display_name"].fillna(""), rows["waba"].fillna(""), strict=True))
        for row, column, axis_name in ((1, "quality_rating", "quality"), (2, "messaging_limit_tier", "tier")):
            figure.add_trace(
                go.Scatter(
                    x=rows["recorded_at"],
                    y=rows[column].fillna("UNKNOWN"),
                    mode="lines+markers",
                    line={"shape": "hv", "color": color, "width": 2},
                    marker={"symbol": symbol, "size": 8, "color": color},
                    name=name,
                    legendgroup=str(e164),
                    showlegend=row == 1,
                    customdata=custom,
                    hovertemplate=(
                        "<b>%{customdata[0]}</b> · %{customdata[1]}<br>WABA %{customdata[2]}<br>"
                        + axis_name
                        + " %{y}<br>%{x|%Y-%m-%d %H:%M}<extra></extra>"
                    ),
                ),
                row=row,
                col=1,
            )
    # Bands behind the quality rows, in the rating's colour (shapes as plain dicts: add_hrect is slow on subplots).
    bands = [
        {
            "type": "rect",
            "xref": "x domain",
            "x0": 0,
            "x1": 1,
            "yref": "y",
            "y0": position - 0.5,
            "y1": position + 0.5,
            "fillcolor": quality_color(quality),
            "opacity": 0.12,
            "line": {"width": 0},
            "layer": "below",
        }
        for position, quality in enumerate(quality_axis)
    ]
    figure.update_layout(shapes=bands)
    figure.update_yaxes(type="category", categoryorder="array", categoryarray=quality_axis, row=1, col=1)
    figure.update_yaxes(type="category", categoryorder="array", categoryarray=tier_axis, row=2, col=1)
    figure.update_layout(
        title={"text": title},
        height=560,
        legend={"orientation": "h", "y": -0.12, "title": {"text": "Number"}},
        margin={"l": 10, "r": 10, "t": 70, "b": 10},
        font=FONT,
        hovermode="closest",
    )
    return figure


def fleet_quality_figure(per_day: pd.DataFrame, title: str = "Numbers by quality rating, per day") -> go.Figure:
    """How many numbers held each quality rating at the end of each day (from `fleet_quality_by_day`):
    one step-line panel per rating, each on its own scale, so 30 RED numbers read as clearly as 9,000 GREEN
    ones and a fall to zero stays visible. Each panel is titled with its rating and latest count."""
    if per_day.empty or int(per_day["numbers"].max()) == 0:
        return empty_figure("No quality history yet.")
    qualities = ordered_values(per_day["quality_rating"], QUALITY_ORDER)
    series = {q: per_day[per_day["quality_rating"] == q].sort_values("day") for q in qualities}
    titles = [f"{quality_label(q)}: {int(rows['numbers'].iloc[-1]):,} now" for q, rows in series.items()]
    figure = make_subplots(
        rows=len(qualities), cols=1, shared_xaxes=True, vertical_spacing=0.35 / len(qualities), subplot_titles=titles
    )
    for row, (quality, rows) in enumerate(series.items(), start=1):
        figure.add_trace(
            go.Scatter(
                x=rows["day"],
                y=rows["numbers"],
                mode="lines",
                line={"shape": "hv", "color": quality_color(quality), "width": 2.5, "dash": _dash(quality)},
                fill="tozeroy",
                name=quality_label(quality),
                hovertemplate="%{x|%Y-%m-%d}: %{y:,} numbers " + quality + "<extra></extra>",
                showlegend=False,
            ),
            row=row,
            col=1,
        )
        figure.update_yaxes(rangemode="tozero", nticks=3, row=row, col=1)
    figure.update_xaxes(title={"text": "Day (UTC)"}, row=len(qualities), col=1)
    figure.update_layout(
        title={"text": title},
        height=120 + 110 * len(qualities),
        margin={"l": 10, "r": 10, "t": 70, "b": 10},
        font=FONT,
    )
    return figure


def _dash(quality: str) -> str:
    return QUALITY_DASHES.get(quality, "solid")


def selected_segments(points: Sequence[dict[str, object]]) -> list[tuple[str, str]]:
    """(group key, category) pairs of the clicked or box-selected segments, from a Plotly selection's points."""
    segments = []
    for point in points:
        custom = point.get("customdata")
        if isinstance(custom, list | tuple) and len(custom) >= 2:
            segments.append((str(custom[0]), str(custom[1])))
    return segments


def selected_keys(points: Sequence[dict[str, object]]) -> set[str]:
    """The first customdata value of each selected point (e.g. the portfolio id of a headroom bar)."""
    keys = set()
    for point in points:
        custom = point.get("customdata")
        if isinstance(custom, list | tuple) and custom:
            keys.add(str(custom[0]))
    return keys
