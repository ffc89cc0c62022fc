"""Request and response bodies of the claim and waitlist routes (the original KY Wash shapes)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from cloud.domain.laundry.rules import Category
from cloud.domain.machines.schemas import ClaimPublic, MachinePublic
from kywash.contract import MachineKind


class RoomFields(BaseModel):
    """An optional room, where a deployment has several: ``"room"`` or ``"site/room"``."""

    model_config = ConfigDict(extra="ignore")

    room: str | None = Field(default=None, max_length=127, description='"laundry-1" or "north/laundry-1"')
    site: str | None = Field(default=None, max_length=63)


class MachineRequest(RoomFields):
    machine_type: MachineKind
    machine_id: int = Field(ge=1, le=999, description="the machine's number within its type in the room")


class StartRequest(MachineRequest):
    category: Category = Field(default=Category.NORMAL, description="normal, extra_5, extra_10 or extra_15")


class WaitlistRequest(RoomFields):
    machine_type: MachineKind


class ClaimResult(BaseModel):
    message: str
    claim: ClaimPublic
    machine: MachinePublic


class WaitlistEntryPublic(BaseModel):
    position: int
    status: str = Field(description="waiting, or offered (a machine is held for this student)")
    joined_at: datetime
    mine: bool
    hold_until: datetime | None = Field(description="only shown on your own entry")
    machine: str | None = Field(description="the machine held for you (your own entry only)")
    student_id: str | None = Field(default=None, description="staff only")


class WaitlistPublic(BaseModel):
    site: str
    room: str
    kind: MachineKind
    length: int
    my_position: int | None
    entries: list[WaitlistEntryPublic]
