"""What the API and the live stream show of staff alarms."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from cloud.platform.pagination import Page


class AlarmPublic(BaseModel):
    """One incident: open while ``cleared_at`` is null."""

    id: int
    kind: Literal["edge_silent", "sensor_fault", "out_of_service"]
    site: str
    room: str
    machine: str | None = Field(description='the machine id in its room, e.g. "washer-2"; null for a silent edge')
    title: str = Field(description="the sentence staff were told when it opened (or cleared, once cleared)")
    opened_at: datetime
    cleared_at: datetime | None
    open: bool
    details: dict[str, Any] = Field(description="e.g. last_seen for a silent edge, reason for out of service")


class AlarmsPage(Page[AlarmPublic]):
    """A page of alarms, newest first."""


class AlarmMessage(BaseModel):
    """Sent live to staff when an alarm opens or clears."""

    type: Literal["alarm"] = "alarm"
    change: Literal["opened", "cleared"]
    alarm: AlarmPublic
