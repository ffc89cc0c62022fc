"""What ingest does with the dashboard topics: staff commands, the edge's acks and health.

- ``cmd/{user}``: a staff member (the broker's ACL lets a user publish only under their own
  name) asks for a machine to go out of service or back. The broker username is mapped to
  the staff account of that username when there is one (the activity log names the
  person); otherwise the log keeps the broker username. The change goes through the same
  functions as the web app's (``cloud.faults.service_state``): retained ``desired`` with a
  new revision, the activity log, staff notifications, claims and waitlists reacting.
- ``ack``: the edge applied a desired revision; ``applied_revision`` only moves up, and
  never past the revision the cloud actually asked for.
- ``health``: the edge's own figures, kept as the room's latest (shown to staff).
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import Connection, select, update

from cloud.accounts.users import find_by_login
from cloud.errors import IngestRejected
from cloud.faults.service_state import put_back_in_service, take_out_of_service
from cloud.storage import repository as repo
from cloud.storage.repository import RoomRecord
from cloud.storage.tables import machines, rooms
from cloud.tx import Tx
from kywash.contract import EdgeHealth, MachineAck, MachineCommand, TopicRef

log = logging.getLogger(__name__)

DEFAULT_REASON = "taken out of service from an MQTT dashboard"


def staff_user_id(conn: Connection, broker_user: str) -> int | None:
    """The staff account whose username is ``broker_user``, if any (students never match)."""
    user = find_by_login(conn, username=broker_user)
    return user.id if user is not None and user.role == "staff" else None


def apply_command(tx: Tx, ref: TopicRef, command: MachineCommand) -> tuple[int, bool]:
    """Carry out a staff command; returns (room id, whether the machine changed)."""
    room = repo.find_room(tx.conn, ref.site, ref.room)
    if room is None:
        raise IngestRejected("unknown_room", f"room {ref.site}/{ref.room} is not registered")
    machine = repo.find_machine(tx.conn, room.id, ref.machine or "")
    if machine is None:
        raise IngestRejected("unknown_machine", f"machine {ref.machine!r} is not in {ref.site}/{ref.room}")
    user = ref.user or "unknown"
    by = staff_user_id(tx.conn, user)
    reason = (command.reason or "").strip() or None
    if command.out_of_service:
        changed = take_out_of_service(tx, machine.id, reason=reason or DEFAULT_REASON, by=by, via=user)
    else:
        changed = put_back_in_service(tx, machine.id, by=by, note=reason, via=user)
    log.info(
        "%s asked for %s/%s/%s to be %s%s", user, ref.site, ref.room, machine.machine_id,
        "out of service" if command.out_of_service else "in service", "" if changed else " (it already was)",
    )  # fmt: skip
    return room.id, changed


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
