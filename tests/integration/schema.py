"""What Alembic's autogenerate sees between a database's schema and the models in core.db; moving a database to a
revision."""

from __future__ import annotations

from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine

from core.db import Base
from core.migrate import alembic_config


def schema_differences(engine: Engine) -> list[Any]:
    """Empty when the migrated database matches the models: tables, columns, types, indexes, constraints."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
        return list(compare_metadata(context, Base.metadata))


def migrate_to(engine: Engine, revision: str) -> None:
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        if revision == "head":
            command.upgrade(config, revision)
        else:
            command.downgrade(config, revision)
