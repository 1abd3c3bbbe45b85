"""Writes on alerts by a user: adding and disabling rules, acknowledging an alert (admins only, audited)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select

from core import model, services
from core.alerts import conditions
from core.alerts.evaluation import initial_state
from core.alerts.rules import AlertEvent, clean_quiet_hours, clean_target, clean_threshold, parse_event
from core.db import Alert, AlertAcknowledgement, AlertRule, write_session
from core.errors import DuplicateName, InvalidInput, NotFound
from core.model import Actor, Role, require_role


def add_rule(
    engine: Engine,
    actor: Actor,
    *,
    name: str,
    event: str,
    target: str,
    workspace: str | None = None,
    waba: str | None = None,
    threshold: float | str | None = None,
    quiet_hours: float | str | None = None,
    now: datetime | None = None,
) -> str:
    """Store a new, enabled rule; returns its name."""
    require_role(actor, Role.ADMIN, "manage alert rules")
    now = now or services.utcnow()
    rule_name = model.clean_name("name", name)
    chosen = parse_event(event)
    values = {
        "event": chosen.value,
        "target": clean_target(target),
        "threshold": clean_threshold(chosen, threshold),
        "quiet_hours": clean_quiet_hours(quiet_hours),
    }
    with write_session(engine, actor) as session:
        if session.scalar(select(AlertRule.id).where(AlertRule.name == rule_name)) is not None:
            raise DuplicateName(f"An alert rule named '{rule_name}' already exists.")
        workspace_row = services.get_workspace(session, workspace) if workspace else None
        waba_row = services.get_waba(session, model.clean_meta_id("waba", waba)) if waba else None
        if workspace_row and waba_row and waba_row.workspace_id != workspace_row.id:
            raise InvalidInput(f"WABA {waba_row.meta_waba_id} is not in workspace '{workspace_row.name}'.")
        rule = AlertRule(
            name=rule_name,
            workspace_id=workspace_row.id if workspace_row else None,
            waba_id=waba_row.id if waba_row else None,
            enabled=True,
            created_by=actor.name,
            created_at=now,
            **values,
        )
        session.add(rule)
        session.flush()
        session.add(initial_state(rule.id))
        if chosen is AlertEvent.LIMIT_LOWERED:
            conditions.remember_limits(session, rule)
        scope = {
            "workspace": workspace_row.name if workspace_row else None,
            "waba": waba_row.meta_waba_id if waba_row else None,
        }
        services.record_audit(session, actor, "add", "alert_rule", rule_name, after=values | scope, now=now)
    return rule_name


def disable_rule(engine: Engine, actor: Actor, name: str, *, now: datetime | None = None) -> None:
    require_role(actor, Role.ADMIN, "manage alert rules")
    now = now or services.utcnow()
    with write_session(engine, actor) as session:
        rule = session.scalars(select(AlertRule).where(AlertRule.name == name.strip())).one_or_none()
        if rule is None:
            raise NotFound(f"Alert rule '{name}' does not exist.")
        if not rule.enabled:
            return
        rule.enabled = False
        services.record_audit(
            session,
            actor,
            "update",
            "alert_rule",
            rule.name,
            before={"enabled": True},
            after={"enabled": False},
            now=now,
        )


def acknowledge(engine: Engine, actor: Actor, alert_id: int, *, now: datetime | None = None) -> None:
    require_role(actor, Role.ADMIN, "acknowledge alerts")
    now = now or services.utcnow()
    with write_session(engine, actor) as session:
        alert = session.get(Alert, alert_id)
        if alert is None:
            raise NotFound(f"Alert {alert_id} does not exist.")
        if session.get(AlertAcknowledgement, alert_id) is not None:
            return
        session.add(AlertAcknowledgement(alert_id=alert_id, acknowledged_by=actor.name, acknowledged_at=now))
        services.record_audit(
            session, actor, "acknowledge", "alert", f"{alert.id}: {alert.subject}", after={"alert": alert.id}, now=now
        )
