"""Running a select into a DataFrame: the one way the read side turns rows into tables."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, Executable


def read_frame(engine: Engine, query: Executable) -> pd.DataFrame:
    """The rows of `query` as a DataFrame with the select's column names."""
    with engine.connect() as connection:
        result = connection.execute(query)
        # Plain tuples: pandas probes Row objects attribute by attribute, several times slower.
        return pd.DataFrame.from_records([tuple(row) for row in result], columns=list(result.keys()))
