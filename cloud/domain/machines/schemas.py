"""What the API shows of a room and its machines (schemas named by role: ``XPublic``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Final, Literal

from pydantic import BaseModel, Field

from cloud.domain.machines.usage import Usage
from kywash.contract import MachineKind

UNKNOWN: Final = "unknown"


class ClaimPublic(BaseModel):
    id: int
    status: str = Field(description="pending (waiting for the sensors), active, finished; ended, cancelled, expired")
    category: str
    created_at: datetime
    confirm_by: datetime = Field(description="the sensors must see the machine start by then")
    started_at: datetime | None
    finished_at: datetime | None
    expected_end: datetime | None = Field(
        default=None,
        description="while the cycle runs: about when it ends (the edge's learned profile when it sent one, "
        "else the machine's typical cycle; both with the extra minutes of the category)",
    )


class MachinePublic(BaseModel):
    """One washer or dryer; ``state`` is the sensors' word, or ``unknown`` while the room is silent."""

    site: str
    room: str
    id: str = Field(description='the machine id in its room, e.g. "washer-1"')
    kind: MachineKind
    number: int
    label: str | None
    state: str = Field(
        description="idle, running, paused, ending (quiet and maybe done, not yet surely: shown as "
        "finishing, still in use), finished, door_open, sensor_fault, out_of_service, or "
        "unknown (the room's edge is offline, or the machine has not reported yet)"
    )
    since: datetime | None = Field(description="when the shown state began")
    door: str | None = Field(description="open or closed; null while unknown")
    current_a: float | None = Field(description="current drawn, in amperes; null while unknown")
    observed_at: datetime | None = Field(
        default=None,
        description="when its sensors were last heard: the cloud's time of its last stored reading (a state, an "
        "event, or telemetry, which is stored at most every 5 s). Not the room's last_seen (any message of the "
        "room) nor a claim or service change. Kept while the room is offline: it says how old the last word is. "
        "Live machine messages come when what is shown changes, and at most once a minute when only this moved",
    )
    unknown_since: datetime | None = Field(description="when the room went silent (offline rooms only)")
    room_online: bool
    usage: Usage = Field(
        description="what it means to a student: free, reserved (held for the head of the waitlist), "
        "claimed (waiting for the sensors to see it start), in_use, finished (waiting to be unloaded), "
        "out_of_service, unavailable (sensor fault) or unknown"
    )
    in_use_by: Literal["you", "someone", "unknown"] | None = Field(
        default=None, description="whose claim it is: yours, another student's, or nobody's (an unclaimed cycle)"
    )
    mine: bool = Field(default=False, description="you hold the live claim on it")
    claim: ClaimPublic | None = Field(default=None, description="your claim on it (only shown to you)")
    cycle_started_at: datetime | None = Field(
        default=None, description="while in use: when the cycle in progress started (the edge's word; null if not sent)"
    )
    expected_end: datetime | None = Field(
        default=None,
        description="while in use (running, paused, ending), to everyone: about when it should be free: the "
        "edge's learned profile (expected_end_source edge), else the machine's typical cycle from its start "
        "(estimate); null when neither is known",
    )
    expected_end_source: Literal["edge", "estimate"] | None = Field(
        default=None, description="whose word expected_end is: the edge's learned profile, or the cloud's estimate"
    )
    hold_until: datetime | None = Field(default=None, description="reserved for the waitlist's head until then")
    reserved_for_me: bool = False
    open_faults: int = 0
    out_of_service: bool = False
    service_reason: str | None = None
    service_since: datetime | None = None
    service_eta: date | None = Field(
        default=None, description="out of service: when it should be back (the date of its scheduled repair)"
    )
    service_sync: Literal["none", "pending", "applied"] = Field(
        default="none",
        description="whether the room's edge has applied the latest service change: none (never changed), "
        "pending (published as desired state, not yet acknowledged), applied (acknowledged by the edge)",
    )
    desired_revision: int = Field(default=0, description="revision of the latest desired state sent to the edge")
    applied_revision: int = Field(default=0, description="the highest desired revision the edge acknowledged")
    applied_at: datetime | None = Field(default=None, description="when the edge applied it")


class ServerClock(BaseModel):
    """What the server's clock read when an answer was sent, for pages that count on it."""

    server_time: datetime | None = Field(
        default=None,
        description="the server's now when this was sent: pages count time left and '… ago' on it, "
        "not on the device's clock (a phone's may be minutes off)",
    )
    rate: float = Field(
        default=1.0, gt=0, description="server seconds per real second: 1, except in a sped-up demo or simulation"
    )


class MachinesPublic(ServerClock):
    """A room's machines, split the way the laundry room is: washers and dryers, by number."""

    washers: list[MachinePublic]
    dryers: list[MachinePublic]
    timezone: str | None = Field(default=None, description="the room's IANA time zone: its times are shown in it")


class RoomPublic(BaseModel):
    site: str
    room: str
    status: str = Field(description="online, offline, or unknown (no status heard yet)")
    status_since: datetime | None
    last_seen: datetime | None
    agent_version: str | None
    online: bool
    timezone: str | None = Field(
        default=None, description="the room's IANA time zone (KYWASH_SITE_TIMEZONES, else KYWASH_TIMEZONE)"
    )


class SnapshotMessage(ServerClock):
    """Everything a client follows, so it can replace its state after any gap (a reconnect)
    instead of replaying the changes it missed. Its machines are rendered for the receiver."""

    type: Literal["snapshot"] = "snapshot"
    rooms: list[RoomPublic]
    machines: list[MachinePublic]


class RoomMessage(BaseModel):
    type: Literal["room"] = "room"
    room: RoomPublic


class MachineMessage(BaseModel):
    """What each client receives for a changed machine. The hub carries the unrendered view
    and ``cloud.processes.live_messages.personalise`` builds this shape per client (the
    anonymous view serialised once for all), so nothing builds the model in service: it
    describes the wire for the docs and tests."""

    type: Literal["machine"] = "machine"
    machine: MachinePublic


class MachineServiceMessage(BaseModel):
    """Out of service or back, as an event: the ``machine`` update that comes with it is a
    whole view, which shows the new state but does not announce the change."""

    type: Literal["machine_service"] = "machine_service"
    site: str
    room: str
    machine: str = Field(description='the machine id in its room, e.g. "washer-2"')
    out_of_service: bool
    reason: str | None
    since: datetime
