"""What a machine means to a student right now: the sensors' state combined with policy.

A pure function, so the rule is tested as a table. The sensors have the last word: a
claim never makes a machine look in use before the sensors see it running, a cycle that
is only ``ending`` is still in use, a finished cycle stays "finished" until the door opens,
and a silent room is "unknown", never free.
"""

from __future__ import annotations

from enum import StrEnum


class Usage(StrEnum):
    FREE = "free"
    RESERVED = "reserved"
    """Held for the head of the waitlist until ``hold_until``."""
    CLAIMED = "claimed"
    """A student claimed it; the sensors have not seen it start yet."""
    IN_USE = "in_use"
    FINISHED = "finished"
    """The cycle ended and the door has not been opened: laundry waiting to be unloaded."""
    OUT_OF_SERVICE = "out_of_service"
    UNAVAILABLE = "unavailable"
    """The sensors report a fault; nobody can rely on it."""
    UNKNOWN = "unknown"
    """The room's edge is offline, or the machine has not reported yet."""


RUNNING_STATES = frozenset({"running", "paused", "ending"})
"""Sensor states of a cycle in progress: in use. ``ending`` (quiet, maybe done, the edge not
yet sure) is shown as "finishing" and is never free or finished: only ``finished`` is."""


def usage_of(
    sensor_state: str | None,
    *,
    room_online: bool,
    out_of_service: bool,
    claim_status: str | None,
    held: bool,
) -> Usage:
    """``sensor_state`` is the edge's word (None: never heard); ``claim_status`` the live claim's."""
    if out_of_service or sensor_state == "out_of_service":
        return Usage.OUT_OF_SERVICE
    if not room_online or sensor_state is None:
        return Usage.UNKNOWN
    if sensor_state == "sensor_fault":
        return Usage.UNAVAILABLE
    if sensor_state in RUNNING_STATES:
        return Usage.IN_USE
    if sensor_state == "finished":
        return Usage.FINISHED
    if claim_status == "pending":
        return Usage.CLAIMED
    if held:
        return Usage.RESERVED
    return Usage.FREE
