"""Apply one validated MQTT message to the database: the heart of ingest, with no I/O of its own.

Runs inside the caller's transaction. Returns what changed, so the caller can tell live
clients; raises ``IngestRejected`` for a message about a room or machine we do not know.
Each rule keeps replicas and redeliveries safe:

- ``status``: the room goes online/offline; ``status_since`` moves only on a change.
- ``info``: registers the room and its machines (when ``auto_register`` is on). A room
  whose status was never heard counts as online from its info: only a running edge
  publishes one, and its ``online`` may have come first and been refused (room unknown).
  A retained ``offline`` still wins: status is subscribed after info, so it comes later.
- ``state``: stored unless the machine already has a newer sequence number.
- ``event``: stored once per (room, epoch, seq); only a new, newer event moves the machine.
- ``ack`` / ``health``: the applied desired revision and the edge's own figures
  (``cloud/dashboards/commands.py``; staff commands need a ``Tx`` and are applied by the runner).
  ``cloud/ingest/gaps.py`` tracks the room's sequence (gaps, replay requests, a wiped edge).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, select, update

from cloud.dashboards import commands as dashboard
from cloud.errors import IngestRejected
from cloud.ingest import gaps
from cloud.machines import cycle_length
from cloud.storage import repository as repo
from cloud.storage.repository import MachineRecord, RoomRecord, SensorReading
from cloud.storage.tables import machines
from kywash.contract import (
    EdgeHealth,
    EventType,
    MachineAck,
    MachineDesired,
    MachineEvent,
    MachineStatePayload,
    Payload,
    ReplayRequest,
    RoomInfo,
    RoomStatus,
    RoomSummary,
    Telemetry,
    TopicRef,
)


@dataclass(frozen=True, slots=True)
class Transition:
    """A machine whose sensor state moved: what policy (claims, waitlists, faults) reacts to."""

    machine_pk: int
    before: str | None
    after: str
    door: str
    event: MachineEvent | None = None
    """The edge event that moved it (None: a retained state, e.g. after a reconnect)."""


@dataclass(frozen=True, slots=True)
class Applied:
    """The outcome of one message: its counter label and what live clients must hear about."""

    kind: str
    room_id: int | None = None
    room_changed: bool = False
    """The room's status or registration changed: send the room and all its machines."""
    machines: tuple[str, ...] = ()
    """Machines whose shown state changed."""
    transitions: tuple[Transition, ...] = ()
    seq_reset: bool = False
    """The event showed that the room's edge restarted its sequence (see cloud/ingest/gaps.py)."""
    touched: tuple[int, ...] = ()
    """Machines (primary keys) whose view changed without a sensor transition (an ``ack``)."""


def apply_message(
    conn: Connection, ref: TopicRef, message: Payload, now: datetime, *, auto_register: bool = True
) -> Applied:
    if isinstance(message, RoomInfo):
        return apply_info(conn, message, now, auto_register=auto_register)
    room = _known_room(conn, ref)
    if isinstance(message, RoomStatus):
        changed = repo.set_room_status(conn, room.id, message.status.value, boot_id=message.boot_id, now=now)
        return Applied("status", room.id, room_changed=changed)
    repo.touch_room(conn, room.id, now)
    if isinstance(message, MachineStatePayload):
        return apply_state(conn, room, _known_machine(conn, room, message.machine), message, now)
    if isinstance(message, MachineEvent):
        return apply_event(conn, room, _known_machine(conn, room, message.machine), message, now)
    if isinstance(message, Telemetry):
        return Applied("telemetry", room.id)
    if isinstance(message, MachineAck):
        pk = dashboard.apply_ack(conn, room, message, now)
        return Applied("ack", room.id, touched=() if pk is None else (pk,))
    if isinstance(message, EdgeHealth):
        dashboard.apply_health(conn, room, message, now)
        return Applied("health", room.id)
    if isinstance(message, MachineDesired | ReplayRequest | RoomSummary):  # our own publications, if ever subscribed to
        return Applied("own", room.id)
    raise TypeError(f"no rule for {type(message).__name__}")


def apply_info(conn: Connection, info: RoomInfo, now: datetime, *, auto_register: bool) -> Applied:
    if not auto_register and repo.find_room(conn, info.site, info.room) is None:
        raise IngestRejected("unknown_room", f"room {info.site}/{info.room} is not registered")
    room, _ = repo.register_room(
        conn, info.site, info.room, boot_id=info.boot_id, agent_version=info.agent_version, now=now
    )
    repo.sync_machines(conn, room.id, info.machines, now)
    if room.status == "unknown":
        repo.set_room_status(conn, room.id, "online", boot_id=info.boot_id, now=now)
    return Applied("info", room.id, room_changed=True)


def apply_state(
    conn: Connection, room: RoomRecord, machine: MachineRecord, state: MachineStatePayload, now: datetime
) -> Applied:
    reading = SensorReading(state.state.value, state.door.value, state.current_a, state.seq, state.since)
    if not repo.record_reading(conn, machine.id, reading, now=now, strictly_newer=False):
        return Applied("stale", room.id)
    transition = Transition(machine.id, machine.state, state.state.value, state.door.value)
    return Applied("state", room.id, machines=(machine.machine_id,), transitions=(transition,))


def apply_event(
    conn: Connection, room: RoomRecord, machine: MachineRecord, event: MachineEvent, now: datetime
) -> Applied:
    placed = gaps.store_event(conn, room.id, event, now)  # once per (room, epoch, seq); tracks gaps
    if placed.kind != "new":
        return Applied(placed.kind, room.id)
    if event.type is EventType.CYCLE_FINISHED:
        _learn_cycle_length(conn, machine.id, event.cycle_seconds)
    reading = SensorReading(event.state.value, event.door.value, event.current_a, event.seq, event.ts, keep_since=True)
    moved = repo.record_reading(conn, machine.id, reading, now=now, strictly_newer=True)
    if not moved:
        return Applied("event", room.id, seq_reset=placed.seq_reset)
    transition = Transition(machine.id, machine.state, event.state.value, event.door.value, event)
    return Applied(
        "event", room.id, machines=(machine.machine_id,), transitions=(transition,), seq_reset=placed.seq_reset
    )


def _learn_cycle_length(conn: Connection, machine_pk: int, cycle_s: float | None) -> None:
    """Fold a finished cycle's length into the machine's typical one (cloud/machines/cycle_length.py)."""
    previous = conn.scalar(select(machines.c.typical_cycle_s).where(machines.c.id == machine_pk))
    typical = cycle_length.next_typical(previous, cycle_s)
    if typical != previous:
        conn.execute(update(machines).where(machines.c.id == machine_pk).values(typical_cycle_s=typical))


def _known_room(conn: Connection, ref: TopicRef) -> RoomRecord:
    room = repo.find_room(conn, ref.site, ref.room)
    if room is None:
        raise IngestRejected("unknown_room", f"room {ref.site}/{ref.room} has not sent its info")
    return room


def _known_machine(conn: Connection, room: RoomRecord, machine_id: str) -> MachineRecord:
    machine = repo.find_machine(conn, room.id, machine_id)
    if machine is None:
        raise IngestRejected("unknown_machine", f"machine {machine_id!r} is not in the info of {room.site}/{room.room}")
    return machine
