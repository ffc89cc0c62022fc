"""Builds the contract's payloads (``kywash.contract``) from the edge's own records.

The only place the edge turns its state rows, transitions and readings into MQTT topics
and bytes, so the agent and the publisher agree on every message.
"""

from __future__ import annotations

import kywash
from edge.config import MachineConfig, RoomConfig
from edge.detector import CycleDetector, DetectorSnapshot, Transition
from edge.learning import Learned
from edge.outbox import EventDraft, MachineStateRow
from kywash.clock import to_datetime
from kywash.contract import (
    Door,
    MachineEvent,
    MachineInfo,
    MachineState,
    MachineStatePayload,
    RoomInfo,
    RoomStatus,
    RoomStatusValue,
    Telemetry,
    machine_topic,
    room_topic,
)


def status_message(config: RoomConfig, boot_id: str, online: bool, now: float) -> tuple[str, bytes]:
    status = RoomStatusValue.ONLINE if online else RoomStatusValue.OFFLINE
    payload = RoomStatus(status=status, boot_id=boot_id, ts=to_datetime(now))
    return room_topic(config.site, config.room, "status"), payload.to_bytes()


def last_will(config: RoomConfig, boot_id: str) -> tuple[str, bytes]:
    """The broker sends this when the agent vanishes; no timestamp, it is sent later."""
    payload = RoomStatus(status=RoomStatusValue.OFFLINE, boot_id=boot_id)
    return room_topic(config.site, config.room, "status"), payload.to_bytes()


def info_message(config: RoomConfig, boot_id: str, started_at: float) -> tuple[str, bytes]:
    machines = tuple(MachineInfo(id=m.id, kind=m.kind, number=m.number, label=m.label) for m in config.machines)
    payload = RoomInfo(
        site=config.site,
        room=config.room,
        agent_version=kywash.__version__,
        boot_id=boot_id,
        started_at=to_datetime(started_at),
        machines=machines,
    )
    return room_topic(config.site, config.room, "info"), payload.to_bytes()


IN_CYCLE_STATES = frozenset({MachineState.RUNNING.value, MachineState.PAUSED.value, MachineState.ENDING.value})

CycleTiming = tuple[float | None, float | None]
"""A machine's cycle in progress: (``cycle_started_at``, ``expected_end``), epoch seconds or None."""


def row_timing(row: MachineStateRow) -> CycleTiming:
    """The timing a stored row alone gives (no profile, so no expected end)."""
    return (row.cycle_started_at if row.cycle_state in IN_CYCLE_STATES else None), None


def detector_timing(detector: CycleDetector) -> CycleTiming:
    """The detector's (``cycle_started_at``, ``expected_end``); call on the sensor loop's thread."""
    return detector.cycle_started_at, detector.expected_end


def state_message(
    config: RoomConfig, row: MachineStateRow, now: float, *, out_of_service: bool = False,
    timing: CycleTiming | None = None,
) -> tuple[str, bytes]:  # fmt: skip
    """The machine's retained state; ``out_of_service`` once the edge applied such a desired state.

    ``timing`` is the detector's ``cycle_started_at`` and ``expected_end`` (the agent keeps
    them per machine; they are not in the stored row); None: what the row gives.
    """
    machine = config.machine(row.machine)
    started, expected = row_timing(row) if timing is None else timing
    payload = MachineStatePayload(
        machine=machine.id,
        kind=machine.kind,
        state=MachineState(row.state),
        since=to_datetime(row.since),
        door=Door(row.door),
        current_a=max(row.current, 0.0),
        seq=row.seq,
        ts=to_datetime(now),
        out_of_service=out_of_service,
        cycle_started_at=None if started is None else to_datetime(started),
        expected_end=None if expected is None else to_datetime(expected),
    )
    return machine_topic(config.site, config.room, machine.id, "state"), payload.to_bytes()


def profile_message(config: RoomConfig, machine_id: str, learned: Learned, now: float) -> tuple[str, bytes]:
    """A machine's retained profile: what its detector learned (``now``: epoch seconds)."""
    machine = config.machine(machine_id)
    payload = learned.to_payload(machine.id, machine.kind, now)
    return machine_topic(config.site, config.room, machine.id, "profile"), payload.to_bytes()


def event_draft(config: RoomConfig, machine: MachineConfig, boot_id: str, change: Transition) -> EventDraft:
    """An outbox row for a transition; its payload is rendered once its seq is known."""

    def render(seq: int) -> bytes:
        return MachineEvent(
            seq=seq,
            boot_id=boot_id,
            ts=to_datetime(change.at),
            machine=machine.id,
            type=change.type,
            state=change.state,
            door=change.door,
            current_a=max(change.current, 0.0),
            reason=change.reason,
            cycle_seconds=change.cycle_seconds,
        ).to_bytes()

    topic = machine_topic(config.site, config.room, machine.id, "event")
    return EventDraft(machine=machine.id, topic=topic, render=render, qos=1)


def telemetry_message(config: RoomConfig, machine_id: str, snap: DetectorSnapshot, now: float) -> tuple[str, bytes]:
    payload = Telemetry(machine=machine_id, ts=to_datetime(now), current_a=max(snap.current, 0.0), door=snap.door)
    return machine_topic(config.site, config.room, machine_id, "telemetry"), payload.to_bytes()


def state_row(machine_id: str, snap: DetectorSnapshot, seq: int = 0) -> MachineStateRow:
    return MachineStateRow(
        machine=machine_id,
        state=snap.state.value,
        since=snap.since,
        door=snap.door.value,
        current=snap.current,
        cycle_state=snap.cycle_state.value,
        cycle_since=snap.cycle_since,
        cycle_started_at=snap.cycle_started_at,
        fault=snap.fault,
        seq=seq,
    )


def snapshot_from_row(row: MachineStateRow) -> DetectorSnapshot:
    return DetectorSnapshot(
        state=MachineState(row.state),
        since=row.since,
        door=Door(row.door),
        current=row.current,
        cycle_state=MachineState(row.cycle_state),
        cycle_since=row.cycle_since,
        cycle_started_at=row.cycle_started_at,
        fault=row.fault,
    )
