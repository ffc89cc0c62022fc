"""Bring a database to the newest schema, from the migrations shipped inside the package.

Paths come from this file's location, not the working directory, so an installed service
migrates the same way the repository does. On PostgreSQL an advisory lock makes replicas
that start together take turns instead of racing to create the same tables.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text

from cloud.platform.storage.engine import make_engine

STORAGE_DIR: Final = Path(__file__).resolve().parent
ALEMBIC_INI: Final = STORAGE_DIR / "alembic.ini"
MIGRATIONS_DIR: Final = STORAGE_DIR / "migrations"
_MIGRATION_LOCK_ID: Final = 0x4B59_5741_5348  # "KYWASH"


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's config pointing into the package; ``connection`` is what env.py migrates."""
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade_database(url: str, revision: str = "head") -> None:
    """Apply every migration up to ``revision`` (idempotent: a current database is untouched)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            postgres = conn.dialect.name == "postgresql"
            if postgres:
                conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
                conn.commit()
            try:
                command.upgrade(alembic_config(conn), revision)
                conn.commit()
            finally:
                if postgres:
                    conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _MIGRATION_LOCK_ID})
                    conn.commit()
    finally:
        engine.dispose()
