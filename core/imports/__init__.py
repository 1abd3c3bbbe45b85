"""Keep the fleet in sync with Meta: Graph API phone-number listings, webhook payloads, and CSV bulk onboarding.

Every import runs the same steps, for the CLI and the Import page alike:
1. the file's size is checked against FLEET_MAX_IMPORT_BYTES before it is read;
2. the whole file is parsed and checked (every problem named by line, row or field);
3. it is compared with the fleet into an `ImportPlan` (what would be created or changed, before → after; what is
   skipped and why; warnings; errors) — `plan_import` stops here (a dry run, nothing written);
4. `run_import` computes the plan again inside one write transaction (under the same locks as the services) and
   writes it, with an audit entry for the import and for each object, and a history snapshot for every health
   change; if anything is wrong, nothing is written.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from core import model
from core.config import load_settings
from core.contention import retried_on_conflict
from core.db import leave_fleet_unchanged, read_session, write_session
from core.errors import InvalidInput
from core.imports import csv_onboarding, meta_numbers, webhooks
from core.imports.apply import apply_plan
from core.imports.reading import check_size, decode
from core.imports.report import ImportPlan, ImportRejected, ImportResult, Notice, Problem
from core.model import Actor, Role

__all__ = [
    "KINDS",
    "ImportPlan",
    "ImportRejected",
    "ImportRequest",
    "ImportResult",
    "Notice",
    "Problem",
    "Progress",
    "import_within",
    "plan_import",
    "run_import",
]

KINDS = {
    meta_numbers.KIND: "Graph API phone-number listing",
    webhooks.KIND: "Webhook payloads (JSON or JSON Lines)",
    csv_onboarding.KIND: "CSV bulk onboarding",
}
Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class ImportRequest:
    """What to import: the file's bytes, its kind, and the options of that kind."""

    kind: str
    data: bytes
    source: str = "upload"
    waba: str | None = None  # meta-numbers: the WABA of a single listing
    group_prefix: str | None = None  # meta-numbers: names of new subscription groups


def plan_import(
    engine: Engine,
    actor: Actor,
    request: ImportRequest,
    *,
    max_bytes: int | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> ImportPlan:
    """Dry run: what the import would do, problems included; writes nothing."""
    model.require_role(actor, Role.ADMIN, "import data")
    now = now or datetime.now(UTC)
    with _many_objects():
        parsed = _parse(request, max_bytes, progress)
        _report(progress, "Comparing with the fleet", 0.5)
        with read_session(engine) as session:
            plan = _plan(session, request, parsed, now=now, lock=False)
    _report(progress, "Plan ready", 1.0)
    return plan


def run_import(
    engine: Engine,
    actor: Actor,
    request: ImportRequest,
    *,
    expected: str | None = None,
    max_bytes: int | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> ImportResult:
    """Import in one transaction; raises ImportRejected (nothing written) when the plan has any error.

    `expected` is the fingerprint of a plan shown earlier: if the fleet changed since, nothing is written and the
    user is asked to look at the new plan.
    """
    model.require_role(actor, Role.ADMIN, "import data")
    now = now or datetime.now(UTC)
    with _many_objects():
        return _run(engine, actor, request, expected=expected, max_bytes=max_bytes, now=now, progress=progress)


@retried_on_conflict
def _run(
    engine: Engine,
    actor: Actor,
    request: ImportRequest,
    *,
    expected: str | None,
    max_bytes: int | None,
    now: datetime,
    progress: Progress | None,
) -> ImportResult:
    parsed = _parse(request, max_bytes, progress)
    _report(progress, "Comparing with the fleet", 0.4)
    with write_session(engine, actor) as session:
        plan = _plan(session, request, parsed, now=now, lock=True)
        if plan.errors:
            raise ImportRejected(plan.errors, source=request.source)
        if expected is not None and plan.fingerprint() != expected:
            raise InvalidInput(
                "The fleet changed since this import was previewed; nothing was written. Preview it again."
            )
        if plan.writes_anything:
            _report(progress, "Writing", 0.7)
            apply_plan(session, actor, plan, now=now)
        else:
            leave_fleet_unchanged(session)
    _report(progress, "Done", 1.0)
    return ImportResult(plan=plan, written=plan.writes_anything)


def import_within(session: Session, actor: Actor, request: ImportRequest, *, now: datetime) -> ImportPlan:
    """Plan and write an import inside the caller's unit of work (the webhook worker's, which marks its deliveries
    applied in the same transaction); raises ImportRejected when the plan has any error."""
    model.require_role(actor, Role.ADMIN, "import data")
    with _many_objects():
        plan = _plan(session, request, _parse(request, len(request.data), None), now=now, lock=True)
        if plan.errors:
            raise ImportRejected(plan.errors, source=request.source)
        if plan.writes_anything:
            apply_plan(session, actor, plan, now=now)
        else:
            leave_fleet_unchanged(session)
    return plan


Parsed = meta_numbers.Listing | webhooks.Stream | csv_onboarding.Sheet


def _parse(request: ImportRequest, max_bytes: int | None, progress: Progress | None) -> Parsed:
    if request.kind not in KINDS:
        raise InvalidInput(f"Unknown import kind '{request.kind}' (expected one of: {', '.join(KINDS)}).")
    check_size(len(request.data), load_settings().max_import_bytes if max_bytes is None else max_bytes, request.source)
    _report(progress, f"Reading {len(request.data):,} bytes", 0.1)
    text, problems = decode(request.data)
    parsed: Parsed
    if request.kind == meta_numbers.KIND:
        parsed = meta_numbers.parse_listing(text, request.waba) if not problems else meta_numbers.Listing()
    elif request.kind == webhooks.KIND:
        parsed = webhooks.parse_stream(text) if not problems else webhooks.Stream()
    else:
        parsed = csv_onboarding.parse_sheet(text) if not problems else csv_onboarding.Sheet()
    parsed.errors[:0] = problems
    return parsed


def _plan(session: Session, request: ImportRequest, parsed: Parsed, *, now: datetime, lock: bool) -> ImportPlan:
    plan = ImportPlan(kind=request.kind, source=request.source)
    if isinstance(parsed, meta_numbers.Listing):
        meta_numbers.plan_listing(session, plan, parsed, group_prefix=request.group_prefix, now=now, lock=lock)
    elif isinstance(parsed, webhooks.Stream):
        webhooks.plan_stream(session, plan, parsed, now=now, lock=lock)
    else:
        csv_onboarding.plan_sheet(session, plan, parsed, now=now, lock=lock)
    return plan


@contextmanager
def _many_objects() -> Iterator[None]:
    """Pause the cyclic garbage collector while an import builds its objects: a 10,000-number file makes some
    200,000 short-lived objects (none in cycles), and each full collection would rescan all of them."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _report(progress: Progress | None, stage: str, fraction: float) -> None:
    if progress is not None:
        progress(stage, fraction)
