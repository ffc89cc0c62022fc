"""The agent against real brokers (amqtt and Mosquitto): what a dashboard sees, and what survives."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gpiozero.pins.mock import MockFactory

from edge.agent import EdgeAgent
from edge.config import RoomConfig, demo_room_config
from edge.sensors.board_protocol import DataFrame, format_frame
from kywash.clock import FakeClock
from kywash.contract import decode_message
from launchers.broker import EmbeddedBroker, free_port
from tests.conftest import BrokerHandle
from tests.edge.fakes import FrameServer, wait_until
from tests.support.mqtt_watch import MqttWatcher

Watch = Callable[[str, int, str], MqttWatcher]


def room_config(site: str, broker_url: str, data_dir: Path, board_url: str = "loop://", **board: Any) -> RoomConfig:
    config = demo_room_config(site, "room-1", broker_url, board_url, data_dir)
    if board:
        config = config.model_copy(update={"board": config.board.model_copy(update=board)})
    return config


@contextmanager
def running(config: RoomConfig, factory: MockFactory, clock: FakeClock) -> Iterator[EdgeAgent]:
    """An agent whose doors are all shut (as the simulator leaves them) when it starts."""
    agent = EdgeAgent(config, clock=clock, pin_factory=factory)
    try:
        for machine in config.machines:
            factory.pin(machine.door_pin).drive_low()
        agent.start()
        yield agent
    finally:
        agent.close()


def frame(seq: int, *amps: float) -> bytes:
    return format_frame(DataFrame(seq, tuple(amps)))


def test_dashboard_sees_the_room_then_events(
    any_broker: BrokerHandle, watch: Watch, mock_factory: MockFactory, unique_site: str, tmp_path: Path
) -> None:
    config = room_config(unique_site, any_broker.url, tmp_path)
    live = watch(any_broker.host, any_broker.port, f"kywash/v1/{unique_site}/#")
    with running(config, mock_factory, FakeClock()) as agent:
        wait_until(lambda: len(live.matching("/state")) == 12, what="12 machine states")
        late = watch(any_broker.host, any_broker.port, f"kywash/v1/{unique_site}/#")  # a dashboard opened later
        wait_until(lambda: len(late.received) >= 14, what="the retained room")
        assert all(m.retain for m in late.received)
        for message in late.received:
            decode_message(message.topic, message.payload)  # every payload honours the contract
        assert late.wait_for("/status")["status"] == "online"
        info = late.wait_for("/info")
        assert info["agent_version"] and len(info["machines"]) == 12 and info["boot_id"] == agent.boot_id
        states = {m.json()["machine"]: m.json() for m in late.matching("/state")}
        assert {s["state"] for s in states.values()} == {"idle"} and {s["seq"] for s in states.values()} == {0}

        mock_factory.pin(5).drive_high()  # washer-1's door opens
        event = live.wait_for("/washer-1/event")
        assert (event["seq"], event["type"], event["state"], event["door"]) == (1, "door_opened", "door_open", "open")
        state = live.wait_for("/washer-1/state", lambda s: s["seq"] == 1)
        assert state["state"] == "door_open"
        wait_until(lambda: agent.status().outbox_depth == 0, what="the outbox to drain")
        status = agent.status()
        assert status.broker_connected and status.last_seq == 1
        assert status.machines[0].state == "door_open" and status.stats.door_changes == 1
    offline = live.wait_for("/status", lambda s: s["status"] == "offline")
    assert offline["boot_id"] == agent.boot_id and offline["ts"] is not None  # said on a clean close


def test_last_will_says_offline_when_the_connection_dies(
    any_broker: BrokerHandle, watch: Watch, mock_factory: MockFactory, unique_site: str, tmp_path: Path
) -> None:
    config = room_config(unique_site, any_broker.url, tmp_path)
    live = watch(any_broker.host, any_broker.port, f"kywash/v1/{unique_site}/+/status")
    with running(config, mock_factory, FakeClock()) as agent:
        live.wait_for("/status", lambda s: s["status"] == "online")
        client = agent.publisher.client
        sock = client.socket()
        client.loop_stop()  # no reconnect: the process is as good as dead
        assert isinstance(sock, socket.socket)
        sock.shutdown(socket.SHUT_RDWR)  # gone without DISCONNECT
        sock.close()
        will = live.wait_for("/status", lambda s: s["status"] == "offline")
        assert will["boot_id"] == agent.boot_id and will["ts"] is None  # the broker's copy, sent for us


def test_events_written_while_the_broker_is_away_arrive_when_it_appears(
    watch: Watch, mock_factory: MockFactory, unique_site: str, tmp_path: Path
) -> None:
    port = free_port()
    config = room_config(unique_site, f"mqtt://127.0.0.1:{port}", tmp_path)
    with running(config, mock_factory, FakeClock()) as agent:
        publisher = agent.publisher
        wait_until(lambda: publisher.status().connect_failures >= 1, what="a failed connection attempt")
        mock_factory.pin(5).drive_high()
        mock_factory.pin(19).drive_high()
        wait_until(lambda: agent.status().outbox_depth == 2, what="two events in the outbox")
        # paho retries 1 s after that failure: time enough to start the broker and subscribe.
        with EmbeddedBroker(port=port) as broker:
            live = watch(broker.host, broker.port, f"kywash/v1/{unique_site}/#")
            wait_until(lambda: agent.status().outbox_depth == 0, what="the outbox to drain")
            events = [live.wait_for("/washer-1/event"), live.wait_for("/dryer-1/event")]
            assert sorted(e["seq"] for e in events) == [1, 2]
            assert live.wait_for("/washer-1/state", lambda s: s["seq"] >= 1)["state"] == "door_open"
            assert agent.status().publisher.acked == 2
            live.close()


def test_current_from_the_board_runs_the_detectors(
    amqtt_broker: BrokerHandle,
    watch: Watch,
    mock_factory: MockFactory,
    unique_site: str,
    tmp_path: Path,
    frame_server: FrameServer,
) -> None:
    config = room_config(unique_site, amqtt_broker.url, tmp_path, frame_server.url)
    live = watch(amqtt_broker.host, amqtt_broker.port, f"kywash/v1/{unique_site}/#")
    clock = FakeClock()
    with running(config, mock_factory, clock) as agent:
        frame_server.wait_connected()
        board = agent.board
        wait_until(lambda: board.health().connected, what="the board port")
        washers_only = [5.0, 0.0, 0.0, 0.0, 0.0, 0.0]  # a 6-channel board: dryers' channels are missing
        frame_server.send(frame(1, *washers_only))
        wait_until(lambda: agent.status().stats.board_readings == 1, what="the first reading")
        clock.advance(11)
        frame_server.send(frame(2, *washers_only))
        started = live.wait_for("/washer-1/event")
        assert (started["type"], started["state"], started["current_a"]) == ("cycle_started", "running", 5.0)
        assert agent.status().stats.missing_channel == 12  # 6 dryers x 2 frames, logged once each
        clock.advance(config.telemetry_interval_s)
        telemetry = live.wait_for("/washer-1/telemetry")
        assert telemetry["current_a"] == 5.0 and telemetry["door"] == "closed"
        assert not any(m.retain for m in live.matching("/telemetry"))


def test_silent_board_is_a_sensor_fault_and_recovers(
    amqtt_broker: BrokerHandle,
    watch: Watch,
    mock_factory: MockFactory,
    unique_site: str,
    tmp_path: Path,
    frame_server: FrameServer,
) -> None:
    config = room_config(unique_site, amqtt_broker.url, tmp_path, frame_server.url, silence_fault_s=0.2)
    live = watch(amqtt_broker.host, amqtt_broker.port, f"kywash/v1/{unique_site}/+/machine/+/event")
    clock = FakeClock()
    with running(config, mock_factory, clock) as agent:
        clock.advance(1.0)  # silence: 1 s of clock time, and 0.2 s of real time soon passes
        wait_until(lambda: len(live.matching("/event")) == 12, what="12 sensor faults")
        faults = [m.json() for m in live.matching("/event")]
        assert {(f["type"], f["state"], f["reason"]) for f in faults} == {
            ("sensor_fault", "sensor_fault", "board_silent")
        }
        frame_server.wait_connected()
        frame_server.send(frame(1, *[0.0] * 12))
        wait_until(lambda: len(live.matching("/event")) == 24, what="12 recoveries")
        recovered = [m.json() for m in live.matching("/event")][12:]
        assert {(r["type"], r["state"]) for r in recovered} == {("sensor_recovered", "idle")}
        assert agent.status().stats.sensor_faults == 12


def test_a_restarted_agent_restores_machines_and_continues_the_sequence(
    amqtt_broker: BrokerHandle, watch: Watch, unique_site: str, tmp_path: Path
) -> None:
    config = room_config(unique_site, amqtt_broker.url, tmp_path)
    live = watch(amqtt_broker.host, amqtt_broker.port, f"kywash/v1/{unique_site}/+/machine/+/event")
    clock = FakeClock()
    first_factory = MockFactory()
    with running(config, first_factory, clock) as first:
        first_factory.pin(5).drive_high()  # washer-1 open
        wait_until(lambda: first.status().outbox_depth == 0 and first.status().last_seq == 1, what="seq 1 sent")
    first_factory.close()

    second_factory = MockFactory()  # the Pi rebooted: washer-1 still open, dryer-1 opened meanwhile
    agent = EdgeAgent(config, clock=clock, pin_factory=second_factory)
    try:
        for machine in config.machines:
            second_factory.pin(machine.door_pin).drive_low()
        second_factory.pin(5).drive_high()
        second_factory.pin(19).drive_high()
        agent.start()
        event = live.wait_for("/dryer-1/event")
        assert (event["seq"], event["type"]) == (2, "door_opened")
        status = agent.status()
        assert {m.id: m.state for m in status.machines}["washer-1"] == "door_open"  # restored, no new event
        assert [e.json()["seq"] for e in live.matching("/washer-1/event")] == [1]
        assert len(agent.outbox.boots()) == 2
    finally:
        agent.close()
        second_factory.close()
