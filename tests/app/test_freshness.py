"""An open page shows what another process wrote on its next rerun: cached reads are keyed by the data version,
not kept for a while; a rerun with nothing written reads only that version."""

from __future__ import annotations

import subprocess
import sys

from sqlalchemy import Engine, event

from tests.app.conftest import APP
from tests.app.ui import table


def workspaces_shown(at) -> list[str]:
    return table(at, "accounts_workspaces")["workspace"].tolist()


def test_a_write_from_the_cli_shows_on_the_next_rerun_of_an_open_page(demo_db, open_page):
    at = open_page("accounts.py")
    assert "Fresh Brands" not in workspaces_shown(at)

    subprocess.run(
        [sys.executable, "-m", "core", "workspace", "add", "Fresh Brands"], cwd=APP.parent, check=True, timeout=60
    )
    at.run()

    assert "Fresh Brands" in workspaces_shown(at)


def test_a_rerun_with_nothing_written_reads_only_the_data_version(demo_db, open_page):
    at = open_page("accounts.py")
    statements: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        at.run()
    finally:
        event.remove(Engine, "before_cursor_execute", record)

    assert len(statements) == 1, statements
    assert "data_version" in statements[0]
