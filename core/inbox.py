"""The webhook inbox: Meta's deliveries stored as received, then applied by workers in arrival order.

The receiver only stores (`store_deliveries`); a worker claims the due deliveries (`apply_due`), applies them through
the webhook import in the same transaction that marks them applied, so a crash at any point leaves each delivery
either pending or applied, never half. A delivery that fails is retried with backoff, then shown as failed until an
admin retries it. On PostgreSQL workers skip each other's claimed rows (FOR UPDATE SKIP LOCKED); on SQLite one
worker at a time holds the inbox lease (`hold_lease`).
"""

from __future__ import annotations

import enum
import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core import imports, model
from core.db import (
    WebhookDelivery,
    WebhookWabaActivity,
    WorkerLease,
    is_postgresql,
    leave_fleet_unchanged,
    write_session,
)
from core.errors import FleetError, NotFound
from core.imports import webhooks
from core.model import Actor, Role
from core.services import record_audit

MAX_DELIVERY_BYTES = 3 * 1024 * 1024  # Meta's largest payload
BATCH_SIZE = 200
MAX_ERROR_CHARS = 2000
MAX_WARNINGS_LOGGED = 5  # per batch
WORKER = Actor(name="meta-webhooks", role=Role.ADMIN)
INBOX_LEASE = "webhook-inbox"

log = logging.getLogger("fleet.worker")


class DeliveryState(enum.StrEnum):
    PENDING = "pending"  # waiting for a worker, perhaps after failed attempts
    APPLIED = "applied"
    FAILED = "failed"  # gave up after the last attempt, until an admin retries it


# --- the receiver's side -------------------------------------------------------------------------------------


def digest_of(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def store_delivery(engine: Engine, body: bytes, *, now: datetime) -> None:
    store_deliveries(engine, [body], now=now)


def store_deliveries(engine: Engine, bodies: Sequence[bytes], *, now: datetime) -> None:
    """Store deliveries in one short transaction, each body once however often it arrives (a redelivery is
    skipped). Writes nothing the pages show, so the data version stays."""
    rows = [
        {
            "received_at": now,
            "body": body,
            "digest": digest_of(body),
            "state": DeliveryState.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
        }
        for body in bodies
    ]
    dialect = postgresql if is_postgresql(engine) else sqlite
    statement = dialect.insert(WebhookDelivery).on_conflict_do_nothing(index_elements=["digest"])
    with engine.execution_options(fleet_write=True).begin() as connection:
        connection.execute(statement, rows)


# --- the worker's side ---------------------------------------------------------------------------------------


@dataclass
class BatchResult:
    """What one pass over the due deliveries did."""

    applied: list[int] = field(default_factory=list)  # delivery ids marked applied
    failed: list[int] = field(default_factory=list)  # ids that failed this time (retried later or failed for good)
    wrote: bool = False  # whether any of them changed the fleet

    @property
    def handled(self) -> int:
        return len(self.applied) + len(self.failed)


@dataclass(frozen=True)
class _Due:
    id: int
    body: bytes


@dataclass
class _Read:
    """A delivery's envelope read once: whether it carries anything imported, and its WABAs' latest event times."""

    imported: bool = False
    wabas: dict[str, datetime] = field(default_factory=dict)
    error: str | None = None


def apply_due(
    engine: Engine, *, now: datetime, max_attempts: int, batch_size: int = BATCH_SIZE, actor: Actor = WORKER
) -> BatchResult:
    """Apply the due deliveries, oldest first, in one transaction; when that batch fails, each alone, so one bad
    delivery is kept with its error without holding up the others."""
    result = BatchResult()
    if not _due_ids(engine, now, 1):  # an idle worker asks often: without taking SQLite's write lock
        return result
    try:
        with write_session(engine) as session:
            due = _claim(session, now, batch_size)
            if not due:  # other workers took them
                leave_fleet_unchanged(session)
                return result
            _apply(session, actor, due, now, result)
    except Exception as error:  # any failure of the batch: find the delivery that caused it, one at a time
        log.warning("a batch failed (%s); applying its deliveries one at a time", _error_text(error).splitlines()[0])
        result = BatchResult()
        for delivery_id in _due_ids(engine, now, batch_size):
            _apply_alone(engine, actor, delivery_id, now=now, max_attempts=max_attempts, result=result)
    return result


def _claim(session: Session, now: datetime, limit: int, delivery_id: int | None = None) -> list[_Due]:
    query = select(WebhookDelivery.id, WebhookDelivery.body).where(
        WebhookDelivery.state == DeliveryState.PENDING, WebhookDelivery.next_attempt_at <= now
    )
    if delivery_id is not None:
        query = query.where(WebhookDelivery.id == delivery_id)
    query = query.order_by(WebhookDelivery.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return [_Due(row.id, row.body) for row in session.execute(query)]


def _due_ids(engine: Engine, now: datetime, limit: int) -> list[int]:
    with engine.connect() as connection:
        return list(
            connection.scalars(
                select(WebhookDelivery.id)
                .where(WebhookDelivery.state == DeliveryState.PENDING, WebhookDelivery.next_attempt_at <= now)
                .order_by(WebhookDelivery.id)
                .limit(limit)
            )
        )


def _apply(session: Session, actor: Actor, due: Sequence[_Due], now: datetime, result: BatchResult) -> None:
    """Import every delivery that carries an imported field, in one import; mark all of them applied."""
    reads = [_read(delivery.body) for delivery in due]
    broken = next((read.error for read in reads if read.error), None)
    if broken is not None:
        raise imports.ImportRejected([imports.Problem("", broken)])
    to_import = [delivery for delivery, read in zip(due, reads, strict=True) if read.imported]
    if to_import:
        request = imports.ImportRequest(
            kind=webhooks.KIND, data=_as_one_document(to_import), source=_source(to_import), waba=None
        )
        plan = imports.import_within(session, actor, request, now=now)
        result.wrote = plan.writes_anything
        for warning in plan.warnings[:MAX_WARNINGS_LOGGED]:  # e.g. a value Meta added: stored, and said here
            log.warning("%s: %s", request.source[:80], warning)
    else:
        leave_fleet_unchanged(session)
    ids = [delivery.id for delivery in due]
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(ids))
        .values(state=DeliveryState.APPLIED, applied_at=now, last_error=None)
    )
    _record_activity(session, reads, now)
    named = _source(due)
    after = {"deliveries": named, "imported": len(to_import), "changed": result.wrote}
    record_audit(session, actor, "apply", "webhook_deliveries", named, after=after, now=now)
    result.applied += ids


def _apply_alone(
    engine: Engine, actor: Actor, delivery_id: int, *, now: datetime, max_attempts: int, result: BatchResult
) -> None:
    try:
        with write_session(engine) as session:
            due = _claim(session, now, 1, delivery_id)
            if due:
                _apply(session, actor, due, now, result)
    except Exception as error:  # kept with the delivery, retried later: the worker goes on with the others
        _record_failure(engine, delivery_id, _error_text(error), now=now, max_attempts=max_attempts)
        result.failed.append(delivery_id)


def _error_text(error: Exception) -> str:
    text = str(error) if isinstance(error, FleetError) else f"{type(error).__name__}: {error}"
    return text[:MAX_ERROR_CHARS]


def retry_delay(attempts: int) -> timedelta:
    """Backoff after a failed attempt: 5 s, 20 s, 80 s… at most an hour."""
    return timedelta(seconds=min(5 * 4 ** (attempts - 1), 3600))


def _record_failure(engine: Engine, delivery_id: int, error: str, *, now: datetime, max_attempts: int) -> None:
    with write_session(engine, changes_fleet=False) as session:
        attempts = (
            session.scalar(select(WebhookDelivery.attempts).where(WebhookDelivery.id == delivery_id).with_for_update())
            or 0
        ) + 1
        session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id, WebhookDelivery.state == DeliveryState.PENDING)
            .values(
                attempts=attempts,
                last_error=error,
                next_attempt_at=now + retry_delay(attempts),
                state=DeliveryState.FAILED if attempts >= max_attempts else DeliveryState.PENDING,
            )
        )


def _read(body: bytes) -> _Read:
    """Read the envelope only as far as deciding whether it is ours: `messages`/`statuses` deliveries are marked
    applied without going through the import."""
    try:
        envelope = json.loads(body)
    except (ValueError, UnicodeDecodeError) as error:
        return _Read(error=f"the delivery is not JSON: {error}.")
    read = _Read()
    entries = envelope.get("entry") if isinstance(envelope, dict) else None
    if not isinstance(entries, list):
        read.imported = True  # not an envelope: the import names what is wrong
        return read
    for entry in entries:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            read.imported = True
            continue
        if any(not isinstance(change, dict) or change.get("field") in webhooks.READERS for change in changes):
            read.imported = True
        _note_activity(read, entry)
    return read


def _note_activity(read: _Read, entry: dict[str, Any]) -> None:
    waba, at = entry.get("id"), entry.get("time")
    if not isinstance(waba, str | int) or isinstance(at, bool) or not isinstance(at, int | float):
        return
    try:
        when = datetime.fromtimestamp(at, UTC)
    except (OverflowError, OSError, ValueError):
        return
    key = str(waba)[:32]
    read.wabas[key] = max(when, read.wabas.get(key, when))


def _record_activity(session: Session, reads: Iterable[_Read], now: datetime) -> None:
    latest: dict[str, datetime] = {}
    for read in reads:
        for waba, at in read.wabas.items():
            latest[waba] = max(at, latest.get(waba, at))
    if not latest:
        return
    rows = [{"meta_waba_id": waba, "last_event_at": at, "last_applied_at": now} for waba, at in sorted(latest.items())]
    postgres = session.get_bind().dialect.name == "postgresql"
    statement = (postgresql if postgres else sqlite).insert(WebhookWabaActivity)
    newest = (func.greatest if postgres else func.max)(
        WebhookWabaActivity.last_event_at, statement.excluded.last_event_at
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["meta_waba_id"],
            set_={"last_event_at": newest, "last_applied_at": statement.excluded.last_applied_at},
        ),
        rows,
    )


def _as_one_document(deliveries: Sequence[_Due]) -> bytes:
    """The deliveries' envelopes as one JSON array, each as received."""
    return b"[" + b",".join(delivery.body.strip() for delivery in deliveries) + b"]"


def _source(deliveries: Sequence[_Due]) -> str:
    """The deliveries an import applied, as the audit entry names them: 'webhook deliveries 7-9, 12'."""
    ranges: list[list[int]] = []
    for delivery in deliveries:
        if ranges and delivery.id == ranges[-1][1] + 1:
            ranges[-1][1] = delivery.id
        else:
            ranges.append([delivery.id, delivery.id])
    named = ", ".join(str(first) if first == last else f"{first}-{last}" for first, last in ranges)
    return f"webhook deliver{'y' if len(deliveries) == 1 else 'ies'} {named}"


def applied_ids(source: str) -> list[int]:
    """The delivery ids an import's source names (the reverse of `_source`)."""
    ids: list[int] = []
    for part in source.partition(" ")[2].partition(" ")[2].split(", "):
        first, _, last = part.partition("-")
        ids += range(int(first), int(last or first) + 1)
    return ids


# --- keeping the inbox --------------------------------------------------------------------------------------


def prune_applied(engine: Engine, *, now: datetime, retention_days: int, chunk: int = 1000) -> int:
    """Delete deliveries applied more than `retention_days` ago, a chunk per transaction; what they changed stays
    in the history and audit log."""
    cutoff = now - timedelta(days=retention_days)
    removed = 0
    while True:
        with write_session(engine, changes_fleet=False) as session:
            old = (
                select(WebhookDelivery.id)
                .where(WebhookDelivery.state == DeliveryState.APPLIED, WebhookDelivery.applied_at < cutoff)
                .limit(chunk)
                .scalar_subquery()
            )
            count = session.connection().execute(delete(WebhookDelivery).where(WebhookDelivery.id.in_(old))).rowcount
        removed += count
        if count < chunk:
            return removed


def hold_lease(engine: Engine, holder: str, *, now: datetime, seconds: float, name: str = INBOX_LEASE) -> str | None:
    """Take or renew a lease; None when `holder` has it now, else who holds it and until when."""
    with write_session(engine, changes_fleet=False) as session:
        lease = session.get(WorkerLease, name, with_for_update=True)
        until = now + timedelta(seconds=seconds)
        if lease is None:
            session.execute(insert(WorkerLease).values(name=name, holder=holder, expires_at=until))
            return None
        if lease.holder == holder or lease.expires_at <= now:
            lease.holder, lease.expires_at = holder, until
            return None
        return f"{lease.holder} until {lease.expires_at:%H:%M:%S} UTC"


def release_lease(engine: Engine, holder: str, *, name: str = INBOX_LEASE) -> None:
    with write_session(engine, changes_fleet=False) as session:
        session.execute(delete(WorkerLease).where(WorkerLease.name == name, WorkerLease.holder == holder))


# --- an admin's retry ---------------------------------------------------------------------------------------


def retry_delivery(engine: Engine, actor: Actor, delivery_id: int, *, now: datetime | None = None) -> None:
    """An admin puts a failed delivery back in line: the worker applies it on its next pass."""
    model.require_role(actor, Role.ADMIN, "retry a webhook delivery")
    now = now or datetime.now(UTC)
    with write_session(engine, actor) as session:  # its audit entry is on the Audit log page
        delivery = session.get(WebhookDelivery, delivery_id, with_for_update=True)
        if delivery is None or delivery.state == DeliveryState.APPLIED:
            raise NotFound(f"Webhook delivery {delivery_id} is not failed or waiting (it may have been applied).")
        before = {"state": delivery.state, "attempts": delivery.attempts}
        delivery.state, delivery.attempts, delivery.next_attempt_at = DeliveryState.PENDING, 0, now
        after = {"state": DeliveryState.PENDING, "attempts": 0}
        record_audit(session, actor, "retry", "webhook_delivery", str(delivery_id), before=before, after=after, now=now)
