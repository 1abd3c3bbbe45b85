"""`check`: re-verify every rule on the stored data, whatever wrote it."""

from __future__ import annotations

from sqlalchemy import Connection, Engine, func, select, text

from core import chains, model
from core.db import NumberHealthSnapshot, PhoneNumber, SubscriptionGroup, Waba, Workspace, WorkspacePortfolio


def find_violations(engine: Engine) -> list[str]:
    """Every broken invariant, one readable line each; empty when the fleet is sound."""
    with engine.connect() as connection:
        return violations_in(connection)


def violations_in(connection: Connection) -> list[str]:
    """`find_violations` on an open connection (it sees that connection's own transaction)."""
    violations: list[str] = []
    waba_counts = connection.execute(
        select(Workspace.name, func.count())
        .join(Waba, Waba.workspace_id == Workspace.id)
        .where(Waba.state == "active")
        .group_by(Workspace.name)
        .having(func.count() > model.MAX_WABAS_PER_WORKSPACE)
    )
    violations += [
        f"Workspace '{w}' has {n} active WABAs (maximum {model.MAX_WABAS_PER_WORKSPACE})." for w, n in waba_counts
    ]
    number_counts = connection.execute(
        select(Waba.name, func.count())
        .join(SubscriptionGroup, SubscriptionGroup.waba_id == Waba.id)
        .where(SubscriptionGroup.state == "active")
        .group_by(Waba.id, Waba.name)
        .having(func.count() > model.MAX_NUMBERS_PER_WABA)
    )
    violations += [
        f"WABA '{w}' has {n} active numbers (maximum {model.MAX_NUMBERS_PER_WABA})." for w, n in number_counts
    ]
    doubly_bound = connection.execute(
        select(PhoneNumber.e164, func.count())
        .join(SubscriptionGroup, SubscriptionGroup.phone_number_id == PhoneNumber.id)
        .where(SubscriptionGroup.state == "active")
        .group_by(PhoneNumber.e164)
        .having(func.count() > 1)
    )
    violations += [f"Number {e} is in {n} active subscription groups (maximum 1)." for e, n in doubly_bound]
    unconnected = connection.execute(
        select(Waba.name)
        .outerjoin(
            WorkspacePortfolio,
            (WorkspacePortfolio.workspace_id == Waba.workspace_id)
            & (WorkspacePortfolio.portfolio_id == Waba.portfolio_id),
        )
        .where(WorkspacePortfolio.workspace_id.is_(None))
    )
    violations += [f"WABA '{w}' lives in a portfolio not connected to its workspace." for (w,) in unconnected]
    misplaced = connection.execute(
        select(SubscriptionGroup.name)
        .join(Waba, Waba.id == SubscriptionGroup.waba_id)
        .where(SubscriptionGroup.workspace_id != Waba.workspace_id)
    )
    violations += [f"Subscription group '{g}' is in another workspace than its WABA." for (g,) in misplaced]
    in_archived_waba = connection.execute(
        select(SubscriptionGroup.name, Waba.name)
        .join(Waba, Waba.id == SubscriptionGroup.waba_id)
        .where(SubscriptionGroup.state == "active", Waba.state == "archived")
    )
    violations += [
        f"Subscription group '{g}' is active in archived WABA '{w}' (archive its groups first)."
        for g, w in in_archived_waba
    ]
    unflagged = connection.scalar(
        select(func.count()).select_from(NumberHealthSnapshot).where(NumberHealthSnapshot.quality_changed.is_(None))
    )
    if unflagged:
        violations.append(
            f"{unflagged} health snapshot(s) have no quality-change flag (written outside the app): "
            "quality over time leaves them out."
        )
    for (e164,) in connection.execute(select(PhoneNumber.e164)):
        try:
            if model.normalize_phone_number(e164, strict=False) != e164:
                violations.append(f"Number {e164} is not stored in E.164.")
        except model.InvalidPhoneNumber as error:
            violations.append(f"Number {e164} is not a possible phone number: {error}")
    violations += missing_guards(connection)
    violations += chains.find_breaks(connection)
    return violations


# The tables whose rows are history, and the triggers that keep them (migrations 0001, 0005, 0010 to 0013).
HISTORY_TABLES = (
    "workspaces",
    "portfolios",
    "workspace_portfolios",
    "wabas",
    "phone_numbers",
    "subscription_groups",
    "message_templates",
    "number_health_snapshots",
    "audit_log",
    "field_event_times",
    "audit_chain_head",
    "history_chain_heads",
    "sync_runs",
    "account_alerts",
    "alert_rules",
    "alert_rule_states",
    "alert_baselines",
    "alert_messages",
    "alerts",
    "alert_acknowledgements",
    "alert_delivery_attempts",
)
GUARDS = (
    *((table, f"{table}_no_delete") for table in HISTORY_TABLES),
    ("audit_log", "audit_log_no_update"),
    ("number_health_snapshots", "number_health_snapshots_no_update"),
    ("phone_numbers", "phone_numbers_e164_fixed"),
)
POSTGRESQL_GUARDS = tuple((table, f"{table}_no_truncate") for table in HISTORY_TABLES)


def missing_guards(connection: Connection) -> list[str]:
    """Each trigger that keeps history and is missing, or disabled (PostgreSQL), one line each."""
    if connection.dialect.name == "postgresql":
        expected = GUARDS + POSTGRESQL_GUARDS
        found = {
            (table, name): enabled
            for table, name, enabled in connection.execute(
                text(
                    "SELECT c.relname, t.tgname, t.tgenabled IN ('O', 'A') FROM pg_trigger t "
                    "JOIN pg_class c ON c.oid = t.tgrelid "
                    "WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace"
                )
            )
        }
    else:
        expected = GUARDS
        triggers = connection.execute(text("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'"))
        found = dict.fromkeys(((table, name) for table, name in triggers.tuples()), True)
    problems = []
    for table, name in expected:
        if (table, name) not in found:
            problems.append(f"Trigger {name} on {table} is missing: the database no longer keeps that history.")
        elif not found[(table, name)]:
            problems.append(f"Trigger {name} on {table} is disabled: the database no longer keeps that history.")
    return problems
