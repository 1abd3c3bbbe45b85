"""Fleet-scale benchmark: builds a 10,000-number fleet with ~1M health snapshots and measures each page, the
import, the history queries, the CSV export and peak memory, on SQLite and on PostgreSQL, each next to a floor
measured in the same run. Prints a table and writes benchmarks/results.json. Not part of the test suite."""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, event

from core import exports, queries, seed
from core.db import make_engine
from core.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results.json"


@dataclass
class Measure:
    database: str
    name: str
    seconds: float
    floor_seconds: float | None = None
    target: str = ""
    note: str = ""
    met: bool | None = None

    @property
    def ratio(self) -> float | None:
        return self.seconds / self.floor_seconds if self.floor_seconds else None


@dataclass
class Report:
    measures: list[Measure] = field(default_factory=list)

    def add(self, measure: Measure) -> Measure:
        self.measures.append(measure)
        ratio = f"  ×{measure.ratio:.2f} of floor" if measure.ratio else ""
        verdict = "" if measure.met is None else ("  ok" if measure.met else "  MISSED")
        print(
            f"  {measure.database:<10} {measure.name:<44} {measure.seconds * 1000:9.1f} ms{ratio}{verdict}", flush=True
        )
        return measure


def median_seconds(action: Callable[[], Any], repeat: int) -> float:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'fleet.db'}"
        return
    import pgserver

    server = pgserver.get_server(workdir / "pgdata", cleanup_mode="stop")
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


@contextmanager
def captured_statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Records every SQL statement an engine runs while the block is open."""
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def raw_floor(engine: Engine, statements: list[tuple[str, Any]]) -> Callable[[], None]:
    """The same SELECTs straight through the driver into DataFrames: the least any page could do."""
    selects = [(s, p) for s, p in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))]

    def run() -> None:
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            for statement, parameters in selects:
                cursor.execute(statement, parameters)
                columns = [d[0] for d in cursor.description]
                pd.DataFrame(cursor.fetchall(), columns=columns)
        finally:
            raw.close()

    return run


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--workspaces", type=int, default=50)
    parser.add_argument("--history-days", type=int, default=100)
    args = parser.parse_args(argv)
    report = Report()
    os.chdir(ROOT)
    for kind in args.databases.split(","):
        with tempfile.TemporaryDirectory() as tmp, database(kind, Path(tmp)) as url:
            print(
                f"\n{kind}: building {args.workspaces * 200} numbers × {args.history_days} days of history…", flush=True
            )
            engine = make_engine(url)
            upgrade(engine)
            started = time.perf_counter()
            seeded = seed.seed(engine, seed.synthetic_shape(args.workspaces, 10, 20, args.history_days))
            report.add(
                Measure(
                    kind,
                    f"seed ({seeded.numbers} numbers, {seeded.snapshots} snapshots)",
                    time.perf_counter() - started,
                )
            )
            for step in STEPS:
                step(kind, engine, url, args.repeat, report)
            engine.dispose()
    RESULTS.write_text(json.dumps([asdict(m) | {"ratio": m.ratio} for m in report.measures], indent=1))
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    return 0


def measure_csv_export(kind: str, engine: Engine, url: str, repeat: int, report: Report) -> None:
    seconds = median_seconds(
        lambda: exports.to_csv_bytes(queries.numbers_table(engine), queries.NUMBER_EXPORT_COLUMNS), repeat
    )
    report.add(Measure(kind, "CSV export of all numbers", seconds, target="≤ 300 ms", met=seconds <= 0.3))


STEPS: list[Callable[[str, Engine, str, int, Report], None]] = [measure_csv_export]


if __name__ == "__main__":
    sys.exit(main())
