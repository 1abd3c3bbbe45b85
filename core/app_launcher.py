"""`python -m core serve-app`: the checks Streamlit cannot make before it listens, then `streamlit run app.py`.

Local mode on an address others can reach is refused before a socket is opened (exit 1 with the how-to), and the
schema is migrated, or found current, before the app serves: replicas start only on a schema their code knows.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from core.config import PROJECT_ROOT, read_toml

APP_SCRIPT = PROJECT_ROOT / "app.py"


def flag_value(arguments: Sequence[str], option: str) -> str | None:
    """The last value given to `--option VALUE` or `--option=VALUE` (Streamlit keeps the last one too)."""
    value = None
    for position, argument in enumerate(arguments):
        if argument == f"--{option}" and position + 1 < len(arguments):
            value = arguments[position + 1]
        elif argument.startswith(f"--{option}="):
            value = argument.split("=", 1)[1]
    return value


def config_files(home: Path, cwd: Path) -> list[Path]:
    """Streamlit's config files, the later overriding the earlier: the user's, then the project's."""
    return [home / ".streamlit" / "config.toml", cwd / ".streamlit" / "config.toml"]


def effective_option(
    section: str, key: str, arguments: Sequence[str], environ: Mapping[str, str], files: Sequence[Path]
) -> Any:
    """What Streamlit will use for `section.key`: the command line, else STREAMLIT_SECTION_KEY, else the last
    config file that sets it; None when nothing does (Streamlit's default)."""
    from_flag = flag_value(arguments, f"{section}.{key}")
    if from_flag is not None:
        return from_flag
    env_name = "STREAMLIT_" + _snake(section) + "_" + _snake(key)
    if env_name in environ:
        return environ[env_name]
    value = None
    for path in files:
        found = read_toml(path).get(section, {}).get(key)
        if found is not None:
            value = found
    return value


def _snake(name: str) -> str:
    """server.address → SERVER, fileWatcherType → FILE_WATCHER_TYPE: how Streamlit names an option's variable."""
    return "".join(f"_{char}" if char.isupper() else char for char in name).upper()


def secrets_files(arguments: Sequence[str], environ: Mapping[str, str], home: Path, cwd: Path) -> list[Path]:
    """The secrets files Streamlit will read (its default: the user's, then the project's)."""
    configured = effective_option("secrets", "files", arguments, environ, config_files(home, cwd))
    if configured is None:
        return [home / ".streamlit" / "secrets.toml", cwd / ".streamlit" / "secrets.toml"]
    if isinstance(configured, str):
        configured = [part for part in configured.replace(",", " ").split() if part]
    return [Path(name) if Path(name).is_absolute() else cwd / name for name in configured]


def merged_secrets(files: Sequence[Path]) -> dict[str, Any]:
    secrets: dict[str, Any] = {}
    for path in files:
        secrets.update(read_toml(path))
    return secrets


def streamlit_command(arguments: Sequence[str]) -> list[str]:
    """`streamlit run app.py`, through a module that imports the app's heavy libraries before the first visitor."""
    return [sys.executable, "-m", "pages.kit.preloaded_server", "run", str(APP_SCRIPT), *arguments]


def exec_streamlit(arguments: Sequence[str]) -> None:
    """Replace this process with Streamlit (same pid: a service manager or pid file keeps following it)."""
    command = streamlit_command(arguments)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(command[0], command)
