"""Login throttling as pure decisions: a stored row, the time and the limits in; the new row out.

No I/O here, so the rules can be checked with hypothesis and shared by every replica
(``service.py`` keeps the rows in the database and writes them with compare-and-set).

An attempt is *admitted* before the PIN is checked and counted as a failure at once; a
success then gives that failure back. Counting first is what makes the limit hold under
concurrency: a burst of parallel guesses cannot all pass the check before any of them is
recorded as failed. When the failures reach the limit the key is locked; each further lock
doubles, up to the longest lock. A key whose last lock ended a longest-lock ago starts
again from the first lock length.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from cloud.platform.settings import CloudSettings

_MAX_DOUBLINGS = 40
"""2**40 times any sane first lock is beyond every cap: stops the doubling before it overflows."""


@dataclass(frozen=True, slots=True)
class Limits:
    """How many failures a key may have and how long it is then locked."""

    max_failures: int
    first_lock: timedelta
    max_lock: timedelta
    leak_window: timedelta | None = None
    """Failures drain away at ``max_failures`` per window (a leaky bucket); None: only a success clears them."""
    forgive_on_success: bool = True
    """A success clears the failures (an account's owner); False: it only gives back its own attempt."""

    @classmethod
    def for_account(cls, settings: CloudSettings) -> Limits:
        """Consecutive wrong PINs of one account, whoever sends them."""
        return cls(settings.login_max_failures, *_lock_lengths(settings))

    @classmethod
    def for_address(cls, settings: CloudSettings) -> Limits:
        """Wrong PINs from one client address, over any accounts.

        One good login must not wipe the slate, or an attacker would log into their own
        account between guesses; the failures drain with time instead.
        """
        first, longest = _lock_lengths(settings)
        return cls(settings.address_max_failures, first, longest, leak_window=longest, forgive_on_success=False)

    def lock_length(self, lockouts: int) -> timedelta:
        """The length of the ``lockouts``-th lock: the first lock, doubled each time, capped."""
        doublings = min(max(lockouts - 1, 0), _MAX_DOUBLINGS)
        seconds = self.first_lock.total_seconds() * 2.0**doublings
        return min(timedelta(seconds=seconds), self.max_lock)


def _lock_lengths(settings: CloudSettings) -> tuple[timedelta, timedelta]:
    return timedelta(minutes=settings.login_lock_minutes), timedelta(minutes=settings.login_lock_max_minutes)


@dataclass(frozen=True, slots=True)
class ThrottleRow:
    """One ``login_throttle`` row: a key's failures, how often it was locked, and until when."""

    failures: int
    lockouts: int
    locked_until: datetime | None
    updated_at: datetime

    @classmethod
    def fresh(cls, now: datetime) -> ThrottleRow:
        return cls(0, 0, None, now)

    def retry_after(self, now: datetime) -> timedelta | None:
        """How long the key stays locked, or None when it is not locked at ``now``."""
        if self.locked_until is None or now >= self.locked_until:
            return None
        return self.locked_until - now


@dataclass(frozen=True, slots=True)
class Admission:
    """The row to store for an attempt, and whether the attempt may go ahead."""

    row: ThrottleRow
    retry_after: timedelta | None
    """None: admitted (and already counted as a failure); otherwise how long to wait."""

    @property
    def admitted(self) -> bool:
        return self.retry_after is None


def admit(row: ThrottleRow | None, now: datetime, limits: Limits) -> Admission:
    """May an attempt be checked now? If so, it is counted as a failure until it succeeds."""
    row = _forget(row or ThrottleRow.fresh(now), now, limits)
    waiting = row.retry_after(now)
    if waiting is not None:
        return Admission(row, waiting)
    if row.failures >= limits.max_failures:
        # Attempts still in flight (or lost to a crash) have used the whole allowance.
        row = _lock(row, now, limits)
        return Admission(row, row.retry_after(now))
    return Admission(replace(row, failures=row.failures + 1, updated_at=now), None)


def settle(row: ThrottleRow, now: datetime, limits: Limits, *, succeeded: bool) -> ThrottleRow:
    """The row once an admitted attempt's outcome is known (its failure was counted by ``admit``)."""
    if succeeded:
        failures = 0 if limits.forgive_on_success else max(row.failures - 1, 0)
        return replace(row, failures=failures, updated_at=now)
    if row.retry_after(now) is None and row.failures >= limits.max_failures:
        return _lock(row, now, limits)
    return row


def _lock(row: ThrottleRow, now: datetime, limits: Limits) -> ThrottleRow:
    lockouts = row.lockouts + 1
    return ThrottleRow(0, lockouts, now + limits.lock_length(lockouts), now)


def _forget(row: ThrottleRow, now: datetime, limits: Limits) -> ThrottleRow:
    """Let time heal: failures drain through the leak window, old lockouts are forgiven."""
    if row.retry_after(now) is not None:
        return row
    if row.locked_until is not None and now >= row.locked_until + limits.max_lock:
        row = replace(row, lockouts=0, locked_until=None)
    if limits.leak_window is not None and row.failures > 0:
        per_failure = limits.leak_window / limits.max_failures
        drained = int((now - row.updated_at) / per_failure) if now > row.updated_at else 0
        if drained:
            row = replace(row, failures=max(row.failures - drained, 0), updated_at=now)
    return row
