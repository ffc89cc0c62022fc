"""The snapshot, room and machine messages: the ones about what the room looks like.

Each is built from its model (``cloud.domain.machines.schemas``; all of them together are
``cloud.api.websocket_messages.ServerMessage``, which ``docs/websocket.md`` is tested
against). Machine messages are rendered per client: the claimant sees ``mine: true`` and
their claim, the holder ``reserved_for_me: true``, everyone else the same anonymous view
(serialised once, shared). So the hub carries a machine message unrendered, and
``personalise`` writes the ``MachineMessage`` shape for each client.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from cloud.domain.machines.schemas import RoomMessage, RoomPublic, SnapshotMessage
from cloud.domain.machines.views import MachineView, views_of
from cloud.platform.hub import Audience, Message

VIEW_KEY = "_view"
"""Where an unrendered machine message keeps its view (never sent to a client as such)."""


def snapshot_message(rooms: Sequence[RoomPublic], machines: Sequence[MachineView], user_id: int | None) -> Message:
    """Rendered for ``user_id`` straight away: the views are fresh for this one client, so
    there is no shared anonymous rendering to reuse. Without ``server_time`` and ``rate``,
    which each send adds (``cloud.api.server_clock.with_clock``)."""
    shown = [view.for_viewer(user_id) for view in machines]
    return SnapshotMessage(rooms=list(rooms), machines=shown).model_dump(mode="json", exclude={"server_time", "rate"})


def room_message(room: RoomPublic) -> Message:
    return RoomMessage(room=room).model_dump(mode="json")


def machine_message(view: MachineView) -> Message:
    """A machine update; ``personalise`` turns it into what one client sees."""
    return {"type": "machine", VIEW_KEY: view}


def personalise(message: Message, user_id: int | None) -> Message:
    """The message as ``user_id`` may see it (JSON-ready): for a machine, a ``MachineMessage``."""
    view = message.get(VIEW_KEY)
    if view is None:
        return message
    return {"type": message["type"], "machine": view.json_for(user_id)}


def machine_messages(conn: Connection, machine_pks: Sequence[int]) -> list[tuple[Message, Audience]]:
    """One ``machine`` message per changed machine, for the clients following its room."""
    return [machine_message_to_room(view) for view in views_of(conn, machine_pks=machine_pks)]


def machine_message_to_room(view: MachineView) -> tuple[Message, Audience]:
    return machine_message(view), Audience.of_room(view.public.site, view.public.room)
