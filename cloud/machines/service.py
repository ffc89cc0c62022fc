"""Turn stored rooms and machines into what students see, and choose which room is meant.

A machine in a room whose edge is offline is shown as ``unknown`` since the room went
silent — never as free — because the sensors can no longer vouch for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

from cloud.errors import InvalidInput, NotFound
from cloud.machines.schemas import UNKNOWN, MachinePublic, MachinesPublic, RoomPublic
from cloud.storage import repository as repo
from cloud.storage.repository import MachineRecord, RoomRecord
from kywash.contract import MachineKind


@dataclass(frozen=True, slots=True)
class RoomChoice:
    """The ``?site=&room=`` of a request, and the configured default room."""

    site: str | None = None
    room: str | None = None
    default_site: str | None = None
    default_room: str | None = None


def room_public(room: RoomRecord) -> RoomPublic:
    return RoomPublic(
        site=room.site,
        room=room.room,
        status=room.status,
        status_since=room.status_since,
        last_seen=room.last_seen,
        agent_version=room.agent_version,
        online=room.status == "online",
    )


def machine_public(room: RoomRecord, machine: MachineRecord) -> MachinePublic:
    offline = room.status == "offline"
    known = not offline and machine.state is not None
    return MachinePublic(
        site=room.site,
        room=room.room,
        id=machine.machine_id,
        kind=MachineKind(machine.kind),
        number=machine.number,
        label=machine.label,
        state=machine.state if known and machine.state else UNKNOWN,
        since=machine.since if known else (room.status_since if offline else None),
        door=machine.door if known else None,
        current_a=machine.current_a if known else None,
        unknown_since=room.status_since if offline else None,
        room_online=room.status == "online",
    )


def choose_room(conn: Connection, choice: RoomChoice) -> RoomRecord | None:
    """The room a request means; None when nothing is registered yet and none was named."""
    named = choice.site is not None or choice.room is not None
    if not named and choice.default_site and choice.default_room:
        return repo.find_room(conn, choice.default_site, choice.default_room)
    candidates = repo.list_rooms(conn, choice.site, choice.room)
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        if named:
            raise NotFound(f"no room matches site={choice.site or '*'} room={choice.room or '*'}")
        return None
    names = ", ".join(f"{r.site}/{r.room}" for r in candidates[:10])
    raise InvalidInput(f"{len(candidates)} rooms match ({names}); choose one with ?site=&room=")


def machines_in(conn: Connection, room: RoomRecord | None) -> MachinesPublic:
    views = [] if room is None else machine_views(conn, room.id)
    return MachinesPublic(
        washers=[m for m in views if m.kind is MachineKind.WASHER],
        dryers=[m for m in views if m.kind is MachineKind.DRYER],
    )


def machine_views(conn: Connection, room_id: int, machine_ids: list[str] | None = None) -> list[MachinePublic]:
    pairs = repo.machines_with_rooms(conn, room_ids=[room_id], machine_ids=machine_ids)
    return [machine_public(room, machine) for room, machine in pairs]


def find_machine(conn: Connection, room: RoomRecord | None, kind: MachineKind, number: int) -> MachinePublic:
    where = "" if room is None else f" in {room.site}/{room.room}"
    found = [] if room is None else [m for m in machine_views(conn, room.id) if m.kind is kind and m.number == number]
    if not found:
        raise NotFound(f"no {kind.value} number {number}{where}")
    return found[0]


def list_rooms(conn: Connection, site: str | None = None, room: str | None = None) -> list[RoomPublic]:
    return [room_public(r) for r in repo.list_rooms(conn, site, room)]


def room_view(conn: Connection, room_id: int) -> RoomPublic | None:
    room = repo.get_room(conn, room_id)
    return room_public(room) if room else None


def snapshot(
    conn: Connection, site: str | None = None, room: str | None = None
) -> tuple[list[RoomPublic], list[MachinePublic]]:
    """Every room (and its machines) matching the filter, for a WebSocket client's first message."""
    records = repo.list_rooms(conn, site, room)
    pairs = repo.machines_with_rooms(conn, room_ids=[r.id for r in records]) if records else []
    return [room_public(r) for r in records], [machine_public(r, m) for r, m in pairs]
