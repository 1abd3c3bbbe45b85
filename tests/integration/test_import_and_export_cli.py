"""`python -m core import …` and `python -m core export …`: exit codes, what is printed, what is written.

Exit 0 when an import is applied or a dry run finds nothing wrong; 1 with every problem on stderr (nothing
written); 2 for usage errors. Exports: UTF-8, header row, ISO times, cells safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from core import cli, services
from core.config import PROJECT_ROOT
from core.reads.numbers import NUMBER_EXPORT_COLUMNS, numbers_table
from tests.builders import ADMIN
from tests.fixtures.meta import support

FIXTURES = support.FIXTURES


@pytest.fixture
def fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    engine = support.fleet_in(tmp_path / "fleet.db")
    for name in ("FLEET_USER", "FLEET_LOCAL_ROLE", "FLEET_MAX_IMPORT_BYTES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'fleet.db'}")
    yield engine
    engine.dispose()


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = cli.main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


# --- imports -----------------------------------------------------------------------------------------------------


def test_a_listing_is_imported_and_its_changes_printed(fleet: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "import", "meta-numbers", FIXTURES / "listings/lucky_shrub_us_page.json", "--waba", support.WABA_US
    )

    assert (code, err) == (0, "")
    assert out.startswith(
        "Imported 'lucky_shrub_us_page.json' (3 row(s) read): numbers to create: 1, numbers to update: 2"
    )
    assert "create number +16315555555: group '+16315555555' in WABA 102290129340398" in out
    assert "number +15550167350: status CONNECTED → FLAGGED" in out
    assert len(numbers_table(fleet)) == 4


def test_a_dry_run_prints_the_plan_and_writes_nothing(fleet: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    before = support.dump(fleet)

    code, out, _ = run(capsys, "import", "csv", FIXTURES / "csv/onboarding.csv", "--dry-run")

    assert code == 0
    assert "portfolios to connect: 1, WABAs to create: 1, numbers to create: 4" in out
    assert out.rstrip().endswith("Dry run: nothing was written.")
    assert support.dump(fleet) == before


def test_a_dry_run_with_problems_exits_1_and_lists_them(fleet: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "import", "csv", FIXTURES / "csv/bad_rows.csv", "--dry-run")

    assert code == 1
    assert "Errors (6):" in out
    assert "  line 4: workspace 'Lucky Shrubs' does not exist" in out
    assert err == "error: 6 problem(s); this import would be refused.\n"


def test_a_refused_import_exits_1_with_every_bad_row_on_stderr(
    fleet: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    before = support.dump(fleet)

    code, out, err = run(capsys, "import", "csv", FIXTURES / "csv/bad_rows.csv")

    assert (code, out) == (1, "")
    lines = err.splitlines()
    assert lines[0] == "error: Import of 'bad_rows.csv' refused, nothing was written: 6 problem(s)."
    assert [line.split(":")[0].strip() for line in lines[1:]] == [f"line {n}" for n in range(3, 9)]
    assert support.dump(fleet) == before


def test_webhooks_import_once_and_a_replay_says_nothing_changed(
    fleet: Engine, capsys: pytest.CaptureFixture[str]
) -> None:
    first = run(capsys, "import", "webhook", FIXTURES / "webhooks/day_of_deliveries.jsonl")
    again = run(capsys, "import", "webhook", FIXTURES / "webhooks/day_of_deliveries.jsonl")

    assert first[0] == again[0] == 0
    assert first[1].startswith("Imported 'day_of_deliveries.jsonl'")
    assert again[1] == "'day_of_deliveries.jsonl' matches the fleet: nothing to change (12 row(s) read).\n"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("broken/invalid_json.jsonl", "line 3: invalid JSON at column"),
        ("broken/wrong_envelope.json", "only 'whatsapp_business_account' webhooks are imported"),
        ("broken/missing_fields.json", "entry[1].changes[0]: its entry has no 'time', which orders imported events."),
    ],
)
def test_broken_webhook_files_exit_1_and_name_the_fault(
    fleet: Engine, capsys: pytest.CaptureFixture[str], name: str, message: str
) -> None:
    code, _, err = run(capsys, "import", "webhook", FIXTURES / name)

    assert code == 1
    assert message in err


def test_a_file_over_the_limit_is_refused_before_it_is_read(
    fleet: Engine, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    big = tmp_path / "big.jsonl"
    big.write_bytes(
        support.read("webhooks/quality_flagged.json").replace(b"\n", b" ") + b"\n" + b" " * (10 * 1024 * 1024)
    )
    before = support.dump(fleet)

    code, out, err = run(capsys, "import", "webhook", big)

    assert (code, out) == (1, "")
    assert err.startswith("error: File 'big.jsonl' is 10.0 MB (")
    assert "imports accept at most 10.0 MB (10,485,760 bytes). Split the file, or raise FLEET_MAX_IMPORT_BYTES." in err
    assert support.dump(fleet) == before


def test_the_limit_is_configurable(
    fleet: Engine, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLEET_MAX_IMPORT_BYTES", "200")

    code, _, err = run(capsys, "import", "webhook", FIXTURES / "webhooks/quality_flagged.json")

    assert code == 1
    assert "imports accept at most 200 bytes (200 bytes)" in err


def test_only_admins_import_from_the_command_line(
    fleet: Engine, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLEET_LOCAL_ROLE", "analyst")

    code, _, err = run(capsys, "import", "webhook", FIXTURES / "webhooks/quality_flagged.json")

    assert code == 1
    assert err == "error: User 'local-admin' (analyst) may not import data: it needs the admin role.\n"


def test_a_missing_file_exits_1(fleet: Engine, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "import", "csv", tmp_path / "nowhere.csv")

    assert code == 1
    assert err.startswith("error: Cannot read '")
    assert "No such file or directory" in err


@pytest.mark.parametrize(
    "args",
    [
        ["import"],
        ["import", "meta-numbers"],
        ["import", "facebook", "x.json"],
        ["import", "csv", "x.csv", "--waba", "1"],
    ],
)
def test_usage_errors_exit_2(fleet: Engine, capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(args)

    assert exited.value.code == 2


def test_the_csv_help_documents_the_header(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["import", "csv", "--help"])

    assert "workspace,portfolio_id,waba_id,waba_name,group,phone,display_name[,region]" in capsys.readouterr().out


def test_webhooks_can_be_piped_into_a_real_process(fleet: Engine) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("FLEET_")}
    result = subprocess.run(
        [sys.executable, "-m", "core", "import", "webhook", "-"],
        cwd=PROJECT_ROOT,
        env=environment,
        input=support.read("webhooks/quality_downgrade.json"),
        capture_output=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert b"number +15550167350: messaging_limit_tier TIER_10K \xe2\x86\x92 TIER_1K" in result.stdout


# --- exports -----------------------------------------------------------------------------------------------------


def test_the_numbers_export_has_the_numbers_columns_utf8_iso_times_and_safe_cells(
    fleet: Engine, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    services.add_workspace(fleet, ADMIN, '=HYPERLINK("http://evil.example") Équipe')
    services.add_portfolio(fleet, ADMIN, meta_business_id="1", name="Pôle Santé")
    services.connect_portfolio(
        fleet, ADMIN, workspace='=HYPERLINK("http://evil.example") Équipe', portfolio_meta_id="1"
    )
    services.add_waba(
        fleet,
        ADMIN,
        workspace='=HYPERLINK("http://evil.example") Équipe',
        portfolio_meta_id="1",
        meta_waba_id="2",
        name="@risk",
    )
    services.add_number(
        fleet, ADMIN, meta_waba_id="2", group_name="-1+1", phone="+33 6 98 76 54 31", display_name="Équipe Paris"
    )
    out_file = tmp_path / "numbers.csv"

    code, _, err = run(capsys, "export", "numbers", "--format", "csv", "-o", out_file)

    assert code == 0
    assert err == f"Wrote {out_file}.\n"
    rows = list(csv.DictReader(io.StringIO(out_file.read_bytes().decode("utf-8"))))
    assert list(rows[0]) == NUMBER_EXPORT_COLUMNS
    hostile = next(row for row in rows if row["phone_e164"] == "+33698765431")
    assert hostile["workspace"] == '\'=HYPERLINK("http://evil.example") Équipe'
    assert (hostile["waba"], hostile["subscription_group"], hostile["display_name"]) == (
        "'@risk",
        "'-1+1",
        "Équipe Paris",
    )
    assert hostile["updated_at"].endswith("+00:00")
    assert "T" in hostile["updated_at"]
    assert {row["phone_e164"] for row in rows} >= {support.US_MAIN, support.FR_MAIN}


def test_the_json_exports_keep_values_exact_with_iso_times(
    fleet: Engine, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run(capsys, "import", "webhook", FIXTURES / "webhooks/quality_flagged.json")
    paths = {what: tmp_path / f"{what}.json" for what in ("numbers", "history", "audit")}

    codes = [run(capsys, "export", what, "--format", "json", "-o", path)[0] for what, path in paths.items()]

    assert codes == [0, 0, 0]
    numbers, history, audit = (json.loads(path.read_text(encoding="utf-8")) for path in paths.values())
    assert list(numbers[0]) == NUMBER_EXPORT_COLUMNS
    assert {
        "phone_e164": support.US_MAIN,
        "recorded_at": "2025-03-31T20:11:43+00:00",
        "quality_rating": "GREEN",
        "messaging_limit_tier": "TIER_10K",
        "status": "FLAGGED",
        "source": "webhook",
    } in history
    assert audit[0]["action"] == "import"
    assert audit[0]["object_key"] == "webhook: quality_flagged.json"


def test_the_history_and_audit_csv_exports_have_a_header_and_iso_times(
    fleet: Engine, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    history_file, audit_file = tmp_path / "history.csv", tmp_path / "audit.csv"

    run(capsys, "export", "history", "-o", history_file)
    run(capsys, "export", "audit", "-o", audit_file)

    history = list(csv.DictReader(io.StringIO(history_file.read_text(encoding="utf-8"))))
    audit = list(csv.DictReader(io.StringIO(audit_file.read_text(encoding="utf-8"))))
    assert list(history[0]) == [
        "phone_e164",
        "recorded_at",
        "quality_rating",
        "messaging_limit_tier",
        "status",
        "source",
    ]
    assert history[0]["recorded_at"] == "2025-01-01T00:00:00+00:00"
    assert list(audit[0]) == ["at", "actor", "action", "object_type", "object_key", "before", "after"]
    assert all(row["at"].endswith("+00:00") for row in audit)


def test_an_analyst_may_export_but_not_import(
    fleet: Engine, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FLEET_LOCAL_ROLE", "analyst")

    exported = run(capsys, "export", "numbers", "-o", tmp_path / "n.csv")
    imported = run(capsys, "import", "csv", FIXTURES / "csv/onboarding.csv")

    assert (exported[0], imported[0]) == (0, 1)


def test_the_waba_and_template_exports_carry_what_meta_reported(
    fleet: Engine, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for name in ("account_banned.json", "account_restriction.json", "template_paused.json"):
        run(capsys, "import", "webhook", FIXTURES / "webhooks" / name)

    code, out, err = run(capsys, "export", "wabas", "--format", "csv")
    json_code = run(capsys, "export", "templates", "--format", "json", "-o", tmp_path / "templates.json")[0]

    assert (code, json_code, err) == (0, 0, "")
    wabas = {row["waba_id"]: row for row in csv.DictReader(io.StringIO(out))}
    assert wabas[support.WABA_US]["ban_state"] == "SCHEDULE_FOR_DISABLE"
    assert wabas[support.WABA_US]["ban_date"] == "2025-04-10"
    assert wabas[support.WABA_US]["violation_type"] == "SCAM"
    assert "RESTRICTED_BIZ_INITIATED_MESSAGING" in wabas[support.WABA_US]["restrictions"]
    templates = json.loads((tmp_path / "templates.json").read_text(encoding="utf-8"))
    (paused,) = [t for t in templates if t["template"] == "welcome_template"]
    assert (paused["status"], paused["status_reason"]) == ("PAUSED", "LOW_QUALITY")
    assert paused["status_since"] == "2025-06-30T01:39:08+00:00"
