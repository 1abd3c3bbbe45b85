"""Reads of sender numbers: the numbers table (filtered in SQL), its filter choices, the at-risk list and counts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import Engine, Select, Subquery, and_, case, func, or_, select

from core import model
from core.db import PhoneNumber, Portfolio, SubscriptionGroup, Waba, Workspace
from core.reads.frame import read_frame

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
    "health_status",
    "health_errors",
    "throughput_level",
    "code_verification_status",
    "platform_type",
    "account_mode",
    "is_official_business_account",
    "last_onboarded_time",
    "name_rejection_reason",
    "meta_phone_number_id",
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
            PhoneNumber.health_status,
            PhoneNumber.health_errors,
            PhoneNumber.code_verification_status,
            PhoneNumber.platform_type,
            PhoneNumber.account_mode,
            PhoneNumber.is_official_business_account,
            PhoneNumber.last_onboarded_time,
            PhoneNumber.name_rejection_reason,
            PhoneNumber.updated_at,
        )
        .select_from(PhoneNumber)
        .join(groups, and_(groups.c.phone_number_id == PhoneNumber.id, groups.c.rank == 1))
        .join(Waba, Waba.id == groups.c.waba_id)
        .join(Workspace, Workspace.id == groups.c.workspace_id)
        .join(Portfolio, Portfolio.id == Waba.portfolio_id)
        .order_by(Workspace.name, Waba.name, PhoneNumber.e164)
    )
    return _narrowed(query, filters, groups)


def _narrowed(query: AnySelect, filters: NumberFilters, groups: Subquery) -> AnySelect:
    """The numbers query with the filters' conditions: each list filter, active groups only, the search."""
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
        query = query.where(or_(*_search_matches(filters.search, groups)))
    return query


def _search_matches(search: str, groups: Subquery) -> list[Any]:
    """What a search matches: display name, group or WABA name (any case), or digits of the number."""
    pattern = f"%{_escape_like(search.strip().lower())}%"
    digits = "".join(ch for ch in search if ch.isdigit())
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
    return matches


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def numbers_table(engine: Engine, filters: NumberFilters | None = None) -> pd.DataFrame:
    """One row per number with its workspace, portfolio, WABA, current group and health fields."""
    frame = read_frame(engine, numbers_query(filters))
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


def fleet_size(engine: Engine) -> int:
    """How many numbers the database holds (a table showing that many rows shows the whole fleet)."""
    with engine.connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(PhoneNumber)) or 0)


def at_risk_numbers(numbers: pd.DataFrame) -> pd.DataFrame:
    """Numbers of active groups that are at risk (quality or status), worst first, with the reason."""
    active = numbers.loc[(numbers["group_state"] == "active") & numbers["at_risk"].astype(bool)].copy()
    active["reason"] = [
        model.risk_reasons(q, s) for q, s in zip(active["quality_rating"], active["status"], strict=True)
    ]
    urgency = active["quality_rating"].map(model.AT_RISK_QUALITY_URGENCY).fillna(0) + active["status"].map(
        model.AT_RISK_STATUS_URGENCY
    ).fillna(0)
    return (
        active.assign(_urgency=urgency)
        .sort_values(["_urgency", "workspace", "waba", "phone_e164"], ascending=[False, True, True, True])
        .drop(columns="_urgency")
    )


def health_counts(numbers: pd.DataFrame, column: str, order: list[str]) -> pd.DataFrame:
    """How many numbers of active groups have each value of `column` (known values first, in `order`)."""
    active = numbers[numbers["group_state"] == "active"]
    counts = active[column].fillna("(none)").value_counts()
    values = [value for value in order if value in counts.index] + sorted(set(counts.index) - set(order))
    return pd.DataFrame({column: values, "numbers": [int(counts[value]) for value in values]})


def health_error_lines(health_errors: str | None) -> list[str]:
    """Meta's `health_status` errors as stored (JSON), one line per error: 'PHONE_NUMBER 1065…: LIMITED — …'."""
    if not health_errors:
        return []
    try:
        entities = json.loads(health_errors)
    except ValueError:
        return [health_errors]
    lines = []
    for entity in entities if isinstance(entities, list) else []:
        head = f"{entity.get('entity_type', '?')} {entity.get('id', '')}: {entity.get('can_send_message', '')}"
        errors = entity.get("errors") or [{}]
        for error in errors:
            detail = " — ".join(
                str(error[name]) for name in ("error_code", "error_description", "possible_solution") if name in error
            )
            lines.append(f"{head} — {detail}" if detail else head)
    return lines
