"""Chart blocks on the Overview and Numbers pages: Plotly specs that follow the filters, and picks that narrow."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from core import palette
from core.reads import chart_data
from core.reads.numbers import NumberFilters, numbers_table
from core.wording import count
from tests.app.conftest import TIMEOUT
from tests.app.ui import exceptions, table


def figures(at: AppTest) -> dict[str, dict]:
    """Each Plotly chart on the page, by its title, as the JSON spec the browser receives."""
    specs = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    return {spec["layout"].get("title", {}).get("text", ""): spec for spec in specs}


def values(field: object) -> list:
    """A data array of the spec: plain JSON, or Plotly's base64 typed array ({"dtype", "bdata", "shape"})."""
    if isinstance(field, dict) and "bdata" in field:
        array = np.frombuffer(base64.b64decode(field["bdata"]), dtype=np.dtype(field["dtype"]))
        if "shape" in field:
            array = array.reshape([int(n) for n in str(field["shape"]).split(",")])
        return array.tolist()
    return list(field)  # type: ignore[call-overload]


def figure_titled(at: AppTest, start: str) -> dict:
    matches = [spec for title, spec in figures(at).items() if title.startswith(start)]
    assert len(matches) == 1, f"no single chart titled '{start}…' in {list(figures(at))}"
    return matches[0]


def bar_totals(spec: dict) -> dict[str, int]:
    """Numbers per quality rating across every bar of a stacked quality chart."""
    return {trace["customdata"][0][1]: sum(values(trace["x"])) for trace in spec["data"]}


def test_overview_shows_quality_and_headroom_charts_and_history_on_demand(demo_db, open_page):
    at = open_page("overview.py")

    shown = [list(figures(at))]
    for tab in ("Portfolio headroom", "Quality per WABA"):
        at.session_state["overview_chart_tabs"] = tab
        shown.append(list(figures(at.run())))

    assert exceptions(at) == []
    assert shown == [  # only the open tab's chart is drawn
        ["Quality rating per portfolio"],
        ["Shared daily limit per sender, by portfolio"],
        ["Quality rating per WABA"],
    ]

    at.session_state["overview_history_open"] = True
    at.run()

    assert any(title.startswith("Numbers by quality rating per day") for title in figures(at))


def test_overview_quality_bars_count_every_active_number_in_palette_colours(demo_db, open_page):
    at = open_page("overview.py")

    spec = figure_titled(at, "Quality rating per portfolio")

    active = numbers_table(demo_db).query("group_state == 'active'")
    assert bar_totals(spec) == active["quality_rating"].value_counts().to_dict()
    for trace in spec["data"]:
        quality = trace["customdata"][0][1]
        assert trace["marker"]["color"] == palette.QUALITY_COLORS[quality]
        assert all(text.endswith(str(n)) for text, n in zip(trace["text"], values(trace["x"]), strict=True))


def test_numbers_page_charts_follow_its_filters(demo_db, open_page):
    at = open_page("numbers.py")

    at.session_state["numbers_chart_tabs"] = "Over time"
    at.multiselect(key="numbers_filters_qualities").select("YELLOW").run()

    expected = numbers_table(demo_db, NumberFilters(qualities=("YELLOW",)))
    assert bar_totals(figure_titled(at, "Quality rating per WABA")) == {"YELLOW": len(expected)}
    heat = figure_titled(at, "Own messaging-limit tier")["data"][0]
    assert sum(sum(row) for row in values(heat["z"])) == len(expected)
    assert figure_titled(at, "Numbers by quality rating per day")["layout"]["title"]["text"].endswith(
        f"(the {len(expected)} numbers in view)"
    )


def test_numbers_page_traces_the_history_of_at_risk_numbers_as_step_lines(demo_db, open_page):
    at = open_page("numbers.py")
    assert "Quality and own tier over time" not in figures(at)  # read only when its tab is open

    at.session_state["numbers_chart_tabs"] = "Over time"
    at.run()

    traced = at.multiselect(key="numbers_traced_numbers").value
    history = figure_titled(at, "Quality and own tier over time")

    at_risk = set(numbers_table(demo_db).query("at_risk")["phone_e164"])
    assert 0 < len(traced) <= 3
    assert set(traced) <= at_risk
    assert {trace["line"]["shape"] for trace in history["data"]} == {"hv"}
    assert {trace["legendgroup"] for trace in history["data"]} == set(traced)


def test_overview_history_counts_every_active_number_each_day(demo_db, open_page):
    at = open_page("overview.py")
    at.session_state["overview_history_open"] = True
    at.run()

    spec = figure_titled(at, "Numbers by quality rating per day")

    last_day = {trace["name"].split(" ")[0]: values(trace["y"])[-1] for trace in spec["data"]}
    assert sum(last_day.values()) == len(numbers_table(demo_db).query("group_state == 'active'"))
    assert {trace["line"]["shape"] for trace in spec["data"]} == {"hv"}


def picks_script() -> None:
    import streamlit as st

    from pages.charts_section import render_numbers_charts
    from pages.kit import reads

    numbers = reads.numbers()
    st.session_state["picked"] = render_numbers_charts(numbers, "numbers")


@pytest.fixture
def charts_app(demo_db) -> AppTest:
    at = AppTest.from_function(picks_script, default_timeout=TIMEOUT)
    at.secrets = {"fleet_tests": {"mode": "local"}}
    return at.run()


def test_nothing_picked_narrows_nothing(charts_app):
    assert exceptions(charts_app) == []
    assert charts_app.session_state["picked"] is None
    assert len(charts_app.get("plotly_chart")) == 3


def test_clicking_a_quality_segment_picks_the_numbers_behind_it(charts_app, demo_db):
    numbers = numbers_table(demo_db)
    grouped = chart_data.quality_counts(numbers, "waba")
    waba_id = grouped.groups[0][0]
    point = {"curve_number": 1, "point_index": 0, "customdata": [waba_id, "YELLOW", "", ""]}

    charts_app.session_state["numbers_quality_by_waba_0"] = {
        "selection": {"points": [point], "point_indices": [0], "box": [], "lasso": []}
    }
    charts_app.run()

    expected = numbers.query("waba_id == @waba_id and quality_rating == 'YELLOW'")["phone_e164"]
    assert charts_app.session_state["picked"] == frozenset(expected)
    assert f"narrow the table to {count(len(expected), 'number')}." in " ".join(c.value for c in charts_app.caption)


def test_picks_in_two_charts_narrow_to_the_numbers_in_both(charts_app, demo_db):
    numbers = numbers_table(demo_db)
    busiest = numbers["portfolio_id"].value_counts().index[0]
    point = {"customdata": [busiest, "TIER_2K", "", 1, "ok"]}
    green = [{"customdata": [key, "GREEN"]} for key, _ in chart_data.quality_counts(numbers, "waba").groups]

    charts_app.session_state["numbers_headroom_0"] = {"selection": {"points": [point], "box": [], "lasso": []}}
    charts_app.session_state["numbers_quality_by_waba_0"] = {"selection": {"points": green, "box": [], "lasso": []}}
    charts_app.run()

    expected = numbers.query("portfolio_id == @busiest and quality_rating == 'GREEN'")["phone_e164"]
    assert charts_app.session_state["picked"] == frozenset(expected)


def test_clearing_picks_draws_fresh_charts_with_nothing_picked(charts_app):
    point = {"customdata": ["x", "GREEN"]}
    charts_app.session_state["numbers_quality_by_waba_0"] = {"selection": {"points": [point], "box": [], "lasso": []}}
    charts_app.run()

    next(b for b in charts_app.button if b.label == "Clear chart picks").click().run()

    assert charts_app.session_state["picked"] is None


def test_a_bar_clicked_on_the_numbers_page_narrows_its_table(demo_db, open_page):
    numbers = numbers_table(demo_db)
    waba_id = chart_data.quality_counts(numbers, "waba").groups[0][0]
    at = open_page("numbers.py")
    point = {"curve_number": 0, "point_index": 0, "customdata": [waba_id, "GREEN", "", ""]}

    at.session_state["numbers_quality_by_waba_0"] = {"selection": {"points": [point], "box": [], "lasso": []}}
    at.run()

    expected = numbers.query("waba_id == @waba_id and quality_rating == 'GREEN'")["phone_e164"]
    assert sorted(table(at, "numbers_table")["phone_e164"]) == sorted(expected)
    assert (
        bar_totals(figure_titled(at, "Quality rating per WABA")) == numbers["quality_rating"].value_counts().to_dict()
    )
