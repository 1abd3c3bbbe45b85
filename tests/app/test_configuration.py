"""Where the app finds its database: DATABASE_URL first, else [database] url in the secrets, else data/fleet.db."""

from __future__ import annotations

import shutil

from streamlit.testing.v1 import AppTest

from tests.app.conftest import APP, TIMEOUT


def test_database_url_from_the_secrets_when_the_environment_has_none(demo_database_file, tmp_path, monkeypatch):
    path = tmp_path / "from-secrets.db"
    shutil.copyfile(demo_database_file, path)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("FLEET_LOCAL_ROLE", "admin")
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.secrets = {"database": {"url": f"sqlite:///{path}"}}

    at.run()

    assert {metric.label: metric.value for metric in at.metric}["Workspaces"] == "3"


def test_environment_wins_over_the_secrets(empty_db, tmp_path):
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.secrets = {"database": {"url": f"sqlite:///{tmp_path / 'not-this-one.db'}"}}

    at.run()

    assert "No workspace yet" in " ".join(info.value for info in at.info)
    assert not (tmp_path / "not-this-one.db").exists()
