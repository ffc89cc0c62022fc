"""The events a webhook may subscribe to: a closed list, so a typo is refused at creation
instead of silently never firing."""

from __future__ import annotations

from typing import Final, Literal, get_args

WebhookEvent = Literal[
    "machine.state_changed",
    "machine.finished",
    "machine.free",
    "fault.reported",
    "fault.updated",
    "machine.service_changed",
    "room.offline",
    "room.online",
    "staff.alarm",
]
EVENTS: Final[frozenset[str]] = frozenset(get_args(WebhookEvent))
