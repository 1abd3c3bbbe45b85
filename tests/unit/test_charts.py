"""Chart data and Plotly figures: counts, colours from the one palette, text labels, bounded size at fleet scale."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from core import charts, model, palette
from core.reads import chart_data

QUALITIES = ["GREEN", "YELLOW", "RED", "NA", "UNKNOWN"]


def number_row(index: int, **values: object) -> dict[str, object]:
    row: dict[str, object] = {
        "workspace": "EU Brands",
        "portfolio_id": "100",
        "portfolio": "Acme Europe",
        "waba_id": "200",
        "waba": "Fashion FR",
        "subscription_group": f"group {index}",
        "group_state": "active",
        "phone_e164": f"+3361{index:07d}",
        "display_name": f"Sender {index}",
        "status": "CONNECTED",
        "quality_rating": "GREEN",
        "messaging_limit_tier": "TIER_1K",
        "portfolio_messaging_limit": "TIER_2K",
    }
    row.update(values)
    return row


def numbers_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    frame["at_risk"] = [
        model.is_number_at_risk(q, s) for q, s in zip(frame["quality_rating"], frame["status"], strict=True)
    ]
    return frame


def large_fleet(numbers: int = 10_000, wabas: int = 500, portfolios: int = 84) -> pd.DataFrame:
    rows = []
    for index in range(numbers):
        waba = index % wabas
        rows.append(
            number_row(
                index,
                waba_id=str(200_000 + waba),
                waba=f"WABA {waba:03d}",
                portfolio_id=str(100_000 + waba % portfolios),
                portfolio=f"Portfolio {waba % portfolios:03d}",
                quality_rating=QUALITIES[(index * 7 + waba) % 5],
                messaging_limit_tier=chart_data.TIER_ORDER[index % len(chart_data.TIER_ORDER)],
            )
        )
    return numbers_frame(rows)


def traces_by_name(figure) -> dict[str, object]:
    return {trace.name: trace for trace in figure.data}


# --- palette ------------------------------------------------------------------------------------------------


def test_each_quality_rating_has_its_own_colour_and_a_text_meaning():
    colours = [palette.quality_color(q) for q in ["GREEN", "YELLOW", "RED"]]

    assert len(set(colours)) == 3
    assert palette.quality_label("RED") == "RED (low quality)"
    assert palette.quality_label("NA") == "NA (not rated yet)"


def test_a_value_meta_adds_later_gets_the_reserved_colour_and_says_so():
    assert palette.quality_color("PURPLE") == palette.OTHER_COLOR
    assert palette.quality_label("PURPLE") == "PURPLE (new value from Meta)"
    assert palette.status_color("SUSPENDED") == palette.OTHER_COLOR


@pytest.mark.parametrize(
    ("background", "text"),
    [("#E69F00", "#000000"), ("#F0E442", "#000000"), ("#0072B2", "#FFFFFF"), ("#000000", "#FFFFFF")],
)
def test_text_on_a_coloured_background_takes_the_more_contrasting_ink(background, text):
    assert palette.text_color(background) == text


def test_at_risk_statuses_get_a_warning_mark_and_sound_ones_none():
    assert palette.status_mark("FLAGGED") == palette.AT_RISK_MARK
    assert palette.status_mark("BANNED") == palette.AT_RISK_MARK
    assert palette.status_mark("CONNECTED") == ""


def test_a_table_cell_style_shows_the_palette_colour_with_readable_text():
    assert palette.cell_style("quality", "RED") == "background-color: #D55E00; color: #000000"
    assert palette.cell_style("status", "CONNECTED").startswith("background-color: #009E73")


# --- quality across numbers -----------------------------------------------------------------------------------


def test_quality_bars_count_numbers_per_rating_for_each_waba():
    numbers = numbers_frame(
        [
            number_row(0),
            number_row(1),
            number_row(2, quality_rating="RED"),
            number_row(3, waba_id="201", waba="Sport DE", quality_rating="YELLOW"),
        ]
    )

    figure = charts.quality_bars(chart_data.quality_counts(numbers, "waba"), "Quality per WABA")

    bars = traces_by_name(figure)
    green, red, yellow = bars["GREEN (high quality)"], bars["RED (low quality)"], bars["YELLOW (medium quality)"]
    assert dict(zip(green.y, green.x, strict=True)) == {"Fashion FR": 2}
    assert dict(zip(red.y, red.x, strict=True)) == {"Fashion FR": 1}
    assert dict(zip(yellow.y, yellow.x, strict=True)) == {"Sport DE": 1}
    assert figure.layout.barmode == "stack"


def test_quality_bars_take_their_colours_from_the_palette_and_label_every_segment_in_text():
    numbers = numbers_frame([number_row(i, quality_rating=q) for i, q in enumerate(QUALITIES * 2)])

    figure = charts.quality_bars(chart_data.quality_counts(numbers, "waba"), "Quality per WABA")

    for trace in figure.data:
        quality = trace.customdata[0][1]
        assert trace.marker.color == palette.QUALITY_COLORS[quality]
        assert trace.marker.pattern.shape == palette.QUALITY_PATTERNS[quality]
        assert list(trace.text) == [f"{charts._short(quality)} 2"]
        assert trace.name == palette.quality_label(quality)
    assert [trace.customdata[0][1] for trace in figure.data] == QUALITIES


def test_quality_bars_hover_names_the_group_and_example_numbers():
    numbers = numbers_frame([number_row(0, quality_rating="RED", display_name="Paris store")])

    figure = charts.quality_bars(chart_data.quality_counts(numbers, "waba"), "Quality per WABA")

    key, quality, examples, group = figure.data[0].customdata[0]
    assert (key, quality, group) == ("200", "RED", "Fashion FR")
    assert "+33610000000 · Paris store" in examples
    assert "%{customdata[3]}" in figure.data[0].hovertemplate


def test_quality_bars_per_portfolio_group_the_wabas_of_each_portfolio():
    numbers = numbers_frame(
        [
            number_row(0),
            number_row(1, waba_id="201", waba="Sport DE"),
            number_row(2, portfolio_id="101", portfolio="Acme Group", quality_rating="RED"),
        ]
    )

    grouped = chart_data.quality_counts(numbers, "portfolio")

    counts = {(r.label, r.category): r.numbers for r in grouped.counts.itertuples()}
    assert counts == {("Acme Europe", "GREEN"): 2, ("Acme Group", "RED"): 1}


def test_groups_with_the_most_at_risk_numbers_come_first():
    numbers = numbers_frame(
        [number_row(i, waba_id="A", waba="Calm") for i in range(5)]
        + [number_row(10 + i, waba_id="B", waba="Troubled", status="FLAGGED") for i in range(2)]
    )

    grouped = chart_data.quality_counts(numbers, "waba")

    assert [label for _, label in grouped.groups] == ["Troubled", "Calm"]


def test_wabas_sharing_a_name_keep_separate_bars():
    numbers = numbers_frame([number_row(0, waba_id="1", waba="Support"), number_row(1, waba_id="2", waba="Support")])

    grouped = chart_data.quality_counts(numbers, "waba")

    assert sorted(label for _, label in grouped.groups) == ["Support (1)", "Support (2)"]


def test_a_quality_value_unknown_to_this_version_keeps_its_own_segment():
    numbers = numbers_frame([number_row(0), number_row(1, quality_rating="PURPLE")])

    figure = charts.quality_bars(chart_data.quality_counts(numbers, "waba"), "Quality per WABA")

    purple = traces_by_name(figure)["PURPLE (new value from Meta)"]
    assert purple.marker.color == palette.OTHER_COLOR
    assert list(purple.x) == [1]


def test_ten_thousand_numbers_draw_the_top_wabas_and_one_others_bar_without_losing_a_number():
    numbers = large_fleet()

    grouped = chart_data.quality_counts(numbers, "waba")
    figure = charts.quality_bars(grouped, "Quality per WABA")

    bars = {label for trace in figure.data for label in trace.y}
    assert len(bars) == chart_data.TOP_GROUPS + 1
    assert "485 other WABAs" in bars
    assert sum(sum(trace.x) for trace in figure.data) == 10_000
    assert sum(len(trace.x) for trace in figure.data) <= (chart_data.TOP_GROUPS + 1) * len(QUALITIES)


def test_clicked_segments_map_back_to_their_numbers_including_the_others_bucket():
    numbers = large_fleet(numbers=2_000, wabas=40)
    grouped = chart_data.quality_counts(numbers, "waba", top=5)
    shown_key = grouped.groups[0][0]

    picked = chart_data.numbers_in_segments(
        numbers, grouped, "waba", "quality_rating", [(shown_key, "RED"), (chart_data.OTHERS_KEY, "GREEN")]
    )

    shown = {key for key, _ in grouped.groups}
    expected = numbers[
        ((numbers["waba_id"] == shown_key) & (numbers["quality_rating"] == "RED"))
        | (~numbers["waba_id"].isin(shown) & (numbers["quality_rating"] == "GREEN"))
    ]
    assert picked == set(expected["phone_e164"])
    assert picked


def test_plotly_selection_points_give_segments_and_keys():
    points = [
        {"curve_number": 2, "point_index": 0, "x": 3, "y": "Fashion FR", "customdata": ["200", "RED", "…", "x"]},
        {"curve_number": 0, "point_index": 1, "x": 1, "y": "Sport DE"},
    ]

    assert charts.selected_segments(points) == [("200", "RED")]
    assert charts.selected_keys(points) == {"200"}


def test_no_numbers_give_a_figure_that_says_so():
    empty = numbers_frame([number_row(0)]).iloc[0:0]

    figure = charts.quality_bars(chart_data.quality_counts(empty, "waba"), "Quality per WABA")

    assert figure.data == ()
    assert figure.layout.annotations[0].text == "No numbers to show."


# --- messaging limits -----------------------------------------------------------------------------------------


def test_tier_heat_map_counts_own_tiers_per_waba_in_tier_order_and_names_the_shared_limit():
    numbers = numbers_frame(
        [
            number_row(0, messaging_limit_tier="TIER_250"),
            number_row(1),
            number_row(2),
            number_row(3, waba_id="201", waba="Sport DE", messaging_limit_tier="TIER_100K"),
        ]
    )

    figure = charts.tier_heatmap(chart_data.tier_counts(numbers))

    heat = figure.data[0]
    assert list(heat.x) == ["TIER_250", "TIER_1K", "TIER_100K"]
    assert list(heat.y) == ["Fashion FR · portfolio TIER_2K", "Sport DE · portfolio TIER_2K"]
    assert heat.z.tolist() == [[1, 2, 0], [0, 0, 1]]
    assert [list(row) for row in heat.text] == [["1", "2", ""], ["", "", "1"]]
    assert heat.colorscale == tuple(tuple(step) for step in palette.COUNT_SCALE)


def test_tier_heat_map_rows_stay_bounded_for_ten_thousand_numbers():
    numbers = large_fleet()

    figure = charts.tier_heatmap(chart_data.tier_counts(numbers))

    assert len(figure.data[0].y) == chart_data.TOP_GROUPS + 1
    assert int(figure.data[0].z.sum()) == 10_000


def portfolios_table(rows: list[tuple[str, str, str | None, int]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["portfolio_id", "portfolio", "messaging_limit", "active_numbers"])


def test_headroom_divides_each_shared_limit_among_all_its_senders():
    portfolios = portfolios_table(
        [("1", "Tight", "TIER_1K", 8), ("2", "Roomy", "TIER_10K", 4), ("3", "Open", "TIER_UNLIMITED", 3)]
    )

    headroom = chart_data.portfolio_headroom(portfolios)

    rows = headroom.rows.set_index("label")
    assert rows.loc["Tight", "per_sender"] == 125
    assert rows.loc["Tight", "state"] == "low"
    assert rows.loc["Roomy", "per_sender"] == 2_500
    assert rows.loc["Roomy", "state"] == "ok"
    assert rows.loc["Open", "state"] == "unlimited"
    assert list(rows.index) == ["Tight", "Roomy", "Open"]


def test_headroom_low_threshold_is_the_models():
    limit = model.daily_limit("TIER_1K")
    senders_just_low = limit // model.LOW_LIMIT_PER_SENDER + 1
    portfolios = portfolios_table([("1", "P", "TIER_1K", senders_just_low)])

    headroom = chart_data.portfolio_headroom(portfolios)

    assert headroom.rows.loc[0, "state"] == "low"
    assert model.is_low_portfolio_limit("TIER_1K", senders_just_low)


def test_headroom_follows_the_portfolios_in_view_and_skips_idle_ones():
    portfolios = portfolios_table([("1", "A", "TIER_1K", 2), ("2", "B", "TIER_1K", 2), ("3", "C", "TIER_2K", 0)])

    headroom = chart_data.portfolio_headroom(portfolios, in_view={"1", "3"})

    assert list(headroom.rows["label"]) == ["A"]
    assert headroom.without_senders == 1


def test_headroom_bars_mark_the_low_line_and_say_low_in_text_not_only_colour():
    portfolios = portfolios_table([("1", "Tight", "TIER_250", 4), ("2", "Open", "TIER_UNLIMITED", 9)])

    figure = charts.headroom_bars(chart_data.portfolio_headroom(portfolios))

    bars = figure.data[0]
    assert list(bars.text) == ["62 per sender · LOW", "unlimited"]
    assert list(bars.marker.color) == [palette.HEADROOM_COLORS["low"], palette.HEADROOM_COLORS["unlimited"]]
    assert [c[0] for c in bars.customdata] == ["1", "2"]
    low_line = figure.layout.shapes[0]
    assert low_line.x0 == low_line.x1 == pytest.approx(math.log10(model.LOW_LIMIT_PER_SENDER))  # log axis units
    assert figure.layout.annotations[0].text == f"low: under {model.LOW_LIMIT_PER_SENDER} per sender"
    assert figure.layout.xaxis.type == "log"
    assert bars.marker.pattern.fillmode == "overlay"


def test_headroom_shows_the_tightest_portfolios_when_there_are_many():
    portfolios = portfolios_table([(str(i), f"P{i:03d}", "TIER_1K", 1 + i % 9) for i in range(84)])

    headroom = chart_data.portfolio_headroom(portfolios)
    figure = charts.headroom_bars(headroom)

    assert len(figure.data[0].y) == chart_data.TOP_PORTFOLIOS
    assert headroom.not_shown == 84 - chart_data.TOP_PORTFOLIOS
    assert set(headroom.rows["active_numbers"]) == {9, 8, 7}


# --- over time ------------------------------------------------------------------------------------------------


def history_frame(rows: list[tuple[str, datetime, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        [(e164, f"Sender {e164[-1]}", at, q, t, "CONNECTED", "sync") for e164, at, q, t in rows],
        columns=[
            "phone_e164",
            "display_name",
            "recorded_at",
            "quality_rating",
            "messaging_limit_tier",
            "status",
            "source",
        ],
    )


def test_history_is_drawn_as_step_lines_per_number_carried_to_today():
    start = datetime(2026, 3, 1, tzinfo=UTC)
    numbers = numbers_frame([number_row(1, quality_rating="RED"), number_row(2)])
    a, b = numbers["phone_e164"]
    history = history_frame(
        [
            (a, start, "GREEN", "TIER_1K"),
            (a, start + timedelta(days=3), "RED", "TIER_250"),
            (b, start, "GREEN", "TIER_1K"),
        ]
    )
    now = start + timedelta(days=10)

    series = chart_data.history_with_present(history, numbers, now)
    figure = charts.number_history_figure(series)

    quality_lines = [t for t in figure.data if t.yaxis == "y"]
    assert [t.name for t in quality_lines] == [f"{a} · Sender 1", f"{b} · Sender 2"]
    assert all(t.line.shape == "hv" for t in figure.data)
    assert list(quality_lines[0].y) == ["GREEN", "RED", "RED"]
    assert pd.Timestamp(quality_lines[0].x[-1]) == pd.Timestamp(now).tz_localize(None)  # Plotly keeps UTC, drops tz
    assert quality_lines[0].customdata[0][2] == "Fashion FR"
    assert "WABA %{customdata[2]}" in quality_lines[0].hovertemplate
    assert len(figure.data) == 4


def test_history_lines_differ_by_marker_symbol_as_well_as_colour():
    start = datetime(2026, 3, 1, tzinfo=UTC)
    numbers = numbers_frame([number_row(1), number_row(2)])
    history = history_frame([(e, start, "GREEN", "TIER_1K") for e in numbers["phone_e164"]])

    figure = charts.number_history_figure(chart_data.history_with_present(history, numbers, start))

    quality_lines = [t for t in figure.data if t.yaxis == "y"]
    assert len({t.marker.symbol for t in quality_lines}) == 2
    assert len({t.line.color for t in quality_lines}) == 2


def test_history_axes_order_quality_and_tiers_from_worst_to_best():
    start = datetime(2026, 3, 1, tzinfo=UTC)
    numbers = numbers_frame([number_row(1)])
    a = numbers["phone_e164"][0]
    history = history_frame(
        [(a, start, "GREEN", "TIER_10K"), (a, start + timedelta(days=1), "RED", "TIER_50"), (a, start, "NA", "TIER_1K")]
    )

    figure = charts.number_history_figure(chart_data.history_with_present(history, numbers, start))

    assert list(figure.layout.yaxis.categoryarray) == ["NA", "RED", "GREEN"]
    assert list(figure.layout.yaxis2.categoryarray) == ["TIER_50", "TIER_1K", "TIER_10K"]
    assert [shape.fillcolor for shape in figure.layout.shapes] == [
        palette.QUALITY_COLORS[q] for q in ["NA", "RED", "GREEN"]
    ]


def test_fleet_quality_per_day_is_a_step_line_panel_per_rating_titled_with_its_count():
    days = pd.date_range("2026-03-01", periods=3, freq="D")
    per_day = pd.DataFrame(
        [(d, q, n) for i, d in enumerate(days) for q, n in [("GREEN", 90 + i), ("RED", 3 - i)]],
        columns=["day", "quality_rating", "numbers"],
    )

    figure = charts.fleet_quality_figure(per_day)

    lines = traces_by_name(figure)
    green, red = lines["GREEN (high quality)"], lines["RED (low quality)"]
    assert green.line.shape == red.line.shape == "hv"
    assert (green.line.color, red.line.color) == (palette.QUALITY_COLORS["GREEN"], palette.QUALITY_COLORS["RED"])
    assert green.line.dash != red.line.dash
    assert list(red.y) == [3, 2, 1]
    assert (green.yaxis, red.yaxis) == ("y", "y2")
    assert [a.text for a in figure.layout.annotations] == ["GREEN (high quality): 92 now", "RED (low quality): 1 now"]


def test_fleet_quality_per_day_without_history_says_so():
    per_day = pd.DataFrame(columns=["day", "quality_rating", "numbers"])

    figure = charts.fleet_quality_figure(per_day)

    assert figure.layout.annotations[0].text == "No quality history yet."


def test_a_portfolio_without_a_known_limit_is_named_so_on_the_heat_map():
    numbers = numbers_frame([number_row(0, portfolio_messaging_limit=None)])

    figure = charts.tier_heatmap(chart_data.tier_counts(numbers))

    assert list(figure.data[0].y) == ["Fashion FR · portfolio limit not set"]
