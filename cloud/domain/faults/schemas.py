"""What the fault and service-state API shows and accepts (schemas named by role)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cloud.domain.laundry.live import MachineNamed
from cloud.platform.pagination import Page
from kywash.contract import MachineKind

Description = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]


class FaultPublic(BaseModel):
    """One fault report. ``reporter`` and ``resolved_by`` are shown to staff only."""

    id: int
    site: str
    room: str
    machine: str = Field(description='the machine id in its room, e.g. "washer-2"')
    kind: MachineKind
    number: int
    automatic: bool = Field(description="reported by the edge from its sensors, not by a person")
    reason: str | None = Field(description="for automatic reports: what the sensors saw")
    description: str
    status: str = Field(description="open or resolved")
    created_at: datetime
    resolved_at: datetime | None
    resolution_note: str | None
    photo_url: str | None = Field(description="the photo, for staff and the reporter only")
    mine: bool = Field(default=False, description="you reported it")
    reporter: str | None = Field(default=None, description="the reporter's student ID (staff only)")
    resolved_by: str | None = Field(default=None, description="who resolved it (staff only)")


class MachineFaultsPublic(BaseModel):
    """How many reports are open on one machine, and whether it is out of service."""

    site: str
    room: str
    machine: str
    kind: MachineKind
    number: int
    open_faults: int
    out_of_service: bool
    service_reason: str | None
    service_since: datetime | None


class FaultsPage(Page[FaultPublic]):
    """Reports newest first (``items``); pass ``next_before`` as ``?before=`` for the next page."""

    machines: list[MachineFaultsPublic] = Field(
        description="every machine with open reports or out of service (in the chosen room, if any)"
    )


class FaultResolve(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Note | None = Field(default=None, description="what was done, for the log and the reporter")


class ServiceTakeOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason = Field(description="shown to students, e.g. 'drum bearing replaced on Friday'")


class ServiceReturn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Note | None = None


class FaultReportedMessage(MachineNamed):
    """Tells the room a report came in, without the reporter (who is nobody else's business);
    ``open_faults`` lets the page update its count without asking."""

    type: Literal["fault_reported"] = "fault_reported"
    open_faults: int = Field(ge=0)
    automatic: bool = Field(description="reported by the edge from its sensors, not by a person")
