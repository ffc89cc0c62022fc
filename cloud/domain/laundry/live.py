"""The live messages the laundry rules send: the waitlist moving, a hold, a cycle done or not.

They are models rather than dicts so the producer cannot drift from ``docs/websocket.md``
(a test checks the doc against them, through ``cloud.api.websocket_messages``). They live
here, not with the machine views, because the laundry layer may not import ``machines``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from kywash.contract import MachineKind


class MachineNamed(BaseModel):
    """A message about one machine, naming it as students do (kind and number) and as the
    page finds it (site, room and machine id), so it needs no lookup to show."""

    type: str
    site: str
    room: str
    machine: str = Field(description='the machine id in its room, e.g. "washer-2"')
    kind: MachineKind
    number: int


class WaitlistMessage(BaseModel):
    """The room's copy carries only the length; each waiting student's own copy adds
    ``position`` and ``status``, which are left out (not null) elsewhere so the room's copy
    says nothing about anyone."""

    type: Literal["waitlist"] = "waitlist"
    site: str
    room: str
    kind: MachineKind
    length: int = Field(ge=0)
    position: int | None = Field(default=None, ge=1, exclude_if=lambda value: value is None)
    status: Literal["waiting", "offered"] | None = Field(default=None, exclude_if=lambda value: value is None)


class ReservationOfferedMessage(MachineNamed):
    type: Literal["reservation_offered"] = "reservation_offered"
    hold_until: datetime


class CycleFinishedMessage(MachineNamed):
    type: Literal["cycle_finished"] = "cycle_finished"
    finished_at: datetime


class CycleContinuedMessage(MachineNamed):
    type: Literal["cycle_continued"] = "cycle_continued"
    continued_at: datetime
