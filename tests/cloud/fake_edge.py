"""A fake edge for cloud tests: builds the topics and payloads a room's agent publishes.

Payloads are built from the contract's own models, so a test cannot drift from it; the
``raw_*`` helpers make the broken messages ingest must refuse.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from kywash.contract import (
    CycleRecord,
    Door,
    EventType,
    MachineEvent,
    MachineInfo,
    MachineKind,
    MachineProfile,
    MachineState,
    MachineStatePayload,
    RoomInfo,
    RoomStatus,
    RoomStatusValue,
    Telemetry,
    machine_topic,
    room_topic,
)
from tests.support.mqtt_watch import MqttWatcher

T0 = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)
Message = tuple[str, bytes]


@dataclass
class FakeEdge:
    """One laundry room's agent: two washers and a dryer unless told otherwise."""

    site: str
    room: str = "r1"
    machines: tuple[MachineInfo, ...] = (
        MachineInfo(id="washer-1", kind=MachineKind.WASHER, number=1),
        MachineInfo(id="washer-2", kind=MachineKind.WASHER, number=2, label="W2 (by the window)"),
        MachineInfo(id="dryer-1", kind=MachineKind.DRYER, number=1),
    )
    boot_id: str = "boot-1"
    seq: int = field(default=0)

    def info(self) -> Message:
        payload = RoomInfo(
            site=self.site,
            room=self.room,
            agent_version="0.1.0",
            boot_id=self.boot_id,
            started_at=T0,
            machines=self.machines,
        )
        return room_topic(self.site, self.room, "info"), payload.to_bytes()

    def status(self, online: bool = True) -> Message:
        value = RoomStatusValue.ONLINE if online else RoomStatusValue.OFFLINE
        payload = RoomStatus(status=value, boot_id=self.boot_id, ts=T0)
        return room_topic(self.site, self.room, "status"), payload.to_bytes()

    def state(
        self,
        machine: str,
        state: MachineState = MachineState.IDLE,
        *,
        seq: int | None = None,
        minutes: float = 0,
        door: Door = Door.CLOSED,
        current_a: float = 0.0,
        cycle_started_at: datetime | None = None,
        expected_end: datetime | None = None,
    ) -> Message:
        kind = MachineKind.DRYER if machine.startswith("dryer") else MachineKind.WASHER
        at = T0 + timedelta(minutes=minutes)
        payload = MachineStatePayload(
            machine=machine,
            kind=kind,
            state=state,
            since=at,
            door=door,
            current_a=current_a,
            seq=self.seq if seq is None else seq,
            ts=at,
            cycle_started_at=cycle_started_at,
            expected_end=expected_end,
        )
        return machine_topic(self.site, self.room, machine, "state"), payload.to_bytes()

    def event(
        self,
        machine: str,
        type_: EventType = EventType.CYCLE_STARTED,
        state: MachineState = MachineState.RUNNING,
        *,
        seq: int | None = None,
        minutes: float = 1,
        door: Door = Door.CLOSED,
        current_a: float = 9.5,
        cycle_seconds: float | None = None,
    ) -> Message:
        """An event with the next sequence number (or ``seq``, to replay one)."""
        if seq is None:
            self.seq += 1
            seq = self.seq
        payload = MachineEvent(
            seq=seq,
            boot_id=self.boot_id,
            ts=T0 + timedelta(minutes=minutes),
            machine=machine,
            type=type_,
            state=state,
            door=door,
            current_a=current_a,
            cycle_seconds=cycle_seconds,
        )
        return machine_topic(self.site, self.room, machine, "event"), payload.to_bytes()

    def telemetry(self, machine: str, current_a: float, *, door: Door = Door.CLOSED, minutes: float = 1) -> Message:
        """The edge's periodic reading of a machine's current (QoS 0, not retained)."""
        payload = Telemetry(machine=machine, ts=T0 + timedelta(minutes=minutes), current_a=current_a, door=door)
        return machine_topic(self.site, self.room, machine, "telemetry"), payload.to_bytes()

    def profile(self, machine: str, learned: int, *, standby_a: float | None = 0.03, cycles: int = 1) -> Message:
        """A learned profile of ``machine`` that has learned ``learned`` cycles (its last ``cycles``)."""
        kind = MachineKind.DRYER if machine.startswith("dryer") else MachineKind.WASHER
        records = tuple(
            CycleRecord(duration_s=3000.0 + i, energy_as=20_000.0, category="normal", ended_at=T0 + timedelta(hours=i))
            for i in range(min(cycles, learned))
        )
        payload = MachineProfile(
            machine=machine, kind=kind, standby_a=standby_a, learned=learned, cycles=records, ts=T0
        )
        return machine_topic(self.site, self.room, machine, "profile"), payload.to_bytes()

    def raw(self, machine: str, leaf: str, body: object) -> Message:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return f"kywash/v1/{self.site}/{self.room}/machine/{machine}/{leaf}", data

    def bad_messages(self) -> dict[str, Message]:
        """One message per refusal reason that can travel through the cloud's subscriptions."""
        state = json.loads(self.state("washer-1")[1])
        return {
            "not_json": self.raw("washer-1", "state", b"this is not {json"),
            "invalid": self.raw("washer-1", "state", {"schema": 1, "machine": "washer-1", "state": "spinning"}),
            "newer_schema": self.raw("washer-1", "state", {**state, "schema": 99}),
            "too_large": self.raw("washer-1", "state", {**state, "padding": "x" * 20_000}),
            "unknown_room": (
                room_topic(self.site, "ghost-room", "status"),
                RoomStatus(status=RoomStatusValue.ONLINE).to_bytes(),
            ),
            "unknown_machine": self.state("washer-9"),
            "bad_id": (f"kywash/v1/{self.site}/Bad_Room/status", RoomStatus(status=RoomStatusValue.ONLINE).to_bytes()),
        }


class EdgePublisher:
    """A plain paho client standing in for an edge agent on a real broker."""

    def __init__(self, host: str, port: int) -> None:
        self.mqtt = MqttWatcher(host, port)  # no filters: it only publishes
        self.retained: set[str] = set()

    def publish(self, message: Message, *, retain: bool = False) -> None:
        topic, payload = message
        self.mqtt.publish(topic, payload, retain=retain)
        if retain:
            self.retained.add(topic)

    def close(self) -> None:
        """Clear what we retained (so the shared broker stays clean) and disconnect."""
        for topic in sorted(self.retained):
            self.mqtt.publish(topic, b"", retain=True)
        self.mqtt.close()


def wait_until(condition: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)
