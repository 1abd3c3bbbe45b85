"""Persistence: the tables (SQLAlchemy 2.x typed ORM), the engine, and the unit of work.

The database guards what it can on its own (unique E.164, one active group per number, foreign keys,
append-only audit log, no deletes), so a race or a bug cannot slip past the Python rules.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Connection,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    create_engine,
    event,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from core.errors import (
    DuplicateName,
    FleetError,
    InvalidInput,
    NumberAlreadyExists,
    NumberAlreadyInActiveGroup,
    RuleViolation,
)
from core.model import Actor, Role, ensure_role_still_held, format_international


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC on every backend; always hands back timezone-aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


Name = String(200)
Code = String(60)
MetaId = String(32)


class Workspace(Base):
    __tablename__ = "workspaces"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Name, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Portfolio(Base):
    """A Meta business portfolio (Business Manager)."""

    __tablename__ = "portfolios"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meta_business_id: Mapped[str] = mapped_column(MetaId, unique=True)
    name: Mapped[str] = mapped_column(Name)
    messaging_limit: Mapped[str | None] = mapped_column(Code)
    max_phone_numbers_per_business: Mapped[int | None] = mapped_column(Integer)
    max_phone_numbers_per_waba: Mapped[int | None] = mapped_column(Integer)
    limit_event_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WorkspacePortfolio(Base):
    """A portfolio connected to a workspace."""

    __tablename__ = "workspace_portfolios"
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"), primary_key=True)
    portfolio_id: Mapped[int] = mapped_column(ForeignKey("portfolios.id"), primary_key=True, index=True)
    connected_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Waba(Base):
    """A WhatsApp Business Account."""

    __tablename__ = "wabas"
    __table_args__ = (CheckConstraint("state IN ('active', 'archived')", name="state"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meta_waba_id: Mapped[str] = mapped_column(MetaId, unique=True)
    name: Mapped[str] = mapped_column(Name)
    portfolio_id: Mapped[int] = mapped_column(ForeignKey("portfolios.id"), index=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"), index=True)
    state: Mapped[str] = mapped_column(Code, default="active")
    status: Mapped[str] = mapped_column(Code, default="ACTIVE")
    ban_state: Mapped[str | None] = mapped_column(Code)
    # What Meta last reported (account_update): as JSON text, kept as sent.
    ban_date: Mapped[str | None] = mapped_column(String(40))
    restrictions: Mapped[str | None] = mapped_column(Text)  # [{"restriction_type", "expiration"}, …]
    violation_type: Mapped[str | None] = mapped_column(Name)
    status_event_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PhoneNumber(Base):
    """A sender number, stored once in E.164 whatever format it was typed in."""

    __tablename__ = "phone_numbers"
    __table_args__ = ({"postgresql_with": {"fillfactor": 80}},)  # room for in-place updates (migration 0006)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    e164: Mapped[str] = mapped_column(String(20), unique=True)
    meta_phone_number_id: Mapped[str | None] = mapped_column(MetaId, unique=True)
    display_name: Mapped[str] = mapped_column(Name, default="")
    status: Mapped[str] = mapped_column(Code, default="PENDING")
    quality_rating: Mapped[str] = mapped_column(Code, default="NA")
    messaging_limit_tier: Mapped[str] = mapped_column(Code, default="TIER_NOT_SET")
    name_status: Mapped[str] = mapped_column(Code, default="NONE")
    throughput_level: Mapped[str | None] = mapped_column(Code)
    code_verification_status: Mapped[str | None] = mapped_column(Code)
    platform_type: Mapped[str | None] = mapped_column(Code)
    account_mode: Mapped[str | None] = mapped_column(Code)
    # Meta's "can this number send?": AVAILABLE, LIMITED or BLOCKED, and each entity's errors as JSON text.
    health_status: Mapped[str | None] = mapped_column(Code)
    health_errors: Mapped[str | None] = mapped_column(Text)
    is_official_business_account: Mapped[bool | None] = mapped_column(Boolean)
    last_onboarded_time: Mapped[str | None] = mapped_column(String(40))  # as Meta writes it
    name_rejection_reason: Mapped[str | None] = mapped_column(Name)
    health_event_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    name_event_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SubscriptionGroup(Base):
    """Binds exactly one number to a WABA; archived, never deleted."""

    __tablename__ = "subscription_groups"
    __table_args__ = (
        CheckConstraint("state IN ('active', 'archived')", name="state"),
        CheckConstraint(
            "(state = 'archived') = (archived_at IS NOT NULL)",
            name="archived_at_iff_archived",
        ),
        Index(
            "uq_subscription_groups_active_number",
            "phone_number_id",
            unique=True,
            sqlite_where=text("state = 'active'"),
            postgresql_where=text("state = 'active'"),
        ),
        Index(
            "uq_subscription_groups_active_name",
            "workspace_id",
            "name",
            unique=True,
            sqlite_where=text("state = 'active'"),
            postgresql_where=text("state = 'active'"),
        ),
        Index("ix_subscription_groups_waba_state", "waba_id", "state"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Name)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    waba_id: Mapped[int] = mapped_column(ForeignKey("wabas.id"))
    phone_number_id: Mapped[int] = mapped_column(ForeignKey("phone_numbers.id"), index=True)
    state: Mapped[str] = mapped_column(Code, default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class MessageTemplate(Base):
    """A message template: owned by a WABA, usable by every number of that WABA."""

    __tablename__ = "message_templates"
    __table_args__ = (UniqueConstraint("waba_id", "name", "language"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    waba_id: Mapped[int] = mapped_column(ForeignKey("wabas.id"), index=True)
    meta_template_id: Mapped[str | None] = mapped_column(MetaId, index=True)
    name: Mapped[str] = mapped_column(Name)
    language: Mapped[str] = mapped_column(String(20))
    category: Mapped[str | None] = mapped_column(Code)
    status: Mapped[str] = mapped_column(Code, default="PENDING")
    quality_score: Mapped[str] = mapped_column(Code, default="UNKNOWN")
    previous_category: Mapped[str | None] = mapped_column(Code)
    # Why Meta rejected, paused or disabled the template, and when its status last changed.
    status_reason: Mapped[str | None] = mapped_column(Name)
    status_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    event_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class NumberHealthSnapshot(Base):
    """One row each time a number's quality, tier or status changes."""

    __tablename__ = "number_health_snapshots"
    __table_args__ = (
        # In the order a number's snapshot before or after another is looked up: (recorded_at, id), LIMIT 1.
        Index("ix_number_health_snapshots_number_time", "phone_number_id", "recorded_at", "id"),
        Index("ix_number_health_snapshots_time", "recorded_at"),
        # Quality over time reads only the snapshots where the rating moved: a few percent of the history. The
        # index covers every column that query names (the flag too), so SQLite's planner always prefers it.
        Index(
            "ix_number_health_snapshots_quality_changes",
            "phone_number_id",
            "recorded_at",
            "id",
            "quality_rating",
            "quality_changed",
            sqlite_where=text("quality_changed = 1"),
            postgresql_where=text("quality_changed"),
        ),
        # Snapshots not flagged yet, written by an open transaction on SQLite (core.health_history).
        Index(
            "ix_number_health_snapshots_unflagged",
            "id",
            sqlite_where=text("quality_changed IS NULL"),
            postgresql_where=text("quality_changed IS NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone_number_id: Mapped[int] = mapped_column(ForeignKey("phone_numbers.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    quality_rating: Mapped[str] = mapped_column(Code)
    messaging_limit_tier: Mapped[str] = mapped_column(Code)
    status: Mapped[str] = mapped_column(Code)
    source: Mapped[str] = mapped_column(Code, default="manual")
    # Whether the rating differs from the number's previous snapshot (in time), filled in on insert by a trigger
    # (PostgreSQL) or before the transaction ends (SQLite), and corrected when a late snapshot arrives before it:
    # see core.health_history.
    quality_changed: Mapped[bool | None] = mapped_column(Boolean)
    # SHA-256 over the recorded values and the hash of the number's previous snapshot (core.chains).
    chain_hash: Mapped[bytes | None] = mapped_column(LargeBinary)


class AuditEntry(Base):
    """Append-only record of every write."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(Name)
    action: Mapped[str] = mapped_column(Code)
    object_type: Mapped[str] = mapped_column(Code)
    object_key: Mapped[str] = mapped_column(Name)
    before: Mapped[str | None] = mapped_column(Text)
    after: Mapped[str | None] = mapped_column(Text)
    # SHA-256 over the recorded values and the hash of the entry before it (core.chains).
    chain_hash: Mapped[bytes | None] = mapped_column(LargeBinary)


class AuditChainHead(Base):
    """One row: the hash of the audit log's last entry; appenders lock it, so the log is one chain."""

    __tablename__ = "audit_chain_head"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_hash: Mapped[bytes] = mapped_column(LargeBinary)


class HistoryChainHead(Base):
    """The hash of a number's last health snapshot; appenders lock it, so each number's history is one chain."""

    __tablename__ = "history_chain_heads"
    phone_number_id: Mapped[int] = mapped_column(ForeignKey("phone_numbers.id"), primary_key=True)
    last_hash: Mapped[bytes] = mapped_column(LargeBinary)


class User(Base):
    """A signed-in user's role, managed by admins."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Name, unique=True)
    role: Mapped[str] = mapped_column(Code)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SyncRun(Base):
    """One WABA's part of a pull sync from the Graph API: when, how it ended, and when Meta lets us call again."""

    __tablename__ = "sync_runs"
    __table_args__ = (Index("ix_sync_runs_waba_started", "meta_waba_id", "started_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meta_waba_id: Mapped[str] = mapped_column(MetaId)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(Code)  # unchanged | updated | throttled | failed | not-in-fleet
    changes: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    retry_after: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccountAlert(Base):
    """An `account_alerts` webhook: Meta's alert about a business, WABA or number, kept as delivered."""

    __tablename__ = "account_alerts"
    __table_args__ = (UniqueConstraint("meta_waba_id", "entity_id", "alert_type", "event_time"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    meta_waba_id: Mapped[str] = mapped_column(MetaId)
    entity_type: Mapped[str] = mapped_column(Code)
    entity_id: Mapped[str] = mapped_column(MetaId)
    alert_type: Mapped[str] = mapped_column(Code)
    severity: Mapped[str | None] = mapped_column(Code)
    status: Mapped[str | None] = mapped_column(Code)
    description: Mapped[str | None] = mapped_column(Text)
    event_time: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class FieldEventTime(Base):
    """When Meta last set one field of one object (number, template, portfolio, WABA).

    One clock per field, not per object: webhooks arrive late and out of order and each sets only some fields,
    so a late event may still set a field no newer event touched; shuffled delivery then ends in the same state.
    """

    __tablename__ = "field_event_times"
    __table_args__ = ({"postgresql_with": {"fillfactor": 80}},)
    object_type: Mapped[str] = mapped_column(String(30), primary_key=True)
    object_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    field: Mapped[str] = mapped_column(String(60), primary_key=True)
    event_time: Mapped[datetime] = mapped_column(UTCDateTime)


class WebhookDelivery(Base):
    """One POST from Meta, stored as received before it is acknowledged; the worker applies it later."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'applied', 'failed')", name="state"),
        Index(
            "ix_webhook_deliveries_pending",
            "id",
            sqlite_where=text("state = 'pending'"),
            postgresql_where=text("state = 'pending'"),
        ),
        Index(
            "ix_webhook_deliveries_applied",
            "applied_at",
            sqlite_where=text("state = 'applied'"),
            postgresql_where=text("state = 'applied'"),
        ),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # arrival order
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    body: Mapped[bytes] = mapped_column(LargeBinary)  # the bytes Meta signed
    digest: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the body: a redelivery is stored once
    state: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebhookWabaActivity(Base):
    """A WABA's latest webhook event (Meta's entry.time) and when the worker last applied one for it."""

    __tablename__ = "webhook_waba_activity"
    meta_waba_id: Mapped[str] = mapped_column(MetaId, primary_key=True)
    last_event_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_applied_at: Mapped[datetime] = mapped_column(UTCDateTime)


class WorkerLease(Base):
    """Who may run a job alone (the SQLite inbox worker) and until when, unless renewed."""

    __tablename__ = "worker_leases"
    name: Mapped[str] = mapped_column(String(30), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DataVersion(Base):
    """One row: a counter raised by every write transaction, the key of the pages' cached reads."""

    __tablename__ = "data_version"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)


class AlertRule(Base):
    """What the business wants to hear about (an event, maybe a threshold, in a scope) and where to send it."""

    __tablename__ = "alert_rules"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Name, unique=True)
    event: Mapped[str] = mapped_column(Code)
    workspace_id: Mapped[int | None] = mapped_column(ForeignKey("workspaces.id"))
    waba_id: Mapped[int | None] = mapped_column(ForeignKey("wabas.id"))
    threshold: Mapped[float | None] = mapped_column(Float)
    target: Mapped[str] = mapped_column(String(500))
    quiet_hours: Mapped[float] = mapped_column(Float, default=0.0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(Name)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AlertRuleState(Base):
    """A rule's evaluation state: when it last ran and until when it keeps quiet."""

    __tablename__ = "alert_rule_states"
    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rules.id"), primary_key=True)
    quiet_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    evaluated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AlertBaseline(Base):
    """The last value a rule saw for a subject (a number's tier, a portfolio's limit): what 'went down' compares to."""

    __tablename__ = "alert_baselines"
    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rules.id"), primary_key=True)
    subject_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    value: Mapped[str] = mapped_column(Code)


class AlertMessage(Base):
    """One message to a rule's target, about one alert or a digest of several; delivered after commit."""

    __tablename__ = "alert_messages"
    __table_args__ = (Index("ix_alert_messages_status_due", "status", "due_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rules.id"))
    target: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class Alert(Base):
    """One transition of a rule's condition to true for one subject, open until the condition clears."""

    __tablename__ = "alerts"
    __table_args__ = (
        # One open alert per rule and subject: of two evaluators racing on one transition, one inserts.
        Index(
            "uq_alerts_open",
            "rule_id",
            "subject_key",
            unique=True,
            sqlite_where=text("resolved_at IS NULL"),
            postgresql_where=text("resolved_at IS NULL"),
        ),
        Index("ix_alerts_opened_at", "opened_at"),
        Index("ix_alerts_opened_message_id", "opened_message_id"),
        Index("ix_alerts_resolved_message_id", "resolved_message_id"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int] = mapped_column(ForeignKey("alert_rules.id"))
    subject_key: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(300))
    e164: Mapped[str | None] = mapped_column(String(20))
    waba: Mapped[str | None] = mapped_column(Name)
    workspace: Mapped[str | None] = mapped_column(Name)
    severity: Mapped[int] = mapped_column(Integer)
    before_value: Mapped[str | None] = mapped_column(Name)
    after_value: Mapped[str] = mapped_column(Name)
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution: Mapped[str | None] = mapped_column(String(500))
    opened_message_id: Mapped[int | None] = mapped_column(ForeignKey("alert_messages.id"))
    resolved_message_id: Mapped[int | None] = mapped_column(ForeignKey("alert_messages.id"))


class AlertAcknowledgement(Base):
    """Who acknowledged an alert, and when."""

    __tablename__ = "alert_acknowledgements"
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), primary_key=True)
    acknowledged_by: Mapped[str] = mapped_column(Name)
    acknowledged_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AlertDeliveryAttempt(Base):
    """Each try at delivering a message, with its outcome."""

    __tablename__ = "alert_delivery_attempts"
    __table_args__ = (Index("ix_alert_delivery_attempts_target_time", "target", "attempted_at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("alert_messages.id"), index=True)
    target: Mapped[str] = mapped_column(String(500))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    outcome: Mapped[str] = mapped_column(String(20))  # sent | failed
    detail: Mapped[str | None] = mapped_column(Text)


def normalize_database_url(url: str) -> str:
    """Plain 'postgresql://' URLs are served by psycopg 3; a relative SQLite path gets its folder created."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise InvalidInput(
            f"DATABASE_URL {url!r} is not a database URL (e.g. sqlite:///data/fleet.db or postgresql://host/db)."
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername.startswith("sqlite") and parsed.database not in (
        None,
        "",
        ":memory:",
    ):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, *, pool_size: int = 5, max_overflow: int = 5) -> Engine:
    """The engine for a database URL, with SQLite set up for a multi-reader, serialised-writer workload. On
    PostgreSQL a process holds at most pool_size + max_overflow connections, each checked before use, so a
    restarted server costs one failed ping per stale connection rather than an error."""
    url = normalize_database_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's events, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 60000")
        if engine.url.database not in (None, "", ":memory:"):
            _switch_to_wal(cursor)
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the write lock up front, so two cap checks can never interleave.
        mode = "IMMEDIATE" if connection.get_execution_options().get("fleet_write") else "DEFERRED"
        connection.exec_driver_sql(f"BEGIN {mode}")


def _switch_to_wal(cursor: Any, *, seconds: float = 60.0) -> None:
    """Put the file in WAL mode. While a new file is switched by several processes at once, SQLite answers "database
    is locked" at once rather than waiting out the busy timeout, so the switch is tried again for as long."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def is_postgresql(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


@contextmanager
def write_session(engine: Engine, actor: Actor | None = None, *, changes_fleet: bool = True) -> Iterator[Session]:
    """One unit of work on behalf of `actor`: commits when the block ends, writes nothing if it raises. A signed-in
    actor's role is read again first, so a role taken away refuses the write at once. A unit that changes the fleet
    raises the data version as its last statement (see `leave_fleet_unchanged`)."""
    with Session(engine.execution_options(fleet_write=True), expire_on_commit=False) as session:
        try:
            with session.begin():
                if actor is not None and actor.signed_in:
                    ensure_role_still_held(actor, stored_role(session, actor))
                yield session
                if changes_fleet and not session.info.get(_UNCHANGED):
                    bump_data_version(session)
        except IntegrityError as error:
            raise integrity_error_to_fleet_error(error) from error


_UNCHANGED = "fleet_unchanged"


def leave_fleet_unchanged(session: Session) -> None:
    """This unit of work wrote nothing the pages show (e.g. an import of duplicates): keep their cached reads."""
    session.info[_UNCHANGED] = True


def bump_data_version(session: Session | Connection) -> None:
    """Raise the data version in the caller's transaction. Last in a transaction, its row lock is held only until
    the commit; readers see the new version exactly when they can see the data."""
    session.execute(update(DataVersion).where(DataVersion.id == 1).values(version=DataVersion.version + 1))


def data_version(engine: Engine) -> int:
    """The current data version: it moves whenever a committed write changed the fleet."""
    with engine.connect() as connection:
        return int(connection.scalar(select(DataVersion.version).where(DataVersion.id == 1)) or 0)


def stored_role(session: Session, actor: Actor) -> Role:
    """The signed-in user's role as the users table says now, else the role they hold when it does not name them."""
    stored = session.scalar(select(User.role).where(User.name == actor.name))
    return Role.parse(stored) if stored else actor.role_if_unlisted or Role.VIEWER


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session, session.begin():
        yield session


_CONSTRAINT_MESSAGES: list[tuple[re.Pattern[str], type[FleetError], str]] = [
    (
        re.compile(r"phone_numbers\.e164|uq_phone_numbers_e164"),
        NumberAlreadyExists,
        "This phone number already exists in the system.",
    ),
    (
        re.compile(r"phone_numbers\.meta_phone_number_id|uq_phone_numbers_meta_phone_number_id"),
        DuplicateName,
        "Another number already has this Meta phone-number id.",
    ),
    (
        re.compile(r"subscription_groups\.phone_number_id|uq_subscription_groups_active_number"),
        NumberAlreadyInActiveGroup,
        "This phone number is already bound to an active subscription group.",
    ),
    (
        re.compile(r"subscription_groups\.workspace_id, subscription_groups\.name|uq_subscription_groups_active_name"),
        DuplicateName,
        "An active subscription group with this name already exists in the workspace.",
    ),
    (
        re.compile(r"workspaces\.name|uq_workspaces_name"),
        DuplicateName,
        "A workspace with this name already exists.",
    ),
    (
        re.compile(r"portfolios\.meta_business_id|uq_portfolios_meta_business_id"),
        DuplicateName,
        "A business portfolio with this Meta business id already exists.",
    ),
    (
        re.compile(r"wabas\.meta_waba_id|uq_wabas_meta_waba_id"),
        DuplicateName,
        "A WhatsApp Business Account with this Meta id already exists.",
    ),
    (
        re.compile(r"users\.name|uq_users_name"),
        DuplicateName,
        "A user with this name already exists.",
    ),
]


def integrity_error_to_fleet_error(error: IntegrityError) -> FleetError:
    """The database caught what a race let past the Python checks: say it in the same words."""
    detail = str(error.orig)
    for pattern, error_type, message in _CONSTRAINT_MESSAGES:
        if pattern.search(detail):
            return error_type(_naming_the_duplicate(message, detail))
    return RuleViolation(f"The database refused this change: {detail.splitlines()[0]}")


# PostgreSQL says which value collided ("Key (e164)=(+33612345678) already exists."); internal ids mean nothing
# to a user, so only these columns are repeated in the message.
_DUPLICATE_KEY = re.compile(r"Key \((?P<column>\w+)\)=\((?P<value>.*)\) already exists")
_USER_FACING_KEYS = {"e164", "name", "meta_business_id", "meta_waba_id", "meta_phone_number_id"}


def _naming_the_duplicate(message: str, detail: str) -> str:
    key = _DUPLICATE_KEY.search(detail)
    if key is None or key["column"] not in _USER_FACING_KEYS:
        return message
    value = format_international(key["value"]) if key["column"] == "e164" else key["value"]
    return f"{message.removesuffix('.')}: {value}."
