"""Reads of subscription groups: active and archived groups, and the numbers free to join a new group."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, select

from core import model
from core.db import PhoneNumber, SubscriptionGroup, Waba, Workspace
from core.reads.frame import read_frame


def groups_table(engine: Engine, *, state: str | None = None) -> pd.DataFrame:
    """Subscription groups with their WABA, workspace, number (E.164 and as shown) and state."""
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
    return read_frame(engine, query)


def reattachable_numbers(engine: Engine) -> pd.DataFrame:
    """Numbers with no active group (their groups were archived): they may be bound to a new group."""
    active = select(SubscriptionGroup.phone_number_id).where(SubscriptionGroup.state == "active")
    query = (
        select(PhoneNumber.e164.label("phone_e164"), PhoneNumber.display_name)
        .where(PhoneNumber.id.not_in(active))
        .order_by(PhoneNumber.e164)
    )
    return read_frame(engine, query)


def reattach_choices(archived: pd.DataFrame, reattachable: pd.DataFrame) -> dict[str, str]:
    """The numbers free to join a new group, each shown with the group and WABA it last had:
    {E.164: '+33 6 12 34 56 78 — FR Promotions (Fashion FR)'}. `archived` is `archived_groups(…)`, newest first."""
    last = archived.drop_duplicates("phone_e164").set_index("phone_e164")
    choices = {}
    for e164 in reattachable["phone_e164"].tolist():
        shown = model.format_international(e164)
        if e164 in last.index:
            shown += f" — {last.at[e164, 'subscription_group']} ({last.at[e164, 'waba']})"
        choices[e164] = shown
    return choices


def archived_groups(archived: pd.DataFrame, reattachable: pd.DataFrame) -> pd.DataFrame:
    """Archived groups, newest first, marking those whose number has no active group now (free to re-attach)."""
    groups = archived.copy()
    groups["reattachable"] = groups["phone_e164"].isin(set(reattachable["phone_e164"]))
    return groups.sort_values("archived_at", ascending=False)
