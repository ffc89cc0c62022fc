"""Moves outbox rows to the link in sequence order, with a bounded number unacknowledged.

A row leaves the outbox (for the archive) only when its PUBACK arrives, so a crash at
any moment loses nothing: whatever was not acknowledged is sent again after the restart
and consumers dedupe by room + seq. The window bounds what a reconnect makes the link
resend at once (paho resends all it holds, whatever its in-flight limit).

A row the link took is never handed over again by this process: the link resends it
after a reconnect itself (``edge.link``). Only a replay rewinds the cursor; rows after it
that are still in flight are then skipped.

``drain`` runs on the publisher's thread; acknowledgements arrive on the link's.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from edge.errors import OutboxError
from edge.link import Link
from edge.outbox import Outbox
from kywash.contract import EVENT_QOS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DrainStats:
    in_flight: int
    acked: int
    last_acked_seq: int
    last_sent_seq: int


class DrainWindow:
    def __init__(self, outbox: Outbox, link: Link, window: int = 20) -> None:
        self._outbox = outbox
        self._link = link
        self._window = window
        self._lock = threading.Lock()
        self._sent: set[int] = set()  # rows the link took, not yet acknowledged
        self._cursor = 0  # rows up to here were handed to the link (a replay moves it back)
        self._highest_sent = 0
        self._acked = self._last_acked = 0
        self.on_ack: Callable[[], None] | None = None
        """Called on the link's thread after a row is archived: the window has room again."""

    def drain(self) -> None:
        """Hand the link the next rows while the window has room and the link takes them."""
        with self._lock:
            room, after, in_flight = self._window - len(self._sent), self._cursor, len(self._sent)
        if room <= 0:
            return
        for row in self._outbox.pending(room + in_flight, after=after):
            with self._lock:
                busy = row.seq in self._sent
                if busy:
                    self._cursor = max(self._cursor, row.seq)
                else:  # before publishing: its ack may come before publish() returns
                    self._sent.add(row.seq)
            if busy:
                continue
            if room <= 0 or not self._hand_over(row.seq, row.topic, row.payload, row.retain):
                with self._lock:
                    self._sent.discard(row.seq)
                break
            room -= 1

    def rewind(self, lowest: int) -> None:
        """A replay put rows from ``lowest`` back into the outbox: send them again."""
        with self._lock:
            self._cursor = min(self._cursor, lowest - 1)

    def stats(self) -> DrainStats:
        with self._lock:
            return DrainStats(len(self._sent), self._acked, self._last_acked, self._highest_sent)

    def _hand_over(self, seq: int, topic: str, payload: bytes, retain: bool) -> bool:
        if not self._link.connected:  # taken while down, it would wait in memory: the outbox is the better queue
            return False
        if not self._link.publish(topic, payload, qos=EVENT_QOS, retain=retain, on_ack=lambda: self._acked_row(seq)):
            return False
        with self._lock:
            self._highest_sent = max(self._highest_sent, seq)
            self._cursor = max(self._cursor, seq)
        return True

    def _acked_row(self, seq: int) -> None:
        # Archive and forget under our lock, so a replay (publisher's thread) never sees the
        # row archived yet counted in flight, which would make the drain skip it.
        with self._lock:
            try:
                self._outbox.ack(seq)
            except OutboxError as exc:  # closing down: the row is resent after the restart
                log.warning("could not archive acknowledged row %d: %s", seq, exc)
            self._sent.discard(seq)
            self._acked += 1
            self._last_acked = max(self._last_acked, seq)
        if self.on_ack is not None:
            self.on_ack()
