"""`streamlit run` with the app's heavy libraries already imported: `python -m pages.kit.preloaded_server run app.py`.

Streamlit runs app.py only when the first visitor connects, who would otherwise wait for pandas, Arrow, SQLAlchemy,
Plotly, the phone-number metadata and the read side to be imported. Only modules that do not use Streamlit's
runtime are imported here (its caches exist once the server runs).
"""

from __future__ import annotations

import sys

PRELOADED = (
    "pandas",
    "pyarrow",
    "plotly.graph_objects",
    "phonenumbers",
    "core.services",  # with the database layer under it
    "core.charts",
    "core.diagram",
    "core.reads.accounts",
    "core.reads.chart_data",
    "core.reads.history",
    "core.reads.numbers",
    "core.reads.subscriptions",
)


def preload() -> None:
    import importlib

    for module in PRELOADED:
        importlib.import_module(module)


if __name__ == "__main__":
    preload()
    from streamlit.web.cli import main

    sys.exit(main(prog_name="streamlit"))
