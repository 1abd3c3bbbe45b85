"""`python -m core` as a user runs it: a real process on a real SQLite file. Exit 0 on success; 1 with one
'error: …' line on stderr for a refused change or invalid input; 2 for a usage error."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from core import services
from core.config import PROJECT_ROOT
from core.db import make_engine
from core.migrate import upgrade
from core.model import format_international
from core.reads.accounts import is_empty
from core.reads.audit import audit_table
from core.reads.numbers import numbers_table
from tests import builders
from tests.builders import ADMIN

EXPORT_HEADER = (
    "workspace,portfolio_id,waba_id,waba,subscription_group,group_state,phone_e164,display_name,status,"
    "quality_rating,messaging_limit_tier,portfolio_messaging_limit,name_status,health_status,health_errors,"
    "throughput_level,code_verification_status,platform_type,account_mode,is_official_business_account,"
    "last_onboarded_time,name_rejection_reason,meta_phone_number_id,updated_at"
)


def run_cli(database_url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FLEET_")}
    environment.update(DATABASE_URL=database_url, **env)
    return subprocess.run(
        [sys.executable, "-m", "core", *args],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_refused(result: subprocess.CompletedProcess[str], *words: str) -> None:
    """Exit 1, and stderr is exactly one line starting 'error: ' that contains each of `words`."""
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for word in words:
        assert word in lines[0]


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'fleet.db'}"


@pytest.fixture
def cli_engine(database_url: str) -> Engine:
    engine = make_engine(database_url)
    upgrade(engine)
    return engine


def test_a_fleet_is_built_exported_and_checked_from_the_command_line(database_url: str, tmp_path: Path) -> None:
    steps = [
        ["db", "upgrade"],
        ["workspace", "add", "EU Brands"],
        ["portfolio", "add", "--meta-id", "1001", "--messaging-limit", "TIER_2K", "Acme Europe"],
        ["portfolio", "connect", "--workspace", "EU Brands", "--portfolio", "1001"],
        ["waba", "add", "--workspace", "EU Brands", "--portfolio", "1001", "--meta-id", "2001", "Fashion FR"],
        ["number", "add", "--waba", "2001", "--group", "Paris", "--phone", "06 12 34 56 78", "--region", "FR",
         "--display-name", "Fashion Paris"],
        ["number", "add", "--waba", "2001", "--group", "Lyon", "--phone", "0033 6 98 76 54 32"],
    ]  # fmt: skip
    for step in steps:
        result = run_cli(database_url, *step)
        assert result.returncode == 0, (step, result.stderr)

    archived = run_cli(database_url, "group", "archive", "--phone", "+33 6 98 76 54 32")
    as_csv = run_cli(database_url, "export", "numbers", "--format", "csv")
    json_file = tmp_path / "numbers.json"
    as_json = run_cli(database_url, "export", "numbers", "--format", "json", "-o", str(json_file))
    check = run_cli(database_url, "check")

    assert archived.returncode == 0
    assert "+33 6 98 76 54 32" in archived.stdout
    assert "Meta Business Manager" in archived.stdout
    assert as_csv.returncode == 0
    assert as_csv.stdout.splitlines()[0] == EXPORT_HEADER
    rows = {row["phone_e164"]: row for row in csv.DictReader(io.StringIO(as_csv.stdout))}
    assert set(rows) == {"+33612345678", "+33698765432"}
    assert rows["+33612345678"]["display_name"] == "Fashion Paris"
    assert rows["+33612345678"]["portfolio_messaging_limit"] == "TIER_2K"
    assert rows["+33698765432"]["group_state"] == "archived"
    assert as_json.returncode == 0
    records = json.loads(json_file.read_text(encoding="utf-8"))
    assert [list(record) for record in records] == [EXPORT_HEADER.split(",")] * 2
    assert check.returncode == 0
    assert "All rules hold" in check.stdout


def test_the_demo_seed_fills_an_empty_database_once(database_url: str) -> None:
    first = run_cli(database_url, "seed-demo")
    again_if_empty = run_cli(database_url, "seed-demo", "--if-empty")
    again = run_cli(database_url, "seed-demo")

    assert first.returncode == 0
    assert "3 workspaces" in first.stdout
    assert again_if_empty.returncode == 0
    assert "nothing seeded" in again_if_empty.stdout
    assert_refused(again, "already holds a fleet")


def test_a_synthetic_fleet_takes_its_sizes_from_the_command_line(database_url: str) -> None:
    result = run_cli(
        database_url, "seed-demo", "--workspaces", "2", "--wabas-per-workspace", "3", "--numbers-per-waba", "4",
        "--history-days", "5",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "2 workspaces" in result.stdout
    assert "6 WABAs, 24 numbers" in result.stdout
    assert "120 health snapshots" in result.stdout


def test_a_rule_violation_exits_1_with_one_error_line(database_url: str, cli_engine: Engine) -> None:
    waba_id = builders.waba(cli_engine)
    builders.fill_waba(cli_engine, waba_id, 1)
    existing = builders.french_mobile(0)

    result = run_cli(database_url, "number", "add", "--waba", waba_id, "--group", "Again", "--phone", existing)

    assert_refused(result, format_international(existing), "already in use")
    assert len(numbers_table(cli_engine)) == 1


def test_the_twenty_first_number_is_refused_from_the_command_line(database_url: str, cli_engine: Engine) -> None:
    waba_id = builders.waba(cli_engine)
    builders.fill_waba(cli_engine, waba_id, 20)

    result = run_cli(database_url, "number", "add", "--waba", waba_id, "--group", "21st", "--phone", "+33612345678")

    assert_refused(result, "Fashion FR", "maximum is 20")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["number", "add", "--waba", "WABA", "--group", "G", "--phone", "06 12 34 56 78"], ["unknown country code"]),
        (["portfolio", "add", "--meta-id", "12ab", "Acme"], ["'Meta business id'"]),
        (["waba", "add", "--workspace", "Nowhere", "--portfolio", "1", "--meta-id", "3", "X"], ["'Nowhere'"]),
    ],
    ids=["national-without-region", "bad-meta-id", "unknown-workspace"],
)
def test_invalid_input_exits_1_with_the_reason(
    database_url: str, cli_engine: Engine, args: list[str], words: list[str]
) -> None:
    waba_id = builders.waba(cli_engine)

    result = run_cli(database_url, *[waba_id if arg == "WABA" else arg for arg in args])

    assert_refused(result, *words)


@pytest.mark.parametrize(
    "args",
    [[], ["waba", "add", "--workspace", "EU Brands"], ["export", "numbers", "--format", "xml"]],
    ids=["no-command", "missing-arguments", "unknown-format"],
)
def test_a_usage_error_exits_2(database_url: str, args: list[str]) -> None:
    result = run_cli(database_url, *args)

    assert result.returncode == 2
    assert "usage:" in result.stderr


def test_an_unknown_user_named_with_as_is_a_viewer_and_cannot_write(database_url: str, cli_engine: Engine) -> None:
    result = run_cli(database_url, "--as", "someone", "workspace", "add", "EU Brands")

    assert_refused(result, "'someone' (viewer)", "admin")
    assert is_empty(cli_engine)


def test_fleet_user_names_the_local_user_whose_role_is_fleet_local_role(database_url: str, cli_engine: Engine) -> None:
    as_local_admin = run_cli(database_url, "workspace", "add", "EU Brands", FLEET_USER="ops@example.com")
    as_local_viewer = run_cli(
        database_url, "workspace", "add", "Americas Retail", FLEET_USER="ops@example.com", FLEET_LOCAL_ROLE="viewer"
    )

    assert as_local_admin.returncode == 0
    assert list(audit_table(cli_engine)["actor"]) == ["ops@example.com"]
    assert_refused(as_local_viewer, "'ops@example.com' (viewer)")


def test_an_analyst_may_export_but_not_write_and_a_viewer_may_not_export(database_url: str, cli_engine: Engine) -> None:
    services.set_user_role(cli_engine, ADMIN, name="ana@example.com", role="analyst")
    builders.fill_waba(cli_engine, builders.waba(cli_engine), 1)

    analyst_export = run_cli(database_url, "--as", "ana@example.com", "export", "numbers")
    analyst_write = run_cli(database_url, "--as", "ana@example.com", "workspace", "add", "Americas Retail")
    viewer_export = run_cli(database_url, "--as", "vic@example.com", "export", "numbers")

    assert analyst_export.returncode == 0
    assert analyst_export.stdout.splitlines()[0] == EXPORT_HEADER
    assert_refused(analyst_write, "(analyst)")
    assert_refused(viewer_export, "(viewer)", "export numbers")


def test_check_lists_a_violation_made_behind_the_cores_back(database_url: str, cli_engine: Engine) -> None:
    eu = builders.waba(cli_engine, workspace="EU Brands")
    americas = builders.waba(cli_engine, workspace="Americas Retail", name="Sport US")
    [e164] = builders.fill_waba(cli_engine, eu, 1)
    with cli_engine.begin() as connection:
        connection.execute(text("DROP INDEX uq_subscription_groups_active_number"))
        connection.execute(
            text(
                "INSERT INTO subscription_groups (name, workspace_id, waba_id, phone_number_id, state, created_at) "
                "SELECT 'Shadow', w.workspace_id, w.id, p.id, 'active', CURRENT_TIMESTAMP "
                "FROM wabas w, phone_numbers p WHERE w.meta_waba_id = :waba AND p.e164 = :e164"
            ),
            {"waba": americas, "e164": e164},
        )

    result = run_cli(database_url, "check")

    assert result.returncode == 1
    assert f"Number {e164} is in 2 active subscription groups" in result.stderr


def test_a_database_url_that_is_not_one_exits_1_naming_the_setting(tmp_path: Path) -> None:
    result = run_cli("not a database url", "check")

    assert_refused(result, "DATABASE_URL", "not a database url")


def test_an_export_to_an_unwritable_place_exits_1_naming_the_file(database_url: str, tmp_path: Path) -> None:
    target = tmp_path / "missing-folder" / "numbers.csv"

    result = run_cli(database_url, "export", "numbers", "-o", str(target))

    assert_refused(result, str(target))
