"""Deterministic demo and synthetic fleets, written with bulk inserts (a 10,000-number fleet in seconds)."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any

import phonenumbers
from sqlalchemy import Engine, Integer, LargeBinary, func, inspect, select, text
from sqlalchemy.schema import AddConstraint, DropConstraint

from core import chains
from core.bulk import Memo
from core.db import (
    AuditEntry,
    Base,
    HistoryChainHead,
    MessageTemplate,
    NumberHealthSnapshot,
    PhoneNumber,
    Portfolio,
    SubscriptionGroup,
    UTCDateTime,
    Waba,
    Workspace,
    WorkspacePortfolio,
    bump_data_version,
    is_postgresql,
)
from core.errors import InvalidInput

QUALITY_WEIGHTS = {"GREEN": 80, "YELLOW": 10, "RED": 4, "NA": 4, "UNKNOWN": 2}
TIER_WEIGHTS = {
    "TIER_250": 10,
    "TIER_1K": 30,
    "TIER_2K": 25,
    "TIER_10K": 20,
    "TIER_100K": 8,
    "TIER_UNLIMITED": 4,
    "TIER_NOT_SET": 3,
}
STATUS_WEIGHTS = {
    "CONNECTED": 85,
    "PENDING": 3,
    "FLAGGED": 4,
    "RESTRICTED": 2,
    "RATE_LIMITED": 2,
    "DISCONNECTED": 2,
    "BANNED": 1,
    "UNVERIFIED": 1,
}
NAME_STATUS_WEIGHTS = {
    "APPROVED": 80,
    "AVAILABLE_WITHOUT_REVIEW": 8,
    "PENDING_REVIEW": 6,
    "DECLINED": 3,
    "EXPIRED": 3,
}
PORTFOLIO_LIMITS = [
    "TIER_2K",
    "TIER_10K",
    "TIER_1K",
    "TIER_100K",
    "TIER_250",
    "TIER_UNLIMITED",
]
TEMPLATES = [
    ("order_update", "UTILITY"),
    ("shipping_confirmation", "UTILITY"),
    ("welcome_offer", "MARKETING"),
    ("black_friday_promo", "MARKETING"),
    ("back_in_stock", "MARKETING"),
    ("login_code", "AUTHENTICATION"),
    ("appointment_reminder", "UTILITY"),
]
TEMPLATE_STATUS_WEIGHTS = {
    "APPROVED": 80,
    "PENDING": 8,
    "REJECTED": 5,
    "PAUSED": 4,
    "DISABLED": 3,
}
REGIONS = ["FR", "DE", "ES", "IT", "NL", "GB", "US", "BR", "MX", "IN", "SG", "AU"]
LANGUAGE_BY_REGION = {
    "FR": "fr",
    "DE": "de",
    "ES": "es",
    "IT": "it",
    "NL": "nl",
    "GB": "en_GB",
    "US": "en_US",
    "BR": "pt_BR",
    "MX": "es_MX",
    "IN": "en",
    "SG": "en",
    "AU": "en",
}
DEMO_WORKSPACES = ["EU Brands", "Americas Retail", "APAC Services"]
DEMO_PORTFOLIOS = [
    "Acme Europe",
    "Acme Group",
    "Acme Americas",
    "Acme Asia Pacific",
    "Acme Support",
]
DEMO_BRANDS = ["Fashion", "Sport", "Home", "Beauty", "Outlet", "Kids", "Care", "Travel"]


@dataclass(frozen=True)
class FleetShape:
    """Sizes of a generated fleet."""

    workspaces: int
    portfolios: int
    wabas_per_workspace: Sequence[int]
    numbers_per_waba: Sequence[int]
    history_days: int
    archived_per_waba: int = 1
    templates_per_waba: int = 4
    seed: int = 7
    names: str = "synthetic"


# The demo shows what a manager watches for: a few numbers whose quality turned RED in their last days.
DEMO_RED_EVERY = 19
DEMO_RED_DAYS = 4


def _turned_red(history: list[tuple[datetime, str, str, str]], days: int) -> list[tuple[datetime, str, str, str]]:
    return [*history[:-days], *[(at, "RED", tier, status) for at, _, tier, status in history[-days:]]]


DEMO_SHAPE = FleetShape(
    workspaces=3,
    portfolios=5,
    wabas_per_workspace=[6, 4, 2],
    numbers_per_waba=[20, 12, 9, 8, 7, 6, 5, 4, 3, 3, 2, 1],
    history_days=90,
    archived_per_waba=1,
    names="demo",
)


def synthetic_shape(
    workspaces: int,
    wabas_per_workspace: int,
    numbers_per_waba: int,
    history_days: int,
    portfolios: int | None = None,
) -> FleetShape:
    if not (1 <= wabas_per_workspace <= 10 and 0 <= numbers_per_waba <= 20 and workspaces >= 1 and history_days >= 0):
        raise InvalidInput("Sizes must respect the rules: 1–10 WABAs per workspace, 0–20 numbers per WABA.")
    return FleetShape(
        workspaces=workspaces,
        portfolios=portfolios or max(1, (workspaces * 5 + 2) // 3),
        wabas_per_workspace=[wabas_per_workspace],
        numbers_per_waba=[numbers_per_waba],
        history_days=history_days,
        archived_per_waba=0,
    )


@dataclass(frozen=True)
class SeedReport:
    workspaces: int
    portfolios: int
    wabas: int
    numbers: int
    active_groups: int
    snapshots: int
    templates: int


def seed(engine: Engine, shape: FleetShape, *, now: datetime | None = None) -> SeedReport:
    """Fill an empty database with a generated fleet; refuses a database that already holds workspaces."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    with engine.connect() as connection:
        if connection.scalar(select(func.count()).select_from(Workspace)):
            raise InvalidInput("The database already holds a fleet; seed only an empty database.")
    rows = _FleetBuilder(shape, now).build()
    audit = rows.pop(AuditEntry)
    heads: dict[int, bytes] = {}
    chains.chain_snapshots(rows[NumberHealthSnapshot], heads)
    rows[HistoryChainHead] = [{"phone_number_id": n, "last_hash": h} for n, h in heads.items()]
    with engine.begin() as connection:
        for table, table_rows in rows.items():
            with _indexes_built_after_load(connection, table, len(table_rows)):
                _bulk_insert(connection, table, table_rows)
        chains.append_audit(connection, audit)
        if is_postgresql(engine):
            # Rows were written with explicit ids: move each id sequence past them (link tables have none).
            for table in (t for t in rows if "id" in t.__table__.c):
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table.__tablename__}', 'id'), "
                        f"(SELECT coalesce(max(id), 1) FROM {table.__tablename__}))"
                    )
                )
        bump_data_version(connection)
    return SeedReport(
        workspaces=len(rows[Workspace]),
        portfolios=len(rows[Portfolio]),
        wabas=len(rows[Waba]),
        numbers=len(rows[PhoneNumber]),
        active_groups=sum(1 for g in rows[SubscriptionGroup] if g["state"] == "active"),
        snapshots=len(rows[NumberHealthSnapshot]),
        templates=len(rows[MessageTemplate]),
    )


@contextmanager
def _indexes_built_after_load(connection: Any, table: type[Base], row_count: int) -> Iterator[None]:
    """On PostgreSQL a million history rows load several times faster into a bare table: its indexes and per-row
    foreign-key checks are dropped and rebuilt once, in the same transaction, so a failure undoes both. Its
    CREATE INDEX leaves a tenth of each leaf free, as in an index grown by daily writes.

    Not on SQLite: its CREATE INDEX fills every leaf, which no running fleet's index does, and the next import
    would split nearly every leaf it writes to. There the rows go into the indexed table in the order they were
    recorded, as a deployment writes them (slower to seed; figures in benchmarks/README.md)."""
    if row_count < 100_000 or connection.dialect.name != "postgresql":
        yield
        return
    definition = Base.metadata.tables[table.__tablename__]
    # Only what the migrated database holds is dropped and rebuilt, whatever the models say.
    stored = inspect(connection)
    stored_indexes = {index["name"] for index in stored.get_indexes(definition.name)}
    stored_foreign_keys = {key["name"] for key in stored.get_foreign_keys(definition.name)}
    indexes = [index for index in definition.indexes if index.name in stored_indexes]
    foreign_keys = [key for key in definition.foreign_key_constraints if key.name in stored_foreign_keys]
    for foreign_key in foreign_keys:
        connection.execute(DropConstraint(foreign_key))
    for index in indexes:
        index.drop(connection)
    yield
    for index in indexes:
        index.create(connection)
    for foreign_key in foreign_keys:
        connection.execute(AddConstraint(foreign_key))


def _bulk_insert(connection: Any, table: type[Base], rows: list[dict[str, Any]]) -> None:
    """Hands rows to the driver column by column: the history table has a million rows, so per-row Python
    (SQLAlchemy's parameter processing, psycopg's write_row) would cost most of the seed's time."""
    if not rows:
        return
    names = list(rows[0])
    columns = ", ".join(names)
    cursor = connection.connection.driver_connection.cursor()
    postgresql = connection.dialect.name == "postgresql"
    converters = [_converter(connection.dialect, table.__table__.c[name], postgresql) for name in names]
    for chunk in _chunks(rows, 100_000):
        values = [
            list(map(convert, map(itemgetter(name), chunk))) if convert else list(map(itemgetter(name), chunk))
            for name, convert in zip(names, converters, strict=True)
        ]
        if postgresql:
            with cursor.copy(f"COPY {table.__tablename__} ({columns}) FROM STDIN") as copy:
                copy.write("\n".join(map("\t".join, zip(*values, strict=True))) + "\n")
        else:
            placeholders = ", ".join("?" for _ in names)
            statement = f"INSERT INTO {table.__tablename__} ({columns}) VALUES ({placeholders})"
            cursor.executemany(statement, zip(*values, strict=True))


def _converter(dialect: Any, column: Any, postgresql: bool) -> Callable[[Any], Any] | None:
    """How a column's Python values become what the driver takes; None when they go in unchanged."""
    if not postgresql:
        bind = column.type.dialect_impl(dialect).bind_processor(dialect)
        return Memo(bind).__getitem__ if isinstance(column.type, UTCDateTime) and bind else None
    if isinstance(column.type, Integer):
        return Memo(_copy_text).__getitem__ if column.nullable else str
    if isinstance(column.type, LargeBinary):
        return _copy_bytes  # hashes: no two alike
    return Memo(_copy_text).__getitem__


def _copy_bytes(value: bytes | None) -> str:
    """Bytes in PostgreSQL's COPY text format (bytea's hex input, its backslash escaped)."""
    return "\\N" if value is None else "\\\\x" + value.hex()


def _copy_text(value: Any) -> str:
    """A value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, datetime):
        return _naive(value).isoformat(sep=" ")
    text_value = str(value)
    return text_value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


class _FleetBuilder:
    def __init__(self, shape: FleetShape, now: datetime) -> None:
        self.shape = shape
        self.now = now
        self.rng = random.Random(shape.seed)
        self.start = now - timedelta(days=shape.history_days)
        # Built once: the history walk visits each day for every number.
        self.days = [self.start + timedelta(days=day + 1) for day in range(max(1, shape.history_days))]
        self.phones = _phone_numbers()
        self.rows: dict[type[Base], list[dict[str, Any]]] = {
            t: []
            for t in (
                Workspace,
                Portfolio,
                WorkspacePortfolio,
                Waba,
                PhoneNumber,
                SubscriptionGroup,
                MessageTemplate,
                NumberHealthSnapshot,
                AuditEntry,
            )
        }

    def build(self) -> dict[type[Base], list[dict[str, Any]]]:
        portfolio_ids = [self._portfolio(i) for i in range(self.shape.portfolios)]
        waba_index = 0
        for w in range(self.shape.workspaces):
            workspace_id = self._workspace(w)
            connected = self._connect(workspace_id, w, portfolio_ids)
            for k in range(_cycle(self.shape.wabas_per_workspace, w)):
                self._waba(workspace_id, connected[k % len(connected)], w, k, waba_index)
                waba_index += 1
        self.rows[AuditEntry].append(
            {
                "at": self.now,
                "actor": "seed",
                "action": "seed",
                "object_type": "fleet",
                "object_key": self.shape.names,
                "before": None,
                "after": None,
            }
        )
        # Day by day, as a fleet records its history (the ids follow): see _indexes_built_after_load.
        self.rows[NumberHealthSnapshot].sort(key=itemgetter("recorded_at"))
        return self.rows

    def _workspace(self, index: int) -> int:
        name = (
            DEMO_WORKSPACES[index]
            if self.shape.names == "demo" and index < len(DEMO_WORKSPACES)
            else f"Workspace {index + 1:03d}"
        )
        return self._add(Workspace, name=name, created_at=self.start)

    def _portfolio(self, index: int) -> int:
        demo = self.shape.names == "demo" and index < len(DEMO_PORTFOLIOS)
        return self._add(
            Portfolio,
            meta_business_id=str(100_000_000_000_000 + index * 7919),
            name=DEMO_PORTFOLIOS[index] if demo else f"Portfolio {index + 1:03d}",
            messaging_limit=PORTFOLIO_LIMITS[index % len(PORTFOLIO_LIMITS)],
            created_at=self.start,
        )

    def _connect(self, workspace_id: int, index: int, portfolio_ids: list[int]) -> list[int]:
        count = len(portfolio_ids)
        chosen = sorted(
            {portfolio_ids[j] for j in range(count) if j % self.shape.workspaces == index}
            | {portfolio_ids[(index + 1) % count]}
        )
        for portfolio_id in chosen:
            self.rows[WorkspacePortfolio].append(
                {
                    "workspace_id": workspace_id,
                    "portfolio_id": portfolio_id,
                    "connected_at": self.start,
                }
            )
        return chosen

    def _waba(self, workspace_id: int, portfolio_id: int, w: int, k: int, index: int) -> None:
        region = REGIONS[(w * 3 + k) % len(REGIONS)]
        brand = DEMO_BRANDS[k % len(DEMO_BRANDS)]
        name = f"{brand} {region}" if self.shape.names == "demo" else f"WABA {w + 1:03d}-{k + 1:02d}"
        waba_id = self._add(
            Waba,
            meta_waba_id=str(200_000_000_000_000 + index * 104_729),
            name=name,
            portfolio_id=portfolio_id,
            workspace_id=workspace_id,
            state="active",
            status="ACTIVE",
            created_at=self.start,
        )
        for t in range(self.shape.templates_per_waba):
            self._template(waba_id, region, t)
        group_prefix = name if self.shape.names == "demo" else f"G{w + 1:03d}-{k + 1:02d}"
        for n in range(_cycle(self.shape.numbers_per_waba, index)):
            self._number(workspace_id, waba_id, region, f"{group_prefix} #{n + 1}", "active")
        for n in range(self.shape.archived_per_waba):
            self._number(
                workspace_id,
                waba_id,
                region,
                f"{group_prefix} (archived {n + 1})",
                "archived",
            )

    def _template(self, waba_id: int, region: str, index: int) -> None:
        name, category = TEMPLATES[(index + waba_id) % len(TEMPLATES)]
        self._add(
            MessageTemplate,
            waba_id=waba_id,
            meta_template_id=str(300_000_000_000_000 + waba_id * 100 + index),
            name=name,
            language=LANGUAGE_BY_REGION[region],
            category=category,
            status=self._pick(TEMPLATE_STATUS_WEIGHTS),
            quality_score=self._pick(QUALITY_WEIGHTS),
            updated_at=self.now,
        )

    def _number(self, workspace_id: int, waba_id: int, region: str, group_name: str, state: str) -> None:
        e164 = next(self.phones[region])
        history = self._history()
        if self.shape.names == "demo" and state == "active" and len(self.rows[PhoneNumber]) % DEMO_RED_EVERY == 3:
            history = _turned_red(history, DEMO_RED_DAYS)
        last = history[-1]
        number_id = self._add(
            PhoneNumber,
            e164=e164,
            meta_phone_number_id=str(400_000_000_000_000 + len(self.rows[PhoneNumber])),
            display_name=f"{group_name.split(' #')[0].split(' (')[0]}",
            status="DISCONNECTED" if state == "archived" else last[3],
            quality_rating=last[1],
            messaging_limit_tier=last[2],
            name_status=self._pick(NAME_STATUS_WEIGHTS),
            throughput_level="STANDARD",
            code_verification_status="VERIFIED",
            platform_type="CLOUD_API",
            account_mode="LIVE",
            created_at=self.start,
            updated_at=last[0],
        )
        snapshots = self.rows[NumberHealthSnapshot]
        previous_quality = None
        for at, quality, tier, status in history:
            snapshots.append(
                {
                    "phone_number_id": number_id,
                    "recorded_at": at,
                    "quality_rating": quality,
                    "messaging_limit_tier": tier,
                    "status": status,
                    "source": "sync",
                    # Given here: the history is generated in time order, so the flag needs no lookup of the
                    # previous snapshot (core.health_history's, made for writes in any order).
                    "quality_changed": quality != previous_quality,
                }
            )
            previous_quality = quality
        self._add(
            SubscriptionGroup,
            name=group_name,
            workspace_id=workspace_id,
            waba_id=waba_id,
            phone_number_id=number_id,
            state=state,
            created_at=self.start,
            archived_at=self.now - timedelta(days=3) if state == "archived" else None,
        )

    def _history(self) -> list[tuple[datetime, str, str, str]]:
        """One snapshot a day: a random walk where most numbers keep their values most days."""
        quality, tier, status = (
            self._pick(QUALITY_WEIGHTS),
            self._pick(TIER_WEIGHTS),
            self._pick(STATUS_WEIGHTS),
        )
        history = []
        for day in self.days:
            roll = self.rng.random()
            if roll < 0.03:
                quality = self._pick(QUALITY_WEIGHTS)
            elif roll < 0.04:
                tier = self._pick(TIER_WEIGHTS)
            elif roll < 0.05:
                status = self._pick(STATUS_WEIGHTS)
            history.append((day, quality, tier, status))
        return history

    def _pick(self, weights: dict[str, int]) -> str:
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    def _add(self, table: type[Base], **values: Any) -> int:
        rows = self.rows[table]
        values["id"] = len(rows) + 1
        rows.append(values)
        return values["id"]


def _cycle(values: Sequence[int], index: int) -> int:
    return values[index % len(values)]


def _phone_numbers() -> dict[str, Iterator[str]]:
    return {region: _valid_mobiles(region) for region in REGIONS}


def _valid_mobiles(region: str) -> Iterator[str]:
    """Valid, distinct mobile numbers of a region, counted up from its example number."""
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if example is None or example.national_number is None:
        raise InvalidInput(f"No example mobile number is known for region {region}.")
    base = example.national_number
    for offset in itertools.count(1):
        candidate = phonenumbers.PhoneNumber(country_code=example.country_code, national_number=base + offset * 7)
        if phonenumbers.is_valid_number(candidate):
            yield phonenumbers.format_number(candidate, phonenumbers.PhoneNumberFormat.E164)
