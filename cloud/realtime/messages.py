"""The WebSocket messages, in one place so the page and the server agree on their shape::

{"type": "snapshot", "rooms": [RoomPublic...], "machines": [MachinePublic...]}
{"type": "room", "room": RoomPublic}          a room went online/offline (its machines follow)
{"type": "machine", "machine": MachinePublic}  a machine's shown state changed
"""

from __future__ import annotations

from collections.abc import Sequence

from cloud.machines.schemas import MachinePublic, RoomPublic
from cloud.realtime.hub import Message


def snapshot_message(rooms: Sequence[RoomPublic], machines: Sequence[MachinePublic]) -> Message:
    return {
        "type": "snapshot",
        "rooms": [room.model_dump(mode="json") for room in rooms],
        "machines": [machine.model_dump(mode="json") for machine in machines],
    }


def room_message(room: RoomPublic) -> Message:
    return {"type": "room", "room": room.model_dump(mode="json")}


def machine_message(machine: MachinePublic) -> Message:
    return {"type": "machine", "machine": machine.model_dump(mode="json")}
