"""Chaos fixtures: a database for the cloud (PostgreSQL when it is there, else SQLite) and the stack."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chaos.harness import ChaosParams, ChaosStack
from tests.conftest import POSTGRES_ADMIN_URL, service_missing
from tests.support.mosquitto import find_mosquitto


@pytest.fixture
def chaos_database_url(tmp_path: Path) -> Iterator[str]:
    """A throwaway PostgreSQL database if one can be made on 127.0.0.1:5432, else a SQLite file.

    ``KYWASH_CHAOS_DATABASE=sqlite`` forces SQLite.
    """
    try:
        import psycopg
    except ImportError:
        psycopg = None  # type: ignore[assignment]
    admin = None
    if psycopg is not None and os.environ.get("KYWASH_CHAOS_DATABASE") != "sqlite":
        try:
            admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)
        except psycopg.OperationalError:
            admin = None
    if admin is None:
        yield f"sqlite:///{tmp_path / 'cloud.db'}"
        return
    name = f"kywash_chaos_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def chaos_stack(tmp_path: Path, chaos_database_url: str) -> Iterator[ChaosStack]:
    if find_mosquitto() is None:
        service_missing("mosquitto is not installed")
    stack = ChaosStack(tmp_path, chaos_database_url, ChaosParams.from_env())
    try:
        stack.start()
        yield stack
    finally:
        stack.close()
