"""Alerts the business sets: rules stored in the database, evaluated after each applied change and by a periodic
sweep, one alert per transition, delivered by e-mail or chat webhook after the evaluation commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from core.alerts.delivery import DeliveryReport, deliver_due
from core.alerts.evaluation import EvaluationReport, evaluate
from core.alerts.manage import acknowledge, add_rule, disable_rule
from core.alerts.reads import alerts_table, failing_targets, open_alert_count, rules_table
from core.alerts.rules import EVENT_DESCRIPTIONS, AlertEvent
from core.config import AlertSettings

__all__ = [
    "EVENT_DESCRIPTIONS",
    "AlertEvent",
    "DeliveryReport",
    "EvaluationReport",
    "PassReport",
    "acknowledge",
    "add_rule",
    "alerts_table",
    "deliver_due",
    "disable_rule",
    "evaluate",
    "failing_targets",
    "open_alert_count",
    "rules_table",
    "run_pass",
]


@dataclass(frozen=True)
class PassReport:
    evaluation: EvaluationReport
    delivery: DeliveryReport

    def __str__(self) -> str:
        return f"{self.evaluation} {self.delivery}"


def run_pass(engine: Engine, now: datetime, settings: AlertSettings) -> PassReport:
    """One pass: evaluate every rule (committed), then deliver what is due."""
    evaluation = evaluate(engine, now, digest_at=settings.digest_at)
    return PassReport(evaluation, deliver_due(engine, now, settings))
