"""When a failed delivery is tried again: a pure schedule, so it is tested as a table.

Exponential (``base``, ``2 * base``, ``4 * base``, ...), capped at ``cap``, with "equal jitter"
(the wait is between half and all of that) so that many deliveries failing together — a
receiver that was down — do not all come back at the same second. Past ``give_up_after``
seconds from the event there is no next attempt: the delivery is failed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    base: float
    cap: float
    give_up_after: float

    def delay(self, attempts: int, jitter: float) -> float:
        """The wait after the ``attempts``-th failed attempt (1 = the first); ``jitter`` in [0, 1)."""
        if attempts < 1:
            raise ValueError("attempts counts from 1")
        exponent = min(attempts - 1, 62)  # beyond this the cap applies anyway; no float overflow
        full = min(self.cap, self.base * 2.0**exponent)
        return full / 2 + full / 2 * min(max(jitter, 0.0), 1.0)

    def next_attempt(self, attempts: int, age: float, jitter: float) -> float | None:
        """Seconds until the next attempt, or None to give up: ``age`` is the seconds since the
        event; a retry that would fall after ``give_up_after`` is not made."""
        wait = self.delay(attempts, jitter)
        if age + wait > self.give_up_after:
            return None
        return wait
