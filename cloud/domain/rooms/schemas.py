"""What the rooms endpoints answer: a room's events and sequence, its edges, its busy hours."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class EdgeEventPublic(BaseModel):
    """One edge event as the cloud stored it."""

    seq: int
    epoch: int = Field(description="which run of the room's sequence (a wiped edge starts a new one at seq 1)")
    boot_id: str = Field(description="the edge agent run that produced the event")
    machine: str
    type: str
    state: str | None = Field(description="the machine's state after the event")
    door: str | None
    current_a: float | None = None
    reason: str | None = None
    ts: datetime = Field(description="when the edge saw it")
    received_at: datetime = Field(description="when the cloud applied it")


class SeqResetPublic(BaseModel):
    """The last time the room's edge restarted its sequence (a wiped or replaced edge)."""

    count: int = Field(description="how many times the sequence was reset (each began a new epoch)")
    last_at: datetime | None
    last_boot_id: str | None = Field(description="the boot id whose event showed the reset")


class RoomEventsPublic(BaseModel):
    """A page of a room's events in seq order, with the state of its sequence."""

    site: str
    room: str
    epoch: int = Field(description="the epoch the events are from (the current one unless ?epoch= chose)")
    current_epoch: int
    contiguous_seq: int = Field(
        description="every seq up to this one (in the current epoch, since the first the cloud saw) is applied"
    )
    max_seq: int = Field(description="the highest seq applied in the current epoch")
    gaps: list[tuple[int, int]] = Field(description="missing seqs above contiguous_seq, as [[from, to], ...]")
    last_replay_at: datetime | None = Field(description="when the cloud last asked the edge to replay a gap")
    replay_requests: int = Field(description="replay requests sent for this room in the current epoch")
    seq_reset: SeqResetPublic
    items: list[EdgeEventPublic]
    next_after: int | None = Field(description="pass as ?after= for the next page; null on the last page")


class HourSharePublic(BaseModel):
    """How full the room usually is in one hour of the week: the average share of machines busy."""

    weekday: int = Field(ge=0, le=6, description="0 = Monday .. 6 = Sunday")
    hour: int = Field(ge=0, le=23, description="the hour in the campus's local time")
    washers: float = Field(ge=0, le=1)
    dryers: float = Field(ge=0, le=1)
    all: float = Field(ge=0, le=1)
    covered: bool = Field(
        default=True, description="the history has time in this hour; false: no data (its shares read 0, not quiet)"
    )


class QuietHourPublic(BaseModel):
    """One of the quietest hours coming up in the next 24 hours."""

    weekday: int
    hour: int
    all: float = Field(ge=0, le=1)
    starts_at: datetime = Field(description="when this hour starts (the current hour may have begun)")


class BusyHoursPublic(BaseModel):
    """A room's usual busy-ness by weekday and local hour, from its stored cycle history."""

    site: str
    room: str
    timezone: str = Field(description="the IANA time zone the hours are in (KYWASH_TIMEZONE)")
    weeks: int = Field(description="the weeks asked for")
    weeks_covered: float = Field(description="the weeks the averages are over: fewer when the room is newer")
    from_: datetime = Field(serialization_alias="from", description="start of the history used")
    to: datetime
    cycles: int = Field(description="cycles that overlap the window")
    hours: list[HourSharePublic] = Field(description="168 entries, Monday 00:00 first")
    quietest: list[QuietHourPublic] = Field(
        description="up to 3 of the next 24 hours that are quiet (under 25 % busy, with data), quietest first; "
        "empty when none is"
    )


class RoomSequencePublic(BaseModel):
    """How complete the cloud's copy of a room's event sequence is."""

    epoch: int
    contiguous_seq: int
    max_seq: int
    gaps: list[tuple[int, int]] = Field(description="missing seqs above contiguous_seq, as [[from, to], ...]")
    gap_since: datetime | None = Field(description="when the oldest open gap appeared (null: none)")
    last_replay_at: datetime | None
    replay_requests: int = Field(description="replay requests sent for this room in the current epoch")


class RoomEdgePublic(BaseModel):
    """One room's edge as staff see it: heard from, with which agent, how complete its events are."""

    site: str
    room: str
    status: Literal["online", "offline", "unknown"]
    status_since: datetime | None
    last_seen: datetime | None
    boot_id: str | None
    agent_version: str | None
    machines: int
    out_of_service: int
    open_faults: int
    sequence: RoomSequencePublic
    health: dict[str, Any] | None = Field(
        default=None,
        description="the edge's latest retained health message (outbox depth, serial errors, reconnects, "
        "sensors...), as it sent it; null until one arrives",
    )
    health_at: datetime | None = Field(default=None, description="when the cloud received that health message")
