"""Writing a plan inside one open unit of work, with set-based statements: one INSERT per table (executemany) and
UPDATEs by primary key in bulk, never one ORM object per row."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core import bulk, chains
from core.db import (
    AccountAlert,
    FieldEventTime,
    MessageTemplate,
    PhoneNumber,
    Portfolio,
    SubscriptionGroup,
    Waba,
    WorkspacePortfolio,
)
from core.imports.fleet import NUMBER_FIELDS, chunks
from core.imports.report import ImportPlan
from core.model import Actor
from core.services import audit_json


def table_of(entity: Any) -> Table:
    """The Core table of an ORM class: statements on it skip the ORM's per-row bookkeeping."""
    return cast(Table, entity.__table__)


TABLES: dict[str, Any] = {
    "phone_number": PhoneNumber,
    "portfolio": Portfolio,
    "waba": Waba,
    "template": MessageTemplate,
}


def apply_plan(session: Session, actor: Actor, plan: ImportPlan, *, now: datetime) -> None:
    """Write everything the plan says, with its audit entries; the caller's unit of work commits or rolls back (its
    history and audit rows are appended to their chains as it commits)."""
    audit = _Audit(actor, now)
    _connect_portfolios(session, plan, audit)
    waba_ids = _create_wabas(session, plan, audit)
    number_ids = _create_numbers(session, plan, waba_ids, audit, now)
    template_ids = _create_templates(session, plan, audit, now)
    _update_objects(session, plan, audit)
    _write_clocks(session, plan, template_ids)
    _write_snapshots(session, plan, number_ids)
    _record_alerts(session, plan, audit)
    audit.add(
        "import",
        "import",
        f"{plan.kind}: {plan.source}"[:200],
        after={"source": plan.source, "kind": plan.kind, "rows": plan.rows_read, **plan.summary()},
    )
    chains.defer_audit(session, audit.rows)


class _Audit:
    def __init__(self, actor: Actor, now: datetime) -> None:
        self.actor = actor
        self.now = now
        self.rows: list[dict[str, Any]] = []

    def add(
        self,
        action: str,
        object_type: str,
        key: str,
        *,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
    ) -> None:
        self.rows.append(
            {
                "at": self.now,
                "actor": self.actor.name,
                "action": action,
                "object_type": object_type,
                "object_key": key,
                "before": audit_json(before),
                "after": audit_json(after),
            }
        )


def _connect_portfolios(session: Session, plan: ImportPlan, audit: _Audit) -> None:
    if not plan.connections:
        return
    insert_rows(
        session,
        table_of(WorkspacePortfolio),
        [
            {"workspace_id": c.workspace_id, "portfolio_id": c.portfolio_id, "connected_at": audit.now}
            for c in plan.connections
        ],
    )
    for c in plan.connections:
        audit.add(
            "connect",
            "portfolio",
            f"{c.workspace} ↔ {c.portfolio_meta_id}",
            after={"workspace": c.workspace, "portfolio": c.portfolio_meta_id},
        )


def _create_wabas(session: Session, plan: ImportPlan, audit: _Audit) -> dict[str, int]:
    if not plan.wabas:
        return {}
    insert_rows(
        session,
        table_of(Waba),
        [
            {
                "meta_waba_id": w.meta_waba_id,
                "name": w.name,
                "portfolio_id": w.portfolio_id,
                "workspace_id": w.workspace_id,
                "state": "active",
                "status": "ACTIVE",
                "created_at": audit.now,
            }
            for w in plan.wabas
        ],
    )
    for w in plan.wabas:
        audit.add(
            "add",
            "waba",
            w.meta_waba_id,
            after={
                "meta_waba_id": w.meta_waba_id,
                "name": w.name,
                "workspace": w.workspace,
                "portfolio": w.portfolio_meta_id,
            },
        )
    return _ids_by(session, Waba.meta_waba_id, Waba.id, [w.meta_waba_id for w in plan.wabas])


def _create_numbers(
    session: Session, plan: ImportPlan, waba_ids: dict[str, int], audit: _Audit, now: datetime
) -> dict[str, int]:
    if not plan.numbers:
        return {}
    new = [n for n in plan.numbers if not n.reattach]
    insert_rows(
        session,
        table_of(PhoneNumber),
        # Every column in every row (one executemany): the plan gives a new number's values, defaults included.
        [
            {"e164": n.e164, **dict.fromkeys(NUMBER_FIELDS), **dict(n.values), "created_at": now, "updated_at": now}
            for n in new
        ],
    )
    number_ids = _ids_by(session, PhoneNumber.e164, PhoneNumber.id, [n.e164 for n in new])
    number_ids.update({n.e164: n.number_id for n in plan.numbers if n.number_id is not None})
    groups = [
        {
            "name": n.group_name,
            "workspace_id": n.workspace_id,
            "waba_id": n.waba_id if n.waba_id is not None else waba_ids[n.meta_waba_id],
            "phone_number_id": number_ids[n.e164],
            "state": "active",
            "created_at": now,
        }
        for n in plan.numbers
    ]
    insert_rows(session, table_of(SubscriptionGroup), groups)
    for n in plan.numbers:
        if not n.reattach:
            values = dict(n.values)
            audit.add(
                "add",
                "phone_number",
                n.e164,
                after={"display_name": values.get("display_name", ""), "waba": n.meta_waba_id},
            )
        audit.add(
            "bind",
            "subscription_group",
            n.group_name,
            after={"group": n.group_name, "phone": n.e164, "waba": n.meta_waba_id},
        )
    return number_ids


def _create_templates(session: Session, plan: ImportPlan, audit: _Audit, now: datetime) -> dict[str, int]:
    if not plan.templates:
        return {}
    insert_rows(
        session,
        table_of(MessageTemplate),
        [{"waba_id": t.waba_id, **dict(t.values), "updated_at": now} for t in plan.templates],
    )
    created: dict[str, int] = {}
    rows = session.execute(
        select(MessageTemplate.id, MessageTemplate.waba_id, MessageTemplate.name, MessageTemplate.language).where(
            MessageTemplate.waba_id.in_({t.waba_id for t in plan.templates})
        )
    )
    by_identity = {(waba_id, name, language): template_id for template_id, waba_id, name, language in rows}
    for t in plan.templates:
        values = dict(t.values)
        created[t.key] = by_identity[(t.waba_id, str(values["name"]), str(values["language"]))]
        audit.add("add", "template", t.key, after={"waba": t.meta_waba_id, **values})
    return created


def _update_objects(session: Session, plan: ImportPlan, audit: _Audit) -> None:
    """Bulk UPDATE by primary key, one executemany per table and set of columns."""
    batches: dict[tuple[str, tuple[str, ...]], list[dict[str, Any]]] = {}
    for u in plan.updates:
        columns = dict(u.columns)
        if not columns:
            continue
        batches.setdefault((u.object_type, tuple(sorted(columns))), []).append({"object_id": u.object_id, **columns})
        if u.changes:
            audit.add(
                "update",
                u.object_type,
                u.key,
                before={c.field: c.before for c in u.changes},
                after={c.field: c.after for c in u.changes},
            )
    for (object_type, _), rows in batches.items():
        table = table_of(TABLES[object_type])
        # executemany UPDATE … SET <the row's other keys> WHERE id = :object_id
        execute_rows(session, update(table).where(table.c.id == bindparam("object_id")), rows)


def _write_clocks(session: Session, plan: ImportPlan, template_ids: dict[str, int]) -> None:
    rows = [
        {"object_type": u.object_type, "object_id": u.object_id, "field": name, "event_time": at}
        for u in plan.updates
        for name, at in u.clocks
    ]
    rows += [
        {"object_type": "template", "object_id": template_ids[t.key], "field": name, "event_time": at}
        for t in plan.templates
        for name, at in t.clocks
    ]
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table_of(FieldEventTime))
    statement = statement.on_conflict_do_update(
        index_elements=["object_type", "object_id", "field"], set_={"event_time": statement.excluded.event_time}
    )
    execute_rows(session, statement, rows)


def _write_snapshots(session: Session, plan: ImportPlan, number_ids: dict[str, int]) -> None:
    rows = [
        {
            "phone_number_id": s.phone_number_id if s.phone_number_id is not None else number_ids[s.e164],
            "recorded_at": s.recorded_at,
            "quality_rating": s.quality_rating,
            "messaging_limit_tier": s.messaging_limit_tier,
            "status": s.status,
            "source": s.source,
        }
        for s in plan.snapshots
    ]
    # Appended to each number's chain, then flagged, when the unit of work commits (core.chains).
    chains.defer_snapshots(session, rows)


def _record_alerts(session: Session, plan: ImportPlan, audit: _Audit) -> None:
    if not plan.account_alerts:
        return
    insert_rows(
        session,
        table_of(AccountAlert),
        [
            {
                "meta_waba_id": a.meta_waba_id,
                "entity_type": a.entity_type,
                "entity_id": a.entity_id,
                "alert_type": a.alert_type,
                "severity": a.severity,
                "status": a.status,
                "description": a.description,
                "event_time": a.event_time,
                "recorded_at": audit.now,
            }
            for a in plan.account_alerts
        ],
    )
    for a in plan.account_alerts:
        audit.add(
            "record",
            "account_alert",
            f"{a.alert_type} {a.entity_type} {a.entity_id}"[:200],
            after={"waba": a.meta_waba_id, "severity": a.severity, "status": a.status, "at": a.event_time},
        )


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Every row a plan inserts or updates goes through this or `execute_rows` (`core.bulk`), in the open
    transaction, but for history and audit rows (`core.chains`, at commit)."""
    bulk.insert_many(session.connection(), table, rows)


def execute_rows(session: Session, statement: Any, rows: list[dict[str, Any]]) -> None:
    bulk.execute_rows(session.connection(), statement, rows)


def _ids_by(session: Session, key: Any, id_column: Any, values: Iterable[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for part in chunks(sorted(set(values))):
        found.update(session.execute(select(key, id_column).where(key.in_(part))).all())
    return found
