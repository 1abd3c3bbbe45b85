"""Schema creation and upgrades through Alembic, under a database lock so processes starting together never race.

Every process brings the schema up to date when it starts (FLEET_AUTO_MIGRATE=1, the default); replicas configured
with FLEET_AUTO_MIGRATE=0 leave that to one step of the deployment (`python -m core db upgrade`) and refuse to start
on a schema older than their code.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from core.errors import SchemaOutOfDate

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser reads "%" as interpolation: URL-encoded socket paths need it doubled.
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return config


# pg_advisory_xact_lock key of the migrations: any fixed 64-bit number no other feature uses.
MIGRATION_LOCK_KEY = 7_310_452_001


def upgrade(engine: Engine) -> str | None:
    """Bring the schema to the latest revision (creates it on an empty database), holding the migration lock.

    Returns the revision it started from ("" for an empty database) when it migrated, None when the schema was
    already up to date. A process that waited for the lock finds the work done and returns None."""
    config = alembic_config(engine)
    with engine.execution_options(fleet_write=True).begin() as connection:
        _take_migration_lock(connection)
        current = MigrationContext.configure(connection).get_current_revision()
        if current == head_revision(engine):
            return None
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return current or ""


def _take_migration_lock(connection: Connection) -> None:
    """PostgreSQL: an advisory lock held until this transaction ends. SQLite: the transaction began IMMEDIATE
    (`fleet_write`), which already holds the database's one write lock."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def is_up_to_date(engine: Engine) -> bool:
    return current_revision(engine) == head_revision(engine)


def ensure_schema(engine: Engine, *, auto_migrate: bool) -> str | None:
    """At a process's start: migrate (see `upgrade`), or, for a process that must not, refuse an old schema."""
    if auto_migrate:
        return upgrade(engine)
    current, head = current_revision(engine), head_revision(engine)
    if current != head:
        raise SchemaOutOfDate(
            f"The database schema is at revision {current or '(empty)'} but this code needs {head}, and this "
            "process does not migrate (FLEET_AUTO_MIGRATE=0). Run `python -m core db upgrade` once against this "
            "database, then start it again."
        )
    return None


def migration_module(file_name: str) -> ModuleType:
    """One migration file as a module, for the definitions written there (migration files are not a package)."""
    path = MIGRATIONS_DIR / "versions" / file_name
    spec = importlib.util.spec_from_file_location(f"fleet_migration_{path.stem}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
