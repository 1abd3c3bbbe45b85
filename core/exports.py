"""CSV and JSON exports: UTF-8, header row, ISO times, cells safe to open in a spreadsheet."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import pandas as pd

# A cell a spreadsheet would run as a formula (OWASP 'CSV injection'): these leading characters.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# A bare number ('+33612345678', '-5') computes nothing, so E.164 numbers stay readable for other tools.
_PLAIN_NUMBER = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$")


def neutralize_cell(value: Any) -> Any:
    """Prefix a quote to text a spreadsheet would read as a formula; leave everything else alone."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def _iso(value: Any) -> Any:
    if isinstance(value, (datetime, pd.Timestamp)):
        return value.isoformat()
    return value


def _prepared(frame: pd.DataFrame, columns: list[str] | None) -> pd.DataFrame:
    selected = frame[columns] if columns else frame
    return selected.apply(lambda column: column.map(lambda v: None if _is_missing(v) else _iso(v)))


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT


def to_csv_bytes(frame: pd.DataFrame, columns: list[str] | None = None) -> bytes:
    """CSV text for a spreadsheet: header row, UTF-8, ISO times, formula-looking cells neutralised."""
    safe = _prepared(frame, columns).apply(lambda column: column.map(neutralize_cell))
    return safe.to_csv(index=False, lineterminator="\n").encode("utf-8")


def to_json_bytes(frame: pd.DataFrame, columns: list[str] | None = None) -> bytes:
    """A JSON array of objects, one per row, ISO times; JSON is not opened by spreadsheets, so values stay exact."""
    records = _prepared(frame, columns).to_dict(orient="records")
    return json.dumps(records, ensure_ascii=False, indent=1).encode("utf-8")


def export_bytes(frame: pd.DataFrame, fmt: str, columns: list[str] | None = None) -> bytes:
    if fmt == "csv":
        return to_csv_bytes(frame, columns)
    if fmt == "json":
        return to_json_bytes(frame, columns)
    raise ValueError(f"Unknown export format '{fmt}' (expected csv or json).")
