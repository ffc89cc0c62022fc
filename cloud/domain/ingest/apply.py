"""Apply one validated MQTT message to the database: the heart of ingest, with no I/O of its own.

Runs inside the caller's transaction. Returns what changed, so the caller can tell live
clients; raises ``IngestRejected`` for a message about a room or machine we do not know.
Each rule keeps replicas and redeliveries safe:

- ``status``: the room goes online/offline; ``status_since`` moves only on a change.
- ``info``: registers the room and its machines (when ``auto_register`` is on). A room
  whose status was never heard counts as online from its info: only a running edge
  publishes one, and its ``online`` may have come first and been refused (room unknown).
  A retained ``offline`` still wins: status is subscribed after info, so it comes later.
- ``state``: stored unless the machine already has a newer sequence number, with the
  cycle's ``cycle_started_at`` and ``expected_end`` (cleared when no cycle is in progress).
- ``event``: stored once per (room, epoch, seq); only a new, newer event moves the machine.
- A finished cycle that runs on (``same_cycle``, see ``Transition``) is told apart from a
  new one so its claim resumes instead of ending.
- ``profile``: kept unless the stored one learned more (``cloud/domain/ingest/profiles.py``).
- ``ack`` / ``health``: the applied desired revision and the edge's own figures
  (``cloud/policy/dashboard_commands.py``; staff commands need a ``Tx`` and are applied by the runner).
  ``cloud/domain/ingest/gaps.py`` tracks the room's sequence (gaps, replay requests, a wiped edge).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, select, update

from cloud.domain.ingest import edge_reports, gaps, profiles
from cloud.domain.ingest.lookups import Lookups
from cloud.domain.machines import cycle_length
from cloud.domain.machines.usage import RUNNING_STATES
from cloud.platform.errors import IngestRejected
from cloud.platform.storage import repository as repo
from cloud.platform.storage.repository import MachineRecord, RoomRecord, SensorReading
from cloud.platform.storage.tables import machines
from kywash.contract import (
    EdgeHealth,
    EventType,
    MachineAck,
    MachineDesired,
    MachineEvent,
    MachineProfile,
    MachineStatePayload,
    Payload,
    ReplayRequest,
    RoomInfo,
    RoomStatus,
    RoomStatusValue,
    RoomSummary,
    Telemetry,
    TopicRef,
)

TELEMETRY_STORE_EVERY_S = 5.0
"""A machine's telemetry is stored at most this often; what comes between is counted, not stored."""


@dataclass(frozen=True, slots=True)
class Transition:
    """A machine whose sensor state moved: what policy (claims, waitlists, faults) reacts to."""

    machine_pk: int
    before: str | None
    after: str
    door: str
    event: MachineEvent | None = None
    """The edge event that moved it (None: a retained state, e.g. after a reconnect)."""
    same_cycle: bool = False
    """The machine runs again after ``finished`` and it is the same cycle, not a new one.

    Decided from facts that arrive once or are the same each time they arrive, so a
    replayed or duplicated message cannot resume a claim twice:

    - the edge's ``cycle_continued`` event (stored once per (room, epoch, seq): a replay or a
      duplicate is not new, so it moves nothing);
    - a retained state, when that event was missed: the state's ``cycle_started_at`` is
      before the stored ``since`` of the ``finished`` state it replaces (both edge clock). A
      new cycle starts after the finish; a continued one keeps its original start. The
      same state delivered again finds the machine running, not finished, so nothing moves.

    The claim's own move (``finished`` to ``active``) is a conditional update, so two
    replicas applying the same transition resume it once. Without ``cycle_started_at`` (an
    older edge) it is False: running after ``finished`` is then a new cycle, as before.
    """


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
    """The event showed that the room's edge restarted its sequence (see cloud/domain/ingest/gaps.py)."""
    touched: tuple[int, ...] = ()
    """Machines (primary keys) whose view changed without a sensor transition (an ``ack``)."""
    heard: tuple[int, ...] = ()
    """Machines (primary keys) whose reading was stored without changing what they show: only
    their ``observed_at`` moved (``cloud/processes/freshness.py`` decides when clients hear it)."""
    came_online: bool = False
    """The room's edge came online (a status that changed to ``online``, or an ``online`` or info
    of a new boot): its machines' stored profiles are published back to it (cloud/domain/ingest/profiles.py)."""


def apply_message(
    conn: Connection,
    ref: TopicRef,
    message: Payload,
    now: datetime,
    *,
    auto_register: bool = True,
    lookups: Lookups | None = None,
) -> Applied:
    """``lookups``: the transaction's rows, shared by the messages of a batch; the caller then
    stores the rooms' ``last_seen`` once (``Lookups.touch_rooms``) after the batch."""
    if lookups is not None:
        return _apply(conn, ref, message, now, auto_register=auto_register, lookups=lookups)
    alone = Lookups()
    applied = _apply(conn, ref, message, now, auto_register=auto_register, lookups=alone)
    alone.touch_rooms(conn, now)
    return applied


def _apply(
    conn: Connection, ref: TopicRef, message: Payload, now: datetime, *, auto_register: bool, lookups: Lookups
) -> Applied:
    if isinstance(message, RoomInfo | RoomStatus):  # may change rooms and machines wholesale
        lookups.forget()
    if isinstance(message, RoomInfo):
        return apply_info(conn, message, now, auto_register=auto_register)
    room = _known_room(conn, ref, lookups)
    if isinstance(message, RoomStatus):
        changed = repo.set_room_status(conn, room.id, message.status.value, boot_id=message.boot_id, now=now)
        online = message.status is RoomStatusValue.ONLINE
        new_boot = message.boot_id is not None and message.boot_id != room.boot_id
        return Applied("status", room.id, room_changed=changed, came_online=online and (changed or new_boot))
    lookups.touched.add(room.id)
    if isinstance(message, MachineStatePayload):
        machine = _known_machine(conn, room, message.machine, lookups)
        lookups.written(machine)
        return apply_state(conn, room, machine, message, now)
    if isinstance(message, MachineEvent):
        machine = _known_machine(conn, room, message.machine, lookups)
        lookups.written(machine)
        applied = apply_event(conn, room, machine, message, now)
        if applied.seq_reset:  # every machine of the room had its last_seq set back
            lookups.forget()
        return applied
    if isinstance(message, Telemetry):
        return apply_telemetry(conn, room, _known_machine(conn, room, message.machine, lookups), message, now, lookups)
    if isinstance(message, MachineAck):
        pk = edge_reports.apply_ack(conn, room, message, now)
        return Applied("ack", room.id, touched=() if pk is None else (pk,))
    if isinstance(message, EdgeHealth):
        edge_reports.apply_health(conn, room, message, now)
        return Applied("health", room.id)
    if isinstance(message, MachineProfile):
        stored = profiles.store_profile(conn, _known_machine(conn, room, message.machine, lookups), message, now)
        return Applied("profile" if stored else "stale", room.id)
    if isinstance(message, MachineDesired | ReplayRequest | RoomSummary):  # our own publications, if ever subscribed to
        return Applied("own", room.id)
    raise TypeError(f"no rule for {type(message).__name__}")


def apply_info(conn: Connection, info: RoomInfo, now: datetime, *, auto_register: bool) -> Applied:
    known = repo.find_room(conn, info.site, info.room)
    if not auto_register and known is None:
        raise IngestRejected("unknown_room", f"room {info.site}/{info.room} is not registered")
    room, _ = repo.register_room(
        conn, info.site, info.room, boot_id=info.boot_id, agent_version=info.agent_version, now=now
    )
    repo.sync_machines(conn, room.id, info.machines, now)
    if room.status == "unknown":
        repo.set_room_status(conn, room.id, "online", boot_id=info.boot_id, now=now)
    rebooted = known is not None and known.boot_id != info.boot_id  # its status came first, or was missed
    return Applied("info", room.id, room_changed=True, came_online=rebooted)


def apply_telemetry(
    conn: Connection, room: RoomRecord, machine: MachineRecord, telemetry: Telemetry, now: datetime, lookups: Lookups
) -> Applied:
    """Store the machine's live current, at most every ``TELEMETRY_STORE_EVERY_S`` (edges send it
    every 30 s by default, but a busy room's many machines must not cost a write each); clients
    hear of it only when the current they are shown (to 0.1 A) moved."""
    every = timedelta(seconds=TELEMETRY_STORE_EVERY_S)
    if not repo.record_current(conn, machine.id, telemetry.current_a, now=now, every=every):
        return Applied("telemetry_coalesced", room.id)
    lookups.written(machine)
    moved = machine.current_a is None or round(machine.current_a, 1) != round(telemetry.current_a, 1)
    return Applied("telemetry", room.id, touched=(machine.id,) if moved else (), heard=() if moved else (machine.id,))


def apply_state(
    conn: Connection, room: RoomRecord, machine: MachineRecord, state: MachineStatePayload, now: datetime
) -> Applied:
    in_cycle = state.state.value in RUNNING_STATES
    cycle = (state.cycle_started_at, state.expected_end) if in_cycle else (None, None)
    reading = SensorReading(state.state.value, state.door.value, state.current_a, state.seq, state.since, cycle=cycle)
    if not repo.record_reading(conn, machine.id, reading, now=now, strictly_newer=False):
        return Applied("stale", room.id)
    same_cycle = (
        in_cycle
        and machine.state == "finished"
        and state.cycle_started_at is not None
        and machine.since is not None
        and state.cycle_started_at < machine.since
    )
    transition = Transition(machine.id, machine.state, state.state.value, state.door.value, same_cycle=same_cycle)
    return Applied("state", room.id, machines=(machine.machine_id,), transitions=(transition,))


def apply_event(
    conn: Connection, room: RoomRecord, machine: MachineRecord, event: MachineEvent, now: datetime
) -> Applied:
    placed = gaps.store_event(conn, room.id, event, now)  # once per (room, epoch, seq); tracks gaps
    if placed.kind != "new":
        return Applied(placed.kind, room.id)
    if event.type is EventType.CYCLE_FINISHED:
        _learn_cycle_length(conn, machine.id, event.cycle_seconds)
    reading = SensorReading(
        event.state.value,
        event.door.value,
        event.current_a,
        event.seq,
        event.ts,
        keep_since=True,
        cycle=_cycle_of(event),
    )
    moved = repo.record_reading(conn, machine.id, reading, now=now, strictly_newer=True)
    if not moved:
        return Applied("event", room.id, seq_reset=placed.seq_reset)
    continued = event.type is EventType.CYCLE_CONTINUED
    transition = Transition(machine.id, machine.state, event.state.value, event.door.value, event, same_cycle=continued)
    return Applied(
        "event", room.id, machines=(machine.machine_id,), transitions=(transition,), seq_reset=placed.seq_reset
    )


def _cycle_of(event: MachineEvent) -> tuple[datetime | None, datetime | None] | None:
    """What an event says of the cycle in progress (events carry neither ``cycle_started_at``
    nor ``expected_end``: the state the edge publishes with each does). None keeps what the
    machine's last state said; a new cycle forgets the last one's."""
    if event.state.value not in RUNNING_STATES or event.type is EventType.CYCLE_STARTED:
        return None, None
    if event.type is EventType.CYCLE_CONTINUED and event.cycle_seconds is not None:
        return event.ts - timedelta(seconds=event.cycle_seconds), None
    return None


def _learn_cycle_length(conn: Connection, machine_pk: int, cycle_s: float | None) -> None:
    """Fold a finished cycle's length into the machine's typical one (cloud/domain/machines/cycle_length.py)."""
    previous = conn.scalar(select(machines.c.typical_cycle_s).where(machines.c.id == machine_pk))
    typical = cycle_length.next_typical(previous, cycle_s)
    if typical != previous:
        conn.execute(update(machines).where(machines.c.id == machine_pk).values(typical_cycle_s=typical))


def _known_room(conn: Connection, ref: TopicRef, lookups: Lookups) -> RoomRecord:
    room = lookups.room(conn, ref.site, ref.room)
    if room is None:
        raise IngestRejected("unknown_room", f"room {ref.site}/{ref.room} has not sent its info")
    return room


def _known_machine(conn: Connection, room: RoomRecord, machine_id: str, lookups: Lookups) -> MachineRecord:
    machine = lookups.machine(conn, room.id, machine_id)
    if machine is None:
        raise IngestRejected("unknown_machine", f"machine {machine_id!r} is not in the info of {room.site}/{room.room}")
    return machine
