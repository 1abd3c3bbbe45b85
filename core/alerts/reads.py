"""What the Alerts page, the Overview and `alerts list` show: rules, recent and open alerts, failing targets."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, case, func, select

from core.db import (
    Alert,
    AlertAcknowledgement,
    AlertDeliveryAttempt,
    AlertMessage,
    AlertRule,
    Waba,
    Workspace,
    read_session,
)

RULE_COLUMNS = ["name", "event", "workspace", "waba", "threshold", "target", "quiet_hours", "enabled", "created_by"]
ALERT_COLUMNS = [
    "id",
    "rule",
    "event",
    "subject",
    "before_value",
    "after_value",
    "since",
    "opened_at",
    "resolved_at",
    "resolution",
    "acknowledged_by",
    "delivery",
    "e164",
    "waba",
    "workspace",
]


def rules_table(engine: Engine) -> pd.DataFrame:
    query = (
        select(
            AlertRule.name,
            AlertRule.event,
            Workspace.name.label("workspace"),
            Waba.meta_waba_id.label("waba"),
            AlertRule.threshold,
            AlertRule.target,
            AlertRule.quiet_hours,
            AlertRule.enabled,
            AlertRule.created_by,
        )
        .outerjoin(Workspace, Workspace.id == AlertRule.workspace_id)
        .outerjoin(Waba, Waba.id == AlertRule.waba_id)
        .order_by(AlertRule.name)
    )
    with read_session(engine) as session:
        return pd.DataFrame(session.execute(query).all(), columns=RULE_COLUMNS)


def alerts_table(engine: Engine, *, open_only: bool = False, limit: int = 200) -> pd.DataFrame:
    """The most recent alerts first, with who acknowledged them and how their first message went."""
    query = (
        select(
            Alert.id,
            AlertRule.name,
            AlertRule.event,
            Alert.subject,
            Alert.before_value,
            Alert.after_value,
            Alert.since,
            Alert.opened_at,
            Alert.resolved_at,
            Alert.resolution,
            AlertAcknowledgement.acknowledged_by,
            func.coalesce(AlertMessage.status, "held or not sent"),
            Alert.e164,
            Alert.waba,
            Alert.workspace,
        )
        .join(AlertRule, AlertRule.id == Alert.rule_id)
        .outerjoin(AlertAcknowledgement, AlertAcknowledgement.alert_id == Alert.id)
        .outerjoin(AlertMessage, AlertMessage.id == Alert.opened_message_id)
        .order_by(Alert.opened_at.desc(), Alert.id.desc())
        .limit(limit)
    )
    if open_only:
        query = query.where(Alert.resolved_at.is_(None))
    with read_session(engine) as session:
        return pd.DataFrame(session.execute(query).all(), columns=ALERT_COLUMNS)


def open_alert_count(engine: Engine) -> int:
    with read_session(engine) as session:
        return session.scalar(select(func.count()).select_from(Alert).where(Alert.resolved_at.is_(None))) or 0


def failing_targets(engine: Engine) -> pd.DataFrame:
    """Targets whose latest attempt failed: how many attempts failed since the last success, the last error."""
    failed = case((AlertDeliveryAttempt.outcome == "failed", 1), else_=0)
    last_success = (
        select(AlertDeliveryAttempt.target, func.max(AlertDeliveryAttempt.id).label("last_ok"))
        .where(AlertDeliveryAttempt.outcome == "sent")
        .group_by(AlertDeliveryAttempt.target)
        .subquery()
    )
    query = (
        select(
            AlertDeliveryAttempt.target,
            func.sum(failed).label("failed_attempts"),
            func.max(AlertDeliveryAttempt.attempted_at).label("last_attempt"),
            func.max(AlertDeliveryAttempt.id).label("last_id"),
        )
        .outerjoin(last_success, last_success.c.target == AlertDeliveryAttempt.target)
        .where(AlertDeliveryAttempt.id > func.coalesce(last_success.c.last_ok, 0))
        .group_by(AlertDeliveryAttempt.target)
    )
    with read_session(engine) as session:
        rows = session.execute(query).all()
        errors = dict(
            session.execute(
                select(AlertDeliveryAttempt.id, AlertDeliveryAttempt.detail).where(
                    AlertDeliveryAttempt.id.in_([row.last_id for row in rows])
                )
            ).all()
        )
        waiting = dict(
            session.execute(
                select(AlertMessage.target, func.count())
                .where(AlertMessage.status.in_(["pending", "failed"]), AlertMessage.attempts > 0)
                .group_by(AlertMessage.target)
            ).all()
        )
    frame = pd.DataFrame(
        [
            (
                row.target,
                int(row.failed_attempts),
                row.last_attempt,
                errors.get(row.last_id),
                waiting.get(row.target, 0),
            )
            for row in rows
            if row.failed_attempts
        ],
        columns=["target", "failed_attempts", "last_attempt", "last_error", "undelivered_messages"],
    )
    return frame.sort_values("last_attempt", ascending=False, ignore_index=True)
