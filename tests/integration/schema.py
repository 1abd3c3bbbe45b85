"""What Alembic's autogenerate sees between a database's schema and the models in core.db."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from core.db import Base


def schema_differences(engine: Engine) -> list[Any]:
    """Empty when the migrated database matches the models: tables, columns, types, indexes, constraints."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
        return list(compare_metadata(context, Base.metadata))
