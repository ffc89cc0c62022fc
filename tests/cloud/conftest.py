"""Cloud test fixtures: settings on a throwaway database, an app under TestClient, a fake edge.

Starlette 1.x's TestClient runs on ``httpx2`` (in the test extras); on plain ``httpx`` it warns.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from cloud.platform.settings import CloudSettings
from cloud.runtime.app import create_app
from kywash.clock import FakeClock
from tests.cloud.fake_edge import EdgePublisher, FakeEdge
from tests.conftest import BrokerHandle


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cloud.db'}"


@pytest.fixture
def offline_settings(sqlite_url: str, unique_site: str) -> CloudSettings:
    """Settings for an app that does not connect to MQTT (tests feed ingest directly)."""
    return CloudSettings(database_url=sqlite_url, ingest_enabled=False, ingest_site=unique_site, timer_loop=False)


@pytest.fixture
def client(offline_settings: CloudSettings, fake_clock: FakeClock) -> Iterator[TestClient]:
    """A running app (lifespan done: database migrated) without MQTT."""
    with TestClient(create_app(offline_settings, clock=fake_clock)) as test_client:
        yield test_client


@pytest.fixture
def db_settings(database_url: str, unique_site: str, tmp_path: Path) -> CloudSettings:
    """Like ``offline_settings``, on SQLite and on PostgreSQL (the test runs once for each)."""
    return CloudSettings(
        database_url=database_url,
        ingest_enabled=False,
        ingest_site=unique_site,
        photo_dir=str(tmp_path / "photos"),
        timer_loop=False,  # tests fire deadlines themselves, on the fake clock
    )


@pytest.fixture
def db_client(db_settings: CloudSettings, fake_clock: FakeClock) -> Iterator[TestClient]:
    """A running app without MQTT on either database (``feed`` works with it through ``db_feed``)."""
    with TestClient(create_app(db_settings, clock=fake_clock), raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def db_feed(db_client: TestClient) -> Callable[..., Any]:
    """``feed`` for ``db_client``."""

    def feed_messages(*messages: tuple[str, bytes]) -> list[Any]:
        ingest = db_client.app.state.cloud.ingest  # type: ignore[attr-defined]
        assert db_client.portal is not None
        return [db_client.portal.call(ingest.handle, topic, payload) for topic, payload in messages]

    return feed_messages


@pytest.fixture
def edge(unique_site: str) -> FakeEdge:
    return FakeEdge(site=unique_site)


@pytest.fixture
def feed(client: TestClient) -> Callable[..., Any]:
    """Hand messages to the running app's ingest, as if they came from the broker."""

    def feed_messages(*messages: tuple[str, bytes]) -> list[Any]:
        ingest = client.app.state.cloud.ingest  # type: ignore[attr-defined]
        assert client.portal is not None
        return [client.portal.call(ingest.handle, topic, payload) for topic, payload in messages]

    return feed_messages


@pytest.fixture
def publisher(amqtt_broker: BrokerHandle) -> Iterator[EdgePublisher]:
    """A plain paho client playing the room's edge on the in-process broker (clears what it retained)."""
    edge_client = EdgePublisher(amqtt_broker.host, amqtt_broker.port)
    yield edge_client
    edge_client.close()


@pytest.fixture
def app_client(amqtt_broker: BrokerHandle, unique_site: str, tmp_path: Path) -> Iterator[TestClient]:
    """The app with ingest on against the in-process broker, once it has subscribed everything."""
    settings = CloudSettings(
        database_url=f"sqlite:///{tmp_path / 'cloud.db'}",
        mqtt_url=amqtt_broker.url,
        ingest_site=unique_site,
        photo_dir=str(tmp_path / "photos"),
        timer_loop=False,
        web_push=False,
    )
    with TestClient(create_app(settings, clock=FakeClock())) as client:
        source = client.app.state.cloud.source  # type: ignore[attr-defined]
        assert source is not None and source.wait_subscribed(10), "ingest never finished subscribing"
        yield client
