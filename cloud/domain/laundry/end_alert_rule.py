"""When a student is told their cycle is nearly over, and what they are told: pure functions.

A student picks a lead time (``ALERT_LEADS``: off, 5 or 10 minutes) in their profile; the
alert is due that long before the claim's expected end. The expected end is an estimate
that moves (the edge's learned profile revises it), so the due time is recomputed from it
every time, never kept as a fact of its own. It is never after the expected end (then there
is nothing left to warn of) and never before the cycle started (a cycle shorter than the
lead is told at its start, with the minutes it really has left).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Final

from cloud.domain.notifications.texts import Machine, Text, text

ALERT_LEADS: Final = (0, 5, 10)
"""The choices, in minutes before the expected end; 0 is off."""


def alert_due(expected_end: datetime | None, lead_minutes: int, started_at: datetime | None) -> datetime | None:
    """When the alert is due; None when there is none: off, no estimate, or the cycle has not started."""
    if lead_minutes <= 0 or expected_end is None or started_at is None or expected_end < started_at:
        return None
    return max(expected_end - timedelta(minutes=lead_minutes), started_at)


def minutes_left(expected_end: datetime, now: datetime, lead_minutes: int) -> int:
    """The minutes the alert says are left: the lead when it fires on time, else what is really
    left (at least 1: it is sent only before the end), rounded up."""
    left = math.ceil((expected_end - now).total_seconds() / 60)
    return max(1, min(lead_minutes, left))


def alert_text(kind: str, number: int, minutes: int) -> tuple[Text, Text]:
    """Title and body: "5 minutes left on washer 3" (catalog keys, one and other plural forms)."""
    machine = Machine(kind, number)
    if minutes == 1:
        title, body = "ending_soon.title_one", f"ending_soon.{kind}_body_one"
    else:
        title, body = "ending_soon.title_other", f"ending_soon.{kind}_body_other"
    return text(title, minutes=minutes, machine=machine), text(body, minutes=minutes, machine=machine)
