"""Import Meta listings, webhook payloads and CSV (admins)."""

from __future__ import annotations

import streamlit as st

st.header("Import")
st.info("Imports are not available yet.")
