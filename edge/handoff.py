"""Handing decoded MQTT messages from paho's network thread to the publisher's thread.

paho's callbacks must return at once (a slow one stalls every PUBACK), and the work a
message asks for (requeueing a replay, storing a desired state) touches the outbox, which
only the publisher's thread may do. So the callback decodes and puts; the publisher takes.
Bounded: beyond ``maxlen`` the oldest item waiting is dropped (a newer replay request or
desired revision supersedes it anyway).
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class HandOff(Generic[T]):
    def __init__(self, maxlen: int) -> None:
        self._items: deque[T] = deque(maxlen=maxlen)
        self._lock = threading.Lock()

    def put(self, item: T) -> None:
        with self._lock:
            self._items.append(item)

    def take(self) -> T | None:
        """The oldest item waiting, or None."""
        with self._lock:
            return self._items.popleft() if self._items else None

    @property
    def waiting(self) -> bool:
        with self._lock:
            return bool(self._items)
