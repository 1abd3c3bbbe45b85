"""Where each rule's condition holds now: one query per event over the current state (limit_lowered against the
limits the rule last saw), and the history or the audit log for a new alert's value before and time since when."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, and_, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.alerts.rules import (
    QUALITY_SEVERITY,
    STATUS_SEVERITY,
    TEMPLATE_SEVERITY,
    WABA_SEVERITY,
    AlertEvent,
    is_lowered,
    limit_rank,
    portfolio_headroom_percent,
)
from core.db import (
    Alert,
    AlertBaseline,
    AlertRule,
    AuditEntry,
    MessageTemplate,
    NumberHealthSnapshot,
    PhoneNumber,
    Portfolio,
    SubscriptionGroup,
    Waba,
    Workspace,
    WorkspacePortfolio,
)
from core.model import MAX_NUMBERS_PER_WABA, MAX_WABAS_PER_WORKSPACE, format_international


@dataclass(frozen=True)
class Finding:
    """A subject for which a rule's condition holds now."""

    subject_key: str
    subject: str
    after: str
    severity: int
    e164: str | None = None
    waba: str | None = None
    workspace: str | None = None
    before: str | None = None
    since: datetime | None = None
    display_name: str = ""  # a number's, for its label (formatted when its alert opens)


Findings = dict[str, Finding]


def current_findings(session: Session, rule: AlertRule) -> Findings:
    """Every subject in the rule's scope for which its event's condition holds now."""
    return FINDERS[AlertEvent(rule.event)](session, rule)


def with_history(session: Session, rule: AlertRule, finding: Finding, now: datetime) -> Finding:
    """A new alert's value before and the time since when, from the number's history or the audit log."""
    if finding.before is not None and finding.since is not None:
        return finding
    kind, _, raw_id = finding.subject_key.partition(":")
    event = AlertEvent(rule.event)
    if kind == "number" and event in (AlertEvent.QUALITY_DROP, AlertEvent.STATUS_AT_RISK):
        field = "quality_rating" if event is AlertEvent.QUALITY_DROP else "status"
        bad = QUALITY_SEVERITY if event is AlertEvent.QUALITY_DROP else STATUS_SEVERITY
        before, since = _run_of_bad_values(session, int(raw_id), field, set(bad))
        return replace(finding, before=before, since=since or finding.since or now)
    if kind in ("waba", "template") and event in (AlertEvent.WABA_RESTRICTED, AlertEvent.TEMPLATE_PAUSED):
        return replace(finding, before=_status_before(session, kind, int(raw_id)), since=finding.since or now)
    if kind == "number" and event is AlertEvent.LIMIT_LOWERED:
        change = _last_tier_change(session, int(raw_id), finding.after)
        return replace(finding, since=change[1] if change else now)
    return replace(finding, since=finding.since or now)


def _status_before(session: Session, kind: str, object_id: int) -> str | None:
    """A WABA's or template's status before the audited change that set its current one."""
    if kind == "waba":
        waba = session.get(Waba, object_id)
        key, status = (waba.meta_waba_id, waba.status) if waba else ("", None)
    else:
        template = session.get(MessageTemplate, object_id)
        key, status = (f"{template.name} ({template.language})", template.status) if template else ("", None)
    change = _last_audited_change(session, kind, key, "status") if status else None
    return change[0] if change and change[1] == status else None


def present_value(session: Session, rule: AlertRule, subject_key: str) -> str | None:
    """What a cleared alert's subject shows now, for the resolved note."""
    kind, _, raw_id = subject_key.partition(":")
    event = AlertEvent(rule.event)
    if kind == "number":
        number = session.get(PhoneNumber, int(raw_id))
        if number is None:
            return None
        field = {AlertEvent.QUALITY_DROP: "quality_rating", AlertEvent.STATUS_AT_RISK: "status"}.get(
            event, "messaging_limit_tier"
        )
        return f"now {getattr(number, field)}"
    if kind == "waba" and event is AlertEvent.WABA_RESTRICTED:
        waba = session.get(Waba, int(raw_id))
        return f"now {waba.status}" if waba else None
    if kind == "template":
        template = session.get(MessageTemplate, int(raw_id))
        return f"now {template.status}" if template else None
    if kind == "portfolio" and event is AlertEvent.LIMIT_LOWERED:
        portfolio = session.get(Portfolio, int(raw_id))
        return f"now {portfolio.messaging_limit}" if portfolio else None
    return None


# --- scope ----------------------------------------------------------------------------------------------


def _in_scope(query: Select, rule: AlertRule) -> Select:  # type: ignore[type-arg]
    """Numbers, WABAs and templates of the rule's workspace or WABA (a query joined to Waba)."""
    if rule.workspace_id is not None:
        query = query.where(Waba.workspace_id == rule.workspace_id)
    if rule.waba_id is not None:
        query = query.where(Waba.id == rule.waba_id)
    return query


def _portfolios_in_scope(rule: AlertRule) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = []
    if rule.workspace_id is not None:
        conditions.append(
            Portfolio.id.in_(
                select(WorkspacePortfolio.portfolio_id).where(WorkspacePortfolio.workspace_id == rule.workspace_id)
            )
        )
    if rule.waba_id is not None:
        conditions.append(Portfolio.id.in_(select(Waba.portfolio_id).where(Waba.id == rule.waba_id)))
    return and_(True, *conditions)


# --- numbers --------------------------------------------------------------------------------------------


def _active_numbers(rule: AlertRule) -> Select:  # type: ignore[type-arg]
    query = (
        select(
            PhoneNumber.id,
            PhoneNumber.e164,
            PhoneNumber.display_name,
            PhoneNumber.quality_rating,
            PhoneNumber.status,
            PhoneNumber.messaging_limit_tier,
            Waba.name.label("waba"),
            Workspace.name.label("workspace"),
        )
        .join(
            SubscriptionGroup,
            and_(SubscriptionGroup.phone_number_id == PhoneNumber.id, SubscriptionGroup.state == "active"),
        )
        .join(Waba, Waba.id == SubscriptionGroup.waba_id)
        .join(Workspace, Workspace.id == Waba.workspace_id)
    )
    return _in_scope(query, rule)


def number_label(e164: str, display_name: str) -> str:
    """'+33 6 12 34 56 78 (Brand)': formatted for new alerts only (parsing a number costs ~50 µs)."""
    shown = format_international(e164)
    return f"{shown} ({display_name})" if display_name else shown


def _number_finding(number: Row[Any], after: str, severity: int) -> Finding:
    return Finding(
        subject_key=f"number:{number.id}",
        subject=number.e164,
        display_name=number.display_name,
        after=after,
        severity=severity,
        e164=number.e164,
        waba=number.waba,
        workspace=number.workspace,
    )


def _numbers_with_bad(field: str, severities: dict[str, int]) -> Callable[[Session, AlertRule], Findings]:
    column = getattr(PhoneNumber, field)

    def find(session: Session, rule: AlertRule) -> Findings:
        rows = session.execute(_active_numbers(rule).where(column.in_(list(severities))))
        found = (_number_finding(row, getattr(row, field), severities[getattr(row, field)]) for row in rows)
        return {f.subject_key: f for f in found}

    return find


def _run_of_bad_values(
    session: Session, number_id: int, field: str, bad: set[str]
) -> tuple[str | None, datetime | None]:
    """The number's value before its current run of bad values, and when that run began."""
    column = getattr(NumberHealthSnapshot, field)
    of_number = NumberHealthSnapshot.phone_number_id == number_id
    last_good = session.execute(
        select(column, NumberHealthSnapshot.recorded_at, NumberHealthSnapshot.id)
        .where(of_number, column.not_in(list(bad)))
        .order_by(NumberHealthSnapshot.recorded_at.desc(), NumberHealthSnapshot.id.desc())
        .limit(1)
    ).first()
    after_good = [of_number]
    if last_good is not None:
        after_good.append(
            or_(
                NumberHealthSnapshot.recorded_at > last_good.recorded_at,
                and_(NumberHealthSnapshot.recorded_at == last_good.recorded_at, NumberHealthSnapshot.id > last_good.id),
            )
        )
    since = session.scalar(
        select(NumberHealthSnapshot.recorded_at)
        .where(*after_good)
        .order_by(NumberHealthSnapshot.recorded_at, NumberHealthSnapshot.id)
        .limit(1)
    )
    return (last_good[0] if last_good is not None else None), since


# --- limits ---------------------------------------------------------------------------------------------

# How much worse a lower limit is: unlimited is 0, the lowest tier the highest.
_LIMIT_SEVERITY_BASE = 10**9


def _limit_severity(tier: str) -> int:
    return _LIMIT_SEVERITY_BASE - (limit_rank(tier) or 0)


def _lowered_limits(session: Session, rule: AlertRule) -> Findings:
    """Numbers whose tier and portfolios whose shared limit went down since the rule last looked, and those still no
    higher than their open alert says. Each rule remembers the limits it saw (alert_baselines), so a change is seen
    once whatever order concurrent writes committed in."""
    current = _current_limits(session, rule)
    seen = dict(
        session.execute(select(AlertBaseline.subject_key, AlertBaseline.value).where(AlertBaseline.rule_id == rule.id))
        .tuples()
        .all()
    )
    still_open = dict(
        session.execute(
            select(Alert.subject_key, Alert.after_value).where(Alert.rule_id == rule.id, Alert.resolved_at.is_(None))
        )
        .tuples()
        .all()
    )
    lowered = {key: seen[key] for key, value in current.items() if key in seen and is_lowered(seen[key], value)}
    kept = {
        key
        for key, after in still_open.items()
        if key in current and key not in lowered and not is_lowered(current[key], after)
    }
    _remember(session, rule, {key: value for key, value in current.items() if seen.get(key) != value})
    findings = _limit_findings(session, rule, lowered.keys() | kept)
    return {key: replace(finding, before=lowered.get(key)) for key, finding in findings.items()}


def remember_limits(session: Session, rule: AlertRule) -> None:
    """What a new limit_lowered rule starts from: today's limits (it alerts on what goes down after)."""
    _remember(session, rule, _current_limits(session, rule))


def _current_limits(session: Session, rule: AlertRule) -> dict[str, str]:
    """Every number's tier and portfolio's shared limit in the rule's scope, by subject."""
    numbers = _in_scope(
        select(PhoneNumber.id, PhoneNumber.messaging_limit_tier)
        .join(
            SubscriptionGroup,
            and_(SubscriptionGroup.phone_number_id == PhoneNumber.id, SubscriptionGroup.state == "active"),
        )
        .join(Waba, Waba.id == SubscriptionGroup.waba_id),
        rule,
    )
    limits = {f"number:{number_id}": tier for number_id, tier in session.execute(numbers)}
    portfolios = select(Portfolio.id, Portfolio.messaging_limit).where(
        _portfolios_in_scope(rule), Portfolio.messaging_limit.is_not(None)
    )
    limits.update({f"portfolio:{portfolio_id}": limit for portfolio_id, limit in session.execute(portfolios)})
    return limits


KINDS = ("number", "portfolio")


def _limit_findings(session: Session, rule: AlertRule, keys: set[str]) -> Findings:
    """The findings of these subjects (numbers and portfolios), with their current limit."""
    ids = {kind: sorted(int(key.partition(":")[2]) for key in keys if key.startswith(f"{kind}:")) for kind in KINDS}
    found: Findings = {}
    for part in _chunks(ids["number"]):
        for number in session.execute(_active_numbers(rule).where(PhoneNumber.id.in_(part))):
            tier = number.messaging_limit_tier
            found[f"number:{number.id}"] = _number_finding(number, tier, _limit_severity(tier))
    for part in _chunks(ids["portfolio"]):
        for portfolio in session.scalars(select(Portfolio).where(Portfolio.id.in_(part))):
            limit = str(portfolio.messaging_limit)
            found[f"portfolio:{portfolio.id}"] = Finding(
                subject_key=f"portfolio:{portfolio.id}",
                subject=f"portfolio {portfolio.name}",
                after=limit,
                severity=_limit_severity(limit),
                since=portfolio.limit_event_time,
            )
    return found


def _remember(session: Session, rule: AlertRule, values: dict[str, str]) -> None:
    if not values:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    rows = [{"rule_id": rule.id, "subject_key": key, "value": value} for key, value in values.items()]
    for start in range(0, len(rows), 1000):
        statement = dialect.insert(AlertBaseline).values(rows[start : start + 1000])
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["rule_id", "subject_key"], set_={"value": statement.excluded.value}
            )
        )


def _last_tier_change(session: Session, number_id: int, tier: str) -> tuple[str, datetime] | None:
    """The tier before the number's current one, and when the current one began."""
    of_number = NumberHealthSnapshot.phone_number_id == number_id
    previous = session.execute(
        select(NumberHealthSnapshot.messaging_limit_tier, NumberHealthSnapshot.recorded_at, NumberHealthSnapshot.id)
        .where(of_number, NumberHealthSnapshot.messaging_limit_tier != tier)
        .order_by(NumberHealthSnapshot.recorded_at.desc(), NumberHealthSnapshot.id.desc())
        .limit(1)
    ).first()
    if previous is None:
        return None
    since = session.scalar(
        select(NumberHealthSnapshot.recorded_at)
        .where(
            of_number,
            or_(
                NumberHealthSnapshot.recorded_at > previous.recorded_at,
                and_(NumberHealthSnapshot.recorded_at == previous.recorded_at, NumberHealthSnapshot.id > previous.id),
            ),
        )
        .order_by(NumberHealthSnapshot.recorded_at, NumberHealthSnapshot.id)
        .limit(1)
    )
    return (previous[0], since) if since is not None else None


def _last_audited_change(
    session: Session, object_type: str, object_key: str, field: str
) -> tuple[str | None, str | None, datetime] | None:
    """The field's values before and after the latest audit entry that changed it."""
    rows = session.execute(
        select(AuditEntry.before, AuditEntry.after, AuditEntry.at)
        .where(
            AuditEntry.object_type == object_type,
            AuditEntry.object_key == object_key,
            AuditEntry.after.like(f'%"{field}"%'),
        )
        .order_by(AuditEntry.id.desc())
        .limit(20)
    )
    for before_json, after_json, at in rows:
        before, after = _json_field(before_json, field), _json_field(after_json, field)
        if before != after:
            return before, after, at
    return None


def _json_field(text: str | None, field: str) -> str | None:
    try:
        values = json.loads(text) if text else {}
    except ValueError:
        return None
    value = values.get(field) if isinstance(values, dict) else None
    return None if value is None else str(value)


# --- WABAs and templates --------------------------------------------------------------------------------


def _restricted_wabas(session: Session, rule: AlertRule) -> Findings:
    query = _in_scope(
        select(Waba, Workspace.name).join(Workspace, Workspace.id == Waba.workspace_id).where(Waba.state == "active"),
        rule,
    ).where(or_(Waba.status.in_(list(WABA_SEVERITY)), and_(Waba.restrictions.is_not(None), Waba.restrictions != "")))
    findings: Findings = {}
    for waba, workspace in session.execute(query):
        restricted = waba.status in WABA_SEVERITY
        if not restricted and waba.restrictions in ("[]", "null"):
            continue
        after = waba.status if restricted else f"RESTRICTED ({_restriction_types(waba.restrictions)})"
        findings[f"waba:{waba.id}"] = Finding(
            subject_key=f"waba:{waba.id}",
            subject=f"WABA {waba.name} ({waba.meta_waba_id})",
            after=after,
            severity=WABA_SEVERITY.get(waba.status, 1),
            waba=waba.name,
            workspace=workspace,
            since=waba.status_event_time,
        )
    return findings


def _restriction_types(restrictions: str | None) -> str:
    try:
        items = json.loads(restrictions or "[]")
    except ValueError:
        return str(restrictions)[:80]
    if isinstance(items, list):
        kinds = [str(item.get("restriction_type", item)) if isinstance(item, dict) else str(item) for item in items]
        return ", ".join(kinds)[:120] or "restricted"
    return str(items)[:80]


def _paused_templates(session: Session, rule: AlertRule) -> Findings:
    query = _in_scope(
        select(MessageTemplate, Waba.name, Workspace.name)
        .join(Waba, Waba.id == MessageTemplate.waba_id)
        .join(Workspace, Workspace.id == Waba.workspace_id)
        .where(MessageTemplate.status.in_(list(TEMPLATE_SEVERITY)), Waba.state == "active"),
        rule,
    )
    findings: Findings = {}
    for template, waba, workspace in session.execute(query):
        findings[f"template:{template.id}"] = Finding(
            subject_key=f"template:{template.id}",
            subject=f"template {template.name} ({template.language})",
            after=template.status,
            severity=TEMPLATE_SEVERITY[template.status],
            waba=waba,
            workspace=workspace,
            since=template.event_time,
        )
    return findings


# --- capacity -------------------------------------------------------------------------------------------


def _active_senders_per_portfolio(session: Session) -> dict[int, int]:
    rows = session.execute(
        select(Waba.portfolio_id, func.count())
        .select_from(SubscriptionGroup)
        .join(Waba, Waba.id == SubscriptionGroup.waba_id)
        .where(SubscriptionGroup.state == "active", Waba.state == "active")
        .group_by(Waba.portfolio_id)
    )
    return dict(rows.all())


def _portfolios_low_on_headroom(session: Session, rule: AlertRule) -> Findings:
    threshold = rule.threshold if rule.threshold is not None else 20.0
    senders = _active_senders_per_portfolio(session)
    findings: Findings = {}
    for portfolio in session.scalars(select(Portfolio).where(_portfolios_in_scope(rule))):
        count = senders.get(portfolio.id, 0)
        headroom = portfolio_headroom_percent(portfolio.messaging_limit, count)
        if headroom is None or count == 0 or headroom >= threshold:
            continue
        findings[f"portfolio:{portfolio.id}"] = Finding(
            subject_key=f"portfolio:{portfolio.id}",
            subject=f"portfolio {portfolio.name}",
            after=f"{headroom:.0f} % headroom ({count} senders on {portfolio.messaging_limit}; below {threshold:g} %)",
            severity=1,
        )
    return findings


def _wabas_low_on_slots(session: Session, rule: AlertRule) -> Findings:
    threshold = rule.threshold if rule.threshold is not None else 2.0
    active = func.count(SubscriptionGroup.id)
    query = _in_scope(
        select(Waba, Workspace.name, active)
        .join(Workspace, Workspace.id == Waba.workspace_id)
        .outerjoin(SubscriptionGroup, and_(SubscriptionGroup.waba_id == Waba.id, SubscriptionGroup.state == "active"))
        .where(Waba.state == "active")
        .group_by(Waba.id, Workspace.name)
        .having(MAX_NUMBERS_PER_WABA - active <= threshold),
        rule,
    )
    findings: Findings = {}
    for waba, workspace, used in session.execute(query):
        free = MAX_NUMBERS_PER_WABA - used
        findings[f"waba:{waba.id}"] = Finding(
            subject_key=f"waba:{waba.id}",
            subject=f"WABA {waba.name} ({waba.meta_waba_id})",
            after=f"{free} free number slots ({used} of {MAX_NUMBERS_PER_WABA} used)",
            severity=1,
            waba=waba.name,
            workspace=workspace,
        )
    return findings


def _workspaces_low_on_slots(session: Session, rule: AlertRule) -> Findings:
    threshold = rule.threshold if rule.threshold is not None else 1.0
    active = func.count(Waba.id)
    query = (
        select(Workspace, active)
        .outerjoin(Waba, and_(Waba.workspace_id == Workspace.id, Waba.state == "active"))
        .group_by(Workspace.id)
        .having(MAX_WABAS_PER_WORKSPACE - active <= threshold)
    )
    if rule.workspace_id is not None:
        query = query.where(Workspace.id == rule.workspace_id)
    if rule.waba_id is not None:
        query = query.where(Workspace.id.in_(select(Waba.workspace_id).where(Waba.id == rule.waba_id)))
    findings: Findings = {}
    for workspace, used in session.execute(query):
        free = MAX_WABAS_PER_WORKSPACE - used
        findings[f"workspace:{workspace.id}"] = Finding(
            subject_key=f"workspace:{workspace.id}",
            subject=f"workspace {workspace.name}",
            after=f"{free} free WABA slots ({used} of {MAX_WABAS_PER_WORKSPACE} used)",
            severity=1,
            workspace=workspace.name,
        )
    return findings


def _chunks(values: list[int], size: int = 500) -> Iterable[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


FINDERS: dict[AlertEvent, Callable[[Session, AlertRule], Findings]] = {
    AlertEvent.QUALITY_DROP: _numbers_with_bad("quality_rating", QUALITY_SEVERITY),
    AlertEvent.STATUS_AT_RISK: _numbers_with_bad("status", STATUS_SEVERITY),
    AlertEvent.LIMIT_LOWERED: _lowered_limits,
    AlertEvent.WABA_RESTRICTED: _restricted_wabas,
    AlertEvent.TEMPLATE_PAUSED: _paused_templates,
    AlertEvent.PORTFOLIO_HEADROOM: _portfolios_low_on_headroom,
    AlertEvent.WABA_SLOTS: _wabas_low_on_slots,
    AlertEvent.WORKSPACE_SLOTS: _workspaces_low_on_slots,
}
