"""The import benchmark compares like with like: its per-row ORM baseline leaves the database exactly as the
import does (numbers, portfolios, field clocks, history, audit), so the ratio it prints is for the same work."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from benchmarks import import_bench
from core import chains, seed
from core.db import Base, make_engine
from core.migrate import upgrade

SEEDED_AT = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
IMPORTED_AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SHAPE = seed.synthetic_shape(2, 3, 10, 5)


def seeded(path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    seed.seed(engine, SHAPE, now=SEEDED_AT)
    return engine


def content(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows as a sorted list, without the ids and chain hashes rows were given in insertion order
    (the baseline writes its audit entries in another order; each database's chains are verified apart)."""
    dumped = {}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name in ("audit_chain_head", "history_chain_heads"):
                continue
            columns = [
                c
                for c in table.columns
                if not (table.name in ("audit_log", "number_health_snapshots") and c.name in ("id", "chain_hash"))
            ]
            dumped[table.name] = sorted((tuple(row) for row in connection.execute(select(*columns))), key=repr)
    return dumped


def with_another_portfolio_limit(listing: bytes) -> bytes:
    """The listing where the numbers of its first WABA report another shared limit for their portfolio."""
    pages = json.loads(listing)
    for item in next(iter(pages.values()))["data"]:
        item["whatsapp_business_manager_messaging_limit"] = "TIER_100K"
    return json.dumps(pages).encode()


def test_the_per_row_baseline_writes_what_the_import_writes(tmp_path: Path) -> None:
    imported, baseline = seeded(tmp_path / "imported.db"), seeded(tmp_path / "baseline.db")
    listing = with_another_portfolio_limit(import_bench.build_listing(imported, changed_every=3))
    before = content(imported)

    result = import_bench.fleet_import(imported, listing, IMPORTED_AT)
    changed = import_bench.naive_import(baseline, listing, IMPORTED_AT)

    assert result.plan.summary()["numbers to update"] == changed > 0
    assert result.plan.summary()["portfolios to update"] == 1
    assert content(imported) != before
    assert content(baseline) == content(imported)
    for engine in (imported, baseline):
        with engine.connect() as connection:
            assert chains.find_breaks(connection) == []
