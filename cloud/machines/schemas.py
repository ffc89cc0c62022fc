"""What the API shows of a room and its machines (schemas named by role: ``XPublic``)."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from pydantic import BaseModel, Field

from kywash.contract import MachineKind

UNKNOWN: Final = "unknown"


class MachinePublic(BaseModel):
    """One washer or dryer; ``state`` is the sensors' word, or ``unknown`` while the room is silent."""

    site: str
    room: str
    id: str = Field(description='the machine id in its room, e.g. "washer-1"')
    kind: MachineKind
    number: int
    label: str | None
    state: str = Field(
        description="idle, running, paused, finished, door_open, sensor_fault, out_of_service, or "
        "unknown (the room's edge is offline, or the machine has not reported yet)"
    )
    since: datetime | None = Field(description="when the shown state began")
    door: str | None = Field(description="open or closed; null while unknown")
    current_a: float | None = Field(description="current drawn, in amperes; null while unknown")
    unknown_since: datetime | None = Field(description="when the room went silent (offline rooms only)")
    room_online: bool


class MachinesPublic(BaseModel):
    """A room's machines, split the way the laundry room is: washers and dryers, by number."""

    washers: list[MachinePublic]
    dryers: list[MachinePublic]


class RoomPublic(BaseModel):
    site: str
    room: str
    status: str = Field(description="online, offline, or unknown (no status heard yet)")
    status_since: datetime | None
    last_seen: datetime | None
    agent_version: str | None
    online: bool
