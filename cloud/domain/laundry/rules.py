"""The claim rules as pure functions: what the sensors' word does to a student's claim.

The rules are stated on states, not on events, so they are idempotent: applying the same
sensor state twice, or a retained state after a reconnect in place of the events that
were missed, lands on the same claim. Tested as tables and with hypothesis.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


class ClaimStatus(StrEnum):
    PENDING = "pending"
    """Claimed in the app; the sensors have not seen the machine start yet."""
    ACTIVE = "active"
    FINISHED = "finished"
    """The cycle ended; the laundry is still inside (the door has not been opened)."""
    ENDED = "ended"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


LIVE: Final = frozenset({ClaimStatus.PENDING, ClaimStatus.ACTIVE, ClaimStatus.FINISHED})
RUNNING: Final = frozenset({"running", "paused", "ending"})
"""Sensor states of a cycle in progress. ``ending`` (quiet, maybe done) is still in use: only
``finished`` finishes a claim and tells its student."""
EMPTYABLE: Final = frozenset({"idle", "door_open"})
"""Sensor states in which nothing runs and nothing waits to be unloaded."""


class Category(StrEnum):
    """The cycle a student picks when claiming (the original KY Wash's choices)."""

    NORMAL = "normal"
    EXTRA_5 = "extra_5"
    EXTRA_10 = "extra_10"
    EXTRA_15 = "extra_15"

    @property
    def extra_minutes(self) -> int:
        return 0 if self is Category.NORMAL else int(self.value.removeprefix("extra_"))

    @property
    def label(self) -> str:
        """How people say it ("normal cycle", "10 extra minutes"); the value is for machines."""
        return "normal cycle" if self is Category.NORMAL else f"{self.extra_minutes} extra minutes"


@dataclass(frozen=True, slots=True)
class ClaimMove:
    """The claim's next status and why (``reason`` is stored as ``close_reason`` when it ends)."""

    to: ClaimStatus
    reason: str


def claim_after_sensors(
    claim: ClaimStatus, sensor: str, before: str | None, *, same_cycle: bool = False
) -> ClaimMove | None:
    """How a live claim follows the machine's sensor state; None when it stays as it is.

    ``before`` is the sensor state the machine had until now (None if never heard).
    ``same_cycle``: the cycle now running is the one that was reported finished (the edge's
    ``cycle_continued``, or a state whose cycle started before that finish; see
    ``cloud/domain/ingest/apply.py``). A finished claim then runs on (``active`` again, "continued");
    without it, a machine running again after ``finished`` is a new cycle ("restarted").
    """
    if claim is ClaimStatus.PENDING:
        if sensor in RUNNING:
            return ClaimMove(ClaimStatus.ACTIVE, "started")
        if sensor == "finished":  # the whole cycle passed while we were not told: it ran
            return ClaimMove(ClaimStatus.FINISHED, "finished")
        return None  # loading, door open or shut: the student has until the deadline
    if claim is ClaimStatus.ACTIVE:
        if sensor == "finished":
            return ClaimMove(ClaimStatus.FINISHED, "finished")
        if sensor in EMPTYABLE:
            # opening the door of an ``ending`` (quiet) machine ends its cycle: not "stopped early"
            interrupted = before is None or (before in RUNNING and before != "ending")
            return ClaimMove(ClaimStatus.ENDED, "interrupted" if interrupted else "unloaded")
        return None
    if claim is ClaimStatus.FINISHED:
        if sensor in EMPTYABLE:
            return ClaimMove(ClaimStatus.ENDED, "unloaded")
        if sensor in RUNNING and same_cycle:  # it was not done after all: the same claim runs on
            return ClaimMove(ClaimStatus.ACTIVE, "continued")
        if sensor in RUNNING:  # a new cycle without unloading first: the old claim is over
            return ClaimMove(ClaimStatus.ENDED, "restarted")
        return None
    return None


def student_may_end(claim: ClaimStatus, sensor: str | None) -> bool:
    """A student ends their claim only when the sensors agree nothing is running."""
    if claim is ClaimStatus.PENDING:
        return True  # nothing started: ending is cancelling
    return sensor is not None and sensor not in RUNNING and sensor != "sensor_fault"


def is_free(sensor: str | None, *, room_online: bool, out_of_service: bool, has_live_claim: bool) -> bool:
    """Can a student start using this machine now (before holds are considered)?"""
    return room_online and not out_of_service and not has_live_claim and sensor in EMPTYABLE
