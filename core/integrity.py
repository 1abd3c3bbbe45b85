"""`check`: re-verify every rule on the stored data, whatever wrote it."""

from __future__ import annotations

from sqlalchemy import Engine, func, select

from core import model
from core.db import NumberHealthSnapshot, PhoneNumber, SubscriptionGroup, Waba, Workspace, WorkspacePortfolio


def find_violations(engine: Engine) -> list[str]:
    """Every broken invariant, one readable line each; empty when the fleet is sound."""
    with engine.connect() as connection:
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
        return violations
