"""Every message the server sends on ``/api/ws``, as one type, so the docs cannot drift.

Each model lives where its producer may import it (the layers forbid a single module of
them below the domain); this union gathers them for ``docs/websocket.md``'s test and for
anyone who wants a JSON Schema of the stream. Nothing validates outgoing messages with
it: the producers build them from these models already, and a second pass per send would
cost on the busiest path for nothing.
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import Field, TypeAdapter

from cloud.domain.activity.schemas import ActivityMessage
from cloud.domain.alarms.schemas import AlarmMessage
from cloud.domain.faults.schemas import FaultReportedMessage, FaultUpdatedMessage
from cloud.domain.laundry.live import (
    CycleContinuedMessage,
    CycleFinishedMessage,
    ReservationOfferedMessage,
    WaitlistMessage,
)
from cloud.domain.machines.schemas import MachineMessage, MachineServiceMessage, RoomMessage, SnapshotMessage
from cloud.domain.notifications.schemas import NotificationMessage

ServerMessage = Annotated[
    SnapshotMessage
    | RoomMessage
    | MachineMessage
    | WaitlistMessage
    | ReservationOfferedMessage
    | CycleFinishedMessage
    | CycleContinuedMessage
    | FaultReportedMessage
    | FaultUpdatedMessage
    | MachineServiceMessage
    | ActivityMessage
    | AlarmMessage
    | NotificationMessage,
    Field(discriminator="type"),
]

SERVER_MESSAGES: Final[TypeAdapter[ServerMessage]] = TypeAdapter(ServerMessage)
"""Validates (or describes, ``.json_schema()``) any one message as a client receives it."""
