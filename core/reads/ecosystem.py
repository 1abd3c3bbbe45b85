"""The read behind the ecosystem diagram: the account tree and every group's number, in five reads."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, select

from core.db import PhoneNumber, SubscriptionGroup, Waba
from core.diagram import Ecosystem
from core.reads import accounts


def ecosystem(engine: Engine) -> Ecosystem:
    """What the ecosystem diagram shows, in five reads (no per-WABA or per-number query)."""
    workspaces = accounts.workspaces_summary(engine)[["workspace", "wabas"]]
    portfolios = accounts.portfolios_table(engine)[["portfolio_id", "portfolio", "messaging_limit", "active_numbers"]]
    connections = accounts.connections_table(engine)[["workspace", "portfolio_id"]]
    wabas = accounts.wabas_table(engine)[
        ["waba_id", "waba", "workspace", "portfolio_id", "state", "active_numbers", "templates"]
    ]
    group_rows = (
        select(
            Waba.meta_waba_id.label("waba_id"),
            SubscriptionGroup.name.label("subscription_group"),
            SubscriptionGroup.state.label("group_state"),
            PhoneNumber.e164.label("phone_e164"),
            PhoneNumber.display_name,
            PhoneNumber.quality_rating,
            PhoneNumber.status,
        )
        .join(Waba, Waba.id == SubscriptionGroup.waba_id)
        .join(PhoneNumber, PhoneNumber.id == SubscriptionGroup.phone_number_id)
        .order_by(Waba.meta_waba_id, SubscriptionGroup.state, PhoneNumber.e164)
    )
    with engine.connect() as connection:
        result = connection.execute(group_rows)
        groups = pd.DataFrame(result.all(), columns=list(result.keys()))
    return Ecosystem(workspaces, portfolios, connections, wabas, groups)
