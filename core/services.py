"""Use cases that write: each takes the acting user, checks the role, applies the rules, writes the audit entry,
and commits as one transaction (nothing is written if anything fails)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from core import chains, health_history, model
from core.config import Settings
from core.contention import lock_workspaces_then_wabas, retried_on_conflict
from core.db import (
    MessageTemplate,
    NumberHealthSnapshot,
    PhoneNumber,
    Portfolio,
    SubscriptionGroup,
    User,
    Waba,
    Workspace,
    WorkspacePortfolio,
    read_session,
    write_session,
)
from core.errors import DuplicateName, InvalidInput, NotFound
from core.model import Actor, GroupState, Role, WabaState

HEALTH_FIELDS = ("quality_rating", "messaging_limit_tier", "status")
MAX_LANGUAGE_LENGTH = 20  # the width of message_templates.language ('pt_BR', 'zh_HK'…)


def utcnow() -> datetime:
    return datetime.now(UTC)


# --- results -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NumberAdded:
    e164: str
    group_name: str
    waba_name: str
    reattached: bool


@dataclass(frozen=True)
class GroupArchived:
    e164: str
    group_name: str
    waba_name: str

    @property
    def next_step(self) -> str:
        return (
            f"Subscription group '{self.group_name}' is archived. Next step: delete "
            f"{model.format_international(self.e164)} "
            f"from WhatsApp Business Account '{self.waba_name}' in Meta Business Manager."
        )


# --- shared steps ---------------------------------------------------------------------------------------


def record_audit(
    session: Session,
    actor: Actor,
    action: str,
    object_type: str,
    object_key: str,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    now: datetime,
) -> None:
    """An audit entry, appended to the audit chain when the unit of work commits (core.chains)."""
    chains.defer_audit(
        session,
        [
            {
                "at": now,
                "actor": _fit(actor.name, model.MAX_NAME_LENGTH),
                "action": action,
                "object_type": object_type,
                # A key built from names ('workspace ↔ portfolio') may outgrow its column; the values stay whole in
                # `after`.
                "object_key": _fit(object_key, model.MAX_NAME_LENGTH),
                "before": audit_json(before),
                "after": audit_json(after),
            }
        ],
    )


def _fit(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


_AUDIT_JSON = json.JSONEncoder(default=str, ensure_ascii=False, sort_keys=True)


def audit_json(values: dict[str, Any] | None) -> str | None:
    """An audit entry's before/after values as stored: JSON with sorted keys, times and the like as text."""
    return None if values is None else _AUDIT_JSON.encode(values)


def record_health_snapshot(session: Session, number: PhoneNumber, *, now: datetime, source: str) -> None:
    health_history.record_snapshot(
        session,
        NumberHealthSnapshot(
            phone_number_id=number.id,
            recorded_at=now,
            quality_rating=number.quality_rating,
            messaging_limit_tier=number.messaging_limit_tier,
            status=number.status,
            source=source,
        ),
    )


def get_workspace(session: Session, name: str, *, lock: bool = False) -> Workspace:
    query = select(Workspace).where(Workspace.name == name.strip())
    workspace = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if workspace is None:
        raise NotFound(f"Workspace '{name}' does not exist.")
    return workspace


def get_portfolio(session: Session, meta_business_id: str) -> Portfolio:
    portfolio = session.scalars(
        select(Portfolio).where(Portfolio.meta_business_id == str(meta_business_id).strip())
    ).one_or_none()
    if portfolio is None:
        raise NotFound(f"Business portfolio with Meta id '{meta_business_id}' does not exist.")
    return portfolio


def get_waba(session: Session, meta_waba_id: str, *, lock: bool = False) -> Waba:
    """A WABA by Meta id; `lock` locks its workspace first, then the WABA (the order of `core.contention`)."""
    if lock:
        lock_workspaces_then_wabas(session, meta_waba_ids=[str(meta_waba_id).strip()])
    query = select(Waba).where(Waba.meta_waba_id == str(meta_waba_id).strip())
    waba = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if waba is None:
        raise NotFound(f"WhatsApp Business Account with Meta id '{meta_waba_id}' does not exist.")
    return waba


def find_number(session: Session, e164: str) -> PhoneNumber | None:
    return session.scalars(select(PhoneNumber).where(PhoneNumber.e164 == e164)).one_or_none()


def active_group_of(session: Session, number_id: int, *, lock: bool = False) -> SubscriptionGroup | None:
    query = select(SubscriptionGroup).where(
        SubscriptionGroup.phone_number_id == number_id,
        SubscriptionGroup.state == GroupState.ACTIVE.value,
    )
    return session.scalars(query.with_for_update() if lock else query).one_or_none()


def latest_group_of(session: Session, number_id: int) -> SubscriptionGroup | None:
    return session.scalars(
        select(SubscriptionGroup)
        .where(SubscriptionGroup.phone_number_id == number_id)
        .order_by(SubscriptionGroup.created_at.desc(), SubscriptionGroup.id.desc())
        .limit(1)
    ).one_or_none()


def count_active_wabas(session: Session, workspace_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Waba)
            .where(Waba.workspace_id == workspace_id, Waba.state == WabaState.ACTIVE.value)
        )
        or 0
    )


def count_active_groups(session: Session, waba_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(SubscriptionGroup)
            .where(
                SubscriptionGroup.waba_id == waba_id,
                SubscriptionGroup.state == GroupState.ACTIVE.value,
            )
        )
        or 0
    )


def is_connected(session: Session, workspace_id: int, portfolio_id: int) -> bool:
    return session.get(WorkspacePortfolio, (workspace_id, portfolio_id)) is not None


def ensure_group_name_free(session: Session, workspace: Workspace, group_name: str) -> None:
    taken = session.scalar(
        select(func.count())
        .select_from(SubscriptionGroup)
        .where(
            SubscriptionGroup.workspace_id == workspace.id,
            SubscriptionGroup.name == group_name,
            SubscriptionGroup.state == GroupState.ACTIVE.value,
        )
    )
    if taken:
        raise DuplicateName(
            f"Workspace '{workspace.name}' already has an active subscription group named '{group_name}'."
        )


# --- workspaces, portfolios, WABAs --------------------------------------------------------------------


@retried_on_conflict
def add_workspace(engine: Engine, actor: Actor, name: str, *, now: datetime | None = None) -> str:
    """Create a workspace; returns its name."""
    model.require_role(actor, Role.ADMIN, "add a workspace")
    name = model.clean_name("workspace name", name)
    now = now or utcnow()
    with write_session(engine, actor) as session:
        if session.scalar(select(Workspace.id).where(Workspace.name == name)) is not None:
            raise DuplicateName(f"Workspace '{name}' already exists.")
        session.add(Workspace(name=name, created_at=now))
        record_audit(session, actor, "add", "workspace", name, after={"name": name}, now=now)
    return name


@retried_on_conflict
def add_portfolio(
    engine: Engine,
    actor: Actor,
    *,
    meta_business_id: str,
    name: str,
    messaging_limit: str | None = None,
    now: datetime | None = None,
) -> str:
    """Register a Meta business portfolio; returns its Meta business id."""
    model.require_role(actor, Role.ADMIN, "add a business portfolio")
    meta_business_id = model.clean_meta_id("Meta business id", meta_business_id)
    name = model.clean_name("portfolio name", name)
    limit = (
        model.clean_choice("messaging limit", messaging_limit, model.MessagingLimitTier) if messaging_limit else None
    )
    now = now or utcnow()
    with write_session(engine, actor) as session:
        if session.scalar(select(Portfolio.id).where(Portfolio.meta_business_id == meta_business_id)) is not None:
            raise DuplicateName(f"Business portfolio with Meta id '{meta_business_id}' already exists.")
        session.add(
            Portfolio(
                meta_business_id=meta_business_id,
                name=name,
                messaging_limit=limit,
                created_at=now,
            )
        )
        after = {
            "meta_business_id": meta_business_id,
            "name": name,
            "messaging_limit": limit,
        }
        record_audit(session, actor, "add", "portfolio", meta_business_id, after=after, now=now)
    return meta_business_id


@retried_on_conflict
def connect_portfolio(
    engine: Engine,
    actor: Actor,
    *,
    workspace: str,
    portfolio_meta_id: str,
    now: datetime | None = None,
) -> bool:
    """Connect a portfolio to a workspace; returns False when it already was."""
    model.require_role(actor, Role.ADMIN, "connect a business portfolio")
    now = now or utcnow()
    with write_session(engine, actor) as session:
        return _connect(
            session,
            actor,
            get_workspace(session, workspace, lock=True),  # concurrent connects of one workspace take turns
            get_portfolio(session, portfolio_meta_id),
            now,
        )


def _connect(
    session: Session,
    actor: Actor,
    workspace: Workspace,
    portfolio: Portfolio,
    now: datetime,
) -> bool:
    if is_connected(session, workspace.id, portfolio.id):
        return False
    session.add(WorkspacePortfolio(workspace_id=workspace.id, portfolio_id=portfolio.id, connected_at=now))
    key = f"{workspace.name} ↔ {portfolio.meta_business_id}"
    record_audit(
        session,
        actor,
        "connect",
        "portfolio",
        key,
        after={"workspace": workspace.name, "portfolio": portfolio.name},
        now=now,
    )
    return True


@retried_on_conflict
def add_waba(
    engine: Engine,
    actor: Actor,
    *,
    workspace: str,
    portfolio_meta_id: str,
    meta_waba_id: str,
    name: str,
    connect_if_needed: bool = False,
    now: datetime | None = None,
) -> str:
    """Attach a WhatsApp Business Account to a workspace (at most 10 per workspace); returns its Meta id."""
    model.require_role(actor, Role.ADMIN, "add a WhatsApp Business Account")
    meta_waba_id = model.clean_meta_id("Meta WABA id", meta_waba_id)
    name = model.clean_name("WABA name", name)
    now = now or utcnow()
    with write_session(engine, actor) as session:
        ws = get_workspace(session, workspace, lock=True)
        portfolio = get_portfolio(session, portfolio_meta_id)
        if session.scalar(select(Waba.id).where(Waba.meta_waba_id == meta_waba_id)) is not None:
            raise DuplicateName(f"WhatsApp Business Account with Meta id '{meta_waba_id}' already exists.")
        model.ensure_can_add_waba(ws.name, count_active_wabas(session, ws.id))
        if connect_if_needed:
            _connect(session, actor, ws, portfolio, now)
        model.ensure_portfolio_connected(ws.name, portfolio.name, is_connected(session, ws.id, portfolio.id))
        session.add(
            Waba(
                meta_waba_id=meta_waba_id,
                name=name,
                portfolio_id=portfolio.id,
                workspace_id=ws.id,
                created_at=now,
            )
        )
        after = {
            "meta_waba_id": meta_waba_id,
            "name": name,
            "workspace": ws.name,
            "portfolio": portfolio.meta_business_id,
        }
        record_audit(session, actor, "add", "waba", meta_waba_id, after=after, now=now)
    return meta_waba_id


@retried_on_conflict
def archive_waba(engine: Engine, actor: Actor, meta_waba_id: str, *, now: datetime | None = None) -> str:
    """Archive a WABA that has no active subscription group left; it no longer counts toward the 10."""
    model.require_role(actor, Role.ADMIN, "archive a WhatsApp Business Account")
    now = now or utcnow()
    with write_session(engine, actor) as session:
        waba = get_waba(session, meta_waba_id, lock=True)
        model.ensure_not_archived(
            "WhatsApp Business Account",
            waba.name,
            waba.state == WabaState.ARCHIVED.value,
        )
        active = count_active_groups(session, waba.id)
        if active:
            raise InvalidInput(
                f"WhatsApp Business Account '{waba.name}' still has {active} active subscription groups; "
                "archive them first."
            )
        waba.state, waba.archived_at = WabaState.ARCHIVED.value, now
        record_audit(
            session,
            actor,
            "archive",
            "waba",
            waba.meta_waba_id,
            before={"state": "active"},
            after={"state": "archived"},
            now=now,
        )
    return waba.meta_waba_id


# --- numbers and subscription groups ---------------------------------------------------------------------


@retried_on_conflict
def add_number(
    engine: Engine,
    actor: Actor,
    *,
    meta_waba_id: str,
    group_name: str,
    phone: str,
    display_name: str = "",
    region: str | None = None,
    meta_phone_number_id: str | None = None,
    now: datetime | None = None,
) -> NumberAdded:
    """'Add Subscription Group and Number': a number new to the whole system, in a new group of a WABA."""
    model.require_role(actor, Role.ADMIN, "add a phone number")
    e164 = model.normalize_phone_number(phone, region)
    group_name = model.clean_name("subscription group name", group_name)
    display_name = model.clean_name("display name", display_name, required=False)
    meta_id = model.clean_meta_id("Meta phone-number id", meta_phone_number_id) if meta_phone_number_id else None
    now = now or utcnow()
    with write_session(engine, actor) as session:
        waba = _lock_active_waba(session, meta_waba_id)
        existing = find_number(session, e164)
        if existing is not None:
            group = active_group_of(session, existing.id) or latest_group_of(session, existing.id)
            model.ensure_number_is_new(
                e164,
                group.name if group else "(none)",
                bool(group and group.state == "active"),
            )
        model.ensure_can_add_number(waba.name, count_active_groups(session, waba.id))
        number = PhoneNumber(
            e164=e164,
            meta_phone_number_id=meta_id,
            display_name=display_name,
            created_at=now,
            updated_at=now,
        )
        session.add(number)
        session.flush()
        record_health_snapshot(session, number, now=now, source="added")
        _open_group(session, actor, waba, number, group_name, now)
        record_audit(
            session,
            actor,
            "add",
            "phone_number",
            e164,
            after={"display_name": display_name, "waba": waba.meta_waba_id},
            now=now,
        )
        return NumberAdded(e164=e164, group_name=group_name, waba_name=waba.name, reattached=False)


@retried_on_conflict
def reattach_number(
    engine: Engine,
    actor: Actor,
    *,
    phone: str,
    meta_waba_id: str,
    group_name: str,
    region: str | None = None,
    now: datetime | None = None,
) -> NumberAdded:
    """Bind a number whose group was archived to a new group (same number, same history)."""
    model.require_role(actor, Role.ADMIN, "re-attach a phone number")
    e164 = model.normalize_phone_number(phone, region, strict=False)
    group_name = model.clean_name("subscription group name", group_name)
    now = now or utcnow()
    with write_session(engine, actor) as session:
        waba = _lock_active_waba(session, meta_waba_id)
        number = find_number(session, e164)
        if number is None:
            raise NotFound(f"Phone number {model.format_international(e164)} is not in the system; add it instead.")
        active = active_group_of(session, number.id)
        model.ensure_number_unbound(e164, active.name if active else None)
        model.ensure_can_add_number(waba.name, count_active_groups(session, waba.id))
        _open_group(session, actor, waba, number, group_name, now, before=_previous_binding(session, number.id))
        return NumberAdded(e164=e164, group_name=group_name, waba_name=waba.name, reattached=True)


def _previous_binding(session: Session, number_id: int) -> dict[str, Any] | None:
    """Where a number being re-attached was last bound, for the audit entry."""
    group = latest_group_of(session, number_id)
    if group is None:
        return None
    waba = session.get_one(Waba, group.waba_id)
    return {
        "group": group.name,
        "waba": waba.meta_waba_id,
        "workspace": session.get_one(Workspace, group.workspace_id).name,
        "archived_at": group.archived_at.isoformat() if group.archived_at else None,
    }


def _lock_active_waba(session: Session, meta_waba_id: str) -> Waba:
    waba = get_waba(session, meta_waba_id, lock=True)
    if waba.state != WabaState.ACTIVE.value:
        raise InvalidInput(f"WhatsApp Business Account '{waba.name}' is archived; numbers cannot be added to it.")
    return waba


def _open_group(
    session: Session,
    actor: Actor,
    waba: Waba,
    number: PhoneNumber,
    group_name: str,
    now: datetime,
    *,
    before: dict[str, Any] | None = None,
) -> None:
    workspace = session.get_one(Workspace, waba.workspace_id)
    ensure_group_name_free(session, workspace, group_name)
    session.add(
        SubscriptionGroup(
            name=group_name,
            workspace_id=waba.workspace_id,
            waba_id=waba.id,
            phone_number_id=number.id,
            created_at=now,
        )
    )
    after = {
        "group": group_name,
        "phone": number.e164,
        "waba": waba.meta_waba_id,
        "workspace": workspace.name,
    }
    record_audit(session, actor, "bind", "subscription_group", group_name, before=before, after=after, now=now)


@retried_on_conflict
def archive_group(
    engine: Engine,
    actor: Actor,
    *,
    phone: str,
    region: str | None = None,
    now: datetime | None = None,
) -> GroupArchived:
    """Step one of removing a number: archive its active subscription group (step two happens in Meta)."""
    model.require_role(actor, Role.ADMIN, "archive a subscription group")
    e164 = model.normalize_phone_number(phone, region, strict=False)
    now = now or utcnow()
    with write_session(engine, actor) as session:
        number = find_number(session, e164)
        if number is None:
            raise NotFound(f"Phone number {model.format_international(e164)} is not in the system.")
        # Locked: a concurrent archive waits, then finds the group archived (PostgreSQL re-checks the WHERE).
        group = active_group_of(session, number.id, lock=True)
        if group is None:
            raise NotFound(
                f"Phone number {model.format_international(e164)} has no active subscription group to archive."
            )
        waba = session.get_one(Waba, group.waba_id)
        group.state, group.archived_at = GroupState.ARCHIVED.value, now
        before = {"group": group.name, "state": "active"}
        record_audit(
            session,
            actor,
            "archive",
            "subscription_group",
            group.name,
            before=before,
            after={"group": group.name, "state": "archived", "phone": e164},
            now=now,
        )
        return GroupArchived(e164=e164, group_name=group.name, waba_name=waba.name)


@retried_on_conflict
def update_number_health(
    engine: Engine,
    actor: Actor,
    *,
    phone: str,
    changes: dict[str, str],
    now: datetime | None = None,
    source: str = "manual",
) -> bool:
    """Set reported health fields of a number; a snapshot is kept whenever quality, tier or status changes."""
    model.require_role(actor, Role.ADMIN, "update a phone number")
    allowed = {
        "quality_rating",
        "messaging_limit_tier",
        "status",
        "name_status",
        "throughput_level",
        "display_name",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInput(f"Unknown phone-number field(s): {', '.join(sorted(unknown))}.")
    changes = {field: _read_number_field(field, value) for field, value in changes.items()}
    e164 = model.normalize_phone_number(phone, strict=False)
    now = now or utcnow()
    with write_session(engine, actor) as session:
        number = find_number(session, e164)
        if number is None:
            raise NotFound(f"Phone number {model.format_international(e164)} is not in the system.")
        return apply_number_changes(session, actor, number, changes, now=now, source=source)


def _read_number_field(field: str, value: object) -> str:
    """Health values are read as Meta reports them (unknown ones kept); a display name is cleaned like any name."""
    if field == "display_name":
        return model.clean_name("display name", value, required=False)
    return model.read_enum(field, value, model.NUMBER_ENUMS[field]).value


def apply_number_changes(
    session: Session,
    actor: Actor,
    number: PhoneNumber,
    changes: dict[str, str],
    *,
    now: datetime,
    source: str,
) -> bool:
    """Apply field changes inside an open unit of work, with audit entry and health snapshot.

    Returns True when anything changed.
    """
    before = {field: getattr(number, field) for field in changes if getattr(number, field) != changes[field]}
    if not before:
        return False
    for field in before:
        setattr(number, field, changes[field])
    number.updated_at = now
    if any(field in HEALTH_FIELDS for field in before):
        record_health_snapshot(session, number, now=now, source=source)
    after = {field: changes[field] for field in before}
    record_audit(
        session,
        actor,
        "update",
        "phone_number",
        number.e164,
        before=before,
        after=after,
        now=now,
    )
    return True


# --- templates and users ---------------------------------------------------------------------------------


@retried_on_conflict
def add_template(
    engine: Engine,
    actor: Actor,
    *,
    meta_waba_id: str,
    name: str,
    language: str,
    category: str = "MARKETING",
    status: str = "PENDING",
    quality_score: str = "UNKNOWN",
    now: datetime | None = None,
) -> str:
    """Register a message template on a WABA (shared by all its numbers)."""
    model.require_role(actor, Role.ADMIN, "add a message template")
    name = model.clean_name("template name", name)
    language = model.clean_name("template language", language, max_length=MAX_LANGUAGE_LENGTH)
    category = model.read_enum("category", category, model.TemplateCategory).value
    status = model.read_enum("status", status, model.TemplateStatus).value
    quality_score = model.read_enum("quality score", quality_score, model.QualityRating).value
    now = now or utcnow()
    with write_session(engine, actor) as session:
        waba = get_waba(session, meta_waba_id)
        exists = session.scalar(
            select(MessageTemplate.id).where(
                MessageTemplate.waba_id == waba.id,
                MessageTemplate.name == name,
                MessageTemplate.language == language,
            )
        )
        if exists is not None:
            raise DuplicateName(f"WhatsApp Business Account '{waba.name}' already has template '{name}' ({language}).")
        session.add(
            MessageTemplate(
                waba_id=waba.id,
                name=name,
                language=language,
                category=category,
                status=status,
                quality_score=quality_score,
                updated_at=now,
            )
        )
        after = {
            "waba": waba.meta_waba_id,
            "name": name,
            "language": language,
            "category": category,
            "status": status,
        }
        record_audit(
            session,
            actor,
            "add",
            "template",
            f"{name} ({language})",
            after=after,
            now=now,
        )
    return name


@retried_on_conflict
def set_user_role(engine: Engine, actor: Actor, *, name: str, role: str, now: datetime | None = None) -> None:
    """Give a signed-in user (by e-mail or name) a role."""
    model.require_role(actor, Role.ADMIN, "manage users")
    name = model.clean_name("user name", name)
    new_role = Role.parse(role)
    now = now or utcnow()
    with write_session(engine, actor) as session:
        user = session.scalars(select(User).where(User.name == name)).one_or_none()
        before = {"role": user.role} if user else None
        if user is None:
            session.add(User(name=name, role=new_role.label, created_at=now))
        else:
            user.role = new_role.label
        record_audit(
            session,
            actor,
            "set_role",
            "user",
            name,
            before=before,
            after={"role": new_role.label},
            now=now,
        )


def resolve_actor(engine: Engine, name: str, *, default_role: Role = Role.VIEWER) -> Actor:
    """The acting user: their role from the users table, else `default_role`."""
    with read_session(engine) as session:
        stored = session.scalar(select(User.role).where(User.name == name))
    return Actor(name=name, role=Role.parse(stored) if stored else default_role)


def resolve_local_actor(engine: Engine, settings: Settings, name: str | None = None) -> Actor:
    """Local mode (CLI, app without sign-in): the configured local user has the configured role;
    anyone else named with --as gets their role from the users table, or viewer."""
    name = (name or settings.local_user).strip()
    if name == settings.local_user:
        return Actor(name=name, role=Role.parse(settings.local_role))
    return resolve_actor(engine, name)
