"""Pages stay thin: they talk to core only, never to the database directly."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PAGES = sorted((Path(__file__).resolve().parents[2] / "pages").rglob("*.py"))
APP = Path(__file__).resolve().parents[2] / "app.py"
SQL = re.compile(r"\bselect\b[^\n]*\bfrom\b|\binsert\s+into\b|\bdelete\s+from\b|\bupdate\s+\w+\s+set\b", re.IGNORECASE)


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


@pytest.mark.parametrize("path", [*PAGES, APP], ids=lambda p: str(p.relative_to(APP.parent)))
def test_pages_never_import_sqlalchemy(path: Path) -> None:
    assert not {module for module in imported_modules(path) if module.split(".")[0] in {"sqlalchemy", "psycopg"}}


@pytest.mark.parametrize("path", [*PAGES, APP], ids=lambda p: str(p.relative_to(APP.parent)))
def test_pages_hold_no_sql(path: Path) -> None:
    assert SQL.search(path.read_text(encoding="utf-8")) is None


@pytest.mark.parametrize("path", [*PAGES, APP], ids=lambda p: str(p.relative_to(APP.parent)))
def test_pages_never_build_their_own_engine(path: Path) -> None:
    source = path.read_text(encoding="utf-8")

    assert "create_engine" not in source
    assert path.name == "database.py" or "make_engine" not in source
