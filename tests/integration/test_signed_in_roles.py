"""On both databases, a signed-in admin demoted since their actor was resolved is refused inside the write's own
transaction, and nothing is written."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from core import identity, services
from core.db import AuditEntry, Workspace, read_session
from core.errors import PermissionDenied
from tests.builders import ADMIN


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> Engine:
    return request.getfixturevalue("sqlite_engine" if request.param == "sqlite" else "postgres_engine")


def test_a_demoted_admin_writes_nothing(engine: Engine) -> None:
    services.set_user_role(engine, ADMIN, name="ada@example.com", role="admin")
    cached = identity.resolve_signed_in_actor(engine, "ada@example.com", identity.RoleMapping())
    services.set_user_role(engine, ADMIN, name="ada@example.com", role="analyst")

    with pytest.raises(PermissionDenied, match="is now analyst"):
        services.add_workspace(engine, cached, "Americas Retail")

    with read_session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Workspace)) == 0
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.actor == cached.name)) == 0
