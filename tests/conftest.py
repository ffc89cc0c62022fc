"""Shared fixtures: fresh brokers on free ports, throwaway databases and a fake clock.

Service fixtures (Mosquitto, PostgreSQL) skip with a reason when the service cannot be
found, and fail instead when ``KYWASH_REQUIRE_SERVICES=1`` (as CI sets), so a green CI
run means they really ran. Tests never use the ports or databases a user's demo takes.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from kywash.clock import FakeClock
from launchers.broker import EmbeddedBroker, free_port
from tests.support.mosquitto import MosquittoProcess
from tests.support.postgres import PostgresUnavailableError, throwaway_database

REQUIRE_SERVICES = os.environ.get("KYWASH_REQUIRE_SERVICES") == "1"
POSTGRES_ADMIN_URL = os.environ.get("KYWASH_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")


def service_missing(reason: str) -> None:
    """Skip on a laptop; fail in CI, where the service must be there."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (KYWASH_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


@dataclass(frozen=True)
class BrokerHandle:
    name: str
    host: str
    port: int

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"


@pytest.fixture(scope="session", autouse=True)
def vapid_key_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every app a test starts keeps its web push key and fault photos in a temporary
    directory, not in the working directory's ./data."""
    root = tmp_path_factory.mktemp("cloud-files")
    path = root / "vapid_private.pem"
    wanted = {"KYWASH_VAPID_KEY_PATH": str(path), "KYWASH_PHOTO_DIR": str(root / "photos")}
    previous = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    try:
        yield path
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def unique_site() -> str:
    """A site id no other test uses, so tests can share a broker without seeing each other."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def amqtt_broker() -> Iterator[BrokerHandle]:
    with EmbeddedBroker(port=free_port()) as broker:
        yield BrokerHandle("amqtt", broker.host, broker.port)


@pytest.fixture(scope="session")
def mosquitto_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerHandle]:
    """Our own Mosquitto on a free port (never the system one on 1883)."""
    try:
        broker = MosquittoProcess(tmp_path_factory.mktemp("mosquitto"))
    except (FileNotFoundError, RuntimeError) as exc:
        service_missing(str(exc))
    try:
        yield BrokerHandle("mosquitto", broker.host, broker.port)
    finally:
        broker.close()


@pytest.fixture(params=["amqtt", "mosquitto"])
def any_broker(request: pytest.FixtureRequest) -> BrokerHandle:
    """Run a test against the embedded broker and against Mosquitto."""
    handle: BrokerHandle = request.getfixturevalue(f"{request.param}_broker")
    return handle


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL database, dropped afterwards."""
    with ExitStack() as stack:
        try:
            url = stack.enter_context(throwaway_database(POSTGRES_ADMIN_URL, "kywash_test"))
        except PostgresUnavailableError as exc:
            service_missing(str(exc))
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Run a test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'kywash.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url
