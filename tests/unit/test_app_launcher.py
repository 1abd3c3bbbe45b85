"""The address and secrets `serve-app` works out before Streamlit starts: as Streamlit itself would resolve them."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import app_launcher


def write(path: Path, content: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    return path


@pytest.mark.parametrize(
    ("arguments", "environ", "expected"),
    [
        (["--server.address", "0.0.0.0"], {}, "0.0.0.0"),
        (["--server.address=10.0.0.5", "--server.port", "1"], {}, "10.0.0.5"),
        ([], {"STREAMLIT_SERVER_ADDRESS": "192.168.1.2"}, "192.168.1.2"),
        (["--server.address", "::1"], {"STREAMLIT_SERVER_ADDRESS": "0.0.0.0"}, "::1"),
        ([], {}, "127.0.0.1"),
    ],
)
def test_address_comes_from_the_command_line_then_the_environment_then_config_files(
    tmp_path: Path, arguments: list[str], environ: dict[str, str], expected: str
) -> None:
    files = [
        write(tmp_path / "home.toml", '[server]\naddress = ""\n'),
        write(tmp_path / "project.toml", '[server]\naddress = "127.0.0.1"\n'),
    ]

    address = app_launcher.effective_option("server", "address", arguments, environ, files)

    assert address == expected


def test_no_address_anywhere_is_none_which_streamlit_serves_on_every_interface(tmp_path: Path) -> None:
    assert app_launcher.effective_option("server", "address", [], {}, [tmp_path / "missing.toml"]) is None


def test_secrets_files_named_on_the_command_line_are_the_ones_read(tmp_path: Path) -> None:
    chosen = write(tmp_path / "cluster" / "secrets.toml", '[auth]\nredirect_uri = "x"\n')

    files = app_launcher.secrets_files(["--secrets.files", str(chosen)], {}, tmp_path / "home", tmp_path)

    assert files == [chosen]
    assert app_launcher.merged_secrets(files)["auth"] == {"redirect_uri": "x"}


def test_streamlit_option_names_become_its_environment_variable_names() -> None:
    assert app_launcher._snake("fileWatcherType") == "FILE_WATCHER_TYPE"
