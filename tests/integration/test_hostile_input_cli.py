"""Hostile input through `python -m core` on a real SQLite file: endless streams are read no further than the import
limit, and arguments, settings or files that are not text are refused in one line naming where; nothing is written
and no traceback reaches the user. Streams and raw bytes go through a real process; the other cases call the same
`main` in this process (Python hands `main` an argument's undecodable bytes as it would in a process: surrogates)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, make_url, text

from core.cli import main
from core.config import PROJECT_ROOT

LIMIT = "1000"
MEMORY_CAP = 3 * 2**30  # the CLI stays well below; a reader that never stops is killed instead of the machine


def run_cli(
    database_url: str, *args: str | bytes, stdin: int | None = None, **settings: str | bytes
) -> subprocess.CompletedProcess[str]:
    environment: dict[str, str | bytes] = {k: v for k, v in os.environ.items() if not k.startswith("FLEET_")}
    environment.update(DATABASE_URL=database_url, FLEET_MAX_IMPORT_BYTES=LIMIT, **settings)
    return subprocess.run(
        [sys.executable, "-m", "core", *args],
        cwd=PROJECT_ROOT,
        env=environment,
        stdin=stdin,
        capture_output=True,
        text=True,
        errors="backslashreplace",
        timeout=60,
        check=False,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP)),
    )


class Ran:
    def __init__(self, returncode: int, stderr: str) -> None:
        self.returncode, self.stderr = returncode, stderr

    def __repr__(self) -> str:
        return f"exit {self.returncode}: {self.stderr!r}"


@pytest.fixture
def run_main(sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Ran]:
    """`main` with these arguments and settings, on a migrated SQLite file of the test's own."""
    for name in [name for name in os.environ if name.startswith("FLEET_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("DATABASE_URL", str(sqlite_engine.url))
    monkeypatch.setenv("FLEET_MAX_IMPORT_BYTES", LIMIT)

    def run(*args: str, **settings: str) -> Ran:
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            returncode = main(list(args))
        return Ran(returncode, stderr.getvalue())

    return run


def assert_one_line_refusal(result: subprocess.CompletedProcess[str] | Ran, *words: str) -> None:
    assert result.returncode == 1, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'fleet.db'}"


def nothing_written(database_url: str) -> bool:
    """No row in the tables a refused command could have written (no database file at all counts too)."""
    if not Path(make_url(database_url).database or "").exists():
        return True
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return not any(
                connection.scalar(text(f"SELECT count(*) FROM {table}"))
                for table in ("workspaces", "portfolios", "phone_numbers", "users", "audit_log")
            )
    finally:
        engine.dispose()


# --- bounded reading --------------------------------------------------------------------------------------------


def test_an_endless_device_is_refused_at_the_limit(database_url: str) -> None:
    result = run_cli(database_url, "import", "csv", "/dev/zero")

    assert_one_line_refusal(result, "'/dev/zero' holds more than 1000 bytes", "FLEET_MAX_IMPORT_BYTES")


def test_an_endless_pipe_on_standard_input_is_refused_at_the_limit(database_url: str) -> None:
    with open("/dev/zero", "rb") as zeros:
        result = run_cli(database_url, "import", "webhook", "-", stdin=zeros.fileno())

    assert_one_line_refusal(result, "'standard input' holds more than 1000 bytes")


def test_a_fifo_fed_without_end_is_refused_at_the_limit(database_url: str, tmp_path: Path) -> None:
    fifo = tmp_path / "listing.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=_write_until_the_reader_leaves, args=(fifo,), daemon=True)
    writer.start()

    result = run_cli(database_url, "import", "meta-numbers", str(fifo))

    writer.join(timeout=10)
    assert_one_line_refusal(result, f"'{fifo}' holds more than 1000 bytes")


def _write_until_the_reader_leaves(fifo: Path) -> None:
    try:
        with open(fifo, "wb") as stream:
            while True:
                stream.write(b'{"data": []}\n' * 1000)
    except (BrokenPipeError, OSError):
        return


def test_a_small_fifo_is_read_whole(run_main: Callable[..., Ran], tmp_path: Path) -> None:
    fifo = tmp_path / "webhooks.fifo"
    os.mkfifo(fifo)
    payload = json.dumps({"object": "whatsapp_business_account", "entry": []}).encode()
    writer = threading.Thread(target=lambda: fifo.write_bytes(payload), daemon=True)
    writer.start()

    result = run_main("import", "webhook", str(fifo), "--dry-run")

    writer.join(timeout=10)
    assert "holds more than" not in result.stderr
    assert "Traceback" not in result.stderr


def test_a_directory_is_refused_naming_it(run_main: Callable[..., Ran], tmp_path: Path) -> None:
    result = run_main("import", "csv", str(tmp_path))

    assert_one_line_refusal(result, f"Cannot read '{tmp_path}'")


# --- text that is not text -------------------------------------------------------------------------------------


def test_an_argument_that_is_not_utf8_is_refused_naming_it_in_a_real_process(database_url: str) -> None:
    result = run_cli(database_url, b"workspace", b"add", b"bad\xff")

    assert_one_line_refusal(result, "The argument after 'add' is not UTF-8 text: b'bad\\xff' (byte 0xff)")
    assert nothing_written(database_url)


@pytest.mark.parametrize(
    ("args", "where"),
    [
        (["portfolio", "add", "--meta-id", "5", "Acme \udce9"], "The argument after '5'"),
        (
            ["number", "add", "--waba", "1", "--group=caf\udce9", "--phone", "+33612345678"],
            "The value of --group is not UTF-8 text: b'caf\\xe9'",
        ),
        (["user", "set-role", "al\udcefce@example.com", "viewer"], "The argument after 'set-role'"),
        (["--as", "r\udcf4ot", "workspace", "add", "EU"], "The argument after '--as'"),
        (["import", "csv", "onboard\udce9.csv"], "The argument after 'csv'"),
    ],
    ids=["portfolio name", "group option", "user name", "acting user", "file name"],
)
def test_an_argument_that_is_not_utf8_is_refused_naming_it(
    run_main: Callable[..., Ran], sqlite_engine: Engine, args: list[str], where: str
) -> None:
    result = run_main(*args)

    assert_one_line_refusal(result, where)
    assert nothing_written(str(sqlite_engine.url))


def test_a_setting_that_is_not_utf8_is_refused_naming_it(run_main: Callable[..., Ran], sqlite_engine: Engine) -> None:
    result = run_main("workspace", "add", "EU Brands", FLEET_USER="r\udcf4ot")

    assert_one_line_refusal(result, "The setting FLEET_USER is not UTF-8 text: b'r\\xf4ot' (byte 0xf4)")
    assert nothing_written(str(sqlite_engine.url))


@pytest.mark.parametrize(
    ("kind", "content", "where"),
    [
        (
            "meta-numbers",
            '{"data": [{"id": "1", "display_phone_number": "+1 631-555-5555", "verified_name": "x\\udcff"}]}',
            "file: invalid JSON: data[0].verified_name holds \\udcff, half of a character",
        ),
        (
            "webhook",
            '{"object": "whatsapp_business_account", "entry": []}\n'
            '{"object": "whatsapp_business_account", "entry": [{"id": "1", "time": 1748454394, "changes": [{"field":'
            ' "phone_number_name_update", "value": {"requested_verified_name": "\\ud800"}}]}]}',
            "line 2: invalid JSON: entry[0].changes[0].value.requested_verified_name holds \\ud800",
        ),
    ],
    ids=["listing", "webhook line"],
)
def test_a_lone_surrogate_in_json_is_refused_naming_where(
    run_main: Callable[..., Ran], sqlite_engine: Engine, tmp_path: Path, kind: str, content: str, where: str
) -> None:
    path = tmp_path / "input.json"
    path.write_text(content)

    result = run_main("import", kind, str(path), *(["--waba", "1"] if kind == "meta-numbers" else []))

    assert result.returncode == 1, result
    assert where in result.stderr
    assert "Traceback" not in result.stderr
    assert nothing_written(str(sqlite_engine.url))


def test_a_csv_that_is_not_utf8_is_refused_naming_the_line(run_main: Callable[..., Ran], tmp_path: Path) -> None:
    path = tmp_path / "onboarding.csv"
    path.write_bytes(
        b"workspace,portfolio_id,waba_id,waba_name,group,phone,display_name\nEU,5,7,W,Caf\xe9,+33612345678,\n"
    )

    result = run_main("import", "csv", str(path))

    assert result.returncode == 1, result
    assert "line 2: byte 78 (0xe9) is not UTF-8 text" in result.stderr
    assert "Traceback" not in result.stderr


# --- names and tiers typed on the command line --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["workspace", "add", "abc\u202edcba"], ["Field 'workspace name'", "text-direction control (U+202E)"]),
        (["workspace", "add", "\u200b\u200b"], ["Field 'workspace name' shows nothing"]),
        (
            ["portfolio", "add", "--meta-id", "5", "--messaging-limit", "<b>", "Acme"],
            ["Field 'messaging limit' must be one of TIER_50", "TIER_UNLIMITED", "got '<b>'"],
        ),
        (
            ["number", "add", "--waba", "1", "--group", "g", "--phone", "+33 6 AB CD EF 78"],
            ["contains letters (A, B, C, D, E, F)"],
        ),
        (["group", "archive", "--phone", "-33 6 12 34 56 78"], ["starts with '-'"]),
    ],
    ids=["direction override", "invisible only", "unknown tier", "phone letters", "phone minus"],
)
def test_a_hostile_value_typed_on_the_command_line_is_refused_in_one_line(
    run_main: Callable[..., Ran], sqlite_engine: Engine, args: list[str], words: list[str]
) -> None:
    result = run_main(*args)

    assert_one_line_refusal(result, *words)
    assert nothing_written(str(sqlite_engine.url))
