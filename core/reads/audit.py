"""Reads of the audit log and of the users given a role."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import Engine, select

from core.db import AuditEntry, User
from core.reads.frame import read_frame


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
    return read_frame(engine, query.limit(limit))


def audit_filter_options(engine: Engine) -> dict[str, list[str]]:
    """The actors and object types the audit log can be narrowed to."""
    with engine.connect() as connection:
        actors = connection.scalars(select(AuditEntry.actor).distinct().order_by(AuditEntry.actor)).all()
        object_types = connection.scalars(
            select(AuditEntry.object_type).distinct().order_by(AuditEntry.object_type)
        ).all()
    return {"actors": list(actors), "object_types": list(object_types)}


def users_table(engine: Engine) -> pd.DataFrame:
    return read_frame(engine, select(User.name, User.role, User.created_at).order_by(User.name))
