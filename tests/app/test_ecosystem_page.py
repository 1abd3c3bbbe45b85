"""Ecosystem page: the diagram drawn live from the database, its scope, collapsing, archived groups and downloads."""

from __future__ import annotations

from pathlib import Path

from core import diagram, services
from core.reads.accounts import connections_table
from tests import builders
from tests.app.ui import exceptions, shown_text
from tests.conftest import skip_or_fail


def dot_of(at) -> str:
    charts = at.get("graphviz_chart")
    assert len(charts) == 1, "the page draws exactly one diagram"
    return charts[0].proto.spec


def test_the_demo_fleet_is_drawn_with_every_workspace_portfolio_and_waba(demo_db, open_page):
    at = open_page("ecosystem.py")

    dot = dot_of(at)
    assert exceptions(at) == []
    assert dot.startswith("digraph ecosystem {")
    for workspace in ("EU Brands", "Americas Retail", "APAC Services"):
        assert f'"Workspace\\n{workspace}\\nWABAs ' in dot
    assert dot.count("subgraph cluster_pf") == 5
    assert "Its WABAs share user access and catalogs" in dot
    assert "numbers 20/20 · templates 4" in dot
    assert "12 WABAs · 80 numbers" in shown_text(at)


def test_one_workspace_scope_draws_only_that_workspace(demo_db, open_page):
    at = open_page("ecosystem.py")

    at.radio(key="ecosystem_scope_kind").set_value("workspace").run()
    at.selectbox(key="ecosystem_workspace").set_value("APAC Services").run()

    dot = dot_of(at)
    assert '"Workspace\\nAPAC Services\\nWABAs 2/10"' in dot
    assert "EU Brands" not in dot
    assert "Americas Retail" not in dot


def test_one_portfolio_scope_draws_that_portfolio_and_the_workspaces_it_serves(demo_db, open_page):
    at = open_page("ecosystem.py")
    at.radio(key="ecosystem_scope_kind").set_value("portfolio").run()
    name, portfolio_id = at.selectbox(key="ecosystem_portfolio").options[-1].rstrip(")").rsplit(" (", 1)

    at.selectbox(key="ecosystem_portfolio").set_value(portfolio_id).run()

    dot = dot_of(at)
    served = connections_table(demo_db).query("portfolio_id == @portfolio_id")["workspace"]
    assert dot.count("subgraph cluster_pf") == 1
    assert f"Business portfolio: {name}\\n" in dot
    assert dot.count('"Workspace\\n') == len(set(served)) > 0


def test_archived_groups_appear_only_when_asked_for(demo_db, open_page):
    at = open_page("ecosystem.py")
    assert "(archived)" not in dot_of(at)

    at.checkbox(key="ecosystem_show_archived").check().run()

    assert "(archived)" in dot_of(at)


def test_a_collapsed_waba_can_be_expanded_to_show_each_number(demo_db, open_page):
    at = open_page("ecosystem.py")
    collapsed = at.multiselect(key="ecosystem_expanded")
    waba_id = collapsed.options[0].rsplit("(", 1)[1].rstrip(")")
    before = dot_of(at).count("numbers (collapsed)")

    collapsed.select(waba_id).run()

    assert before > 0
    assert at.multiselect(key="ecosystem_expanded").value == [waba_id]
    assert dot_of(at).count("numbers (collapsed)") == before - 1


def test_hostile_names_reach_the_diagram_escaped(empty_db, open_page):
    evil, script = '"}; evil [label="x', "<script>alert(1)</script>"
    services.add_workspace(empty_db, builders.ADMIN, evil)
    portfolio = services.add_portfolio(empty_db, builders.ADMIN, meta_business_id="555", name=script)
    services.connect_portfolio(empty_db, builders.ADMIN, workspace=evil, portfolio_meta_id=portfolio)

    at = open_page("ecosystem.py")

    dot = dot_of(at)
    assert exceptions(at) == []
    assert '"Workspace\\n\\"}; evil [label=\\"x\\nWABAs 0/10"' in dot
    assert '"Business portfolio: <script>alert(1)</script>\\n' in dot
    assert "\n  evil" not in dot


def test_the_dot_download_is_the_diagram_shown(demo_db, open_page, downloads):
    at = open_page("ecosystem.py")

    download = at.get("download_button")
    dot_button = next(b for b in download if b.proto.label == "Download DOT")

    assert downloads.content(dot_button.proto.url).decode("utf-8") == dot_of(at)


def test_without_graphviz_the_page_says_svg_needs_it_and_offers_dot_only(
    demo_db, open_page, tmp_path: Path, monkeypatch
):
    monkeypatch.setenv("PATH", str(tmp_path))

    at = open_page("ecosystem.py")

    assert diagram.SVG_UNAVAILABLE in shown_text(at)
    assert [b.proto.label for b in at.get("download_button")] == ["Download DOT"]


def test_with_graphviz_the_page_offers_an_svg_download(demo_db, open_page):
    if not diagram.svg_available():
        skip_or_fail("Graphviz's dot program is not installed", "FLEET_REQUIRE_GRAPHVIZ")

    at = open_page("ecosystem.py")

    assert [b.proto.label for b in at.get("download_button")] == ["Download DOT", "Download SVG"]
    assert diagram.SVG_UNAVAILABLE not in shown_text(at)


def test_an_empty_fleet_says_where_to_start_and_draws_nothing(empty_db, open_page):
    at = open_page("ecosystem.py")

    assert "No workspace yet" in shown_text(at)
    assert len(at.get("graphviz_chart")) == 0


def zoom_styles(at) -> list[str]:
    """The style rules sent to widen the diagram (none at Fit width)."""
    return [html.proto.body for html in at.get("html")]


def test_a_zoom_draws_the_diagram_at_that_share_of_the_width_and_stays_chosen(demo_db, open_page):
    at = open_page("ecosystem.py")
    fitted = dot_of(at)
    assert at.button_group(key="ecosystem_zoom").value == 100
    assert zoom_styles(at) == []

    at.button_group(key="ecosystem_zoom").set_value(200).run()
    at.checkbox(key="ecosystem_show_archived").check().run()

    assert exceptions(at) == []
    [style] = zoom_styles(at)
    assert "width: 200%; max-width: none;" in style
    assert at.button_group(key="ecosystem_zoom").value == 200
    assert at.get_by_key("ecosystem_zoomed").get("graphviz_chart")[0].proto.spec == dot_of(at) != fitted


def test_fit_width_draws_the_diagram_at_the_page_width_again(demo_db, open_page):
    at = open_page("ecosystem.py")
    at.button_group(key="ecosystem_zoom").set_value(300).run()

    at.button_group(key="ecosystem_zoom").set_value(100).run()

    assert zoom_styles(at) == []
    assert len(at.get("graphviz_chart")) == 1
