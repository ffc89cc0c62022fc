"""``GET /api/v1/rooms/status``: every room's edge as staff see it, in a handful of queries.

Per room: whether its edge is online and since when, which agent run and version it is,
how many machines it has (out of service, with open fault reports), and how complete the
cloud's copy of its event sequence is — gaps computed by the same code as the events audit —
and the edge's own latest ``health`` message (outbox depth, serial errors, reconnects).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, Integer, cast, func, select

from cloud.domain.faults.reads import is_active
from cloud.domain.ingest.gaps import SEQUENCE_COLUMNS, RoomSequence
from cloud.domain.rooms.events import sequence_public
from cloud.domain.rooms.schemas import RoomEdgePublic
from cloud.platform.storage import repository as repo
from cloud.platform.storage.tables import faults, machines, room_sequences, rooms

EdgeStatus = Literal["online", "offline", "unknown"]


def room_edges(conn: Connection, site: str | None = None) -> list[RoomEdgePublic]:
    """Every room (of ``site``, when given), ordered by site and room."""
    found = repo.list_rooms(conn, site)
    if not found:
        return []
    ids = [room.id for room in found]
    machine_counts = _machine_counts(conn, ids)
    open_faults = _open_faults(conn, ids)
    sequences = _sequences(conn, ids)
    health = _health(conn, ids)
    return [
        RoomEdgePublic(
            site=room.site,
            room=room.room,
            status=_status(room.status),
            status_since=room.status_since,
            last_seen=room.last_seen,
            boot_id=room.boot_id,
            agent_version=room.agent_version,
            machines=machine_counts.get(room.id, (0, 0))[0],
            out_of_service=machine_counts.get(room.id, (0, 0))[1],
            open_faults=open_faults.get(room.id, 0),
            sequence=sequence_public(conn, sequences.get(room.id)),
            health=health.get(room.id, (None, None))[0],
            health_at=health.get(room.id, (None, None))[1],
        )
        for room in found
    ]


def _status(stored: str) -> EdgeStatus:
    if stored == "online":
        return "online"
    return "offline" if stored == "offline" else "unknown"


def _machine_counts(conn: Connection, room_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Per room: (machines, machines out of service)."""
    rows = conn.execute(
        select(machines.c.room_id, func.count(), func.sum(cast(machines.c.out_of_service, Integer)))
        .where(machines.c.room_id.in_(room_ids))
        .group_by(machines.c.room_id)
    )
    return {int(row[0]): (int(row[1]), int(row[2] or 0)) for row in rows}


def _open_faults(conn: Connection, room_ids: list[int]) -> dict[int, int]:
    rows = conn.execute(
        select(faults.c.room_id, func.count())
        .where(faults.c.room_id.in_(room_ids), is_active())
        .group_by(faults.c.room_id)
    )
    return {int(row[0]): int(row[1]) for row in rows}


def _health(conn: Connection, room_ids: list[int]) -> dict[int, tuple[dict[str, Any] | None, datetime | None]]:
    rows = conn.execute(select(rooms.c.id, rooms.c.health, rooms.c.health_at).where(rooms.c.id.in_(room_ids)))
    return {int(row[0]): (row[1], row[2]) for row in rows}


def _sequences(conn: Connection, room_ids: list[int]) -> dict[int, RoomSequence]:
    rows = conn.execute(select(*SEQUENCE_COLUMNS).where(room_sequences.c.room_id.in_(room_ids)))
    sequences = [RoomSequence(**{column.name: row._mapping[column] for column in SEQUENCE_COLUMNS}) for row in rows]
    return {sequence.room_id: sequence for sequence in sequences}
