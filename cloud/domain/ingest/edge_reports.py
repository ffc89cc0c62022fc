"""The edge's reports on the dashboard side of the contract: acks of desired state, and health.

- ``ack``: the edge applied a desired revision; ``applied_revision`` only moves up, and
  never past the revision the cloud actually asked for.
- ``health``: the edge's own figures, kept as the room's latest (shown to staff).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select, update

from cloud.platform.errors import IngestRejected
from cloud.platform.storage.repository import RoomRecord
from cloud.platform.storage.tables import machines, rooms
from kywash.contract import EdgeHealth, MachineAck


def apply_ack(conn: Connection, room: RoomRecord, ack: MachineAck, now: datetime) -> int | None:
    """Record that the edge applied ``ack.revision``; the machine's pk if that moved anything."""
    row = conn.execute(
        update(machines)
        .where(
            machines.c.room_id == room.id,
            machines.c.machine_id == ack.machine,
            machines.c.applied_revision < ack.revision,
            machines.c.desired_revision >= ack.revision,
        )
        .values(applied_revision=ack.revision, applied_at=ack.applied_at)
        .returning(machines.c.id)
    ).first()
    if row is None:
        known = conn.execute(
            select(machines.c.id).where(machines.c.room_id == room.id, machines.c.machine_id == ack.machine)
        ).first()
        if known is None:
            raise IngestRejected("unknown_machine", f"machine {ack.machine!r} is not in {room.site}/{room.room}")
        return None  # an old, repeated, or (after a database restore) unknown revision
    return int(row[0])


def apply_health(conn: Connection, room: RoomRecord, health: EdgeHealth, now: datetime) -> None:
    conn.execute(
        update(rooms)
        .where(rooms.c.id == room.id)
        .values(health=health.model_dump(mode="json", by_alias=True), health_at=now)
    )
