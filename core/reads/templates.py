"""Reads of message templates, with the numbers of their WABA that share them."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sqlalchemy import Engine, func, select

from core.db import MessageTemplate, SubscriptionGroup, Waba, Workspace
from core.reads.accounts import active_numbers_per
from core.reads.frame import read_frame


def templates_table(engine: Engine, waba_ids: Sequence[str] = ()) -> pd.DataFrame:
    """Message templates with their WABA and the number of active numbers that share them."""
    senders = active_numbers_per(SubscriptionGroup.waba_id, "shared_by_numbers")
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
            MessageTemplate.meta_template_id.label("template_id"),
            MessageTemplate.previous_category,
            MessageTemplate.status_reason,
            MessageTemplate.status_since,
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
    return read_frame(engine, query)
