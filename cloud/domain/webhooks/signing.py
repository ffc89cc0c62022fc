"""Standard Webhooks signatures (https://www.standardwebhooks.com/), made by its own library
so a receiver using any Standard Webhooks verifier accepts them."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime
from math import floor

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh signing secret, ``whsec_`` and base64 as the specification writes them."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def signed_headers(secret: str, message_id: str, sent_at: datetime, body: bytes) -> dict[str, str]:
    """The three headers of one attempt: ``webhook-id`` (the same on every retry), the attempt's
    ``webhook-timestamp`` and ``webhook-signature`` (``v1,<base64 HMAC-SHA256 of id.timestamp.body>``)."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(floor(sent_at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, sent_at, body),
        "content-type": "application/json",
    }
