"""The ecosystem diagram's DOT text: clusters, edges, capacity counts, collapsing, scope, and escaping.

The DOT is read back with a strict reader (below): any text a hostile name could inject outside its quoted
label would make it fail. When Graphviz's `dot` program is installed, the diagram is also rendered to SVG.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path

import graphviz
import pandas as pd
import pytest

from core import diagram, palette, seed
from core.reads.ecosystem import ecosystem
from tests.conftest import skip_or_fail

HOSTILE = ['"}; evil [label="x', "<script>alert(1)</script>", "back\\slash \\N \\G", "{braces} | <b>", "a\\"]

# --- a strict reader of the DOT subset the builder writes --------------------------------------------------

_TOKEN = re.compile(
    r"""(?P<space>\s+)|(?P<string>"(?:[^"\\]|\\.)*")|(?P<arrow>->)|(?P<id>[A-Za-z_][A-Za-z_0-9]*)|(?P<punct>[{}\[\]=;,])""",
    re.S,
)


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        assert match, f"unexpected DOT text at {position}: {text[position : position + 40]!r}"
        if match.lastgroup != "space":
            tokens.append((match.lastgroup or "", match.group()))
        position = match.end()
    return tokens


def unquote(token: str) -> str:
    """A DOT quoted string's text, with `\\n` read as a line break (as Graphviz does in labels)."""
    body, out, index = token[1:-1], [], 0
    while index < len(body):
        char = body[index]
        if char == "\\" and index + 1 < len(body):
            following = body[index + 1]
            out.append("\n" if following == "n" else following if following in '"\\' else "\\" + following)
            index += 2
        else:
            out.append(char)
            index += 1
    return "".join(out)


@dataclass
class Graph:
    nodes: dict[str, dict[str, str]] = field(default_factory=dict)
    edges: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    clusters: dict[str, dict[str, object]] = field(default_factory=dict)  # id -> {"attrs": …, "nodes": […]}


class _Reader:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0
        self.graph = Graph()

    def take(self, kind: str, value: str | None = None) -> str:
        token_kind, token = self.tokens[self.at]
        assert token_kind == kind, f"expected {kind}, got {token!r}"
        assert value is None or token == value, f"expected {value}, got {token!r}"
        self.at += 1
        return token

    def peek(self) -> str:
        return self.tokens[self.at][1]

    def attributes(self) -> dict[str, str]:
        values: dict[str, str] = {}
        self.take("punct", "[")
        while self.peek() != "]":
            name = self.take("id")
            self.take("punct", "=")
            values[name] = unquote(self.take("string"))
            if self.peek() == ",":
                self.take("punct", ",")
        self.take("punct", "]")
        return values

    def statements(self, cluster: str | None) -> None:
        while self.peek() != "}":
            word = self.take("id")
            if word == "subgraph":
                name = self.take("id")
                self.take("punct", "{")
                self.graph.clusters[name] = {"attrs": {}, "nodes": []}
                self.statements(name)
                self.take("punct", "}")
                continue
            if word in ("graph", "node", "edge"):
                values = self.attributes()
                if word == "graph" and cluster:
                    self.graph.clusters[cluster]["attrs"] = values
            elif self.peek() == "->":
                self.take("arrow")
                head = self.take("id")
                values = self.attributes() if self.peek() == "[" else {}
                self.graph.edges.append((word, head, values))
            else:
                assert word not in self.graph.nodes, f"node {word} declared twice"
                self.graph.nodes[word] = self.attributes()
                if cluster:
                    self.graph.clusters[cluster]["nodes"].append(word)
            self.take("punct", ";")

    def read(self) -> Graph:
        self.take("id", "digraph")
        self.take("id", "ecosystem")
        self.take("punct", "{")
        self.statements(None)
        self.take("punct", "}")
        assert self.at == len(self.tokens), "text after the graph"
        return self.graph


def read_dot(text: str) -> Graph:
    return _Reader(text).read()


def label_lines(graph: Graph, node: str) -> list[str]:
    return graph.nodes[node]["label"].split("\n")


def nodes_labelled(graph: Graph, prefix: str) -> dict[str, list[str]]:
    return {n: label_lines(graph, n) for n in graph.nodes if re.fullmatch(prefix + r"\d+", n)}


# --- ecosystems to draw ------------------------------------------------------------------------------------


def make_ecosystem(
    workspaces: list[tuple[str, int]],
    portfolios: list[tuple[str, str, str | None, int]],
    connections: list[tuple[str, str]],
    wabas: list[tuple[str, str, str, str, str, int, int]],
    groups: list[tuple[str, str, str, str, str, str, str]],
) -> diagram.Ecosystem:
    return diagram.Ecosystem(
        workspaces=pd.DataFrame(workspaces, columns=["workspace", "wabas"]),
        portfolios=pd.DataFrame(portfolios, columns=["portfolio_id", "portfolio", "messaging_limit", "active_numbers"]),
        connections=pd.DataFrame(connections, columns=["workspace", "portfolio_id"]),
        wabas=pd.DataFrame(
            wabas,
            columns=["waba_id", "waba", "workspace", "portfolio_id", "state", "active_numbers", "templates"],
        ),
        groups=pd.DataFrame(
            groups,
            columns=[
                "waba_id",
                "subscription_group",
                "group_state",
                "phone_e164",
                "display_name",
                "quality_rating",
                "status",
            ],
        ),
    )


def small_fleet() -> diagram.Ecosystem:
    return make_ecosystem(
        workspaces=[("EU Brands", 2), ("Americas", 1)],
        portfolios=[("100", "Acme Europe", "TIER_2K", 4), ("101", "Acme Americas", "TIER_1K", 1)],
        connections=[("EU Brands", "100"), ("EU Brands", "101"), ("Americas", "101")],
        wabas=[
            ("200", "Fashion FR", "EU Brands", "100", "active", 3, 4),
            ("201", "Sport DE", "EU Brands", "101", "active", 1, 2),
            ("202", "Retail US", "Americas", "101", "active", 0, 0),
            ("203", "Old brand", "EU Brands", "100", "archived", 0, 1),
        ],
        groups=[
            ("200", "FR main", "active", "+33612345678", "Fashion", "GREEN", "CONNECTED"),
            ("200", "FR promo", "active", "+33612345679", "Fashion promo", "RED", "FLAGGED"),
            ("200", "FR care", "active", "+33612345680", "Fashion care", "YELLOW", "CONNECTED"),
            ("200", "FR old", "archived", "+33612345681", "Old line", "NA", "DISCONNECTED"),
            ("201", "DE main", "active", "+4915112345678", "Sport", "NA", "PENDING"),
        ],
    )


def numbered_waba(waba_id: str, count: int, qualities: list[str]) -> list[tuple[str, str, str, str, str, str, str]]:
    return [
        (waba_id, f"g{waba_id}-{i}", "active", f"+3361{int(waba_id):03d}{i:04d}", f"S{i}", qualities[i], "CONNECTED")
        for i in range(count)
    ]


def fleet_with_wabas(sizes: dict[str, int]) -> diagram.Ecosystem:
    groups = []
    for waba_id, count in sizes.items():
        qualities = ["RED", "RED"] + ["GREEN"] * (count - 2)
        groups += numbered_waba(waba_id, count, qualities)
    return make_ecosystem(
        workspaces=[("W", len(sizes))],
        portfolios=[("100", "P", "TIER_10K", len(groups))],
        connections=[("W", "100")],
        wabas=[(w, f"WABA {w}", "W", "100", "active", n, 1) for w, n in sizes.items()],
        groups=groups,
    )


# --- structure ---------------------------------------------------------------------------------------------


def test_each_portfolio_is_a_cluster_that_says_its_wabas_share_access_and_catalogs():
    graph = read_dot(diagram.build_diagram(small_fleet()).dot)

    portfolio_clusters = {k: v for k, v in graph.clusters.items() if k not in ("cluster_legend", "legend_column")}
    assert len(portfolio_clusters) == 2
    for cluster in portfolio_clusters.values():
        assert "Its WABAs share user access and catalogs" in cluster["attrs"]["label"]
    europe = next(c for c in portfolio_clusters.values() if "Acme Europe" in c["attrs"]["label"])
    members = {graph.nodes[n]["label"].split("\n")[0] for n in europe["nodes"]}
    assert "WABA: Fashion FR" in members
    assert "WABA: Sport DE" not in members


def test_workspaces_show_wabas_used_of_ten_and_wabas_numbers_used_of_twenty_with_templates():
    graph = read_dot(diagram.build_diagram(small_fleet()).dot)

    workspaces = nodes_labelled(graph, "ws")
    wabas = nodes_labelled(graph, "waba")
    assert ["Workspace", "EU Brands", "WABAs 2/10"] in workspaces.values()
    assert ["WABA: Fashion FR", "numbers 3/20 · templates 4"] in wabas.values()
    assert ["WABA: Retail US", "numbers 0/20 · templates 0"] in wabas.values()


def test_connections_are_dashed_workspace_to_portfolio_edges_and_wabas_hang_off_their_workspace():
    graph = read_dot(diagram.build_diagram(small_fleet()).dot)

    name = {n: label_lines(graph, n)[1] if n.startswith("ws") else label_lines(graph, n)[0] for n in graph.nodes}
    connections = {(name[t], name[h]) for t, h, a in graph.edges if t.startswith("ws") and h.startswith("pf")}
    attached = {(name[t], name[h]) for t, h, a in graph.edges if t.startswith("ws") and h.startswith("waba")}
    assert connections == {("EU Brands", "Acme Europe"), ("EU Brands", "Acme Americas"), ("Americas", "Acme Americas")}
    assert all(a["style"] == "dashed" for t, h, a in graph.edges if t.startswith("ws") and h.startswith("pf"))
    assert attached == {
        ("EU Brands", "WABA: Fashion FR"),
        ("EU Brands", "WABA: Sport DE"),
        ("Americas", "WABA: Retail US"),
    }


def test_numbers_are_coloured_by_quality_marked_when_at_risk_and_name_their_group():
    graph = read_dot(diagram.build_diagram(small_fleet()).dot)

    numbers = {label_lines(graph, n)[0]: graph.nodes[n] for n in nodes_labelled(graph, "n")}
    flagged = numbers["⚠ +33 6 12 34 56 79"]
    assert flagged["fillcolor"] == palette.QUALITY_COLORS["RED"]
    assert flagged["fontcolor"] == palette.text_color(palette.QUALITY_COLORS["RED"])
    assert flagged["label"].split("\n")[1:] == ["Fashion promo", "group: FR promo", "RED · FLAGGED"]
    assert numbers["+33 6 12 34 56 78"]["fillcolor"] == palette.QUALITY_COLORS["GREEN"]
    assert numbers["+49 1511 2345678"]["fillcolor"] == palette.QUALITY_COLORS["NA"]


def test_archived_groups_and_wabas_are_hidden_unless_asked_for_then_drawn_dashed():
    hidden = read_dot(diagram.build_diagram(small_fleet()).dot)
    shown = read_dot(diagram.build_diagram(small_fleet(), show_archived=True).dot)

    def group_lines(graph: Graph) -> set[str]:
        return {label_lines(graph, n)[2] for n in nodes_labelled(graph, "n")}

    assert "group: FR old (archived)" not in group_lines(hidden)
    assert "group: FR old (archived)" in group_lines(shown)
    archived = next(n for n in nodes_labelled(shown, "n") if "FR old" in shown.nodes[n]["label"])
    assert shown.nodes[archived]["style"] == "filled,dashed"
    assert "WABA: Old brand (archived)" not in {label_lines(hidden, n)[0] for n in nodes_labelled(hidden, "waba")}
    assert "WABA: Old brand (archived)" in {label_lines(shown, n)[0] for n in nodes_labelled(shown, "waba")}


def test_a_legend_spells_out_each_colour_and_the_at_risk_mark():
    graph = read_dot(diagram.build_diagram(small_fleet()).dot)

    legend = graph.clusters["legend_column"]["nodes"]
    assert graph.clusters["legend_column"]["attrs"]["rank"] == "same"  # a column beside the fleet, not a wide row
    assert [graph.nodes[n]["label"] for n in legend[:5]] == [f"quality {q}" for q in palette.QUALITY_ORDER]
    assert [graph.nodes[n]["fillcolor"] for n in legend[:5]] == list(palette.QUALITY_COLORS.values())
    assert graph.nodes["legend_risk"]["label"].startswith("⚠ status at risk")


# --- readable at scale ---------------------------------------------------------------------------------------


def test_a_waba_with_more_than_eight_numbers_collapses_into_counts_by_quality():
    built = diagram.build_diagram(fleet_with_wabas({"1": 9, "2": 8}))
    graph = read_dot(built.dot)

    assert built.collapsed == ("1",)
    summaries = list(nodes_labelled(graph, "sum").values())
    assert summaries == [["9 numbers (collapsed)", "GREEN 7 · RED 2", "⚠ 2 at risk"]]
    assert len(nodes_labelled(graph, "n")) == 8
    summary = next(iter(nodes_labelled(graph, "sum")))
    assert graph.nodes[summary]["fillcolor"] == palette.QUALITY_COLORS["RED"]


def test_an_expanded_waba_draws_each_of_its_numbers():
    built = diagram.build_diagram(fleet_with_wabas({"1": 9, "2": 8}), expanded=["1"])
    graph = read_dot(built.dot)

    assert built.collapsible == ("1",)
    assert built.collapsed == ()
    assert len(nodes_labelled(graph, "n")) == 17
    assert nodes_labelled(graph, "sum") == {}


def test_more_than_150_numbers_in_view_collapse_every_waba():
    built = diagram.build_diagram(fleet_with_wabas({str(w): 8 for w in range(1, 21)}))
    graph = read_dot(built.dot)

    assert len(built.collapsed) == 20
    assert nodes_labelled(graph, "n") == {}
    assert len(nodes_labelled(graph, "sum")) == 20


def test_ten_thousand_numbers_draw_one_summary_per_waba():
    wabas = {str(w): 20 for w in range(1, 501)}

    built = diagram.build_diagram(fleet_with_wabas(wabas))
    graph = read_dot(built.dot)

    assert built.counts == {"workspaces": 1, "portfolios": 1, "wabas": 500, "numbers": 10_000}
    assert len(nodes_labelled(graph, "sum")) == 500
    assert nodes_labelled(graph, "n") == {}
    assert len(graph.nodes) < 1_100


def test_a_large_fleet_opens_on_one_workspace():
    small = fleet_with_wabas({"1": 2})
    large = fleet_with_wabas({str(w): 1 for w in range(1, diagram.LARGE_FLEET_WABAS + 2)})

    assert diagram.default_scope(small) == diagram.EVERYTHING
    assert diagram.default_scope(large) == diagram.Scope("workspace", "W")


# --- scope ---------------------------------------------------------------------------------------------------


def test_workspace_scope_shows_that_workspace_its_connected_portfolios_and_its_wabas():
    built = diagram.build_diagram(small_fleet(), diagram.Scope("workspace", "Americas"))
    graph = read_dot(built.dot)

    assert [lines[1] for lines in nodes_labelled(graph, "ws").values()] == ["Americas"]
    assert [lines[0] for lines in nodes_labelled(graph, "pf").values()] == ["Acme Americas"]
    assert [lines[0] for lines in nodes_labelled(graph, "waba").values()] == ["WABA: Retail US"]
    assert built.counts == {"workspaces": 1, "portfolios": 1, "wabas": 1, "numbers": 0}


def test_portfolio_scope_shows_that_portfolio_its_wabas_and_every_workspace_it_serves():
    built = diagram.build_diagram(small_fleet(), diagram.Scope("portfolio", "101"))
    graph = read_dot(built.dot)

    assert sorted(lines[1] for lines in nodes_labelled(graph, "ws").values()) == ["Americas", "EU Brands"]
    assert [lines[0] for lines in nodes_labelled(graph, "pf").values()] == ["Acme Americas"]
    assert sorted(lines[0] for lines in nodes_labelled(graph, "waba").values()) == ["WABA: Retail US", "WABA: Sport DE"]
    assert built.counts["numbers"] == 1


# --- escaping ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", HOSTILE)
def test_quoting_round_trips_any_name_as_one_dot_string(name):
    quoted = diagram.quote(name)

    assert _tokens(quoted) == [("string", quoted)]
    assert unquote(quoted) == name


def test_quoting_replaces_line_breaks_and_control_characters_and_truncates_before_escaping():
    assert unquote(diagram.quote("two\nlines\r\x00end")) == "two lines  end"
    long_name = "x" * 46 + '\\"tail'  # cut right after the backslash

    quoted = diagram.quote(long_name)

    assert _tokens(quoted) == [("string", quoted)]
    assert unquote(quoted) == "x" * 46 + "\\…"


def hostile_fleet() -> diagram.Ecosystem:
    evil, script, slash, braces, trailing = HOSTILE
    return make_ecosystem(
        workspaces=[(evil, 1), (script, 0)],
        portfolios=[("100", braces, "TIER_2K", 1)],
        connections=[(evil, "100"), (script, "100")],
        wabas=[("200", slash, evil, "100", "active", 1, 1)],
        groups=[("200", trailing, "active", "+33612345678", script, "RED", "BANNED")],
    )


def test_hostile_names_stay_inside_their_labels():
    graph = read_dot(diagram.build_diagram(hostile_fleet()).dot)

    assert all(re.fullmatch(r"(ws|pf|waba|n|sum)\d+|legend_\w+", node) for node in graph.nodes)
    assert len(nodes_labelled(graph, "ws")) == 2
    labels = [graph.nodes[n]["label"] for n in graph.nodes]
    evil, script, slash, braces, trailing = HOSTILE
    assert f"Workspace\n{evil}\nWABAs 1/10" in labels
    assert f"Workspace\n{script}\nWABAs 0/10" in labels
    assert any(label.startswith(f"WABA: {slash}\n") for label in labels)
    assert any(label.startswith(f"{braces}\n") for label in labels)
    assert f"⚠ +33 6 12 34 56 78\n{script}\ngroup: {trailing}\nRED · BANNED" in labels
    assert any(braces in c["attrs"]["label"] for c in graph.clusters.values())


def test_hostile_names_render_as_text_in_svg():
    if not diagram.svg_available():
        skip_or_fail("Graphviz's dot program is not installed", "FLEET_REQUIRE_GRAPHVIZ")

    svg = diagram.render_svg(diagram.build_diagram(hostile_fleet()).dot)

    root = ElementTree.fromstring(svg)
    texts = {element.text for element in root.iter("{http://www.w3.org/2000/svg}text")}
    assert set(HOSTILE[:2]) <= texts
    assert not any(element.tag.endswith("script") for element in root.iter())
    assert b"&lt;script&gt;" in svg


def test_the_demo_fleet_renders_to_svg():
    if not diagram.svg_available():
        skip_or_fail("Graphviz's dot program is not installed", "FLEET_REQUIRE_GRAPHVIZ")
    built = diagram.build_diagram(small_fleet(), show_archived=True)

    svg = diagram.render_svg(built.dot)

    assert svg.startswith(b"<?xml")
    assert b"Fashion FR" in svg


def test_without_the_dot_program_svg_is_unavailable_and_dot_text_still_builds(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))

    built = diagram.build_diagram(small_fleet())

    assert not diagram.svg_available()
    assert read_dot(built.dot).nodes
    with pytest.raises(graphviz.ExecutableNotFound):
        diagram.render_svg(built.dot)


# --- from the database -------------------------------------------------------------------------------------


def test_the_ecosystem_is_read_from_the_database_in_full(sqlite_engine):
    seed.seed(sqlite_engine, seed.DEMO_SHAPE)

    fleet = ecosystem(sqlite_engine)
    built = diagram.build_diagram(fleet, show_archived=True)

    assert (len(fleet.workspaces), len(fleet.portfolios), len(fleet.wabas)) == (3, 5, 12)
    assert fleet.groups["group_state"].value_counts().to_dict() == {"active": 80, "archived": 12}
    assert built.counts == {"workspaces": 3, "portfolios": 5, "wabas": 12, "numbers": 92}
    assert read_dot(built.dot).clusters
