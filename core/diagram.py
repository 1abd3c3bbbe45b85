"""The ecosystem diagram as Graphviz DOT text: workspaces ↔ business portfolios ↔ WABAs ↔ numbers (↔ groups).

Built from DataFrames (see `ecosystem`), so it is testable without Streamlit or Graphviz. Every
name is user or Meta data, so every label goes through `quote`: nodes get generated ids (ws1, pf1, waba1, n1…)
and names only ever appear inside escaped, double-quoted labels — never as ids, never as HTML or record labels.
A large view collapses a WABA's numbers into one summary node (counts by quality), expandable per WABA.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from core import model
from core.palette import (
    AT_RISK_MARK,
    GREY,
    QUALITY_ORDER,
    ordered_values,
    quality_color,
    status_mark,
    text_color,
)
from core.wording import count

MAX_LABEL_LENGTH = 48
# Above these, a WABA's numbers are drawn as one summary node unless the user expands that WABA.
NUMBERS_PER_WABA_SHOWN = 8
NUMBERS_IN_VIEW_SHOWN = 150
# A fleet with more WABAs than this opens on one workspace: a browser cannot lay out thousands of nodes.
LARGE_FLEET_WABAS = 60
SVG_UNAVAILABLE = "SVG export needs Graphviz's dot program; DOT download only."
_WORST_FIRST = ("RED", "YELLOW", "GREEN", "NA", "UNKNOWN")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


@dataclass(frozen=True)
class Ecosystem:
    """Everything the diagram shows, read from the database in a few queries."""

    workspaces: pd.DataFrame  # workspace, wabas (active, of 10)
    portfolios: pd.DataFrame  # portfolio_id, portfolio, messaging_limit, active_numbers
    connections: pd.DataFrame  # workspace, portfolio_id
    wabas: pd.DataFrame  # waba_id, waba, workspace, portfolio_id, state, active_numbers, templates
    groups: pd.DataFrame  # waba_id, subscription_group, group_state, phone_e164, display_name, quality_rating, status

    def is_empty(self) -> bool:
        return self.workspaces.empty


@dataclass(frozen=True)
class Scope:
    """What the diagram shows: everything, one workspace (by name) or one portfolio (by Meta business id)."""

    kind: Literal["everything", "workspace", "portfolio"] = "everything"
    value: str = ""


EVERYTHING = Scope()


@dataclass(frozen=True)
class Limits:
    numbers_per_waba: int = NUMBERS_PER_WABA_SHOWN
    numbers_in_view: int = NUMBERS_IN_VIEW_SHOWN


@dataclass(frozen=True)
class Diagram:
    dot: str
    collapsible: tuple[str, ...]  # WABA ids drawn as a summary unless expanded (what the user may expand)
    collapsed: tuple[str, ...]  # WABA ids drawn as a summary in this diagram
    counts: dict[str, int] = field(default_factory=dict)  # workspaces, portfolios, wabas, numbers in view


def quote(text: object, limit: int | None = MAX_LABEL_LENGTH) -> str:
    """A DOT double-quoted string that shows `text` literally.

    Inside a quoted DOT string only `"` and `\\` are special (a backslash also starts Graphviz escapes such as
    \\N or \\G, and a newline is a line break), so backslashes are doubled, quotes escaped and control characters
    replaced by spaces. Braces, `<`, `>` and `|` are then plain characters: labels are never record or HTML labels.
    """
    value = "" if text is None or (isinstance(text, float) and pd.isna(text)) else str(text)
    value = _CONTROL.sub(" ", value)
    if limit is not None and len(value) > limit:
        value = value[: limit - 1] + "…"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def label(*lines: object, limit: int | None = MAX_LABEL_LENGTH) -> str:
    """Several lines, each escaped on its own, joined by DOT's line break."""
    return '"' + "\\n".join(quote(line, limit)[1:-1] for line in lines if line not in (None, "")) + '"'


def _attributes(**values: str) -> str:
    return "[" + ", ".join(f"{name}={value}" for name, value in values.items()) + "]"


def default_scope(ecosystem: Ecosystem) -> Scope:
    """Everything for a small fleet; the first workspace when the whole fleet would not be readable."""
    if len(ecosystem.wabas) <= LARGE_FLEET_WABAS or ecosystem.workspaces.empty:
        return EVERYTHING
    return Scope("workspace", str(ecosystem.workspaces["workspace"].iloc[0]))


@dataclass(frozen=True)
class _View:
    workspaces: pd.DataFrame
    portfolios: pd.DataFrame
    connections: pd.DataFrame
    wabas: pd.DataFrame
    groups: pd.DataFrame


def _in_scope(ecosystem: Ecosystem, scope: Scope, show_archived: bool) -> _View:
    wabas = ecosystem.wabas if show_archived else ecosystem.wabas[ecosystem.wabas["state"] == "active"]
    connections = ecosystem.connections
    if scope.kind == "workspace":
        wabas = wabas[wabas["workspace"] == scope.value]
        connections = connections[connections["workspace"] == scope.value]
        workspace_names = {scope.value}
        portfolio_ids = set(connections["portfolio_id"]) | set(wabas["portfolio_id"])
    elif scope.kind == "portfolio":
        wabas = wabas[wabas["portfolio_id"] == scope.value]
        connections = connections[connections["portfolio_id"] == scope.value]
        workspace_names = set(connections["workspace"]) | set(wabas["workspace"])
        portfolio_ids = {scope.value}
    else:
        workspace_names = set(ecosystem.workspaces["workspace"])
        portfolio_ids = set(ecosystem.portfolios["portfolio_id"])
    groups = ecosystem.groups[ecosystem.groups["waba_id"].isin(set(wabas["waba_id"]))]
    if not show_archived:
        groups = groups[groups["group_state"] == "active"]
    return _View(
        workspaces=ecosystem.workspaces[ecosystem.workspaces["workspace"].isin(workspace_names)],
        portfolios=ecosystem.portfolios[ecosystem.portfolios["portfolio_id"].isin(portfolio_ids)],
        connections=connections,
        wabas=wabas,
        groups=groups,
    )


def collapsible_wabas(groups: pd.DataFrame, limits: Limits) -> tuple[str, ...]:
    """WABAs whose numbers are summarised: those with many numbers, or all of them when the view is large."""
    per_waba = groups.groupby("waba_id", sort=True).size()
    if len(groups) > limits.numbers_in_view:
        return tuple(str(w) for w in per_waba.index)
    return tuple(str(w) for w, n in per_waba.items() if n > limits.numbers_per_waba)


def build_diagram(
    ecosystem: Ecosystem,
    scope: Scope = EVERYTHING,
    *,
    show_archived: bool = False,
    expanded: Iterable[str] = (),
    limits: Limits = Limits(),
) -> Diagram:
    """DOT text of the ecosystem in `scope`; `expanded` lists WABA ids whose numbers are drawn one by one."""
    view = _in_scope(ecosystem, scope, show_archived)
    collapsible = collapsible_wabas(view.groups, limits)
    collapsed = tuple(w for w in collapsible if w not in set(expanded))
    writer = _DotWriter()
    writer.header(_title(scope, view))
    workspace_ids = _draw_workspaces(writer, view.workspaces)
    portfolio_ids, waba_ids = _draw_portfolios(writer, view, set(collapsed))
    _draw_links(writer, view, workspace_ids, portfolio_ids, waba_ids)
    writer.legend()
    return Diagram(
        dot=writer.text(),
        collapsible=collapsible,
        collapsed=collapsed,
        counts={
            "workspaces": len(view.workspaces),
            "portfolios": len(view.portfolios),
            "wabas": len(view.wabas),
            "numbers": len(view.groups),
        },
    )


def _draw_workspaces(writer: _DotWriter, workspaces: pd.DataFrame) -> dict[str, str]:
    """One node per workspace with the WABAs it uses of its cap; returns the node id of each workspace name."""
    workspace_ids = {name: writer.new_id("ws") for name in sorted(workspaces["workspace"])}
    for row in workspaces.sort_values("workspace").itertuples(index=False):
        writer.node(
            workspace_ids[row.workspace],
            label=label("Workspace", row.workspace, f"WABAs {row.wabas}/{model.MAX_WABAS_PER_WORKSPACE}"),
            shape='"box3d"',
            style='"filled"',
            fillcolor='"#E8EEF4"',
            tooltip=quote(f"Workspace {row.workspace}", None),
        )
    return workspace_ids


def _draw_portfolios(writer: _DotWriter, view: _View, collapsed: set[str]) -> tuple[dict[str, str], dict[str, str]]:
    """One cluster per portfolio holding its WABAs and their numbers; returns the portfolio and WABA node ids."""
    portfolio_ids: dict[str, str] = {}
    waba_ids: dict[str, str] = {}
    # Plain tuples, grouped once: a 10,000-number fleet is drawn without a pandas operation per WABA.
    groups_by_waba: dict[str, list[Any]] = defaultdict(list)
    for number in view.groups.sort_values(["group_state", "phone_e164"]).itertuples(index=False):
        groups_by_waba[str(number.waba_id)].append(number)
    wabas_by_portfolio: dict[str, list[Any]] = defaultdict(list)
    for waba in view.wabas.sort_values(["waba", "waba_id"]).itertuples(index=False):
        wabas_by_portfolio[str(waba.portfolio_id)].append(waba)
    for portfolio in view.portfolios.sort_values(["portfolio", "portfolio_id"]).itertuples(index=False):
        pid = portfolio_ids[portfolio.portfolio_id] = writer.new_id("pf")
        _open_portfolio(writer, pid, portfolio)
        for waba in wabas_by_portfolio.get(str(portfolio.portfolio_id), []):
            wid = waba_ids[waba.waba_id] = writer.new_id("waba")
            _draw_waba(writer, pid, wid, waba, groups_by_waba.get(str(waba.waba_id), []), collapsed)
        writer.close_cluster()
    return portfolio_ids, waba_ids


def _open_portfolio(writer: _DotWriter, pid: str, portfolio: Any) -> None:
    writer.open_cluster(
        f"cluster_{pid}",
        label(
            f"Business portfolio: {portfolio.portfolio}",
            "Its WABAs share user access and catalogs",
        ),
    )
    writer.node(
        pid,
        label=label(
            portfolio.portfolio,
            f"id {portfolio.portfolio_id}",
            f"shared limit {portfolio.messaging_limit or 'not set'} · {count(portfolio.active_numbers, 'sender')}",
        ),
        shape='"folder"',
        style='"filled"',
        fillcolor='"#F4F1E8"',
        tooltip=quote(f"Business portfolio {portfolio.portfolio} ({portfolio.portfolio_id})", None),
    )


def _draw_waba(writer: _DotWriter, pid: str, wid: str, waba: Any, numbers: list[Any], collapsed: set[str]) -> None:
    """A WABA's node under its portfolio, then its numbers one by one, or one summary node when collapsed."""
    archived = waba.state != "active"
    writer.node(
        wid,
        label=label(
            f"WABA: {waba.waba}" + (" (archived)" if archived else ""),
            f"numbers {waba.active_numbers}/{model.MAX_NUMBERS_PER_WABA} · templates {waba.templates}",
        ),
        style='"rounded,filled,dashed"' if archived else '"rounded,filled"',
        fillcolor='"#FFFFFF"',
        tooltip=quote(f"WhatsApp Business Account {waba.waba} ({waba.waba_id})", None),
    )
    writer.edge(pid, wid, style='"invis"')
    if numbers and str(waba.waba_id) in collapsed:
        writer.summary(wid, numbers)
    else:
        for number in numbers:
            writer.number(wid, number)


def _draw_links(
    writer: _DotWriter,
    view: _View,
    workspace_ids: dict[str, str],
    portfolio_ids: dict[str, str],
    waba_ids: dict[str, str],
) -> None:
    """Workspace → connected portfolio (dashed) and workspace → its WABA edges, between nodes in view."""
    for connection in view.connections.itertuples(index=False):
        if connection.workspace in workspace_ids and connection.portfolio_id in portfolio_ids:
            writer.edge(
                workspace_ids[connection.workspace],
                portfolio_ids[connection.portfolio_id],
                style='"dashed"',
                tooltip='"portfolio connected to the workspace"',
            )
    for waba in view.wabas.itertuples(index=False):
        if waba.workspace in workspace_ids and waba.waba_id in waba_ids:
            writer.edge(workspace_ids[waba.workspace], waba_ids[waba.waba_id], tooltip='"WABA of the workspace"')


def _title(scope: Scope, view: _View) -> str:
    where = {"everything": "Whole fleet", "workspace": "Workspace", "portfolio": "Business portfolio"}[scope.kind]
    subject = f"{where} {scope.value}".strip()
    return f"{subject}: {count(len(view.wabas), 'WABA')}, {count(len(view.groups), 'number')}"


def quality_summary(numbers: Iterable[tuple[str | None, str | None]]) -> list[str]:
    """Lines like 'GREEN 9 · YELLOW 2 · RED 1' (palette order) then '⚠ 3 at risk', from (quality, status) pairs."""
    pairs = [(quality or "UNKNOWN", status) for quality, status in numbers]
    counts = Counter(quality for quality, _ in pairs)
    parts = [f"{q} {counts[q]}" for q in ordered_values(counts, QUALITY_ORDER)]
    lines = [" · ".join(parts[i : i + 3]) for i in range(0, len(parts), 3)]
    at_risk = sum(model.is_number_at_risk(quality, status) for quality, status in pairs)
    if at_risk:
        lines.append(f"{AT_RISK_MARK} {at_risk} at risk")
    return lines


class _DotWriter:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.depth = 1
        self.counters: dict[str, int] = {}

    def new_id(self, prefix: str) -> str:
        self.counters[prefix] = self.counters.get(prefix, 0) + 1
        return f"{prefix}{self.counters[prefix]}"

    def add(self, line: str) -> None:
        self.lines.append("  " * self.depth + line)

    def header(self, title: str) -> None:
        self.add(
            "graph "
            + _attributes(
                rankdir='"LR"',
                newrank='"true"',
                nodesep='"0.25"',
                ranksep='"0.7"',
                fontname='"Helvetica"',
                fontsize='"16"',
                labelloc='"t"',
                label=quote(title, None),
            )
            + ";"
        )
        self.add('node [shape="box", style="rounded,filled", fontname="Helvetica", fontsize="14", color="#555555"];')
        self.add('edge [color="#777777", arrowsize="0.6"];')

    def node(self, node_id: str, **attributes: str) -> None:
        self.add(f"{node_id} {_attributes(**attributes)};")

    def edge(self, tail: str, head: str, **attributes: str) -> None:
        self.add(f"{tail} -> {head}" + (f" {_attributes(**attributes)}" if attributes else "") + ";")

    def open_cluster(self, cluster_id: str, cluster_label: str) -> None:
        self.add(f"subgraph {cluster_id} {{")
        self.depth += 1
        self.add(
            "graph "
            + _attributes(label=cluster_label, style='"rounded,dashed"', color='"#8C8C8C"', labeljust='"l"')
            + ";"
        )

    def close_cluster(self) -> None:
        self.depth -= 1
        self.add("}")

    def number(self, waba_node: str, number: Any) -> None:
        quality = getattr(number, "quality_rating", None) or "UNKNOWN"
        status = getattr(number, "status", None) or "UNKNOWN"
        archived = getattr(number, "group_state", "active") != "active"
        fill = GREY if archived else quality_color(quality)
        mark = status_mark(status)
        node_id = self.new_id("n")
        e164 = str(getattr(number, "phone_e164", ""))
        self.node(
            node_id,
            label=label(
                f"{mark} {model.format_international(e164)}".strip(),
                getattr(number, "display_name", ""),
                f"group: {getattr(number, 'subscription_group', '')}" + (" (archived)" if archived else ""),
                f"{quality} · {status}",
            ),
            style='"filled,dashed"' if archived else '"filled"',
            fillcolor=quote(fill),
            fontcolor=quote(text_color(fill)),
            tooltip=quote(f"{e164} — quality {quality}, status {status}", None),
        )
        self.edge(waba_node, node_id, style='"dashed"' if archived else '"solid"')

    def summary(self, waba_node: str, numbers: list[Any]) -> None:
        active = [(n.quality_rating, n.status) for n in numbers if n.group_state == "active"]
        archived = len(numbers) - len(active)
        present = {quality or "UNKNOWN" for quality, _ in active}
        worst = next((q for q in _WORST_FIRST if q in present), None)
        fill = quality_color(worst) if worst else GREY
        lines = [f"{count(len(active), 'number')} (collapsed)", *quality_summary(active)]
        if archived:
            lines.append(count(archived, "archived group"))
        node_id = self.new_id("sum")
        self.node(
            node_id,
            label=label(*lines),
            shape='"note"',
            style='"filled"',
            fillcolor=quote(fill),
            fontcolor=quote(text_color(fill)),
            tooltip='"Expand this WABA above the diagram to see each number"',
        )
        self.edge(waba_node, node_id)

    def legend(self) -> None:
        self.open_cluster(
            "cluster_legend",
            label("How to read", "dashed arrow: portfolio connected to workspace", "solid arrow: WABA of workspace"),
        )
        # One rank: the legend stands as a column beside the fleet rather than a row as wide as six ranks, which
        # made the whole diagram shrink to fit the page.
        self.add("subgraph legend_column {")
        self.depth += 1
        self.add('graph [rank="same"];')
        previous = ""
        for quality in QUALITY_ORDER:
            node_id = f"legend_{quality.lower()}"
            fill = quality_color(quality)
            self.node(
                node_id,
                label=label(f"quality {quality}"),
                fillcolor=quote(fill),
                fontcolor=quote(text_color(fill)),
                style='"filled"',
            )
            if previous:
                self.edge(previous, node_id, style='"invis"')
            previous = node_id
        self.node(
            "legend_risk",
            label=label(f"{AT_RISK_MARK} status at risk", *sorted(model.AT_RISK_STATUS), limit=None),
            fillcolor='"#FFFFFF"',
            style='"filled"',
        )
        self.edge(previous, "legend_risk", style='"invis"')
        self.depth -= 1
        self.add("}")
        self.close_cluster()

    def text(self) -> str:
        return "digraph ecosystem {\n" + "\n".join(self.lines) + "\n}\n"


def svg_available() -> bool:
    """SVG export runs Graphviz's `dot` program, which is not a Python package."""
    return shutil.which("dot") is not None


def render_svg(dot: str) -> bytes:
    """The diagram as SVG through the `graphviz` package (needs the `dot` program on PATH)."""
    import graphviz

    return graphviz.Source(dot).pipe(format="svg")
