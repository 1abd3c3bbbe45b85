"""One place decides when cached data is stale: every cached function of the pages takes the database URL and the
freshness token first (from `freshness.read_key()`), and none keeps its own expiry."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*(ROOT / "pages").rglob("*.py"), ROOT / "app.py"])
# Keyed by the content they are given, not by what the database holds.
CONTENT_KEYED = {"_csv_bytes"}


def cached_functions(path: Path) -> list[tuple[ast.FunctionDef, ast.Call]]:
    """(function, its st.cache_data call) for every decorated function and every `st.cache_data(...)(function)`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    functions = {node.name: node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    found = []
    for function in functions.values():
        found += [(function, d) for d in function.decorator_list if _is_cache_data(d)]
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _is_cache_data(node.func) and node.args:
            wrapped = node.args[0]
            if isinstance(wrapped, ast.Name) and wrapped.id in functions:
                found.append((functions[wrapped.id], node.func))
    return found


def _is_cache_data(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and ast.unparse(node.func) == "st.cache_data"


CACHED = [(path, function, call) for path in SOURCES for function, call in cached_functions(path)]


def test_the_pages_cache_something() -> None:
    assert len(CACHED) >= 5


@pytest.mark.parametrize(
    ("path", "function", "call"), CACHED, ids=[f"{p.relative_to(ROOT)}:{f.name}" for p, f, _ in CACHED]
)
def test_a_cached_function_is_keyed_by_the_database_and_its_freshness(
    path: Path, function: ast.FunctionDef, call: ast.Call
) -> None:
    parameters = [argument.arg for argument in [*function.args.posonlyargs, *function.args.args]]

    assert "ttl" not in {keyword.arg for keyword in call.keywords}
    assert function.name in CONTENT_KEYED or parameters[:2] == ["url", "fresh"]
