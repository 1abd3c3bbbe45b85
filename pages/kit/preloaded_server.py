"""`streamlit run` with the app's modules already imported: `python -m pages.kit.preloaded_server run app.py`.

Streamlit runs app.py only when the first visitor connects, who would otherwise wait for pandas, Arrow, SQLAlchemy,
Plotly, the phone-number metadata, the read side and the page kit to be imported. The page kit's cached reads may be
imported before the server runs: Streamlit's cache decorators only check their settings then, and each cache takes
its storage from the running server at its first call.
"""

from __future__ import annotations

import logging
import sys

PRELOADED = (
    "pandas",
    "pyarrow",
    "plotly.graph_objects",
    "phonenumbers",
    "core.services",  # with the database layer under it
    "core.charts",
    "core.diagram",
    "core.alerts",
    "core.deployment",
    "core.reads.accounts",
    "core.reads.chart_data",
    "core.reads.history",
    "core.reads.numbers",
    "core.reads.subscriptions",
    "pages.kit.shell",  # with the cached reads, the database's engine and the migrations under it
    "pages.kit.tables",
    "pages.kit.downloads",
    "pages.kit.unexpected_errors",
    "pages.charts_section",
)


def preload() -> None:
    import importlib

    from streamlit.runtime.caching import cache_data_api

    # Outside a server, a cache decorator warns that it has no runtime: true here, and harmless (see above).
    quiet = logging.getLogger(cache_data_api.__name__)
    level = quiet.level
    quiet.setLevel(logging.ERROR)
    try:
        for module in PRELOADED:
            importlib.import_module(module)
    finally:
        quiet.setLevel(level)


if __name__ == "__main__":
    preload()
    from streamlit.web.cli import main

    sys.exit(main(prog_name="streamlit"))
