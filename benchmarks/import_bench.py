"""Import benchmark: a 10,000-number Graph API listing (500 WABAs of a synthetic fleet, some health values changed)
imported by `core.imports` against a naive per-row ORM import of the same file, in the same run, each from the same
database state (SQLite: a copy of the file restored before each run; PostgreSQL: a database cloned from a template).

    .venv/bin/python -m benchmarks.import_bench [--databases sqlite,postgresql] [--repeat 3]

Not part of the test suite. Prints one line per measure and the ratio (target: ≥ 20× faster, a few seconds at most).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, create_engine, make_url, select, text
from sqlalchemy.orm import Session

from core import imports, model, seed, services
from core.db import FieldEventTime, PhoneNumber, Portfolio, SubscriptionGroup, Waba, make_engine, write_session
from core.imports.reading import decode, parse_json_documents
from core.migrate import upgrade
from core.model import Actor, Role
from core.reads.numbers import numbers_table

ADMIN = Actor(name="benchmark", role=Role.ADMIN)
HEALTH = ("quality_rating", "messaging_limit_tier", "status")
NAMES = ("display_name", "name_status")
QUALITY_CYCLE = ["GREEN", "YELLOW", "RED"]


def build_listing(engine: Engine, changed_every: int = 10) -> bytes:
    """Meta's view of every active number, by WABA, as Graph API pages of 20; one number in `changed_every` has
    another quality rating, one in 3 × `changed_every` another status, and each portfolio reports its limit."""
    table = numbers_table(engine)
    active = table[table["group_state"] == "active"]
    by_waba: dict[str, Any] = {}
    for index, row in enumerate(active.itertuples()):
        quality = row.quality_rating
        if index % changed_every == 0:
            quality = QUALITY_CYCLE[(QUALITY_CYCLE.index(quality) + 1) % 3] if quality in QUALITY_CYCLE else "GREEN"
        status = "FLAGGED" if index % (3 * changed_every) == 1 else row.status
        page = by_waba.setdefault(row.waba_id, {"data": [], "paging": {"cursors": {"before": "QVFI", "after": "QVFJ"}}})
        page["data"].append(
            {
                "verified_name": row.display_name,
                "code_verification_status": "VERIFIED",
                "display_phone_number": model.format_international(row.phone_e164),
                "quality_rating": quality,
                "platform_type": "CLOUD_API",
                "throughput": {"level": row.throughput_level or "STANDARD"},
                "id": row.meta_phone_number_id,
                "name_status": row.name_status,
                "status": status,
                "account_mode": "LIVE",
                "messaging_limit_tier": row.messaging_limit_tier,
                "whatsapp_business_manager_messaging_limit": row.portfolio_messaging_limit,
            }
        )
    return json.dumps(by_waba).encode()


def fleet_import(engine: Engine, data: bytes, now: datetime) -> imports.ImportResult:
    request = imports.ImportRequest("meta-numbers", data, "listing.json")
    return imports.run_import(engine, ADMIN, request, max_bytes=len(data), now=now)


def naive_import(engine: Engine, data: bytes, now: datetime) -> int:
    """The same work, one row at a time: one ORM query (the number with its active group) and ORM objects per
    listed number, with the same writes (values, event times, field clocks, history, audit), in one transaction."""
    text_, _ = decode(data)
    (document,), _ = parse_json_documents(text_)
    rows = changed = snapshots = portfolios = 0
    with write_session(engine) as session:
        for waba_id, page in document.value.items():
            waba = session.scalars(select(Waba).where(Waba.meta_waba_id == waba_id)).one()
            for item in page["data"]:
                rows += 1
                e164 = model.normalize_phone_number(item["display_phone_number"], strict=False)
                number, group = session.execute(
                    select(PhoneNumber, SubscriptionGroup)
                    .join(SubscriptionGroup, SubscriptionGroup.phone_number_id == PhoneNumber.id)
                    .where(PhoneNumber.e164 == e164, SubscriptionGroup.state == "active")
                ).one()
                assert group.waba_id == waba.id
                values = {
                    "display_name": item["verified_name"],
                    "quality_rating": item["quality_rating"],
                    "status": item["status"],
                    "messaging_limit_tier": item["messaging_limit_tier"],
                    "name_status": item["name_status"],
                    "code_verification_status": item["code_verification_status"],
                    "platform_type": item["platform_type"],
                    "account_mode": item["account_mode"],
                    "throughput_level": item["throughput"]["level"],
                }
                before = {k: getattr(number, k) for k, v in values.items() if getattr(number, k) != v}
                if before:
                    changed += 1
                    _set_with_clocks(session, "phone_number", number, {k: values[k] for k in before}, now)
                    number.updated_at = now
                    if set(before) & set(HEALTH):
                        number.health_event_time = now
                        snapshots += 1
                        services.record_health_snapshot(session, number, now=now, source="meta-listing")
                    if set(before) & set(NAMES):
                        number.name_event_time = now
                    services.record_audit(
                        session,
                        ADMIN,
                        "update",
                        "phone_number",
                        e164,
                        before=before,
                        after={k: values[k] for k in before},
                        now=now,
                    )
                portfolio = session.get_one(Portfolio, waba.portfolio_id)
                limit = item["whatsapp_business_manager_messaging_limit"]
                if portfolio.messaging_limit != limit:
                    portfolios += 1
                    services.record_audit(
                        session,
                        ADMIN,
                        "update",
                        "portfolio",
                        portfolio.meta_business_id,
                        before={"messaging_limit": portfolio.messaging_limit},
                        after={"messaging_limit": limit},
                        now=now,
                    )
                    _set_with_clocks(session, "portfolio", portfolio, {"messaging_limit": limit}, now)
                    portfolio.limit_event_time = now
        counts = {"numbers to update": changed, "portfolios to update": portfolios, "history rows": snapshots}
        services.record_audit(
            session,
            ADMIN,
            "import",
            "import",
            "meta-numbers: listing.json",
            after={
                "source": "listing.json",
                "kind": "meta-numbers",
                "rows": rows,
                **{name: count for name, count in counts.items() if count},
            },
            now=now,
        )
    return changed


def _set_with_clocks(session: Session, object_type: str, target: Any, values: dict[str, Any], now: datetime) -> None:
    """Each value on the object, and its field clock (found or added) set to the import's time."""
    for name, value in values.items():
        setattr(target, name, value)
        clock = session.get(FieldEventTime, (object_type, target.id, name))
        if clock is None:
            session.add(FieldEventTime(object_type=object_type, object_id=target.id, field=name, event_time=now))
        else:
            clock.event_time = now


# --- databases restored to the same state before each run ---------------------------------------------------------


class SqliteState:
    def __init__(self, workdir: Path) -> None:
        self.path = workdir / "fleet.db"
        self.saved = workdir / "saved.db"

    @contextmanager
    def fresh(self) -> Iterator[Engine]:
        shutil.copyfile(self.saved, self.path)
        settle(self.path)
        engine = make_engine(f"sqlite:///{self.path}")
        try:
            yield engine
        finally:
            engine.dispose()

    def build(self, build: Callable[[Engine], None]) -> None:
        engine = make_engine(f"sqlite:///{self.path}")
        upgrade(engine)
        build(engine)
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        shutil.copyfile(self.path, self.saved)


def settle(path: Path) -> None:
    """Flush a restored copy to disk before it is timed: otherwise the copy's own writeback (the whole file) runs
    during the import and blocks its first writes (figures in benchmarks/README.md)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class PostgresState:
    def __init__(self, server_uri: str) -> None:
        self.server = make_url(server_uri).set(drivername="postgresql+psycopg")
        self.admin = create_engine(self.server, isolation_level="AUTOCOMMIT")
        self.template = f"bench_{uuid.uuid4().hex[:8]}"

    @contextmanager
    def fresh(self) -> Iterator[Engine]:
        name = f"{self.template}_run_{uuid.uuid4().hex[:6]}"
        with self.admin.connect() as connection:
            # File by file, between two checkpoints: PostgreSQL 16's default (WAL_LOG) writes the whole copy
            # through the WAL and the shared buffers, and the checkpoints that follow then land inside a timed run.
            connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}" STRATEGY FILE_COPY'))
        engine = make_engine(self.server.set(database=name).render_as_string(hide_password=False))
        try:
            yield engine
        finally:
            engine.dispose()
            with self.admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))

    def build(self, build: Callable[[Engine], None]) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{self.template}"'))
        engine = make_engine(self.server.set(database=self.template).render_as_string(hide_password=False))
        upgrade(engine)
        build(engine)
        with engine.connect() as connection:
            connection.execute(text("ANALYZE"))
            connection.commit()
        engine.dispose()


def timed(action: Callable[[], object]) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one run; the garbage collector is paused for both imports alike (the fleet's
    import pauses it itself), so the ratio compares set-based statements with per-row ORM work, nothing else."""
    was_enabled = gc.isenabled()
    gc.disable()
    started, cpu = time.perf_counter(), time.process_time()
    try:
        action()
    finally:
        if was_enabled:
            gc.enable()
    return time.perf_counter() - started, time.process_time() - cpu


def measure(state: SqliteState | PostgresState, data: bytes, repeat: int, kind: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    ours: list[tuple[float, float]] = []
    naive: list[tuple[float, float]] = []
    summary: dict[str, int] = {}
    for _ in range(repeat):
        with state.fresh() as engine:
            ours.append(timed(lambda: summary.update(fleet_import(engine, data, now).plan.summary())))
        with state.fresh() as engine:
            naive.append(timed(lambda: naive_import(engine, data, now)))
    wall = statistics.median(t for t, _ in ours), statistics.median(t for t, _ in naive)
    cpu = statistics.median(c for _, c in ours), statistics.median(c for _, c in naive)
    rows = sum(len(page["data"]) for page in json.loads(data).values())
    ratio = wall[1] / wall[0]
    verdict = "ok" if ratio >= 20 and wall[0] <= 3 else "MISSED"
    print(
        f"  {kind:<10} {rows:,} listed numbers: import {wall[0] * 1000:7.0f} ms (CPU {cpu[0] * 1000:6.0f} ms)   "
        f"naive per-row ORM {wall[1] * 1000:8.0f} ms (CPU {cpu[1] * 1000:6.0f} ms)   ratio ×{ratio:5.1f} "
        f"(CPU ×{cpu[1] / cpu[0]:5.1f})   {verdict}: ≥ 20×, ≤ a few s",
        flush=True,
    )
    print(f"             plan: {summary}", flush=True)
    return {
        "database": kind,
        "rows": rows,
        "import_s": wall[0],
        "naive_s": wall[1],
        "ratio": ratio,
        "import_cpu_s": cpu[0],
        "naive_cpu_s": cpu[1],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.import_bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workspaces", type=int, default=50)
    parser.add_argument("--history-days", type=int, default=30)
    args = parser.parse_args(argv)
    shape = seed.synthetic_shape(args.workspaces, 10, 20, args.history_days)
    listing: dict[str, bytes] = {}

    def build(engine: Engine) -> None:
        seed.seed(engine, shape)
        listing.setdefault("data", build_listing(engine))

    results = []
    for kind in args.databases.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            print(
                f"{kind}: seeding {args.workspaces * 200:,} numbers, {args.history_days} days of history…", flush=True
            )
            if kind == "sqlite":
                state: SqliteState | PostgresState = SqliteState(Path(tmp))
                state.build(build)
                results.append(measure(state, listing["data"], args.repeat, kind))
                continue
            import pgserver

            server = pgserver.get_server(Path(tmp) / "pgdata", cleanup_mode="stop")
            try:
                state = PostgresState(server.get_uri())
                state.build(build)
                results.append(measure(state, listing["data"], args.repeat, kind))
                state.admin.dispose()
            finally:
                server.cleanup()
    print(pd.DataFrame(results).to_string(index=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
