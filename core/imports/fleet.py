"""The part of the fleet an import touches, loaded in a few set-based queries, and tracked in memory while the plan
is computed (no ORM object per row: a 10,000-number import is a handful of SELECTs).

Every field Meta sets has its own clock (`field_event_times`): a value is taken when its event is newer than the
clock, or equally new with a greater value. That rule is a last-writer-wins register per field, so replaying events
changes nothing and any delivery order ends in the same state.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Any, NamedTuple, TypeVar, cast

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from core.contention import lock_workspaces_then_wabas
from core.db import (
    AccountAlert,
    FieldEventTime,
    MessageTemplate,
    NumberHealthSnapshot,
    PhoneNumber,
    Portfolio,
    SubscriptionGroup,
    Waba,
    Workspace,
)
from core.imports.report import FieldChange, UpdateObject

CHUNK = 5_000
T = TypeVar("T")

# What a Graph API listing gives for a number (the Meta id is matched, not compared): the fields every listing
# carries, then those only a listing asking for them does.
USUAL_LISTED_FIELDS = (
    "display_name",
    "status",
    "quality_rating",
    "messaging_limit_tier",
    "name_status",
    "throughput_level",
    "code_verification_status",
    "platform_type",
    "account_mode",
)
LISTED_FIELDS = (
    *USUAL_LISTED_FIELDS,
    "health_status",
    "health_errors",
    "is_official_business_account",
    "last_onboarded_time",
)
NUMBER_FIELDS = (*LISTED_FIELDS, "meta_phone_number_id", "name_rejection_reason")
HEALTH_FIELDS = ("quality_rating", "messaging_limit_tier", "status")
NAME_FIELDS = ("display_name", "name_status", "name_rejection_reason")
PORTFOLIO_FIELDS = ("messaging_limit", "max_phone_numbers_per_business", "max_phone_numbers_per_waba")
WABA_FIELDS = ("status", "ban_state", "ban_date", "restrictions", "violation_type")
TEMPLATE_FIELDS = (
    "meta_template_id",
    "category",
    "status",
    "quality_score",
    "previous_category",
    "status_reason",
)
# What a new number starts as, from the table's column defaults: PENDING, quality NA, no tier yet…
NEW_NUMBER: dict[str, Any] = {
    name: column.default.arg for name in NUMBER_FIELDS if (column := PhoneNumber.__table__.c[name]).default is not None
}


def _rows(session: Session, query: Any) -> Any:
    """Run a SELECT of plain columns on the session's connection (same transaction), skipping the ORM's result
    machinery: these loads read thousands of rows and need no ORM objects."""
    return session.connection().execute(query)


def _driver_tuples(session: Session, query: Any) -> list[tuple[Any, ...]]:
    """The driver's own tuples for a SELECT of text and integer columns only (none needs a conversion by
    SQLAlchemy): stored numbers then load without a Row object each."""
    result = _rows(session, query)
    try:
        return cast(list[tuple[Any, ...]], result.cursor.fetchall())
    finally:
        result.close()


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Offer(enum.Enum):
    APPLIED = "applied"  # the value (or at least its clock) moves forward
    SAME = "same"  # this very value at this very time is already stored: a replay
    STALE = "stale"  # a newer event already set this field


@dataclass
class Tracked:
    """One stored (or about to be created) object: its current values and field clocks, and what changed."""

    object_type: str
    object_id: int | None
    key: str
    values: dict[str, Any]
    clocks: dict[str, datetime] = field(default_factory=dict)
    sources: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.original = dict(self.values)
        self.original_clocks = dict(self.clocks)

    def offer(self, name: str, value: Any, at: datetime, where: str) -> Offer:
        clock = self.clocks.get(name)
        current = self.values.get(name)
        if clock is not None and at < clock:
            return Offer.STALE
        if clock is not None and at == clock:
            if value == current:
                return Offer.SAME
            if str(value) < str(current):
                return Offer.STALE  # a tie at the same second: the greater value wins, whatever the order
        self.values[name] = value
        self.clocks[name] = at
        self._touched_by(where)
        return Offer.APPLIED

    def _touched_by(self, where: str) -> None:
        if where not in self.sources:
            self.sources.append(where)

    def changes(self, fields: Iterable[str] | None = None) -> tuple[FieldChange, ...]:
        original, values = self.original, self.values
        return tuple(
            FieldChange(name, original.get(name), values[name])
            for name in (fields or values)
            if values.get(name) != original.get(name)
        )

    def clock_changes(self) -> tuple[tuple[str, datetime], ...]:
        return tuple((name, at) for name, at in sorted(self.clocks.items()) if self.original_clocks.get(name) != at)

    @property
    def touched(self) -> bool:
        return self.values != self.original or self.clocks != self.original_clocks

    def where(self, limit: int = 3) -> str:
        shown = ", ".join(self.sources[:limit])
        return shown + (f" (+{len(self.sources) - limit} more)" if len(self.sources) > limit else "")

    def latest_clock(self, fields: Iterable[str]) -> datetime | None:
        times = [self.clocks[name] for name in fields if name in self.clocks]
        return max(times) if times else None

    def as_update(self, extra_columns: dict[str, Any], changes: tuple[FieldChange, ...] | None = None) -> UpdateObject:
        assert self.object_id is not None
        changes = self.changes() if changes is None else changes
        columns = {change.field: change.after for change in changes} | extra_columns
        return UpdateObject(
            object_type=self.object_type,
            object_id=self.object_id,
            key=self.key,
            changes=changes,
            columns=tuple(sorted(columns.items())),
            clocks=self.clock_changes(),
            where=self.where(),
        )


# --- loading ------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class WabaRow:
    id: int
    meta_waba_id: str
    name: str
    state: str
    status: str
    ban_state: str | None
    workspace_id: int
    workspace: str
    portfolio_id: int
    portfolio_meta_id: str
    active_numbers: int
    ban_date: str | None = None
    restrictions: str | None = None
    violation_type: str | None = None

    @property
    def values(self) -> dict[str, Any]:
        """The fields Meta sets, by name."""
        return {name: getattr(self, name) for name in WABA_FIELDS}


def load_wabas(session: Session, meta_ids: Iterable[str], *, lock: bool = False) -> dict[str, WabaRow]:
    """WABAs by Meta id, with their workspace, portfolio and active number count; locked for a write (PostgreSQL),
    their workspaces first."""
    wanted = sorted(set(meta_ids))
    if lock:
        lock_workspaces_then_wabas(session, meta_waba_ids=wanted)
    found: dict[str, WabaRow] = {}
    for part in chunks(wanted):
        query = (
            select(
                Waba.id,
                Waba.meta_waba_id,
                Waba.name,
                Waba.state,
                Waba.status,
                Waba.ban_state,
                Waba.workspace_id,
                Workspace.name,
                Waba.portfolio_id,
                Portfolio.meta_business_id,
                Waba.ban_date,
                Waba.restrictions,
                Waba.violation_type,
            )
            .join(Workspace, Workspace.id == Waba.workspace_id)
            .join(Portfolio, Portfolio.id == Waba.portfolio_id)
            .where(Waba.meta_waba_id.in_(part))
            .order_by(Waba.id)
        )
        rows = _rows(session, query.with_for_update(of=Waba) if lock else query).all()
        counts = active_number_counts(session, [row[0] for row in rows])
        for row in rows:
            waba_id, meta_id, name, state, status, ban_state, workspace_id, workspace, portfolio_id, portfolio = row[
                :10
            ]
            found[meta_id] = WabaRow(
                waba_id,
                meta_id,
                name,
                state,
                status,
                ban_state,
                workspace_id,
                workspace,
                portfolio_id,
                portfolio,
                active_numbers=counts.get(waba_id, 0),
                ban_date=row[10],
                restrictions=row[11],
                violation_type=row[12],
            )
    return found


def active_number_counts(session: Session, waba_ids: Sequence[int]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for part in chunks(list(waba_ids)):
        rows = _rows(
            session,
            select(SubscriptionGroup.waba_id, func.count())
            .where(SubscriptionGroup.waba_id.in_(part), SubscriptionGroup.state == "active")
            .group_by(SubscriptionGroup.waba_id),
        )
        counts.update(rows.all())
    return counts


class NumberRow(NamedTuple):
    """A stored number as selected (`_number_columns`, in this order): the row's own tuple, no dict per row."""

    id: int
    e164: str
    display_name: str
    status: str
    quality_rating: str
    messaging_limit_tier: str
    name_status: str
    throughput_level: str | None
    code_verification_status: str | None
    platform_type: str | None
    account_mode: str | None
    health_status: str | None
    health_errors: str | None
    is_official_business_account: bool | None
    last_onboarded_time: str | None
    meta_phone_number_id: str | None
    name_rejection_reason: str | None
    group_name: str | None  # the active group, if any
    group_waba_id: int | None
    group_waba_meta_id: str | None
    group_waba_name: str | None

    @property
    def values(self) -> dict[str, Any]:
        """The fields Meta sets, by name."""
        return dict(zip(NUMBER_FIELDS, _stored_values(self), strict=True))


_stored_values = itemgetter(slice(2, 2 + len(NUMBER_FIELDS)))
# Both give the LISTED_FIELDS' values in that order: from a NumberRow, and from a dict of every listed field.
stored_listed_values = itemgetter(slice(2, 2 + len(LISTED_FIELDS)))
listed_values = itemgetter(*LISTED_FIELDS)
# The same for the fields every listing carries.
stored_usual_values = itemgetter(slice(2, 2 + len(USUAL_LISTED_FIELDS)))
usual_values = itemgetter(*USUAL_LISTED_FIELDS)
USUAL_KEYS = frozenset(USUAL_LISTED_FIELDS)


def _number_columns() -> list[Any]:
    return [PhoneNumber.id, PhoneNumber.e164, *[getattr(PhoneNumber, name) for name in NUMBER_FIELDS]]


def load_numbers(session: Session, e164s: Iterable[str], meta_ids: Iterable[str] = ()) -> dict[int, NumberRow]:
    """Numbers matching any of the E.164 forms or Meta phone-number ids, with their active group and its WABA."""
    active = (
        select(SubscriptionGroup.phone_number_id, SubscriptionGroup.name, SubscriptionGroup.waba_id)
        .where(SubscriptionGroup.state == "active")
        .subquery()
    )
    base = (
        select(*_number_columns(), active.c.name, active.c.waba_id, Waba.meta_waba_id, Waba.name)
        .outerjoin(active, active.c.phone_number_id == PhoneNumber.id)
        .outerjoin(Waba, Waba.id == active.c.waba_id)
    )
    found: dict[int, NumberRow] = {}
    for column, wanted in (
        (PhoneNumber.e164, sorted(set(e164s))),
        (PhoneNumber.meta_phone_number_id, sorted(set(meta_ids))),
    ):
        for part in chunks(wanted):
            for row in _driver_tuples(session, base.where(column.in_(part))):
                found[row[0]] = NumberRow._make(row)
    return found


def load_active_numbers(session: Session, waba_ids: Sequence[int]) -> dict[int, NumberRow]:
    """The active numbers of some WABAs, in one query per 5,000 WABAs (a listing's numbers are mostly these)."""
    found: dict[int, NumberRow] = {}
    for part in chunks(sorted(set(waba_ids))):
        rows = _driver_tuples(
            session,
            select(*_number_columns(), SubscriptionGroup.name, SubscriptionGroup.waba_id, Waba.meta_waba_id, Waba.name)
            .join(SubscriptionGroup, SubscriptionGroup.phone_number_id == PhoneNumber.id)
            .join(Waba, Waba.id == SubscriptionGroup.waba_id)
            .where(SubscriptionGroup.state == "active", SubscriptionGroup.waba_id.in_(part)),
        )
        found.update((row[0], NumberRow._make(row)) for row in rows)
    return found


def load_clocks(session: Session, object_type: str, ids: Iterable[int]) -> dict[int, dict[str, datetime]]:
    """The field clocks of some objects of one type: {object id: {field: event time}}."""
    clocks: dict[int, dict[str, datetime]] = {}
    for part in chunks(sorted(set(ids))):
        rows = _rows(
            session,
            select(FieldEventTime.object_id, FieldEventTime.field, FieldEventTime.event_time).where(
                FieldEventTime.object_type == object_type, FieldEventTime.object_id.in_(part)
            ),
        )
        for object_id, name, at in rows:
            clocks.setdefault(object_id, {})[name] = at
    return clocks


def load_portfolios(session: Session, ids: Iterable[int]) -> dict[int, tuple[str, dict[str, Any]]]:
    """{portfolio id: (Meta business id, {field: value})}."""
    found: dict[int, tuple[str, dict[str, Any]]] = {}
    for part in chunks(sorted(set(ids))):
        rows = _rows(
            session,
            select(Portfolio.id, Portfolio.meta_business_id, *[getattr(Portfolio, f) for f in PORTFOLIO_FIELDS]).where(
                Portfolio.id.in_(part)
            ),
        )
        for row in rows:
            found[row[0]] = (row[1], dict(zip(PORTFOLIO_FIELDS, row[2:], strict=True)))
    return found


@dataclass(slots=True)
class TemplateRow:
    id: int
    waba_id: int
    name: str
    language: str
    values: dict[str, Any]


def load_templates(session: Session, waba_ids: Iterable[int]) -> list[TemplateRow]:
    templates: list[TemplateRow] = []
    for part in chunks(sorted(set(waba_ids))):
        rows = _rows(
            session,
            select(
                MessageTemplate.id,
                MessageTemplate.waba_id,
                MessageTemplate.name,
                MessageTemplate.language,
                *[getattr(MessageTemplate, f) for f in TEMPLATE_FIELDS],
            ).where(MessageTemplate.waba_id.in_(part)),
        )
        templates += [
            TemplateRow(row[0], row[1], row[2], row[3], dict(zip(TEMPLATE_FIELDS, row[4:], strict=True)))
            for row in rows
        ]
    return templates


def recorded_alerts(session: Session, meta_waba_ids: Iterable[str]) -> set[tuple[str, str, str, datetime]]:
    """(WABA, entity, alert type, event time) of the account alerts already recorded for some WABAs."""
    found: set[tuple[str, str, str, datetime]] = set()
    for part in chunks(sorted(set(meta_waba_ids))):
        rows = session.execute(
            select(
                AccountAlert.meta_waba_id, AccountAlert.entity_id, AccountAlert.alert_type, AccountAlert.event_time
            ).where(AccountAlert.meta_waba_id.in_(part))
        )
        found.update((str(w), str(e), str(t), at) for w, e, t, at in rows)
    return found


def taken_group_names(session: Session, workspace_ids: Iterable[int], names: Iterable[str]) -> set[tuple[int, str]]:
    """(workspace id, name) of active groups among the given names: a new group may not reuse one."""
    taken: set[tuple[int, str]] = set()
    wanted = sorted(set(names))
    ids = sorted(set(workspace_ids))
    for part in chunks(wanted):
        rows = _rows(
            session,
            select(SubscriptionGroup.workspace_id, SubscriptionGroup.name).where(
                SubscriptionGroup.state == "active",
                SubscriptionGroup.workspace_id.in_(ids),
                SubscriptionGroup.name.in_(part),
            ),
        )
        taken.update((workspace_id, name) for workspace_id, name in rows)
    return taken


def snapshots_up_to(session: Session, phone_number_id: int, at: datetime, limit: int = 20) -> list[tuple[Any, ...]]:
    """The latest health snapshots of one number recorded at or before `at`, newest first:
    (recorded_at, quality_rating, messaging_limit_tier, status)."""
    return [
        tuple(row)
        for row in _rows(
            session,
            select(
                NumberHealthSnapshot.recorded_at,
                NumberHealthSnapshot.quality_rating,
                NumberHealthSnapshot.messaging_limit_tier,
                NumberHealthSnapshot.status,
            )
            .where(
                and_(NumberHealthSnapshot.phone_number_id == phone_number_id, NumberHealthSnapshot.recorded_at <= at)
            )
            .order_by(NumberHealthSnapshot.recorded_at.desc(), NumberHealthSnapshot.id.desc())
            .limit(limit),
        )
    ]
