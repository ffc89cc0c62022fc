"""Staff dashboards through a real broker: commands, acks, health, summaries, HA's birth message.

The app runs with ingest on against the in-process amqtt broker; plain paho clients play
the room's edge (``EdgePublisher``), a staff dashboard and Home Assistant.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from cloud.platform.settings import CloudSettings
from cloud.runtime.app import create_app
from kywash.clock import FakeClock
from kywash.contract import EdgeHealth, MachineAck, command_topic, machine_topic, room_topic
from tests.cloud.accounts_support import make_account
from tests.cloud.fake_edge import EdgePublisher, FakeEdge, wait_until
from tests.cloud.faults_support import report
from tests.conftest import BrokerHandle
from tests.support.mqtt_watch import MqttWatcher

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
def room(app_client: TestClient, publisher: EdgePublisher, unique_site: str) -> FakeEdge:
    edge = FakeEdge(site=unique_site)
    publisher.publish(edge.info(), retain=True)
    publisher.publish(edge.status(), retain=True)
    wait_until(lambda: app_client.get("/api/v1/machines/washer/1").status_code == 200, what="the room to register")
    return edge


def machine_view(client: TestClient, kind: str, number: int, headers: dict[str, str] | None = None) -> Any:
    return client.get(f"/api/v1/machines/{kind}/{number}", headers=headers or {}).json()


def activities(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = client.get("/api/v1/activities/", headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def rejected(client: TestClient, reason: str) -> float:
    return float(client.app.state.cloud.ingest.metrics.rejections(reason))  # type: ignore[attr-defined]


def test_a_staff_command_goes_out_as_desired_state_and_the_ack_marks_it_applied(
    app_client: TestClient, publisher: EdgePublisher, room: FakeEdge, amqtt_broker: BrokerHandle
) -> None:
    staff = make_account(app_client, "alice", role="staff")
    desired_topic = machine_topic(room.site, room.room, "washer-1", "desired")
    watcher = MqttWatcher(amqtt_broker.host, amqtt_broker.port, desired_topic)
    try:
        publisher.publish((command_topic(room.site, room.room, "washer-1", "alice"),
                           b'{"out_of_service": true, "reason": "drum bearing noise"}'))  # fmt: skip
        _, desired, _ = watcher.next("/desired")
        assert (desired["out_of_service"], desired["reason"], desired["revision"]) == (True, "drum bearing noise", 1)
    finally:
        watcher.close()
    publisher.retained.add(desired_topic)  # cleared afterwards

    entry = next(a for a in activities(app_client, staff.headers) if a["type"] == "machine_out_of_service")
    assert entry["user_id"] == staff.id and "alice" in entry["message"] and "drum bearing noise" in entry["message"]
    assert entry["data"]["broker_user"] == "alice" and entry["data"]["via"] == "mqtt"
    shown = machine_view(app_client, "washer", 1, staff.headers)
    assert shown["out_of_service"] and shown["service_sync"] == "pending" and shown["desired_revision"] == 1

    ack = MachineAck(machine="washer-1", revision=1, out_of_service=True, applied_at=NOW)
    publisher.publish((machine_topic(room.site, room.room, "washer-1", "ack"), ack.to_bytes()), retain=True)
    wait_until(lambda: machine_view(app_client, "washer", 1)["service_sync"] == "applied", what="the ack")
    shown = machine_view(app_client, "washer", 1)
    assert shown["applied_revision"] == 1 and shown["applied_at"].startswith("2026-11-26T12:00")

    # plain text from a broker user the cloud has no account for: recorded by broker username
    publisher.publish((command_topic(room.site, room.room, "washer-1", "night-porter"), b"in_service"))
    wait_until(lambda: not machine_view(app_client, "washer", 1)["out_of_service"], what="back in service")
    entry = next(a for a in activities(app_client, staff.headers) if a["type"] == "machine_back_in_service")
    assert entry["user_id"] is None and entry["data"]["broker_user"] == "night-porter"
    assert machine_view(app_client, "washer", 1)["service_sync"] == "pending"


def test_bad_commands_are_logged_and_counted_never_applied(
    app_client: TestClient, publisher: EdgePublisher, room: FakeEdge, caplog: pytest.LogCaptureFixture
) -> None:
    before = rejected(app_client, "bad_command")
    unknown = rejected(app_client, "unknown_machine")
    for payload in (b"please", b'{"reason": "no verdict"}', b'{"out_of_service": "maybe"}', b"\xff"):
        publisher.publish((command_topic(room.site, room.room, "washer-1", "alice"), payload))
    publisher.publish((command_topic(room.site, room.room, "washer-9", "alice"), b"out_of_service"))
    wait_until(lambda: rejected(app_client, "bad_command") == before + 4, what="four bad commands counted")
    wait_until(lambda: rejected(app_client, "unknown_machine") == unknown + 1, what="the unknown machine")
    assert not machine_view(app_client, "washer", 1)["out_of_service"]
    assert any("bad_command" in record.getMessage() for record in caplog.records)
    publisher.publish((command_topic(room.site, room.room, "washer-1", "alice"), b"out_of_service"))
    wait_until(lambda: machine_view(app_client, "washer", 1)["out_of_service"], what="ingest to go on")
    publisher.retained.add(machine_topic(room.site, room.room, "washer-1", "desired"))


def test_an_old_or_unasked_ack_changes_nothing(
    app_client: TestClient, publisher: EdgePublisher, room: FakeEdge
) -> None:
    ack = MachineAck(machine="washer-2", revision=7, out_of_service=True, applied_at=NOW)  # never asked for
    publisher.publish((machine_topic(room.site, room.room, "washer-2", "ack"), ack.to_bytes()), retain=True)
    wait_until(lambda: app_client.app.state.cloud.ingest.metrics.accepted("ack") >= 1, what="the ack")  # type: ignore[attr-defined]
    shown = machine_view(app_client, "washer", 2)
    assert (shown["applied_revision"], shown["service_sync"]) == (0, "none")


def test_the_edges_health_is_kept_and_shown_to_staff(
    app_client: TestClient, publisher: EdgePublisher, room: FakeEdge
) -> None:
    staff = make_account(app_client, "boss", role="staff")
    health = EdgeHealth(
        boot_id="boot-1", agent_version="0.1.0", uptime_s=60, outbox_depth=4, events_pending=1,
        events_in_flight=3, last_seq=10, last_sent_seq=10, last_acked_seq=6, board_connected=False,
        serial_errors=2, bad_frames=5, board_reconnects=1, mqtt_connects=3, mqtt_reconnects=2,
        mqtt_connect_failures=1, telemetry_dropped=0, sensor_faults=0, ts=NOW,
    )  # fmt: skip
    publisher.publish((room_topic(room.site, room.room, "health"), health.to_bytes()), retain=True)

    def shown() -> Any:
        rooms = app_client.get("/api/v1/rooms/status", headers=staff.headers).json()
        return next(r for r in rooms if r["site"] == room.site)["health"]

    wait_until(lambda: shown() is not None, what="the health to be stored")
    assert shown()["outbox_depth"] == 4 and shown()["serial_errors"] == 2 and shown()["board_connected"] is False


def test_the_summary_is_retained_and_follows_faults_and_service(
    app_client: TestClient, room: FakeEdge, amqtt_broker: BrokerHandle, publisher: EdgePublisher
) -> None:
    topic = room_topic(room.site, room.room, "summary")
    publisher.retained.add(topic)
    for machine in ("washer-1", "washer-2", "dryer-1"):
        publisher.publish(room.state(machine), retain=True)
    watcher = MqttWatcher(amqtt_broker.host, amqtt_broker.port, topic)
    try:

        def latest(predicate: Any) -> dict[str, Any]:
            while True:
                _, summary, _ = watcher.next("/summary")
                if predicate(summary):
                    return dict(summary)

        first = latest(lambda s: s["washers"]["free"] == 2 and s["dryers"]["free"] == 1)
        assert first["online"] and first["washers"]["free_machines"] == ["washer-1", "washer-2"]
        assert first["open_faults"] == 0 and first["out_of_service"] == []

        student = make_account(app_client, "111111")
        report(app_client, student, number=2)
        after_report = latest(lambda s: s["open_faults"] == 1)
        assert after_report["washers"]["free"] == 2

        staff = make_account(app_client, "boss", role="staff")
        app_client.post("/api/v1/machines/washer/1/out-of-service", json={"reason": "x"}, headers=staff.headers)
        publisher.retained.add(machine_topic(room.site, room.room, "washer-1", "desired"))
        out = latest(lambda s: s["out_of_service"] == ["washer-1"])
        assert out["washers"]["free"] == 1 and out["washers"]["free_machines"] == ["washer-2"]

        watcher.drain()
        publisher.publish(room.state("dryer-1"), retain=True)  # the same state again: nothing changes
        make_account(app_client, "222222")
        late = MqttWatcher(amqtt_broker.host, amqtt_broker.port, topic)  # a dashboard that connects later
        try:
            _, retained, flag = late.next("/summary")
            assert flag and retained["out_of_service"] == ["washer-1"]
        finally:
            late.close()
        assert [t for t, _, retain in watcher.drain() if not retain] == []  # nothing republished
    finally:
        watcher.close()


def test_home_assistant_online_gets_discovery_again(
    app_client: TestClient, room: FakeEdge, amqtt_broker: BrokerHandle
) -> None:
    node = f"kywash_{room.site}_{room.room}_washer-1"
    ha = MqttWatcher(amqtt_broker.host, amqtt_broker.port, f"homeassistant/+/{node}/+/config")
    try:
        ha.next("/config")  # the room's registration published them (retained) already
        time.sleep(0.5)
        ha.drain()
        ha.publish("homeassistant/status", b"online")
        fresh: set[str] = set()
        while len(fresh) < 4:
            topic, config, retain = ha.next("/config")
            if not retain:  # published now, not a retained copy
                fresh.add(topic)
                assert config["device"]["identifiers"] == [node]
        assert fresh == {
            f"homeassistant/sensor/{node}/state/config",
            f"homeassistant/binary_sensor/{node}/door/config",
            f"homeassistant/sensor/{node}/current/config",
            f"homeassistant/switch/{node}/out_of_service/config",
        }
        time.sleep(0.5)
        ha.drain()
        ha.publish("homeassistant/status", b"offline")  # its last will: nothing to send
        time.sleep(1.0)
        assert [topic for topic, _, retain in ha.drain() if not retain] == []
    finally:
        ha.close()


def test_a_retained_command_is_not_applied_again_on_subscribing(
    amqtt_broker: BrokerHandle, publisher: EdgePublisher, unique_site: str, tmp_path: Path
) -> None:
    settings = CloudSettings(
        database_url=f"sqlite:///{tmp_path / 'cloud.db'}", mqtt_url=amqtt_broker.url, ingest_site=unique_site,
        photo_dir=str(tmp_path / "photos"), timer_loop=False, web_push=False,
    )  # fmt: skip
    edge = FakeEdge(site=unique_site)
    publisher.publish(edge.info(), retain=True)
    publisher.publish(edge.status(), retain=True)
    publisher.publish((command_topic(edge.site, edge.room, "washer-1", "alice"), b"out_of_service"), retain=True)
    with TestClient(create_app(settings, clock=FakeClock())) as client:
        assert client.app.state.cloud.source.wait_subscribed(10)  # type: ignore[attr-defined]
        wait_until(lambda: client.get("/api/v1/machines/washer/1").status_code == 200, what="the room")
        time.sleep(0.5)
        assert not machine_view(client, "washer", 1)["out_of_service"]
        assert client.app.state.cloud.ingest.metrics.accepted("cmd") == 0  # type: ignore[attr-defined]
