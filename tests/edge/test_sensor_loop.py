"""The sensor loop on its own: readings in, events on disk, the outlet told; no publisher at all."""

from __future__ import annotations

import queue
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from gpiozero.pins.mock import MockFactory

from edge.config import RoomConfig, demo_room_config
from edge.outbox import Outbox
from edge.profile_store import ProfileStore
from edge.sensor_loop import Reading, SensorLoop
from edge.sensors.door import DoorSwitch
from edge.sensors.readings import BoardReading
from kywash.clock import FakeClock
from tests.edge.fakes import wait_until


class RecordingOutlet:
    """Stands in for the publisher: remembers what the loop told it."""

    def __init__(self) -> None:
        self.notified: list[str] = []
        self.profiles: list[str] = []
        self.telemetry: list[str] = []

    def notify(self, machines: Iterable[str] = ()) -> None:
        self.notified += machines

    def notify_profiles(self, machines: Iterable[str]) -> None:
        self.profiles += machines

    def publish_telemetry(self, topic: str, payload: bytes) -> bool:
        self.telemetry.append(topic)
        return True


@pytest.fixture
def config(tmp_path: Path) -> RoomConfig:
    return demo_room_config("site-a", "room-1", "mqtt://127.0.0.1:1", "loop://", tmp_path)


@pytest.fixture
def loop_parts(
    config: RoomConfig, mock_factory: MockFactory, tmp_path: Path
) -> Iterator[tuple[SensorLoop, RecordingOutlet, Outbox, FakeClock, queue.Queue[Reading]]]:
    clock = FakeClock()
    readings: queue.Queue[Reading] = queue.Queue()
    doors = {
        m.id: DoorSwitch(m.id, m.door_pin, edges=readings, clock=clock, debounce_s=0.0, pin_factory=mock_factory)
        for m in config.machines
    }
    for m in config.machines:
        mock_factory.pin(m.door_pin).drive_low()
    outlet = RecordingOutlet()
    with Outbox(tmp_path / "outbox.db") as outbox:
        loop = SensorLoop(
            config, clock=clock, boot_id="b1", started_at=clock.now(), outbox=outbox, doors=doors,
            readings=readings, outlet=outlet, profiles=ProfileStore(config, outbox),
        )  # fmt: skip
        loop.restore(clock.now(), {})
        loop.start()
        yield loop, outlet, outbox, clock, readings
        loop.stop()
        for door in doors.values():
            door.close()


def test_a_door_edge_is_on_disk_before_the_outlet_hears_of_it(
    loop_parts: tuple[SensorLoop, RecordingOutlet, Outbox, FakeClock, queue.Queue[Reading]],
    mock_factory: MockFactory,
) -> None:
    loop, outlet, outbox, _, _ = loop_parts
    mock_factory.pin(5).drive_high()  # washer-1's door opens
    wait_until(lambda: "washer-1" in outlet.notified, what="the outlet told")
    assert [row.topic.rsplit("/", 2)[-2] for row in outbox.pending()] == ["washer-1"]
    assert loop.snapshots()["washer-1"].door.value == "open"
    assert loop.healthy() == (True, "sensors ok") and loop.stats.door_changes == 1


def test_current_readings_drive_the_detectors_and_telemetry_follows_the_clock(
    loop_parts: tuple[SensorLoop, RecordingOutlet, Outbox, FakeClock, queue.Queue[Reading]], config: RoomConfig
) -> None:
    loop, outlet, _, clock, readings = loop_parts
    readings.put(BoardReading(tuple([3.5] + [0.0] * 11), clock.now()))
    wait_until(lambda: loop.stats.board_readings == 1, what="the reading taken")
    wait_until(lambda: loop.snapshots()["washer-1"].current == 3.5, what="the current seen")
    assert outlet.telemetry == []
    clock.advance(config.telemetry_interval_s)
    wait_until(lambda: len(outlet.telemetry) == 12, what="one sample per machine")
    loop.stop()
    assert loop.healthy() == (False, "sensor loop is not running")
