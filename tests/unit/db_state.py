"""What the database holds, read raw, so tests can prove that a refused call wrote nothing."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, func, select

from core.db import AuditEntry, Base

# The tables whose rows are history: the database refuses to delete any of them (users excepted).
HISTORY_TABLES = [
    "workspaces",
    "portfolios",
    "workspace_portfolios",
    "wabas",
    "phone_numbers",
    "subscription_groups",
    "message_templates",
    "number_health_snapshots",
    "audit_log",
    "field_event_times",
    "sync_runs",
    "account_alerts",
    "audit_chain_head",
    "history_chain_heads",
]


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows per table, for every table of the schema."""
    with engine.connect() as connection:
        return {
            table.name: connection.scalar(select(func.count()).select_from(table)) or 0
            for table in Base.metadata.sorted_tables
        }


def audit_entries(engine: Engine) -> list[dict[str, Any]]:
    """The audit log, oldest first, with before/after decoded."""
    with engine.connect() as connection:
        rows = connection.execute(select(AuditEntry.__table__).order_by(AuditEntry.id)).mappings().all()
    return [
        {
            **row,
            "before": json.loads(row["before"]) if row["before"] else None,
            "after": json.loads(row["after"]) if row["after"] else None,
        }
        for row in rows
    ]
