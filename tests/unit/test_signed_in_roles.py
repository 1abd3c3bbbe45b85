"""A signed-in user's role is read again inside every write: a role taken away refuses the next write at once,
whatever the page or the cached actor still says."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from core import alerts, identity, services
from core.db import AuditEntry, read_session
from core.errors import PermissionDenied
from core.imports import ImportRequest, run_import
from core.model import Actor, Role
from tests.builders import ADMIN
from tests.unit.test_roles_and_audit import WRITES, a_small_fleet

SIGNED_IN_ADMIN = "ada@example.com"
MAPPING = identity.RoleMapping.from_config({"admins": ["boss@example.com"]})
WEBHOOK = (
    b'{"object": "whatsapp_business_account", "entry": [{"id": "1", "time": 1748454394, "changes": '
    b'[{"field": "business_capability_update", "value": {"max_daily_conversations_per_business": 2000}}]}]}'
)


def audit_entries(engine: Engine) -> int:
    with read_session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def signed_in(engine: Engine, name: str) -> Actor:
    return identity.resolve_signed_in_actor(engine, name, MAPPING)


@pytest.mark.parametrize("service", WRITES)
def test_a_demoted_admin_is_refused_at_the_next_write_and_nothing_is_written(
    sqlite_engine: Engine, service: str
) -> None:
    fleet = a_small_fleet(sqlite_engine)
    services.set_user_role(sqlite_engine, ADMIN, name=SIGNED_IN_ADMIN, role="admin")
    cached = signed_in(sqlite_engine, SIGNED_IN_ADMIN)
    services.set_user_role(sqlite_engine, ADMIN, name=SIGNED_IN_ADMIN, role="viewer")
    before = audit_entries(sqlite_engine)
    call, _, _ = WRITES[service]

    with pytest.raises(PermissionDenied, match=f"'{SIGNED_IN_ADMIN}' is now viewer"):
        call(sqlite_engine, cached, fleet)

    assert cached.role == Role.ADMIN
    assert audit_entries(sqlite_engine) == before


def test_a_demoted_admin_is_refused_an_import(sqlite_engine: Engine) -> None:
    services.set_user_role(sqlite_engine, ADMIN, name=SIGNED_IN_ADMIN, role="admin")
    cached = signed_in(sqlite_engine, SIGNED_IN_ADMIN)
    services.set_user_role(sqlite_engine, ADMIN, name=SIGNED_IN_ADMIN, role="analyst")
    before = audit_entries(sqlite_engine)

    with pytest.raises(PermissionDenied, match="is now analyst"):
        run_import(sqlite_engine, cached, ImportRequest(kind="webhook", data=WEBHOOK))

    assert audit_entries(sqlite_engine) == before


def test_an_admin_by_mapping_listed_as_viewer_in_the_users_table_is_refused(sqlite_engine: Engine) -> None:
    cached = signed_in(sqlite_engine, "boss@example.com")
    services.set_user_role(sqlite_engine, ADMIN, name="boss@example.com", role="viewer")

    with pytest.raises(PermissionDenied, match="is now viewer"):
        services.add_workspace(sqlite_engine, cached, "Americas Retail")


def test_a_signed_in_admin_who_keeps_the_role_writes(sqlite_engine: Engine) -> None:
    services.set_user_role(sqlite_engine, ADMIN, name=SIGNED_IN_ADMIN, role="admin")
    actor = signed_in(sqlite_engine, SIGNED_IN_ADMIN)

    assert services.add_workspace(sqlite_engine, actor, "Americas Retail") == "Americas Retail"


def test_the_local_user_keeps_the_configured_role_without_a_users_row(sqlite_engine: Engine) -> None:
    local = Actor(name="local-admin", role=Role.ADMIN)

    services.add_workspace(sqlite_engine, local, "Americas Retail")

    assert not local.signed_in


def test_a_demoted_admin_is_refused_an_alert_rule(sqlite_engine: Engine) -> None:
    services.set_user_role(sqlite_engine, ADMIN, name=SIGNED_IN_ADMIN, role="admin")
    cached = signed_in(sqlite_engine, SIGNED_IN_ADMIN)
    services.set_user_role(sqlite_engine, ADMIN, name=SIGNED_IN_ADMIN, role="viewer")
    before = audit_entries(sqlite_engine)

    with pytest.raises(PermissionDenied, match="is now viewer"):
        alerts.add_rule(sqlite_engine, cached, name="mine", event="quality_drop", target="mailto:me@example.com")

    assert audit_entries(sqlite_engine) == before
