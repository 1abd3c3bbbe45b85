"""serve-app starts Streamlit through a module that imports the app's heavy libraries before the first visitor."""

from __future__ import annotations

import subprocess
import sys

from core.app_launcher import APP_SCRIPT, streamlit_command
from core.config import PROJECT_ROOT

CHECK_PRELOAD = """
import sys
from pages.kit.preloaded_server import preload
preload()
print(sorted(name for name in ("pandas", "pyarrow", "core.reads.numbers", "pages.kit.reads") if name in sys.modules))
"""


def test_serve_app_runs_streamlit_through_the_preloading_module():
    command = streamlit_command(["--server.port", "8502"])

    assert command[1:5] == ["-m", "pages.kit.preloaded_server", "run", str(APP_SCRIPT)]
    assert command[5:] == ["--server.port", "8502"]


def test_the_preloading_module_is_streamlits_command_line():
    result = subprocess.run(
        [sys.executable, "-m", "pages.kit.preloaded_server", "version"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Streamlit, version")


def test_preloading_imports_the_libraries_and_the_page_kit_quietly():
    result = subprocess.run(
        [sys.executable, "-c", CHECK_PRELOAD], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip

    assert result.stdout.splitlines() == ["['core.reads.numbers', 'pages.kit.reads', 'pandas', 'pyarrow']"]
    assert "No runtime found" not in result.stderr
