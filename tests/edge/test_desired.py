"""Desired state from the cloud: the edge applies a newer revision once, shows it, and acks it.

A real broker (amqtt and Mosquitto); a plain paho client plays the cloud publishing the
retained ``desired`` messages; the indicator LEDs are gpiozero LEDs on mock pins.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from edge.config import RoomConfig, demo_room_config, parse_room_config
from edge.desired import META_PREFIX, ServiceDesk
from edge.errors import ConfigError
from edge.outbox import Outbox
from edge.status_report import format_stored_status
from kywash.clock import FakeClock
from kywash.contract import EdgeHealth, MachineDesired, decode_message, machine_topic
from tests.cloud.fake_edge import EdgePublisher
from tests.conftest import BrokerHandle
from tests.edge.fakes import wait_until
from tests.edge.test_agent import running
from tests.support.mqtt_watch import MqttWatcher

Watch = Callable[[str, int, str], MqttWatcher]
LED_WASHER_1 = 26
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def room_with_leds(site: str, broker_url: str, data_dir: Path) -> RoomConfig:
    config = demo_room_config(site, "room-1", broker_url, "loop://", data_dir)
    machines = list(config.machines)
    machines[0] = machines[0].model_copy(update={"indicator_pin": LED_WASHER_1})
    return config.model_copy(update={"machines": tuple(machines), "health_interval_s": 60.0})


def desired(config: RoomConfig, machine: str, revision: int, out_of_service: bool) -> tuple[str, bytes]:
    payload = MachineDesired(
        machine=machine, out_of_service=out_of_service, reason="leaking" if out_of_service else None,
        revision=revision, ts=NOW,
    )  # fmt: skip
    return machine_topic(config.site, config.room, machine, "desired"), payload.to_bytes()


@pytest.fixture
def cloud(any_broker: BrokerHandle) -> Iterator[EdgePublisher]:
    """Plays the cloud: publishes retained desired states, clears them afterwards."""
    client = EdgePublisher(any_broker.host, any_broker.port)
    yield client
    client.close()


def test_out_of_service_is_shown_lit_and_acknowledged(
    any_broker: BrokerHandle, watch: Watch, mock_factory: MockFactory, cloud: EdgePublisher,
    unique_site: str, tmp_path: Path,
) -> None:  # fmt: skip
    config = room_with_leds(unique_site, any_broker.url, tmp_path)
    live = watch(any_broker.host, any_broker.port, f"kywash/v1/{unique_site}/#")
    with running(config, mock_factory, FakeClock()) as agent:
        wait_until(lambda: len(live.matching("/state")) == 12, what="12 machine states")
        assert mock_factory.pin(LED_WASHER_1).state is False
        cloud.publish(desired(config, "washer-1", 3, True), retain=True)
        ack = live.wait_for("/washer-1/ack")
        assert (ack["machine"], ack["revision"], ack["out_of_service"]) == ("washer-1", 3, True)
        state = live.wait_for("/washer-1/state", lambda s: s["out_of_service"])
        assert state["state"] == "idle"  # the sensors' fact is unchanged; the service flag is added
        assert mock_factory.pin(LED_WASHER_1).state is True
        state_index = next(i for i, m in enumerate(live.received) if m.topic.endswith("/washer-1/state")
                           and m.json()["out_of_service"])  # fmt: skip
        ack_index = next(i for i, m in enumerate(live.received) if m.topic.endswith("/washer-1/ack"))
        assert state_index < ack_index  # the state shows it before the ack says so

        cloud.publish(desired(config, "washer-1", 2, False), retain=True)  # an older revision: ignored
        cloud.publish(desired(config, "washer-1", 4, False), retain=True)
        wait_until(lambda: len(live.matching("/washer-1/ack")) == 2, what="the second ack")
        assert live.matching("/washer-1/ack")[1].json()["revision"] == 4
        assert mock_factory.pin(LED_WASHER_1).state is False
        assert agent.publisher.service.stats().already_applied == 1
        wait_until(lambda: not live.matching("/washer-1/state")[-1].json()["out_of_service"], what="back in service")
        for message in live.received:
            decode_message(message.topic, message.payload)


def test_a_restart_does_not_acknowledge_an_old_revision_again(
    any_broker: BrokerHandle, watch: Watch, cloud: EdgePublisher, unique_site: str, tmp_path: Path
) -> None:
    config = room_with_leds(unique_site, any_broker.url, tmp_path)
    cloud.publish(desired(config, "washer-1", 5, True), retain=True)
    factory = MockFactory()
    try:
        with running(config, factory, FakeClock()):
            first = watch(any_broker.host, any_broker.port, f"kywash/v1/{unique_site}/+/machine/+/ack")
            first.wait_for("/washer-1/ack", lambda a: a["revision"] == 5)
    finally:
        factory.close()
    with Outbox(tmp_path / "outbox.db") as outbox:
        assert '"revision": 5' in (outbox.get_meta(META_PREFIX + "washer-1") or "")
    status = format_stored_status(config)  # what `kywash edge status` prints
    assert "OUT OF SERVICE (desired revision 5)" in next(line for line in status.splitlines() if "washer-1 " in line)

    live = watch(any_broker.host, any_broker.port, f"kywash/v1/{unique_site}/#")
    live.wait_for("/washer-1/ack")  # the retained ack of the first run
    factory = MockFactory()
    try:
        with running(config, factory, FakeClock()) as agent:
            assert factory.pin(LED_WASHER_1).state is True  # lit from the stored revision, before any broker
            live.wait_for("/washer-1/state", lambda s: s["out_of_service"])
            wait_until(lambda: agent.publisher.service.stats().already_applied >= 1, what="the retained desired")
            # A fresh publication reaches a live subscriber with retain=False; amqtt may replay the
            # retained one (retain=True) when another client subscribes, which is not an ack.
            assert [m for m in live.matching("/ack") if not m.retain] == []  # no second ack for revision 5
    finally:
        factory.close()


def test_an_edge_that_was_offline_converges_when_it_connects(
    any_broker: BrokerHandle, watch: Watch, mock_factory: MockFactory, cloud: EdgePublisher,
    unique_site: str, tmp_path: Path,
) -> None:  # fmt: skip
    config = room_with_leds(unique_site, any_broker.url, tmp_path)
    for revision, out in ((1, True), (2, False), (3, True)):  # changes while the edge was away
        cloud.publish(desired(config, "washer-2", revision, out), retain=True)
    live = watch(any_broker.host, any_broker.port, f"kywash/v1/{unique_site}/+/machine/+/ack")
    with running(config, mock_factory, FakeClock()):
        ack = live.wait_for("/washer-2/ack")
        assert (ack["revision"], ack["out_of_service"]) == (3, True)  # only the latest, retained one
        assert len(live.matching("/ack")) == 1


def test_health_is_published_retained_on_connect(
    any_broker: BrokerHandle, watch: Watch, mock_factory: MockFactory, unique_site: str, tmp_path: Path
) -> None:
    config = room_with_leds(unique_site, any_broker.url, tmp_path)
    live = watch(any_broker.host, any_broker.port, f"kywash/v1/{unique_site}/+/health")
    with running(config, mock_factory, FakeClock()) as agent:
        health = live.wait_for("/health")
        late = watch(any_broker.host, any_broker.port, f"kywash/v1/{unique_site}/+/health")
        assert late.wait_for("/health")["boot_id"] == agent.boot_id
        assert late.matching("/health")[0].retain
    parsed = EdgeHealth.model_validate(health)
    assert parsed.boot_id == agent.boot_id and parsed.mqtt_connects >= 1 and parsed.agent_version
    assert parsed.outbox_depth >= 0 and parsed.last_seq >= 0
    assert {s.machine for s in parsed.sensors} == {m.id for m in config.machines}


def test_the_desk_applies_only_newer_revisions_and_remembers_them(tmp_path: Path, unique_site: str) -> None:
    config = room_with_leds(unique_site, "mqtt://127.0.0.1:1", tmp_path)
    with Outbox(tmp_path / "outbox.db") as outbox:
        desk = ServiceDesk(config, outbox)
        assert desk.submit(*desired(config, "washer-1", 2, True))
        assert desk.submit(*desired(config, "washer-1", 1, False))  # older: queued, then skipped
        assert not desk.submit(desired(config, "washer-1", 3, True)[0], b"{broken")
        assert not desk.submit(machine_topic(config.site, config.room, "washer-9", "desired"), b"{}")
        assert not desk.submit(desired(config, "washer-1", 3, True)[0], b"")  # a cleared retained topic
        applied = desk.apply(100.0)
        assert [(a.machine, a.revision, a.out_of_service) for a in applied] == [("washer-1", 2, True)]
        assert desk.stats().already_applied == 1 and desk.stats().malformed == 2
        topic, payload = desk.ack_message(applied[0])
        assert topic.endswith("/washer-1/ack") and b'"revision":2' in payload
        again = ServiceDesk(config, outbox)  # after a restart
        assert again.out_of_service("washer-1") and not again.out_of_service("washer-2")
        again.submit(*desired(config, "washer-1", 2, True))
        assert again.apply(200.0) == []


@pytest.mark.parametrize(("pin", "clash"), [(5, "washer-1"), (6, "washer-2"), (26, "washer-1")])
def test_an_indicator_pin_must_be_free(tmp_path: Path, pin: int, clash: str) -> None:
    config = demo_room_config("north", "room-1", "mqtt://127.0.0.1:1883", "loop://", tmp_path)
    data = config.model_dump(mode="json")
    data["machines"][0]["indicator_pin"] = 26
    data["machines"][1]["indicator_pin"] = pin
    with pytest.raises(
        ConfigError, match=rf"machines\[1\]\.indicator_pin: indicator_pin {pin} is already used by {clash}$"
    ):
        parse_room_config(data, "room.toml")
