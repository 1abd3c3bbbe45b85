"""Fleet-scale benchmark: builds a 10,000-number fleet with ~1M health snapshots and measures each page, the
import, the history queries, the CSV export and peak memory, on SQLite and on PostgreSQL, each next to a floor
measured in the same run. Prints a table and writes benchmarks/results.json. Not part of the test suite.

    .venv/bin/python -m benchmarks [--databases sqlite,postgresql] [--repeat 5] [--workspaces 50]

Pages run through Streamlit's AppTest (the server side of a page view: app.py, the page, its queries, the
serialisation of every element) in a child process of their own, whose peak RSS is the memory figure. A page's
floor is the SQL it ran on a cold cache, replayed straight through the driver into DataFrames.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import logging
import multiprocessing
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, create_engine, event, make_url, select, text
from sqlalchemy.orm import Session

from benchmarks import browser_bench, import_bench, webhooks_bench
from core import bulk, exports, seed
from core.db import PhoneNumber, SubscriptionGroup, Waba, make_engine
from core.migrate import upgrade
from core.reads.history import fleet_quality_by_day
from core.reads.numbers import NUMBER_EXPORT_COLUMNS, numbers_table

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results.json"
APP = ROOT / "app.py"
PG_DATABASE = "fleet_bench"
HISTORY_DAYS = 90
NAIVE_IMPORT_RUNS = 3


@dataclass
class Measure:
    database: str
    name: str
    value: float  # seconds, or megabytes when unit is "MB", or a rate when it is "/s"
    unit: str = "s"
    cpu_seconds: float | None = None  # of this process only (PostgreSQL's own work is not in it)
    floor_seconds: float | None = None
    target: str = ""
    note: str = ""
    met: bool | None = None

    @property
    def ratio(self) -> float | None:
        return self.value / self.floor_seconds if self.floor_seconds else None

    def shown(self, value: float | None = None) -> str:
        value = self.value if value is None else value
        if self.unit == "/s":
            return f"{value:,.0f}/s"
        return f"{value:.0f} MB" if self.unit == "MB" else f"{value * 1000:.1f} ms"


def verdict(met: bool | None) -> str:
    return "" if met is None else ("met" if met else "MISSED")


@dataclass
class Report:
    measures: list[Measure] = field(default_factory=list)

    def add(self, measure: Measure) -> Measure:
        self.measures.append(measure)
        cpu = f"cpu {measure.cpu_seconds * 1000:7.1f} ms" if measure.cpu_seconds is not None else " " * 14
        floor = " " * 24
        if measure.floor_seconds and measure.ratio:
            floor = f"floor {measure.floor_seconds * 1000:7.1f} ms ×{measure.ratio:5.2f}"
        print(
            f"  {measure.database:<10} {measure.name:<46} {measure.shown():>11}  {cpu}  {floor}  "
            f"{verdict(measure.met):<6} {measure.target}  {measure.note}".rstrip(),
            flush=True,
        )
        return measure

    def comparison(self, first: str, second: str) -> list[dict[str, Any]]:
        """Each line measured on both databases, with the second's figure as a multiple of the first's."""
        on_first = {m.name: m for m in self.measures if m.database == first}
        rows = []
        for measure in (m for m in self.measures if m.database == second):
            base = on_first.get(measure.name)
            if base is None or not base.value or measure.target == "":  # seed, baseline: not the product's
                continue
            ratio = measure.value / base.value
            rows.append({"name": measure.name, first: base, second: measure, "ratio": ratio, "met": ratio <= 2})
        return rows


@dataclass(frozen=True)
class Timing:
    wall: float
    cpu: float


def timed(action: Callable[[], Any], repeat: int) -> Timing:
    """Median wall-clock and CPU seconds of `repeat` runs (the machine may be shared: CPU time is shown too)."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return Timing(statistics.median(walls), statistics.median(cpus))


@dataclass
class Bench:
    """One database under measurement."""

    kind: str
    url: str
    engine: Engine
    workdir: Path
    repeat: int
    report: Report
    server_uri: str = ""

    def add(self, name: str, value: float, **details: Any) -> Measure:
        return self.report.add(Measure(self.kind, name, value, **details))


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[tuple[str, str]]:
    """(URL of an empty database, URL of its server's maintenance database: PostgreSQL only)."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'fleet.db'}", ""
        return
    import pgserver

    server = pgserver.get_server(workdir / "pgdata", cleanup_mode="stop")
    try:
        server_uri = make_url(server.get_uri()).set(drivername="postgresql+psycopg")
        admin = create_engine(server_uri, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{PG_DATABASE}"'))
        admin.dispose()
        yield (
            server_uri.set(database=PG_DATABASE).render_as_string(hide_password=False),
            server_uri.render_as_string(hide_password=False),
        )
    finally:
        server.cleanup()


@contextmanager
def captured_statements(engine: Engine | type[Engine] = Engine) -> Iterator[list[tuple[str, Any]]]:
    """Records every SQL statement an engine (by default: any engine) runs while the block is open."""
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        statements.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def is_read(statement: str) -> bool:
    return statement.lstrip().upper().startswith(("SELECT", "WITH"))


def raw_floor(engine: Engine, statements: list[tuple[str, Any]]) -> Callable[[], None]:
    """The same SELECTs straight through the driver into DataFrames: the least any page could do."""
    selects = [(s, p) for s, p in statements if is_read(s)]

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


def is_write(statement: str) -> bool:
    return statement.lstrip().upper().startswith(("INSERT", "UPDATE"))


@contextmanager
def captured_writes(engine: Engine) -> Iterator[list[tuple[Any, Any]]]:
    """The writes an import sends, in order, filled in when the block ends: the statements it runs itself, and
    (function, target, rows) for what it hands to `core.bulk` (which no statement event sees): the plan's rows and
    the history and audit rows appended to their chains at commit."""
    writes: list[tuple[Any, Any]] = []
    funnels = {"insert_many": bulk.insert_many, "execute_rows": bulk.execute_rows}
    inside: list[str] = []  # a funnel's own call of the other (SQLite's insert_many) is not a write of its own
    with captured_statements(engine) as sent:

        def recording(name: str) -> Callable[[Any, Any, Any], None]:
            def record(connection: Any, target: Any, rows: Any) -> None:
                if not inside:
                    sent.append((name, (target, rows)))
                inside.append(name)
                try:
                    funnels[name](connection, target, rows)
                finally:
                    inside.pop()

            return record

        for name in funnels:
            setattr(bulk, name, recording(name))
        try:
            yield writes
        finally:
            for name, funnel in funnels.items():
                setattr(bulk, name, funnel)
    writes += [(target, values) for target, values in sent if target in funnels or is_write(target)]


def replayed_writes(engine: Engine, writes: list[tuple[Any, Any]]) -> None:
    """An import's writes as it sent them, straight through the driver in one transaction (triggers and indexes
    included): the database's own share of an import, the part no client code can save."""
    with Session(engine.execution_options(fleet_write=True)) as session, session.begin():
        connection = session.connection()
        cursor = connection.connection.cursor()
        for target, values in writes:
            if target == "insert_many":
                bulk.insert_many(connection, *values)
            elif target == "execute_rows":
                bulk.execute_rows(connection, *values)
            elif isinstance(values, list):
                cursor.executemany(target, values)
            else:
                cursor.execute(target, values)


def peak_rss_mb() -> float:
    """This process's peak resident memory. Linux's VmHWM, when there: `ru_maxrss` survives exec, so a child
    started from the seeding process would report the parent's peak (the million history rows) as its own."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- 1. pages through AppTest, in a process of their own ------------------------------------------------------


@dataclass(frozen=True)
class PageCase:
    name: str
    page: str
    ui_state: dict[str, Any] = field(default_factory=dict)


PAGES = [
    PageCase("Overview", "pages/overview.py"),
    PageCase("Accounts", "pages/accounts.py"),
    PageCase("Numbers", "pages/numbers.py"),
    PageCase("Numbers, filtered (quality RED/YELLOW)", "pages/numbers.py", {"qualities": ["RED", "YELLOW"]}),
    PageCase("Subscriptions", "pages/subscriptions.py"),
    PageCase("Templates", "pages/templates.py"),
    PageCase("Ecosystem", "pages/ecosystem.py"),
]


def _page_runs(url: str, repeat: int) -> dict[str, Any]:
    """Runs in a child process: every page cold and warm, its statements and their floor, and the peak RSS."""
    os.chdir(ROOT)
    os.environ["DATABASE_URL"] = url
    os.environ["FLEET_LOCAL_ROLE"] = "admin"
    os.environ.pop("FLEET_USER", None)
    # Caches are cleared outside a script run here, on purpose: no need to be warned at each run.
    logging.disable(logging.WARNING)
    import streamlit as st
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import AppTest
    from streamlit.testing.v1 import app_test as app_test_module

    # As on a live server: scripts compiled once, not at every run as AppTest does ...
    shared_scripts = ScriptCache()
    app_test_module.ScriptCache = lambda: shared_scripts  # type: ignore[misc, assignment]
    # ... and every page run through app.py once st.navigation has run (AppTest would otherwise start each run in
    # the old pages/-folder mode and run the page twice).
    original_init = PagesManager.__init__

    def init_after_first_navigation(self: PagesManager, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = init_after_first_navigation  # type: ignore[method-assign]
    st.cache_resource.clear()
    st.cache_data.clear()
    floor_engine = make_engine(url)
    results = []
    for case in PAGES:
        at = AppTest.from_file(str(APP), default_timeout=300)
        at.secrets = {"benchmark": {"mode": "local"}}
        at.session_state["numbers_filters"] = dict(case.ui_state)
        at.run()
        at.switch_page(case.page).run()
        if at.exception:
            raise RuntimeError(f"{case.name}: {[e.value for e in at.exception]}")

        cold_statements: list[tuple[str, Any]] = []
        cold = timed(partial(_cold_run, st, at, cold_statements), repeat)
        with captured_statements() as warm_statements:
            warm = timed(at.run, repeat)
        floor = timed(raw_floor(floor_engine, cold_statements), repeat)
        results.append(
            {
                "name": case.name,
                "cold": asdict(cold),
                "warm": asdict(warm),
                "floor": asdict(floor),
                "selects": sum(1 for s, _ in cold_statements if is_read(s)),
                "warm_selects": sum(1 for s, _ in warm_statements if is_read(s)) / repeat,  # per run, like cold
                "rows_to_browser": _rows_sent(at),
            }
        )
    floor_engine.dispose()
    st.cache_resource.clear()
    return {"pages": results, "peak_rss_mb": peak_rss_mb()}


def _cold_run(st: Any, at: Any, statements: list[tuple[str, Any]]) -> None:
    """A page's run with every cached read dropped (as after a write); keeps the statements it ran."""
    st.cache_data.clear()
    with captured_statements() as run_statements:
        at.run()
    statements[:] = run_statements


def _rows_sent(at: Any) -> int:
    """Rows of every table the page's last run sent to the browser."""
    return sum(len(frame.value) for frame in at.dataframe)


def measure_pages(bench: Bench) -> None:
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        measured = pool.submit(_page_runs, bench.url, bench.repeat).result()
    for page in measured["pages"]:
        warm, cold, floor = (Timing(**page[kind]) for kind in ("warm", "cold", "floor"))
        bench.add(
            f"page {page['name']}: warm",
            warm.wall,
            cpu_seconds=warm.cpu,
            floor_seconds=floor.wall,
            target="≤ 1.5× floor, ≤ 300 ms",
            met=warm.wall <= 1.5 * floor.wall and warm.wall <= 0.3,
            note=f"{page['warm_selects']:g} SELECTs, {page['rows_to_browser']:,} table rows sent",
        )
        bench.add(
            f"page {page['name']}: cold",
            cold.wall,
            cpu_seconds=cold.cpu,
            floor_seconds=floor.wall,
            target="≤ 1 s",
            met=cold.wall <= 1,
            note=f"{page['selects']} SELECTs (floor CPU {floor.cpu * 1000:.1f} ms)",
        )
    rss = measured["peak_rss_mb"]
    bench.add("peak RSS of the page process", rss, unit="MB", target="≤ 400 MB", met=rss <= 400)


# --- 2. import of a Graph listing against a naive per-row ORM import -----------------------------------------------


def measure_import(bench: Bench) -> None:
    """Run last: each import starts from a copy of the benchmark database (the same state for both)."""
    data = import_bench.build_listing(bench.engine)
    rows = sum(len(page["data"]) for page in json.loads(data).values())
    bench.engine.dispose()
    now = datetime.now(UTC)
    state = _import_state(bench)
    ours: list[tuple[float, float]] = []
    naive: list[tuple[float, float]] = []
    for run in range(bench.repeat):
        with state.fresh() as engine:
            ours.append(import_bench.timed(lambda: import_bench.fleet_import(engine, data, now)))
        if run < NAIVE_IMPORT_RUNS:  # a minute or more each: its median needs fewer runs
            with state.fresh() as engine:
                naive.append(import_bench.timed(lambda: import_bench.naive_import(engine, data, now)))
    with state.fresh() as engine, captured_writes(engine) as writes:
        import_bench.fleet_import(engine, data, now)
    floors = []
    for _ in range(bench.repeat):
        with state.fresh() as engine:
            floors.append(import_bench.timed(partial(replayed_writes, engine, writes)))
    fast, slow, floor = (
        Timing(*(statistics.median(t[i] for t in runs) for i in (0, 1))) for runs in (ours, naive, floors)
    )
    bench.add(
        f"import of a {rows:,}-number Graph listing",
        fast.wall,
        cpu_seconds=fast.cpu,
        target="≥ 20× faster than per-row ORM, ≤ 2 s",
        met=slow.wall / fast.wall >= 20 and fast.wall <= 2,
        note=f"×{slow.wall / fast.wall:.1f} faster than per-row ORM (CPU ×{slow.cpu / fast.cpu:.1f})",
    )
    bench.add("naive per-row ORM import of the same listing", slow.wall, cpu_seconds=slow.cpu)
    bench.add(
        "the import's own writes replayed through the driver",
        floor.wall,
        cpu_seconds=floor.cpu,
        note=f"{len(writes)} statements or COPY streams, commit included: {floor.wall / fast.wall:.0%} of the import",
    )
    if isinstance(state, import_bench.PostgresState):
        state.admin.dispose()


def _import_state(bench: Bench) -> import_bench.SqliteState | import_bench.PostgresState:
    if bench.kind == "sqlite":
        copies = import_bench.SqliteState(bench.workdir)
        with bench.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        bench.engine.dispose()
        shutil.copyfile(make_url(bench.url).database or "", copies.saved)
        copies.path = bench.workdir / f"import-{uuid.uuid4().hex[:6]}.db"
        return copies
    clones = import_bench.PostgresState(bench.server_uri)
    clones.template = PG_DATABASE  # cloned for each run; no one else is connected to it now
    return clones


# --- 3. quality history for one WABA and for the fleet, and its plan ------------------------------------------------


def measure_history(bench: Bench) -> None:
    with bench.engine.connect() as connection:
        waba_id = connection.scalar(select(Waba.id).order_by(Waba.id).limit(1))
        one_waba = tuple(
            connection.scalars(
                select(PhoneNumber.e164)
                .join(SubscriptionGroup, SubscriptionGroup.phone_number_id == PhoneNumber.id)
                .where(SubscriptionGroup.waba_id == waba_id, SubscriptionGroup.state == "active")
            )
        )
    for scope, e164s in ((f"one WABA ({len(one_waba)} numbers)", one_waba), ("whole fleet", None)):

        def query(e164s: tuple[str, ...] | None = e164s) -> pd.DataFrame:
            return fleet_quality_by_day(bench.engine, days=HISTORY_DAYS, e164s=e164s)

        with captured_statements(bench.engine) as statements:
            query()
        timing = timed(query, bench.repeat)
        indexes, full_scans = query_plan(bench.engine, statements[-1])
        uses_index = bool(indexes) and not full_scans
        note = f"plan: {', '.join(sorted(indexes)) or 'no index'}" + (
            f"; full scan of {', '.join(sorted(full_scans))}" if full_scans else ""
        )
        bench.add(
            f"quality history, {scope}, {HISTORY_DAYS} days",
            timing.wall,
            cpu_seconds=timing.cpu,
            target="≤ 100 ms, index on the history",
            met=timing.wall <= 0.1 and uses_index,
            note=note,
        )


def query_plan(engine: Engine, statement: tuple[str, Any]) -> tuple[set[str], set[str]]:
    """The indexes a statement's plan uses on the history table, and the tables it reads in full."""
    sql, parameters = statement
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql, parameters)
            lines = [str(row[-1]) for row in cursor.fetchall()]
        else:
            cursor.execute("EXPLAIN " + sql, parameters)
            lines = [str(row[0]) for row in cursor.fetchall()]
    finally:
        raw.close()
    return plan_indexes(lines, engine.dialect.name)


def plan_indexes(lines: list[str], dialect: str) -> tuple[set[str], set[str]]:
    history = "number_health_snapshots"
    indexes: set[str] = set()
    full_scans: set[str] = set()
    for line in lines:
        words = line.replace("(", " ").replace(")", " ").split()
        if dialect == "sqlite":
            if "INDEX" in words and history in line:
                indexes.add(words[words.index("INDEX") + 1])
            elif line.startswith("SCAN ") and "INDEX" not in words and words[1] == history:
                full_scans.add(history)
        else:
            if "Index" in line and " using " in line and history in line:
                indexes.add(words[words.index("using") + 1])
            elif "Seq Scan on" in line and history in line:
                full_scans.add(history)
    return indexes, full_scans


# --- 4. CSV export of every number -------------------------------------------------------------------------------


def measure_csv_export(bench: Bench) -> None:
    def export() -> bytes:
        return exports.to_csv_bytes(numbers_table(bench.engine), NUMBER_EXPORT_COLUMNS)

    timing = timed(export, bench.repeat)
    rows = export().count(b"\n") - 1
    bench.add(
        f"CSV export of all {rows:,} numbers",
        timing.wall,
        cpu_seconds=timing.cpu,
        target="≤ 300 ms",
        met=timing.wall <= 0.3,
        note="query + CSV text",
    )


def measure_webhooks(bench: Bench) -> None:
    """20,000 signed deliveries at concurrency 32 to a receiver and a worker on the seeded fleet."""
    outcome = webhooks_bench.measure(bench.kind, bench.url, bench.engine, bench.workdir, 20_000, 32)
    postgres = bench.kind == "postgresql"
    bench.add(
        "webhooks: acknowledged per second",
        outcome.per_second,
        unit="/s",
        target="≥ 500/s" if postgres else "",
        met=outcome.per_second >= 500 if postgres else None,
        note=f"p50 {outcome.p50_ms:.0f} ms, {outcome.lost} lost, {outcome.applied_twice} applied twice",
    )
    bench.add(
        "webhooks: p99 acknowledgement",
        outcome.p99_ms / 1000,
        target="< 250 ms" if postgres else "",
        met=outcome.p99_ms < 250 if postgres else None,
    )
    bench.add(
        "webhooks: all applied after the last",
        outcome.applied_after_last_s,
        target="≤ 60 s, 0 lost, 0 twice" if postgres else "",
        met=outcome.applied_after_last_s <= 60 and not outcome.lost and not outcome.applied_twice if postgres else None,
    )


def measure_browser(bench: Bench) -> None:
    """Chromium on the app and on a blank two-page app: first load, then each page by a sidebar click; a page with
    elements still drawing once it is shown (charts, tables whose code is loading) gets a second line, until
    everything is drawn, under the same target."""
    app, blank, load = browser_bench.measure(bench.url, bench.workdir, max(2, bench.repeat))
    blank_first = blank.first_loads[0]
    note = f"load average {load[0]} on {os.cpu_count()} CPUs"
    bench.add("browser: blank app, first load (cold)", blank_first, note=note)
    bench.add("browser: blank app, page by sidebar", browser_bench.median(blank.warm_visits["Blank two"]))
    first_load = f"≤ {browser_bench.FIRST_LOAD_RATIO:g}× blank"
    for suffix, seconds in _with_late_elements(app.first_loads[0], app.drawn["first load"][0]):
        bench.add(
            f"browser: first load (cold caches){suffix}", seconds, floor_seconds=blank_first, target=first_load,
            met=seconds <= browser_bench.FIRST_LOAD_RATIO * blank_first,
        )  # fmt: skip
    new_session = browser_bench.median(browser_bench.later_runs(app.first_loads))
    for suffix, seconds in _with_late_elements(
        new_session, browser_bench.median(browser_bench.later_runs(app.drawn["first load"]))
    ):
        bench.add(f"browser: first load (new session){suffix}", seconds)
    page_floor = browser_bench.median(blank.warm_visits["Blank two"])
    for title, visits in app.first_visits.items():
        drawn = app.drawn[f"{title} first"]
        first = max(visits[0], browser_bench.median(browser_bench.later_runs(visits)))
        first_drawn = max(drawn[0], browser_bench.median(browser_bench.later_runs(drawn)))
        for suffix, seconds in _with_late_elements(first, first_drawn):
            bench.add(
                f"browser: {title}, first visit in a session{suffix}", seconds, target="≤ 1 s",
                met=seconds <= browser_bench.FIRST_VISIT_TARGET_S, note=f"cold server {visits[0] * 1000:.0f} ms",
            )  # fmt: skip
        warm = browser_bench.median(app.warm_visits[title])
        for suffix, seconds in _with_late_elements(warm, browser_bench.median(app.drawn[f"{title} warm"])):
            bench.add(
                f"browser: {title}, warm{suffix}", seconds, target="≤ 0.5 s",
                met=seconds <= browser_bench.WARM_TARGET_S, floor_seconds=page_floor,
            )  # fmt: skip


def _with_late_elements(shown: float, drawn: float) -> list[tuple[str, float]]:
    """The page's figure, and its figure once every element (charts, tables) is drawn, when that is later by more
    than a frame or so."""
    return [("", shown)] + ([(", fully drawn", drawn)] if drawn - shown > 0.05 else [])


STEPS: dict[str, Callable[[Bench], None]] = {
    "pages": measure_pages,
    "history": measure_history,
    "csv": measure_csv_export,
    "webhooks": measure_webhooks,
    "browser": measure_browser,
    "import": measure_import,  # last: it reads the database's files while no one else uses them
}


# --- the run -----------------------------------------------------------------------------------------------------


def print_table(report: Report, kinds: list[str]) -> None:
    """The results as Markdown (as the README shows them)."""
    print("\n| Database | Measure | Time (median) | CPU | Floor | ÷ floor | Target | |")
    print("|---|---|---:|---:|---:|---:|---|---|")
    for m in report.measures:
        cpu = f"{m.cpu_seconds * 1000:.1f} ms" if m.cpu_seconds is not None else ""
        floor = f"{m.floor_seconds * 1000:.1f} ms" if m.floor_seconds else ""
        ratio = f"×{m.ratio:.2f}" if m.ratio else ""
        print(f"| {m.database} | {m.name} | {m.shown()} | {cpu} | {floor} | {ratio} | {m.target} | {verdict(m.met)} |")
    if len(kinds) == 2:
        first, second = kinds
        print(f"\n| Measure | {first} | {second} | {second} ÷ {first} | ≤ 2× |\n|---|---:|---:|---:|---|")
        for row in report.comparison(first, second):
            print(
                f"| {row['name']} | {row[first].shown()} | {row[second].shown()} | ×{row['ratio']:.2f} | "
                f"{verdict(row['met'])} |"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--databases", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    parser.add_argument("--repeat", type=int, default=5, help="runs per measure; the median is reported")
    parser.add_argument("--workspaces", type=int, default=50, help="workspaces of 10 WABAs × 20 numbers each")
    parser.add_argument("--history-days", type=int, default=100, help="days of history per number (one a day)")
    parser.add_argument("--only", default=",".join(STEPS), help=f"comma-separated steps among: {', '.join(STEPS)}")
    args = parser.parse_args(argv)
    kinds = [kind.strip() for kind in args.databases.split(",") if kind.strip()]
    steps = [STEPS[name.strip()] for name in args.only.split(",") if name.strip()]
    report = Report()
    loads: dict[str, list[float]] = {}
    os.chdir(ROOT)
    for kind in kinds:
        with tempfile.TemporaryDirectory() as tmp, database(kind, Path(tmp)) as (url, server_uri):
            print(f"\n{kind}: {args.workspaces * 200:,} numbers × {args.history_days} days of history", flush=True)
            engine = make_engine(url)
            upgrade(engine)
            started = time.perf_counter()
            seeded = seed.seed(engine, seed.synthetic_shape(args.workspaces, 10, 20, args.history_days))
            if kind == "postgresql":  # as autovacuum does after a bulk load: statistics and the visibility map
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                    connection.execute(text("VACUUM ANALYZE"))
            bench = Bench(kind, url, engine, Path(tmp), args.repeat, report, server_uri)
            seconds = time.perf_counter() - started
            bench.add(f"seed ({seeded.numbers:,} numbers, {seeded.snapshots:,} snapshots)", seconds)
            for step in steps:
                step(bench)
            engine.dispose()
            loads[kind] = [round(load, 2) for load in os.getloadavg()]
            print(f"  load average (1, 5, 15 min) at the end: {loads[kind]} on {os.cpu_count()} CPUs", flush=True)
    print_table(report, kinds)
    RESULTS.write_text(
        json.dumps(
            {
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
                "repeat": args.repeat,
                "cpus": os.cpu_count(),
                "load_average": loads,
                "measures": [asdict(m) | {"ratio": m.ratio} for m in report.measures],
                "postgresql_vs_sqlite": [
                    {"name": row["name"], "ratio": row["ratio"], "met": row["met"]}
                    for row in (report.comparison(*kinds) if len(kinds) == 2 else [])
                ],
            },
            indent=1,
        )
    )
    print(f"\nwrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
