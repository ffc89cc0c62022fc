"""Bodies of ``/api/v1/push``: the browser's ``PushSubscription.toJSON()``, checked at the door.

A push service URL and two keys the browser made: anything else (a URL that is not http(s),
a key of the wrong length) would only fail later, on a worker thread, with nobody to tell.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Final
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from cloud.platform.texts import invalid

MAX_ENDPOINT: Final = 2048
P256DH_BYTES: Final = 65
"""An uncompressed P-256 point: 0x04, then x and y."""
AUTH_BYTES: Final = 16


def _endpoint(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid("error.push.endpoint_url")
    try:
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        raise invalid("error.push.endpoint_port") from None
    return value


def _decoded(value: str, length: int) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise invalid("error.push.not_base64url") from None
    if len(raw) != length:
        raise invalid("error.push.key_length", length=length, got=len(raw))
    return raw


def _p256dh(value: str) -> str:
    if _decoded(value, P256DH_BYTES)[0] != 0x04:
        raise invalid("error.push.p256dh_point")
    return value.rstrip("=")


def _auth(value: str) -> str:
    _decoded(value, AUTH_BYTES)
    return value.rstrip("=")


_B64URL = StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_-]+=*$")
Endpoint = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_ENDPOINT), AfterValidator(_endpoint)
]


class SubscriptionKeys(BaseModel):
    p256dh: Annotated[str, _B64URL, AfterValidator(_p256dh)] = Field(description="the browser's P-256 public key")
    auth: Annotated[str, _B64URL, AfterValidator(_auth)] = Field(description="the 16-byte auth secret")


class SubscriptionCreate(BaseModel):
    """``POST /push/subscriptions``: exactly what ``PushSubscription.toJSON()`` gives."""

    model_config = ConfigDict(populate_by_name=True)

    endpoint: Endpoint = Field(examples=["https://fcm.googleapis.com/fcm/send/abc..."])
    keys: SubscriptionKeys
    expiration_time: float | None = Field(default=None, alias="expirationTime", description="ignored; usually null")


class SubscriptionDelete(BaseModel):
    """``DELETE /push/subscriptions``: the browser unsubscribed (or the student turned pushes off)."""

    endpoint: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_ENDPOINT)]


class SubscriptionPublic(BaseModel):
    id: int
    endpoint: str


class PushKeyPublic(BaseModel):
    public_key: str = Field(description="the VAPID public key, base64url: pass it as applicationServerKey")
