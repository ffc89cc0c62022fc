"""What the fault and service-state API shows and accepts (schemas named by role)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from cloud.domain.faults.lifecycle import FaultStatus
from cloud.domain.laundry.live import MachineNamed
from cloud.platform.pagination import Page
from kywash.contract import MachineKind

Description = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)]


StepStatus = Literal["acknowledged", "scheduled", "resolved", "wont_fix"]


class FaultStepPublic(BaseModel):
    """One step staff took on a report; ``by`` is shown to staff only."""

    status: FaultStatus
    note: str | None
    eta: date | None = Field(description="for scheduled: the expected repair date")
    at: datetime
    by: str | None = Field(default=None, description="who took the step (staff only)")


class FaultPublic(BaseModel):
    """One fault report. ``reporter``, ``resolved_by`` and each step's ``by`` are shown to staff only."""

    id: int
    site: str
    room: str
    machine: str = Field(description='the machine id in its room, e.g. "washer-2"')
    kind: MachineKind
    number: int
    automatic: bool = Field(description="reported by the edge from its sensors, not by a person")
    reason: str | None = Field(description="for automatic reports: what the sensors saw")
    description: str
    status: FaultStatus = Field(
        description="open, acknowledged (staff have seen it), scheduled (a repair is planned for eta), "
        "resolved, or wont_fix; the last two are closed"
    )
    created_at: datetime
    resolved_at: datetime | None = Field(description="when it was closed (resolved or wont_fix)")
    resolution_note: str | None = Field(description="the note it was closed with")
    eta: date | None = Field(default=None, description="while scheduled: the expected repair date")
    note: str | None = Field(default=None, description="the latest step's note (what students read)")
    updated_at: datetime | None = Field(default=None, description="when the latest step was taken")
    history: list[FaultStepPublic] = Field(default_factory=list, description="every step, oldest first")
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


class RepairPublic(BaseModel):
    """A repair still to do in a room, as anyone there may see it: never who reported it and
    no photo; the report's own text only to its reporter and staff."""

    fault_id: int
    machine: str
    kind: MachineKind
    number: int
    status: FaultStatus = Field(description="open, acknowledged or scheduled")
    eta: date | None
    note: str | None = Field(description="the latest step's note from staff")
    reported_at: datetime
    updated_at: datetime | None
    automatic: bool
    reason: str | None = Field(description="for automatic reports: what the sensors saw")
    description: str | None = Field(default=None, description="the report's text (its reporter and staff only)")
    mine: bool = False


class RepairsPublic(BaseModel):
    """The room's repairs still to do, oldest report first."""

    site: str
    room: str
    items: list[RepairPublic]


class FaultsPage(Page[FaultPublic]):
    """Reports newest first (``items``); pass ``next_before`` as ``?before=`` for the next page."""

    machines: list[MachineFaultsPublic] = Field(
        description="every machine with open reports or out of service (in the chosen room, if any)"
    )


class FaultResolve(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Note | None = Field(default=None, description="what was done, for the log and the reporter")


class FaultStatusChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: StepStatus = Field(description="acknowledged, scheduled, resolved or wont_fix")
    note: Note | None = Field(default=None, description="for the reporter and the room's repairs list")
    eta: date | None = Field(default=None, description="scheduled only: the expected repair date (YYYY-MM-DD)")


class ServiceTakeOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason = Field(description="shown to students, e.g. 'drum bearing replaced on Friday'")


class ServiceReturn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Note | None = None


class FaultUpdatedMessage(MachineNamed):
    """A report's step, told to the room like ``fault_reported`` (never who reported it or
    who took the step), so the cards and the Repairs list change without a reload."""

    type: Literal["fault_updated"] = "fault_updated"
    fault_id: int
    status: FaultStatus
    eta: date | None
    note: str | None
    at: datetime
    open_faults: int = Field(ge=0)
    automatic: bool = Field(description="reported by the edge from its sensors, not by a person")


class FaultReportedMessage(MachineNamed):
    """Tells the room a report came in, without the reporter (who is nobody else's business);
    ``open_faults`` lets the page update its count without asking."""

    type: Literal["fault_reported"] = "fault_reported"
    open_faults: int = Field(ge=0)
    automatic: bool = Field(description="reported by the edge from its sensors, not by a person")
