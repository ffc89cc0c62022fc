"""Reads and writes of rooms, machines and edge events: plain functions taking a Connection.

The caller owns the transaction (``engine.begin()``), so one ingested message is one
transaction. Writes that several replicas might race on are conditional (``INSERT ... ON
CONFLICT DO NOTHING``, ``UPDATE ... WHERE last_seq < :seq``): the database decides, once.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, Table, bindparam, case, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from cloud.platform.storage.tables import edge_events, machines, rooms
from kywash.contract import MachineInfo


@dataclass(frozen=True, slots=True)
class RoomRecord:
    id: int
    site: str
    room: str
    status: str
    status_since: datetime | None
    last_seen: datetime | None
    boot_id: str | None
    agent_version: str | None


@dataclass(frozen=True, slots=True)
class MachineRecord:
    id: int
    room_id: int
    machine_id: str
    kind: str
    number: int
    label: str | None
    state: str | None
    door: str | None
    current_a: float | None
    since: datetime | None
    last_seq: int
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class SensorReading:
    """What the edge says a machine is doing, from a retained state or an event."""

    state: str
    door: str
    current_a: float
    seq: int
    since: datetime
    keep_since: bool = False
    """Keep the stored ``since`` when the state is unchanged (an event that did not change it)."""
    cycle: tuple[datetime | None, datetime | None] | None = None
    """``(cycle_started_at, expected_end)`` to store with it; None keeps the stored ones."""


ROOM_COLUMNS = [rooms.c[field.name] for field in fields(RoomRecord)]
MACHINE_COLUMNS = [machines.c[field.name] for field in fields(MachineRecord)]


def room_record(row: Row[Any] | Any) -> RoomRecord:
    return RoomRecord(**{column.name: row._mapping[column] for column in ROOM_COLUMNS})


def machine_record(row: Row[Any] | Any) -> MachineRecord:
    return MachineRecord(**{column.name: row._mapping[column] for column in MACHINE_COLUMNS})


def _room(row: Row[Any]) -> RoomRecord:
    """From a row of exactly ``ROOM_COLUMNS`` (quicker than by name, for ingest's lookups)."""
    return RoomRecord(*tuple(row))


def _machine(row: Row[Any]) -> MachineRecord:
    """From a row of exactly ``MACHINE_COLUMNS``."""
    return MachineRecord(*tuple(row))


def insert_ignoring_duplicates(conn: Connection, table: Table, values: dict[str, Any], unique: Sequence[str]) -> bool:
    """Insert a row unless one with the same ``unique`` columns exists; True if inserted."""
    return conn.execute(_insert_ignoring(conn.dialect.name, table, tuple(unique)), values).first() is not None


@functools.cache
def _insert_ignoring(dialect: str, table: Table, unique: tuple[str, ...]) -> Any:
    """The statement, built once per table (the values come with each execution)."""
    dialect_insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return (
        dialect_insert(table)
        .on_conflict_do_nothing(index_elements=list(unique))
        .returning(*table.primary_key.columns)  # a row back only if inserted (rowcount is unreliable)
    )


# --- rooms -------------------------------------------------------------------------------


_ROOM_BY_NAME = select(*ROOM_COLUMNS).where(
    rooms.c.site == bindparam("room_site"), rooms.c.room == bindparam("room_name")
)
_MACHINE_BY_ID = select(*MACHINE_COLUMNS).where(
    machines.c.room_id == bindparam("machine_room"), machines.c.machine_id == bindparam("machine_name")
)
"""Built once: ingest looks up a room and a machine for nearly every message."""


def find_room(conn: Connection, site: str, room: str) -> RoomRecord | None:
    row = conn.execute(_ROOM_BY_NAME, {"room_site": site, "room_name": room}).first()
    return _room(row) if row else None


def get_room(conn: Connection, room_id: int) -> RoomRecord | None:
    row = conn.execute(select(*ROOM_COLUMNS).where(rooms.c.id == room_id)).first()
    return room_record(row) if row else None


def rooms_by_id(conn: Connection, room_ids: Sequence[int]) -> list[RoomRecord]:
    rows = conn.execute(select(*ROOM_COLUMNS).where(rooms.c.id.in_(room_ids)).order_by(rooms.c.id))
    return [room_record(row) for row in rows]


def list_rooms(conn: Connection, site: str | None = None, room: str | None = None) -> list[RoomRecord]:
    query = select(*ROOM_COLUMNS).order_by(rooms.c.site, rooms.c.room)
    if site is not None:
        query = query.where(rooms.c.site == site)
    if room is not None:
        query = query.where(rooms.c.room == room)
    return [room_record(row) for row in conn.execute(query)]


def register_room(
    conn: Connection, site: str, room: str, *, boot_id: str, agent_version: str, now: datetime
) -> tuple[RoomRecord, bool]:
    """Create the room if it is new and record its agent; returns (room, created)."""
    created = insert_ignoring_duplicates(
        conn, rooms, {"site": site, "room": room, "registered_at": now}, ("site", "room")
    )
    conn.execute(
        update(rooms)
        .where(rooms.c.site == site, rooms.c.room == room)
        .values(boot_id=boot_id, agent_version=agent_version, last_seen=now)
    )
    record = find_room(conn, site, room)
    assert record is not None
    return record, created


def set_room_status(conn: Connection, room_id: int, status: str, *, boot_id: str | None, now: datetime) -> bool:
    """Record a status; ``status_since`` moves only when the status changes. True if it changed."""
    changed = conn.execute(
        update(rooms).where(rooms.c.id == room_id, rooms.c.status != status).values(status=status, status_since=now)
    ).rowcount
    values: dict[str, Any] = {"last_seen": now}
    if boot_id is not None:
        values["boot_id"] = boot_id
    conn.execute(update(rooms).where(rooms.c.id == room_id).values(**values))
    return changed == 1


_TOUCH_ROOMS = (
    update(rooms).where(rooms.c.id.in_(bindparam("touched", expanding=True))).values(last_seen=bindparam("seen_at"))
)


def touch_rooms(conn: Connection, room_ids: Sequence[int], now: datetime) -> None:
    """The rooms were heard from (one statement for a whole batch's rooms)."""
    conn.execute(_TOUCH_ROOMS, {"touched": list(room_ids), "seen_at": now})


# --- machines ----------------------------------------------------------------------------


def sync_machines(conn: Connection, room_id: int, infos: Iterable[MachineInfo], now: datetime) -> None:
    """Make the room's machines exactly those in its info, keeping the state of known ones."""
    infos = list(infos)
    for info in infos:
        values = {"kind": info.kind.value, "number": info.number, "label": info.label}
        inserted = insert_ignoring_duplicates(
            conn,
            machines,
            {"room_id": room_id, "machine_id": info.id, "updated_at": now, **values},
            ("room_id", "machine_id"),
        )
        if not inserted:
            conn.execute(
                update(machines).where(machines.c.room_id == room_id, machines.c.machine_id == info.id).values(**values)
            )
    listed = [info.id for info in infos]
    conn.execute(delete(machines).where(machines.c.room_id == room_id, machines.c.machine_id.not_in(listed)))


def find_machine(conn: Connection, room_id: int, machine_id: str) -> MachineRecord | None:
    row = conn.execute(_MACHINE_BY_ID, {"machine_room": room_id, "machine_name": machine_id}).first()
    return _machine(row) if row else None


def record_reading(
    conn: Connection, machine_pk: int, reading: SensorReading, *, now: datetime, strictly_newer: bool
) -> bool:
    """Store a reading unless the machine already has a newer one (seq never goes back)."""
    statement = _reading_statement(strictly_newer, reading.keep_since, reading.cycle is not None)
    params: dict[str, Any] = {
        "reading_pk": machine_pk,
        "reading_seq": reading.seq,
        "reading_state": reading.state,
        "reading_since": reading.since,
        "reading_door": reading.door,
        "reading_current_a": reading.current_a,
        "reading_at": now,
    }
    if reading.cycle is not None:
        params["reading_cycle_started_at"], params["reading_expected_end"] = reading.cycle
    return conn.execute(statement, params).rowcount == 1


@functools.cache
def _reading_statement(strictly_newer: bool, keep_since: bool, with_cycle: bool) -> Any:
    """Built once per kind of reading: ingest stores one per message."""
    seq: Any = bindparam("reading_seq")
    since: Any = bindparam("reading_since")
    if keep_since:
        since = case((machines.c.state == bindparam("reading_state"), machines.c.since), else_=since)
    values: dict[str, Any] = {
        "state": bindparam("reading_state"),
        "since": since,
        "last_seq": seq,
        "door": bindparam("reading_door"),
        "current_a": bindparam("reading_current_a"),
        "updated_at": bindparam("reading_at"),
        "current_at": bindparam("reading_at"),
    }
    if with_cycle:
        values["cycle_started_at"] = bindparam("reading_cycle_started_at")
        values["expected_end"] = bindparam("reading_expected_end")
    newer = machines.c.last_seq < seq if strictly_newer else machines.c.last_seq <= seq
    return update(machines).where(machines.c.id == bindparam("reading_pk"), newer).values(**values)


_STORE_CURRENT = (
    update(machines)
    .where(
        machines.c.id == bindparam("current_pk"),
        or_(machines.c.current_at.is_(None), machines.c.current_at <= bindparam("stored_before")),
    )
    .values(current_a=bindparam("current"), current_at=bindparam("current_now"))
)


def record_current(conn: Connection, machine_pk: int, current_a: float, *, now: datetime, every: timedelta) -> bool:
    """Store a telemetry reading of the machine's current, unless one was stored less than
    ``every`` ago (one conditional update, no read); True if stored."""
    params = {"current_pk": machine_pk, "current": current_a, "current_now": now, "stored_before": now - every}
    return conn.execute(_STORE_CURRENT, params).rowcount == 1


def machines_with_rooms(
    conn: Connection,
    *,
    room_ids: Sequence[int] | None = None,
    machine_ids: Sequence[str] | None = None,
) -> list[tuple[RoomRecord, MachineRecord]]:
    """Machines with their room (for the public view), ordered by room, kind and number."""
    query = (
        select(*ROOM_COLUMNS, *MACHINE_COLUMNS)
        .select_from(machines.join(rooms, machines.c.room_id == rooms.c.id))
        .order_by(rooms.c.site, rooms.c.room, machines.c.kind.desc(), machines.c.number)
    )
    if room_ids is not None:
        query = query.where(machines.c.room_id.in_(list(room_ids)))
    if machine_ids is not None:
        query = query.where(machines.c.machine_id.in_(list(machine_ids)))
    return [(room_record(row), machine_record(row)) for row in conn.execute(query)]


# --- edge events -------------------------------------------------------------------------


def count_events(conn: Connection, room_id: int) -> int:
    count = conn.scalar(select(func.count()).select_from(edge_events).where(edge_events.c.room_id == room_id))
    return int(count or 0)
