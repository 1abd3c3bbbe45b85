"""The worker's alert jobs: a pass after each batch that changed the fleet, and a periodic sweep that also catches
what a sync or the CLI changed and retries failed deliveries."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import Engine

from core import inbox, worker
from core.alerts import run_pass
from core.config import AlertSettings, load_alert_settings

log = logging.getLogger("fleet.alerts")


def register(settings: AlertSettings | None = None) -> None:
    """Plug the alert jobs into the worker (once per process)."""
    settings = settings or load_alert_settings()
    if any(job.name == "alerts sweep" for job in worker.PERIODIC):
        return

    def after_batch(engine: Engine, result: inbox.BatchResult) -> None:
        _pass(engine, datetime.now(UTC), settings)

    def sweep(engine: Engine, now: datetime) -> None:
        _pass(engine, now, settings)

    worker.AFTER_APPLY.append(after_batch)
    worker.PERIODIC.append(worker.Periodic("alerts sweep", float(settings.sweep_seconds), sweep))


def _pass(engine: Engine, now: datetime, settings: AlertSettings) -> None:
    report = run_pass(engine, now, settings)
    if report.evaluation.opened or report.evaluation.resolved or report.delivery.sent or report.delivery.failed:
        log.info("alerts: %s", report)
