"""Imports point one way: nothing in core/ imports Streamlit, and the rules in core/model.py know no database."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "core"


def imported_top_level_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module.split(".")[0])
    return modules


CORE_FILES = sorted(CORE.rglob("*.py"))


def test_the_core_package_is_found() -> None:
    assert CORE / "model.py" in CORE_FILES


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(CORE)))
def test_core_never_imports_streamlit(path: Path) -> None:
    assert "streamlit" not in imported_top_level_modules(path)


def test_the_rules_import_neither_streamlit_nor_sqlalchemy() -> None:
    imported = imported_top_level_modules(CORE / "model.py")

    assert not imported & {"streamlit", "sqlalchemy", "alembic", "psycopg", "pandas"}


def test_the_import_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    sneaky = tmp_path / "sneaky.py"
    sneaky.write_text("def f():\n    import streamlit.components.v1 as c\n    from sqlalchemy.orm import Session\n")

    assert imported_top_level_modules(sneaky) == {"streamlit", "sqlalchemy"}
