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


def alert_text(kind: str, number: int, minutes: int) -> tuple[str, str]:
    """Title and body: "5 minutes left on washer 3"."""
    unit = "minute" if minutes == 1 else "minutes"
    title = f"{minutes} {unit} left on {kind} {number}"
    what = "wash" if kind == "washer" else "drying"
    return title, f"Your {what} in {kind} {number} should be done in about {minutes} {unit}."
