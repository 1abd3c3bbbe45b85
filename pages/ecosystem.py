"""Ecosystem diagram: workspace → portfolio → WABA → number."""

from __future__ import annotations

import streamlit as st

st.header("Ecosystem")
st.info("The ecosystem diagram is not available yet.")
