"""The worker's alert jobs: a pass right after each batch that changed the fleet and after each other periodic job
(the Graph API sync), and a sweep that also catches what the CLI changed and retries failed deliveries."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Engine

from core import inbox, worker
from core.alerts import run_pass
from core.config import AlertSettings, load_alert_settings

log = logging.getLogger("fleet.alerts")
SWEEP = "alerts sweep"


def register(settings: AlertSettings | None = None) -> None:
    """Plug the alert jobs into the worker (once per process), after the periodic jobs already scheduled."""
    settings = settings or load_alert_settings()
    if any(job.name == SWEEP for job in worker.PERIODIC):
        return

    def after_batch(engine: Engine, result: inbox.BatchResult) -> None:
        _pass(engine, datetime.now(UTC), settings)

    def sweep(engine: Engine, now: datetime) -> None:
        _pass(engine, now, settings)

    worker.PERIODIC[:] = [dataclasses.replace(job, run=_then_alerts(job.run, settings)) for job in worker.PERIODIC]
    worker.AFTER_APPLY.append(after_batch)
    worker.PERIODIC.append(worker.Periodic(SWEEP, float(settings.sweep_seconds), sweep))


def _then_alerts(
    job: Callable[[Engine, datetime], None], settings: AlertSettings
) -> Callable[[Engine, datetime], None]:
    def run(engine: Engine, now: datetime) -> None:
        try:
            job(engine, now)
        finally:
            _pass(engine, datetime.now(UTC), settings)

    return run


def _pass(engine: Engine, now: datetime, settings: AlertSettings) -> None:
    report = run_pass(engine, now, settings)
    if report.evaluation.opened or report.evaluation.resolved or report.delivery.sent or report.delivery.failed:
        log.info("alerts: %s", report)
