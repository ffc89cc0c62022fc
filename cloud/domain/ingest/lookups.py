"""The rows a batch of messages reads again and again, read once per transaction.

A burst of events names the same rooms and machines over and over: each event would
otherwise read its room and its machine again. ``Lookups`` keeps them for one transaction
(never longer: another replica or an HTTP write may change them between transactions).
A machine whose sensor state this transaction wrote is read again when next asked for;
a message that may change rooms or machines wholesale (room info and status, staff
commands, a reset sequence) forgets everything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection

from cloud.platform.storage import repository as repo
from cloud.platform.storage.repository import MachineRecord, RoomRecord


@dataclass
class Lookups:
    rooms: dict[tuple[str, str], RoomRecord] = field(default_factory=dict)
    machines: dict[int, dict[str, MachineRecord | None]] = field(default_factory=dict)
    """Per room, the machines asked for, by id; None: written in this transaction, read it again."""
    touched: set[int] = field(default_factory=set)
    """Rooms heard from: their ``last_seen`` is stored once, after the batch."""

    def room(self, conn: Connection, site: str, room: str) -> RoomRecord | None:
        found = self.rooms.get((site, room))
        if found is None:
            found = repo.find_room(conn, site, room)
            if found is not None:
                self.rooms[(site, room)] = found
        return found

    def machine(self, conn: Connection, room_id: int, machine_id: str) -> MachineRecord | None:
        known = self.machines.setdefault(room_id, {})
        found = known.get(machine_id)
        if found is None:
            found = repo.find_machine(conn, room_id, machine_id)
            if found is not None:
                known[machine_id] = found
        return found

    def written(self, machine: MachineRecord) -> None:
        """``machine``'s row changed: the next lookup reads it again."""
        known = self.machines.get(machine.room_id)
        if known is not None and machine.machine_id in known:
            known[machine.machine_id] = None

    def touch_rooms(self, conn: Connection, now: datetime) -> None:
        if self.touched:
            repo.touch_rooms(conn, sorted(self.touched), now)
        self.touched.clear()

    def forget(self) -> None:
        self.rooms.clear()
        self.machines.clear()
