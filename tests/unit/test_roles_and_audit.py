"""Rule 7: only admins write; viewers and analysts are refused with a named error and nothing is written.
Every write leaves an audit entry saying who did what, to which object, with the values before and after."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine

from core import services
from core.errors import PermissionDenied
from core.model import Actor
from tests import builders
from tests.builders import ADMIN, ANALYST, VIEWER
from tests.unit.db_state import audit_entries, row_counts

ARCHIVED_NUMBER = builders.french_mobile(90)
ACTIVE_NUMBER = builders.french_mobile(91)


@dataclass(frozen=True)
class Fleet:
    workspace: str
    portfolio_id: str
    unconnected_portfolio_id: str
    waba_id: str
    empty_waba_id: str


def a_small_fleet(engine: Engine) -> Fleet:
    portfolio_id = builders.workspace_with_portfolio(engine)
    waba_id, empty_waba_id = (
        services.add_waba(
            engine, ADMIN, workspace="EU Brands", portfolio_meta_id=portfolio_id, meta_waba_id=meta_id, name=name
        )
        for meta_id, name in ((builders.unique_meta_id(), "Fashion FR"), (builders.unique_meta_id(), "Empty"))
    )
    services.add_number(engine, ADMIN, meta_waba_id=waba_id, group_name="Archived", phone=ARCHIVED_NUMBER)
    services.archive_group(engine, ADMIN, phone=ARCHIVED_NUMBER)
    services.add_number(engine, ADMIN, meta_waba_id=waba_id, group_name="Active", phone=ACTIVE_NUMBER)
    unconnected = services.add_portfolio(engine, ADMIN, meta_business_id=builders.unique_meta_id(), name="Acme Group")
    return Fleet("EU Brands", portfolio_id, unconnected, waba_id, empty_waba_id)


Write = Callable[[Engine, Actor, Fleet], object]

WRITES: dict[str, tuple[Write, str, str]] = {
    # service: (call, audited action, audited object type)
    "add_workspace": (lambda e, a, f: services.add_workspace(e, a, "Americas Retail"), "add", "workspace"),
    "add_portfolio": (
        lambda e, a, f: services.add_portfolio(e, a, meta_business_id="555", name="Acme Asia"),
        "add",
        "portfolio",
    ),
    "connect_portfolio": (
        lambda e, a, f: services.connect_portfolio(
            e, a, workspace=f.workspace, portfolio_meta_id=f.unconnected_portfolio_id
        ),
        "connect",
        "portfolio",
    ),
    "add_waba": (
        lambda e, a, f: services.add_waba(
            e, a, workspace=f.workspace, portfolio_meta_id=f.portfolio_id, meta_waba_id="777", name="Sport FR"
        ),
        "add",
        "waba",
    ),
    "archive_waba": (lambda e, a, f: services.archive_waba(e, a, f.empty_waba_id), "archive", "waba"),
    "add_number": (
        lambda e, a, f: services.add_number(
            e, a, meta_waba_id=f.waba_id, group_name="New", phone="06 12 34 56 78", region="FR"
        ),
        "add",
        "phone_number",
    ),
    "reattach_number": (
        lambda e, a, f: services.reattach_number(
            e, a, phone=ARCHIVED_NUMBER, meta_waba_id=f.empty_waba_id, group_name="Back"
        ),
        "bind",
        "subscription_group",
    ),
    "archive_group": (
        lambda e, a, f: services.archive_group(e, a, phone=ACTIVE_NUMBER),
        "archive",
        "subscription_group",
    ),
    "update_number_health": (
        lambda e, a, f: services.update_number_health(e, a, phone=ACTIVE_NUMBER, changes={"quality_rating": "RED"}),
        "update",
        "phone_number",
    ),
    "add_template": (
        lambda e, a, f: services.add_template(e, a, meta_waba_id=f.waba_id, name="welcome_offer", language="fr"),
        "add",
        "template",
    ),
    "set_user_role": (
        lambda e, a, f: services.set_user_role(e, a, name="ana@example.com", role="analyst"),
        "set_role",
        "user",
    ),
}


@pytest.mark.parametrize("reader", [VIEWER, ANALYST], ids=["viewer", "analyst"])
@pytest.mark.parametrize("service", WRITES)
def test_viewers_and_analysts_cannot_write_and_nothing_is_written(
    sqlite_engine: Engine, service: str, reader: Actor
) -> None:
    fleet = a_small_fleet(sqlite_engine)
    call, _, _ = WRITES[service]
    before = row_counts(sqlite_engine)

    with pytest.raises(PermissionDenied) as refused:
        call(sqlite_engine, reader, fleet)

    assert reader.name in str(refused.value)
    assert "admin" in str(refused.value)
    assert row_counts(sqlite_engine) == before


@pytest.mark.parametrize("service", WRITES)
def test_an_admin_write_is_audited_with_actor_action_and_values(sqlite_engine: Engine, service: str) -> None:
    fleet = a_small_fleet(sqlite_engine)
    call, action, object_type = WRITES[service]
    audited_before = len(audit_entries(sqlite_engine))

    call(sqlite_engine, ADMIN, fleet)

    new_entries = audit_entries(sqlite_engine)[audited_before:]
    matching = [e for e in new_entries if (e["action"], e["object_type"]) == (action, object_type)]
    assert len(matching) == 1, new_entries
    [entry] = matching
    assert entry["actor"] == ADMIN.name
    assert entry["object_key"]
    assert entry["after"]
    assert entry["at"] is not None


@pytest.mark.parametrize(
    ("service", "before", "after"),
    [
        ("archive_group", {"group": "Active", "state": "active"}, {"state": "archived"}),
        ("archive_waba", {"state": "active"}, {"state": "archived"}),
        ("update_number_health", {"quality_rating": "NA"}, {"quality_rating": "RED"}),
    ],
)
def test_a_change_is_audited_with_the_values_before_and_after(
    sqlite_engine: Engine, service: str, before: dict[str, str], after: dict[str, str]
) -> None:
    fleet = a_small_fleet(sqlite_engine)
    call, _, _ = WRITES[service]

    call(sqlite_engine, ADMIN, fleet)

    entry = audit_entries(sqlite_engine)[-1]
    assert before.items() <= entry["before"].items()
    assert after.items() <= entry["after"].items()


def test_adding_a_number_audits_the_number_and_its_new_group(sqlite_engine: Engine) -> None:
    fleet = a_small_fleet(sqlite_engine)
    audited_before = len(audit_entries(sqlite_engine))

    services.add_number(sqlite_engine, ADMIN, meta_waba_id=fleet.waba_id, group_name="Lyon", phone="+33611111111")

    new_entries = audit_entries(sqlite_engine)[audited_before:]
    assert {(e["action"], e["object_type"], e["object_key"]) for e in new_entries} == {
        ("add", "phone_number", "+33611111111"),
        ("bind", "subscription_group", "Lyon"),
    }
    bind = next(e for e in new_entries if e["action"] == "bind")
    assert bind["after"] == {"group": "Lyon", "phone": "+33611111111", "waba": fleet.waba_id, "workspace": "EU Brands"}


def test_a_user_given_a_role_acts_with_it(sqlite_engine: Engine) -> None:
    services.set_user_role(sqlite_engine, ADMIN, name="ana@example.com", role="Analyst")

    actor = services.resolve_actor(sqlite_engine, "ana@example.com")

    assert actor == Actor("ana@example.com", services.Role.ANALYST)
    assert services.resolve_actor(sqlite_engine, "stranger@example.com").role == services.Role.VIEWER
