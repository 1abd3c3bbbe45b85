"""What the database holds, read raw, so tests can prove that a refused call wrote nothing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select

from core import alerts, imports
from core.config import AlertSettings
from core.db import AuditEntry, Base, SyncRun, write_session
from tests.builders import ADMIN
from tests.fixtures.meta import support

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
    "alert_rules",
    "alert_rule_states",
    "alert_baselines",
    "alert_messages",
    "alerts",
    "alert_acknowledgements",
    "alert_delivery_attempts",
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


NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def a_fleet_with_one_of_everything(engine: Engine) -> None:
    """A row in every history table: numbers, groups, a template, snapshots, audit entries, the field clocks a
    webhook sets, an account alert, a sync run, and alert rules with an alert delivered and acknowledged."""
    support.lucky_shrub_fleet(engine)
    imports.run_import(engine, ADMIN, support.request("webhook", "webhooks/quality_flagged.json"))
    imports.run_import(engine, ADMIN, support.request("webhook", "webhooks/account_alert.json"))
    with write_session(engine) as session:
        session.add(SyncRun(meta_waba_id=support.WABA_US, started_at=NOW, finished_at=NOW, outcome="unchanged"))
    _an_alert_delivered_and_acknowledged(engine)


def _an_alert_delivered_and_acknowledged(engine: Engine) -> None:
    """Rules with their state and baselines, an alert on the flagged number, its message, an attempt, an ack."""
    for event in ("limit_lowered", "status_at_risk"):
        alerts.add_rule(engine, ADMIN, name=event, event=event, target="http://127.0.0.1:9/nothing-listens-here")
    alerts.run_pass(engine, NOW, AlertSettings())
    alerts.acknowledge(engine, ADMIN, int(alerts.alerts_table(engine)["id"][0]))
