"""Hash chains over the audit log and over each number's health history: a row altered, removed or slipped in
behind the core's back breaks its chain, and `check` names it.

A row's `chain_hash` is SHA-256 over a canonical JSON of its recorded values and the hash of the row before it in
its chain (32 zero bytes before the first). The audit log is one chain in id order; each number's snapshots are a
chain of their own in id order, so writers of unrelated numbers never wait for one another. A head row holds each
chain's last hash: appenders lock it, and `check` compares it with the last row left. A snapshot's quality-change
flag is not recorded: the core sets and corrects it (core.health_history).

Audit entries and snapshots given to a unit of work, as ORM objects or as rows, are written when it commits, after
everything else it writes: the number heads in number order, then the audit head. Every writer takes these locks
in that one order, last, and holds them only until its commit, so they cannot close a cycle of waits.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import groupby
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, event, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core import bulk, health_history
from core.bulk import Memo
from core.db import AuditChainHead, AuditEntry, HistoryChainHead, NumberHealthSnapshot, PhoneNumber

GENESIS = bytes(32)
AUDIT_VALUES = ("at", "actor", "action", "object_type", "object_key", "before", "after")
SNAPSHOT_VALUES = ("phone_number_id", "recorded_at", "quality_rating", "messaging_limit_tier", "status", "source")

AUDIT = cast(Table, AuditEntry.__table__)
SNAPSHOTS = cast(Table, NumberHealthSnapshot.__table__)
AUDIT_HEAD = cast(Table, AuditChainHead.__table__)
HISTORY_HEADS = cast(Table, HistoryChainHead.__table__)
CHUNK = 1_000
_JSON = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode  # built once: json.dumps builds one per call


def link(previous: bytes, values: Iterable[Any]) -> bytes:
    """The hash of a row with these recorded values that follows a row whose hash is `previous`."""
    return _digest(previous, [*map(_canonical, values)])


def _digest(previous: bytes, canonical: list[Any]) -> bytes:
    return hashlib.sha256(_JSON([previous.hex(), *canonical]).encode("ascii")).digest()


def _canonical(value: Any) -> Any:
    """Times as naive UTC text to the microsecond, as both databases store them; everything else as JSON has it."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ", timespec="microseconds")
    return value


# Written rows hash the same as `link` would, faster: rows repeat a few times (an import writes one, the seed one a
# day), each made canonical once; their other values, text and integers, are canonical as they are.


def chain_audit(rows: Sequence[dict[str, Any]], previous: bytes) -> bytes:
    """Give each audit row its hash, in order after `previous`; returns the last hash."""
    times = Memo(_canonical)
    for row in rows:
        canonical = [
            times[row["at"]],
            row["actor"],
            row["action"],
            row["object_type"],
            row["object_key"],
            row["before"],
            row["after"],
        ]
        previous = row["chain_hash"] = _digest(previous, canonical)
    return previous


def chain_snapshots(rows: Sequence[dict[str, Any]], heads: dict[int, bytes]) -> None:
    """Give each snapshot row its hash, in order, after its number's last hash in `heads` (updated in place)."""
    times = Memo(_canonical)
    for row in rows:
        number = row["phone_number_id"]
        canonical = [
            number,
            times[row["recorded_at"]],
            row["quality_rating"],
            row["messaging_limit_tier"],
            row["status"],
            row["source"],
        ]
        heads[number] = row["chain_hash"] = _digest(heads.get(number, GENESIS), canonical)


# --- appending, in the open transaction -------------------------------------------------------------------


def append_snapshots(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Write snapshot rows at the end of their numbers' chains (ids follow the rows' order)."""
    rows = [{name: row[name] for name in SNAPSHOT_VALUES} for row in rows]
    numbers = sorted({row["phone_number_id"] for row in rows})
    if connection.dialect.name == "postgresql":
        heads = _lock_postgresql_heads(connection, numbers)
    else:
        heads = {n: bytes(h) for part in _chunks(numbers) for n, h in connection.execute(_HEADS_OF, {"numbers": part})}
    chain_snapshots(rows, heads)
    bulk.insert_many(connection, SNAPSHOTS, rows)
    _store_heads(connection, heads)


def _chunks(numbers: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(numbers), CHUNK):
        yield numbers[start : start + CHUNK]


_HEADS_OF = (
    select(HISTORY_HEADS.c.phone_number_id, HISTORY_HEADS.c.last_hash)
    .where(HISTORY_HEADS.c.phone_number_id.in_(bindparam("numbers", expanding=True)))
    .order_by(HISTORY_HEADS.c.phone_number_id)
)
# PostgreSQL: each statement takes every number as one array (no statement per number). A head is created before it
# is locked, so two first writers of a number meet on one row; in number order, as every writer locks them.
_CREATE_HEADS = text(
    "INSERT INTO history_chain_heads (phone_number_id, last_hash) "
    "SELECT number, :start FROM unnest(CAST(:numbers AS integer[])) AS number ORDER BY number ON CONFLICT DO NOTHING"
)
_LOCK_HEADS = text(
    "SELECT phone_number_id, last_hash FROM history_chain_heads "
    "WHERE phone_number_id = ANY(CAST(:numbers AS integer[])) ORDER BY phone_number_id FOR UPDATE"
)
_MOVE_HEADS = text(
    "UPDATE history_chain_heads AS head SET last_hash = moved.last_hash "
    "FROM unnest(CAST(:numbers AS integer[]), CAST(:hashes AS bytea[])) AS moved (phone_number_id, last_hash) "
    "WHERE head.phone_number_id = moved.phone_number_id"
)


def _lock_postgresql_heads(connection: Connection, numbers: list[int]) -> dict[int, bytes]:
    """The last hash of each number's history, its head row locked until commit."""
    connection.execute(_CREATE_HEADS, {"numbers": numbers, "start": GENESIS})
    return {n: bytes(h) for n, h in connection.execute(_LOCK_HEADS, {"numbers": numbers})}


def _store_heads(connection: Connection, heads: dict[int, bytes]) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(_MOVE_HEADS, {"numbers": list(heads), "hashes": list(heads.values())})
        return
    # SQLite: the write lock is the database's, taken when the unit of work began; a head may not exist yet.
    statement = sqlite.insert(HISTORY_HEADS)
    statement = statement.on_conflict_do_update(
        index_elements=["phone_number_id"], set_={"last_hash": statement.excluded.last_hash}
    )
    bulk.execute_rows(connection, statement, [{"phone_number_id": n, "last_hash": h} for n, h in heads.items()])


def append_audit(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Write audit rows at the end of the audit chain."""
    rows = [{name: row[name] for name in AUDIT_VALUES} for row in rows]
    last = chain_audit(rows, _lock_audit_head(connection))
    bulk.insert_many(connection, AUDIT, rows)
    connection.execute(update(AUDIT_HEAD).where(AUDIT_HEAD.c.id == 1).values(last_hash=last))


def _upsert(connection: Connection, table: Table) -> Any:
    return (postgresql if connection.dialect.name == "postgresql" else sqlite).insert(table)


def _lock_audit_head(connection: Connection) -> bytes:
    """The audit log's last hash, its head row locked until commit."""
    query = select(AUDIT_HEAD.c.last_hash).where(AUDIT_HEAD.c.id == 1).with_for_update()
    head = connection.scalar(query)
    if head is None:
        statement = _upsert(connection, AUDIT_HEAD).on_conflict_do_nothing(index_elements=["id"])
        connection.execute(statement.values(id=1, last_hash=GENESIS))
        head = connection.scalar(query)
    assert head is not None
    return bytes(head)


# --- a unit of work's rows, written when it commits -----------------------------------------------------------


@dataclass
class _Pending:
    snapshots: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)


_PENDING = "fleet_chained_rows"


def _pending(session: Session) -> _Pending:
    return cast(_Pending, session.info.setdefault(_PENDING, _Pending()))


def defer_snapshots(session: Session, rows: Iterable[dict[str, Any]]) -> None:
    """Snapshot rows to append when the unit of work commits."""
    _pending(session).snapshots.extend(rows)


def defer_audit(session: Session, rows: Iterable[dict[str, Any]]) -> None:
    """Audit rows to append when the unit of work commits."""
    _pending(session).audit.extend(rows)


def write_deferred(session: Session) -> None:
    """Append the unit of work's snapshots (then flag their quality changes) and audit entries, in that order."""
    session.flush()
    pending = session.info.pop(_PENDING, None)
    if pending is None:
        return
    connection = session.connection()
    if pending.snapshots:
        append_snapshots(connection, pending.snapshots)
        health_history.flag_quality_changes(connection)
    if pending.audit:
        append_audit(connection, pending.audit)


def _recorded(entity: Any, table: Table, names: Sequence[str]) -> dict[str, Any]:
    """An ORM object's recorded values, its columns' defaults for those left unset."""
    row = {}
    for name in names:
        value = getattr(entity, name)
        default = table.c[name].default
        if value is None and default is not None and default.is_scalar:
            value = default.arg  # type: ignore[attr-defined]
        row[name] = value
    return row


@event.listens_for(Session, "before_flush")
def _take_chained_objects(session: Session, _context: Any, _instances: Any) -> None:
    """Audit entries and snapshots added as ORM objects wait for the commit like rows given to `defer_*`."""
    for entity in list(session.new):
        if isinstance(entity, AuditEntry):
            session.expunge(entity)
            defer_audit(session, [_recorded(entity, AUDIT, AUDIT_VALUES)])
        elif isinstance(entity, NumberHealthSnapshot):
            session.expunge(entity)
            defer_snapshots(session, [_recorded(entity, SNAPSHOTS, SNAPSHOT_VALUES)])


@event.listens_for(Session, "before_commit")
def _write_before_commit(session: Session) -> None:
    if _PENDING in session.info or any(isinstance(e, AuditEntry | NumberHealthSnapshot) for e in session.new):
        write_deferred(session)


@event.listens_for(Session, "after_rollback")
def _forget_deferred(session: Session) -> None:
    session.info.pop(_PENDING, None)


# --- verifying ------------------------------------------------------------------------------------------------


def find_breaks(connection: Connection) -> list[str]:
    """The first broken or missing row of the audit chain and of each number's chain, one line each."""
    return [*_audit_breaks(connection), *_history_breaks(connection)]


def _audit_breaks(connection: Connection) -> list[str]:
    columns = [AUDIT.c[name] for name in AUDIT_VALUES]
    rows = connection.execution_options(yield_per=10_000).execute(
        select(AUDIT.c.id, AUDIT.c.chain_hash, *columns).order_by(AUDIT.c.id)
    )
    previous, last_id = GENESIS, None
    for row_id, stored, *values in rows:
        problem = _link_problem("audit_log", row_id, stored, previous, values, last_id)
        if problem:
            rows.close()
            return [f"{problem}."]
        previous, last_id = bytes(stored), row_id
    head = connection.scalar(select(AUDIT_HEAD.c.last_hash).where(AUDIT_HEAD.c.id == 1))
    if head is None:
        return ["audit_log: its chain head is missing (audit_chain_head was emptied behind the core's back)."]
    return [_tail_problem("audit_log", last_id, "entries") + "."] if bytes(head) != previous else []


def _history_breaks(connection: Connection) -> list[str]:
    heads = {n: bytes(h) for n, h in connection.execute(select(HISTORY_HEADS)).tuples()}
    columns = [SNAPSHOTS.c[name] for name in SNAPSHOT_VALUES]
    rows = connection.execution_options(yield_per=10_000).execute(
        select(SNAPSHOTS.c.id, SNAPSHOTS.c.chain_hash, *columns).order_by(SNAPSHOTS.c.phone_number_id, SNAPSHOTS.c.id)
    )
    broken: dict[int, str] = {}
    for number, chain in groupby(rows, key=itemgetter(2)):
        head = heads.pop(number, None)
        broken_at = _first_history_break(chain, head)
        if broken_at:
            broken[number] = broken_at
    for number, head in heads.items():
        if head != GENESIS:
            broken[number] = _tail_problem("number_health_snapshots", None, "snapshots")
    if not broken:
        return []
    numbers = connection.execute(select(PhoneNumber.id, PhoneNumber.e164).where(PhoneNumber.id.in_(broken)))
    e164 = dict(numbers.tuples().all())
    return [f"{text} (number {e164.get(number, f'id {number}')})." for number, text in sorted(broken.items())]


def _first_history_break(chain: Iterator[Any], head: bytes | None) -> str | None:
    previous, last_id = GENESIS, None
    for row_id, stored, *values in chain:
        problem = _link_problem("number_health_snapshots", row_id, stored, previous, values, last_id)
        if problem:
            return problem
        previous, last_id = bytes(stored), row_id
    if head is None:
        return f"number_health_snapshots row {last_id}: its number's chain head is missing"
    return _tail_problem("number_health_snapshots", last_id, "snapshots") if head != previous else None


def _link_problem(
    table: str, row_id: int, stored: bytes | None, previous: bytes, values: list[Any], last_id: int | None
) -> str | None:
    if stored is None:
        return f"{table} row {row_id} has no chain hash: it was written behind the core's back"
    if link(previous, values) == bytes(stored):
        return None
    before = f"after row {last_id}" if last_id is not None else "at the start"
    return f"{table} row {row_id} breaks the chain: it was altered, or a row before it ({before}) was removed"


def _tail_problem(table: str, last_id: int | None, rows: str) -> str:
    if last_id is None:
        return f"{table}: all the {rows} of the chain are missing (its head records some)"
    return f"{table}: the {rows} after row {last_id} are missing (the chain head records a later one)"
