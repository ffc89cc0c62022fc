"""What the API shows of a user's notifications (schemas named by role: ``XPublic``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from cloud.platform.pagination import Page


class NotificationPublic(BaseModel):
    """One message to one user, as the live ``notification`` WebSocket message carries it."""

    id: int
    type: str = Field(description="e.g. cycle_finished, reservation_offered, claim_expired")
    title: str
    body: str
    data: dict[str, Any] = Field(description="what it is about, e.g. the machine id, for the page to link to")
    created_at: datetime
    read: bool
    read_at: datetime | None


class NotificationsPage(Page[NotificationPublic]):
    unread_count: int = Field(description="all of the user's unread notifications, not only this page's")


class ReadAllResult(BaseModel):
    updated: int = Field(description="how many notifications were unread and are now read")


class LiveNotification(BaseModel):
    """A notification as it is announced: always just stored, so unread (``read_at`` would
    always be null, and is left out)."""

    id: int
    type: str
    title: str
    body: str
    data: dict[str, Any]
    created_at: datetime
    read: Literal[False] = False


class NotificationMessage(BaseModel):
    type: Literal["notification"] = "notification"
    notification: LiveNotification
