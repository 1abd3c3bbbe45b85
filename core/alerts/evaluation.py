"""One evaluation pass: each enabled rule's findings against its open alerts. A finding without an open alert opens
one (the database's unique key lets one evaluator win a race), an open alert without a finding is resolved, and the
changes are queued as messages (one each, or one digest), held through the rule's quiet period."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.alerts import conditions
from core.alerts.conditions import Finding
from core.db import (
    Alert,
    AlertMessage,
    AlertRule,
    AlertRuleState,
    leave_fleet_unchanged,
    write_session,
)

DEFAULT_DIGEST_AT = 5
INSERT_CHUNK = 500  # rows a statement inserts: 11 columns each, under SQLite's 32,766 parameters


@dataclass
class EvaluationReport:
    opened: int = 0
    resolved: int = 0
    messages: int = 0
    rules: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.opened} alert(s) opened, {self.resolved} resolved, {self.messages} message(s) queued."


def evaluate(engine: Engine, now: datetime, *, digest_at: int = DEFAULT_DIGEST_AT) -> EvaluationReport:
    """Evaluate every enabled rule, each in its own transaction (committed before any message is delivered)."""
    report = EvaluationReport()
    with Session(engine) as session:
        rule_ids = list(session.scalars(select(AlertRule.id).where(AlertRule.enabled).order_by(AlertRule.id)))
    for rule_id in rule_ids:
        with write_session(engine) as session:
            before = (report.opened, report.resolved, report.messages)
            _evaluate_rule(session, rule_id, now, digest_at, report)
            if (report.opened, report.resolved, report.messages) == before:
                leave_fleet_unchanged(session)  # only the rule's state and baselines moved: pages need not rerun
    return report


def initial_state(rule_id: int) -> AlertRuleState:
    return AlertRuleState(rule_id=rule_id)


def _evaluate_rule(session: Session, rule_id: int, now: datetime, digest_at: int, report: EvaluationReport) -> None:
    # The state row's lock makes a second evaluator of this rule wait and then see what the first committed.
    state = session.scalars(
        select(AlertRuleState).where(AlertRuleState.rule_id == rule_id).with_for_update()
    ).one_or_none()
    rule = session.get(AlertRule, rule_id)
    if rule is None or not rule.enabled:
        return
    if state is None:
        state = initial_state(rule_id)
        session.add(state)
    findings = conditions.current_findings(session, rule)
    # Only the alerts that change are loaded whole: a rule may have thousands open.
    open_severity: dict[str, int] = dict(
        session.execute(
            select(Alert.subject_key, Alert.severity).where(Alert.rule_id == rule.id, Alert.resolved_at.is_(None))
        ).all()
    )
    cleared = [key for key in open_severity if key not in findings]
    superseded = {
        key for key, severity in open_severity.items() if key in findings and findings[key].severity > severity
    }
    resolved = _resolve_cleared(session, rule, _open_alerts(session, rule, cleared), now)
    _resolve_worsened(_open_alerts(session, rule, superseded), findings, now)
    session.flush()
    new = [f for key, f in findings.items() if key not in open_severity or key in superseded]
    opened = _open(session, rule, new, now)
    state.evaluated_at = now
    messages = _queue_messages(session, rule, state, opened + resolved, now, digest_at)
    report.opened += len(opened)
    report.resolved += len(resolved)
    report.messages += messages
    if opened or resolved:
        report.rules.append(rule.name)


def _open_alerts(session: Session, rule: AlertRule, keys: Iterable[str]) -> list[Alert]:
    wanted = sorted(keys)
    found: list[Alert] = []
    for start in range(0, len(wanted), 500):
        found += session.scalars(
            select(Alert).where(
                Alert.rule_id == rule.id,
                Alert.resolved_at.is_(None),
                Alert.subject_key.in_(wanted[start : start + 500]),
            )
        )
    return found


def _resolve_cleared(session: Session, rule: AlertRule, cleared: list[Alert], now: datetime) -> list[Alert]:
    for alert in cleared:
        present = conditions.present_value(session, rule, alert.subject_key)
        alert.resolved_at = now
        alert.resolution = f"Cleared: {present}." if present else "The condition has cleared."
    return cleared


def _resolve_worsened(worse: list[Alert], findings: dict[str, Finding], now: datetime) -> None:
    """A value worse than the open alert's (YELLOW → RED, a second cut of a limit) is a transition of its own."""
    for alert in worse:
        alert.resolved_at = now
        alert.resolution = f"Worsened to {findings[alert.subject_key].after}: a new alert follows."


def _open(session: Session, rule: AlertRule, new: list[Finding], now: datetime) -> list[Alert]:
    """Insert the new alerts; one that another evaluator has just opened is left to it."""
    rows = [_alert_row(rule, conditions.with_history(session, rule, finding, now), now) for finding in new]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    opened_ids: list[int] = []
    for start in range(0, len(rows), INSERT_CHUNK):
        statement = (
            dialect.insert(Alert)
            .values(rows[start : start + INSERT_CHUNK])
            .on_conflict_do_nothing(index_elements=["rule_id", "subject_key"], index_where=Alert.resolved_at.is_(None))
            .returning(Alert.id)
        )
        opened_ids += session.scalars(statement)
    opened: list[Alert] = []
    for start in range(0, len(opened_ids), INSERT_CHUNK):
        opened += session.scalars(select(Alert).where(Alert.id.in_(opened_ids[start : start + INSERT_CHUNK])))
    return sorted(opened, key=lambda alert: alert.id)


def _alert_row(rule: AlertRule, finding: Finding, now: datetime) -> dict[str, object]:
    subject = conditions.number_label(finding.e164, finding.display_name) if finding.e164 else finding.subject
    return {
        "rule_id": rule.id,
        "subject_key": finding.subject_key,
        "subject": subject[:300],
        "e164": finding.e164,
        "waba": finding.waba,
        "workspace": finding.workspace,
        "severity": finding.severity,
        "before_value": finding.before,
        "after_value": finding.after[:200],
        "since": finding.since or now,
        "opened_at": now,
    }


def _queue_messages(
    session: Session, rule: AlertRule, state: AlertRuleState, changed: list[Alert], now: datetime, digest_at: int
) -> int:
    """One message per change (an alert opened, or one cleared; a worsened alert's successor speaks for it), or one
    digest above `digest_at`; during the quiet period, one held message that gathers every change until it ends."""
    if not changed:
        return 0
    quiet = timedelta(hours=rule.quiet_hours)
    if quiet and state.quiet_until is not None and state.quiet_until > now:
        held = session.scalars(
            select(AlertMessage)
            .where(
                AlertMessage.rule_id == rule.id,
                AlertMessage.status == "pending",
                AlertMessage.attempts == 0,
                AlertMessage.due_at > now,
            )
            .order_by(AlertMessage.due_at)
            .limit(1)
        ).first()
        created = 0
        if held is None:
            held = _new_message(session, rule, due_at=state.quiet_until, now=now)
            state.quiet_until = state.quiet_until + quiet
            created = 1
        _attach(changed, held)
        return created
    groups = [changed] if len(changed) > digest_at else [[alert] for alert in changed]
    for group in groups:
        _attach(group, _new_message(session, rule, due_at=now, now=now))
    if quiet:
        state.quiet_until = now + quiet
    return len(groups)


def _new_message(session: Session, rule: AlertRule, *, due_at: datetime, now: datetime) -> AlertMessage:
    message_id = session.scalar(
        insert(AlertMessage)
        .values(rule_id=rule.id, target=rule.target, created_at=now, due_at=due_at, status="pending", attempts=0)
        .returning(AlertMessage.id)
    )
    message = session.get(AlertMessage, message_id)
    assert message is not None
    return message


def _attach(alerts: list[Alert], message: AlertMessage) -> None:
    for alert in alerts:
        if alert.resolved_at is None:
            alert.opened_message_id = message.id
        else:
            alert.resolved_message_id = message.id
