"""What a laundry room's wall display may show: an explicit allow-list, never a trimmed view.

The display is a screen anyone in the room can read, with no login, so its models name each
field it carries rather than copying ``MachinePublic`` and deleting the personal ones: a field
added to the student view later stays off the wall until someone adds it here on purpose.
Nothing here says who claimed, holds, waits for or reported anything.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from cloud.domain.laundry import store
from cloud.domain.machines.schemas import MachinePublic, RoomPublic
from cloud.domain.machines.views import room_public, views_of
from cloud.platform.errors import NotFound
from cloud.platform.storage import repository as repo
from cloud.platform.texts import text
from kywash.contract import MachineKind


class DisplayModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DisplayMachine(DisplayModel):
    """One machine as the wall shows it."""

    id: str = Field(description='the machine id in its room, e.g. "washer-1"')
    kind: MachineKind
    number: int
    label: str | None
    state: str
    usage: str = Field(description="free, reserved, claimed, in_use, finished, out_of_service, unavailable, unknown")
    since: datetime | None
    expected_end: datetime | None = Field(description="while in use: about when it should be free")
    unknown_since: datetime | None = Field(description="when the room's sensors went silent (offline rooms only)")
    room_online: bool
    open_faults: int
    out_of_service: bool
    service_reason: str | None

    @classmethod
    def of(cls, machine: MachinePublic) -> DisplayMachine:
        return cls(
            id=machine.id,
            kind=machine.kind,
            number=machine.number,
            label=machine.label,
            state=machine.state,
            usage=machine.usage.value,
            since=machine.since,
            expected_end=machine.expected_end,
            unknown_since=machine.unknown_since,
            room_online=machine.room_online,
            open_faults=machine.open_faults,
            out_of_service=machine.out_of_service,
            service_reason=machine.service_reason if machine.out_of_service else None,
        )


class DisplayRoom(DisplayModel):
    site: str
    room: str
    status: str = Field(description="online, offline, or unknown (no status heard yet)")
    status_since: datetime | None
    online: bool

    @classmethod
    def of(cls, room: RoomPublic) -> DisplayRoom:
        return cls(
            site=room.site, room=room.room, status=room.status, status_since=room.status_since, online=room.online
        )


class DisplayWaitlists(DisplayModel):
    """How many students wait per kind; never who."""

    washer: int = Field(ge=0)
    dryer: int = Field(ge=0)


class DisplaySnapshotMessage(DisplayModel):
    """The whole room, first on every connect (and reconnect); ``now`` and ``rate`` let the
    screen count on the server's clock between messages, not on its own."""

    type: Literal["snapshot"] = "snapshot"
    now: datetime
    rate: float = Field(
        default=1.0, gt=0, description="server seconds per real second: 1, except in a sped-up demo or simulation"
    )
    room: DisplayRoom
    machines: list[DisplayMachine]
    waitlists: DisplayWaitlists
    timezone: str = Field(default="UTC", description="the room's IANA time zone: the screen shows its times in it")


class DisplayMachineMessage(DisplayModel):
    type: Literal["machine"] = "machine"
    machine: DisplayMachine


class DisplayRoomMessage(DisplayModel):
    type: Literal["room"] = "room"
    room: DisplayRoom


class DisplayWaitlistMessage(DisplayModel):
    type: Literal["waitlist"] = "waitlist"
    kind: MachineKind
    length: int = Field(ge=0)


DisplayMessage = DisplaySnapshotMessage | DisplayMachineMessage | DisplayRoomMessage | DisplayWaitlistMessage


def display_snapshot(
    conn: Connection, site: str, room: str, now: datetime, timezone: str = "UTC", rate: float = 1.0
) -> DisplaySnapshotMessage:
    """The room as the wall shows it; ``NotFound`` for a room nobody registered."""
    record = repo.find_room(conn, site, room)
    if record is None:
        raise NotFound(text("error.room.no_such_room", site=site, room=room), code="no_such_room")
    views = views_of(conn, room_ids=[record.id])
    machines = sorted(views, key=lambda v: (v.public.kind is not MachineKind.WASHER, v.public.number))
    lengths = {kind.value: len(store.live_entries(conn, record.id, kind.value)) for kind in MachineKind}
    return DisplaySnapshotMessage(
        now=now,
        rate=rate,
        room=DisplayRoom.of(room_public(record)),
        machines=[DisplayMachine.of(view.public) for view in machines],
        waitlists=DisplayWaitlists(**lengths),
        timezone=timezone,
    )
