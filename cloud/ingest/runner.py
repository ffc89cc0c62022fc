"""Ingest: take raw MQTT messages in order, validate, apply each in one transaction, tell clients.

Database work runs on one dedicated thread, one message at a time, so a room's messages
are applied in the order the broker delivered them and the event loop never blocks on
the database. Every refusal is one WARNING line and a counter; nothing stops the stream.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterable
from concurrent.futures import ThreadPoolExecutor
from typing import Final

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from cloud.errors import IngestRejected
from cloud.ingest.apply import Applied, apply_message
from cloud.ingest.metrics import IngestMetrics
from cloud.machines import service
from cloud.realtime.hub import Hub, Message
from cloud.realtime.messages import machine_message, room_message
from kywash.clock import Clock, to_datetime
from kywash.contract import ContractError, Payload, TopicRef, decode_message

log = logging.getLogger(__name__)

RETRY_DELAYS_S: Final = (0.2, 1.0, 3.0)
"""How long to wait before retrying a message when the database is briefly unreachable."""


class Ingest:
    """Applies messages from any async source of ``(topic, payload)`` (``MqttSource`` in service)."""

    def __init__(
        self, engine: Engine, hub: Hub, metrics: IngestMetrics, clock: Clock, *, auto_register: bool = True
    ) -> None:
        self.engine = engine
        self.hub = hub
        self.metrics = metrics
        self.clock = clock
        self.auto_register = auto_register
        self._executor: ThreadPoolExecutor | None = None

    async def run(self, source: AsyncIterable[tuple[str, bytes]]) -> None:
        """Apply every message the source yields, until it ends."""
        async for topic, payload in source:
            try:
                await self.handle(topic, payload)
            except Exception:  # a bug must not stop ingest: log it, count it, take the next message
                log.exception("ingest failed on %s", topic[:200])
                self.metrics.count_rejected("error")

    async def handle(self, topic: str, payload: bytes) -> Applied | None:
        """Apply one message; None when it was refused (logged and counted) or was a clearing."""
        if not payload:  # an empty retained message deletes the retained one: nothing to apply
            self.metrics.count_accepted("cleared")
            log.debug("retained message cleared on %s", topic[:200])
            return None
        try:
            ref, message = decode_message(topic, payload)
        except ContractError as exc:
            self._reject(topic, exc.reason, str(exc))
            return None
        loop = asyncio.get_running_loop()
        try:
            applied, messages = await loop.run_in_executor(self._db_thread(), self._apply, ref, message)
        except IngestRejected as exc:
            self._reject(topic, exc.reason, str(exc))
            return None
        except Exception:
            log.exception("ingest failed on %s; going on with the next message", topic)
            self.metrics.count_rejected("error")
            return None
        self.metrics.count_accepted(applied.kind)
        for change in messages:
            self.hub.publish(change, site=ref.site, room=ref.room)
        return applied

    def close(self) -> None:
        """Finish the message being applied, then stop the database thread (a later message starts
        a new one, so an app can run its lifespan again)."""
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)

    def _db_thread(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kywash-ingest-db")
        return self._executor

    def _reject(self, topic: str, reason: str, message: str) -> None:
        log.warning("ingest rejected %s: %s: %s", topic[:200], reason, message[:300])
        self.metrics.count_rejected(reason)

    def _apply(self, ref: TopicRef, message: Payload) -> tuple[Applied, list[Message]]:
        for delay in (*RETRY_DELAYS_S, None):
            try:
                with self.engine.begin() as conn:
                    applied = apply_message(
                        conn, ref, message, to_datetime(self.clock.now()), auto_register=self.auto_register
                    )
                    return applied, change_messages(conn, applied)
            except OperationalError as exc:
                if delay is None:
                    raise
                log.warning("database unavailable (%s); retrying in %.1f s", exc.orig, delay)
                time.sleep(delay)
        raise AssertionError("unreachable")


def change_messages(conn: Connection, applied: Applied) -> list[Message]:
    """What live clients must hear after ``applied``: the room (if it changed), then machines."""
    if applied.room_id is None or not (applied.room_changed or applied.machines):
        return []
    messages: list[Message] = []
    if applied.room_changed:
        room = service.room_view(conn, applied.room_id)
        if room is not None:
            messages.append(room_message(room))
        views = service.machine_views(conn, applied.room_id)
    else:
        views = service.machine_views(conn, applied.room_id, list(applied.machines))
    messages.extend(machine_message(view) for view in views)
    return messages
