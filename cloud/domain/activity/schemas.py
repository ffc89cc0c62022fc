"""What the API shows of the activity log (schemas named by role: ``XPublic``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from cloud.platform.pagination import Page


class ActivityPublic(BaseModel):
    """One thing that happened: a claim, a finished cycle, a fault report, a machine out of service..."""

    id: int
    type: str = Field(description="what happened, e.g. claim_created, cycle_finished, fault_reported")
    message: str = Field(description="a sentence for people, e.g. 'You claimed washer 2'")
    user_id: int | None = Field(description="whose activity it is (null: nobody's, e.g. an automatic fault)")
    user: str | None = Field(default=None, description="that user's student ID (staff: username); shown to staff only")
    room: str | None = Field(description='"site/room", or null when it concerns no room')
    machine: str | None = Field(description='the machine id in its room, e.g. "washer-2", or null')
    data: dict[str, Any]
    created_at: datetime


class ActivitiesPage(Page[ActivityPublic]):
    """A page of the log, newest first (a named class, so the API schema is "ActivitiesPage")."""


class LiveActivity(BaseModel):
    """The entry as it is written, before the feed joins in names (``ActivityPublic``): the
    live message goes out inside the writing transaction, where that join would cost a query."""

    id: int
    type: str
    message: str
    user_id: int | None
    data: dict[str, Any]
    created_at: datetime


class ActivityMessage(BaseModel):
    type: Literal["activity"] = "activity"
    activity: LiveActivity
