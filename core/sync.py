"""Pull sync from Meta's Graph API: every WABA of the fleet's businesses (or the ones named) is read with its
numbers and templates and written through the listing import (`core.imports`), one transaction per WABA, with its
preview, audit and history. Webhooks only tell of changes; this is how a fleet catches up with what it missed.

A WABA Meta throttles is left alone until Meta's estimate of when calls are allowed again, and the others go on; a
refused token stops the run. Each WABA's outcome is kept in `sync_runs` (a dry run writes nothing at all).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

from core import imports, model, services, worker
from core.config import SyncSettings
from core.db import Portfolio, SyncRun, Waba, Workspace, WorkspacePortfolio, read_session, write_session
from core.errors import FleetError, InvalidInput
from core.graph import GraphClient, GraphError, Throttled, TokenRefused
from core.imports import meta_numbers
from core.imports.report import ImportPlan
from core.model import Actor, Role
from core.wording import count

SYNC_ACTOR = Actor("meta-sync", Role.ADMIN)  # who the worker's scheduled sync acts as, in the audit log
log = logging.getLogger("fleet.sync")

UNCHANGED, UPDATED, PREVIEWED, THROTTLED, WAITING, FAILED = (
    "unchanged",
    "updated",
    "previewed",
    "throttled",
    "waiting",
    "failed",
)


@dataclass(frozen=True)
class SyncRequest:
    """Which businesses and WABAs to read (none named: every portfolio of the fleet), and how."""

    businesses: tuple[str, ...] = ()
    wabas: tuple[str, ...] = ()
    dry_run: bool = False
    create_unknown: bool = False
    workspace: str | None = None  # where --create-unknown puts new WABAs; default: their portfolio's only workspace


@dataclass
class WabaOutcome:
    meta_waba_id: str
    outcome: str
    message: str
    plan: ImportPlan | None = None
    retry_after: datetime | None = None


@dataclass
class SyncReport:
    outcomes: list[WabaOutcome] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # WABAs Meta lists that the fleet does not know, and the like
    highest_usage: int = 0

    @property
    def failed(self) -> bool:
        return any(o.outcome == FAILED for o in self.outcomes)

    def render_text(self, *, dry_run: bool = False) -> str:
        lines = [f"WABA {o.meta_waba_id}: {o.outcome} — {o.message}" for o in self.outcomes]
        lines += self.notices
        for o in self.outcomes:
            if o.plan is not None and (o.plan.writes_anything or o.plan.warnings):
                lines.append(o.plan.render_text(limit=20))
        lines.append(f"Highest Graph API usage reported: {self.highest_usage}%.")
        if dry_run:
            lines.append("Dry run: nothing was written.")
        return "\n".join(lines)


def sync_meta(engine: Engine, actor: Actor, request: SyncRequest, client: GraphClient, *, now: datetime) -> SyncReport:
    """Read Meta's WABAs, numbers and templates and bring the fleet in line; raises only when the token is refused."""
    model.require_role(actor, Role.ADMIN, "sync with Meta")
    report = SyncReport()
    try:
        targets = _targets(engine, actor, request, client, report, now)
        for meta_waba_id in targets:
            report.outcomes.append(_sync_waba(engine, actor, request, client, meta_waba_id, now))
    finally:
        report.highest_usage = client.usage.highest
    return report


def _targets(
    engine: Engine, actor: Actor, request: SyncRequest, client: GraphClient, report: SyncReport, now: datetime
) -> list[str]:
    """The WABAs to read: those named, else every WABA Meta lists for the businesses (unknown ones reported, or
    created when asked), then the fleet's WABAs of those businesses that Meta did not list are reported."""
    if request.wabas and not request.businesses:
        return list(dict.fromkeys(request.wabas))
    businesses = request.businesses or _fleet_businesses(engine)
    known = _fleet_wabas(engine)
    targets: list[str] = []
    for business in businesses:
        try:
            listed = client.business_wabas(business)
        except TokenRefused:
            raise
        except GraphError as error:
            report.notices.append(f"Business {business}: its WABAs could not be listed: {error}")
            continue
        for item in listed:
            meta_id, name = str(item.get("id", "")), str(item.get("name", ""))
            if request.wabas and meta_id not in request.wabas:
                continue
            if meta_id not in known and not _create_unknown(
                engine, actor, request, business, meta_id, name, report, now
            ):
                continue
            targets.append(meta_id)
        listed_ids = {str(item.get("id")) for item in listed}
        for meta_id, portfolio in known.items():
            if portfolio == business and meta_id not in listed_ids and not request.wabas:
                report.notices.append(
                    f"WABA {meta_id} is in the fleet under business {business}, but Meta does not list it."
                )
    return list(dict.fromkeys(targets))


def _create_unknown(
    engine: Engine,
    actor: Actor,
    request: SyncRequest,
    business: str,
    meta_id: str,
    name: str,
    report: SyncReport,
    now: datetime,
) -> bool:
    """Report a WABA Meta lists that the fleet does not know; add it with --create-unknown. True when it now exists."""
    if not request.create_unknown or request.dry_run:
        report.notices.append(
            f"WABA {meta_id} '{name}' of business {business} is not in the fleet"
            + ("" if request.create_unknown else "; --create-unknown adds it.")
            + (" (dry run: not created)" if request.create_unknown else "")
        )
        return False
    try:
        workspace = request.workspace or _only_workspace(engine, business)
        services.add_waba(
            engine,
            actor,
            workspace=workspace,
            portfolio_meta_id=business,
            meta_waba_id=meta_id,
            name=name or meta_id,
            connect_if_needed=True,
            now=now,
        )
    except FleetError as error:
        report.notices.append(f"WABA {meta_id} '{name}' of business {business} could not be added: {error}")
        return False
    report.notices.append(f"WABA {meta_id} '{name}' of business {business} added to workspace '{workspace}'.")
    return True


def _only_workspace(engine: Engine, business: str) -> str:
    with read_session(engine) as session:
        names = session.scalars(
            select(Workspace.name)
            .join(WorkspacePortfolio, WorkspacePortfolio.workspace_id == Workspace.id)
            .join(Portfolio, Portfolio.id == WorkspacePortfolio.portfolio_id)
            .where(Portfolio.meta_business_id == business)
            .order_by(Workspace.name)
        ).all()
    if len(names) != 1:
        where = "no workspace" if not names else count(len(names), "workspace")
        raise InvalidInput(f"business {business} is connected to {where}; name one with --workspace.")
    return names[0]


def _sync_waba(
    engine: Engine, actor: Actor, request: SyncRequest, client: GraphClient, meta_waba_id: str, now: datetime
) -> WabaOutcome:
    started = datetime.now(UTC)
    waiting = _retry_after(engine, meta_waba_id)
    if waiting is not None and waiting > now:
        return WabaOutcome(meta_waba_id, WAITING, f"Meta throttled it; not called before {waiting.isoformat()}.")
    try:
        document = {
            "id": meta_waba_id,
            "phone_numbers": {"data": client.phone_numbers(meta_waba_id)},
            "message_templates": {"data": client.message_templates(meta_waba_id)},
        }
    except TokenRefused:
        raise
    except Throttled as error:
        outcome = WabaOutcome(meta_waba_id, THROTTLED, str(error), retry_after=now + error.regain)
    except GraphError as error:
        outcome = WabaOutcome(meta_waba_id, FAILED, f"{error} Nothing was written.")
    else:
        outcome = _import(engine, actor, request, meta_waba_id, document, now)
    if not request.dry_run:
        _record(engine, outcome, started, datetime.now(UTC))
    return outcome


def _import(
    engine: Engine, actor: Actor, request: SyncRequest, meta_waba_id: str, document: dict[str, Any], now: datetime
) -> WabaOutcome:
    data = json.dumps(document, ensure_ascii=False).encode()
    import_request = imports.ImportRequest(
        kind=meta_numbers.KIND, data=data, source=f"Graph API sync of WABA {meta_waba_id}"
    )
    try:
        if request.dry_run:
            plan = imports.plan_import(engine, actor, import_request, max_bytes=len(data), now=now)
            if plan.errors:
                return WabaOutcome(meta_waba_id, FAILED, plan.describe(), plan)
            return WabaOutcome(meta_waba_id, PREVIEWED, plan.describe(), plan)
        result = imports.run_import(engine, actor, import_request, max_bytes=len(data), now=now)
    except FleetError as error:
        return WabaOutcome(meta_waba_id, FAILED, str(error).splitlines()[0] + " " + _problems(error))
    return WabaOutcome(meta_waba_id, UPDATED if result.written else UNCHANGED, result.message, result.plan)


def _problems(error: FleetError) -> str:
    problems = getattr(error, "problems", ())
    return "; ".join(str(p) for p in problems[:5])


def _record(engine: Engine, outcome: WabaOutcome, started: datetime, finished: datetime) -> None:
    summary = outcome.plan.summary() if outcome.plan is not None and outcome.outcome == UPDATED else None
    with write_session(engine) as session:
        session.add(
            SyncRun(
                meta_waba_id=outcome.meta_waba_id,
                started_at=started,
                finished_at=finished,
                outcome=outcome.outcome,
                changes=json.dumps(summary, sort_keys=True) if summary else None,
                error=None if outcome.outcome in (UPDATED, UNCHANGED) else outcome.message,
                retry_after=outcome.retry_after,
            )
        )


def _retry_after(engine: Engine, meta_waba_id: str) -> datetime | None:
    """When the last throttled run said Meta may be called again for this WABA (None: no wait)."""
    with read_session(engine) as session:
        row = session.execute(
            select(SyncRun.outcome, SyncRun.retry_after)
            .where(SyncRun.meta_waba_id == meta_waba_id, SyncRun.outcome != WAITING)
            .order_by(SyncRun.started_at.desc(), SyncRun.id.desc())
            .limit(1)
        ).first()
    return row.retry_after if row is not None and row.outcome == THROTTLED else None


def _fleet_businesses(engine: Engine) -> tuple[str, ...]:
    with read_session(engine) as session:
        return tuple(session.scalars(select(Portfolio.meta_business_id).order_by(Portfolio.meta_business_id)))


def _fleet_wabas(engine: Engine) -> dict[str, str]:
    """{Meta WABA id: Meta business id} of every active WABA."""
    with read_session(engine) as session:
        rows = session.execute(
            select(Waba.meta_waba_id, Portfolio.meta_business_id)
            .join(Portfolio, Portfolio.id == Waba.portfolio_id)
            .where(Waba.state == "active")
        )
        return {str(meta_id): str(business) for meta_id, business in rows}


def schedule(settings: SyncSettings) -> worker.Periodic | None:
    """The worker's job syncing every WABA every `META_SYNC_MINUTES` (None when that is 0 or there is no token)."""
    if settings.every_minutes <= 0:
        return None
    if not settings.access_token:
        log.warning(
            "META_SYNC_MINUTES is %d but META_ACCESS_TOKEN is not set: no scheduled sync", settings.every_minutes
        )
        return None

    def run(engine: Engine, now: datetime) -> None:
        with GraphClient(settings.access_token, settings.graph_url) as client:
            report = sync_meta(engine, SYNC_ACTOR, SyncRequest(), client, now=now)
        for line in report.render_text().splitlines()[: len(report.outcomes) + len(report.notices)]:
            log.info("sync: %s", line)

    return worker.Periodic("sync with Meta's Graph API", settings.every_minutes * 60.0, run)
