"""The outbox's bounds: events survive a full disk, the archive is trimmed, telemetry drops oldest."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from edge.agent import EdgeAgent
from edge.config import demo_room_config
from edge.errors import OutboxError
from edge.outbox import EventDraft, Outbox, OutboxFull
from edge.publisher import Publisher
from kywash.clock import FakeClock
from kywash.contract import machine_topic
from launchers.broker import free_port
from tests.conftest import BrokerHandle
from tests.edge.fakes import wait_until
from tests.support.mqtt_watch import MqttWatcher

Watch = Callable[[str, int, str], MqttWatcher]


def drafts(count: int, size: int = 10) -> list[EventDraft]:
    return [EventDraft("washer-1", "t/event", lambda seq: f"{seq:<{size}}".encode()) for _ in range(count)]


def test_ack_moves_rows_to_an_archive_bounded_by_seq(tmp_path: Path) -> None:
    with Outbox(tmp_path / "outbox.db", archive_events=3) as outbox:
        outbox.append_events(drafts(6))
        for seq in (1, 2, 3, 4, 5):
            outbox.ack(seq)
        assert outbox.depth() == 1 and outbox.archive_size() == 3 and outbox.last_acked() == 5
        result = outbox.requeue(1)  # 1 and 2 trimmed, 3-5 archived, 6 still pending
        assert (result.requeued, result.already_pending, result.missing, result.last) == (3, 1, 2, 6)
        assert [(r.seq, r.payload) for r in outbox.pending()] == [(s, f"{s:<10}".encode()) for s in (3, 4, 5, 6)]
        assert outbox.archive_size() == 0 and outbox.append_events(drafts(1)) == [7]  # numbers never reused


def test_a_full_disk_writes_nothing_and_the_batch_succeeds_later(tmp_path: Path) -> None:
    with Outbox(tmp_path / "outbox.db") as outbox:
        outbox.append_events(drafts(20, size=1000))
        outbox.limit_size(1)  # no more pages than the file has now
        with pytest.raises(OutboxFull, match="full"):
            for _ in range(100):
                outbox.append_events(drafts(5, size=1000))
        depth, last = outbox.depth(), outbox.last_seq()
        with pytest.raises(OutboxFull):
            outbox.append_events(drafts(5, size=1000))
        assert (outbox.depth(), outbox.last_seq()) == (depth, last)  # nothing half-written
        with pytest.raises(OutboxFull):  # the last free bytes of every page
            for index in range(1000):
                outbox.put_meta(f"ballast-{index}", "x" * 200)
        for seq in range(1, depth + 1):  # no room to archive them all: delivered rows still leave
            outbox.ack(seq)
        assert outbox.depth() == 0 and outbox.archive_skipped >= 1
        assert outbox.archive_size() + outbox.archive_skipped == depth
        outbox.limit_size(None)
        assert outbox.append_events(drafts(5, size=1000)) == list(range(last + 1, last + 6))
    assert issubclass(OutboxFull, OutboxError)


def test_the_agent_keeps_events_in_memory_while_the_disk_is_full(
    mock_factory: MockFactory, unique_site: str, tmp_path: Path
) -> None:
    broker_away = f"mqtt://127.0.0.1:{free_port()}"  # nothing is acknowledged, so rows pile up
    config = demo_room_config(unique_site, "room-1", broker_away, "loop://", tmp_path)
    config = config.model_copy(update={"door": config.door.model_copy(update={"debounce_ms": 0})})
    agent = EdgeAgent(config, clock=FakeClock(), pin_factory=mock_factory)
    with agent:
        for machine in config.machines:
            mock_factory.pin(machine.door_pin).drive_low()
        agent.start()
        agent.outbox.limit_size(1)  # no page beyond the file as it is: a full card
        with pytest.raises(OutboxFull):
            for index in range(1000):
                agent.outbox.put_meta(f"ballast-{index}", "x" * 2000)

        def door_changes(count: int) -> None:
            wait_until(lambda: agent.status().stats.door_changes == count, what=f"{count} door changes")

        changes = 0
        while agent.status().stats.outbox_full < 2 and changes < 600:  # until the events' page is full
            for machine in config.machines:
                pin = mock_factory.pin(machine.door_pin)
                if changes % 24 < 12:
                    pin.drive_high()
                else:
                    pin.drive_low()
                changes += 1
            door_changes(changes)
        wait_until(lambda: agent.status().stats.outbox_full >= 2, what="retried writes")
        status = agent.status()
        assert status.unsaved_events > 0 and status.outbox_depth < changes and status.running
        assert agent.health()[0]  # a full disk is no reason for systemd to restart us
        agent.outbox.limit_size(None)  # space again
        wait_until(lambda: agent.status().unsaved_events == 0, what="the kept events written")
        status = agent.status()
        assert status.stats.events_written == status.last_seq >= changes  # one or more events per change
        assert [row.seq for row in agent.outbox.pending(10_000)] == list(range(1, status.last_seq + 1))


def test_telemetry_waits_while_offline_dropping_the_oldest(
    amqtt_broker: BrokerHandle, watch: Watch, unique_site: str, tmp_path: Path
) -> None:
    config = demo_room_config(unique_site, "room-1", amqtt_broker.url, "loop://", tmp_path)
    config = config.model_copy(update={"telemetry_buffer": 3})
    topic = machine_topic(unique_site, "room-1", "washer-1", "telemetry")
    live = watch(amqtt_broker.host, amqtt_broker.port, f"kywash/v1/{unique_site}/+/machine/+/telemetry")
    with Outbox(tmp_path / "outbox.db") as outbox:
        publisher = Publisher(config, outbox, clock=FakeClock(), boot_id="b1", started_at=0.0)
        for n in range(5):  # not started: offline
            assert not publisher.publish_telemetry(topic, json.dumps({"n": n}).encode())
        status = publisher.status()
        assert (status.telemetry_buffered, status.telemetry_dropped, status.telemetry_sent) == (3, 2, 0)
        publisher.start()
        try:
            wait_until(lambda: len(live.matching("/telemetry")) == 3, what="the buffered telemetry")
            assert [m.json()["n"] for m in live.matching("/telemetry")] == [2, 3, 4]
            wait_until(lambda: publisher.publish_telemetry(topic, b'{"n": 5}'), what="a direct send")
            status = publisher.status()
            assert (status.telemetry_buffered, status.telemetry_dropped, status.telemetry_sent) == (0, 2, 4)
        finally:
            publisher.close()
