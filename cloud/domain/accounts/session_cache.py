"""Sessions this replica has recently found live, so most requests skip the session query.

Entries live ``SESSION_CACHE_TTL_S`` seconds. A session revoked here (logout, a reused
refresh token) is forgotten when its transaction commits; one revoked on another replica
stops working here within the TTL.

``load`` looks a session up once however many requests want it at the same moment (a
room's WebSocket clients all reconnecting with the same few tokens): the others wait for
that one query. A session forgotten while its query runs is not remembered from it, and
later callers do not join that query: they look again.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Final

from cloud.platform.viewer import Viewer

SESSION_CACHE_TTL_S: Final = 2.0
MAX_ENTRIES: Final = 100_000
_Outcome = tuple[Viewer | None, Exception | None]
"""A lookup's viewer, or its error, or neither (its caller went away before it answered)."""


class SessionCache:
    def __init__(self, ttl_s: float = SESSION_CACHE_TTL_S) -> None:
        self.ttl_s = ttl_s
        self._entries: dict[str, tuple[float, Viewer]] = {}
        self._flights: dict[str, asyncio.Future[_Outcome]] = {}
        self._forgotten = 0
        self._lock = threading.Lock()
        self.loads = 0
        """How many lookups ``load`` made (each shared by every caller that joined it)."""

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
            self._forgotten += 1
            self._entries.pop(session_id, None)
            self._flights.pop(session_id, None)  # who asks from now on looks again

    async def load(self, session_id: str, lookup: Callable[[], Awaitable[Viewer]]) -> Viewer:
        """``lookup()``'s viewer (remembered), or that of the lookup of ``session_id`` under way.

        Its error (a session that has ended) reaches every caller that waited for it."""
        loop = asyncio.get_running_loop()
        while (flight := self._flights.get(session_id)) is not None and flight.get_loop() is loop:
            viewer, error = await asyncio.shield(flight)
            if viewer is not None:
                return viewer
            if error is not None:
                raise error
            # its caller went away before the answer: look ourselves
        forgotten = self._forgotten
        flight = loop.create_future()
        self._flights[session_id] = flight
        outcome: _Outcome = (None, None)
        try:
            viewer = await lookup()
            outcome = (viewer, None)
        except Exception as exc:
            outcome = (None, exc)
            raise
        finally:
            if self._flights.get(session_id) is flight:
                del self._flights[session_id]
            flight.set_result(outcome)
        self.loads += 1
        with self._lock:
            if forgotten == self._forgotten:  # else it may have ended while we looked
                if len(self._entries) >= MAX_ENTRIES:
                    self._entries.clear()
                self._entries[viewer.session_id] = (time.monotonic(), viewer)
        return viewer
