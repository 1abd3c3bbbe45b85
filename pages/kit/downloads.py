"""CSV and JSON downloads (analysts and admins only) and the dated names of exported files."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import streamlit as st

from core import diagram
from core.exports import export_bytes, to_csv_bytes, to_json_bytes
from pages.kit.acting_user import can_export
from pages.kit.freshness import read_key


def export_file_name(stem: str, extension: str = "csv") -> str:
    return f"{stem}-{datetime.now().strftime('%Y%m%d-%H%M')}.{extension}"


def csv_download(
    label: str,
    frame: pd.DataFrame,
    *,
    file_name: str,
    key: str,
    columns: list[str] | None = None,
    rows_key: str | None = None,
) -> None:
    """A CSV download (analysts and admins only): UTF-8, header row, ISO times, formula-safe cells.

    `rows_key` names which rows `frame` holds (e.g. the filters that chose them): the file is then made once per
    key and database, not on every rerun, and the frame is not hashed."""
    if not can_export():
        return
    shown = tuple(columns) if columns else None
    data = _csv_bytes(frame, shown) if rows_key is None else _file_bytes(*read_key(), rows_key, "csv", shown, frame)
    st.download_button(
        label,
        data=data,
        file_name=file_name,
        mime="text/csv",
        key=key,
        on_click="ignore",
        icon=":material/download:",
    )


def diagram_downloads(dot: str) -> None:
    """The diagram drawn, as DOT and SVG files (analysts and admins only, like every download)."""
    if not can_export():
        return
    dot_column, svg_column = st.columns(2)
    dot_column.download_button(
        "Download DOT",
        data=dot.encode("utf-8"),
        file_name=export_file_name("ecosystem", "dot"),
        mime="text/vnd.graphviz",
        key="ecosystem_download_dot",
        on_click="ignore",
        icon=":material/download:",
    )
    if not diagram.svg_available():
        svg_column.caption(diagram.SVG_UNAVAILABLE)
        return
    svg_column.download_button(
        "Download SVG",
        data=lambda: diagram.render_svg(dot),  # laid out only when asked for
        file_name=export_file_name("ecosystem", "svg"),
        mime="image/svg+xml",
        key="ecosystem_download_svg",
        on_click="ignore",
        icon=":material/image:",
    )


def json_download(label: str, frame: pd.DataFrame, *, file_name: str, key: str, rows_key: str | None = None) -> None:
    """A JSON download (analysts and admins only); `rows_key` as for `csv_download`."""
    if not can_export():
        return
    st.download_button(
        label,
        data=to_json_bytes(frame) if rows_key is None else _file_bytes(*read_key(), rows_key, "json", None, frame),
        file_name=file_name,
        mime="application/json",
        key=key,
        on_click="ignore",
        icon=":material/data_object:",
    )


@st.cache_data(show_spinner=False, max_entries=20)
def _csv_bytes(frame: pd.DataFrame, columns: tuple[str, ...] | None) -> bytes:
    return to_csv_bytes(frame, list(columns) if columns else None)


@st.cache_data(show_spinner=False, max_entries=40)
def _file_bytes(
    url: str, fresh: str, rows_key: str, fmt: str, columns: tuple[str, ...] | None, _frame: pd.DataFrame
) -> bytes:
    """The file of the rows `rows_key` names, made once per key, format and database (the frame is not hashed)."""
    return export_bytes(_frame, fmt, list(columns) if columns else None)
