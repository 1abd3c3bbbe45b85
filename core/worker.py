"""`python -m core worker`: drains the webhook inbox, then runs the periodic jobs, until SIGTERM.

Other features plug in here rather than running processes of their own: `AFTER_APPLY` functions run after each
batch that changed the fleet has committed (alerts are evaluated there), `PERIODIC` jobs on their own interval (the
inbox's pruning; a scheduled Graph API sync). A job's failure is logged and does not stop the worker.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType

from sqlalchemy import Engine

from core import inbox
from core.availability import first_line, is_database_unavailable
from core.config import WebhookSettings
from core.db import is_postgresql

IDLE_POLL_SECONDS = 0.25  # an empty inbox is asked again this often: a delivery shows within ~2 s of receipt
PRUNE_EVERY_SECONDS = 3600.0
OUTAGE_RETRY_SECONDS = 5

log = logging.getLogger("fleet.worker")

AfterApply = Callable[[Engine, inbox.BatchResult], None]
AFTER_APPLY: list[AfterApply] = []


@dataclass
class Periodic:
    """A job the worker runs every `every_seconds` (first on its first pass)."""

    name: str
    every_seconds: float
    run: Callable[[Engine, datetime], None]
    last_run: float | None = field(default=None, compare=False)


PERIODIC: list[Periodic] = []


def after_apply(engine: Engine, result: inbox.BatchResult) -> None:
    """Called once after each committed batch that changed the fleet."""
    for hook in AFTER_APPLY:
        _guarded(f"after-apply {getattr(hook, '__name__', hook)}", hook, engine, result)


def _guarded(name: str, job: Callable[..., None], *args: object) -> None:
    try:
        job(*args)
    except Exception:  # one job's failure is logged; the inbox keeps being drained
        log.exception("%s failed", name)


class Worker:
    """One worker process's loop; `stop` ends it after the batch in progress."""

    def __init__(self, engine: Engine, settings: WebhookSettings, *, batch_size: int = inbox.BATCH_SIZE) -> None:
        self.engine = engine
        self.settings = settings
        self.batch_size = batch_size
        self.stopping = threading.Event()
        self.holder = f"{socket.gethostname()}:{os.getpid()}"
        self._waiting_for: str | None = None
        self._renew_lease_at = 0.0
        self._jobs = [
            Periodic("prune the inbox", PRUNE_EVERY_SECONDS, self._prune),
            *PERIODIC,
        ]

    def stop(self, *_: object) -> None:
        self.stopping.set()

    def run(self) -> None:
        log.info("worker %s started (%s)", self.holder, self.engine.dialect.name)
        try:
            while not self.stopping.is_set():
                busy = False
                try:
                    busy = self._pass()
                except Exception as error:  # e.g. the database is unreachable: try again after a pause
                    _log_failed_pass(error)
                    self.stopping.wait(OUTAGE_RETRY_SECONDS)
                if not busy:
                    self.stopping.wait(IDLE_POLL_SECONDS)
        finally:
            if not is_postgresql(self.engine):
                inbox.release_lease(self.engine, self.holder)
            log.info("worker %s stopped", self.holder)

    def _pass(self) -> bool:
        """One pass: the inbox, then the periodic jobs. True when there may be more to do at once."""
        now = datetime.now(UTC)
        if not self._may_drain(now):
            return False
        result = inbox.apply_due(
            self.engine, now=now, max_attempts=self.settings.max_attempts, batch_size=self.batch_size
        )
        if result.handled:
            log.info("applied %d deliveries, %d failed", len(result.applied), len(result.failed))
        if result.wrote:
            after_apply(self.engine, result)
        for job in self._jobs:
            if job.last_run is None or time.monotonic() - job.last_run >= job.every_seconds:
                job.last_run = time.monotonic()
                _guarded(job.name, job.run, self.engine, now)
        return result.handled >= self.batch_size

    def _may_drain(self, now: datetime) -> bool:
        """PostgreSQL: always (workers skip each other's rows). SQLite: only while holding the inbox lease."""
        if is_postgresql(self.engine):
            return True
        if time.monotonic() < self._renew_lease_at:  # held, and renewed a third of its length ago at most
            return True
        other = inbox.hold_lease(self.engine, self.holder, now=now, seconds=self.settings.lease_seconds)
        if other is None:
            self._renew_lease_at = time.monotonic() + self.settings.lease_seconds / 3
            if self._waiting_for is not None:
                log.info("worker %s now holds the inbox lease", self.holder)
            self._waiting_for = None
            return True
        if self._waiting_for is None:
            log.warning(
                "another worker holds the SQLite inbox lease (%s); waiting: one worker at a time on SQLite", other
            )
        self._waiting_for = other
        self.stopping.wait(1.0)
        return False

    def _prune(self, engine: Engine, now: datetime) -> None:
        removed = inbox.prune_applied(engine, now=now, retention_days=self.settings.retention_days)
        if removed:
            log.info("pruned %d deliveries applied over %d days ago", removed, self.settings.retention_days)


def _log_failed_pass(error: Exception) -> None:
    """A database restart or failover is one line a pass (the worker waits it out); anything else a traceback."""
    if is_database_unavailable(error):
        log.warning("database unavailable, retrying in %d s: %s", OUTAGE_RETRY_SECONDS, first_line(error))
    else:
        log.exception("worker pass failed; retrying")


def run_worker(engine: Engine, settings: WebhookSettings) -> None:
    """Run until SIGTERM or SIGINT; the batch in progress commits (or rolls back) before the process ends."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    from core import sync  # the scheduled Graph API sync, when META_SYNC_MINUTES is set
    from core.config import load_sync_settings

    job = sync.schedule(load_sync_settings())
    if job is not None and job not in PERIODIC:
        PERIODIC.append(job)
    from core.alerts import worker_jobs  # alerts evaluated after each batch and by a sweep, delivered after commit

    worker_jobs.register()
    worker = Worker(engine, settings)
    signal.signal(signal.SIGTERM, _stopping(worker))
    signal.signal(signal.SIGINT, _stopping(worker))
    worker.run()


def _stopping(worker: Worker) -> Callable[[int, FrameType | None], None]:
    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: stopping after the current batch", signum)
        worker.stop()

    return handler
