"""Sessions this replica has recently found live, so most requests skip the session query.

Entries live ``SESSION_CACHE_TTL_S`` seconds. A session revoked here (logout, a reused
refresh token) is forgotten when its transaction commits; one revoked on another replica
stops working here within the TTL.
"""

from __future__ import annotations

import threading
import time
from typing import Final

from cloud.platform.viewer import Viewer

SESSION_CACHE_TTL_S: Final = 2.0
MAX_ENTRIES: Final = 100_000


class SessionCache:
    def __init__(self, ttl_s: float = SESSION_CACHE_TTL_S) -> None:
        self.ttl_s = ttl_s
        self._entries: dict[str, tuple[float, Viewer]] = {}
        self._lock = threading.Lock()

    def get(self, session_id: str) -> Viewer | None:
        entry = self._entries.get(session_id)
        if entry is None or time.monotonic() - entry[0] > self.ttl_s:
            return None
        return entry[1]

    def put(self, viewer: Viewer) -> None:
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[viewer.session_id] = (time.monotonic(), viewer)

    def forget(self, session_id: str) -> None:
        with self._lock:
            self._entries.pop(session_id, None)
