"""What the API shows of a user's notifications (schemas named by role: ``XPublic``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from cloud.pagination import Page


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
