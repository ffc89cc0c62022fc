"""The cloud's replay requests: it saw a gap in a room's sequence and asks for events again.

The cloud publishes a ``ReplayRequest`` (QoS 1, not retained) on the room's ``replay``
topic; the publisher subscribes to it. Work is split across threads so that nothing
slow runs where it must not:

* paho's network thread calls ``submit``: it only decodes and queues the request (a
  malformed one is one log line and a counter, never an exception into paho).
* the publisher's own thread calls ``run``: it moves the archived rows back into the
  outbox (``Outbox.requeue``) and returns the lowest seq, so the publisher rewinds its
  send cursor. The sensor loop is never involved, so a replay of 100,000 events cannot
  delay a door edge.

Requeued rows keep their original seq, boot id and payload; the cloud applies events
idempotently by (room, seq), so a replay overlapping what it already has is harmless.
Seqs trimmed from the archive are logged and counted in ``missing``.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace

from edge.errors import OutboxError
from edge.handoff import HandOff
from edge.outbox import Outbox
from kywash.contract import ContractError, ReplayRequest, decode_message, room_topic

log = logging.getLogger(__name__)

MAX_QUEUED = 32  # requests waiting for the publisher thread; beyond this the oldest is dropped


@dataclass
class ReplayStats:
    """Counters for ``kywash edge status`` (``missing`` is the ``replay_missing`` count)."""

    requests: int = 0
    requeued: int = 0
    already_pending: int = 0
    missing: int = 0
    malformed: int = 0
    failed: int = 0


class ReplayDesk:
    """Takes replay requests from paho's thread and carries them out on the publisher's."""

    def __init__(self, site: str, room: str) -> None:
        self.topic = room_topic(site, room, "replay")
        self._inbox: HandOff[ReplayRequest] = HandOff(MAX_QUEUED)
        self._lock = threading.Lock()
        self._stats = ReplayStats()

    def submit(self, topic: str, payload: bytes) -> bool:
        """Decode and queue one message (paho's thread); False, logged and counted, if malformed."""
        try:
            ref, message = decode_message(topic, payload)
            if ref.leaf != "replay" or topic != self.topic or not isinstance(message, ReplayRequest):
                raise ContractError("invalid", f"not this room's replay topic: {topic}")
            if message.to_seq is not None and message.to_seq < message.from_seq:
                raise ContractError("invalid", f"to_seq {message.to_seq} is below from_seq {message.from_seq}")
        except ContractError as exc:
            with self._lock:
                self._stats.malformed += 1
            log.warning("ignoring a malformed replay request on %s: %s", topic, exc)
            return False
        with self._lock:
            self._stats.requests += 1
        self._inbox.put(message)
        return True

    @property
    def waiting(self) -> bool:
        return self._inbox.waiting

    def run(self, outbox: Outbox) -> int | None:
        """Requeue every waiting request (publisher's thread); the lowest seq put back, if any."""
        lowest: int | None = None
        while (request := self._inbox.take()) is not None:
            try:
                result = outbox.requeue(request.from_seq, request.to_seq)
            except OutboxError as exc:
                with self._lock:
                    self._stats.failed += 1
                log.error("could not replay seqs %d..%s: %s", request.from_seq, request.to_seq or "newest", exc)
                continue
            with self._lock:
                self._stats.requeued += result.requeued
                self._stats.already_pending += result.already_pending
                self._stats.missing += result.missing
            log.log(
                logging.WARNING if result.missing else logging.INFO,
                "replay %d..%d (%s): %d requeued, %d still pending, %d gone from the archive",
                result.first, result.last, request.reason, result.requeued, result.already_pending, result.missing,
            )  # fmt: skip
            if result.requeued:
                lowest = request.from_seq if lowest is None else min(lowest, request.from_seq)
        return lowest

    def stats(self) -> ReplayStats:
        with self._lock:
            return replace(self._stats)
