"""Telemetry (QoS 0) while the link is down: a few samples kept, the oldest dropped first.

A current sample is worth little minutes later and is not stored on disk, but a short
outage should not leave a gap in the charts: ``size`` samples wait in memory and are
flushed after the next connect's announcements. Drops are counted, never silent.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from edge.link import Link


class TelemetryBuffer:
    def __init__(self, link: Link, size: int) -> None:
        self._link = link
        self._lock = threading.Lock()
        self._waiting: deque[tuple[str, bytes]] = deque(maxlen=size)
        self._sent = self._dropped = 0
        self.on_buffered: Callable[[], None] | None = None
        """Called after a sample was buffered: someone should flush once the link is up."""

    def offer(self, topic: str, payload: bytes) -> bool:
        """Sent at once (True) while connected with nothing older waiting; otherwise buffered."""
        if self._link.connected and not self._waiting and self._send(topic, payload):
            return True
        with self._lock:
            if len(self._waiting) == self._waiting.maxlen:  # full (or no buffer): the oldest goes
                self._dropped += 1
            self._waiting.append((topic, payload))  # a deque with maxlen drops from the left
        if self.on_buffered is not None:
            self.on_buffered()
        return False

    def flush(self) -> None:
        """Send what waits, oldest first, while the link takes it (the publisher's thread)."""
        while self._link.connected:
            with self._lock:
                if not self._waiting:
                    return
                topic, payload = self._waiting[0]
            if not self._link.publish(topic, payload, qos=0, retain=False):
                return
            with self._lock:
                if self._waiting and self._waiting[0] == (topic, payload):
                    self._waiting.popleft()
                self._sent += 1

    def stats(self) -> tuple[int, int, int]:
        """(sent, dropped, buffered now)."""
        with self._lock:
            return self._sent, self._dropped, len(self._waiting)

    def _send(self, topic: str, payload: bytes) -> bool:
        if not self._link.publish(topic, payload, qos=0, retain=False):
            return False
        with self._lock:
            self._sent += 1
        return True
