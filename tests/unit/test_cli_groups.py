"""The command line is a set of groups, each registering its own commands; none imports the package that lists
them, so adding a group is a new module and one line in `core.cli.GROUPS`."""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

import pytest

from core import cli

CLI = Path(cli.__file__).parent


def commands_of(group: object) -> set[str]:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command")
    group.register(commands)  # type: ignore[attr-defined]
    return set(commands.choices)


@pytest.mark.parametrize("group", cli.GROUPS, ids=lambda g: g.__name__)
def test_each_group_registers_its_commands_on_its_own(group: object) -> None:
    assert commands_of(group)


def test_no_two_groups_claim_the_same_command() -> None:
    names = [name for group in cli.GROUPS for name in commands_of(group)]

    assert len(names) == len(set(names))


@pytest.mark.parametrize("path", sorted(CLI.glob("*.py")), ids=lambda p: p.name)
def test_a_group_never_imports_the_package_that_lists_it(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}

    assert path.name == "__init__.py" or "core.cli" not in imported


def test_the_parser_offers_every_group_s_commands() -> None:
    offered = set(cli.build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]

    assert {"db", "seed-demo", "workspace", "export", "check", "import", "serve-webhooks", "worker"} <= offered
