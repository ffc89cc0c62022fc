"""Ingest end to end over a real broker (amqtt and Mosquitto): a plain paho client plays the edge."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from cloud.platform.settings import CloudSettings
from cloud.processes.ingest_metrics import IngestMetrics
from cloud.processes.mqtt_source import subscription_stages
from cloud.runtime.app import create_app
from kywash.contract import Door, EventType, MachineState
from launchers.broker import EmbeddedBroker, free_port
from tests.cloud.fake_edge import EdgePublisher, FakeEdge, wait_until
from tests.conftest import BrokerHandle


def metrics_of(client: TestClient) -> IngestMetrics:
    metrics: IngestMetrics = client.app.state.cloud.ingest.metrics  # type: ignore[attr-defined]
    return metrics


def machines(client: TestClient, site: str) -> dict[str, dict[str, Any]]:
    body = client.get("/api/v1/machines/", params={"site": site, "room": "r1"})
    if body.status_code != 200:
        return {}
    return {m["id"]: m for m in body.json()["washers"] + body.json()["dryers"]}


@pytest.fixture
def publisher(any_broker: BrokerHandle) -> Iterator[EdgePublisher]:
    edge_client = EdgePublisher(any_broker.host, any_broker.port)
    yield edge_client
    edge_client.close()


def running_app(url: str, broker_url: str, site: str) -> TestClient:
    settings = CloudSettings(database_url=url, mqtt_url=broker_url, ingest_site=site)
    return TestClient(create_app(settings))


def wait_subscribed(client: TestClient) -> None:
    source = client.app.state.cloud.source  # type: ignore[attr-defined]
    assert source is not None and source.wait_subscribed(10), "ingest never finished subscribing"


def test_subscriptions_come_in_stages_room_info_first() -> None:
    stages = subscription_stages("north", "+", shared_group="cloud")
    assert stages == [
        ["kywash/v1/north/+/info"],
        ["kywash/v1/north/+/status"],
        [
            "$share/cloud/kywash/v1/north/+/machine/+/state",
            "$share/cloud/kywash/v1/north/+/machine/+/event",
            "$share/cloud/kywash/v1/north/+/machine/+/ack",
            "$share/cloud/kywash/v1/north/+/machine/+/profile",
            "$share/cloud/kywash/v1/north/+/machine/+/telemetry",
            "$share/cloud/kywash/v1/north/+/health",
            "$share/cloud/kywash/v1/north/+/machine/+/cmd/+",
        ],
    ]


def test_retained_room_is_loaded_in_order_whatever_order_it_was_published(
    any_broker: BrokerHandle, publisher: EdgePublisher, unique_site: str, tmp_path: Path
) -> None:
    edge = FakeEdge(site=unique_site)
    # Published backwards: the cloud still applies info, then status, then machine states.
    publisher.publish(edge.state("dryer-1", MachineState.RUNNING, seq=3, current_a=12.0), retain=True)
    publisher.publish(edge.state("washer-1", MachineState.FINISHED, seq=2), retain=True)
    publisher.publish(edge.status(online=True), retain=True)
    publisher.publish(edge.info(), retain=True)
    with running_app(f"sqlite:///{tmp_path / 'c.db'}", any_broker.url, unique_site) as client:

        def states() -> tuple[str | None, str | None]:  # the retained states arrive one after the other
            shown = machines(client, unique_site)
            return shown.get("dryer-1", {}).get("state"), shown.get("washer-1", {}).get("state")

        wait_until(lambda: states() == ("running", "finished"), what="both retained states")
        shown = machines(client, unique_site)
        assert shown["washer-1"]["room_online"] is True
        assert metrics_of(client).rejections("unknown_room") == 0
        assert client.get("/api/health").json()["mqtt"] == "connected"


def test_good_messages_apply_and_every_bad_one_is_counted(
    any_broker: BrokerHandle, publisher: EdgePublisher, unique_site: str, tmp_path: Path
) -> None:
    edge = FakeEdge(site=unique_site)
    with running_app(f"sqlite:///{tmp_path / 'c.db'}", any_broker.url, unique_site) as client:
        wait_subscribed(client)
        publisher.publish(edge.info(), retain=True)
        publisher.publish(edge.status(), retain=True)
        started = edge.event("washer-1", EventType.CYCLE_STARTED, MachineState.RUNNING)
        publisher.publish(started)
        publisher.publish(started)  # a redelivery
        bad = edge.bad_messages()
        for message in bad.values():
            publisher.publish(message)
        publisher.publish(edge.event("dryer-1", EventType.DOOR_OPENED, MachineState.DOOR_OPEN, door=Door.OPEN))

        metrics = metrics_of(client)
        wait_until(lambda: metrics.accepted("event") == 2, what="the last event after the bad ones")
        for reason in bad:
            assert metrics.rejections(reason) == 1, reason
        assert metrics.accepted("duplicate") == 1
        assert (metrics.accepted("info"), metrics.accepted("status")) == (1, 1)
        shown = machines(client, unique_site)
        assert shown["washer-1"]["state"] == "running"
        assert (shown["dryer-1"]["state"], shown["dryer-1"]["door"]) == ("door_open", "open")
        assert "washer-9" not in shown


def test_ingest_resubscribes_after_the_broker_restarts(unique_site: str, tmp_path: Path) -> None:
    edge = FakeEdge(site=unique_site)
    port = free_port()
    broker = EmbeddedBroker(port=port).start()
    try:
        with running_app(f"sqlite:///{tmp_path / 'c.db'}", broker.url, unique_site) as client:
            wait_subscribed(client)
            broker.close()
            source = client.app.state.cloud.source  # type: ignore[attr-defined]
            wait_until(lambda: not source.connected, what="the disconnect to be noticed")
            assert client.get("/api/health").json()["mqtt"] == "disconnected"
            broker = EmbeddedBroker(port=port).start()
            wait_subscribed(client)
            edge_client = EdgePublisher(broker.host, broker.port)
            try:
                edge_client.publish(edge.info())
                edge_client.publish(edge.event("washer-2"))
            finally:
                edge_client.close()
            wait_until(lambda: machines(client, unique_site).get("washer-2", {}).get("state") == "running")
    finally:
        broker.close()


def test_the_service_starts_and_stops_while_the_broker_is_away(tmp_path: Path) -> None:
    nobody_listens = f"mqtt://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with running_app(f"sqlite:///{tmp_path / 'c.db'}", nobody_listens, "anywhere") as client:
        health = client.get("/api/health").json()
        assert (health["status"], health["mqtt"]) == ("ok", "disconnected")
        machines = client.get("/api/v1/machines/").json()
        assert isinstance(machines.pop("server_time"), str)  # the real clock's now
        assert machines == {"washers": [], "dryers": [], "timezone": "UTC", "rate": 1.0}
    assert time.monotonic() - started < 5
