"""Ingest: take raw MQTT messages in order, validate, apply each in one transaction, tell clients.

Database work runs on one dedicated thread, one message at a time, so a room's messages
are applied in the order the broker delivered them and the event loop never blocks on
the database. Every refusal is one WARNING line and a counter; nothing stops the stream.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Final

from sqlalchemy.exc import OperationalError
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from cloud.domain.dashboards.discovery import discovery_messages, machines_to_discover
from cloud.domain.ingest.apply import Applied, apply_message
from cloud.domain.ingest.profiles import restore_profiles
from cloud.domain.machines import views
from cloud.platform.errors import IngestRejected
from cloud.platform.hub import Audience
from cloud.platform.unit_of_work import Transactions, Tx
from cloud.policy.dashboard_commands import apply_command
from cloud.policy.machine_moved import react
from cloud.processes.dashboards import publish_discovery
from cloud.processes.delivery import BrokerPublisher
from cloud.processes.ingest_metrics import IngestMetrics
from cloud.processes.live_messages import room_message
from kywash.contract import COMMAND_LEAF, ContractError, MachineCommand, Payload, TopicRef, decode_message

log = logging.getLogger(__name__)

RETRY_DELAYS_S: Final = (0.2, 1.0, 3.0)
"""How long to wait before retrying a message when the database is briefly unreachable."""


class Ingest:
    """Applies messages from any async source of ``(topic, payload)`` (``MqttSource`` in service)."""

    def __init__(
        self,
        transactions: Transactions,
        metrics: IngestMetrics,
        broker: Callable[[], BrokerPublisher | None] = lambda: None,
    ) -> None:
        self.transactions = transactions
        self.metrics = metrics
        self.settings = settings = transactions.settings
        self.broker = broker
        """The broker connection, while there is one (bulk Home Assistant discovery goes to it)."""
        self.auto_register = settings.auto_register_rooms
        self.retry_delays_s: tuple[float, ...] = RETRY_DELAYS_S
        self.ha_status_topic = f"{settings.ha_discovery_prefix}/status" if settings.ha_discovery else None
        self._executor: ThreadPoolExecutor | None = None

    async def run(self, source: AsyncIterable[tuple[str, bytes]]) -> None:
        """Apply every message the source yields, until it ends."""
        processed: Callable[[], None] | None = getattr(source, "processed", None)
        async for topic, payload in source:
            try:
                await self.handle(topic, payload)
            except OperationalError:
                # The database stayed away through every retry: leave the message unacknowledged,
                # so a broker keeping our session sends it again when we reconnect.
                continue
            except Exception:  # a bug must not stop ingest: log it, count it, take the next message
                log.exception("ingest failed on %s", topic[:200])
                self.metrics.count_rejected("error")
            if processed is not None:
                processed()  # committed, or refused for good: the broker may forget it now

    async def handle(self, topic: str, payload: bytes) -> Applied | None:
        """Apply one message; None when it was refused (logged and counted) or was a clearing."""
        if not payload:  # an empty retained message deletes the retained one: nothing to apply
            self.metrics.count_accepted("cleared")
            log.debug("retained message cleared on %s", topic[:200])
            return None
        if topic == self.ha_status_topic:
            return await self._home_assistant(payload)
        try:
            ref, message = decode_message(topic, payload)
        except ContractError as exc:
            command = "/machine/" in topic and f"/{COMMAND_LEAF}/" in topic
            self._reject(topic, "bad_command" if command else exc.reason, str(exc))
            return None
        loop = asyncio.get_running_loop()
        try:
            applied = await loop.run_in_executor(self._db_thread(), self._apply, ref, message)
        except IngestRejected as exc:
            self._reject(topic, exc.reason, str(exc))
            return None
        except OperationalError:
            log.exception("database unavailable; %s not applied", topic[:200])
            self.metrics.count_rejected("database_unavailable")
            raise
        except Exception:
            log.exception("ingest failed on %s; going on with the next message", topic)
            self.metrics.count_rejected("error")
            return None
        self.metrics.count_accepted(applied.kind)
        if applied.seq_reset:
            self.metrics.count_seq_reset()
        return applied

    async def _home_assistant(self, payload: bytes) -> Applied | None:
        """Home Assistant's birth message: (re)publish every machine's discovery configs."""
        self.metrics.count_accepted("homeassistant")
        if payload.strip().lower() != b"online":
            return None  # its last will (offline): nothing to do
        broker = self.broker()
        if broker is not None:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(
                self._db_thread(), publish_discovery, self.transactions.engine, broker, self.settings
            )
        return None

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

    def _apply(self, ref: TopicRef, message: Payload) -> Applied:
        """Apply in one transaction with policy's reactions; live clients hear once it commits."""
        delays = self.retry_delays_s
        retrying = Retrying(
            retry=retry_if_exception_type(OperationalError),
            stop=stop_after_attempt(len(delays) + 1),
            wait=lambda state: delays[min(state.attempt_number, len(delays)) - 1] if delays else 0.0,
            before_sleep=_log_retry,
            reraise=True,
        )
        return retrying(self._apply_once, ref, message)

    def _apply_once(self, ref: TopicRef, message: Payload) -> Applied:
        with self.transactions.begin() as tx:
            if isinstance(message, MachineCommand):
                room_id, _ = apply_command(tx, ref, message)
                return Applied("cmd", room_id)
            applied = apply_message(tx.conn, ref, message, tx.now, auto_register=self.auto_register)
            react(tx, applied)
            note_changes(tx, applied)
            if applied.kind == "info" and applied.room_id is not None:
                announce_discovery(tx, applied.room_id)
            if applied.came_online and applied.room_id is not None:
                restore_profiles(tx, applied.room_id)
            return applied


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome is not None else None
    delay = state.next_action.sleep if state.next_action is not None else 0.0
    log.warning("database unavailable (%s); retrying in %.1f s", getattr(error, "orig", error), delay)


def note_changes(tx: Tx, applied: Applied) -> None:
    """What live clients must hear after ``applied``: the room (if it changed), then machines."""
    if applied.room_id is None:
        return
    if applied.room_changed:
        room = views.room_view(tx.conn, applied.room_id)
        if room is not None:
            tx.changes.room(room_message(room), Audience.of_room(room.site, room.room))
        for view in views.views_of(tx.conn, room_ids=[applied.room_id]):
            tx.changes.machine(view.pk)
    for transition in applied.transitions:
        tx.changes.machine(transition.machine_pk)
    for machine_pk in applied.touched:
        tx.changes.machine(machine_pk)


def announce_discovery(tx: Tx, room_id: int) -> None:
    """A room registered (or its edge restarted): its machines' Home Assistant discovery."""
    settings = tx.settings
    if not settings.ha_discovery:
        return
    found = machines_to_discover(tx.conn, [room_id])
    for topic, payload in discovery_messages(
        found, prefix=settings.ha_discovery_prefix, command_user=settings.ha_command_user
    ):
        tx.changes.publish(topic, payload, retain=True)
