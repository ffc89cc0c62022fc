"""The public view of a room's machines, kept as ready JSON between changes.

Students refresh the machine list far more often than machines change, so a room's views
are built once, with the anonymous answer (the one a lobby screen, or anyone who holds no
claim or hold there, gets) ready as bytes, until a committed change touches machines or
rooms. Invalidation is blunt — any such change clears everything — and a short lifetime
covers what another replica changed if its fan-out message is late. A generation counter
keeps a reader that started before a change from storing its now-stale answer after it.

``get_or_build`` is for answers many clients want at the same moment (the WebSocket
snapshot, when a whole room reconnects after a restart): a miss is built once, by the
first caller, and the others wait for that build instead of each reading the database.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Hashable
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
        self.builds = 0
        """How many answers ``get_or_build`` built (each waited for by every caller that joined it)."""
        self._flights: dict[Hashable, asyncio.Future[tuple[Any, bool]]] = {}

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

    async def get_or_build(self, key: Hashable, build: Callable[[], Awaitable[Any]]) -> Any:
        """The cached answer for ``key``, else one ``build()`` shared by every caller who asks meanwhile.

        The caller that starts a build uses its answer whatever happens next (it read after
        whatever it did before asking). One that joins a build already under way uses the
        answer only if no change came while it was built: that build may have started
        before something this caller has already missed (a client that subscribed to live
        changes after the build began would otherwise lose the change); else it builds anew.
        """
        loop = asyncio.get_running_loop()
        while (found := self.get(key)) is None:
            flight = self._flights.get(key)
            if flight is None or flight.get_loop() is not loop:
                break
            body, fresh = await asyncio.shield(flight)
            if fresh and body is not None:
                return body
            # a change came meanwhile, or that build failed: look again (cached? another build?)
        else:
            return found
        generation = self.generation
        flight = loop.create_future()
        self._flights[key] = flight
        body = None
        try:
            body = await build()
            self.builds += 1
            self.put(key, body, generation)
            return body
        finally:
            if self._flights.get(key) is flight:
                del self._flights[key]
            flight.set_result((body, self.generation == generation))
