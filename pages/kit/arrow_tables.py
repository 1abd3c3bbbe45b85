"""The Arrow tables sent to the browser: only the columns on screen, and, for a cached read, one copy shared by
every session until the reads are dropped (no copy out of the cache, no conversion per rerun)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import streamlit as st

from pages.kit.freshness import read_key


def shown_columns(frame: pd.DataFrame, columns: list[str], tags: Iterable[str] = ()) -> pa.Table:
    """Only the columns on screen go to the browser, as Arrow; `tags` become one-tag lists so their cells can be
    coloured while keeping their text (built as Arrow lists, not Python lists per cell)."""
    shown = pa.Table.from_pandas(frame, columns=columns, preserve_index=False)
    for column in tags:
        text = frame[column].astype("string")
        present = text.notna() & text.ne("")
        offsets = np.concatenate([[0], np.cumsum(present.to_numpy(dtype=np.int32))]).astype(np.int32)
        values = pa.array(text[present].tolist(), type=pa.string())
        shown = shown.set_column(columns.index(column), column, pa.ListArray.from_arrays(offsets, values))
    return shown.replace_schema_metadata(None)  # pandas' notes describe the text columns the tags replaced


def shown(
    read: Callable[..., pd.DataFrame], columns: list[str], tags: Iterable[str] = (), **read_args: Any
) -> pa.Table:
    """The Arrow table of some columns of a cached read (`shown(reads.templates, […], waba_ids=…)`), kept with the
    read for every session until the reads are dropped; `tables.table(reads.wabas, …)` draws one directly."""
    tags = tuple(column for column in tags if column in columns)
    return _read_shown(read, tuple(columns), tags, tuple(sorted(read_args.items())))


def column_lists(read: Callable[[], pd.DataFrame], *columns: str) -> list[list[Any]]:
    """Some columns of a cached read as lists (choices for a selectbox), from the shared Arrow table."""
    shown = _read_shown(read, columns, ())
    return [shown.column(index).to_pylist() for index in range(len(columns))]


@st.cache_data(show_spinner=False, max_entries=16)
def _reads_generation(url: str, fresh: str) -> str:
    """A new value whenever the cached reads are dropped (after a write, or a new freshness token)."""
    return uuid.uuid4().hex


# Arrow tables are immutable: one copy per read serves every session, with no unpickling or hashing per rerun.
_SHOWN: dict[tuple[Any, ...], pa.Table] = {}
_SHOWN_LOCK = threading.Lock()


def _read_shown(
    read: Callable[..., pd.DataFrame],
    columns: tuple[str, ...],
    tags: tuple[str, ...],
    read_args: tuple[tuple[str, Any], ...] = (),
) -> pa.Table:
    url, fresh = read_key()
    generation = _reads_generation(url, fresh)
    key = (url, read.__qualname__, generation, *columns, "|", *tags, "|", *read_args)
    shown = _SHOWN.get(key)
    if shown is None:
        shown = shown_columns(read(**dict(read_args)), list(columns), tags)
        with _SHOWN_LOCK:
            for stale in [k for k in _SHOWN if k[0] == url and k[2] != generation]:
                del _SHOWN[stale]
            _SHOWN[key] = shown
    return shown
