"""The public view of a room's machines, kept as ready JSON between changes.

Students refresh the machine list far more often than machines change, so a room's views
are built once, with the anonymous answer (the one a lobby screen, or anyone who holds no
claim or hold there, gets) ready as bytes, until a committed change touches machines or
rooms. Invalidation is blunt — any such change clears everything — and a short lifetime
covers what another replica changed if its fan-out message is late. A generation counter
keeps a reader that started before a change from storing its now-stale answer after it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable
from typing import Any, Final

DEFAULT_TTL_S: Final = 2.0


class ViewCache:
    def __init__(self, ttl_s: float = DEFAULT_TTL_S) -> None:
        self.ttl_s = ttl_s
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._generation = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @property
    def generation(self) -> int:
        """Read before building an answer; pass to ``put`` so a change in between discards it."""
        return self._generation

    def get(self, key: Hashable) -> Any | None:
        entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[0] > self.ttl_s:
            self.misses += 1
            return None
        self.hits += 1
        return entry[1]

    def put(self, key: Hashable, body: Any, generation: int) -> None:
        with self._lock:
            if generation == self._generation:
                self._entries[key] = (time.monotonic(), body)

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()
