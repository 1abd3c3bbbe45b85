"""Chart blocks placed on the Overview and Numbers pages; the figures themselves are built in core."""

from __future__ import annotations

import pandas as pd
import streamlit as st


def render_overview_charts(numbers: pd.DataFrame, key_prefix: str = "overview") -> None:
    """Charts for the Overview page, from the numbers table."""
    if numbers.empty:
        return
    st.bar_chart(numbers["quality_rating"].value_counts())


def render_numbers_charts(numbers: pd.DataFrame, key_prefix: str = "numbers") -> None:
    """Charts for the Numbers page, following its filters (receives the filtered numbers table)."""
    if numbers.empty:
        return
    st.bar_chart(numbers["quality_rating"].value_counts())
