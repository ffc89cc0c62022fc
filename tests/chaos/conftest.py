"""Chaos fixtures: a database for the cloud (PostgreSQL when it is there, else SQLite) and the stack."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.chaos.harness import ChaosParams, ChaosStack
from tests.conftest import POSTGRES_ADMIN_URL, service_missing
from tests.support.mosquitto import find_mosquitto
from tests.support.postgres import PostgresUnavailableError, throwaway_database


@pytest.fixture
def chaos_database_url(tmp_path: Path) -> Iterator[str]:
    """A throwaway PostgreSQL database if one can be made on 127.0.0.1:5432, else a SQLite file.

    ``KYWASH_CHAOS_DATABASE=sqlite`` forces SQLite.
    """
    if os.environ.get("KYWASH_CHAOS_DATABASE") == "sqlite":
        yield f"sqlite:///{tmp_path / 'cloud.db'}"
        return
    with ExitStack() as stack:
        try:
            url = stack.enter_context(throwaway_database(POSTGRES_ADMIN_URL, "kywash_chaos"))
        except PostgresUnavailableError:
            url = f"sqlite:///{tmp_path / 'cloud.db'}"
        yield url


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
