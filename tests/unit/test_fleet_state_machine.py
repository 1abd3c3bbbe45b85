"""Random sequences of adds, archives and re-attaches on a real SQLite database: each call ends as a model of the
rules predicts (done or refused with the named error), and after every step no invariant is broken."""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import func, select

from core import integrity, model, services
from core.db import PhoneNumber, SubscriptionGroup, Waba, Workspace, make_engine
from core.errors import (
    AlreadyArchived,
    DuplicateName,
    FleetError,
    InvalidInput,
    NotFound,
    NumberAlreadyExists,
    NumberAlreadyInActiveGroup,
    NumberLimitReached,
    PortfolioNotConnected,
    WabaLimitReached,
)
from core.migrate import upgrade
from tests import builders
from tests.builders import ADMIN

PHONES = [builders.french_mobile(index) for index in range(30)]
WORKSPACES = ["EU Brands", "Americas Retail", "APAC Services"]
PORTFOLIOS = ["100001", "100002"]
GROUP_NAMES = ["VIP", "Promo", "Support"]


def spellings(e164: str) -> list[tuple[str, str | None]]:
    """The same French mobile as people type it."""
    national = "0" + e164[3:]
    spaced = " ".join(national[i : i + 2] for i in range(0, 10, 2))
    return [(e164, None), ("00" + e164[1:], None), ("+33 " + spaced[1:], None), (spaced, "FR")]


@cache
def migrated_database() -> Path:
    path = Path(tempfile.mkdtemp(prefix="fleet-machine-")) / "fleet.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@dataclass
class FleetModel:
    """What the rules say the fleet holds."""

    workspaces: set[str] = field(default_factory=set)
    connections: set[tuple[str, str]] = field(default_factory=set)
    wabas: dict[str, str] = field(default_factory=dict)  # Meta id → workspace
    archived_wabas: set[str] = field(default_factory=set)
    numbers: dict[str, tuple[str, str] | None] = field(default_factory=dict)  # E.164 → (WABA, group) if active

    def active_numbers(self, waba_id: str) -> int:
        return sum(1 for bound in self.numbers.values() if bound and bound[0] == waba_id)

    def active_wabas(self, workspace: str) -> int:
        return sum(1 for w, ws in self.wabas.items() if ws == workspace and w not in self.archived_wabas)

    def active_group_names(self, workspace: str) -> set[str]:
        return {bound[1] for bound in self.numbers.values() if bound and self.wabas[bound[0]] == workspace}


class FleetMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="fleet-example-"))
        shutil.copyfile(migrated_database(), self.folder / "fleet.db")
        self.engine = make_engine(f"sqlite:///{self.folder / 'fleet.db'}")
        self.model = FleetModel()
        self.meta_ids = iter(range(500_000, 600_000))
        self.group_counter = 0

    def teardown(self) -> None:
        self.engine.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)

    def expect(
        self, refusal: type[FleetError] | None, service: Callable[..., object], *args: str, **kwargs: Any
    ) -> bool:
        """Call a service as an admin; it must succeed when `refusal` is None, else raise exactly that error."""
        event(f"refused: {refusal.__name__}" if refusal else "done")
        if refusal is None:
            service(self.engine, ADMIN, *args, **kwargs)
            return True
        with pytest.raises(refusal):
            service(self.engine, ADMIN, *args, **kwargs)
        return False

    @initialize()
    def a_workspace_with_one_waba(self) -> None:
        for meta_id in PORTFOLIOS:
            services.add_portfolio(self.engine, ADMIN, meta_business_id=meta_id, name=f"Portfolio {meta_id}")
        services.add_workspace(self.engine, ADMIN, WORKSPACES[0])
        services.add_waba(
            self.engine,
            ADMIN,
            workspace=WORKSPACES[0],
            portfolio_meta_id=PORTFOLIOS[0],
            meta_waba_id="1",
            name="First",
            connect_if_needed=True,
        )
        self.model.workspaces.add(WORKSPACES[0])
        self.model.connections.add((WORKSPACES[0], PORTFOLIOS[0]))
        self.model.wabas["1"] = WORKSPACES[0]

    @rule(workspace=st.sampled_from(WORKSPACES))
    def add_workspace(self, workspace: str) -> None:
        refusal = DuplicateName if workspace in self.model.workspaces else None
        if self.expect(refusal, services.add_workspace, workspace):
            self.model.workspaces.add(workspace)

    @rule(workspace=st.sampled_from(WORKSPACES), portfolio=st.sampled_from(PORTFOLIOS))
    def connect_portfolio(self, workspace: str, portfolio: str) -> None:
        refusal = None if workspace in self.model.workspaces else NotFound
        if self.expect(refusal, services.connect_portfolio, workspace=workspace, portfolio_meta_id=portfolio):
            self.model.connections.add((workspace, portfolio))

    @rule(
        workspace=st.sampled_from(WORKSPACES),
        portfolio=st.sampled_from(PORTFOLIOS),
        count=st.integers(1, 6),
        connect=st.booleans(),
    )
    def add_wabas(self, workspace: str, portfolio: str, count: int, connect: bool) -> None:
        for _ in range(count):
            meta_id = str(next(self.meta_ids))
            connected = (workspace, portfolio) in self.model.connections
            refusal: type[FleetError] | None = None
            if workspace not in self.model.workspaces:
                refusal = NotFound
            elif self.model.active_wabas(workspace) >= model.MAX_WABAS_PER_WORKSPACE:
                refusal = WabaLimitReached
            elif not connected and not connect:
                refusal = PortfolioNotConnected
            if self.expect(
                refusal,
                services.add_waba,
                workspace=workspace,
                portfolio_meta_id=portfolio,
                meta_waba_id=meta_id,
                name=f"WABA {meta_id}",
                connect_if_needed=connect,
            ):
                self.model.wabas[meta_id] = workspace
                self.model.connections.add((workspace, portfolio))

    @rule(data=st.data())
    def archive_waba(self, data: st.DataObject) -> None:
        if not self.model.wabas:
            return
        waba_id = data.draw(st.sampled_from(sorted(self.model.wabas)))
        refusal: type[FleetError] | None = None
        if waba_id in self.model.archived_wabas:
            refusal = AlreadyArchived
        elif self.model.active_numbers(waba_id):
            refusal = InvalidInput
        if self.expect(refusal, services.archive_waba, waba_id):
            self.model.archived_wabas.add(waba_id)

    def refusal_to_bind(self, waba_id: str, group: str) -> type[FleetError] | None:
        if waba_id in self.model.archived_wabas:
            return InvalidInput
        if self.model.active_numbers(waba_id) >= model.MAX_NUMBERS_PER_WABA:
            return NumberLimitReached
        if group in self.model.active_group_names(self.model.wabas[waba_id]):
            return DuplicateName
        return None

    @rule(data=st.data(), count=st.integers(1, 12), named=st.booleans(), fresh=st.booleans())
    def add_numbers(self, data: st.DataObject, count: int, named: bool, fresh: bool) -> None:
        """'Add Subscription Group and Number', `count` times, with numbers typed in any format; `fresh` picks
        numbers the fleet does not know yet (so the caps are reached in few steps), otherwise any number."""
        if not self.model.wabas:
            return
        waba_id = data.draw(st.sampled_from(sorted(self.model.wabas)))
        for _ in range(count):
            unknown = [phone for phone in PHONES if phone not in self.model.numbers]
            e164 = data.draw(st.sampled_from(unknown if fresh and unknown else PHONES))
            typed, region = data.draw(st.sampled_from(spellings(e164)))
            self.group_counter += 1
            group = data.draw(st.sampled_from(GROUP_NAMES)) if named else f"Group {self.group_counter}"
            refusal: type[FleetError] | None
            if waba_id not in self.model.archived_wabas and e164 in self.model.numbers:
                refusal = NumberAlreadyExists
            else:
                refusal = self.refusal_to_bind(waba_id, group)
            if self.expect(
                refusal, services.add_number, meta_waba_id=waba_id, group_name=group, phone=typed, region=region
            ):
                self.model.numbers[e164] = (waba_id, group)

    @rule(data=st.data())
    def archive_group(self, data: st.DataObject) -> None:
        e164 = data.draw(st.sampled_from(PHONES))
        typed, region = data.draw(st.sampled_from(spellings(e164)))
        refusal = None if self.model.numbers.get(e164) else NotFound
        if self.expect(refusal, services.archive_group, phone=typed, region=region):
            self.model.numbers[e164] = None

    @rule(data=st.data(), named=st.booleans())
    def reattach_number(self, data: st.DataObject, named: bool) -> None:
        if not self.model.wabas:
            return
        e164 = data.draw(st.sampled_from(PHONES))
        waba_id = data.draw(st.sampled_from(sorted(self.model.wabas)))
        self.group_counter += 1
        group = data.draw(st.sampled_from(GROUP_NAMES)) if named else f"Group {self.group_counter}"
        refusal: type[FleetError] | None
        if waba_id in self.model.archived_wabas:
            refusal = InvalidInput
        elif e164 not in self.model.numbers:
            refusal = NotFound
        elif self.model.numbers[e164] is not None:
            refusal = NumberAlreadyInActiveGroup
        else:
            refusal = self.refusal_to_bind(waba_id, group)
        if self.expect(refusal, services.reattach_number, phone=e164, meta_waba_id=waba_id, group_name=group):
            self.model.numbers[e164] = (waba_id, group)

    @invariant()
    def no_rule_is_broken(self) -> None:
        assert integrity.find_violations(self.engine) == []

    @invariant()
    def the_database_holds_what_the_model_expects(self) -> None:
        with self.engine.connect() as connection:
            active_wabas = Counter(
                dict(
                    connection.execute(
                        select(Workspace.name, func.count())
                        .join(Waba, Waba.workspace_id == Workspace.id)
                        .where(Waba.state == "active")
                        .group_by(Workspace.name)
                    ).all()
                )
            )
            active_numbers = Counter(
                dict(
                    connection.execute(
                        select(Waba.meta_waba_id, func.count())
                        .join(SubscriptionGroup, SubscriptionGroup.waba_id == Waba.id)
                        .where(SubscriptionGroup.state == "active")
                        .group_by(Waba.meta_waba_id)
                    ).all()
                )
            )
            numbers = set(connection.scalars(select(PhoneNumber.e164)))
        assert +active_wabas == +Counter({ws: self.model.active_wabas(ws) for ws in self.model.workspaces})
        assert +active_numbers == +Counter({w: self.model.active_numbers(w) for w in self.model.wabas})
        assert numbers == set(self.model.numbers)


FleetMachine.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
test_random_operations_never_break_a_rule = FleetMachine.TestCase
