"""Out of service end to end, through a real broker (amqtt and Mosquitto) and a real edge agent:
a staff dashboard's ``cmd`` (or the web API) -> cloud -> retained ``desired`` -> EdgeAgent
(state, indicator LED on a mock pin) -> ``ack`` -> the cloud shows the change as applied."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory
from starlette.testclient import TestClient

from cloud.platform.settings import CloudSettings
from cloud.runtime.app import create_app
from edge.agent import EdgeAgent
from edge.config import demo_room_config
from kywash.clock import FakeClock
from kywash.contract import command_topic, machine_topic
from tests.cloud.accounts_support import make_account
from tests.cloud.fake_edge import EdgePublisher, wait_until
from tests.conftest import BrokerHandle
from tests.support.mqtt_watch import MqttWatcher

LED_PIN = 26


@pytest.fixture
def cloud(any_broker: BrokerHandle, unique_site: str, tmp_path: Path) -> Iterator[TestClient]:
    settings = CloudSettings(
        database_url=f"sqlite:///{tmp_path / 'cloud.db'}",
        mqtt_url=any_broker.url,
        ingest_site=unique_site,
        photo_dir=str(tmp_path / "photos"),
        timer_loop=False,
        web_push=False,
    )
    with TestClient(create_app(settings, clock=FakeClock())) as client:
        assert client.app.state.cloud.source.wait_subscribed(10)  # type: ignore[attr-defined]
        yield client


@pytest.fixture
def agent(any_broker: BrokerHandle, unique_site: str, tmp_path: Path) -> Iterator[tuple[EdgeAgent, MockFactory]]:
    config = demo_room_config(unique_site, "room-1", any_broker.url, "loop://", tmp_path / "edge")
    machines = list(config.machines)
    machines[1] = machines[1].model_copy(update={"indicator_pin": LED_PIN})  # washer-2
    config = config.model_copy(update={"machines": tuple(machines)})
    factory = MockFactory()
    edge = EdgeAgent(config, clock=FakeClock(), pin_factory=factory)
    try:
        for machine in config.machines:
            factory.pin(machine.door_pin).drive_low()
        edge.start()
        yield edge, factory
    finally:
        edge.close()
        factory.close()


def washer_2(client: TestClient) -> dict[str, Any]:
    response = client.get("/api/v1/machines/washer/2")
    return response.json() if response.status_code == 200 else {}


def test_out_of_service_from_a_dashboard_and_from_the_web_app_reaches_the_edge_and_back(
    cloud: TestClient, agent: tuple[EdgeAgent, MockFactory], publisher: EdgePublisher,
    any_broker: BrokerHandle, unique_site: str,
) -> None:  # fmt: skip
    edge, factory = agent
    wait_until(lambda: washer_2(cloud).get("usage") == "free", what="the room to register")
    staff = make_account(cloud, "alice", role="staff")
    states = MqttWatcher(any_broker.host, any_broker.port, machine_topic(unique_site, "room-1", "washer-2", "state"))
    try:
        publisher.publish((command_topic(unique_site, "room-1", "washer-2", "alice"),
                           b'{"out_of_service": true, "reason": "leaking"}'))  # fmt: skip
        wait_until(lambda: washer_2(cloud).get("service_sync") == "applied", what="the edge's ack")
        shown = washer_2(cloud)
        assert shown["out_of_service"] and shown["service_reason"] == "leaking" and shown["applied_revision"] == 1
        assert factory.pin(LED_PIN).state is True
        states.wait_for("/state", lambda s: s["out_of_service"])
        log = cloud.get("/api/v1/activities/", headers=staff.headers).json()["items"]
        entry = next(a for a in log if a["type"] == "machine_out_of_service")
        assert entry["user_id"] == staff.id and entry["data"]["broker_user"] == "alice"

        back = cloud.post("/api/v1/machines/washer/2/back-in-service", json={"note": "fixed"}, headers=staff.headers)
        assert back.status_code == 200, back.text
        wait_until(lambda: washer_2(cloud).get("applied_revision") == 2, what="the second ack")
        assert washer_2(cloud)["service_sync"] == "applied" and not washer_2(cloud)["out_of_service"]
        assert factory.pin(LED_PIN).state is False
        wait_until(lambda: not states.matching("/state")[-1].json()["out_of_service"], what="the state to say so")
        assert edge.publisher.service.stats().applied == 2
    finally:
        states.close()
        publisher.retained.add(machine_topic(unique_site, "room-1", "washer-2", "desired"))
        publisher.retained.add(machine_topic(unique_site, "room-1", "washer-2", "ack"))
