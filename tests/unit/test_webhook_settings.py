"""The receiver's and worker's settings: environment first, then the secrets file; secrets never shown."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.config import load_webhook_settings
from core.errors import InvalidInput

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_the_environment_wins_over_the_secrets_file(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('META_APP_SECRET = "from-file"\nMETA_VERIFY_TOKEN = "token-from-file"\n')

    settings = load_webhook_settings({"META_APP_SECRET": "from-env"}, secrets)

    assert (settings.app_secret, settings.verify_token) == ("from-env", "token-from-file")


def test_defaults_without_environment_or_file(tmp_path: Path) -> None:
    settings = load_webhook_settings({}, tmp_path / "missing.toml")

    assert (settings.app_secret, settings.verify_token) == ("", "")
    assert (settings.retention_days, settings.max_attempts, settings.lease_seconds) == (30, 5, 30.0)


def test_secrets_are_not_in_the_settings_repr() -> None:
    settings = load_webhook_settings({"META_APP_SECRET": "s3cr3t-value", "META_VERIFY_TOKEN": "t0ken-value"})

    assert "s3cr3t-value" not in repr(settings)
    assert "t0ken-value" not in repr(settings)


@pytest.mark.parametrize("value", ["0", "-1", "thirty", "2.5"])
def test_a_retention_that_is_not_a_whole_number_of_days_is_refused_naming_the_setting(value: str) -> None:
    with pytest.raises(InvalidInput, match="FLEET_INBOX_RETENTION_DAYS"):
        load_webhook_settings({"FLEET_INBOX_RETENTION_DAYS": value})


def test_the_receiver_refuses_to_start_without_an_app_secret(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite:///{tmp_path / 'fleet.db'}", "HOME": str(tmp_path)}

    result = subprocess.run(
        [sys.executable, "-m", "core", "serve-webhooks", "--port", "1"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert "META_APP_SECRET is not set" in result.stderr
