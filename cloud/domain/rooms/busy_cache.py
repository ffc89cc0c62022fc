"""Busy-hours answers kept for a few minutes: history changes slowly and costs a scan to read.

An answer is kept per (room, weeks) for the rest of the ``ttl_s`` slot of the app's clock it
was computed in (so tests on a fake clock see a fresh answer once they move it on); each key
holds one answer, so the cache never grows beyond rooms x 52. Per replica, and never
invalidated: an answer is at most ``ttl_s`` old.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Final

from cloud.domain.rooms.schemas import BusyHoursPublic

DEFAULT_TTL_S: Final = 300.0


class BusyHoursCache:
    def __init__(self, ttl_s: float = DEFAULT_TTL_S) -> None:
        self.ttl_s = ttl_s
        self._entries: dict[Hashable, tuple[int, BusyHoursPublic]] = {}
        self._lock = threading.Lock()

    def _slot(self, now_ts: float) -> int:
        return int(now_ts // self.ttl_s)

    def get(self, key: Hashable, now_ts: float) -> BusyHoursPublic | None:
        entry = self._entries.get(key)
        return entry[1] if entry is not None and entry[0] == self._slot(now_ts) else None

    def put(self, key: Hashable, now_ts: float, answer: BusyHoursPublic) -> None:
        with self._lock:
            self._entries[key] = (self._slot(now_ts), answer)
