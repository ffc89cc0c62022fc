"""The wall display's live messages: each hub message of a room, turned into what the display may see.

The hub hands the same message object to every client of the room, so its display text is
made once (kept by the object's identity, like ``cloud.api.routers.websocket.SharedText``)
for all the displays of that room. Only machine, room and waitlist messages go to a display,
each rebuilt from the display's allow-list models (``cloud.domain.rooms.display``); every
other message (a fault report, a service change: the machine update beside it shows them)
is dropped, as is the per-student copy of a waitlist, which never reaches a room audience.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict

from pydantic import ValidationError

from cloud.domain.machines.schemas import RoomPublic
from cloud.domain.machines.views import MachineView
from cloud.domain.rooms.display import (
    DisplayMachine,
    DisplayMachineMessage,
    DisplayModel,
    DisplayRoom,
    DisplayRoomMessage,
    DisplayWaitlistMessage,
)
from cloud.platform.hub import Message
from cloud.processes.live_messages import VIEW_KEY


def display_message(message: Message) -> DisplayModel | None:
    """What a display sees of a hub message, or None: nothing."""
    kind = message.get("type")
    if kind == "machine":
        view = message.get(VIEW_KEY)
        if isinstance(view, MachineView):
            return DisplayMachineMessage(machine=DisplayMachine.of(view.public))
        return None
    try:
        if kind == "room":
            return DisplayRoomMessage(room=DisplayRoom.of(RoomPublic.model_validate(message["room"])))
        if kind == "waitlist" and "position" not in message:
            return DisplayWaitlistMessage(kind=message["kind"], length=message["length"])
    except (KeyError, ValidationError):
        return None
    return None


def to_text(message: DisplayModel) -> str:
    return json.dumps(message.model_dump(mode="json"), separators=(",", ":"), ensure_ascii=False)


class DisplayTexts:
    """The display text of the last ``size`` hub messages (None: not for a display)."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._texts: OrderedDict[int, tuple[Message, str | None]] = OrderedDict()
        self._lock = threading.Lock()
        self.serialised = 0
        """How many messages were turned into text (not how many were sent)."""

    def text(self, message: Message) -> str | None:
        entry = self._texts.get(id(message))
        if entry is not None and entry[0] is message:
            return entry[1]
        shown = display_message(message)
        text = None if shown is None else to_text(shown)
        with self._lock:
            self.serialised += 1
            self._texts[id(message)] = (message, text)
            while len(self._texts) > self.size:
                self._texts.popitem(last=False)
        return text
