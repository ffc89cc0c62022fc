"""What ``GET /api/v1/rooms/{room}/events`` shows a technician auditing a room."""

from __future__ import annotations

from datetime import datetime

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
