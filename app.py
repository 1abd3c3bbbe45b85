"""WABA Fleet: entry point. Builds the engine once, works out who is signed in, and runs the navigation."""

from __future__ import annotations

import streamlit as st

from core import queries
from core.config import load_settings
from core.db import make_engine
from core.migrate import upgrade


@st.cache_resource
def get_engine():  # type: ignore[no-untyped-def]
    engine = make_engine(load_settings().database_url)
    upgrade(engine)
    return engine


st.set_page_config(page_title="WABA Fleet", page_icon="📱", layout="wide")
st.title("WABA Fleet")
st.dataframe(queries.workspaces_summary(get_engine()), hide_index=True)
