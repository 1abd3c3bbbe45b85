"""The read side: query functions returning DataFrames for pages, exports and charts (one query per table shown)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, Executable, Select, Subquery, and_, case, func, literal, or_, select

from core import model
from core.db import (
    AuditEntry,
    MessageTemplate,
    NumberHealthSnapshot,
    PhoneNumber,
    Portfolio,
    SubscriptionGroup,
    User,
    Waba,
    Workspace,
    WorkspacePortfolio,
)

NUMBER_EXPORT_COLUMNS = [
    "workspace",
    "portfolio_id",
    "waba_id",
    "waba",
    "subscription_group",
    "group_state",
    "phone_e164",
    "display_name",
    "status",
    "quality_rating",
    "messaging_limit_tier",
    "portfolio_messaging_limit",
    "name_status",
    "updated_at",
]


@dataclass(frozen=True)
class NumberFilters:
    """What the Numbers page (and exports) narrow the fleet to; empty means 'all'."""

    workspaces: Sequence[str] = field(default_factory=tuple)
    portfolio_ids: Sequence[str] = field(default_factory=tuple)
    waba_ids: Sequence[str] = field(default_factory=tuple)
    statuses: Sequence[str] = field(default_factory=tuple)
    qualities: Sequence[str] = field(default_factory=tuple)
    tiers: Sequence[str] = field(default_factory=tuple)
    search: str = ""
    include_archived: bool = True


AnySelect = Select[*tuple[Any, ...]]


def _read(engine: Engine, query: Executable) -> pd.DataFrame:
    with engine.connect() as connection:
        result = connection.execute(query)
        # Plain tuples: pandas probes Row objects attribute by attribute, several times slower.
        return pd.DataFrame.from_records([tuple(row) for row in result], columns=list(result.keys()))


def current_groups() -> Subquery:
    """Each number's current group: its active one, else its most recently created archived one."""
    rank = (
        func.row_number()
        .over(
            partition_by=SubscriptionGroup.phone_number_id,
            order_by=(
                case((SubscriptionGroup.state == "active", 0), else_=1),
                SubscriptionGroup.created_at.desc(),
                SubscriptionGroup.id.desc(),
            ),
        )
        .label("rank")
    )
    # Only the columns the numbers table reads: the ranked rows are materialised, 10,000 of them in a large fleet.
    return select(
        SubscriptionGroup.name,
        SubscriptionGroup.state,
        SubscriptionGroup.workspace_id,
        SubscriptionGroup.waba_id,
        SubscriptionGroup.phone_number_id,
        rank,
    ).subquery("ranked_groups")


def numbers_query(filters: NumberFilters | None = None) -> AnySelect:
    filters = filters or NumberFilters()
    groups = current_groups()
    query = (
        select(
            Workspace.name.label("workspace"),
            Portfolio.meta_business_id.label("portfolio_id"),
            Portfolio.name.label("portfolio"),
            Waba.meta_waba_id.label("waba_id"),
            Waba.name.label("waba"),
            groups.c.name.label("subscription_group"),
            groups.c.state.label("group_state"),
            PhoneNumber.e164.label("phone_e164"),
            PhoneNumber.display_name,
            PhoneNumber.status,
            PhoneNumber.quality_rating,
            PhoneNumber.messaging_limit_tier,
            Portfolio.messaging_limit.label("portfolio_messaging_limit"),
            PhoneNumber.name_status,
            PhoneNumber.throughput_level,
            PhoneNumber.meta_phone_number_id,
            PhoneNumber.updated_at,
        )
        .select_from(PhoneNumber)
        .join(groups, and_(groups.c.phone_number_id == PhoneNumber.id, groups.c.rank == 1))
        .join(Waba, Waba.id == groups.c.waba_id)
        .join(Workspace, Workspace.id == groups.c.workspace_id)
        .join(Portfolio, Portfolio.id == Waba.portfolio_id)
        .order_by(Workspace.name, Waba.name, PhoneNumber.e164)
    )
    conditions = [
        (Workspace.name, filters.workspaces),
        (Portfolio.meta_business_id, filters.portfolio_ids),
        (Waba.meta_waba_id, filters.waba_ids),
        (PhoneNumber.status, filters.statuses),
        (PhoneNumber.quality_rating, filters.qualities),
        (PhoneNumber.messaging_limit_tier, filters.tiers),
    ]
    for column, allowed in conditions:
        if allowed:
            query = query.where(column.in_(list(allowed)))
    if not filters.include_archived:
        query = query.where(groups.c.state == "active")
    if filters.search.strip():
        pattern = f"%{_escape_like(filters.search.strip().lower())}%"
        digits = "".join(ch for ch in filters.search if ch.isdigit())
        matches = [
            func.lower(PhoneNumber.display_name).like(pattern, escape="\\"),
            func.lower(groups.c.name).like(pattern, escape="\\"),
            func.lower(Waba.name).like(pattern, escape="\\"),
        ]
        if digits:
            matches.append(PhoneNumber.e164.like(f"%{digits}%"))
        if digits.startswith("0") and digits.strip("0"):
            # Numbers are typed as dialled ('06 12…', '0033 6…'); E.164 has no trunk or '00' prefix ('+336 12…').
            matches.append(PhoneNumber.e164.like(f"%{digits.lstrip('0')}%"))
        query = query.where(or_(*matches))
    return query


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def numbers_table(engine: Engine, filters: NumberFilters | None = None) -> pd.DataFrame:
    """One row per number with its workspace, portfolio, WABA, current group and health fields."""
    frame = _read(engine, numbers_query(filters))
    frame["phone_international"] = frame["phone_e164"].map(model.format_international)
    # model.is_number_at_risk, for a whole column at once
    frame["at_risk"] = frame["quality_rating"].isin(model.AT_RISK_QUALITY) | frame["status"].isin(model.AT_RISK_STATUS)
    frame["unknown_values"] = unknown_values(frame)
    return frame


_KNOWN_VALUES = {
    name: set(model.NUMBER_ENUMS[name].__members__)
    for name in ("status", "quality_rating", "messaging_limit_tier", "name_status")
}


def unknown_values(frame: pd.DataFrame) -> pd.Series:
    """Flags values Meta reported that this version does not know (kept as-is), as 'field=value' text."""
    flags = pd.Series([""] * len(frame), index=frame.index, dtype="object")
    for column, known in _KNOWN_VALUES.items():
        unknown = ~frame[column].isin(known) & frame[column].notna()
        if unknown.any():  # rare: most fleets hold no value new to this version
            flags[unknown] = flags[unknown] + column + "=" + frame.loc[unknown, column].astype(str) + " "
    return flags.str.strip()


def filter_options(engine: Engine) -> dict[str, list[str]]:
    """The values each Numbers filter can take, from what is stored."""
    with engine.connect() as connection:

        def column(query: Select[Any]) -> list[str]:
            return [str(value) for value in connection.execute(query).scalars() if value is not None]

        return {
            "workspaces": column(select(Workspace.name).order_by(Workspace.name)),
            "portfolio_ids": column(select(Portfolio.meta_business_id).order_by(Portfolio.name)),
            "waba_ids": column(select(Waba.meta_waba_id).order_by(Waba.name)),
            "statuses": column(select(PhoneNumber.status).distinct().order_by(PhoneNumber.status)),
            "qualities": column(select(PhoneNumber.quality_rating).distinct().order_by(PhoneNumber.quality_rating)),
            "tiers": column(
                select(PhoneNumber.messaging_limit_tier).distinct().order_by(PhoneNumber.messaging_limit_tier)
            ),
        }


def workspaces_summary(engine: Engine) -> pd.DataFrame:
    """Per workspace: connected portfolios, active WABAs (of 10), active numbers, and free number slots."""
    portfolios = (
        select(WorkspacePortfolio.workspace_id, func.count().label("portfolios"))
        .group_by(WorkspacePortfolio.workspace_id)
        .subquery()
    )
    wabas = (
        select(Waba.workspace_id, func.count().label("wabas"))
        .where(Waba.state == "active")
        .group_by(Waba.workspace_id)
        .subquery()
    )
    numbers = (
        select(SubscriptionGroup.workspace_id, func.count().label("active_numbers"))
        .where(SubscriptionGroup.state == "active")
        .group_by(SubscriptionGroup.workspace_id)
        .subquery()
    )
    query = (
        select(
            Workspace.name.label("workspace"),
            func.coalesce(portfolios.c.portfolios, 0).label("portfolios"),
            func.coalesce(wabas.c.wabas, 0).label("wabas"),
            literal(model.MAX_WABAS_PER_WORKSPACE).label("waba_limit"),
            func.coalesce(numbers.c.active_numbers, 0).label("active_numbers"),
        )
        .outerjoin(portfolios, portfolios.c.workspace_id == Workspace.id)
        .outerjoin(wabas, wabas.c.workspace_id == Workspace.id)
        .outerjoin(numbers, numbers.c.workspace_id == Workspace.id)
        .order_by(Workspace.name)
    )
    frame = _read(engine, query)
    frame["number_capacity"] = frame["wabas"] * model.MAX_NUMBERS_PER_WABA
    frame["number_headroom"] = frame["number_capacity"] - frame["active_numbers"]
    return frame


def wabas_table(engine: Engine) -> pd.DataFrame:
    """Every WABA with its workspace, portfolio, active numbers (of 20) and template count."""
    numbers = (
        select(SubscriptionGroup.waba_id, func.count().label("active_numbers"))
        .where(SubscriptionGroup.state == "active")
        .group_by(SubscriptionGroup.waba_id)
        .subquery()
    )
    templates = (
        select(MessageTemplate.waba_id, func.count().label("templates")).group_by(MessageTemplate.waba_id).subquery()
    )
    query = (
        select(
            Workspace.name.label("workspace"),
            Portfolio.name.label("portfolio"),
            Portfolio.meta_business_id.label("portfolio_id"),
            Waba.meta_waba_id.label("waba_id"),
            Waba.name.label("waba"),
            Waba.state,
            Waba.status,
            func.coalesce(numbers.c.active_numbers, 0).label("active_numbers"),
            literal(model.MAX_NUMBERS_PER_WABA).label("number_limit"),
            func.coalesce(templates.c.templates, 0).label("templates"),
            Waba.created_at,
        )
        .join(Workspace, Workspace.id == Waba.workspace_id)
        .join(Portfolio, Portfolio.id == Waba.portfolio_id)
        .outerjoin(numbers, numbers.c.waba_id == Waba.id)
        .outerjoin(templates, templates.c.waba_id == Waba.id)
        .order_by(Workspace.name, Waba.name)
    )
    return _read(engine, query)


def portfolios_table(engine: Engine) -> pd.DataFrame:
    """Every portfolio with its shared messaging limit, the workspaces it serves and its active senders."""
    senders = (
        select(Waba.portfolio_id, func.count().label("active_numbers"))
        .join(
            SubscriptionGroup,
            and_(
                SubscriptionGroup.waba_id == Waba.id,
                SubscriptionGroup.state == "active",
            ),
        )
        .group_by(Waba.portfolio_id)
        .subquery()
    )
    wabas = select(Waba.portfolio_id, func.count().label("wabas")).group_by(Waba.portfolio_id).subquery()
    query = (
        select(
            Portfolio.meta_business_id.label("portfolio_id"),
            Portfolio.name.label("portfolio"),
            Portfolio.messaging_limit,
            func.coalesce(wabas.c.wabas, 0).label("wabas"),
            func.coalesce(senders.c.active_numbers, 0).label("active_numbers"),
        )
        .outerjoin(senders, senders.c.portfolio_id == Portfolio.id)
        .outerjoin(wabas, wabas.c.portfolio_id == Portfolio.id)
        .order_by(Portfolio.name)
    )
    frame = _read(engine, query)
    frame["daily_limit"] = frame["messaging_limit"].map(model.daily_limit)
    frame["limit_is_low"] = [
        model.is_low_portfolio_limit(t, n)
        for t, n in zip(frame["messaging_limit"], frame["active_numbers"], strict=True)
    ]
    return frame


def connections_table(engine: Engine) -> pd.DataFrame:
    """Which portfolio is connected to which workspace."""
    query = (
        select(
            Workspace.name.label("workspace"),
            Portfolio.meta_business_id.label("portfolio_id"),
            Portfolio.name.label("portfolio"),
            Portfolio.messaging_limit,
            WorkspacePortfolio.connected_at,
        )
        .join(Workspace, Workspace.id == WorkspacePortfolio.workspace_id)
        .join(Portfolio, Portfolio.id == WorkspacePortfolio.portfolio_id)
        .order_by(Workspace.name, Portfolio.name)
    )
    return _read(engine, query)


def groups_table(engine: Engine, *, state: str | None = None) -> pd.DataFrame:
    """Subscription groups with their WABA, workspace, number and state."""
    query = (
        select(
            Workspace.name.label("workspace"),
            Waba.meta_waba_id.label("waba_id"),
            Waba.name.label("waba"),
            SubscriptionGroup.name.label("subscription_group"),
            SubscriptionGroup.state,
            PhoneNumber.e164.label("phone_e164"),
            PhoneNumber.display_name,
            SubscriptionGroup.created_at,
            SubscriptionGroup.archived_at,
        )
        .join(Waba, Waba.id == SubscriptionGroup.waba_id)
        .join(Workspace, Workspace.id == SubscriptionGroup.workspace_id)
        .join(PhoneNumber, PhoneNumber.id == SubscriptionGroup.phone_number_id)
        .order_by(Workspace.name, Waba.name, SubscriptionGroup.name)
    )
    if state:
        query = query.where(SubscriptionGroup.state == state)
    return _read(engine, query)


def reattachable_numbers(engine: Engine) -> pd.DataFrame:
    """Numbers with no active group (their groups were archived): they may be bound to a new group."""
    active = select(SubscriptionGroup.phone_number_id).where(SubscriptionGroup.state == "active")
    query = (
        select(PhoneNumber.e164.label("phone_e164"), PhoneNumber.display_name)
        .where(PhoneNumber.id.not_in(active))
        .order_by(PhoneNumber.e164)
    )
    return _read(engine, query)


def templates_table(engine: Engine, waba_ids: Sequence[str] = ()) -> pd.DataFrame:
    """Message templates with their WABA and the number of active numbers that share them."""
    senders = (
        select(SubscriptionGroup.waba_id, func.count().label("shared_by_numbers"))
        .where(SubscriptionGroup.state == "active")
        .group_by(SubscriptionGroup.waba_id)
        .subquery()
    )
    query = (
        select(
            Workspace.name.label("workspace"),
            Waba.meta_waba_id.label("waba_id"),
            Waba.name.label("waba"),
            MessageTemplate.name.label("template"),
            MessageTemplate.language,
            MessageTemplate.category,
            MessageTemplate.status,
            MessageTemplate.quality_score,
            func.coalesce(senders.c.shared_by_numbers, 0).label("shared_by_numbers"),
            MessageTemplate.updated_at,
        )
        .join(Waba, Waba.id == MessageTemplate.waba_id)
        .join(Workspace, Workspace.id == Waba.workspace_id)
        .outerjoin(senders, senders.c.waba_id == Waba.id)
        .order_by(Workspace.name, Waba.name, MessageTemplate.name, MessageTemplate.language)
    )
    if waba_ids:
        query = query.where(Waba.meta_waba_id.in_(list(waba_ids)))
    return _read(engine, query)


def number_history(engine: Engine, e164s: Sequence[str], since: datetime | None = None) -> pd.DataFrame:
    """Health snapshots (quality, tier, status) of the given numbers, oldest first."""
    query = (
        select(
            PhoneNumber.e164.label("phone_e164"),
            PhoneNumber.display_name,
            NumberHealthSnapshot.recorded_at,
            NumberHealthSnapshot.quality_rating,
            NumberHealthSnapshot.messaging_limit_tier,
            NumberHealthSnapshot.status,
            NumberHealthSnapshot.source,
        )
        .join(PhoneNumber, PhoneNumber.id == NumberHealthSnapshot.phone_number_id)
        .where(PhoneNumber.e164.in_(list(e164s)))
        .order_by(PhoneNumber.e164, NumberHealthSnapshot.recorded_at, NumberHealthSnapshot.id)
    )
    if since is not None:
        query = query.where(NumberHealthSnapshot.recorded_at >= since)
    return _read(engine, query)


def audit_table(
    engine: Engine,
    *,
    actor: str = "",
    object_type: str = "",
    since: datetime | None = None,
    limit: int = 5000,
) -> pd.DataFrame:
    """The audit log, newest first, optionally narrowed."""
    query = select(
        AuditEntry.at,
        AuditEntry.actor,
        AuditEntry.action,
        AuditEntry.object_type,
        AuditEntry.object_key,
        AuditEntry.before,
        AuditEntry.after,
    ).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if object_type:
        query = query.where(AuditEntry.object_type == object_type)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    return _read(engine, query.limit(limit))


def users_table(engine: Engine) -> pd.DataFrame:
    return _read(engine, select(User.name, User.role, User.created_at).order_by(User.name))


def is_empty(engine: Engine) -> bool:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(Workspace)) == 0


def history_export(engine: Engine, since: datetime | None = None) -> pd.DataFrame:
    """Every health snapshot with its number, oldest first."""
    query = (
        select(
            PhoneNumber.e164.label("phone_e164"),
            NumberHealthSnapshot.recorded_at,
            NumberHealthSnapshot.quality_rating,
            NumberHealthSnapshot.messaging_limit_tier,
            NumberHealthSnapshot.status,
            NumberHealthSnapshot.source,
        )
        .join(PhoneNumber, PhoneNumber.id == NumberHealthSnapshot.phone_number_id)
        .order_by(NumberHealthSnapshot.recorded_at, NumberHealthSnapshot.id)
    )
    if since is not None:
        query = query.where(NumberHealthSnapshot.recorded_at >= since)
    return _read(engine, query)
