"""Webhook bodies of the staff API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from cloud.domain.webhooks.events import WebhookEvent

DeliveryStatus = Literal["pending", "delivered", "failed"]


class WebhookCreate(BaseModel):
    url: str = Field(min_length=1, max_length=2048, description="http(s) URL the events are POSTed to")
    events: list[WebhookEvent] = Field(min_length=1, max_length=20)
    site: str | None = Field(
        default=None, pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="only this site's events; null: every site"
    )


class WebhookPublic(BaseModel):
    id: int
    url: str
    events: list[str]
    site: str | None
    created_at: datetime


class WebhookCreated(WebhookPublic):
    secret: str = Field(description="the signing secret (whsec_...): shown this once, keep it")


class DeliveryPublic(BaseModel):
    id: int
    message_id: str = Field(description="the webhook-id header, the same on every attempt")
    event: str
    status: DeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
