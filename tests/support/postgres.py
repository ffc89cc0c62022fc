"""Throwaway PostgreSQL databases for tests: made on the admin connection, dropped afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class PostgresUnavailableError(Exception):
    """psycopg is not installed, or the server does not answer."""


@contextmanager
def throwaway_database(admin_url: str, prefix: str) -> Iterator[str]:
    """A new, empty database; yields its SQLAlchemy URL and drops it (forcefully) at the end."""
    try:
        import psycopg
    except ImportError as exc:
        raise PostgresUnavailableError("psycopg is not installed (pip install 'kywash[postgres]')") from exc
    try:
        admin: Any = psycopg.connect(admin_url, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        raise PostgresUnavailableError(f"PostgreSQL is not reachable at {admin_url}: {exc}") from exc
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
