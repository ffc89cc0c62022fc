"""The WebSocket messages, in one place so the page and the server agree on their shape.

Every message is a JSON object with a ``type``; the full list, with schemas, is in
``docs/websocket.md``. Machine messages are rendered per client: the claimant sees
``mine: true`` and their claim, the holder ``reserved_for_me: true``, everyone else the
same anonymous view (computed once, shared).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from cloud.machines.schemas import RoomPublic
from cloud.realtime.hub import Message

if TYPE_CHECKING:
    from cloud.machines.service import MachineView

_VIEW = "_view"


def snapshot_message(rooms: Sequence[RoomPublic], machines: Sequence[MachineView], user_id: int | None) -> Message:
    return {
        "type": "snapshot",
        "rooms": [room.model_dump(mode="json") for room in rooms],
        "machines": [view.json_for(user_id) for view in machines],
    }


def room_message(room: RoomPublic) -> Message:
    return {"type": "room", "room": room.model_dump(mode="json")}


def machine_message(view: MachineView) -> Message:
    """A machine update; ``personalise`` turns it into what one client sees."""
    return {"type": "machine", _VIEW: view}


def personalise(message: Message, user_id: int | None) -> Message:
    """The message as ``user_id`` may see it (JSON-ready)."""
    view = message.get(_VIEW)
    if view is None:
        return message
    return {"type": message["type"], "machine": view.json_for(user_id)}
