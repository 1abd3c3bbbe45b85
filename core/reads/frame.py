"""Running a select into a DataFrame: the one way the read side turns rows into tables."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, Executable

from core.model import format_international


def read_frame(engine: Engine, query: Executable) -> pd.DataFrame:
    """The rows of `query` as a DataFrame with the select's column names."""
    with engine.connect() as connection:
        result = connection.execute(query)
        # Plain tuples: pandas probes Row objects attribute by attribute, several times slower.
        return pd.DataFrame.from_records([tuple(row) for row in result], columns=list(result.keys()))


def with_international_numbers(rows: pd.DataFrame) -> pd.DataFrame:
    """`rows` with `phone_international`, `phone_e164` as shown on pages ('+33 6 12 34 56 78'): worked out for the
    rows drawn only, as formatting a number costs far more than reading it."""
    return rows.assign(phone_international=rows["phone_e164"].map(format_international))
