"""Reads of the webhook inbox for the Live sync page: deliveries by state, each WABA's latest event, the failures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import Engine, case, func, select

from core.db import Waba, WebhookDelivery, WebhookWabaActivity
from core.reads.frame import read_frame


@dataclass(frozen=True)
class InboxCounts:
    received: int  # still in the inbox: applied ones are pruned after the retention
    pending: int
    applied: int
    failed: int
    retrying: int  # pending after a failed attempt
    oldest_pending: datetime | None


def inbox_counts(engine: Engine) -> InboxCounts:
    """How many deliveries the inbox holds in each state, and when the oldest waiting one arrived."""
    state, pending = WebhookDelivery.state, WebhookDelivery.state == "pending"
    with engine.connect() as connection:
        row = connection.execute(
            select(
                func.count(),
                func.count(case((pending, 1))),
                func.count(case((state == "applied", 1))),
                func.count(case((state == "failed", 1))),
                func.count(case((pending & (WebhookDelivery.attempts > 0), 1))),
            )
        ).one()
        oldest_at = connection.scalar(
            select(WebhookDelivery.received_at).where(pending).order_by(WebhookDelivery.id).limit(1)
        )
    received, waiting, applied, failed, retrying = (int(value) for value in row)
    return InboxCounts(received, waiting, applied, failed, retrying, oldest_at)


def waba_activity_table(engine: Engine) -> pd.DataFrame:
    """Each WABA Meta sent webhooks for: its name when the fleet knows it, its latest event, when it was applied."""
    query = (
        select(
            WebhookWabaActivity.meta_waba_id,
            Waba.name.label("waba"),
            WebhookWabaActivity.last_event_at,
            WebhookWabaActivity.last_applied_at,
        )
        .outerjoin(Waba, Waba.meta_waba_id == WebhookWabaActivity.meta_waba_id)
        .order_by(WebhookWabaActivity.last_event_at.desc())
    )
    return _utc(read_frame(engine, query), "last_event_at", "last_applied_at")


def troubled_deliveries_table(engine: Engine, limit: int = 100) -> pd.DataFrame:
    """Failed deliveries, and waiting ones whose last attempt failed, newest first, with their error."""
    query = (
        select(
            WebhookDelivery.id.label("delivery"),
            WebhookDelivery.received_at,
            WebhookDelivery.state,
            WebhookDelivery.attempts,
            WebhookDelivery.next_attempt_at,
            func.length(WebhookDelivery.body).label("size"),
            WebhookDelivery.last_error,
        )
        .where(
            (WebhookDelivery.state == "failed")
            | ((WebhookDelivery.state == "pending") & (WebhookDelivery.attempts > 0))
        )
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    )
    return _utc(read_frame(engine, query), "received_at", "next_attempt_at")


SHOWN_BODY_CHARS = 20_000


def delivery_text(engine: Engine, delivery_id: int) -> str:
    """A delivery's body as text, for an admin to inspect (cut after SHOWN_BODY_CHARS)."""
    with engine.connect() as connection:
        body = connection.scalar(select(WebhookDelivery.body).where(WebhookDelivery.id == delivery_id)) or b""
    text = body.decode("utf-8", errors="replace")
    return text if len(text) <= SHOWN_BODY_CHARS else f"{text[:SHOWN_BODY_CHARS]}\n… ({len(text):,} characters)"


def _utc(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    for column in columns:
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def age(since: datetime | None, now: datetime) -> str:
    """'3 s', '4 min', '2 h' since a time; '—' without one."""
    if since is None:
        return "—"
    seconds = max(0, int((now - since.astimezone(UTC)).total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    return f"{seconds // 60} min" if seconds < 7200 else f"{seconds // 3600} h"
