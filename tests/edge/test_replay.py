"""Replay on the cloud's request: archived events come back with their original seq and bytes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from gpiozero.pins.mock import MockFactory

from edge.agent import EdgeAgent
from edge.config import RoomConfig, demo_room_config
from edge.outbox import EventDraft, Outbox
from edge.replay import ReplayDesk
from kywash.clock import FakeClock, ScaledClock
from kywash.contract import ReplayRequest, room_topic
from launchers.stack import SimulatedRoom
from tests.conftest import BrokerHandle
from tests.edge.fakes import wait_until
from tests.support.mqtt_watch import MqttWatcher

Watch = Callable[[str, int, str], MqttWatcher]


def cloud_client(broker: BrokerHandle) -> MqttWatcher:
    """A plain paho client standing in for the cloud (it only publishes)."""
    return MqttWatcher(broker.host, broker.port)


def ask(cloud: MqttWatcher, site: str, payload: bytes | str, room: str = "room-1") -> None:
    cloud.publish(room_topic(site, room, "replay"), payload)


def request(from_seq: int, to_seq: int | None = None) -> bytes:
    return ReplayRequest(from_seq=from_seq, to_seq=to_seq, reason="test gap", ts=datetime.now(UTC)).to_bytes()


def events_by_seq(watcher: MqttWatcher) -> dict[int, list[bytes]]:
    seen: dict[int, list[bytes]] = {}
    for message in watcher.matching("/event"):
        seen.setdefault(message.json()["seq"], []).append(message.payload)
    return seen


def test_a_simulated_room_replays_the_requested_events_unchanged(
    amqtt_broker: BrokerHandle, watch: Watch, unique_site: str, tmp_path: Path
) -> None:
    live = watch(amqtt_broker.host, amqtt_broker.port, f"kywash/v1/{unique_site}/+/machine/+/event")
    clock = ScaledClock(speed=10)
    with SimulatedRoom(
        unique_site, "room-1", amqtt_broker.url, tmp_path, clock, students=False, door_bounce=False
    ) as room:
        agent = room.agent

        def door_changes(count: int) -> None:
            wait_until(lambda: agent.status().stats.door_changes >= count, what=f"{count} door changes")

        for index, machine in enumerate(("washer-1", "washer-2", "dryer-1")):
            room.sim.open_door(machine)
            door_changes(2 * index + 1)
            room.sim.close_door(machine)
            door_changes(2 * index + 2)
        wait_until(lambda: len(events_by_seq(live)) >= 6, what="six door events")
        wait_until(lambda: agent.outbox.archive_size() >= 6, what="the acknowledged events archived")
        first_time = {seq: payloads[0] for seq, payloads in events_by_seq(live).items()}

        with cloud_client(amqtt_broker) as cloud:
            ask(cloud, unique_site, request(2, 4))
            wait_until(lambda: all(len(events_by_seq(live)[s]) == 2 for s in (2, 3, 4)), what="seqs 2-4 again")
            replayed = events_by_seq(live)
            assert all(replayed[s][1] == first_time[s] for s in (2, 3, 4))  # byte for byte: same seq, boot, ts
            assert all(len(replayed[s]) == 1 for s in first_time if s not in (2, 3, 4))
            wait_until(lambda: agent.status().outbox_depth == 0, what="the replay to drain")
            assert agent.outbox.archive_size() >= 6  # acknowledged again, archived again

            ask(cloud, unique_site, request(5))  # to the newest
            newest = agent.outbox.last_seq()
            wait_until(lambda: len(events_by_seq(live)[newest]) == 2, what="the newest seq again")
        stats = agent.status().publisher.replay
        assert stats.requests == 2 and stats.requeued == 3 + newest - 4 and stats.missing == 0


def room_config(site: str, broker_url: str, data_dir: Path, **changes: object) -> RoomConfig:
    return demo_room_config(site, "room-1", broker_url, "loop://", data_dir).model_copy(update=changes)


@contextmanager
def running(config: RoomConfig, factory: MockFactory) -> Iterator[EdgeAgent]:
    agent = EdgeAgent(config, clock=FakeClock(), pin_factory=factory)
    try:
        for machine in config.machines:
            factory.pin(machine.door_pin).drive_low()
        agent.start()
        yield agent
    finally:
        agent.close()


def test_malformed_requests_are_counted_and_seqs_gone_from_the_archive_are_missing(
    amqtt_broker: BrokerHandle, watch: Watch, mock_factory: MockFactory, unique_site: str, tmp_path: Path
) -> None:
    config = room_config(unique_site, amqtt_broker.url, tmp_path, archive_events=2)
    live = watch(amqtt_broker.host, amqtt_broker.port, f"kywash/v1/{unique_site}/+/machine/+/event")
    with running(config, mock_factory) as agent, cloud_client(amqtt_broker) as cloud:
        wait_until(lambda: agent.publisher.connected, what="the agent to connect")
        for pin in (5, 6, 12, 13):  # four washers' doors open: seqs 1-4
            mock_factory.pin(pin).drive_high()
        wait_until(lambda: agent.outbox.last_acked() == 4, what="four acknowledged events")
        assert agent.outbox.archive_size() == 2  # seqs 3 and 4; 1 and 2 trimmed

        for bad in (b"not json", b'{"from_seq": 0, "ts": "2026-01-01T00:00:00Z"}', request(4, 2), b"[]"):
            ask(cloud, unique_site, bad)
        ask(cloud, unique_site, request(1, 4))
        wait_until(lambda: agent.status().publisher.replay.missing == 2, what="the replay to run")
        wait_until(lambda: len(events_by_seq(live).get(4, [])) == 2, what="seq 4 again")
        stats = agent.status().publisher.replay
        assert (stats.malformed, stats.requests, stats.requeued, stats.missing) == (4, 1, 2, 2)
        assert agent.health()[0] and agent.status().running

        mock_factory.pin(16).drive_high()  # the agent carries on as before
        wait_until(lambda: 5 in events_by_seq(live), what="a new event after the bad requests")


def test_the_desk_refuses_other_rooms_and_leaves_the_outbox_alone_until_run(tmp_path: Path) -> None:
    desk = ReplayDesk("site-a", "room-1")
    assert not desk.submit(room_topic("site-a", "room-2", "replay"), request(1))
    assert not desk.submit("kywash/v1/site-a/room-1/status", request(1))
    assert desk.stats().malformed == 2 and not desk.waiting
    with Outbox(tmp_path / "outbox.db") as outbox:
        outbox.append_events([EventDraft("w", "t", lambda seq: f"{seq}".encode()) for _ in range(3)])
        for seq in (1, 2, 3):
            outbox.ack(seq)
        assert desk.submit(desk.topic, request(2)) and desk.submit(desk.topic, request(3, 3))
        assert outbox.depth() == 0  # submitting (paho's thread) never touches the database
        assert desk.run(outbox) == 2
        assert [row.payload for row in outbox.pending()] == [b"2", b"3"]
        assert desk.stats().requeued == 2 and desk.stats().already_pending == 1
