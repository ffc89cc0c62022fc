"""Live clients hear that a machine's sensors are still talking, not only that they changed.

Telemetry that moves nothing a card shows (the same current, to 0.1 A) changes only the
machine's ``observed_at``; sending a machine message for each would multiply the live
traffic, sending none would leave every card's "updated … ago" growing while the sensors
are fine. So such a machine is still sent at most every ``TELL_EVERY_S`` per machine. The
count is this replica's own, in memory: after a restart or on another replica a machine is
at worst told once more, and nothing depends on it but the freshness a card shows.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Final

from cloud.domain.ingest.apply import Applied

TELL_EVERY_S: Final = 60.0


class FreshnessTells:
    def __init__(self, every_s: float = TELL_EVERY_S) -> None:
        self.every = timedelta(seconds=every_s)
        self._told: dict[int, datetime] = {}
        self._lock = threading.Lock()

    def due(self, applied: Applied, now: datetime) -> Iterator[int]:
        """The machines of ``applied`` heard from without a change, whose clients were last told
        ``every`` ago or more; machines it changed count as told."""
        with self._lock:
            for transition in applied.transitions:
                self._told[transition.machine_pk] = now
            for pk in applied.touched:
                self._told[pk] = now
            for pk in applied.heard:
                last = self._told.get(pk)
                if last is None or now - last >= self.every:
                    self._told[pk] = now
                    yield pk
