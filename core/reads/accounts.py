"""Reads of the account tree: workspaces, business portfolios, their connections and WABAs, with capacity."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import Engine, Subquery, and_, func, literal, select

from core import model
from core.db import MessageTemplate, Portfolio, SubscriptionGroup, SyncRun, Waba, Workspace, WorkspacePortfolio
from core.reads.frame import read_frame


def active_numbers_per(owner: Any, label: str) -> Subquery:
    """How many active subscription groups (sender numbers) each workspace or WABA has: (`owner`, `label`)."""
    return (
        select(owner, func.count().label(label)).where(SubscriptionGroup.state == "active").group_by(owner).subquery()
    )


def is_empty(engine: Engine) -> bool:
    with engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(Workspace)) == 0


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
    numbers = active_numbers_per(SubscriptionGroup.workspace_id, "active_numbers")
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
    frame = read_frame(engine, query)
    frame["number_capacity"] = frame["wabas"] * model.MAX_NUMBERS_PER_WABA
    frame["number_headroom"] = frame["number_capacity"] - frame["active_numbers"]
    return frame


def wabas_table(engine: Engine) -> pd.DataFrame:
    """Every WABA with its workspace, portfolio, active numbers (of 20) and template count."""
    numbers = active_numbers_per(SubscriptionGroup.waba_id, "active_numbers")
    templates = (
        select(MessageTemplate.waba_id, func.count().label("templates")).group_by(MessageTemplate.waba_id).subquery()
    )
    last_sync = select(SyncRun.meta_waba_id, func.max(SyncRun.id).label("id")).group_by(SyncRun.meta_waba_id).subquery()
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
            Portfolio.max_phone_numbers_per_waba.label("meta_number_limit"),
            func.coalesce(templates.c.templates, 0).label("templates"),
            Waba.ban_state,
            Waba.ban_date,
            Waba.restrictions,
            Waba.violation_type,
            SyncRun.finished_at.label("last_sync"),
            SyncRun.outcome.label("last_sync_outcome"),
            SyncRun.retry_after.label("sync_retry_after"),
            Waba.created_at,
        )
        .join(Workspace, Workspace.id == Waba.workspace_id)
        .join(Portfolio, Portfolio.id == Waba.portfolio_id)
        .outerjoin(numbers, numbers.c.waba_id == Waba.id)
        .outerjoin(templates, templates.c.waba_id == Waba.id)
        .outerjoin(last_sync, last_sync.c.meta_waba_id == Waba.meta_waba_id)
        .outerjoin(SyncRun, SyncRun.id == last_sync.c.id)
        .order_by(Workspace.name, Waba.name)
    )
    return read_frame(engine, query)


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
            Portfolio.max_phone_numbers_per_business,
            Portfolio.max_phone_numbers_per_waba,
            func.coalesce(wabas.c.wabas, 0).label("wabas"),
            func.coalesce(senders.c.active_numbers, 0).label("active_numbers"),
        )
        .outerjoin(senders, senders.c.portfolio_id == Portfolio.id)
        .outerjoin(wabas, wabas.c.portfolio_id == Portfolio.id)
        .order_by(Portfolio.name)
    )
    frame = read_frame(engine, query)
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
    return read_frame(engine, query)


def waba_capacity(wabas: pd.DataFrame) -> pd.DataFrame:
    """Active WABAs with the sender slots they have left (of 20), fullest first."""
    active = wabas[wabas["state"] == "active"].copy()
    active["free_slots"] = active["number_limit"] - active["active_numbers"]
    return active.sort_values(["free_slots", "workspace", "waba"])


def waba_choices(wabas: pd.DataFrame) -> dict[str, str]:
    """Active WABAs a number can be added to, as {Meta WABA id: 'Fashion FR — EU Brands (id)'}."""
    active = wabas[wabas["state"] == "active"]
    return {row.waba_id: f"{row.waba} — {row.workspace} ({row.waba_id})" for row in active.itertuples(index=False)}


def of_wabas(frame: pd.DataFrame, waba_ids: list[str]) -> pd.DataFrame:
    """Rows of the given WABAs (by Meta WABA id); all rows when none is given."""
    return frame[frame["waba_id"].isin(waba_ids)] if waba_ids else frame


def low_limit_portfolios(portfolios: pd.DataFrame) -> pd.DataFrame:
    """Portfolios whose shared messaging limit is low for their number of senders, with the limit per sender."""
    low = portfolios.loc[portfolios["limit_is_low"].astype(bool)].copy()
    low["daily_limit_per_sender"] = low["daily_limit"] / low["active_numbers"]
    return low.sort_values("daily_limit_per_sender")
